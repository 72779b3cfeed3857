"""Hearth: is the small-group program reducing member isolation?

Shared ground for the three stages: configuration (`config`), the survey instrument
(`instrument`) and the warehouse connection with its migrations (`warehouse`).
"""

__version__ = "0.1.0"

"""Hearth's expected failures: one base class, raised by the library, translated by the CLI.

Every failure a user can cause (a bad file, a bad setting, an unknown quarter) is a HearthError
whose message is the one line the user reads: the file or setting, the problem, and the fix.
The CLI prints it and exits non-zero; the dashboard shows it in a box. Anything else that escapes
is a bug in Hearth, not a mistake of the user's.
"""

from __future__ import annotations


class HearthError(Exception):
    """An expected failure; the message is what the user reads."""


class ConfigError(HearthError, ValueError):
    """A configuration file or setting that cannot be used; the message says what to fix."""

"""One module per export format, each defining `FORMAT = Format(...)` (see
pipelines/adapters/base.py); pipelines.adapters.registry collects them. Modules whose name
starts with '_' hold what several formats share."""

"""SQL steps of `hearth refresh`, one file per step, run in name order (metrics.refresh)."""

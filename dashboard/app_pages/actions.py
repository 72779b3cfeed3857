"""Actions and follow-up: what the reviews decided, where each stands, and whether it helped.

Lead and coaches read, add and update actions (a coach only on the groups they coach); the
council reads counts by theme and status. The library enforces this from the Viewer."""

from __future__ import annotations

from dashboard import cycle, frame, ui

ctx = frame.context()
ui.filtered_page_header(
    ctx, "Actions and follow-up",
    "Decisions from the quarterly reviews, with their owners, and whether the indicators they "
    "aimed at moved: each compared with flagged groups that had no action, because groups "
    "often improve anyway.")
cycle.actions_page(ctx)

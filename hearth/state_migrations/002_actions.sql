-- Action plans decided at a quarterly review, and their full history.
-- An action is on a flag (a group's flag in the quarter it was decided), a group, or the program.
CREATE TABLE actions (
    action_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    quarter     TEXT NOT NULL,     -- the quarter under review when it was decided: its "before"
    scope       TEXT NOT NULL CHECK (scope IN ('flag', 'group', 'program')),
    group_id    TEXT,              -- NULL exactly when scope = 'program'
    flag        TEXT,              -- set exactly when scope = 'flag'
    what        TEXT NOT NULL,
    owner       TEXT NOT NULL,     -- a signed-in person's email (free text in local mode)
    due_on      TEXT,              -- ISO date
    status      TEXT NOT NULL CHECK (status IN ('planned', 'doing', 'done', 'dropped')),
    indicators  TEXT NOT NULL,     -- JSON list of the indicator keys it aims to move
    theme       TEXT NOT NULL,     -- what the council and the community update count by
    notes       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    CHECK ((scope = 'program') = (group_id IS NULL)),
    CHECK ((scope = 'flag') = (flag IS NOT NULL))
);
CREATE INDEX actions_group ON actions (group_id, quarter);
-- Who changed what, when: one row per field changed (the creation is one row per field set).
CREATE TABLE action_history (
    change_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id   INTEGER NOT NULL REFERENCES actions (action_id),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT
);
CREATE INDEX action_history_action ON action_history (action_id, change_id);
-- A quarter signed off by the lead: the released review figures exactly as signed.
-- Signing again adds a row; the newest row is the sign-off in force.
CREATE TABLE signoffs (
    signoff_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    quarter      TEXT NOT NULL,
    signed_at    TEXT NOT NULL,
    signed_by    TEXT NOT NULL,
    last_load_id INTEGER,          -- the newest warehouse load the figures include
    figures      TEXT NOT NULL,    -- JSON: the review (released figures only) and its flags
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX signoffs_quarter ON signoffs (quarter, signoff_id)

-- What people did through Hearth (not what the data says): uploads, sign-offs, action changes.
-- One row per event; rows are only ever added.
CREATE TABLE audit_log (
    event_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,     -- ISO 8601, UTC
    actor     TEXT NOT NULL,     -- the signed-in email, or "local" in local mode
    action    TEXT NOT NULL,     -- upload, signoff, action.add, action.update, ...
    subject   TEXT,              -- what it was done to: a file name, a quarter, an action id
    detail    TEXT NOT NULL DEFAULT '{}'  -- JSON: content hash, rows read/loaded/quarantined, ...
);
CREATE INDEX audit_log_action ON audit_log (action, at);

-- A roster upload that changes a known member never overwrites silently: each changed field's
-- previous value is kept here, with the load that changed it. One row per field changed.
CREATE TABLE core.member_history (
    member_id  VARCHAR NOT NULL,
    field      VARCHAR NOT NULL,     -- name, email, group_id, left_on, role, tier
    old_value  VARCHAR,
    new_value  VARCHAR,
    group_id   VARCHAR,              -- the membership changed (its group after the change);
    joined_on  DATE,                 --   both NULL for name and email, which belong to the member
    load_id    INTEGER NOT NULL,     -- the load that made the change (raw.load_manifest)
    changed_at TIMESTAMPTZ NOT NULL
);

-- The warehouse's layers: raw (what came in, and what was turned away), core (the program's
-- entities, validated), marts (indicators, rebuilt by `hearth refresh`).
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;

CREATE SEQUENCE raw.load_id_seq START 1;

-- One row per file ingested. content_hash makes re-ingesting the same file a no-op.
CREATE TABLE raw.load_manifest (
    load_id          INTEGER PRIMARY KEY,
    file_name        VARCHAR NOT NULL,
    file_path        VARCHAR NOT NULL,
    content_hash     VARCHAR NOT NULL UNIQUE,
    kind             VARCHAR NOT NULL,   -- groups, members, sessions, attendance, buddy_checkins, survey_responses
    format           VARCHAR NOT NULL,   -- canonical, zoom_classic, teams_current, google_forms, ...
    loaded_at        TIMESTAMPTZ NOT NULL,
    rows_read        BIGINT NOT NULL,
    rows_loaded      BIGINT NOT NULL,
    rows_duplicate   BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    dropped_columns  VARCHAR[] NOT NULL, -- identifying survey columns removed before storage
    guests           VARCHAR[] NOT NULL, -- meeting participants that matched no roster member
    notes            VARCHAR[] NOT NULL  -- e.g. "times had no zone; read as Europe/London"
);

-- Rows turned away, with why. For survey files `value` is always NULL: answers are never kept.
CREATE TABLE raw.quarantine (
    load_id     INTEGER NOT NULL,
    file_name   VARCHAR NOT NULL,
    line        BIGINT,            -- line in the file (header = 1); NULL for file-level problems
    column_name VARCHAR,
    reason      VARCHAR NOT NULL,
    value       VARCHAR
);

CREATE TABLE core.groups (
    group_id     VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    modality     VARCHAR NOT NULL,  -- video, audio, text, in_person, hybrid
    language     VARCHAR NOT NULL,  -- e.g. en, es, fr
    time_zone    VARCHAR NOT NULL,  -- IANA name
    cadence_days INTEGER NOT NULL,  -- 7 = weekly
    coach        VARCHAR,
    started_on   DATE NOT NULL,
    cohort       VARCHAR NOT NULL,  -- pilot, scale_up
    load_id      INTEGER NOT NULL
);

CREATE TABLE core.members (
    member_id VARCHAR PRIMARY KEY,
    name      VARCHAR NOT NULL,
    email     VARCHAR,
    load_id   INTEGER NOT NULL
);

CREATE TABLE core.memberships (
    member_id VARCHAR NOT NULL,
    group_id  VARCHAR NOT NULL,
    joined_on DATE NOT NULL,
    left_on   DATE,                 -- NULL while still a member
    role      VARCHAR NOT NULL,     -- member, facilitator, mentor
    tier      VARCHAR NOT NULL,     -- light, standard, intensive
    load_id   INTEGER NOT NULL,
    PRIMARY KEY (member_id, group_id, joined_on)
);

CREATE TABLE core.sessions (
    session_id       VARCHAR PRIMARY KEY,
    group_id         VARCHAR NOT NULL,
    starts_at        TIMESTAMPTZ NOT NULL,
    session_date     DATE NOT NULL,  -- the local calendar date where the session was held
    duration_minutes INTEGER NOT NULL,
    host_member_id   VARCHAR,
    modality         VARCHAR NOT NULL,
    captioned        BOOLEAN NOT NULL,
    load_id          INTEGER NOT NULL
);

-- Usually only attendances are recorded; absence is the roster minus attendees.
CREATE TABLE core.attendance (
    session_id VARCHAR NOT NULL,
    member_id  VARCHAR NOT NULL,
    status     VARCHAR NOT NULL,   -- attended, absent, excused
    minutes    INTEGER,
    load_id    INTEGER NOT NULL
);

CREATE TABLE core.buddy_checkins (
    member_id     VARCHAR NOT NULL,
    buddy_id      VARCHAR NOT NULL,
    checked_in_at TIMESTAMPTZ NOT NULL,
    channel       VARCHAR NOT NULL,  -- call, message, video, in_person
    load_id       INTEGER NOT NULL
);

-- Anonymous by construction: no column can link a response to a member.
-- response_id is a hash of the response's own content (for idempotent re-loads), not of a person.
CREATE TABLE core.survey_responses (
    response_id  VARCHAR PRIMARY KEY,
    survey_id    VARCHAR NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL,
    group_id     VARCHAR,            -- self-reported, optional
    comment      VARCHAR,
    load_id      INTEGER NOT NULL
);

CREATE TABLE core.survey_answers (
    response_id VARCHAR NOT NULL,
    item_id     VARCHAR NOT NULL,
    value       SMALLINT NOT NULL     -- as answered; reverse-keying happens in metrics
);

-- The instrument the answers were collected with (written from instrument.toml on every ingest).
CREATE TABLE core.instrument_items (
    item_id       VARCHAR PRIMARY KEY,
    construct     VARCHAR NOT NULL,   -- belonging, psychological_safety, peer_support, loneliness, willingness_to_lead
    position      INTEGER NOT NULL,   -- order within the construct, 1-based
    text          VARCHAR NOT NULL,
    scale_min     SMALLINT NOT NULL,
    scale_max     SMALLINT NOT NULL,
    reverse_keyed BOOLEAN NOT NULL,
    label_map     VARCHAR NOT NULL    -- name of the label->number map used for this item
);

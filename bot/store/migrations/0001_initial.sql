-- Parley store, schema 1.
-- Datetimes are ISO-8601 UTC text with microseconds ("2026-01-05T09:00:00.000000+00:00"),
-- fixed width so they compare correctly as text. JSON columns hold UTF-8 JSON.
-- Applied inside one transaction by SqliteStore.open(); recorded in schema_migrations.

CREATE TABLE participants (
    id                TEXT PRIMARY KEY,
    created_at        TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'new',
    locale            TEXT NOT NULL DEFAULT 'en',
    timezone          TEXT,
    preferred_channel TEXT,
    cohort            TEXT,
    tags              TEXT NOT NULL DEFAULT '[]',   -- JSON list of strings
    name              TEXT,
    profile           TEXT NOT NULL DEFAULT '{}',   -- JSON object
    consent_version   TEXT,
    imported          INTEGER NOT NULL DEFAULT 0,
    pathway_done      INTEGER NOT NULL DEFAULT 0,
    erased_at         TEXT
);
CREATE INDEX participants_created ON participants (created_at);

CREATE TABLE addresses (
    address            TEXT PRIMARY KEY,
    participant_id     TEXT NOT NULL REFERENCES participants (id),
    channel            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    opted_out          INTEGER NOT NULL DEFAULT 0,
    opted_out_at       TEXT,
    unreachable        INTEGER NOT NULL DEFAULT 0,
    unreachable_reason TEXT
);
CREATE INDEX addresses_participant ON addresses (participant_id);

CREATE TABLE consents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id TEXT NOT NULL,
    version        TEXT NOT NULL,
    decision       TEXT NOT NULL,
    at             TEXT NOT NULL
);
CREATE INDEX consents_participant ON consents (participant_id);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL,
    flow_id        TEXT NOT NULL,
    flow_version   TEXT NOT NULL,
    node           TEXT NOT NULL,
    status         TEXT NOT NULL,
    locale         TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    fields         TEXT NOT NULL DEFAULT '{}',      -- JSON object
    vars           TEXT NOT NULL DEFAULT '{}',      -- JSON object
    asked          INTEGER NOT NULL DEFAULT 0,
    retries        INTEGER NOT NULL DEFAULT 0,
    round_id       TEXT
);
CREATE INDEX sessions_participant_status ON sessions (participant_id, status);

CREATE TABLE flow_versions (
    flow_id TEXT NOT NULL,
    version TEXT NOT NULL,
    source  TEXT NOT NULL,
    PRIMARY KEY (flow_id, version)
);

CREATE TABLE answers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    flow_id        TEXT NOT NULL,
    flow_version   TEXT NOT NULL,
    node           TEXT NOT NULL,
    field          TEXT,
    value          TEXT,                            -- JSON scalar; NULL when erased
    raw            TEXT,                            -- exactly what the person sent
    raw_escaped    INTEGER NOT NULL DEFAULT 0,      -- 1: raw is a JSON (ASCII) string literal
    at             TEXT NOT NULL,
    round_id       TEXT,
    skipped        INTEGER NOT NULL DEFAULT 0,
    late           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX answers_participant ON answers (participant_id);
CREATE INDEX answers_flow_round ON answers (flow_id, round_id);
CREATE INDEX answers_round ON answers (round_id);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id TEXT,
    session_id     TEXT,
    name           TEXT NOT NULL,
    payload        TEXT NOT NULL DEFAULT '{}',      -- JSON object
    at             TEXT NOT NULL
);
CREATE INDEX events_participant ON events (participant_id);
CREATE INDEX events_session ON events (session_id);
CREATE INDEX events_name ON events (name);

CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT NOT NULL,
    dedupe_key   TEXT NOT NULL,
    address      TEXT NOT NULL,
    payload      TEXT NOT NULL,                     -- JSON object
    received_at  TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    processed_at TEXT,
    UNIQUE (channel, dedupe_key)
);
CREATE INDEX inbox_status ON inbox (status, id);
CREATE INDEX inbox_address ON inbox (address);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id  TEXT NOT NULL,
    address         TEXT NOT NULL,
    channel         TEXT NOT NULL,
    payload         TEXT NOT NULL,                  -- JSON object
    created_at      TEXT NOT NULL,
    not_before      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    provider_id     TEXT,
    last_error      TEXT,
    round_id        TEXT,
    delivery_status TEXT,
    segments        INTEGER,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (channel, status, not_before);
CREATE INDEX outbox_participant ON outbox (participant_id);
CREATE INDEX outbox_provider ON outbox (provider_id);
CREATE INDEX outbox_round ON outbox (round_id, status);

CREATE TABLE queued_flows (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id TEXT NOT NULL,
    flow_id        TEXT NOT NULL,
    vars           TEXT NOT NULL DEFAULT '{}',      -- JSON object
    queued_at      TEXT NOT NULL,
    round_id       TEXT
);
CREATE INDEX queued_flows_participant ON queued_flows (participant_id);

CREATE TABLE timers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id     TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    node           TEXT NOT NULL,
    asked          INTEGER NOT NULL,
    due_at         TEXT NOT NULL,
    kind           TEXT NOT NULL DEFAULT 'timeout'
);
CREATE INDEX timers_due ON timers (due_at);
CREATE INDEX timers_session ON timers (session_id);
CREATE INDEX timers_participant ON timers (participant_id);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

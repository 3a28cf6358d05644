-- Rounds and their per-person targets, findings, the credit ledger with payout batches,
-- and the coordinators' audit log. Same conventions as 0001 (UTC ISO text, JSON text).

CREATE TABLE rounds (
    id                 TEXT PRIMARY KEY,
    flow_id            TEXT NOT NULL,
    audience           TEXT NOT NULL,
    audience_ids       TEXT NOT NULL DEFAULT '[]',   -- JSON list (ids:FILE audiences)
    created_at         TEXT NOT NULL,
    start_at           TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'draft',
    label              TEXT,
    finding_id         TEXT,
    vars               TEXT NOT NULL DEFAULT '{}',   -- JSON object
    every              TEXT,
    until              TEXT,
    remind_after       TEXT NOT NULL DEFAULT '[]',   -- JSON list of durations
    close_after        TEXT,
    series_id          TEXT,
    occurrence         INTEGER NOT NULL DEFAULT 1,
    created_by         TEXT NOT NULL DEFAULT '',
    started_at         TEXT,
    closed_at          TEXT,
    version            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rounds_series ON rounds (series_id, occurrence);
CREATE INDEX rounds_status ON rounds (status);

-- One row per person per round; "step" is what the scheduler does next, "version" makes
-- every write a compare-and-set so no step is ever taken twice.
CREATE TABLE round_targets (
    round_id           TEXT NOT NULL,
    participant_id     TEXT NOT NULL,
    channel            TEXT,
    address            TEXT,
    send_at            TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'planned',
    step               INTEGER NOT NULL DEFAULT 0,
    next_at            TEXT,
    sent_at            TEXT,
    closes_at          TEXT,
    started_at         TEXT,
    completed_at       TEXT,
    late               INTEGER NOT NULL DEFAULT 0,
    segments_estimated INTEGER NOT NULL DEFAULT 0,
    vars               TEXT,                         -- JSON object or NULL
    version            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (round_id, participant_id)
) WITHOUT ROWID;
CREATE INDEX round_targets_next ON round_targets (next_at) WHERE next_at IS NOT NULL;

CREATE INDEX participants_cohort ON participants (cohort);
CREATE INDEX sessions_round ON sessions (round_id, participant_id);

CREATE TABLE findings (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    lineage    TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    replaces   TEXT,
    changes    TEXT NOT NULL DEFAULT '',              -- what changed since the version replaced
    source     TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX findings_lineage ON findings (lineage, version);

-- Append-only: rows are never updated or deleted (erasure leaves amounts, which are not
-- personal data, so totals stay consistent).
CREATE TABLE ledger (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id TEXT NOT NULL,
    at             TEXT NOT NULL,
    amount         INTEGER NOT NULL,                 -- hundredths of a credit
    kind           TEXT NOT NULL,
    payable        INTEGER NOT NULL DEFAULT 1,
    key            TEXT UNIQUE,                      -- idempotency, e.g. completion:<session>
    flow_id        TEXT,
    session_id     TEXT,
    round_id       TEXT,
    note           TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ledger_participant ON ledger (participant_id, at);

CREATE TABLE payout_batches (
    id         TEXT PRIMARY KEY,
    period     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    total      INTEGER NOT NULL,
    rows       INTEGER NOT NULL,
    file       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'exported',
    actor      TEXT NOT NULL DEFAULT '',
    paid_at    TEXT,
    paid_by    TEXT NOT NULL DEFAULT ''
);

-- A ledger entry is paid in at most one batch (the UNIQUE constraint is the guarantee).
CREATE TABLE payout_items (
    batch_id  TEXT NOT NULL REFERENCES payout_batches (id),
    ledger_id INTEGER NOT NULL UNIQUE REFERENCES ledger (id)
);
CREATE INDEX payout_items_batch ON payout_items (batch_id);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);

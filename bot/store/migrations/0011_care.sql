-- Issue #15: time bank (hours as a second currency) and events.

-- Hours earned and spent, append-only like the money ledger. Amounts in minutes
-- (signed: spending is negative). ``key`` makes an earning or a spend happen once.
CREATE TABLE time_ledger (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id TEXT NOT NULL,
    at             TEXT NOT NULL,
    minutes        INTEGER NOT NULL,
    kind           TEXT NOT NULL,                    -- earned | spent | adjustment
    key            TEXT UNIQUE,
    source         TEXT NOT NULL DEFAULT '',         -- flow:<id>, event:<id>, offer:<code>
    note           TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX time_ledger_participant ON time_ledger (participant_id, at);

-- What hours can be spent on: listed by the project, retired rather than deleted.
CREATE TABLE timebank_offers (
    code        TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    minutes     INTEGER NOT NULL,                    -- the cost of one use
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    retired_at  TEXT
);

-- SPEND requests, waiting for a coordinator; the hours are held until decided.
CREATE TABLE timebank_requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id TEXT NOT NULL,
    offer_code     TEXT NOT NULL,
    minutes        INTEGER NOT NULL,
    uses           INTEGER NOT NULL,
    requested_at   TEXT NOT NULL,
    key            TEXT UNIQUE,                      -- the inbound message that asked
    status         TEXT NOT NULL DEFAULT 'pending',  -- pending | confirmed | declined
    decided_at     TEXT,
    decided_by     TEXT NOT NULL DEFAULT '',
    note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timebank_requests_status ON timebank_requests (status, requested_at);

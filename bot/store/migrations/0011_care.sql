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

-- Events (workshops, working groups): RSVPs with a waiting list, and attendance by a
-- code word said during the event. ``version`` guards the seat count: two replies at
-- once cannot both take the last place.
CREATE TABLE workshops (          -- "events" is the event log (0001)
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    at          TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    capacity    INTEGER NOT NULL,
    credits     INTEGER NOT NULL DEFAULT 0,          -- hundredths of a credit
    minutes     INTEGER NOT NULL DEFAULT 0,          -- time-bank hours, in minutes
    code_word   TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',        -- open | cancelled
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    reminded_at TEXT,
    version     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE workshop_rsvps (
    event_id       TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    answer         TEXT NOT NULL,                    -- yes | no | maybe | walk_in
    seat           TEXT NOT NULL,                    -- booked | waiting | none
    waiting_since  TEXT,                             -- waiting-list order
    answered_at    TEXT NOT NULL,
    reminded_at    TEXT,
    attended_at    TEXT,
    PRIMARY KEY (event_id, participant_id)
) WITHOUT ROWID;
CREATE INDEX workshop_rsvps_participant ON workshop_rsvps (participant_id);

-- Themes: coordinators code free-text answers (dashboard, or a CSV coded elsewhere).
-- A merged theme keeps its row (merged_into) so imports naming it still land right.
CREATE TABLE themes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    merged_into INTEGER,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE answer_themes (
    answer_id INTEGER NOT NULL,
    theme_id  INTEGER NOT NULL,
    tagged_at TEXT NOT NULL,
    tagged_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (answer_id, theme_id)
) WITHOUT ROWID;

-- Target mixes per dimension set on the dashboard (cohort targets keep their 0006
-- table); they override [representation.targets.<dimension>] from the config.
CREATE TABLE representation_targets (
    dimension TEXT NOT NULL,
    value     TEXT NOT NULL,
    share     REAL NOT NULL,
    PRIMARY KEY (dimension, value)
) WITHOUT ROWID;

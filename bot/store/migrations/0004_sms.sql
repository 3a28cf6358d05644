-- SMS delivery tracking (issue 5).
-- One outbox row can become several provider messages (a long text the flow allows is
-- split into "(1/3)" parts), so each message Twilio accepted is recorded here, right
-- after Twilio answers: a retry sends only the parts that are missing, and a status
-- callback finds its outbox row by the message SID. No personal data: no numbers, no text.

CREATE TABLE sms_parts (
    sid        TEXT PRIMARY KEY,                -- Twilio MessageSid
    outbox_id  INTEGER NOT NULL,
    part       INTEGER NOT NULL,                -- 1-based
    parts      INTEGER NOT NULL,
    segments   INTEGER NOT NULL,
    status     TEXT NOT NULL,                   -- latest status: queued, sent, delivered, ...
    error_code INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX sms_parts_outbox ON sms_parts (outbox_id, part);

-- Every status callback, in arrival order (Twilio may send them out of order).
CREATE TABLE sms_status_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    sid        TEXT NOT NULL,
    outbox_id  INTEGER,
    status     TEXT NOT NULL,
    error_code INTEGER,
    at         TEXT NOT NULL,
    UNIQUE (sid, status)                        -- a re-sent callback is recorded once
);
CREATE INDEX sms_status_events_outbox ON sms_status_events (outbox_id);

-- What needs a human: safeguarding flags, HELP, messages outside a flow, late replies.
-- Each item is projected from one committed ``AttentionNeeded`` event (``event_id``),
-- so an item is never lost (the event commits with the message that caused it) and
-- never made twice (the unique key).
CREATE TABLE attention (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       INTEGER NOT NULL UNIQUE,
    participant_id TEXT NOT NULL,
    kind           TEXT NOT NULL,          -- distress | help | unprompted | late
    channel        TEXT NOT NULL,
    text           TEXT NOT NULL DEFAULT '', -- the person's words (blanked by erasure)
    created_at     TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open', -- open | acknowledged | done
    acked_by       TEXT,
    acked_at       TEXT,
    done_by        TEXT,
    done_at        TEXT,
    escalate_at    TEXT,                   -- safeguarding only: when to escalate if unacked
    escalated_at   TEXT
);
CREATE INDEX attention_participant ON attention (participant_id);
CREATE INDEX attention_status ON attention (status);
CREATE INDEX attention_escalate ON attention (escalate_at)
    WHERE acked_at IS NULL AND escalated_at IS NULL;

-- The projection reads new AttentionNeeded events by id; without this it would scan
-- every event since the last item.
CREATE INDEX events_attention ON events (id) WHERE name = 'AttentionNeeded';

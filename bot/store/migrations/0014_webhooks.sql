-- Outbound webhooks (issue 16): events are POSTed through the outbox (channel 'webhook').
-- The webhook rows are projected from committed rows: events (answers, consent, STOP …)
-- by a cursor over events.id, moved in the same transaction as the outbox rows it
-- queues (so each event is queued once, and none is lost to a crash in between); and
-- rounds that closed, marked here once their round.completed is queued.

CREATE TABLE webhook_cursor (
    name     TEXT PRIMARY KEY,          -- 'events'
    event_id INTEGER NOT NULL           -- the last events.id looked at
);

CREATE TABLE webhook_rounds (
    round_id  TEXT PRIMARY KEY,         -- its round.completed is queued (or predates webhooks)
    queued_at TEXT NOT NULL
);

-- Issue #11: per-address order across retries and restarts, and ambiguous resends.
-- A due row is held back while an older row to the same address waits to be retried or
-- is being sent; this index answers that question for every candidate row.
CREATE INDEX outbox_address_open ON outbox (address, status, created_at);

-- Ambiguous sends resent once (Telegram, [telegram] ambiguous = "resend_once"): one row
-- per resent outbox row, so it is never resent twice and rounds can count resends.
-- Holds no personal data (ids and a time only).
CREATE TABLE outbox_resends (
    outbox_id  INTEGER PRIMARY KEY,
    resent_at  TEXT NOT NULL
);

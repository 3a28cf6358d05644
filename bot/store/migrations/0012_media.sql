-- Media people send as replies (issue 17): voice notes, photos, videos, documents,
-- stickers and locations on Telegram and WhatsApp, MMS on SMS.
-- A row is written when a reply is taken (as an answer, or kept because it arrived), with
-- the provider's reference (Telegram file_id, Twilio MediaUrl); the file is fetched later
-- into the project's media folder, retried with back-off, so a failed download never loses
-- the reply. Erasing the person deletes the rows and the files.

CREATE TABLE media (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id  TEXT NOT NULL,
    inbox_id        INTEGER,                    -- the inbound message it came with
    position        INTEGER NOT NULL DEFAULT 0, -- its place among that message's media
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,              -- voice, audio, photo, video, document, sticker, location
    source          TEXT NOT NULL,              -- provider reference, or geo:lat,lon
    content_type    TEXT NOT NULL DEFAULT '',
    session_id      TEXT,                       -- the answer it is, if any
    node            TEXT,
    status          TEXT NOT NULL,              -- pending, stored, refused, failed, kept (no file)
    path            TEXT,                       -- the stored file
    size            INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    error           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX media_inbound ON media (inbox_id, position) WHERE inbox_id IS NOT NULL;
CREATE INDEX media_due ON media (status, next_attempt_at);
CREATE INDEX media_participant ON media (participant_id);

-- Invite codes (Telegram deep links and SMS join words) for enrolment by invitation.
CREATE TABLE invites (
    code           TEXT PRIMARY KEY,
    created_at     TEXT NOT NULL,
    cohort         TEXT,
    participant_id TEXT,
    used_at        TEXT,
    uses           INTEGER NOT NULL DEFAULT 0,
    max_uses       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX invites_participant ON invites (participant_id);

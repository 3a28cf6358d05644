-- Coordinator dashboard: logins, server-side sessions and the target cohort mix.
CREATE TABLE coordinators (
    email         TEXT PRIMARY KEY,               -- lower case
    password_hash TEXT NOT NULL,                  -- argon2id, encoded with its parameters
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    last_login_at TEXT
);

-- A browser session: the cookie holds a random token; only its SHA-256 is kept here,
-- so a copy of the database does not let anyone log in.
CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);

-- The share of each cohort the coordinator aims for (0-100), to check representativeness.
CREATE TABLE cohort_targets (
    cohort TEXT PRIMARY KEY,
    share  REAL NOT NULL
);

-- Failed dashboard logins (issue 16), so the limits (5 per email, 20 per client address
-- in 15 minutes) hold across every `parley serve` sharing the database and across a
-- restart. Rows older than the window are deleted as new ones are written.
CREATE TABLE login_failures (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,      -- 'e:' + email or 'a:' + client address
    at  REAL NOT NULL       -- seconds since the epoch
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);

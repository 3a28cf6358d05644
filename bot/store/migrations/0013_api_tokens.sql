-- Bearer tokens of the HTTP API (/api/v1, issue 16). Only a SHA-256 digest of each
-- token is kept: the token itself is printed once, by `parley tokens create`, and cannot
-- be read back. A revoked token keeps its row (who had access, and until when).

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,              -- read or write
    token_hash   TEXT NOT NULL UNIQUE,       -- hex SHA-256 of the token
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    last_used_at TEXT,
    revoked_at   TEXT
);

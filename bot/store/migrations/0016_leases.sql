-- Leases (issue 16): several `parley serve` processes share one database, and some work
-- must run in exactly one of them at a time — the scheduler's due(now) pass above all.
-- A process holds a named lease until `expires_at` and renews it well before then; when
-- it dies, the lease runs out and another process takes it over. Plain rows and portable
-- SQL, so the same rule holds on SQLite and PostgreSQL.

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

-- Which process marked an outbox row 'sending' (issue 16). With several processes on one
-- database, a process starting up must not call another, live process's sends ambiguous:
-- only rows claimed by a process whose membership lease ran out (or by none) are.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

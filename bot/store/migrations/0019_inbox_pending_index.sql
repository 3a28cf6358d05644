-- A person's older messages still waiting (issue 18): read before each message is
-- processed, so order holds across processes. Through inbox_address that read walked
-- the person's whole history; this index holds only the pending rows.
CREATE INDEX inbox_pending_address ON inbox (address, id) WHERE status = 'pending';

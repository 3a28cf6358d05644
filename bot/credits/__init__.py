"""Credits: an append-only ledger of what people earned, paid out in batches."""

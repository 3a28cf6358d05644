"""Durable delivery: the inbox (persist, then acknowledge) and the outbox (paced senders)."""

"""Outbound webhooks: signed JSON POSTs of Parley's events, sent through the outbox."""

"""Persistence: a narrow async repository with SQLite and in-memory implementations."""

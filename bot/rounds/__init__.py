"""Rounds: one flow sent to an audience at a time, with reminders and a close."""

"""Messaging channels (Telegram, SMS) and their encoding helpers."""

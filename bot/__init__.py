"""Parley: co-production conversations with people over Telegram and SMS."""

from __future__ import annotations

__version__ = "0.1.0"

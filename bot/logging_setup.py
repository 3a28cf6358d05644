"""Logging that never leaks secrets or phone numbers.

python-telegram-bot's HTTP client (httpx) logs request URLs, which contain the bot
token, at INFO; twilio logs requests (with numbers) at INFO. Those loggers are held at
WARNING, and every record passes a filter that masks tokens, phone numbers and secrets
whatever logger it came from.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

NOISY = ("httpx", "httpcore", "telegram", "telegram.ext", "twilio", "twilio.http_client",
         "apscheduler", "uvicorn.access", "aiosqlite", "hpack", "aiohttp")
_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")        # Telegram bot token
_BOT_URL = re.compile(r"/bot[^/\s]+/")                            # .../bot<TOKEN>/method
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d ()-]{8,}\d(?!\w)")     # E.164 and national numbers
_SID = re.compile(r"\bAC[0-9a-fA-F]{32}\b")                       # Twilio account SID
_API_TOKEN = re.compile(r"\bparley_[A-Za-z0-9_-]{43}(?![\w-])")     # /api/v1 bearer token
_ENCODED_PLUS = re.compile(r"%2[Bb]\d{7,15}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?: \d{1,2})?$")              # 2026-03-16 (10)


def _mask_number(match: re.Match[str]) -> str:
    """A run of 9+ digits is a number to hide, unless it is a date (and the hour after
    it, as in "2026-03-16 10:00", which the pattern would otherwise swallow)."""
    found = match.group()
    if _DATE.match(found) or sum(c.isdigit() for c in found) < 9:
        return found
    return "[phone]"


class Redactor(logging.Filter):
    """Masks known secrets (exact values) and anything shaped like a token or number."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        text = _BOT_URL.sub("/bot[token]/", text)
        text = _TOKEN.sub("[token]", text)
        text = _SID.sub("AC[sid]", text)
        text = _API_TOKEN.sub("parley_[token]", text)
        text = _ENCODED_PLUS.sub("%2B[phone]", text)  # "+44…" inside a URL or form body
        return _PHONE.sub(_mask_number, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def configure_logging(level: str = "INFO", secrets: Iterable[str] = (),
                      stream: object = None) -> Redactor:
    """Set up root logging with redaction on every handler; returns the filter."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    return redactor

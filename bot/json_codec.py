"""JSON through orjson where it can, the standard library where orjson refuses.

orjson parses and writes JSON several times faster than the standard library, and a
Telegram turn reads and writes about a dozen JSON documents (the webhook, the session's
fields and variables, the event and outbox payloads, the Bot API's answer): a tenth of
the turn's CPU with ``json`` (issue 18). What orjson refuses, the standard library still
takes, so nothing that was accepted before is refused now:

- ``dumps_text``: lone surrogates (not UTF-8), integers wider than 64 bits, and values
  orjson would write but ``json`` refuses (datetimes, dataclasses, subclasses of ``str``
  and ``int`` such as enums) go to ``json.dumps``, which escapes the first, writes the
  second and the enums as before, and raises ``TypeError`` for the rest as it always did.
- ``loads``: ``NaN``/``Infinity`` literals and escaped lone surrogates, which ``json``
  accepts, go to ``json.loads``; anything else malformed raises ``ValueError`` from both.

orjson writes compactly (``{"a":1}``); ``json`` wrote ``{"a": 1}``. Both read either.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = (orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)
"""Integer keys become strings as with ``json``; what ``json`` cannot write is passed
through to no ``default``, so orjson refuses it and ``json.dumps`` decides."""


_STANDARD = json.JSONEncoder(ensure_ascii=False)
"""Made once: ``json.dumps`` with any option builds a new encoder on every call."""


def dumps_text(value: Any) -> str:
    """JSON text of ``value`` (UTF-8 as it is; escaped only where it is not valid UTF-8);
    raises ``TypeError`` for values JSON cannot hold."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode("utf-8")
    except orjson.JSONEncodeError:
        pass
    text = _STANDARD.encode(value)
    return text if utf8_ok(text) else json.dumps(value, ensure_ascii=True)


def dumps_bytes(value: Any) -> bytes:
    """``dumps_text`` as UTF-8 (what orjson writes anyway: no decoding and encoding)."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return dumps_text(value).encode("utf-8")  # escaped where not UTF-8


def utf8_ok(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads(text: str | bytes) -> Any:
    """``json.loads``; raises ``ValueError`` (``json.JSONDecodeError``) when malformed."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)

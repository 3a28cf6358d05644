"""Local fakes of the remote services Parley talks to (Telegram Bot API, Twilio).

Submodules import each other relatively, so the package works whether it is reached
as ``tests.fakes`` (repo root on sys.path, e.g. ``python -m tests.fakes.telegram_api``)
or as ``fakes`` (pytest's default rootdir-less ``prepend`` import mode).  Names are
imported lazily so that ``python -m tests.fakes.telegram_api`` does not
import the module twice (runpy warns when a package pre-imports its ``__main__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import ServedApp
    from .telegram_api import FakeTelegram
    from .twilio_api import FakeTwilio, inbound_sms_form, sign_twilio_request

__all__ = ["FakeTelegram", "FakeTwilio", "ServedApp", "inbound_sms_form", "sign_twilio_request"]

_WHERE = {
    "ServedApp": ".server",
    "FakeTelegram": ".telegram_api",
    "FakeTwilio": ".twilio_api",
    "inbound_sms_form": ".twilio_api",
    "sign_twilio_request": ".twilio_api",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

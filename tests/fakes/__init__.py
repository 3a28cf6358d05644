"""Local fakes of the remote services Parley talks to (Telegram Bot API, Twilio).

Names are imported lazily so that ``python -m tests.fakes.telegram_api`` does not
import the module twice (runpy warns when a package pre-imports its ``__main__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.server import ServedApp
    from tests.fakes.telegram_api import FakeTelegram
    from tests.fakes.twilio_api import FakeTwilio, inbound_sms_form, sign_twilio_request

__all__ = ["FakeTelegram", "FakeTwilio", "ServedApp", "inbound_sms_form", "sign_twilio_request"]

_WHERE = {
    "ServedApp": "tests.fakes.server",
    "FakeTelegram": "tests.fakes.telegram_api",
    "FakeTwilio": "tests.fakes.twilio_api",
    "inbound_sms_form": "tests.fakes.twilio_api",
    "sign_twilio_request": "tests.fakes.twilio_api",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

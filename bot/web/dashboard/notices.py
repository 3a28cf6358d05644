"""Notices after a dashboard action ("Batch B2026-03-1 is ready"), from a fixed set.

An action redirects to its page with ``?notice=<key>&ref=<id or number>``. The text comes
from ``NOTICES``, never from the query string: a link someone else crafted can only show
one of these sentences, with at most an id-like token in it, so the dashboard cannot be
made to display an attacker's words ("Your login expired, call …"). Errors are not
redirected at all: the page is shown again with the error and a 400.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request

NOTICES: dict[str, str] = {
    "batch_made": "Batch {ref} is ready. Download it below.",
    "nothing_to_pay": "Nothing new to pay up to the end of {ref}.",
    "batch_paid": "Batch {ref} marked paid.",
    "adjusted": "Credits of {ref} adjusted.",
    "round_started": "Started: {ref} people targeted.",
    "round_paused": "Paused. Nothing more is sent until you resume.",
    "round_resumed": "Resumed.",
    "round_cancelled": "Cancelled ({ref} people will not be messaged).",
    "round_test_sent": "Test sent to {ref} coordinator address(es).",
    "round_reminded": "Reminder sent to {ref} people who have not finished.",
}
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


def notice_query(key: str, ref: object = "") -> str:
    """The query string that makes ``page`` show notice ``key``."""
    if key not in NOTICES:
        raise KeyError(key)
    return urlencode({"notice": key, "ref": str(ref)})


def notice_of(request: Request) -> str:
    """The notice a page shows: a known key's text, or nothing."""
    template = NOTICES.get(request.query_params.get("notice", ""))
    if template is None:
        return ""
    ref = request.query_params.get("ref", "")
    return template.format(ref=ref if _REF.fullmatch(ref) else "?")

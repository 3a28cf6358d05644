"""Media in Twilio's inbound webhooks (MMS on SMS, WhatsApp's photos, voice notes …).

Twilio posts ``NumMedia`` and, per item, ``MediaUrl<n>`` and ``MediaContentType<n>``;
WhatsApp adds ``Latitude``/``Longitude`` for a shared location. The URLs are fetched
later (``bot.media_fetch``) with the account's credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.media_kinds import kind_of_type

MAX_MEDIA = 10
"""Twilio sends at most 10 media items with one message."""


def media_of(form: Mapping[str, str], *, whatsapp: bool) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    for index in range(min(max(count, 0), MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}", "")
        content_type = form.get(f"MediaContentType{index}", "")
        if url.startswith(("https://", "http://")):
            found.append({"kind": kind_of_type(content_type, voice_if_ogg=whatsapp),
                          "source": url, "content_type": content_type})
    latitude, longitude = form.get("Latitude"), form.get("Longitude")
    if whatsapp and latitude and longitude:
        found.append({"kind": "location", "source": f"geo:{latitude},{longitude}",
                      "content_type": ""})
    return found

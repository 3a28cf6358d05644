"""Numbers a team can trust at enrolment: valid for their region, or a fictional range.

``normalise_phone`` accepts any *possible* number (the right length), which is right
for what Twilio tells us a person texted from; but a coordinator's list deserves more:
``12345`` is "possible" in the UK and would be enrolled as ``tel:+4412345``, never
reachable. At import and ``participants add`` a number must be *valid* for its region
(``phonenumbers.is_valid_number``), except the ranges regulators reserve for drama and
testing, which are what teams use for trials and demos.
"""

from __future__ import annotations

import re

import phonenumbers

FICTIONAL = (
    re.compile(r"^\+447700900\d{3}$"),   # Ofcom: UK mobile drama range 07700 900000–999
    re.compile(r"^\+44(20|113|114|115|116|117|118|121|131|141|151|161)4960\d{3}$"),
    re.compile(r"^\+442079460\d{3}$"),   # Ofcom: London drama range 020 7946 0000–0999
    re.compile(r"^\+1\d{3}5550(1\d\d)$"),  # NANP: 555-0100 to 555-0199 are fictional
)


def check_valid(raw: str, e164: str, region: str) -> None:
    """ValueError unless ``e164`` (``raw`` normalised) is fit to enrol."""
    if any(p.match(e164) for p in FICTIONAL):
        return
    number = phonenumbers.parse(e164)
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or region
        raise ValueError(f"phone '{raw}' is not a valid number for region {where} (check "
                         "the digits, or write it with its country code)")

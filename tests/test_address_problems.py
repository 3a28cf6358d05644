"""One rule for what a provider's answer does to an address, whether it comes back when
sending (the outbox) or in a delivery report (the webhooks)."""

from __future__ import annotations

import datetime as dt

from bot.delivery import address_problems as ap
from bot.store.records import Address, Participant
from bot.store.scratch import ScratchStore

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


async def _store_with(address: str) -> ScratchStore:
    store = ScratchStore()
    await store.open()
    await store.import_participants([(Participant(id="p1", created_at=NOW),
                                      [Address(address, "p1", "sms", NOW)])])
    return store


def test_carrier_opt_out_is_an_opt_out_on_both_paths() -> None:
    assert ap.on_send(21610, "opted out at the carrier (21610)", NOW) == \
        ap.OptedOutAtCarrier(NOW)
    assert ap.on_delivery(21610, NOW) == ap.OptedOutAtCarrier(NOW)


def test_only_errors_about_the_number_mark_it() -> None:
    assert ap.on_send(21211, "not a valid phone number (21211)", NOW) == \
        ap.Unreachable("not a valid phone number (21211)")
    assert ap.on_send(403, "telegram: bot was blocked by the user", NOW) == \
        ap.Unreachable("telegram: bot was blocked by the user")
    assert ap.on_delivery(30006, NOW) == ap.Unreachable("landline or unreachable carrier "
                                                         "(30006)")
    assert ap.on_delivery(30003, NOW) is None  # a phone switched off can receive later
    assert ap.on_delivery(63024, NOW) is None
    assert ap.on_delivery(63024, NOW, {63024: "not on WhatsApp"}) == \
        ap.Unreachable("not on WhatsApp")


async def test_mark_changes_the_stored_address_and_keeps_the_first_opt_out_time() -> None:
    store = await _store_with("tel:+447700900123")
    later = NOW + dt.timedelta(hours=1)
    assert await ap.mark(store, "tel:+447700900123", ap.OptedOutAtCarrier(NOW))
    assert await ap.mark(store, "tel:+447700900123", ap.OptedOutAtCarrier(later))
    stored = await store.get_address("tel:+447700900123")
    assert stored is not None and stored.opted_out and stored.opted_out_at == NOW
    assert await ap.mark(store, "tel:+447700900123", ap.Unreachable("landline"))
    stored = await store.get_address("tel:+447700900123")
    assert stored is not None and stored.unreachable and stored.unreachable_reason == "landline"
    assert not await ap.mark(store, "tel:+447700900999", ap.Unreachable("x"))  # erased
    assert not await ap.mark(store, "tel:+447700900123", None)
    await store.close()

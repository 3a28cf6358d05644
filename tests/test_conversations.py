"""Conversations through the real store: enrolment pathway, keywords, queueing, privacy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.runtime import Runtime, open_runtime
from bot.simulator import SimulatedPhone, enrolled_phone
from bot.store.scratch import ScratchStore
from tests.conftest import make_config

SMS = "tel:+447700900123"
TG = "telegram:1001"


def texts(messages) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in messages]


async def enrol(phone: SimulatedPhone) -> None:
    await phone.say("Hi")
    await phone.say("1")      # English
    await phone.say("yes")    # consent
    for answer in ["Jo", "1", "2", "3"]:
        await phone.say(answer)


async def test_first_hi_starts_the_pathway_and_is_not_an_answer(runtime: Runtime) -> None:
    phone = SimulatedPhone(runtime, SMS)
    got = await phone.say("Hi")
    assert texts(got) == ["Hello! Which language would you like? / Helo! Pa iaith hoffech chi?"
                          "\n1 English\n2 Cymraeg\nOr reply SKIP"]
    got = await phone.say("2")
    assert got[0].text.startswith("Helo, dyma Money Voices.")  # consent, now in Welsh
    participant = await runtime.store.participant_for_address(SMS)
    assert participant is not None and participant.locale == "cy"
    assert participant.status == "new"
    assert await runtime.store.answers() == []  # nothing kept before consent


async def test_full_enrolment_stores_profile_and_consent(runtime: Runtime) -> None:
    phone = SimulatedPhone(runtime, SMS)
    await enrol(phone)
    p = await runtime.store.participant_for_address(SMS)
    assert p is not None and p.status == "consented" and p.pathway_done
    assert p.profile["preferred_name"] == "Jo" and p.preferred_channel == "sms"
    assert p.profile["payment_preference"] == "decline"
    consents = await runtime.store.consents_of(p.id)
    assert [(c.decision, c.version) for c in consents] == [("given", "2026-11-v1")]
    assert "You're all set" in phone.inbox[-1].text
    idle = await phone.say("hello?")
    assert "nothing to answer right now" in idle[0].text


async def test_single_locale_skips_the_language_question(clock: ManualClock) -> None:
    config = make_config(project={"name": "Money Voices", "locales": ["en"]})
    rt = await open_runtime(config, store=ScratchStore(), clock=clock)
    got = await SimulatedPhone(rt, SMS).say("Hi")
    assert got[0].text.startswith("Hi, this is Money Voices.")
    await rt.close()


async def test_declining_keeps_only_the_refusal(runtime: Runtime) -> None:
    phone = SimulatedPhone(runtime, TG)
    await phone.say("Hi")
    await phone.press("English")
    got = await phone.press("No")
    assert "won't keep anything" in got[0].text
    p = await runtime.store.participant_for_address(TG)
    assert p is not None and p.status == "declined" and p.profile == {}
    assert [c.decision for c in await runtime.store.consents_of(p.id)] == ["declined"]
    got = await phone.say("what?")
    assert "Reply START" in got[0].text
    got = await phone.say("START")  # changed their mind: consent is asked again
    assert any("Do you agree" in m.text for m in got)


async def test_stop_mid_survey_then_start_resumes(runtime: Runtime) -> None:
    phone, pid = await enrolled_phone(runtime, SMS)
    await runtime.conversations.start_flow(pid, "ons4")
    await phone.collect()
    await phone.say("6")
    got = await phone.say("Stop")
    assert texts(got) == ["OK, you won't get any more messages from Money Voices. "
                          "Reply START if you want to come back."]
    assert await phone.say("7") == []               # silence after STOP
    assert await phone.say("help me") == []
    address = await runtime.store.get_address(SMS)
    assert address is not None and address.opted_out
    got = await phone.say("START")
    assert got[0].text == "Welcome back! Here is where we left off."
    assert got[1].text.startswith("Overall, to what extent")   # the open question again
    await phone.say("8")
    answers = await runtime.store.answers(participant_id=pid)
    assert [(a.field, a.value) for a in answers] == [("life_satisfaction", 6),
                                                     ("worthwhile", 8)]


async def test_yes_opts_back_in_only_when_opted_out(runtime: Runtime) -> None:
    phone, _pid = await enrolled_phone(runtime, SMS)
    await phone.say("STOP")
    got = await phone.say("yes")
    assert "Welcome back" in got[0].text
    address = await runtime.store.get_address(SMS)
    assert address is not None and not address.opted_out


async def test_help_works_in_every_state(runtime: Runtime) -> None:
    phone = SimulatedPhone(runtime, SMS)
    got = await phone.say("HELP")
    assert "To talk to a person: call 0800 123 456" in got[0].text
    await phone.say("1")
    got = await phone.say("info")
    assert got[0].text.startswith("This is Money Voices.")


async def test_delete_needs_confirmation_then_erases(runtime: Runtime) -> None:
    phone, pid = await enrolled_phone(runtime, SMS)
    await runtime.conversations.start_flow(pid, "feedback")
    await phone.collect()
    await phone.say("1")
    await phone.say("My private words")
    got = await phone.say("DELETE")
    assert "Reply DELETE again" in got[0].text
    got = await phone.say("no keep it")
    assert got[0].text == "OK, nothing has been erased."
    assert await runtime.store.participant_for_address(SMS) is not None
    await phone.say("delete")
    got = await phone.say("DELETE")
    assert got[0].text == "Your data has been erased. Thank you for taking part."
    assert await runtime.store.participant_for_address(SMS) is None
    assert await runtime.store.list_participants() == []
    for answer in await runtime.store.answers():
        assert answer.raw is None and answer.value is None


async def test_round_flow_waits_for_the_active_session(runtime: Runtime) -> None:
    phone, pid = await enrolled_phone(runtime, SMS)
    assert await runtime.conversations.start_flow(pid, "ons4") == "started"
    assert await runtime.conversations.start_flow(pid, "feedback") == "queued"
    await phone.collect()
    for answer in ["1", "2", "3"]:
        await phone.say(answer)
    got = await phone.say("4")
    assert got[0].text.startswith("Thank you. Your answers")
    assert got[1].text.startswith("How did taking part feel")  # the queued flow follows


async def test_expired_session_says_so_plainly(runtime: Runtime, clock: ManualClock) -> None:
    phone, pid = await enrolled_phone(runtime, SMS)
    await runtime.conversations.start_flow(pid, "ons4")
    await phone.collect()
    clock.advance(timedelta(days=8))
    got = await phone.say("5")
    assert got[0].text.startswith("That survey has now closed.")
    assert await runtime.store.answers(participant_id=pid) == []


async def test_timer_fires_nudge_and_stale_timer_is_ignored(runtime: Runtime,
                                                            clock: ManualClock) -> None:
    phone, pid = await enrolled_phone(runtime, SMS)
    await runtime.conversations.start_flow(pid, "ons4")
    await phone.collect()
    clock.advance(timedelta(days=2, minutes=1))
    due = [t for t in await runtime.store.timers_due(clock.now()) if t.kind == "timeout"]
    assert len(due) == 1
    await runtime.conversations.fire_timer(due[0])
    got = await phone.collect()
    assert got[0].text.startswith("Just a gentle reminder")
    await runtime.conversations.fire_timer(due[0])  # fired twice: the second is stale
    assert await phone.collect() == []


async def test_media_gets_a_polite_reply(runtime: Runtime) -> None:
    from bot.conversations import Inbound

    phone, _pid = await enrolled_phone(runtime, TG)
    await runtime.conversations.handle(Inbound(channel="telegram", address=TG, kind="media",
                                               received_at=runtime.clock.now()))
    got = await phone.collect()
    assert texts(got) == ["Sorry, I can only read text. Please reply in words."]


async def test_invite_mode_refuses_strangers(clock: ManualClock) -> None:
    config = make_config(enrolment={"mode": "invite"})
    rt = await open_runtime(config, store=ScratchStore(), clock=clock)
    got = await SimulatedPhone(rt, SMS).say("Hi")
    assert "not part of a Money Voices project" in got[0].text
    assert await rt.store.list_participants() == []
    await rt.close()


@pytest.mark.parametrize("word", ["STOP", "stop", "Unsubscribe", "CANCEL", "end", "quit",
                                  "stopall"])
async def test_every_stop_word(runtime: Runtime, word: str) -> None:
    phone, _pid = await enrolled_phone(runtime, SMS)
    got = await phone.say(word)
    assert len(got) == 1 and "won't get any more messages" in got[0].text


async def test_provider_handled_opt_out_is_recorded_without_reply(clock: ManualClock) -> None:
    config = make_config(sms={"provider_handles_opt_out": True})
    rt = await open_runtime(config, store=ScratchStore(), clock=clock)
    phone, _pid = await enrolled_phone(rt, SMS)
    assert await phone.say("STOP") == []
    address = await rt.store.get_address(SMS)
    assert address is not None and address.opted_out
    await rt.close()

"""A fault campaign: a real round through ``parley serve`` while it is SIGKILLed again and
again and the providers answer 429, 500, drop connections and hang (issue #11).

Imported people who never consented (so every one gets an introduction and consent,
then onboarding, then the ons4 round) answer like people do: each distinct question
once, by its words, as soon as it arrives; while the server is down their messages are
refused and they try again, as Telegram and Twilio re-send webhooks. Afterwards the
store and the fakes' records are compared:

- ``expected``: outbox rows the round caused; ``delivered_once``: rows that reached the
  provider exactly once; ``duplicates``: extra copies (resends of ambiguous sends);
- ``ambiguous``/``resent``: sends that may have gone, and those resent once;
- ``lost``: rows recorded sent that never reached the provider, or never finished
  (still waiting at the end) — must be 0;
- ``out_of_order``: people whose messages arrived in another order than queued — 0;
- ``wrong_field``: answers stored under another question than the one answered — 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import figure
from tests.fakes.server import ServedApp
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio
from tests.serve_process import ParleyProcess
from tests.sms_harness import Phone
from tests.telegram_harness import Chat
from tests.telegram_harness import write_config as telegram_config

ANSWERS: list[tuple[str, str | None, Any]] = [
    # (words of the question, field it is saved as, the person's answer)
    ("Do you agree to take part", None, lambda i: "yes"),
    ("What would you like us to call you", "participant.preferred_name", lambda i: f"Pat{i}"),
    ("best time to message you", "participant.contact_time", lambda i: "Evening"),
    ("How would you like us to message you", "participant.preferred_channel",
     lambda i: "Either is fine"),
    ("How would you like to be paid", "participant.payment_preference",
     lambda i: "I'd rather not be paid"),
    ("satisfied are you with your life", "life_satisfaction", lambda i: str(i % 11)),
    ("worthwhile", "worthwhile", lambda i: str((i + 3) % 11)),
    ("how happy did you feel", "happy_yesterday", lambda i: str((i + 5) % 11)),
    ("how anxious did you feel", "anxious_yesterday", lambda i: str((i + 7) % 11)),
]
FINISHED = "Your answers help shape this work"
FAULTS = ["429", "500", "drop", "hang"]
CALM = 90.0
"""Seconds after the faults stop for the last conversations and resends to finish."""


def answer_for(text: str, i: int) -> tuple[str | None, str] | None:
    for words, field, answer in ANSWERS:
        if words.lower() in text.lower():
            return field, answer(i)
    return None


class Person:
    """Answers each distinct question once, in the order they arrive."""

    def __init__(self, index: int, handset: Chat | Phone, received: Any) -> None:
        self.index, self.handset, self.received = index, handset, received
        self.answered: set[str] = set()
        self.done = False

    async def run(self, deadline: float) -> None:
        while time.monotonic() < deadline and not self.done:
            texts = self.received()
            self.done = any(FINISHED in t for t in texts)
            todo = [t for t in texts if answer_for(t, self.index) and t not in self.answered]
            if todo and await self._say(answer_for(todo[0], self.index)[1]):  # type: ignore[index]
                self.answered.add(todo[0])
            await asyncio.sleep(0.15)

    async def _say(self, text: str) -> bool:
        try:
            sender = self.handset.send if isinstance(self.handset, Chat) else self.handset.text
            response = await sender(text)
        except httpx.HTTPError:
            return False  # the server is down: try again, as providers re-send webhooks
        return response.status_code == 200


def write_config(folder: Path, tg_url: str, tw_url: str) -> Path:
    path = telegram_config(folder, tg_url, public_url="https://parley.example",
                           rate_limit_per_second=30, per_chat_per_second=1)
    text = path.read_text(encoding="utf-8").replace('locales = ["en", "cy"]',
                                                    'locales = ["en"]')
    text += (f'\n[sms]\naccount_sid = "{DEFAULT_ACCOUNT_SID}"\n'
             f'auth_token = "{DEFAULT_AUTH_TOKEN}"\nfrom_number = "+447700900000"\n'
             f'api_base_url = "{tw_url}"\nrate_limit_per_second = 5\nrequest_timeout = 2\n')
    path.write_text(text, encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "bot.cli", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd=config.parent)
    return done.stdout.strip().splitlines()[-1]


def open_rows(db: Path) -> int:
    with sqlite3.connect(db) as con:
        found: int = con.execute("SELECT count(*) FROM outbox WHERE status IN "
                                 "('pending', 'retry', 'sending')").fetchone()[0]
    return found


def arm_faults(tg: FakeTelegram, tw: FakeTwilio, chats: list[int], phones: list[str],
               rng: random.Random) -> None:
    for chat in rng.sample(chats, k=min(len(chats), 8)):
        tg.fail_next(chat, kind=rng.choice(FAULTS), hang_seconds=3.0)
    for phone in rng.sample(phones, k=min(len(phones), 3)):
        tw.fail_next(phone, kind=rng.choice(FAULTS), hang_seconds=3.0)


def in_order(sent: list[str], queued: list[str]) -> bool:
    """Whether ``sent`` (with duplicates) follows ``queued``'s order."""
    last, used = -1, set()
    for text in sent:
        spots = [i for i, q in enumerate(queued) if q == text]
        fresh = [i for i in spots if i not in used]
        if not fresh:
            continue  # a duplicate of one already placed
        if fresh[0] < last:
            return False
        used.add(fresh[0])
        last = fresh[0]
    return True


def measure(db: Path, tg: FakeTelegram, tw: FakeTwilio, people: list[Person],
            kills: int) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT id, address, status, payload FROM outbox ORDER BY id"
                           ).fetchall()
        for row in con.execute("SELECT id, address, last_error, attempts FROM outbox "
                               "WHERE status = 'ambiguous'"):
            print("faults: ambiguous row", row, file=sys.stderr)
        parts = con.execute("SELECT sid, outbox_id FROM sms_parts").fetchall()
        resent = con.execute("SELECT count(*) FROM outbox_resends").fetchone()[0]
        answers = con.execute("SELECT a.field, a.raw, ad.address FROM answers a JOIN "
                              "addresses ad ON ad.participant_id = a.participant_id").fetchall()
    import json

    figures = Counter(kills=kills, expected=len(rows), resent=resent)
    print("faults: outbox statuses", dict(Counter(r[2] for r in rows)), file=sys.stderr)
    figures["ambiguous"] = sum(r[2] == "ambiguous" for r in rows) + resent
    by_address: dict[str, list[tuple[int, str, str]]] = {}
    for rid, address, status, payload in rows:
        by_address.setdefault(address, []).append((rid, status, json.loads(payload)["text"]))
    tw_sids = {m["sid"]: m for m in tw.messages}
    recorded = {sid: outbox_id for sid, outbox_id in parts}
    for address, mine in by_address.items():
        figures["lost"] += sum(s in ("pending", "retry", "sending") for _, s, _ in mine)
        if address.startswith("telegram:"):
            got = tg.texts_to(int(address.split(":")[1]))
            counts, queued = Counter(got), [t for _, _, t in mine]
            for text, n in Counter(queued).items():
                figures["delivered_once"] += min(n, counts[text])
                figures["duplicates"] += max(0, counts[text] - n)
                sent_rows = sum(s == "sent" for _, s, t in mine if t == text)
                figures["lost"] += max(0, sent_rows - counts[text])
                if sent_rows > counts[text]:
                    print("faults: recorded sent, never arrived:", address, text[:40],
                          file=sys.stderr)
            figures["out_of_order"] += not in_order(got, queued)
        else:
            got_ids = [recorded.get(m["sid"]) for m in tw.sent_to(address[4:])]
            figures["duplicates"] += sum(1 for i in got_ids if i is None)
            ids = [i for i in got_ids if i is not None]
            figures["delivered_once"] += len(set(ids))
            figures["lost"] += sum(1 for rid, s, _ in mine if s == "sent" and rid not in ids)
            figures["out_of_order"] += ids != sorted(ids)
    assert len(tw_sids) == len(tw.messages)
    for field, raw, address in answers:
        person = next((p for p in people if p.handset.address == address), None)
        expected = {f: a(person.index) for _, f, a in ANSWERS if f} if person else {}
        figures["wrong_field"] += field in expected and raw != expected[field]
    figures["finished"] = sum(p.done for p in people)
    for p in people:
        if not p.done:
            print("faults: unfinished", p.handset.address, p.received()[-2:], file=sys.stderr)
    return dict(figures)


async def campaign(telegram_people: int, sms_people: int, kill_every: float,
                   budget: float, seed: int) -> tuple[dict[str, int], int]:
    rng = random.Random(seed)
    tg, tw = FakeTelegram(hang_seconds=3.0), FakeTwilio(hang_seconds=3.0)
    with tempfile.TemporaryDirectory() as tmp, ServedApp(tg.app) as tgs, \
            ServedApp(tw.app) as tws:
        folder = Path(tmp)
        config = write_config(folder, tgs.base_url, tws.base_url)
        chats = [7_100_000 + i for i in range(telegram_people)]
        phones = [f"+4477009{i:05d}" for i in range(sms_people)]
        csv = folder / "people.csv"
        csv.write_text("name,phone,telegram_id,locale\n"
                       + "".join(f"T{c},,{c},en\n" for c in chats)
                       + "".join(f"S{p},{p},,en\n" for p in phones), encoding="utf-8")
        cli(config, "participants", "import", str(csv))
        cli(config, "rounds", "start", cli(config, "rounds", "create", "--flow", "ons4",
                                           "--audience", "all"))
        os.environ["PARLEY_SCHEDULER_INTERVAL"] = "0.5"
        server = ParleyProcess(config, log_level="WARNING").start()
        people = [Person(i, Chat(server, tg, c), lambda c=c: tg.texts_to(c))
                  for i, c in enumerate(chats)]
        people += [Person(len(chats) + i, Phone(server, tw, p),
                          lambda p=p: [m["body"] for m in tw.sent_to(p)])
                   for i, p in enumerate(phones)]
        faulty_until = time.monotonic() + budget
        tasks = [asyncio.create_task(p.run(faulty_until + CALM)) for p in people]
        kills = 0
        try:
            while time.monotonic() < faulty_until and not all(p.done for p in people):
                arm_faults(tg, tw, chats, phones, rng)
                await asyncio.sleep(kill_every * (0.5 + rng.random()))
                if all(p.done for p in people):
                    break
                server.kill()
                kills += 1
                await asyncio.to_thread(server.start)
            # then no more faults: everyone may finish and every send settle
            calm_until = time.monotonic() + CALM
            while time.monotonic() < calm_until and not (
                    all(p.done for p in people) and not open_rows(folder / "parley.db")):
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            server.stop()
        return measure(folder / "parley.db", tg, tw, people, kills), len(people)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about two minutes")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    sizes = (10, 4, 4.0, 45.0) if args.quick else (40, 12, 4.0, 180.0)
    found, people = asyncio.run(campaign(*sizes, seed=args.seed))
    print(f"faults: {found} for {people} people", file=sys.stderr)
    figure("faults_kills", found.get("kills", 0), "SIGKILLs")
    figure("faults_people_finished", found.get("finished", 0), "people", people)
    for name, unit in (("expected", "messages"), ("delivered_once", "messages"),
                       ("duplicates", "messages"), ("ambiguous", "messages"),
                       ("resent", "messages"), ("lost", "messages"),
                       ("out_of_order", "people"), ("wrong_field", "answers")):
        figure(f"faults_{name}", found.get(name, 0), unit)


if __name__ == "__main__":
    main()

"""The evaluation report for a seeded 500-person SQLite project: seconds to collect the
numbers and write the HTML and the PDF (no baseline: nothing else makes this report).

The project: 500 consented people in three cohorts; an ONS4 baseline and end round
(every target completed or not, answers stored as a conversation would store them); an
endorsement of one finding; 200 free-text answers, half coded with themes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from bench.common import figure
from bot.config import Config
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.report.data import collect
from bot.report.render import write_html, write_pdf
from bot.store.records import Address, AnswerRow, Changes, Participant
from bot.store.round_records import Round, RoundTarget
from bot.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
FIELDS = ("life_satisfaction", "worthwhile", "happy_yesterday", "anxious_yesterday")


async def seed(store: SqliteStore, size: int, rng: random.Random) -> None:
    people = [(Participant(f"p{n:04d}", T0, status="consented", pathway_done=True,
                           cohort=("north", "south", "west")[n % 3]),
               [Address(f"tel:+4477009{n:05d}", f"p{n:04d}", "sms", T0)])
              for n in range(size)]
    await store.import_participants(people)
    await store.set_cohort_targets({"north": 34, "south": 33, "west": 33})
    for label, day, rate in (("baseline", 0, 0.8), ("end", 56, 0.65)):
        item = Round(id=f"r-{label}", flow_id="ons4", audience="all", created_at=T0,
                     start_at=T0 + dt.timedelta(days=day), label=label, status="closed")
        await store.round_add(item)
        done = [p.id for p, _ in people if rng.random() < rate]
        targets = [RoundTarget(item.id, p.id, item.start_at, "sms", f"tel:{p.id}",
                               "completed" if p.id in done else "closed")
                   for p, _ in people]
        await store.round_plan(item, targets)
        answers = [AnswerRow(pid, f"s-{label}-{pid}", "ons4", "v", f, f,
                             rng.randint(2, 9) + (1 if label == "end" else 0), "7",
                             item.start_at, round_id=item.id)
                   for pid in done for f in FIELDS]
        await store.apply(Changes(answers=answers))
    texts = [AnswerRow(f"p{n:04d}", f"s-fb-{n}", "feedback", "v", "change", "change",
                       f"Comment {n} about buses and rent", "x", T0 + dt.timedelta(minutes=n))
             for n in range(200)]
    await store.apply(Changes(answers=texts))
    themes = await store.theme_ids(["transport", "housing", "food", "childcare"], T0, "b")
    for a in (await store.answers(flow_id="feedback"))[:100]:
        assert a.id is not None
        await store.tag_answer(a.id, rng.sample(themes, 2), T0, "bench")


async def run(size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = SqliteStore(folder / "parley.db")
        await store.open()
        await seed(store, size, random.Random(15))
        config = Config.model_validate({"project": {"name": "Bench", "locales": ["en"]}})
        renderer = Renderer.from_dir(ROOT / "templates")
        library = FlowLibrary.from_dir(ROOT / "flows", renderer, ["en"])
        started = time.perf_counter()
        data = await collect(store, config, library, T0 + dt.timedelta(days=60))
        collected = time.perf_counter()
        write_html(data, folder / "report.html")
        written = time.perf_counter()
        write_pdf(data, folder / "report.pdf")
        done = time.perf_counter()
        await store.close()
    figure(f"report_collect_{size}_people", collected - started, "s")
    figure(f"report_html_{size}_people", written - collected, "s")
    figure(f"report_pdf_{size}_people", done - written, "s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(run(100 if args.quick else args.people))


if __name__ == "__main__":
    main()

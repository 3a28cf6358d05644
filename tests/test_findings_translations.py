"""Findings in the person's language: `findings publish F.md --translation cy=F.cy.md`;
a Welsh speaker reads the finding and "we did" in Welsh, and is told plainly when only
English exists."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.simulator import enrolled_phone
from tests.cli_inprocess import parley as cli
from tests.serve_process import write_config
from tests.sms_harness import db_runtime

ENGLISH = "# Fees\n\nPeople pay too much to use the cash machine.\n"
WELSH = "# Ffioedd\n\nMae pobl yn talu gormod i ddefnyddio'r peiriant arian.\n"


async def read_finding(config: Path, round_id: str, locale: str, n: int) -> str:
    runtime = await db_runtime(config)
    try:
        item = await runtime.store.round_get(round_id)
        assert item is not None
        phone, pid = await enrolled_phone(runtime, f"tel:+4477009{60000 + n:05d}",
                                          locale=locale)
        await runtime.conversations.start_flow(pid, "endorsement", vars=item.vars)
        return (await phone.collect())[0].text
    finally:
        await runtime.close()


def test_publish_with_a_welsh_translation(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sms", {})
    (tmp_path / "fees.md").write_text(ENGLISH, encoding="utf-8")
    (tmp_path / "fees.cy.md").write_text(WELSH, encoding="utf-8")
    (tmp_path / "bad.cy.md").write_text("no title here\n", encoding="utf-8")
    bad = cli(config, "findings", "publish", str(tmp_path / "fees.md"), "--translation",
              f"cy={tmp_path / 'bad.cy.md'}", ok=False)
    assert "bad.cy.md:1: a finding starts with a '# Title' line" in bad.output
    wrong = cli(config, "findings", "publish", str(tmp_path / "fees.md"), "--translation",
                f"fr={tmp_path / 'fees.cy.md'}", ok=False)
    assert "'fr' is not one of the project's locales (en, cy)" in wrong.output
    published = cli(config, "findings", "publish", str(tmp_path / "fees.md"),
                    "--translation", f"cy={tmp_path / 'fees.cy.md'}")
    finding = published.stdout.splitlines()[-1]
    assert finding == "F1"  # the refused attempts stored nothing
    round_id = cli(config, "rounds", "create", "--flow", "endorsement", "--finding",
                   finding, "--audience", "all").stdout.splitlines()[-1]
    welsh = asyncio.run(read_finding(config, round_id, "cy", 1))
    assert welsh == ("Canfyddiad drafft: Ffioedd\nMae pobl yn talu gormod i ddefnyddio'r "
                     "peiriant arian.")
    english = asyncio.run(read_finding(config, round_id, "en", 2))
    assert "People pay too much" in english and "Ffioedd" not in english

    (tmp_path / "other.md").write_text("# Buses\n\nBuses are late.\n", encoding="utf-8")
    other = cli(config, "findings", "publish", str(tmp_path / "other.md")).stdout
    plain = cli(config, "rounds", "create", "--flow", "endorsement", "--finding",
                other.splitlines()[-1], "--audience", "all").stdout.splitlines()[-1]
    untranslated = asyncio.run(read_finding(config, plain, "cy", 3))
    assert untranslated.endswith("Buses are late.\n(Yn Saesneg yn unig: does dim cyfieithiad "
                                 "Cymraeg o hwn eto.)")

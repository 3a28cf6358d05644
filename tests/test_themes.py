"""Themes: coding free text in the dashboard (tag, merge), saturation in arrival order,
the CSV round trip with ``parley themes export|import`` (errors as file:line), erasure
and the store contract on every store."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot.errors import ImportRowError
from bot.store.base import Store
from bot.store.records import AnswerRow, Changes
from bot.themes.coding import export_csv, free_text, import_csv, saturation
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401
from tests.test_burden import dashboard
from tests.test_dashboard import csrf_of
from tests.test_store_contract import T0, enrol
from tests.test_store_contract import store as store  # the parametrised fixture

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
SAID = ["Buses stop at six", "Rent went up again", "The bus is too dear", "=1+1 formula",
        "Rent and heating", "Nothing else to add", "Buses again", "Heating costs"]


async def with_answers(tmp_path: Path) -> Project:
    p = await open_project(tmp_path, START)
    await p.person("Ann", "tel:+447700900001")
    rows = [AnswerRow("p_ann", f"s{i}", "feedback", "v", "change", "change", text, text,
                      START + dt.timedelta(minutes=i)) for i, text in enumerate(SAID)]
    rows.append(AnswerRow("p_ann", "s9", "feedback", "v", "felt", "felt", "good", "1", START))
    await p.store.apply(Changes(answers=rows))
    return p


async def test_dashboard_tagging_merging_and_saturation(tmp_path: Path) -> None:
    p = await with_answers(tmp_path)
    answers = await free_text(p.store, p.runtime.library)
    assert [a.value for a in answers] == SAID  # text answers only, in arrival order
    ids = [a.id for a in answers]
    coding = ["transport", "housing", "transport; cost", "", "housing; heating", "",
              "Transport", "heating; cost"]
    async with dashboard(p) as client:
        page = await client.get("/admin/themes")
        token = csrf_of(page.text)
        for answer_id, themes in zip(ids, coding, strict=True):
            if themes:
                done = await client.post("/admin/themes/tag", data={
                    "csrf": token, "answer_id": str(answer_id), "themes": themes})
                assert done.status_code == 303
        bad = await client.post("/admin/themes/tag", data={"csrf": token,
                                                            "answer_id": "99999",
                                                            "themes": "x"})
        assert bad.status_code == 404
        page = (await client.get("/admin/themes?batch=2")).text
        assert "6 of 8 responses coded" in page
        assert "The last <strong>2</strong> coded responses brought no new theme." in page
        themes = {t.name: t.id for t in await p.store.themes_all()}
        assert set(themes) == {"transport", "housing", "cost", "heating"}  # any case: one
        await client.post("/admin/themes/merge", data={
            "csrf": token, "source": str(themes["cost"]), "into": str(themes["transport"])})
        page = (await client.get("/admin/themes")).text
    counts = dict(re.findall(r"<tr><td>([a-z]+)</td><td class=\"num\">(\d+)</td>", page))
    assert counts == {"transport": "4", "housing": "2", "heating": "2"}
    tags = await p.store.answer_themes()
    sat = saturation(answers, tags, batch=2)
    assert sat.new_per_batch == [2, 1, 0] and sat.quiet_tail == 2  # after the merge


async def test_csv_export_then_import_round_trip(tmp_path: Path) -> None:
    p = await with_answers(tmp_path)
    out = tmp_path / "coding.csv"
    assert await export_csv(p.store, p.runtime.library, out) == len(SAID)
    text = out.read_text(encoding="utf-8-sig")
    assert "'=1+1 formula" in text  # a formula is neutralised for spreadsheets
    lines = text.splitlines()
    coded = [lines[0]] + [line.rstrip(",") + ",food; rent" if "Rent" in line else line
                          for line in lines[1:]]
    out.write_text("\n".join(coded) + "\n", encoding="utf-8")
    assert await import_csv(p.store, p.runtime.library, out, "coder", START) == len(SAID)
    names = {t.id: t.name for t in await p.store.themes_all()}
    tagged = {answer_id: sorted(names[t] for t in ids)
              for answer_id, ids in (await p.store.answer_themes()).items()}
    assert list(tagged.values()) == [["food", "rent"], ["food", "rent"]]

    broken = tmp_path / "broken.csv"
    broken.write_text("answer_id,themes\n1,ok\nabc,x\n99999,y\n", encoding="utf-8")
    with pytest.raises(ImportRowError) as caught:
        await import_csv(p.store, p.runtime.library, broken, "coder", START)
    assert [str(x) for x in caught.value.problems] == [
        f"{broken}:3: answer_id 'abc' is not a free-text answer of this project",
        f"{broken}:4: answer_id '99999' is not a free-text answer of this project"]


async def test_themes_store_contract(store: Store) -> None:
    await enrol(store, "p1")
    await store.apply(Changes(answers=[AnswerRow("p1", "s1", "feedback", "v", "change",
                                                 "change", "words", "words", T0)]))
    [answer] = await store.answers()
    assert answer.id is not None
    ids = await store.theme_ids(["Rent", "rent", "bus"], T0, "coder")
    assert len(ids) == 2
    await store.tag_answer(answer.id, ids, T0, "coder")
    assert await store.answer_themes() == {answer.id: ids}
    await store.merge_theme(ids[1], ids[0])
    assert await store.answer_themes() == {answer.id: [ids[0]]}
    assert await store.theme_ids(["BUS"], T0, "coder") == [ids[0]]  # merged: lands live
    await store.erase_participant("p1", T0)
    assert await store.answer_themes() == {}


async def test_every_response_can_be_reached_page_by_page(tmp_path: Path) -> None:
    """250 responses: 100 a page, newest first; the oldest is on page 3; tagging one on
    page 3 comes back to page 3; "only uncoded" leaves the tagged one out."""
    p = await open_project(tmp_path, START)
    await p.person("Ann", "tel:+447700900001")
    rows = [AnswerRow("p_ann", f"s{i}", "feedback", "v", "change", "change", f"idea {i}",
                      f"idea {i}", START + dt.timedelta(minutes=i)) for i in range(250)]
    await p.store.apply(Changes(answers=rows))
    oldest = (await free_text(p.store, p.runtime.library))[0]

    def shown(page: str) -> list[str]:
        return re.findall(r'<p class="quote">(idea \d+)</p>', page)

    async with dashboard(p) as client:
        first = (await client.get("/admin/themes")).text
        assert shown(first)[:2] == ["idea 249", "idea 248"] and len(shown(first)) == 100
        assert "Page 1 of 3" in first and 'rel="prev"' not in first
        assert '<a href="/admin/themes?batch=10&page=2" rel="next">Older</a>' in first
        last = (await client.get("/admin/themes?batch=10&page=3")).text
        assert shown(last)[-1] == "idea 0" and len(shown(last)) == 50
        assert "Page 3 of 3" in last and 'rel="next"' not in last
        assert shown((await client.get("/admin/themes?page=99")).text) == shown(last)
        done = await client.post("/admin/themes/tag", data={
            "csrf": csrf_of(last), "answer_id": str(oldest.id), "themes": "first",
            "back": "page=3&batch=10"})
        assert done.status_code == 303
        assert done.headers["location"] == (f"/admin/themes?done=tagged&page=3&batch=10"
                                            f"#a{oldest.id}")
        uncoded = (await client.get("/admin/themes?show=uncoded&page=3")).text
    assert "Page 3 of 3" in uncoded and shown(uncoded)[-1] == "idea 1"
    assert "idea 0" not in shown(uncoded)

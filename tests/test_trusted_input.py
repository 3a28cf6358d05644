"""Input a team can trust: numbers that cannot be reached are refused at enrolment with
``file:line``; a CSV saved in a legacy encoding says which line and "save as UTF-8"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ImportRowError
from bot.ids import SequentialIds
from bot.people import build_people, read_csv
from tests.cli_inprocess import Ran, run_cli
from tests.conftest import T0, make_config

HEADER = "name,phone,telegram_id,locale,timezone,cohort,tags\n"


def test_numbers_not_valid_for_their_region_are_refused_with_their_line() -> None:
    text = HEADER + ("Ann,07700 900123,,,,,\n"        # Ofcom drama range: for trials
                     "Short,12345,,,,,\n"             # "possible" in the UK, not valid
                     "Real,07911 123456,,,,,\n"
                     "Landline,020 7946 0123,,,,,\n"  # London drama range
                     "Nowhere,+44 1632 960000,,,,,\n"
                     "US,+1 202 555 0123,,,,,\n")
    with pytest.raises(ImportRowError) as info:
        build_people(read_csv(text, "p.csv"), make_config(), SequentialIds(), T0, "p.csv")
    got = [(p.line, p.message) for p in info.value.problems]
    assert got == [
        (3, "phone '12345' is not a valid number for region GB (check the digits, or "
            "write it with its country code)"),
        (6, "phone '+44 1632 960000' is not a valid number for region GB (check the "
            "digits, or write it with its country code)"),
    ]


def parley(tmp_path: Path, *args: str) -> Ran:
    return run_cli(*args, "--config", tmp_path / "config.toml", cwd=tmp_path)


@pytest.mark.timeout(60)
def test_cli_refuses_bad_numbers_and_non_utf8_files(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(f'[store]\nurl = "sqlite:///{tmp_path}/p.db"\n')
    added = parley(tmp_path, "participants", "add", "--phone", "12345")
    assert added.returncode == 1 and "Traceback" not in added.stderr
    assert "--add:1: phone '12345' is not a valid number for region GB" in added.stderr
    latin1 = (HEADER + "Ann,07700 900123,,,,,\nZoë,07700 900124,,,,,\n").encode("cp1252")
    (tmp_path / "people.csv").write_bytes(latin1)
    imported = parley(tmp_path, "participants", "import", str(tmp_path / "people.csv"))
    assert imported.returncode == 1 and "Traceback" not in imported.stderr
    assert f"{tmp_path / 'people.csv'}:3: this file is not UTF-8" in imported.stderr
    assert "CSV UTF-8" in imported.stderr
    assert parley(tmp_path, "participants", "list", "--json").stdout.strip() == ""

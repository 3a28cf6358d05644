"""The command line as people and scripts use it: exit codes, JSON, help (in-process,
``tests/cli_inprocess.py``; the console script itself is smoke-tested in test_cli_edges)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_inprocess import Ran, run_cli
from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(120)


def parley(*args: str, cwd: Path | None = None) -> Ran:
    return run_cli(*args, cwd=cwd or ROOT)


def test_simulate_ons4_sms_json_matches_the_contract() -> None:
    long_reply = "x" * 2000
    result = parley("simulate", "ons4", "--channel", "sms", "--reply", "eleven", "--reply",
                    "-1", "--reply", "😀", "--reply", "5", "--reply", long_reply, "--reply",
                    "6", "--reply", "7", "--reply", "8", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(r) == {"text", "choices", "encoding", "segments"} for r in rows)
    texts = [r["text"] for r in rows]
    questions = [t.split("\n")[0] for t in texts if t.startswith(("Overall", "On a scale"))]
    assert questions == [
        "Overall, how satisfied are you with your life nowadays?",
        "Overall, to what extent do you feel that the things you do in your life are worthwhile?",
        "Overall, how happy did you feel yesterday?",
        "On a scale where 0 is 'not at all anxious' and 10 is 'completely anxious', overall, "
        "how anxious did you feel yesterday?",
    ]
    reprompts = [t for t in texts if t.startswith("Sorry, I need a number from 0 to 10")]
    assert len(reprompts) == 4  # eleven, -1, the emoji and the 2,000-character reply
    for row in rows:
        assert row["encoding"] == "GSM-7" and row["segments"] == 1
    assert rows[1]["text"].endswith("Reply 0 to 10 (0 = not at all, 10 = completely), or SKIP")
    assert rows[1]["choices"][0] == "0" and rows[1]["choices"][-1] == "10"


def test_simulate_telegram_has_buttons_and_no_segments() -> None:
    result = parley("simulate", "endorsement", "--channel", "telegram", "--json",
                    "--var", "finding_title=Fees", "--var", "finding_text=Fees hurt.")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    # on Telegram the finding and its question travel as one message (delivery.bundle)
    assert rows[0]["text"] == ("Draft finding: Fees\nFees hurt.\n\n"
                               "Do you agree with this draft finding?")
    assert rows[0]["choices"] == ["Agree", "Partly agree", "Disagree"]
    assert rows[0]["encoding"] is None and rows[0]["segments"] is None


def test_simulate_reports_encoding_for_ucs2() -> None:
    result = parley("simulate", "feedback", "--channel", "sms", "--locale", "cy", "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["text"].startswith("Sut oedd cymryd rhan i chi?")
    assert rows[0]["encoding"] in ("GSM-7", "UCS-2")


def test_simulate_bad_input_is_one_line_and_nonzero() -> None:
    for args, message in [(("simulate", "nope", "--channel", "sms"), "no flow called 'nope'"),
                          (("simulate", "ons4", "--channel", "fax"), "--channel must be"),
                          (("simulate", "ons4", "--locale", "fr"), "locale 'fr'")]:
        result = parley(*args)
        assert result.returncode != 0
        assert message in result.stderr and "Traceback" not in result.stderr


def test_flows_validate_ok_and_broken(tmp_path: Path) -> None:
    ok = parley("flows", "validate")
    shipped = len(list((ROOT / "flows").glob("*.toml")))
    assert ok.returncode == 0 and f"{shipped} flow file(s) OK" in ok.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text('schema_version = 1\nid = "b"\ntitle = "B"\nstart = "a"\n\n'
                      '[nodes.a]\ntype = "ask"\ntext = "x.y"\nanswer = { kind = "stars" }\n'
                      'next = "a"\n')
    result = parley("flows", "validate", str(broken))
    assert result.returncode == 1
    assert f"{broken}:9: nodes.a.answer.kind: unknown kind 'stars'" in result.stdout


def test_bad_config_is_reported_with_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[project]\nname = "X"\n\n[schedule]\ntimezone = "Mars/Olympus"\n')
    result = parley("flows", "validate", "--config", str(cfg))
    assert result.returncode != 0
    assert f"{cfg}:5: [schedule] timezone: unknown time zone 'Mars/Olympus'" in result.stderr
    missing = parley("flows", "validate", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode != 0 and "config file not found" in missing.stderr


def test_flows_cost_lists_segments() -> None:
    result = parley("flows", "cost", "ons4", "--channel", "sms")
    assert result.returncode == 0, result.stderr
    assert "satisfaction" in result.stdout and "GSM-7" in result.stdout


def test_demo_runs_a_cycle_in_seconds(tmp_path: Path) -> None:
    result = parley("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for expected in ["Which language would you like?", "Do you agree to take part",
                     "Overall, how satisfied are you with your life nowadays?",
                     "Draft finding:", "How did taking part feel", "What Parley stored"]:
        assert expected in out
    assert not list(tmp_path.iterdir())  # the demo leaves nothing behind


def test_every_command_has_help() -> None:
    for args in [(), ("simulate",), ("chat",), ("demo",), ("serve",), ("flows", "validate"),
                 ("flows", "cost"), ("participants", "import"), ("participants", "invite")]:
        result = parley(*args, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, args

"""``parley flows validate`` with WhatsApp on: every business-initiated message without a
template is named (``file:line: warning: …``), and none once templates cover them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.whatsapp_coverage import for_round
from bot.config import load_config
from bot.runtime import load_content
from tests.conftest import ROOT
from tests.test_cli import parley

pytestmark = pytest.mark.timeout(120)


def config(folder: Path, templates: dict[str, str]) -> Path:
    rows = "\n".join(f'"{k}" = "{v}"' for k, v in templates.items())
    path = folder / "config.toml"
    path.write_text(f"""
[project]
locales = ["en"]
flows_dir = "{ROOT / 'flows'}"
templates_dir = "{ROOT / 'templates'}"
[whatsapp]
from_number = "+447700900555"
[whatsapp.templates]
{rows}
""", encoding="utf-8")
    return path


def test_flows_validate_names_each_message_that_has_no_template(tmp_path: Path) -> None:
    result = parley("flows", "validate", "--config",
                    str(config(tmp_path, {"ons4.invite": "HX1"})))
    assert result.returncode == 0, result.stdout  # warnings, not errors
    lines = result.stdout.splitlines()
    ons4 = str(ROOT / "flows" / "ons4.toml")
    assert not any(line.startswith(ons4) for line in lines)  # ons4.invite covers all
    consent = str(ROOT / "flows" / "consent.toml")
    assert any(line.startswith(f"{consent}:") and "the introduction" in line
               and "'system.intro'" in line for line in lines)  # one locale: consent first
    assert any("feedback: a reminder has no WhatsApp template: add one of "
               "'feedback.reminder', 'feedback.invite'" in line for line in lines)
    assert not any("onboarding" in line for line in lines)  # inside the window


def test_a_round_fully_covered_reports_nothing(tmp_path: Path) -> None:
    cfg = load_config(config(tmp_path, {"system.intro": "HX1", "ons4.intro": "HX2",
                                        "ons4.reminder": "HX3", "ons4.nudge_check": "HX4"}))
    _, library = load_content(cfg)
    flows = {f: library.get(f) for f in ("ons4", "consent")}
    assert for_round(cfg, flows, "ons4", reminders=True) == []
    partial = load_config(config(tmp_path, {"system.intro": "HX1"}))
    assert [m.what for m in for_round(partial, flows, "ons4", reminders=False)] == [
        "ons4: its first message", "ons4.nudge_check (sent when satisfaction has no reply)"]

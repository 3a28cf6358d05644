"""What Parley's own words cost by SMS: every system message of the default flows is one
GSM-7 segment in English (or its flow file says why, ``sms_long``); the Welsh draft stays
within two; segment counts agree with DESIGN §5 and with the ``gsm0338`` codec."""

from __future__ import annotations

from pathlib import Path

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Config
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.sms_check import (
    completion_segments,
    main_path,
    message_costs,
    sms_problems,
    system_costs,
    system_problems,
)
from bot.text.render import sms_bodies
from bot.text.sms_encoding import measure
from bot.text.toml_positions import key_lines
from tests.conftest import PROJECT, ROOT

FLOWS = sorted(p.stem for p in (ROOT / "flows").glob("*.toml"))
PROJECTS = {"defaults": Config().project_data(), "sample": PROJECT}
TELEGRAM_ONLY = {"system.answered", "system.delete_button", "system.keep_button",
                 "system.mydata"}
"""Telegram's button labels and its /mydata reply: never sent by SMS. (Better kept in a
templates/<locale>/telegram.toml of their own, so this list can go.)"""
WELSH_MAX_SEGMENTS = 2
"""The Welsh draft may need a second segment (longer words; UCS-2 once ŵ/ŷ/â appear)."""


@pytest.mark.parametrize("flow_id", FLOWS)
@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_every_flow_message_is_one_gsm7_segment_in_english(
        library: FlowLibrary, renderer: Renderer, flow_id: str, project: str) -> None:
    file = ROOT / "flows" / f"{flow_id}.toml"
    lines = key_lines(file.read_text(encoding="utf-8"))
    problems = sms_problems(library.get(flow_id), str(file), lines, renderer, "en",
                            PROJECTS[project], require_gsm=True)
    assert [str(p) for p in problems] == []


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_every_system_message_is_one_gsm7_segment_in_english(
        renderer: Renderer, project: str) -> None:
    problems = system_problems(ROOT / "templates", renderer, "en", PROJECTS[project],
                               require_gsm=True, skip=TELEGRAM_ONLY)
    assert [str(p) for p in problems] == []


def test_nodes_allowed_to_be_long_say_why(library: FlowLibrary) -> None:
    long_nodes = {(f, n) for f in FLOWS for n, node in library.get(f).nodes.items()
                  if node.sms_long is not None}
    assert long_nodes == {("endorsement", "finding"),  # the finding's own words
                          ("budget", "choose"), ("budget_points", "share"),  # the projects
                          ("budget_result", "result"), ("shareback", "heard"),
                          ("vote_result", "result"),
                          *(("statements", f"s{n}") for n in range(1, 6)),  # their words
                          # the CFPB's statements, whose wording may not change
                          ("cfpb_fwb5", "never_have"), ("cfpb_fwb5", "wont_last"),
                          *(("cfpb_fwb10", n) for n in ("unexpected", "never_have", "enjoy",
                                                        "wont_last", "gift_strain"))}
    assert all(len(library.get(f).nodes[n].sms_long or "") > 20 for f, n in long_nodes)


def test_welsh_draft_stays_within_two_segments(library: FlowLibrary,
                                               renderer: Renderer) -> None:
    report = {key: segments for key, _, segments, _ in
              system_costs(ROOT / "templates", renderer, "cy", PROJECT)
              if key not in TELEGRAM_ONLY}
    for flow_id in FLOWS:
        flow = library.get(flow_id)
        for node, _, segments, _ in message_costs(flow, renderer, "cy", PROJECT):
            if flow.nodes[node].sms_long is None:
                report[f"{flow_id}.{node}"] = segments
    over = {key: n for key, n in report.items() if n > WELSH_MAX_SEGMENTS}
    assert over == {}
    assert system_problems(ROOT / "templates", renderer, "cy", PROJECT,
                           max_segments=WELSH_MAX_SEGMENTS, skip=TELEGRAM_ONLY) == []
    two = sorted(key for key, n in report.items() if n == 2)
    assert len(two) <= 3, two  # at the time of writing: onboarding.payment only


def test_main_path_and_completion_cost(library: FlowLibrary, renderer: Renderer) -> None:
    ons4 = library.get("ons4")
    assert main_path(ons4) == ["intro", "satisfaction", "worthwhile", "happy", "anxious",
                               "thanks"]  # the no-reply reminder is not on it
    assert completion_segments(ons4, renderer, "en", PROJECT) == 6
    finding = "word " * 120
    long_cost = completion_segments(library.get("endorsement"), renderer, "en", PROJECT,
                                    {"finding_title": "T", "finding_text": finding})
    short_cost = completion_segments(library.get("endorsement"), renderer, "en", PROJECT)
    assert long_cost > short_cost  # the finding's parts are counted


def test_flows_cost_command_reports_the_main_path() -> None:
    result = CliRunner().invoke(app, ["flows", "cost", "ons4", "--channel", "sms"])
    assert result.exit_code == 0, result.output
    assert ("Full completion (intro → satisfaction → worthwhile → happy → anxious → thanks): "
            "6 segments") in result.output


# Tricky strings (DESIGN §5): (text, encoding, segments)
TRICKY = [
    ("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2), ("a" * 307, "GSM-7", 3),
    ("ж" * 70, "UCS-2", 1), ("ж" * 71, "UCS-2", 2),
    ("€" * 80, "GSM-7", 1), ("€" * 81, "GSM-7", 2),
    ("[" * 80, "GSM-7", 1), ("^{}\\[~]|€" * 10, "GSM-7", 2),
    ("a" * 159 + "{", "GSM-7", 2),
    ("It’s “fine”", "UCS-2", 1), ("a" * 69 + "’", "UCS-2", 1), ("a" * 70 + "’", "UCS-2", 2),
    ("😀" * 35, "UCS-2", 1), ("😀" * 36, "UCS-2", 2), ("Hi 👋", "UCS-2", 1),
    ("Dŵr ŷd", "UCS-2", 1), ("café £5 @ 10:00", "GSM-7", 1),
]


@pytest.mark.parametrize(("text", "encoding", "segments"), TRICKY)
def test_segments_agree_with_design_and_gsm0338(text: str, encoding: str,
                                                segments: int) -> None:
    info = measure(text)
    assert (info.encoding, info.segments) == (encoding, segments)
    if encoding == "GSM-7":
        assert info.units == len(text.encode("gsm03.38"))  # septets, escapes counted twice
    else:
        assert info.units == len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(("system_text", "sent", "segments"), [
    ("It’s “fine” – really…", 'It\'s "fine" - really...', 1),
    ("Thanks! 🎉", "Thanks!", 1),
    ("a" * 150 + " 🙂 ’", "a" * 150 + " '", 1),
])
def test_system_text_is_sanitised_before_counting(system_text: str, sent: str,
                                                  segments: int) -> None:
    [body] = sms_bodies({"plain": system_text})
    assert (body.text, body.encoding, body.segments) == (sent, "GSM-7", segments)


def test_docs_describe_the_sms_channel() -> None:
    text = (Path(ROOT) / "docs" / "sms.md").read_text(encoding="utf-8")
    for topic in ("provider_handles_opt_out", "validity_period", "segments", "STOP"):
        assert topic in text

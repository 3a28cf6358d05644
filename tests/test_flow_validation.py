"""One test per kind of flow error, each pinning the exact line a coordinator must edit."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.errors import FlowError, Problem
from bot.flows.loader import FlowLibrary, load_flow_file, validate_source
from bot.flows.migrations import migrate
from bot.i18n.renderer import Renderer

HEAD = """\
schema_version = 1
id = "t"
title = "Test"
start = "a"
"""
ASK = """\
[nodes.a]
type = "ask"
text = "t.a"
answer = { kind = "yes_no" }
save_as = "ok"
next = "done"
"""
END = """\
[nodes.done]
type = "end"
"""


def problems(source: str, renderer: Renderer | None = None,
             locales: tuple[str, ...] = ()) -> list[Problem]:
    flow, found = validate_source(textwrap.dedent(source), "t.toml", renderer, locales)
    assert flow is None, "expected the flow to be rejected"
    return found


def only(source: str, **kw: object) -> Problem:
    found = problems(source, **kw)  # type: ignore[arg-type]
    assert len(found) == 1, found
    return found[0]


def test_valid_flow_loads() -> None:
    flow, found = validate_source(HEAD + ASK + END, "t.toml")
    assert found == [] and flow is not None and flow.id == "t"


def test_toml_syntax_error_reports_its_line() -> None:
    p = only(HEAD + ASK + "[nodes.done\ntype = 'end'\n")
    assert p.line == 11 and "TOML syntax" in p.message


def test_missing_schema_version() -> None:
    p = only(ASK + END)
    assert p.line == 1 and "schema_version" in p.message


def test_newer_schema_version_points_at_the_key() -> None:
    p = only("title = 'x'\nschema_version = 99\n" + ASK + END)
    assert p.line == 2 and "upgrade Parley" in p.message


def test_unknown_node_type_points_at_type_key() -> None:
    p = only(HEAD + ASK + "[nodes.done]\n\ntype = \"finish\"\n")
    assert p.line == 13 and "unknown type 'finish'" in p.message


def test_unknown_key_points_at_the_key() -> None:
    p = only(HEAD + ASK.replace('save_as = "ok"', 'saveas = "ok"') + END)
    assert p.line == 9 and "unknown key 'saveas'" in p.message


def test_missing_required_key_points_at_the_node() -> None:
    p = only(HEAD + ASK.replace('answer = { kind = "yes_no" }\n', "") + END)
    assert p.line == 5 and "missing required key 'answer'" in p.message


def test_bad_answer_kind_inside_inline_table() -> None:
    p = only(HEAD + ASK.replace('kind = "yes_no"', 'kind = "stars"') + END)
    assert p.line == 8 and "unknown kind 'stars'" in p.message


def test_scale_with_max_below_min() -> None:
    src = HEAD + ASK.replace('{ kind = "yes_no" }', '{ kind = "scale", min = 5, max = 1 }') + END
    p = only(src)
    assert p.line == 8 and "greater than min" in p.message


def test_unknown_next_node() -> None:
    p = only(HEAD + ASK.replace('next = "done"', 'next = "dnoe"') + END)
    assert p.line == 10 and "unknown node 'dnoe'" in p.message


def test_unknown_node_in_a_multiline_condition_list() -> None:
    src = HEAD + ASK.replace('next = "done"', textwrap.dedent("""\
        next = { when = [
          { if = "ok == true", go = "done" },
          { if = "ok == false", go = "nowhere" },
        ], else = "done" }""")) + END
    p = only(src)
    assert p.line == 12 and "unknown node 'nowhere'" in p.message


def test_bad_expression_points_at_its_condition() -> None:
    src = HEAD + ASK.replace('next = "done"', textwrap.dedent("""\
        next = { when = [
          { if = "ok == true", go = "done" },
          { if = "ok ==", go = "done" },
        ], else = "done" }""")) + END
    p = only(src)
    assert p.line == 12 and "expected a value" in p.message


def test_expression_over_unknown_field() -> None:
    src = HEAD + ASK.replace('next = "done"',
                             'next = { when = [ { if = "mood > 3", go = "done" } ], '
                             'else = "done" }') + END
    p = only(src)
    assert p.line == 10 and "unknown field 'mood'" in p.message


def test_unreachable_node_points_at_its_header() -> None:
    p = only(HEAD + ASK + END + "\n[nodes.orphan]\ntype = \"end\"\n")
    assert p.line == 14 and "never be reached" in p.message


def test_dead_end_loop_without_an_end() -> None:
    src = HEAD + ASK.replace('next = "done"', 'next = "b"') + END + textwrap.dedent("""\
        [nodes.b]
        type = "say"
        text = "t.b"
        next = "a"
        """)
    found = problems(src)
    messages = {(p.line, p.message.split(":")[0]) for p in found}
    assert (5, "node 'a' is a dead end") in messages
    assert (13, "node 'b' is a dead end") in messages
    assert any("never be reached" in p.message and p.line == 11 for p in found)


def test_duplicate_node_id_is_reported_on_the_second_declaration() -> None:
    p = only(HEAD + ASK + END + "[nodes.a]\ntype = \"end\"\n")
    assert p.line == 13 and "TOML syntax" in p.message


def test_duplicate_flow_id_across_files(tmp_path: Path) -> None:
    (tmp_path / "one.toml").write_text(HEAD + ASK + END)
    (tmp_path / "two.toml").write_text("# second copy\n" + HEAD + ASK + END)
    with pytest.raises(FlowError) as info:
        FlowLibrary.from_dir(tmp_path)
    (p,) = info.value.problems
    assert p.file.endswith("two.toml") and p.line == 3 and "already used" in p.message


def test_duplicate_option_values() -> None:
    src = HEAD + ASK.replace('{ kind = "yes_no" }', textwrap.dedent("""\
        { kind = "choice", options = [
          { value = "a", label = "A" },
          { value = "a", label = "B" },
        ] }""")) + END
    p = only(src)
    assert p.line == 8 and "duplicate option value" in p.message


def test_field_saved_with_two_kinds() -> None:
    src = HEAD + ASK.replace('next = "done"', 'next = "b"') + textwrap.dedent("""\
        [nodes.b]
        type = "ask"
        text = "t.b"
        answer = { kind = "number" }
        save_as = "ok"
        next = "done"
        """) + END
    p = only(src)
    assert p.line == 15 and "saved as number here but as yes_no" in p.message


def test_bad_timeout_duration() -> None:
    src = HEAD + ASK.replace('next = "done"',
                             'next = "done"\ntimeout = { after = "soon", next = "done" }') + END
    p = only(src)
    assert p.line == 11 and "not a duration" in p.message


def test_missing_template_in_an_enabled_locale() -> None:
    renderer = Renderer({"en": {"t.a": "Question?", "system.yes": "Yes", "system.no": "No"},
                         "cy": {"system.yes": "Ie", "system.no": "Na"}})
    found = problems(HEAD + ASK + END, renderer=renderer, locales=("en", "cy"))
    assert [(p.line, p.message) for p in found] == [
        (7, "template 't.a' is missing for locale 'cy'")]


def test_unreadable_file_is_a_flow_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("title = '\xe9'".encode("latin-1"))
    with pytest.raises(FlowError) as info:
        load_flow_file(path)
    assert "cannot read" in str(info.value)


def test_migration_from_schema_0() -> None:
    """Version 0 wrote `prompt` and plain-string options; they load as version 1."""
    data = {"schema_version": 0, "nodes": {"a": {"type": "ask", "prompt": "t.a",
            "answer": {"kind": "choice", "options": ["Very good", "Bad"]}}}}
    migrated = migrate(data)
    assert migrated["schema_version"] == 1
    node = migrated["nodes"]["a"]
    assert node["text"] == "t.a" and "prompt" not in node
    assert node["answer"]["options"] == [{"value": "very_good", "label": "Very good"},
                                         {"value": "bad", "label": "Bad"}]
    source = textwrap.dedent("""\
        schema_version = 0
        id = "old"
        title = "Old"
        start = "a"
        [nodes.a]
        type = "ask"
        prompt = "t.a"
        answer = { kind = "choice", options = ["Yes", "No"] }
        next = "done"
        [nodes.done]
        type = "end"
        """)
    flow, found = validate_source(source, "old.toml")
    assert found == [] and flow is not None
    assert flow.nodes["a"].text == "t.a"  # type: ignore[union-attr]


def test_shipped_flows_validate_in_every_locale(library: FlowLibrary) -> None:
    assert set(library.ids) >= {"language", "consent", "onboarding", "ons4", "endorsement",
                                "feedback", "priorities", "vote", "points", "budget",
                                "budget_points", "budget_result", "agenda",
                                "statements", "shareback", "vote_result", "cfpb_fwb5",
                                "cfpb_fwb10", "ons_loneliness", "event_rsvp",
                                "event_reminder"}

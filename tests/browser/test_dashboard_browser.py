"""The coordinator dashboard in a real browser, against a real ``parley serve`` process
whose channels point at the local Telegram and Twilio fakes.

Tests run in file order and share one server: the round test changes the project, the
erasure test runs last. Each takes screenshots of the pages it visits; with
``pytest --update-screenshots`` they replace docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SMS_FROM, Project, has_module, log_in, shot
from tests.browser.seed import BASELINE, END, ERASE_NAME, PEOPLE, Person
from tests.fakes.telegram_api import make_text_update
from tests.fakes.twilio_api import inbound_sms_form

pytestmark = pytest.mark.timeout(120)


def test_anonymous_dashboard_requests_go_to_the_login_page(page: Page) -> None:
    for path in ("/admin/", "/admin/rounds", "/admin/participants/p01",
                 "/admin/credits/batches/B1.csv", "/admin/anything/else"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/admin/login\?next="))
        expect(page.get_by_role("heading", name="Coordinator login")).to_be_visible()
    shot(page, "login", full=False)
    page.get_by_label("Email").fill("coordinator@example.org")
    page.get_by_label("Password").fill("a wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.get_by_label("Password").fill("a long dashboard password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/anything/else$"))  # where they were going


def test_a_forged_csrf_token_is_refused(page: Page, project: Project) -> None:
    log_in(page)
    page.goto("/admin/participants/p02")
    page.get_by_label("Type p02 to confirm").fill("p02")
    page.eval_on_selector_all("input[name=csrf]", "els => els.forEach(e => e.value = 'forged')")
    with page.expect_response(re.compile(r"/erase$")) as answer:
        page.get_by_role("button", name="Erase this participant").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="Refused")).to_be_visible()
    page.goto("/admin/participants/p02")
    expect(page.get_by_role("heading", name="Ben")).to_be_visible()  # not erased
    # and a cross-site form post (no token at all) is refused the same way
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = httpx.post(f"{project.url}/admin/participants/p02/erase", data={"confirm": "p02"},
                        cookies=cookies, follow_redirects=False)
    assert forged.status_code == 403


def test_overview_results_participants_and_simulator(page: Page) -> None:
    log_in(page)
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    channels = page.locator("#channels")
    expect(channels.get_by_role("row", name=re.compile("SMS"))).to_contain_text("1")
    expect(page.locator("#cohorts")).to_contain_text("north")
    expect(page.locator("#cohorts")).to_contain_text(re.compile("over-represented|"
                                                                "under-represented|on target"))
    shot(page, "overview")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.reload()
    expect(page.get_by_role("navigation", name="Dashboard sections")).to_be_visible()
    shot(page, "overview-phone", full=False)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Results").first.click()
    page.get_by_role("link", name="Wellbeing check-in (ONS4)").click()
    paired = page.locator("#paired")
    expect(paired).to_contain_text("life_satisfaction")
    expect(paired.get_by_role("row", name=re.compile("life_satisfaction"))).to_contain_text(
        "11")  # people who answered both baseline and end
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert {r["round_label"] for r in rows} == {"baseline", "end"}
    shot(page, "results")

    page.goto("/admin/participants")
    table = page.locator("#participants")
    expect(table).to_contain_text("tel:+44•••••••103")
    expect(table).not_to_contain_text("+447700900103")
    page.get_by_label("Search").fill("wales")
    page.get_by_role("button", name="Search").click()
    expect(table.locator("tbody tr")).to_have_count(4)
    shot(page, "participants")

    page.goto("/admin/simulator")
    page.get_by_label("Flow").select_option("ons4")
    page.get_by_label("SMS, plain text with segment counts").check()
    page.get_by_role("button", name="Start", exact=True).click()
    screen = page.get_by_role("log", name="Conversation")
    expect(screen).to_contain_text("how satisfied are you with your life")
    expect(screen).to_contain_text(re.compile(r"GSM-7 · 1 segment"))
    reply = page.get_by_label("Your reply")
    reply.fill("€" * 81)  # 162 septets: two segments, counted live as it is typed
    expect(page.locator("#typed-count")).to_have_text("81 characters · GSM-7 · 2 segments")
    reply.fill("7")
    page.get_by_role("button", name="Send").click()
    expect(screen).to_contain_text("worthwhile")
    shot(page, "simulator")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label("Telegram, with buttons").check()
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="7", exact=True).click()
    expect(screen).to_contain_text("worthwhile")
    page.goto("/admin/simulator")
    page.get_by_role("log", name="Conversation").scroll_into_view_if_needed()
    shot(page, "simulator-phone", full=False)


needs_delivery = pytest.mark.skipif(
    not (has_module("bot.scheduler.job")
         and (has_module("bot.channels.telegram") or has_module("bot.channels.sms"))),
    reason="needs the scheduler and at least one channel (issues 4, 5 and 6)")


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def reply(project: Project, person: Person, text: str, n: int) -> None:
    """``person`` sends ``text`` from their phone, through the channel's real webhook."""
    if person.address.startswith("telegram:"):
        chat = int(person.address.split(":")[1])
        project.post_telegram(make_text_update(20_000 + n, chat, text, message_id=20_000 + n))
    else:
        assert project.twilio is not None
        project.post_twilio("/sms/inbound", inbound_sms_form(
            person.address[4:], SMS_FROM, text, sid=f"SM{n:032x}",
            account_sid=project.twilio.account_sid))


@needs_delivery
def test_round_progress_endorsement_summary_and_payout_csv(page: Page,
                                                           project: Project) -> None:
    channels = {"telegram:": project.telegram is not None, "tel:": project.twilio is not None}
    reachable = [p for p in PEOPLE if not p.opted_out and not p.unreachable
                 and channels[p.address.split(":")[0] + ":"]]
    log_in(page)
    page.goto("/admin/rounds")
    page.get_by_label("Flow", exact=True).select_option("endorsement")
    page.get_by_label(re.compile("^Finding")).select_option("F1.2")
    page.get_by_label("Remind after").fill("2d")
    page.get_by_role("button", name="Create draft round").click()
    expect(page.get_by_role("heading", name=re.compile(r"Round r\d+: endorsement"))
           ).to_be_visible()
    expect(page.get_by_text(re.compile(r"If started now: \d+ people"))).to_be_visible()
    shot(page, "round-draft")
    page.get_by_role("button", name="Start round").click()
    expect(page.get_by_role("status")).to_contain_text("Started")
    expect(page.locator("#count-targeted")).to_have_text(str(len(PEOPLE)))
    # the scheduler sends, the fakes accept, and the page's polling shows it
    expect(page.locator("#count-sent")).to_have_text(str(len(reachable)), timeout=30_000)
    delivered = page.locator("#count-delivered")
    on_telegram = [p for p in reachable if p.address.startswith("telegram:")]
    expect(delivered).to_have_text(str(len(on_telegram)))  # Telegram: accepted = delivered
    if project.twilio is not None:
        for message in list(project.twilio.messages):
            project.post_twilio("/sms/status",
                                project.twilio.status_callback_form(message["sid"], "delivered"))
        expect(delivered).to_have_text(str(len(reachable)))
        on_sms = len(reachable) - len(on_telegram)
        expect(page.locator('[data-count="by_channel.sms.delivered"]')).to_have_text(str(on_sms))
    # nobody has answered yet: remind them all now (the open question is asked again)
    sent_before = len(project.twilio.messages) if project.twilio is not None else 0
    page.get_by_role("button", name="Remind now").click()
    waiting = [p for p in PEOPLE if not p.opted_out and not p.unreachable]
    expect(page.get_by_role("status")).to_contain_text(f"Reminder sent to {len(waiting)} people")
    if project.twilio is not None:
        on_sms = [p.address[4:] for p in reachable if p.address.startswith("tel:")]
        wait_for(lambda: len(project.twilio.messages) >= sent_before + 2 * len(on_sms),
                 "the reminders to reach the SMS fake")
        assert "reminder" in project.twilio.sent_to(on_sms[0])[-2]["body"].lower()
    # three people answer from their phones: agree, partly (amending it), disagree
    answers = [("agree", "Yes, and debt recovery rates too.", "name me"),
               ("partly", "Mention that top-up shops close early.", "anon"),
               ("no", "It is the standing charge that matters most.", "name me")]
    responders = reachable[:3]
    n = 0
    for person, words in zip(responders, answers, strict=True):
        for text in words:
            n += 1
            reply(project, person, text, n)
    expect(page.locator("#count-completed")).to_have_text("3", timeout=20_000)
    expect(page.locator("#count-started")).to_have_text("3")
    shot(page, "round-progress")

    page.goto("/admin/findings/F1.2")
    summary = page.locator("#version-2 .endorsement-summary")
    expect(summary).to_contain_text("1 agree · 1 partly agree · 1 disagree")
    version = page.locator("#version-2")
    expect(version).to_contain_text("Mention that top-up shops close early.")
    expect(version.locator(".you-said")).to_contain_text("top-up shops charge a fee")
    expect(version).to_contain_text(responders[0].name.split()[0])  # a named co-author
    shot(page, "findings")

    page.goto("/admin/credits")
    page.get_by_role("button", name="Make payout batch").click()
    expect(page.get_by_role("status")).to_contain_text("Batch")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").first.click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    paid = {r["participant_id"]: r["credits"] for r in rows}
    first = responders[0].pid
    assert paid[first] == ("13" if first in BASELINE and first in END else "3")
    assert "p06" not in paid  # declined payment: participation recorded, nothing paid
    shot(page, "credits")
    page.goto("/admin/")  # the overview again, with a round under way
    expect(page.locator("#current-h + p")).to_contain_text("endorsement")
    shot(page, "overview")


def test_an_erased_participant_disappears_from_every_page_and_export(
        page: Page, project: Project) -> None:
    log_in(page)
    page.goto("/admin/participants?q=Pryce")
    page.get_by_role("link", name="Morgan", exact=True).click()
    pid = page.url.rstrip("/").rsplit("/", 1)[1]
    page.get_by_label(f"Type {pid} to confirm").fill(pid)
    page.get_by_role("button", name="Erase this participant").click()
    expect(page.get_by_role("status")).to_contain_text("erased")
    pages = ["/admin/", "/admin/rounds", "/admin/findings", "/admin/findings/F1",
             "/admin/findings/F1.2", "/admin/results", "/admin/results/ons4",
             "/admin/results/ons4?label=baseline", "/admin/participants",
             "/admin/participants?q=morgan&reveal=1", "/admin/credits", "/admin/audit"]
    for path in pages:
        page.goto(path)
        body = page.content()
        assert ERASE_NAME not in body and "Pryce" not in body, path
        assert "900113" not in body, path
        assert f'href="/admin/participants/{pid}"' not in body, path
    assert page.goto(f"/admin/participants/{pid}").status == 404  # type: ignore[union-attr]
    request = page.context.request
    for path in ("/admin/results/ons4/export.csv", "/admin/results/ons4/export.csv?label=end",
                 f"/admin/participants/{pid}/export.json"):
        answer = request.get(path)
        assert pid not in answer.text() and "Pryce" not in answer.text(), path
    for batch in re.findall(r'href="(/admin/credits/batches/[^"]+\.csv)"',
                            request.get("/admin/credits").text()):
        text = request.get(batch).text()
        assert pid not in text and "Pryce" not in text and "900113" not in text

"""The dashboard on a 390 px phone: the overview (and the inbox) fit the screen's width,
so nothing needs sideways scrolling of the whole page (a wide table may scroll inside
its own box)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import log_in

pytestmark = pytest.mark.timeout(120)
PHONE = {"width": 390, "height": 844}


def overflow(page: Page) -> list[str]:
    """Elements sticking out past the right edge of the viewport."""
    found: list[str] = page.evaluate("""() => {
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            const scroller = el.parentElement && el.parentElement.closest('.table-wrap');
            if (box.right > 391 && !scroller) {
                out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                         + (el.className ? '.' + el.className : '') + ' ' + Math.round(box.right));
            }
        }
        return out;
    }""")
    return found


def test_overview_and_inbox_fit_a_phone(page: Page) -> None:
    log_in(page)
    page.set_viewport_size(PHONE)
    for path in ("/admin/", "/admin/attention"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width, overflow(page)[:8])

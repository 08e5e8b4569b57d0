"""axe-core on every page of the running demo: serious or critical violations fail the test.

axe-core comes from the npm registry (tests/e2e/js, installed by `make jsdeps`) and is injected
into the page after its live data has arrived, so the check sees what a supervisor sees, not an
empty placeholder page. The stale state is checked too: greyed numbers must stay readable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.demo_stack import Demo, log_in

AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def _violations(page: Page) -> list[dict[str, Any]]:
    assert AXE.exists(), f"{AXE} is missing: run `make jsdeps`"
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does
    # not govern: a <script> tag with axe inline would be refused (dashboard/csp.py).
    page.evaluate(AXE.read_text())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
    }""")
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def _assert_accessible(page: Page) -> None:
    violations = _violations(page)
    assert not violations, json.dumps(violations, indent=2)


def test_the_login_page_has_no_serious_accessibility_violations(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/login/")
    _assert_accessible(page)


# /agents/5/: the agent page, with its live panel and (superuser) every action.
@pytest.mark.parametrize("path", ["/", "/agents/", "/alerts/", "/agents/5/"])
def test_each_live_page_has_no_serious_accessibility_violations(page: Page, demo: Demo,
                                                                path: str) -> None:
    log_in(page, demo)
    page.goto(demo.url + path)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)
    _assert_accessible(page)


# The other platforms' pages (docs/integrations.md), filled by the demo's fakes.
@pytest.mark.parametrize("path", ["/integrations/", "/crm/ccai/lookup?email=james.bond@agents.co",
                                  "/ccai/sessions/"])
def test_the_integration_pages_have_no_serious_accessibility_violations(
        page: Page, demo: Demo, path: str) -> None:
    log_in(page, demo)
    if path == "/ccai/sessions/":
        # A CCAI session page, once the demo's fake tenant has had one read.
        for _ in range(30):
            page.goto(demo.url + "/search/?q=Moneypenny")
            link = page.locator('a[href^="/ccai/sessions/"]')
            if link.count():
                path = str(link.first.get_attribute("href"))
                break
            page.wait_for_timeout(3_000)
    page.goto(demo.url + path)
    expect(page.locator("h1")).not_to_be_empty()
    _assert_accessible(page)


@pytest.mark.parametrize("path", ["/search/?q=a", "/search/?q=agent"])
def test_the_search_page_has_no_serious_accessibility_violations(page: Page, demo: Demo,
                                                                 path: str) -> None:
    log_in(page, demo)
    page.goto(demo.url + path)
    expect(page.locator("#search-results")).not_to_be_empty()
    _assert_accessible(page)


def test_a_session_page_has_no_serious_accessibility_violations(page: Page, demo: Demo) -> None:
    # A live session from the agents grid (a chat if there is one: its transcript polls).
    log_in(page, demo)
    page.goto(demo.url + "/agents/")
    links = page.locator('#agent-rows a[href^="/sessions/"]')
    expect(links.first).to_be_attached(timeout=15_000)
    chats = page.locator('#agent-rows a[href^="/sessions/"]:has-text("Chat")')
    href = (chats.first if chats.count() else links.first).get_attribute("href")
    assert href is not None
    page.goto(demo.url + href)
    expect(page.locator("#session-summary")).to_be_visible()
    _assert_accessible(page)
    # The header's search panel, open over the page.
    page.fill("#site-search-q", "agent")
    expect(page.locator("#site-search-results a").first).to_be_visible(timeout=10_000)
    _assert_accessible(page)


def test_a_stale_page_stays_readable(page: Page, demo: Demo) -> None:
    # Upstream lost (the hub dropped and refusing): the bridge says so and the page turns
    # stale at once, greying its numbers; they must keep their contrast.
    log_in(page, demo)
    control = demo.simulator + "/_simulator/control"
    httpx.post(control, json={"action": "refuse", "seconds": 60}).raise_for_status()
    httpx.post(control, json={"action": "drop"}).raise_for_status()
    try:
        # Generous: on a loaded CI machine the bridge took over 15 s to hear of the drop.
        expect(page.locator("#live-status")).to_have_attribute("data-state", "stale",
                                                               timeout=45_000)
        expect(page.locator("body")).to_have_class(re.compile(r"\bis-stale\b"))
        _assert_accessible(page)
    finally:
        httpx.post(control, json={"action": "clear"}).raise_for_status()
        # Back to live before the next test, whatever happened above.
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live",
                                                               timeout=60_000)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_wallboard_has_no_serious_accessibility_violations(browser: Browser, demo: Demo,
                                                               theme: str) -> None:
    demo.shell("from dashboard.models import Wallboard; "
               f"Wallboard.objects.update(theme='{theme}')")
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        board = context.new_page()
        board.goto(demo.wallboard)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=30_000)
        _assert_accessible(board)
    finally:
        context.close()


def test_the_check_catches_a_serious_violation(page: Page, demo: Demo) -> None:
    # The checks above pass on a clean page; this proves they would fail on a broken one.
    page.goto(demo.url + "/login/")
    page.evaluate("""() => { const b = document.createElement('button');
        document.querySelector('main').appendChild(b); }""")
    assert "button-name" in {v["id"] for v in _violations(page)}

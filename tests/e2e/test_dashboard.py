"""The demo as a person uses it: `manage.py demo` in its own process, pages in Chromium.

The browser reaches the dashboard through a small TCP proxy of the test's own, so that "the
network goes away" is real: the proxy cuts every connection and refuses new ones for a while.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from tests.e2e.demo_stack import Demo, log_in


def test_a_supervisor_sees_the_simulators_numbers(page: Page, demo: Demo) -> None:
    log_in(page, demo)
    tiles = page.locator(".queue .tile")
    expect(tiles.first).to_be_visible(timeout=5000)
    assert tiles.count() >= 8, "every queue shows a tile per modality"
    answered = page.locator('.queue [data-metric="answeredCount"]').first.inner_text()
    assert answered.isdigit()


def test_a_status_change_in_the_simulator_shows_within_two_seconds(page: Page,
                                                                   demo: Demo) -> None:
    log_in(page, demo)
    page.goto(demo.url + "/agents/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)
    row = page.locator("#agent-7")
    expect(row).to_be_visible()
    demo.set_status(7, 3, 6)
    expect(row).to_contain_text("Personal", timeout=2000)
    demo.set_status(7, 1)
    expect(row).not_to_contain_text("Personal", timeout=2000)


def test_the_page_recovers_from_a_network_outage_and_matches_upstream(page: Page,
                                                                      demo: Demo) -> None:
    log_in(page, demo)
    page.goto(demo.url + "/agents/")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live", timeout=10_000)
    demo.proxy.cut()
    expect(status).not_to_have_attribute("data-state", "live", timeout=5000)
    # While the page is cut off, the upstream moves on.
    demo.set_status(9, 3, 3)
    time.sleep(2)
    demo.proxy.restore()
    expect(status).to_have_attribute("data-state", "live", timeout=20_000)
    expect(page.locator("#agent-9")).to_contain_text("Meeting", timeout=5000)
    demo.set_status(9, 1)


def test_a_wallboard_opens_by_its_token_and_a_revoked_one_is_refused(browser: Browser,
                                                                     demo: Demo) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        board = context.new_page()
        board.goto(demo.wallboard)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=10_000)
        expect(board.locator(".queue .tile").first).to_be_visible()
        token = re.search(r"/wallboard/([^/]+)/", demo.wallboard)
        assert token is not None
        demo.shell("from dashboard import store; from dashboard.models import Wallboard; "
                   f"store.revoke_wallboard(Wallboard.objects.get(token='{token.group(1)}'))")
        response = board.goto(demo.wallboard)
        assert response is not None and response.status == 404
    finally:
        context.close()


def test_the_content_security_policy_is_on_and_catches_an_inline_script(browser: Browser,
                                                                        demo: Demo) -> None:
    # The `page` fixture fails a test on any CSP report; this shows there would be one (its
    # own context, so the report does not fail it).
    context = browser.new_context()
    try:
        page = context.new_page()
        reports: list[str] = []
        page.on("console", lambda message: reports.append(message.text))
        log_in(page, demo)
        assert not [r for r in reports if "Content Security Policy" in r], reports
        page.evaluate("""() => { const s = document.createElement('script');
            s.textContent = 'window.injected = 1'; document.body.appendChild(s); }""")
        page.wait_for_timeout(300)
        assert page.evaluate("window.injected") is None
        assert any("Content Security Policy" in text for text in reports), reports
    finally:
        context.close()

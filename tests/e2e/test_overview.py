"""The overview's queue tiles in Chromium against `manage.py demo`: Clarity's labels, the
sparkline, and a threshold rule an admin adds turning tiles critical on open pages."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.demo_stack import Demo, log_in
from tests.e2e.test_accessibility import AXE, _assert_accessible

# Every queue always has at least 0 waiting, and 0 abandoned: these rules always trigger.
ALWAYS_CRITICAL = ("ThresholdRule.objects.create(name='e2e waiting', metric='queuedCount', "
                   "warning=0, critical=0)")
ALWAYS_WARNING = ("ThresholdRule.objects.create(name='e2e abandoned', metric='abandonedCount', "
                  "warning=0, critical=1e9)")
# The bridge looks for new rules every 10 s; then the widgets go out at once.
RULES_TIMEOUT_MS = 20_000


def _contrast_failures(page: Page, selector: str) -> list[str]:
    """axe-core's colour-contrast rule on the elements of `selector` only."""
    page.evaluate(AXE.read_text())  # not a <script> tag: the CSP refuses inline scripts
    return list(page.evaluate("""async (selector) => {
        const r = await axe.run({include: [[selector]]},
                                {runOnly: {type: 'rule', values: ['color-contrast']}});
        return r.violations.flatMap(v => v.nodes.map(n => n.failureSummary));
    }""", selector))


@pytest.fixture
def rules(demo: Demo) -> Iterator[None]:
    demo.shell("from dashboard.models import ThresholdRule; "
               f"{ALWAYS_CRITICAL}; {ALWAYS_WARNING}")
    try:
        yield
    finally:
        demo.shell("from dashboard.models import ThresholdRule; "
                   "ThresholdRule.objects.filter(name__startswith='e2e ').delete()")


def test_tiles_carry_claritys_labels_and_a_sparkline_of_the_last_hour(page: Page,
                                                                      demo: Demo) -> None:
    log_in(page, demo)
    tile = page.locator("#queue-1-audio")
    expect(tile).to_be_visible()
    # The simulator's en-us resource: "Est. wait" and "Audio", not the built-in
    # "Estimated wait" and "Voice".
    expect(tile.locator("dt", has_text="Est. wait")).to_have_attribute(
        "title", "Estimated wait for a new contact (s)")
    expect(tile.locator(".tile-modality")).to_have_text("Audio")
    sparkline = tile.locator("svg.sparkline")
    expect(sparkline).to_have_attribute(
        "aria-label", re.compile(r"^Waiting, last hour: min \d+, max \d+, now \d+$"))
    # Read together, so that no swap comes in between: the line ends at the live value.
    label, waiting = tile.evaluate("""t => [t.querySelector('svg.sparkline').getAttribute(
        'aria-label'), t.querySelector('[data-metric="queuedCount"]').textContent.trim()]""")
    assert label.endswith(f"now {waiting}"), (label, waiting)
    assert sparkline.locator("path.sparkline-line").count() == 1


def test_a_rule_an_admin_adds_turns_tiles_critical_without_a_reload(page: Page, demo: Demo,
                                                                    rules: None) -> None:
    log_in(page, demo)
    page.evaluate("window.sameDocument = true")
    critical = page.locator(".queue .tile.tile--critical")
    expect(critical.first).to_be_visible(timeout=RULES_TIMEOUT_MS)
    tile = critical.first
    # Told in words and by shape, not by colour alone.
    expect(tile.locator(".tile-modality .level-mark__text")).to_have_text("Critical")
    waiting = tile.locator(".metric.level-critical").filter(has=page.locator(
        '[data-metric="queuedCount"]'))
    expect(waiting.locator(".visually-hidden")).to_have_text("Critical")
    expect(waiting.locator("svg.level-icon")).to_be_visible()
    abandoned = tile.locator(".metric.level-warning").filter(has=page.locator(
        '[data-metric="abandonedCount"]'))
    expect(abandoned.locator(".visually-hidden")).to_have_text("Warning")
    assert page.evaluate("window.sameDocument") is True, "the page was not reloaded"
    # Every tile has at least 0 waiting.
    expect(page.locator(".queue .tile:not(.tile--critical)")).to_have_count(0)
    _assert_accessible(page)
    # Greyed as on a stale page, and still readable. The class live.js sets after 30 s of
    # silence, set here at once (live.js only touches it when the status changes).
    page.evaluate("document.body.classList.add('is-stale')")
    expect(tile.locator(".tile-modality .level-mark")).to_have_css("filter", "grayscale(1)")
    assert _contrast_failures(page, ".tile-modality") == []


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_levels_stay_readable_on_the_wallboard_in_both_themes(browser: Browser, demo: Demo,
                                                              rules: None, theme: str) -> None:
    demo.shell("from dashboard.models import Wallboard; "
               f"Wallboard.objects.update(theme='{theme}')")
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        board = context.new_page()
        board.goto(demo.wallboard)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=10_000)
        expect(board.locator(".queue .tile.tile--critical").first).to_be_visible(
            timeout=RULES_TIMEOUT_MS)
        _assert_accessible(board)
    finally:
        context.close()

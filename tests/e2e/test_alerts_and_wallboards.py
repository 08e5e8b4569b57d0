"""Alerts and wallboards as people use them: `manage.py demo`, pages in Chromium.

Critical alerts are raised in the simulator the way a contact center gets them: every agent
goes away, the simulator's clock runs on (its fault control, /_simulator/control), contacts
wait past 120 s.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.demo_stack import Demo, log_in

VIEWPORTS = {"full HD": (1920, 1080), "4K": (3840, 2160)}
LEAD_PASSWORD = "lead-pw-12345"  # a throwaway password of a second demo supervisor


def _agent_ids(demo: Demo) -> list[int]:
    out = demo.shell("from dashboard.models import Agent; "
                     "print('ids:', *Agent.objects.values_list('clarity_id', flat=True))")
    line = next(line for line in out.splitlines() if line.startswith("ids:"))
    return [int(i) for i in line.split()[1:]]


def _everyone(demo: Demo, status: int, jump: float) -> None:
    """Every agent to `status` (3: away, 1: available), then the simulator's clock on."""
    token = demo.token()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for agent_id in _agent_ids(demo):
            response = client.post(
                f"{demo.simulator}/webapi/api/v2/agentStatus/update/{agent_id}",
                json={"agentStatusId": status})
            assert response.status_code == 204, response.text
    response = httpx.post(f"{demo.simulator}/_simulator/control",
                          json={"action": "jump", "seconds": jump}, timeout=30)
    assert response.status_code == 200, response.text


@pytest.fixture
def agents_back_afterwards(demo: Demo) -> Iterator[None]:
    """For tests that send every agent away (the test chooses when): everyone comes back
    afterwards and the waits clear, so the module's later tests start from a calm centre."""
    yield
    _everyone(demo, 1, 60)


def _context(browser: Browser, width: int = 1280, height: int = 800) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  locale="en-US", timezone_id="UTC")
    context.set_default_timeout(5_000)
    return context


def _log_in_as(page: Page, demo: Demo, username: str, password: str) -> None:
    page.goto(demo.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)


def _new_lead(demo: Demo) -> None:
    demo.shell("from django.contrib.auth import get_user_model; "
               "u, _ = get_user_model().objects.get_or_create(username='lead'); "
               "u.is_superuser = u.is_staff = True; "
               f"u.set_password('{LEAD_PASSWORD}'); u.save()")


def _collect_toasts(page: Page) -> None:
    page.add_init_script(
        "window.__toasts = [];"
        "document.addEventListener('live:toast', e => window.__toasts.push(e.detail));")


# ---------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------


def test_a_new_critical_alert_toasts_on_the_overview_and_the_alerts_page(
        browser: Browser, demo: Demo, agents_back_afterwards: None) -> None:
    _new_lead(demo)
    pages = []
    for path, login in (("/", None), ("/alerts/", ("lead", LEAD_PASSWORD))):
        page = _context(browser).new_page()
        _collect_toasts(page)
        if login is None:
            log_in(page, demo)
        else:
            _log_in_as(page, demo, *login)
        page.goto(demo.url + path)
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live",
                                                               timeout=10_000)
        pages.append(page)
    try:
        for page in pages:
            expect(page.locator("#toasts .toast")).to_have_count(0)
        _everyone(demo, 3, 200)
        for page in pages:
            toast = page.locator("#toasts .toast--critical").first
            expect(toast).to_be_visible(timeout=10_000)
            expect(toast).to_contain_text(re.compile(r"Longest wait over 120 s|Abandonment"))
            # The toast's icon is a glyph the page's fonts have: it takes room.
            icon_width = page.evaluate("""() => parseFloat(getComputedStyle(
                document.querySelector('#toasts .toast--critical .toast__icon'),
                '::before').width) || document.querySelector(
                '#toasts .toast--critical .toast__icon').getBoundingClientRect().width""")
            assert icon_width > 0
            toasts = page.evaluate("window.__toasts")
            assert toasts and all(t["level"] == "critical" for t in toasts)
            # The alert is in the page's list too, marked critical in words, not colour alone.
            item = page.locator("#alerts-list li.severity-critical").first
            expect(item).to_contain_text("Critical")
            expect(item.locator("svg.level-icon")).to_be_visible()
    finally:
        for page in pages:
            page.context.close()


def test_the_sound_toggle_is_visible_and_works_from_the_keyboard(page: Page,
                                                                demo: Demo) -> None:
    log_in(page, demo)
    toggle = page.locator("#sound-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "sound-toggle":
            break
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-pressed", "false")


def test_an_acknowledgement_shows_on_another_supervisors_page_at_once(
        browser: Browser, demo: Demo, agents_back_afterwards: None) -> None:
    _new_lead(demo)
    mine, theirs = _context(browser).new_page(), _context(browser).new_page()
    try:
        log_in(mine, demo)
        _log_in_as(theirs, demo, "lead", LEAD_PASSWORD)
        _everyone(demo, 3, 200)
        # Mine is the overview, whose socket messages carry table rows (the totals) as well
        # as alerts; theirs the alerts page.
        for page, path in ((mine, "/"), (theirs, "/alerts/")):
            page.goto(demo.url + path)
            expect(page.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                   timeout=10_000)
        # Wait for the alerts the socket brings (newer than the page's first render).
        expect(mine.locator("#alerts-list li.severity-critical").first).to_be_visible(
            timeout=10_000)
        mine.wait_for_timeout(1_000)
        button = mine.locator("#alerts-list li .alert-ack__button").first
        expect(button).to_be_visible(timeout=10_000)
        alert_id = button.locator("xpath=ancestor::li[1]").get_attribute("id")
        button.click()
        pattern = re.compile(r"Acknowledged by supervisor at \d\d:\d\d")
        expect(mine.locator(f"#{alert_id}")).to_contain_text(pattern)
        expect(mine.locator(f"#{alert_id} .alert-ack")).to_have_count(0)
        # The other supervisor did nothing: the bridge pushed it.
        expect(theirs.locator(f"#{alert_id}")).to_contain_text(pattern, timeout=3_000)
        expect(theirs.locator(f"#{alert_id} .alert-ack")).to_have_count(0)
        # And a page loaded now shows it from the database.
        theirs.reload()
        expect(theirs.locator(f"#{alert_id}")).to_contain_text(pattern)
    finally:
        mine.context.close()
        theirs.context.close()


# ---------------------------------------------------------------------------------------------
# Wallboards
# ---------------------------------------------------------------------------------------------


def _board(demo: Demo, **fields: Any) -> None:
    assignments = ", ".join(f"{name}={value!r}" for name, value in fields.items())
    demo.shell(f"from dashboard.models import Wallboard; Wallboard.objects.update({assignments})")


@pytest.fixture
def all_pages(demo: Demo) -> Iterator[None]:
    _board(demo, pages=["overview", "agents", "alerts"], font_scale=1.0, theme="dark")
    yield
    _board(demo, pages=["overview"], font_scale=1.0, theme="dark")


FITS = """() => {
    const page = document.querySelector('.wallboard-page:not([hidden])');
    const root = document.documentElement;
    const items = [...page.querySelectorAll('.tile, tr.agent, li.alert')];
    const clipped = items.filter(e => {
        const r = e.getBoundingClientRect();
        return r.bottom > innerHeight + 1 || r.right > innerWidth + 1;
    }).map(e => e.id || e.className);
    return {
        page: page.dataset.page,
        scroll: [root.scrollWidth, root.scrollHeight, innerWidth, innerHeight],
        pageOverflow: [page.scrollWidth - page.clientWidth, page.scrollHeight - page.clientHeight],
        items: items.length, clipped,
    };
}"""


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_each_page_of_a_wallboard_fits_the_screen_without_scrolling(
        browser: Browser, demo: Demo, all_pages: None, size: str) -> None:
    width, height = VIEWPORTS[size]
    context = _context(browser, width, height)
    try:
        board = context.new_page()
        board.goto(demo.wallboard)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=10_000)
        expect(board.locator(".wallboard-clock")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        expect(board.locator("[data-live-age]")).to_have_text(re.compile(r"^\d+:\d\d$"))
        for index, name in enumerate(("overview", "agents", "alerts")):
            board.evaluate(f"clarityWallboard.show({index})")
            board.wait_for_timeout(300)
            result = board.evaluate(FITS)
            assert result["page"] == name
            sw, sh, iw, ih = result["scroll"]
            assert sw <= iw and sh <= ih, result
            assert result["pageOverflow"][0] <= 1 and result["pageOverflow"][1] <= 1, result
            assert not result["clipped"], result
            if name != "alerts":
                assert result["items"] > 5, result
            # Nothing to click on a TV.
            assert board.locator("main button:visible").count() == 0
        # TV-readable: the numbers are big, and twice as big on a screen twice as big.
        board.evaluate("clarityWallboard.show(0)")
        value = board.evaluate("""() => parseFloat(getComputedStyle(
            document.querySelector('.wallboard-page:not([hidden]) .tile-metrics dd')).fontSize)""")
        assert value >= 20 * height / 1080, f"metric values at {value}px on {size}"
    finally:
        context.close()


def test_the_wallboard_honours_its_theme_and_font_scale(browser: Browser, demo: Demo,
                                                        all_pages: None) -> None:
    backgrounds = {}
    for theme, scale in (("dark", 1.0), ("light", 1.5)):
        _board(demo, theme=theme, font_scale=scale, pages=["alerts"])
        context = _context(browser, 1920, 1080)
        try:
            board = context.new_page()
            board.goto(demo.wallboard)
            expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                    timeout=10_000)
            assert board.evaluate("document.documentElement.dataset.theme") == theme
            backgrounds[theme] = board.evaluate("getComputedStyle(document.body).backgroundColor")
            root, fit = board.evaluate("""() => [
                parseFloat(getComputedStyle(document.documentElement).fontSize),
                clarityWallboard.fit()]""")
            # 20 px at 1920x1080, times the board's scale, times what fitting the page needed.
            assert root == pytest.approx(20 * scale * fit, rel=0.02)
        finally:
            context.close()
    assert backgrounds["dark"] != backgrounds["light"]


def _first_load_with(board: Page, selector: str, name: str, value: str) -> None:
    """On the page's first load only, the element `selector` gets attribute `name` = `value`
    before live.js reads it: as if that page had been served so. (Rewriting the response with
    page.route would not do: Chromium then refuses the page's socket to 127.0.0.1.)"""
    board.add_init_script(f"""(() => {{
        if (sessionStorage.getItem('test:first-load-done')) return;
        sessionStorage.setItem('test:first-load-done', '1');
        new MutationObserver((changes, observer) => {{
            const el = document.querySelector({selector!r});
            if (el) {{ el.setAttribute({name!r}, {value!r}); observer.disconnect(); }}
        }}).observe(document, {{childList: true, subtree: true}});
    }})();""")


def test_a_wallboard_reloads_itself_after_a_deploy(browser: Browser, demo: Demo) -> None:
    context = _context(browser, 1920, 1080)
    try:
        board = context.new_page()
        loads: list[str] = []
        board.on("load", lambda p: loads.append(p.url))
        # The TV shows a page of the previous release: its data-build is an older one.
        build = re.search(r'data-build="([^"]+)"', httpx.get(demo.wallboard).text)
        assert build is not None, "the wallboard carries the deploy id"
        _first_load_with(board, "body", "data-build", "previous-release")
        board.goto(demo.wallboard)
        # The socket's first message carries the running release: the page reloads, gets the
        # new page and stays on it.
        expect(board.locator("body")).to_have_attribute("data-build", build.group(1),
                                                        timeout=10_000)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=10_000)
        time.sleep(2)
        assert len(loads) == 2, loads
    finally:
        context.close()


def test_a_wallboard_reloads_itself_after_a_long_outage(browser: Browser, demo: Demo) -> None:
    context = _context(browser, 1920, 1080)
    try:
        board = context.new_page()
        # Ten minutes of outage is long for a test: this TV's page says two seconds.
        _first_load_with(board, "#live-socket", "data-reload-after", "2")
        board.goto(demo.wallboard)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=10_000)
        assert board.evaluate("clarityLive.state().config.reloadAfter") == 2
        board.evaluate("window.__marker = 'still here'")
        demo.proxy.cut()
        try:
            expect(board.locator("#live-status")).not_to_have_attribute("data-state", "live",
                                                                        timeout=5_000)
            time.sleep(3)
            assert board.evaluate("window.__marker") == "still here", "no reload while down"
        finally:
            demo.proxy.restore()
        # Back: a fresh page (as served: 600 s again).
        # (Polled from here: wait_for_function compiles its predicate in the page, which the
        # CSP forbids.)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(PlaywrightError):  # the page reloading under us
                if board.evaluate("() => window.__marker === undefined"):
                    break
            assert time.monotonic() < deadline, "the wallboard did not reload"
            time.sleep(0.2)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=10_000)
        assert board.evaluate("clarityLive.state().config.reloadAfter") == 600
    finally:
        context.close()

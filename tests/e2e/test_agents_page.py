"""The agents page in Chromium against the running demo: filters, counts and sorting in the
browser (static/dashboard/agents.js) on rows the simulator keeps changing.

The simulator runs at real speed, so agents move between statuses on their own; the tests use
statuses the simulator never chooses by itself (Be right back, Off work) for the agents they
move, and read other rows only through properties that hold whatever the traffic does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from dashboard.live import STATUS_ICONS
from tests.e2e.demo_stack import Demo, log_in

AVAILABLE, BE_RIGHT_BACK, OFF_WORK = 1, 10, 18  # the simulator's agentStatusId values
SHOWN = "#agent-rows tr:not([hidden])"


def _open(page: Page, demo: Demo, query: str = "") -> None:
    log_in(page, demo)
    page.goto(demo.url + "/agents/" + query)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)


def _count(page: Page, status: str) -> Locator:
    return page.locator(f'#agent-counts [data-count-status="{status}"] .status-count__n')


def _shown(page: Page, attribute: str) -> list[str]:
    return page.eval_on_selector_all(
        SHOWN, f"rows => rows.map(r => r.getAttribute('data-{attribute}') || '')")


@pytest.fixture
def moved(demo: Demo) -> Iterator[list[int]]:
    """Agents a test moves; back to Available afterwards."""
    agents: list[int] = []
    yield agents
    for agent_id in agents:
        demo.set_status(agent_id, AVAILABLE)


def test_a_status_filter_follows_agents_as_their_status_changes(page: Page, demo: Demo,
                                                                moved: list[int]) -> None:
    _open(page, demo)
    page.select_option("#status-filter", "beRightBack")
    expect(page).to_have_url(re.compile(r"/agents/\?status=beRightBack$"))
    shown = page.locator(SHOWN)
    expect(shown).to_have_count(0)
    expect(page.locator("#agent-empty")).to_be_visible()
    # Selected, so shown even at zero: the way back to "All" stays in view.
    expect(_count(page, "beRightBack")).to_have_text("0")

    moved += [5, 6]
    demo.set_status(5, BE_RIGHT_BACK)
    expect(page.locator("#agent-5")).to_be_visible(timeout=2000)
    expect(_count(page, "beRightBack")).to_have_text("1", timeout=2000)
    expect(page.locator("#agent-empty")).to_be_hidden()
    demo.set_status(6, BE_RIGHT_BACK)
    expect(shown).to_have_count(2, timeout=2000)
    expect(_count(page, "beRightBack")).to_have_text("2", timeout=2000)
    assert _shown(page, "status") == ["beRightBack", "beRightBack"]

    demo.set_status(5, AVAILABLE)
    expect(page.locator("#agent-5")).to_be_hidden(timeout=2000)
    expect(_count(page, "beRightBack")).to_have_text("1", timeout=2000)
    expect(shown).to_have_count(1)
    # The status filter narrows the rows, not the counts: "All" counts every row.
    expect(_count(page, "")).to_have_text(str(page.locator("#agent-rows tr").count()))


def test_a_count_sets_the_status_filter_from_the_keyboard(page: Page, demo: Demo,
                                                          moved: list[int]) -> None:
    moved.append(8)
    demo.set_status(8, OFF_WORK)
    _open(page, demo)
    button = page.locator('#agent-counts [data-count-status="offWork"]')
    expect(button).to_contain_text("Off work")
    expect(button.locator(".status-icon")).to_have_text(STATUS_ICONS["offWork"])
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#status-filter")).to_have_value("offWork")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_url(re.compile(r"status=offWork"))
    assert set(_shown(page, "status")) == {"offWork"}
    expect(page.locator("#agent-8")).to_be_visible()
    expect(button).to_be_focused()  # updating the counts kept the button

    page.locator('#agent-counts [data-count-status=""]').click()
    expect(page.locator("#status-filter")).to_have_value("")
    expect(page.locator(SHOWN)).to_have_count(page.locator("#agent-rows tr").count())
    expect(page).to_have_url(re.compile(r"/agents/$"))


def _wait_sorted(page: Page, check: str, what: str) -> None:
    """Rows re-sort in the animation frame after a swap: wait for a settled frame."""
    deadline = time.monotonic() + 2
    while not page.evaluate(check):
        assert time.monotonic() < deadline, f"rows are not sorted by {what}"
        page.wait_for_timeout(50)


def test_rows_sort_by_status_by_time_in_state_and_by_name(page: Page, demo: Demo) -> None:
    _open(page, demo)
    order = page.eval_on_selector_all("#status-filter option",
                                      "os => os.map(o => o.value).filter(Boolean)")
    assert order[:3] == ["available", "ringing", "inCall"]
    # By status (the default): in the status select's order.
    _wait_sorted(page, f"""() => {{
        const order = {order!r};
        const at = [...document.querySelectorAll('{SHOWN}')]
            .map(r => order.indexOf(r.dataset.status));
        return at.every((v, i) => i === 0 || at[i - 1] <= v);
    }}""", "status")
    names = _shown(page, "name")
    assert names != sorted(names, key=str.casefold), "the status order is not the name order"

    page.select_option("#agent-sort", "time")
    expect(page).to_have_url(re.compile(r"sort=time"))
    _wait_sorted(page, f"""() => {{
        const t = [...document.querySelectorAll('{SHOWN}')]
            .map(r => Date.parse(r.dataset.statusSince) || Infinity);
        return t.every((v, i) => i === 0 || t[i - 1] <= v);
    }}""", "time in state")

    page.select_option("#agent-sort", "name")
    expect(page).to_have_url(re.compile(r"sort=name"))
    names = _shown(page, "name")
    assert names == sorted(names, key=str.casefold)
    assert len(names) == page.locator("#agent-rows tr").count()


def test_filters_survive_a_reload_through_the_url(page: Page, demo: Demo) -> None:
    _open(page, demo)
    team = page.eval_on_selector_all("#team-filter option", "os => os.map(o => o.value)")[1]
    page.select_option("#team-filter", team)
    page.select_option("#agent-sort", "name")
    expect(page).to_have_url(re.compile(rf"/agents/\?team={team}&sort=name$"))
    before = _shown(page, "name")
    assert before and set(_shown(page, "team")) == {team}
    assert len(before) < page.locator("#agent-rows tr").count()

    page.reload()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator("#team-filter")).to_have_value(team)
    expect(page.locator("#agent-sort")).to_have_value("name")
    assert _shown(page, "name") == before


def test_without_javascript_the_form_filters_on_the_server(browser: Browser, demo: Demo) -> None:
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(demo.url + "/login/")
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", demo.password)
        page.click("button[type=submit], input[type=submit]")
        page.goto(demo.url + "/agents/")
        team = page.eval_on_selector_all("#team-filter option", "os => os.map(o => o.value)")[1]
        page.select_option("#team-filter", team)
        page.select_option("#agent-sort", "name")
        page.click(".agent-filters__apply")
        expect(page).to_have_url(re.compile(rf"team={team}"))
        rows = page.locator("#agent-rows tr")
        in_team = page.locator(f'#agent-rows tr[data-team="{team}"]')
        assert 0 < in_team.count() < rows.count()
        expect(page.locator("#agent-rows tr:visible")).to_have_count(in_team.count())
        # A count is a submit button: it sets the status filter through the server too.
        first = page.locator("#agent-counts [data-count-status]:not([data-count-status=''])")
        status = first.first.get_attribute("data-count-status")
        first.first.click()
        expect(page.locator("#status-filter")).to_have_value(status or "")
        visible = page.locator("#agent-rows tr:visible")
        assert visible.count() > 0
        assert set(visible.evaluate_all("rs => rs.map(r => r.dataset.status)")) == {status}
    finally:
        context.close()


def test_the_grid_fits_1280_pixels_one_line_a_row_under_a_sticky_header(page: Page,
                                                                       demo: Demo) -> None:
    _open(page, demo)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    heights = page.eval_on_selector_all(
        "#agent-rows tr", "rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 34, "rows stay one compact line, whatever their sessions"
    page.evaluate("window.scrollTo(0, 1200)")
    top = page.eval_on_selector("#agent-table thead th", "th => th.getBoundingClientRect().top")
    assert abs(top) < 1, "the header stays at the top while the rows scroll"


def test_every_status_icon_has_a_glyph_in_the_installed_fonts() -> None:
    # Chromium draws an empty box for a character no font has: ⏸ and ⛔ on Debian, say.
    fc_list = shutil.which("fc-list")
    assert fc_list, "fc-list (fontconfig, which chromium needs anyway) is not installed"
    for status, icon in STATUS_ICONS.items():
        for char in icon.replace("\ufe0e", ""):
            fonts = subprocess.run([fc_list, f":charset={ord(char):x}", "family"],
                                   capture_output=True, text=True, check=True).stdout
            assert fonts.strip(), f"no installed font draws {char!r}, the icon of {status}"

"""The session drill-down and search in Chromium against the running demo."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.demo_stack import Demo, log_in


def test_a_chat_transcript_grows_while_the_page_is_open(page: Page, demo: Demo) -> None:
    log_in(page, demo)
    lines = page.locator("#session-transcript .transcript__line")
    # The simulated chat sends a line every 3 to 12 s; the page asks every 2 s. A chat may
    # end just after it is picked (its section then comes back without the poll): pick
    # another one then.
    for attempt in range(4):
        page.goto(demo.url + "/agents/")
        chat = page.locator('#agent-rows a[href^="/sessions/"]:has-text("Chat")').first
        expect(chat).to_be_attached(timeout=30_000)
        href = chat.get_attribute("href")
        assert href is not None
        page.goto(demo.url + href)
        transcript = page.locator("#session-transcript")
        if transcript.get_attribute("hx-trigger") != "every 2s":
            continue  # ended between the two pages
        before = lines.count()
        try:
            expect(lines.nth(before)).to_be_attached(timeout=20_000)
            break
        except AssertionError:
            # Silence is right once the talk is over: the session stays live through the
            # agent's after-call work, with no more lines.
            if _chatting(demo, href) or attempt == 3:
                raise  # still chatting and silent for 20 s: that is the failure
    else:
        pytest.fail("no chat stayed open long enough to send a line")
    # The duration keeps ticking in the browser.
    total = page.locator("#session-summary .session-durations [data-since]").first
    first = total.inner_text()
    expect(total).not_to_have_text(first, timeout=5_000)


def _session(demo: Demo, href: str) -> dict[str, Any]:
    """The session at page address `href`, as the simulator's REST API answers it."""
    session_id = href.strip("/").split("/")[-1]
    response = httpx.get(f"{demo.simulator}/webapi/api/v2/sessions/{session_id}",
                         headers={"Authorization": f"Bearer {demo.token()}"})
    response.raise_for_status()
    return dict(response.json())


def _chatting(demo: Demo, href: str) -> bool:
    """Whether an agent is still in the talk of the session at `href` (not in after-call)."""
    return any(agent["agentParticipationStatus"] == "Accepted"
               for agent in _session(demo, href)["agents"]["items"])


def test_typing_in_the_header_box_lists_matches_and_leads_to_them(page: Page,
                                                                   demo: Demo) -> None:
    log_in(page, demo)
    page.goto(demo.url + "/alerts/")
    page.locator("#site-search-q").press_sequentially("agent1", delay=50)
    first = page.locator('#site-search-results a[href^="/agents/"]').first
    expect(first).to_be_visible(timeout=10_000)
    # Focus elsewhere hides the panel; back in the box it shows again.
    page.mouse.click(5, 700)  # below the panel, on the page
    expect(first).to_be_hidden()
    page.locator("#site-search-q").focus()
    expect(first).to_be_visible()
    # Enter without JavaScript's help goes to the search page with the query.
    page.locator("#site-search-q").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=agent1$"))
    expect(page.locator('#search-results a[href^="/agents/"]').first).to_be_visible()


def test_call_notes_saved_from_the_session_page_reach_clarity(page: Page, demo: Demo) -> None:
    log_in(page, demo)
    page.goto(demo.url + "/agents/")
    link = page.locator('#agent-rows a[href^="/sessions/"]').first
    expect(link).to_be_attached(timeout=30_000)
    href = link.get_attribute("href")
    assert href is not None
    page.goto(demo.url + href)

    page.fill("#session-note", "Asked for a callback tomorrow")
    page.get_by_role("button", name="Save call notes").click()

    expect(page.locator("#session-action-result")).to_contain_text("Call notes saved.")
    assert _session(demo, href)["callNote"] == "Asked for a callback tomorrow"

"""A supervisor acts from the agent page, in Chromium against `manage.py demo`: the action goes
to the simulator, the page shows it pending, and the live feed confirms it."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.demo_stack import Demo, log_in

AGENT = 5


def _control(demo: Demo, **body: object) -> None:
    httpx.post(demo.simulator + "/_simulator/control", json=body).raise_for_status()


def _open_agent_page(page: Page, demo: Demo) -> None:
    log_in(page, demo)
    page.goto(f"{demo.url}/agents/{AGENT}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)


def test_a_supervisor_puts_an_agent_on_break_with_a_reason(page: Page, demo: Demo) -> None:
    demo.set_status(AGENT, 1)
    _open_agent_page(page, demo)
    panel = page.locator(f"#agent-panel-{AGENT}")
    expect(panel).to_have_attribute("data-state-status", re.compile(r"^(?!3:2$)"))
    # Hold the hub's pushes for a moment, so that the pending state is there to be seen.
    _control(demo, action="stall", seconds=4)

    page.select_option(f"#agent-status-choice-{AGENT}", label="Away: At Lunch")
    page.get_by_role("button", name="Change status").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("to “Away: At Lunch”?")
    page.keyboard.press("Enter")  # the dialog's Confirm button has the focus

    result = page.locator("#agent-action-result [role=status]")
    expect(result).to_contain_text("Clarity accepted the status change")
    pending = page.locator(f"#agent-pending-{AGENT}")
    expect(pending).to_contain_text("Pending: Away: At Lunch")
    # The live feed brings the change: the panel shows it and the marker is gone.
    expect(panel).to_have_attribute("data-state-status", "3:2", timeout=10_000)
    expect(panel.locator(".agent-now__status")).to_contain_text("Away (At Lunch)")
    expect(pending).to_be_empty()
    assert page.evaluate("window.clarityActions.pending()") == {}

    entry = demo.shell(
        "from dashboard.models import AuditEntry; "
        f"e = AuditEntry.objects.filter(action='agent.status', target_id={AGENT}).latest('pk'); "
        "print(e.username, e.outcome, e.upstream_status, e.params['agent_status_id'], "
        "e.params['reason_code_id'])")
    # The last line: `manage.py shell` may first say what it imported.
    assert entry.strip().splitlines()[-1].split() == ["supervisor", "ok", "204", "3", "2"]
    demo.set_status(AGENT, 1)


def test_a_change_the_live_feed_does_not_confirm_in_time_says_so(page: Page,
                                                                  demo: Demo) -> None:
    demo.set_status(AGENT, 1)
    _open_agent_page(page, demo)
    panel = page.locator(f"#agent-panel-{AGENT}")
    expect(panel).to_have_attribute("data-state-suspended", "false")
    _control(demo, action="stall", seconds=13)

    page.get_by_role("button", name="Suspend", exact=True).click()
    page.get_by_role("button", name="Confirm").click()

    pending = page.locator(f"#agent-pending-{AGENT}")
    expect(pending).to_contain_text("Pending: Suspended")
    expect(pending).to_contain_text("Not confirmed yet: Suspended", timeout=12_000)
    # Once the feed catches up, the panel shows it and the warning goes.
    expect(panel).to_have_attribute("data-state-suspended", "true", timeout=15_000)
    expect(pending).to_be_empty()
    page.get_by_role("button", name="Lift the suspension").click()
    page.get_by_role("button", name="Confirm").click()
    expect(panel).to_have_attribute("data-state-suspended", "false", timeout=10_000)

"""OpenMethods in the demo, in Chromium: a supervisor sends a PopFlow event from the agent page,
and the demo's fake OpenMethods Connect API receives it as the document describes."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.demo_stack import Demo, log_in

AGENT = 5


def _events(demo: Demo) -> list[dict[str, object]]:
    return list(httpx.get(demo.openmethods + "/_fake/events").json())


def test_a_supervisor_sends_a_popflow_event_to_an_agent(page: Page, demo: Demo) -> None:
    before = len(_events(demo))
    log_in(page, demo)
    page.goto(f"{demo.url}/agents/{AGENT}/")
    form = page.locator(f"#agent-notify-{AGENT}")
    expect(form.get_by_label("Event")).to_have_value("Supervisor Note")
    form.get_by_label("Properties, one name=value per line").fill(
        "message=Please take the next chat\npriority=high")
    form.get_by_label("CRM").check()
    form.get_by_role("button", name="Send event").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Send this event to")
    page.keyboard.press("Enter")

    expect(page.locator("#agent-action-result [role=status]")).to_contain_text(
        "OpenMethods accepted the event “Supervisor Note”")
    events = _events(demo)
    assert len(events) == before + 1
    event = events[-1]
    # The demo names agents in OpenMethods after their Clarity names; the CRM name goes in
    # lower case, with the demo's CRM instance.
    assert event["route"] == "crm" and event["crm_id"] == "demo-crm"
    assert event["agent_id"] == str(event["agent_id"]).lower() and "." in str(event["agent_id"])
    assert event["properties"] == {"message": "Please take the next chat", "priority": "high"}


def test_a_refused_key_is_explained_on_the_page(page: Page, demo: Demo) -> None:
    httpx.post(demo.openmethods + "/_fake/control",
               json={"api_key": "regenerated"}).raise_for_status()
    try:
        log_in(page, demo)
        page.goto(f"{demo.url}/agents/{AGENT}/")
        page.locator(f"#agent-notify-{AGENT}").get_by_role("button", name="Send event").click()
        page.keyboard.press("Enter")
        result = page.locator("#agent-action-result")
        expect(result).to_contain_text("OpenMethods refused the dashboard's API key")
        expect(result).to_contain_text("OPENMETHODS_API_KEY")
    finally:
        httpx.post(demo.openmethods + "/_fake/control",
                   json={"api_key": "demo-openmethods-api-key"}).raise_for_status()

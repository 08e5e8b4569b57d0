"""Other platforms in the demo, in Chromium: the Genesys Open Messaging tile counts the signed
messages the demo's fake Genesys posts to the dashboard's webhook, and the ones it refuses."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.demo_stack import Demo, log_in


def test_the_genesys_tile_counts_traffic_and_refused_deliveries(page: Page, demo: Demo) -> None:
    # One message now, so the tile does not wait for the fake's next one.
    sent = httpx.post(demo.genesys + "/_fake/control", json={"send": {}}).json()
    assert sent["answer"] == 200
    log_in(page, demo)
    page.goto(demo.url + "/integrations/")
    tile = page.locator("#integration-genesys")
    expect(tile.locator('[data-metric="lastMessage"] time')).to_be_attached()
    refused = tile.locator('[data-metric="rejected"]')
    before = int(refused.inner_text())
    # A delivery signed with the wrong secret: refused, and counted on the tile's next refresh.
    answer = httpx.post(demo.genesys + "/_fake/control",
                        json={"send": {}, "secret": "not-the-integrations"}).json()["answer"]
    httpx.post(demo.genesys + "/_fake/control",
               json={"secret": "demo-genesys-secret"}).raise_for_status()
    assert answer == 401
    expect(refused).to_have_text(str(before + 1), timeout=15_000)
    expect(tile).to_contain_text("Refused deliveries (1 h)")


def test_the_demo_chat_entry_point_is_probed_and_its_failure_shown(page: Page,
                                                                   demo: Demo) -> None:
    log_in(page, demo)
    page.goto(demo.url + "/integrations/")
    group = page.locator("#integration-onecloud")
    result = group.locator('[data-metric="result"]').first
    # The bridge probes the demo's entry point within its first checks (every 15 s).
    expect(result).to_have_text("accepted", timeout=40_000)
    state = httpx.get(demo.onecloud + "/_fake/state").json()
    assert state["started"] >= 1 and state["open"] == 0  # each test chat was ended
    # Make the tenant refuse chats, and probe at once from the admin.
    httpx.post(demo.onecloud + "/_fake/control", json={"fail_code": "5001"}).raise_for_status()
    try:
        page.goto(demo.url + "/admin/dashboard/chatentrypoint/")
        page.locator('input[name="_selected_action"]').first.check()
        page.select_option('select[name="action"]', "probe_now")
        page.get_by_role("button", name="Go").click()
        expect(page.locator(".messagelist")).to_contain_text("no chat server is available")
        page.goto(demo.url + "/integrations/")
        expect(result).to_have_text("failed")
        expect(group.locator('[data-metric="cause"]').first).to_contain_text("5001")
    finally:
        httpx.post(demo.onecloud + "/_fake/control",
                   json={"fail_code": None}).raise_for_status()


def test_ccai_sessions_reach_the_crm_search_and_drill_down(page: Page, demo: Demo) -> None:
    # The demo's fake CCAI tenant runs a session through the Custom CRM endpoints every 20 s
    # and writes its metadata file (James Bond's call first); the bridge reads the files
    # every 20 s.
    log_in(page, demo)
    page.goto(demo.url + "/crm/ccai/lookup?email=james.bond@agents.co")
    for _ in range(20):
        if "/crm/ccai/accounts/" in page.url:
            break
        page.wait_for_timeout(5_000)
        page.reload()
    expect(page.locator("h1")).to_have_text("James Bond", timeout=5_000)
    for _ in range(30):
        page.goto(demo.url + "/search/?q=Moneypenny")
        if page.locator('a[href^="/ccai/sessions/"]').count():
            break
        page.wait_for_timeout(5_000)
    hit = page.locator('a[href^="/ccai/sessions/"]').first
    hit.click()
    expect(page.locator("h1")).to_contain_text("CCAI")
    expect(page.locator("main")).to_contain_text("Eve Moneypenny")

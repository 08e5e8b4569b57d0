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

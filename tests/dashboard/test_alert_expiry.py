"""Alerts cleared long ago leave the live picture and the pages (a wallboard runs for weeks and
the contract has no message that removes an alert): Bridge.expire_alerts, by the upstream's
clock, and what a page does with the delete it is sent."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer

from dashboard import live
from dashboard.bridge import Bridge
from integrations.clarity.config import ClarityConfig

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _alert(alert_id: int, *, active: bool, cleared_hours_ago: float | None = None,
           queue: int = 1) -> dict[str, Any]:
    cleared = (NOW - timedelta(hours=cleared_hours_ago)).isoformat().replace("+00:00", "Z") \
        if cleared_hours_ago is not None else None
    return {"type": "alert", "id": alert_id, "name": f"Alert {alert_id}", "severity": "warning",
            "entityType": "queue", "entityId": queue, "entityName": "Sales",
            "metric": "longestQueuedTime", "modality": "audio", "value": 70000,
            "threshold": 60000, "isActive": active,
            "raisedTime": (NOW - timedelta(hours=30)).isoformat().replace("+00:00", "Z"),
            "clearedTime": cleared, "message": "m"}


def _bridge(layer: Any) -> Bridge:
    config = ClarityConfig.from_env({"CLARITY_URL": "http://127.0.0.1:9", "CLARITY_AUTH": "basic",
                                     "CLARITY_USERNAME": "supervisor",
                                     "CLARITY_PASSWORD": "demo"})
    bridge = Bridge(config, layer=layer, state=live.LiveState(build="t"))
    bridge.state.picture.picture.apply({
        "subscriptionId": "s-a", "subscriptionType": "alerts", "sequence": 1,
        "isSnapshot": True, "timestamp": NOW.isoformat(), "items": [
            _alert(1, active=True),
            _alert(2, active=False, cleared_hours_ago=1),
            _alert(3, active=False, cleared_hours_ago=25),
            _alert(4, active=False, cleared_hours_ago=49, queue=2)]})
    return bridge


@pytest.mark.django_db
async def test_alerts_cleared_over_a_day_ago_leave_the_picture_and_pages_delete_them(
        settings: Any) -> None:
    settings.ALERT_KEEP_HOURS = 24
    layer = InMemoryChannelLayer()
    bridge = _bridge(layer)
    # The upstream's clock, as its messages carry it (here a day and more after the alerts).
    bridge.upstream_clock = NOW
    state = bridge.state
    everything = ["alerts.queue.1", "alerts.queue.2"]
    before = state.snapshot(everything)[0]
    assert 'id="alert-3"' in before and 'id="alert-4"' in before
    versions = {key: state.version(("alert", key)) for key in (3, 4)}
    await layer.group_add(live.FRAGMENTS_GROUP, "test.page")

    assert await bridge.expire_alerts() == 2

    assert sorted(state.picture.picture.alerts()) == [1, 2]
    html = state.snapshot(everything)[0]
    assert 'id="alert-1"' in html and 'id="alert-2"' in html and 'id="alert-3"' not in html
    assert not any(key[0][0] == "alert" and key[0][1] in (3, 4) for key in state._rendered)
    # One batch of deletes, each in the group that showed it and newer than what pages have.
    batch = await asyncio.wait_for(layer.receive("test.page"), 2)
    fragments = {json.loads(f[1])[1]: f for f in batch["fragments"]}
    assert fragments[3][0] == "alerts.queue.1" and fragments[4][0] == "alerts.queue.2"
    assert fragments[3][2] > versions[3] and fragments[3][5] is True
    assert fragments[3][3] == '<li id="alert-3" hx-swap-oob="delete"></li>'
    # Nothing more to expire. Without an upstream clock yet the wall clock counts: over a
    # day after NOW, alert 2 goes too; the active one never does.
    assert await bridge.expire_alerts() == 0
    bridge.upstream_clock = None
    assert await bridge.expire_alerts() == 1
    assert sorted(state.picture.picture.alerts()) == [1]


@pytest.mark.django_db
async def test_alert_ages_count_in_the_upstreams_clock_not_the_wall_clock(settings: Any) -> None:
    settings.ALERT_KEEP_HOURS = 24
    bridge = _bridge(InMemoryChannelLayer())
    # An upstream whose clock is an hour behind the alerts' (a simulator started later):
    # alert 3 (25 h) is not a day old by it yet; alert 4 (49 h) is.
    bridge.upstream_clock = NOW - timedelta(hours=2)
    assert await bridge.expire_alerts() == 1
    assert sorted(bridge.state.picture.picture.alerts()) == [1, 2, 3]


def test_only_the_newest_cleared_alerts_stay_however_recent() -> None:
    state = live.LiveState()
    state.picture.picture.apply({
        "subscriptionId": "s-a", "subscriptionType": "alerts", "sequence": 1,
        "isSnapshot": True, "timestamp": NOW.isoformat(),
        "items": [_alert(1, active=True)] + [
            _alert(100 + n, active=False, cleared_hours_ago=n / 60) for n in range(10)]})
    expired = state.expire_alerts(NOW - timedelta(hours=24), keep=3)
    # Cleared within the hour, all of them, but only the three newest stay; the active one too.
    assert sorted(key[1] for key, _ in expired) == list(range(103, 110))
    assert sorted(state.picture.picture.alerts()) == [1, 100, 101, 102]

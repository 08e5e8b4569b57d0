"""/healthz/ and /metrics/ with the real bridge following the simulator, and with a channel
layer that cannot be reached."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client, override_settings

from dashboard.bridge import Bridge
from integrations.clarity.simulator.server import SimulatorThread
from tests.dashboard.bridge_harness import frozen_simulator, running_bridge, set_status
from tests.redis_server import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with frozen_simulator(seed=57) as s:
        yield s


@pytest.fixture
async def bridge(sim: SimulatorThread) -> AsyncIterator[Bridge]:
    async with running_bridge(sim, build="test-build") as running:
        yield running


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert match, f"{name} not in:\n{text[:2000]}"
    return float(match.group(1))


async def test_healthz_reports_the_bridge_and_a_connected_upstream(bridge: Bridge) -> None:
    response = await AsyncClient().get("/healthz/")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok", report
    assert report["bridge"] == "ok"
    assert report["upstream"] == "connected"
    assert report["epoch"] == bridge.state.epoch
    assert 0 <= report["last_update_age"] < 60


async def test_healthz_says_degraded_while_the_upstream_is_down(bridge: Bridge) -> None:
    # What the bridge concludes when its feed drops (dashboard.bridge._on_event).
    bridge.state.upstream_ok = False
    bridge.state.upstream_since = 1_700_000_000.0
    response = await AsyncClient().get("/healthz/")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["upstream"] == "down"
    # As the pages' headers say it (ISO 8601), not as seconds since 1970.
    assert response.json()["upstream_down_since"] == "2023-11-14T22:13:20+00:00"


def test_healthz_fails_when_the_channel_layer_is_unreachable(client: Client) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                          "CONFIG": {"hosts": [{"address": nowhere,
                                                "socket_connect_timeout": 1}]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        try:
            response = client.get("/healthz/")
        finally:
            channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["channel_layer"].startswith("failing")
    assert response.json()["status"] == "failing"


def test_metrics_need_the_token_or_a_staff_login(client: Client) -> None:
    assert client.get("/metrics/").status_code == 403
    with override_settings(METRICS_TOKEN="scrape-" + "k" * 40):
        assert client.get("/metrics/", headers={
            "Authorization": "Bearer wrong"}).status_code == 403
        ok = client.get("/metrics/", headers={"Authorization": "Bearer scrape-" + "k" * 40})
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain")
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get("/metrics/").status_code == 200


async def test_metrics_carry_the_bridges_counts(bridge: Bridge, sim: SimulatorThread) -> None:
    staff = await sync_to_async(get_user_model().objects.create_user)(
        "ops", password="x", is_staff=True)
    client = AsyncClient()
    await sync_to_async(client.force_login)(staff)
    before = (await client.get("/metrics/")).content.decode()
    assert _metric(before, "dashboard_bridge_up") == 1
    assert _metric(before, "dashboard_upstream_connected") == 1
    updates = _metric(before, "dashboard_upstream_updates_total")
    assert updates >= 1  # at least the snapshot
    # Something happens upstream: the count grows.
    await set_status(sim, 5, 3, 2)
    await set_status(sim, 5, 1)
    for _ in range(50):
        after = (await client.get("/metrics/")).content.decode()
        if _metric(after, "dashboard_upstream_updates_total") > updates:
            break
    assert _metric(after, "dashboard_upstream_updates_total") > updates
    assert "dashboard_fanout_latency_seconds_bucket" in after
    assert "dashboard_pages_connected" in after

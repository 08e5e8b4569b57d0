"""Probing OneCloud chat entry points: the schedule, each probe against the local fake tenant
stored with its cause, the tiles, the admin's "Probe now", and the bridge's alert for an entry
point whose last probe failed (cleared by the next accepted one)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.test import Client

from dashboard import integration_alerts, live, onecloud
from dashboard.bridge import Bridge
from dashboard.models import Alert, ChatEntryPoint, ChatProbe
from integrations.clarity.config import ClarityConfig
from integrations.fake_server import FakeServerThread
from integrations.onecloud.client import ERROR_CAUSES
from integrations.onecloud.fake import DEMO_APP_ID, DEMO_TENANT, FakeOneCloud

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[tuple[FakeOneCloud, str]]:
    state = FakeOneCloud()
    with FakeServerThread(state.app(), name="fake-onecloud") as server:
        yield state, server.url


def _entry(url: str, **changes: Any) -> ChatEntryPoint:
    values: dict[str, Any] = {"name": "Sales chat", "base_url": url, "tenant_url": DEMO_TENANT,
                              "app_id": DEMO_APP_ID, "client_id": "probe",
                              "parameters": {"first_name": "Probe"}, "every_minutes": 10}
    values.update(changes)
    return ChatEntryPoint.objects.create(**values)


@pytest.mark.django_db
def test_an_entry_point_is_due_when_never_probed_or_its_interval_has_passed() -> None:
    entry = _entry("https://tenant.cx.onecloud.com")
    _entry("https://tenant.cx.onecloud.com", name="Off", enabled=False)
    assert [e.name for e in onecloud.due(NOW)] == ["Sales chat"]
    ChatProbe.objects.create(entry_point=entry, started_at=NOW - timedelta(minutes=9),
                             accepted=True)
    assert onecloud.due(NOW) == []
    assert [e.name for e in onecloud.due(NOW + timedelta(minutes=1))] == ["Sales chat"]


@pytest.mark.django_db(transaction=True)
async def test_a_probe_is_stored_accepted_with_its_time(fake: Any) -> None:
    state, url = fake
    entry = await sync_to_async(_entry)(url)
    stored = await onecloud.run_probe(entry, now=NOW)
    assert stored.pk is not None and stored.accepted and stored.ended
    assert stored.seconds is not None
    assert (state.started, state.ended) == (1, 1)


@pytest.mark.django_db(transaction=True)
async def test_a_failed_probe_is_stored_with_the_documented_cause(fake: Any) -> None:
    state, url = fake
    state.fail_code = "5001"
    entry = await sync_to_async(_entry)(url)
    stored = await onecloud.run_probe(entry, now=NOW)
    assert (stored.accepted, stored.code, stored.cause) == (False, "5001", ERROR_CAUSES["5001"])


@pytest.mark.django_db(transaction=True)
async def test_unusable_settings_are_a_failed_probe_not_a_crash() -> None:
    entry = await sync_to_async(_entry)("http://tenant.example")  # http off loopback
    stored = await onecloud.run_probe(entry, now=NOW)
    assert not stored.accepted and "https" in stored.cause


@pytest.mark.django_db
def test_the_tiles_show_the_last_probe_and_the_days_tally() -> None:
    entry = _entry("https://tenant.cx.onecloud.com")
    ChatProbe.objects.create(entry_point=entry, started_at=NOW - timedelta(hours=2),
                             accepted=True, seconds=0.4, ended=True)
    ChatProbe.objects.create(entry_point=entry, started_at=NOW - timedelta(minutes=5),
                             accepted=False, code="5006", cause=ERROR_CAUSES["5006"])
    ChatProbe.objects.create(entry_point=entry, started_at=NOW - timedelta(days=2),
                             accepted=True)
    [shown] = onecloud.tiles(NOW)
    assert shown.last is not None and shown.last.code == "5006"
    assert (shown.probes_day, shown.accepted_day, shown.level) == (2, 1, "critical")


@pytest.mark.django_db
def test_the_integrations_page_lists_entry_points(admin_client: Client) -> None:
    entry = _entry("https://tenant.cx.onecloud.com")
    ChatProbe.objects.create(entry_point=entry, started_at=NOW, accepted=False, code="5006",
                             cause=ERROR_CAUSES["5006"])
    page = admin_client.get("/integrations/").content.decode()
    assert f'id="integration-onecloud-{entry.pk}"' in page
    assert "5006: " + ERROR_CAUSES["5006"] in page
    group = admin_client.get("/integrations/onecloud/tiles").content.decode()
    assert group.count('id="integration-onecloud"') == 1


@pytest.mark.django_db(transaction=True)
def test_the_admin_probes_on_demand(fake: Any, admin_client: Client) -> None:
    state, url = fake
    entry = _entry(url)
    response = admin_client.post("/admin/dashboard/chatentrypoint/", {
        "action": "probe_now", "_selected_action": [entry.pk]}, follow=True)
    assert "Sales chat: accepted in" in response.content.decode()
    assert ChatProbe.objects.get(entry_point=entry).accepted
    assert state.started == 1


def _bridge() -> Bridge:
    config = ClarityConfig.from_env({"CLARITY_URL": "http://127.0.0.1:9", "CLARITY_AUTH": "basic",
                                     "CLARITY_USERNAME": "supervisor",
                                     "CLARITY_PASSWORD": "demo"})
    return Bridge(config, layer=InMemoryChannelLayer(), state=live.LiveState(build="t"))


@pytest.mark.django_db(transaction=True)
async def test_the_bridge_probes_and_raises_then_clears_an_alert(fake: Any,
                                                                  settings: Any) -> None:
    settings.GENESYS = None
    state, url = fake
    state.fail_code = "5001"
    entry = await sync_to_async(_entry)(url, every_minutes=1)
    bridge = _bridge()
    key = ("alert", integration_alerts.alert_id("onecloud", "probe", entry.pk))
    await bridge.check_integrations()  # starts the probe in the background
    await _probes_done(bridge)
    assert await bridge.check_integrations() == 1
    raised = bridge.state.picture.picture.get(key)
    assert raised is not None and raised["isActive"] is True
    assert ERROR_CAUSES["5001"] in raised["message"]
    await bridge.persist()
    stored = await sync_to_async(Alert.objects.get)(clarity_id=key[1])
    assert (stored.entity_type, stored.is_active) == ("integration", True)

    state.fail_code = None
    # The failed probe an hour ago: due again (the bridge probes at the real time).
    await sync_to_async(ChatProbe.objects.all().update)(
        started_at=datetime.now(tz=UTC) - timedelta(hours=1))
    await bridge.check_integrations()
    await _probes_done(bridge)
    await bridge.check_integrations()
    cleared = bridge.state.picture.picture.get(key)
    assert cleared is not None and cleared["isActive"] is False


async def _probes_done(bridge: Bridge) -> None:
    await asyncio.gather(*bridge._probing.values())

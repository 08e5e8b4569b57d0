"""Watching Genesys Open Messaging: the webhook endpoint (signature, replay, hostile input),
the tile's figures, and the bridge's own alerts about the integration, raised from what the
local Genesys fake's API says and shown to every supervisor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.core.cache import cache
from django.test import Client

from dashboard import genesys, integration_alerts, live, views
from dashboard.bridge import Bridge
from dashboard.mbu import Visibility
from dashboard.models import Alert, IntegrationMinute, IntegrationStatus
from integrations.clarity.config import ClarityConfig
from integrations.fake_server import FakeServerThread
from integrations.genesys.client import GenesysConfig
from integrations.genesys.fake import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_INTEGRATION_ID,
    FakeGenesys,
)

HOOK = "/hooks/genesys/open-messaging"
SECRET = "integration-secret"


def _config(url: str = "http://127.0.0.1:9", **env: str) -> GenesysConfig:
    config = GenesysConfig.from_env({
        "GENESYS_CLIENT_ID": DEMO_CLIENT_ID, "GENESYS_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "GENESYS_INTEGRATION_ID": DEMO_INTEGRATION_ID, "GENESYS_LOGIN_URL": url,
        "GENESYS_API_URL": url, "GENESYS_WEBHOOK_SECRET": SECRET,
        "GENESYS_OPENING_HOURS": "00:00-23:59", "GENESYS_OPENING_DAYS": "mon-sun",
        "GENESYS_QUIET_MINUTES": "10", **env})
    assert config is not None
    return config


@pytest.fixture(autouse=True)
def _configured(settings: Any) -> Iterator[None]:
    settings.GENESYS = _config()
    cache.clear()
    yield
    cache.clear()


def _delivery(sent: datetime | None = None, **fields: Any) -> bytes:
    message = {"id": "m-1", "type": "Text", "direction": "Outbound",
               "channel": {"time": (sent or datetime.now(tz=UTC)).isoformat(),
                           "from": {"id": DEMO_INTEGRATION_ID}}}
    message.update(fields)
    return json.dumps(message).encode()


def _signature(body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def _post(body: bytes, signature: str | None = None, client: Client | None = None) -> Any:
    headers = {"X-Hub-Signature-256": signature} if signature else {}
    return (client or Client()).post(HOOK, body, content_type="application/json",
                                     headers=headers)


def _counts() -> tuple[int, int, int]:
    rows = IntegrationMinute.objects.filter(integration="genesys")
    return (sum(r.messages for r in rows), sum(r.failures for r in rows),
            sum(r.rejected for r in rows))


# -- the webhook ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_delivery_is_taken_without_a_session_or_csrf_token() -> None:
    body = _delivery()
    response = _post(body, _signature(body), Client(enforce_csrf_checks=True))
    assert response.status_code == 200, response.content
    assert _counts() == (1, 0, 0)
    status = IntegrationStatus.objects.get(integration="genesys")
    assert status.last_message_at is not None


@pytest.mark.django_db
def test_a_failed_receipt_counts_as_a_failure() -> None:
    body = _delivery(type="Receipt", status="Failed")
    assert _post(body, _signature(body)).status_code == 200
    assert _counts() == (1, 1, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("signature", [None, "sha256=AAAA", "nonsense"])
def test_unsigned_or_badly_signed_deliveries_are_refused_and_counted(
        signature: str | None) -> None:
    response = _post(_delivery(), signature)
    assert response.status_code == 401
    assert _counts() == (0, 0, 1)
    assert not IntegrationStatus.objects.filter(last_message_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    body = _delivery()
    assert _post(body, _signature(body, secret=DEMO_CLIENT_SECRET)).status_code == 401


@pytest.mark.django_db
def test_the_same_signed_body_twice_is_a_replay() -> None:
    body = _delivery()
    assert _post(body, _signature(body)).status_code == 200
    again = _post(body, _signature(body))
    assert again.status_code == 409
    assert _counts() == (1, 0, 1)


@pytest.mark.django_db
def test_an_old_signed_delivery_is_refused_as_a_replay() -> None:
    body = _delivery(sent=datetime.now(tz=UTC) - timedelta(hours=1))
    assert _post(body, _signature(body)).status_code == 409


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"{not json", b"[]", json.dumps({"id": "x"}).encode()])
def test_malformed_signed_bodies_are_400(body: bytes) -> None:
    assert _post(body, _signature(body)).status_code == 400


@pytest.mark.django_db
def test_an_oversized_delivery_is_413_and_not_read(settings: Any) -> None:
    body = b"{" + b" " * (300 * 1024) + b"}"
    assert _post(body, _signature(body)).status_code == 413


@pytest.mark.django_db
def test_only_post_and_only_when_configured(settings: Any) -> None:
    assert Client().get(HOOK).status_code == 405
    settings.GENESYS = None
    body = _delivery()
    assert _post(body, _signature(body)).status_code == 404


# -- the tile ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_tile_counts_minutes_and_says_when_traffic_went_quiet() -> None:
    config = _config()
    now = datetime(2026, 12, 6, 10, 30, 20, tzinfo=UTC)
    for minutes_ago, count in ((0, 2), (1, 5), (3, 1)):
        IntegrationMinute.objects.create(integration="genesys", messages=count,
                                         minute=now.replace(second=0) -
                                         timedelta(minutes=minutes_ago))
    IntegrationStatus.objects.create(integration="genesys", last_message_at=now -
                                     timedelta(seconds=40), healthy=True, detail="ok")
    shown = genesys.tile(config, now=now)
    assert shown.per_minute[-4:] == (1, 0, 5, 2)
    assert shown.last_minute == 5
    assert shown.last_message_age == 40
    assert not shown.quiet and shown.level == "ok"
    later = genesys.tile(config, now=now + timedelta(minutes=11))
    assert later.quiet and later.level == "critical"


@pytest.mark.django_db
def test_no_quiet_alert_outside_opening_hours() -> None:
    config = _config(GENESYS_OPENING_HOURS="08:00-18:00", GENESYS_OPENING_DAYS="mon-fri")
    saturday_noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    monday_noon = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    watching = saturday_noon - timedelta(hours=1)
    assert not genesys.tile(config, now=saturday_noon, watching_since=watching).quiet
    assert genesys.tile(config, now=monday_noon, watching_since=watching).quiet


@pytest.mark.django_db
def test_a_watcher_just_started_has_not_missed_anything_yet() -> None:
    config = _config()
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert not genesys.tile(config, now=now, watching_since=now - timedelta(minutes=9)).quiet
    assert genesys.tile(config, now=now, watching_since=now - timedelta(minutes=10)).quiet
    assert not genesys.tile(config, now=now).quiet  # the page alone: nothing to go by


@pytest.mark.django_db
def test_the_integrations_page_shows_the_tile(admin_client: Client) -> None:
    body = _delivery()
    _post(body, _signature(body))
    page = admin_client.get("/integrations/").content.decode()
    assert 'id="integration-genesys"' in page and 'data-metric="messagesPerMinute"' in page
    tile = admin_client.get("/integrations/genesys/tile")
    assert tile.status_code == 200 and tile.content.decode().count('id="integration-genesys"') == 1


# -- the bridge's own alerts ------------------------------------------------------------------


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeGenesys]:
    state = FakeGenesys()
    with FakeServerThread(state.app(), name="fake-genesys") as server:
        settings.GENESYS = _config(server.url)
        yield state


def _bridge() -> Bridge:
    config = ClarityConfig.from_env({"CLARITY_URL": "http://127.0.0.1:9", "CLARITY_AUTH": "basic",
                                     "CLARITY_USERNAME": "supervisor",
                                     "CLARITY_PASSWORD": "demo"})
    return Bridge(config, layer=InMemoryChannelLayer(), state=live.LiveState(build="t"))


def _alert(bridge: Bridge, kind: str) -> dict[str, Any] | None:
    key = ("alert", integration_alerts.alert_id("genesys", kind))
    found = bridge.state.picture.picture.get(key)
    return dict(found) if found else None


@pytest.mark.django_db(transaction=True)
async def test_an_integration_in_error_raises_an_alert_that_clears(fake: FakeGenesys) -> None:
    bridge = _bridge()
    bridge.started -= timedelta(hours=1)  # watching long enough for quiet to count
    fake.create_status, fake.create_error = "Error", "Webhook URL unreachable"
    assert await bridge.check_integrations() >= 1
    raised = _alert(bridge, "state")
    assert raised is not None and raised["isActive"] is True
    assert raised["entityType"] == "integration"
    assert "Webhook URL unreachable" in raised["message"]
    # Quiet too: open all week and no message ever.
    assert (_alert(bridge, "quiet") or {}).get("isActive") is True
    await bridge.persist()
    stored = await sync_to_async(Alert.objects.get)(clarity_id=raised["id"])
    assert (stored.entity_type, stored.is_active) == ("integration", True)

    assert await bridge.check_integrations() == 0, "nothing new: nothing published"
    fake.create_status, fake.create_error = "Completed", ""
    bridge._genesys_checked = 0.0  # the next check asks the API again now
    assert await bridge.check_integrations() >= 1
    cleared = _alert(bridge, "state")
    assert cleared is not None and cleared["isActive"] is False and cleared["clearedTime"]
    assert cleared["raisedTime"] == raised["raisedTime"]


@pytest.mark.django_db(transaction=True)
async def test_a_healthy_integration_with_traffic_raises_nothing(fake: FakeGenesys) -> None:
    await sync_to_async(IntegrationStatus.objects.create)(
        integration="genesys", last_message_at=datetime.now(tz=UTC))
    bridge = _bridge()
    assert await bridge.check_integrations() == 0
    assert _alert(bridge, "state") is None and _alert(bridge, "quiet") is None


def test_every_page_but_an_agents_joins_the_integration_alert_groups() -> None:
    scoped = Visibility(agent_ids=frozenset({5}), queue_ids=frozenset({1}),
                        team_ids=frozenset({2}))
    group = live.alert_group("integration", integration_alerts.PLATFORMS["genesys"])
    for page in ("overview", "agents", "alerts", "wallboard"):
        assert group in live.groups_for(scoped, page)
    assert group not in live.groups_for(scoped, "agent", agent_id=5)
    assert live.groups_for(Visibility(), "alerts") == []


@pytest.mark.django_db
def test_a_scoped_supervisor_sees_integration_alerts() -> None:
    Alert.objects.create(clarity_id=integration_alerts.alert_id("genesys", "quiet"),
                         name="Genesys messaging quiet", entity_type="integration",
                         entity_id=1, raised_at=datetime.now(tz=UTC))
    Alert.objects.create(clarity_id=7, name="Somebody else's queue", entity_type="queue",
                         entity_id=99, raised_at=datetime.now(tz=UTC))
    scoped = Visibility(queue_ids=frozenset({1}))
    assert [a.name for a in views._visible_alerts(scoped)] == ["Genesys messaging quiet"]
    assert list(views._visible_alerts(Visibility())) == []  # no scope: nothing at all

"""Acknowledging an alert: who may, how it is recorded, and how every page showing it learns.

The first part drives the view with Django's test client against the database. The second runs
the real chain: the simulator raises alerts, the bridge persists and publishes them, consumers
show them; a supervisor acknowledges one and every page showing it (and every later render of
it, after Clarity changes it again) says who acknowledged it and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from dashboard import live, store, views
from dashboard.bridge import Bridge
from dashboard.models import Agent, Alert, BusinessUnit, Queue, SupervisorScope, Team
from integrations.clarity.simulator.server import SimulatorThread

from .bridge_harness import (
    frozen_simulator,
    open_page,
    running_bridge,
    set_everyone,
    split,
    wait_until,
)

PASSWORD = "pw-12345-long"


# ---------------------------------------------------------------------------------------------
# The view, against the database
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def centre(db: None) -> dict[str, Any]:
    """Sales (served by Falcons) and Support (served by Otters); an alert about each queue and
    one about an Otters agent."""
    unit = BusinessUnit.objects.create(clarity_id=1, name="Consumer")
    falcons = Team.objects.create(clarity_id=1, name="Team Falcons", business_unit=unit)
    otters = Team.objects.create(clarity_id=2, name="Team Otters", business_unit=unit)
    Queue.objects.create(clarity_id=1, name="Sales", business_unit=unit).teams.add(falcons)
    Queue.objects.create(clarity_id=2, name="Support", business_unit=unit).teams.add(otters)
    Agent.objects.create(clarity_id=11, name="Ann Lee", team=falcons)
    Agent.objects.create(clarity_id=12, name="Bob Roe", team=otters)
    now = timezone.now()
    alerts = {
        "sales": Alert.objects.create(
            clarity_id=901, name="Longest wait over 120 s", severity="critical",
            entity_type="queue", entity_id=1, entity_name="Sales", is_active=True,
            message="Sales: a contact has waited 130 s.", raised_at=now - timedelta(minutes=2)),
        "support": Alert.objects.create(
            clarity_id=902, name="Abandonment burst", severity="critical",
            entity_type="Queue", entity_id=2, entity_name="Support", is_active=True,
            raised_at=now - timedelta(minutes=1)),
        "bob": Alert.objects.create(
            clarity_id=903, name="Away over 20 min", severity="warning", entity_type="agent",
            entity_id=12, entity_name="Bob Roe", is_active=True, raised_at=now),
    }
    return {"falcons": falcons, "otters": otters, **alerts}


def _user(username: str, *, superuser: bool = False, teams: list[Team] | None = None) -> Any:
    model = get_user_model()
    user = (model.objects.create_superuser(username, password=PASSWORD) if superuser
            else model.objects.create_user(username, password=PASSWORD))
    if teams is not None:
        SupervisorScope.objects.create(user=user).teams.set(teams)
    return user


def _ack_url(alert: Alert) -> str:
    return f"/alerts/{alert.clarity_id}/acknowledge/"


def _htmx_post(client: Client, alert: Alert, **extra: Any) -> Any:
    return client.post(_ack_url(alert), HTTP_HX_REQUEST="true", **extra)


def _hhmm(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


@pytest.fixture
def layer() -> Iterator[Any]:
    """The channel layer, emptied before and after: what the view sends stays in it."""
    channel_layer = get_channel_layer()
    async_to_sync(channel_layer.flush)()
    yield channel_layer
    async_to_sync(channel_layer.flush)()


def test_acknowledging_needs_a_login_and_a_post(client: Client, centre: dict[str, Any],
                                                 layer: Any) -> None:
    response = client.post(_ack_url(centre["sales"]))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(_user("lead", teams=[centre["falcons"]]))
    assert client.get(_ack_url(centre["sales"])).status_code == 405
    centre["sales"].refresh_from_db()
    assert centre["sales"].acknowledged_at is None


def test_acknowledging_is_refused_without_the_csrf_token(centre: dict[str, Any],
                                                         layer: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(_user("lead", teams=[centre["falcons"]]))
    assert _htmx_post(client, centre["sales"]).status_code == 403
    centre["sales"].refresh_from_db()
    assert centre["sales"].acknowledged_at is None
    # The page sets the cookie; HTMX sends the token in the header base.html configures.
    page = client.get("/alerts/")
    token = page.cookies["csrftoken"].value
    assert '"X-CSRFToken": "' in page.content.decode()
    response = _htmx_post(client, centre["sales"], HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    centre["sales"].refresh_from_db()
    assert centre["sales"].acknowledged_at is not None


def test_an_alert_outside_the_supervisors_scope_is_not_found(
        client: Client, centre: dict[str, Any], layer: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    client.force_login(_user("lead", teams=[centre["falcons"]]))
    # Support's queue and Bob are the Otters': out of scope looks the same as unknown.
    assert _htmx_post(client, centre["support"]).status_code == 404
    assert _htmx_post(client, centre["bob"]).status_code == 404
    # An unknown one may be on its way to the database (the bridge stores alerts every
    # second): the view waits a little before it says so.
    monkeypatch.setattr(views, "ALERT_STORED_WITHIN", 0.5)
    started = time.monotonic()
    assert client.post("/alerts/99999/acknowledge/").status_code == 404
    assert 0.5 <= time.monotonic() - started < 3
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()
    assert _htmx_post(client, centre["sales"]).status_code == 200
    assert list(Alert.objects.filter(acknowledged_at__isnull=False)
                .values_list("clarity_id", flat=True)) == [901]


def test_the_acknowledgement_records_who_and_when_and_answers_with_the_item(
        client: Client, centre: dict[str, Any], layer: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    lead = _user("lead", teams=[centre["falcons"]])
    client.force_login(lead)
    before = timezone.now()
    with caplog.at_level(logging.INFO, logger="dashboard.views"):
        response = _htmx_post(client, centre["sales"])
    after = timezone.now()
    alert = Alert.objects.get(clarity_id=901)
    assert alert.acknowledged_by == lead
    assert alert.acknowledged_at is not None and before <= alert.acknowledged_at <= after
    html = response.content.decode()
    assert html.lstrip().startswith('<li id="alert-901"'), "the item, for hx-swap=outerHTML"
    assert f"Acknowledged by lead at {_hhmm(alert.acknowledged_at)}" in html
    assert "alert-ack" not in html and "data-toast" not in html, "no button, no new toast"
    assert any("alert 901" in r.getMessage() and "acknowledged by lead" in r.getMessage()
               for r in caplog.records)


def test_the_first_acknowledgement_wins(client: Client, centre: dict[str, Any],
                                        layer: Any) -> None:
    client.force_login(_user("lead", teams=[centre["falcons"]]))
    _htmx_post(client, centre["sales"])
    first = Alert.objects.get(clarity_id=901).acknowledged_at
    client.force_login(_user("boss", superuser=True))
    html = _htmx_post(client, centre["sales"]).content.decode()
    alert = Alert.objects.select_related("acknowledged_by").get(clarity_id=901)
    assert alert.acknowledged_by.username == "lead" and alert.acknowledged_at == first
    assert "Acknowledged by lead" in html


def test_the_view_tells_the_bridge_through_the_channel_layer(client: Client,
                                                             centre: dict[str, Any],
                                                             layer: Any) -> None:
    client.force_login(_user("boss", superuser=True))
    _htmx_post(client, centre["bob"])
    message = async_to_sync(layer.receive)(live.BRIDGE_CHANNEL)
    alert = Alert.objects.get(clarity_id=903)
    assert message == {"type": "alert.acknowledged", "alert_id": 903, "by": "boss",
                       "at": alert.acknowledged_at.isoformat()}


def test_without_javascript_the_form_posts_and_goes_back(client: Client,
                                                         centre: dict[str, Any],
                                                         layer: Any) -> None:
    client.force_login(_user("boss", superuser=True))
    page = client.get("/alerts/").content.decode()
    form = re.search(r'<form class="alert-ack" method="post" action="/alerts/901/acknowledge/">'
                     r'(.*?)</form>', page, re.DOTALL)
    assert form is not None, "an active, unacknowledged alert has a plain form too"
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert 'name="next" value="/alerts/"' in form.group(1)
    response = client.post(_ack_url(centre["sales"]), {"next": "/?tab=1"})
    assert response.status_code == 302 and response["Location"] == "/?tab=1"
    response = client.post(_ack_url(centre["support"]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/alerts/"


def test_the_alerts_page_shows_who_acknowledged_what(client: Client, centre: dict[str, Any],
                                                     layer: Any) -> None:
    lead = _user("lead", teams=[centre["falcons"]])
    store.acknowledge_alert(901, lead)
    client.force_login(_user("boss", superuser=True))
    html = client.get("/alerts/").content.decode()
    at = _hhmm(Alert.objects.get(clarity_id=901).acknowledged_at)
    item = re.search(r'<li id="alert-901".*?</li>', html, re.DOTALL)
    assert item is not None and f"Acknowledged by lead at {at}" in item.group(0)
    assert "alert-ack" not in item.group(0)
    other = re.search(r'<li id="alert-902".*?</li>', html, re.DOTALL)
    assert other is not None
    assert 'hx-post="/alerts/902/acknowledge/"' in other.group(0)
    assert 'hx-swap="outerHTML"' in other.group(0)
    assert 'data-toast-level="critical"' in other.group(0), "new critical alerts toast"
    # The severity is a word as well as a colour and a shape.
    assert "Critical" in other.group(0)


def test_the_bridge_starts_with_the_acknowledgements_in_the_database(
        centre: dict[str, Any]) -> None:
    lead = _user("lead", teams=[centre["falcons"]])
    alert = store.acknowledge_alert(901, lead)
    assert store.load_acknowledgements() == {901: ("lead", alert.acknowledged_at.isoformat())}


def test_a_local_change_raises_the_version_the_bridge_publishes() -> None:
    state = live.LiveState()
    key = ("alert", 5)
    assert state.version(key) == 0
    assert state.acknowledge(5, "lead", "2026-11-22T10:42:00+00:00") == key
    assert state.version(key) == 1
    assert state.versions([key]) == {json.dumps(list(key)): 1}
    state.acknowledge(5, "lead", "2026-11-22T10:42:00+00:00")
    assert state.version(key) == 2


# ---------------------------------------------------------------------------------------------
# The real chain: simulator -> bridge -> consumers, and the view in between
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: alerts come when a test says so."""
    with frozen_simulator(seed=52) as s:
        yield s


@pytest.fixture
async def bridge(sim: SimulatorThread) -> AsyncIterator[Bridge]:
    async with running_bridge(sim, settle=0) as running:
        yield running


async def _critical_alert_in_db(sim: SimulatorThread) -> Alert:
    await asyncio.to_thread(set_everyone, sim, "unavailable", 200)

    @sync_to_async
    def find() -> Alert | None:
        # A wait alert: it clears as soon as the queue is served again.
        return (Alert.objects.filter(severity="critical", is_active=True,
                                     entity_type__iexact="queue", metric="longestQueuedTime")
                .order_by("clarity_id").first())

    return await wait_until("the bridge persisting a critical alert", find)


async def _page(path: str, user: Any) -> tuple[WebsocketCommunicator, str]:
    """A page's socket, connected, and the snapshot it starts with."""
    communicator = await open_page(path, user)
    meta, html = split(await communicator.receive_from(timeout=5))
    assert meta["kind"] == "snapshot"
    return communicator, html


async def _item_from(communicator: WebsocketCommunicator, alert_id: int, wanted: str,
                     within: float = 5.0) -> tuple[dict[str, Any], str]:
    """The next message carrying alert `alert_id` whose item contains `wanted`."""
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no alert-{alert_id} with {wanted!r} within {within} s"
        meta, html = split(await communicator.receive_from(timeout=left))
        item = re.search(rf'<li id="alert-{alert_id}".*?</li>', html, re.DOTALL)
        if item and wanted in item.group(0):
            return meta, item.group(0)


@pytest.mark.django_db(transaction=True)
async def test_every_page_showing_an_alert_shows_it_acknowledged_also_after_later_changes(
        sim: SimulatorThread, bridge: Bridge) -> None:
    boss = await sync_to_async(_user)("boss", superuser=True)
    other = await sync_to_async(_user)("other", superuser=True)
    alert = await _critical_alert_in_db(sim)
    key = ("alert", alert.clarity_id)
    # Two supervisors' pages that already show the alert, unacknowledged.
    pages = [await _page("/ws/live/alerts/", boss), await _page("/ws/live/overview/", other)]
    for _, snapshot in pages:
        item = re.search(rf'<li id="alert-{alert.clarity_id}".*?</li>', snapshot, re.DOTALL)
        assert item is not None and "alert-ack__button" in item.group(0)
        # No form in socket messages: beside table rows the parser would tear it apart.
        assert "<form" not in item.group(0) and "<input" not in item.group(0)
    upstream_version = bridge.state.picture.picture.entity_version(key)

    def acknowledge() -> Any:
        client = Client()
        client.force_login(boss)
        return client.post(_ack_url(alert), HTTP_HX_REQUEST="true")

    response = await sync_to_async(acknowledge)()
    assert response.status_code == 200
    stored = await sync_to_async(Alert.objects.get)(clarity_id=alert.clarity_id)
    expected = f"Acknowledged by boss at {_hhmm(stored.acknowledged_at)}"
    # Both pages get it as a diff, although upstream did not change the alert: the version
    # the bridge publishes grew with the local change.
    for communicator, _ in pages:
        meta, item = await _item_from(communicator, alert.clarity_id, expected)
        assert meta["kind"] == "diff" and "alert-ack" not in item
    assert bridge.state.version(key) > upstream_version
    # Clarity clears the alert: the new render still says who acknowledged it.
    await asyncio.to_thread(set_everyone, sim, "available", 60)
    for communicator, _ in pages:
        _, item = await _item_from(communicator, alert.clarity_id, "cleared")
        assert expected in item
        await communicator.disconnect()
    # A page opened now has it in its snapshot.
    late, snapshot = await _page("/ws/live/alerts/", other)
    assert expected in snapshot
    await late.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_restarted_bridge_renders_acknowledgements_from_the_database(
        sim: SimulatorThread, bridge: Bridge) -> None:
    boss = await sync_to_async(_user)("boss", superuser=True)
    alert = await _critical_alert_in_db(sim)
    stored = await sync_to_async(store.acknowledge_alert)(alert.clarity_id, boss)
    # No message to the bridge that runs: the one started next reads the database.
    fresh = Bridge(bridge.config)
    task = asyncio.create_task(fresh.run())
    try:
        async def ready() -> bool:
            return (alert.clarity_id in fresh.state.acks
                    and fresh.state.picture.picture.get(("alert", alert.clarity_id)) is not None)

        await wait_until("the new bridge reading the acknowledgements and the alert", ready)
        html = fresh.state.render(("alert", alert.clarity_id), oob=False)
        assert f"Acknowledged by boss at {_hhmm(stored.acknowledged_at)}" in html
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await asyncio.to_thread(set_everyone, sim, "available", 60)

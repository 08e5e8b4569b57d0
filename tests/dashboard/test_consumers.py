"""The page socket end to end: simulator -> bridge -> channel layer -> LiveConsumer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model

from dashboard import store
from dashboard.bridge import Bridge
from dashboard.consumers import LiveConsumer
from dashboard.models import Agent, SupervisorScope, Team, Wallboard
from dashboard.routing import websocket_urlpatterns
from integrations.clarity.config import ClarityConfig
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the changes are the ones the tests make."""
    with SimulatorThread(SimulatorConfig(port=0, seed=51, speed=1e-6, ping_interval=2)) as s:
        yield s


def _config(sim: SimulatorThread) -> ClarityConfig:
    return ClarityConfig.from_env({"CLARITY_URL": sim.url, "CLARITY_AUTH": "basic",
                                   "CLARITY_USERNAME": "supervisor", "CLARITY_PASSWORD": "demo"})


@pytest.fixture
async def bridge(sim: SimulatorThread) -> AsyncIterator[Bridge]:
    running = Bridge(_config(sim), build="test-build")
    task = asyncio.create_task(running.run())
    deadline = time.monotonic() + 20
    while running.feed is None or not running.feed.is_synced():
        assert time.monotonic() < deadline, "the bridge never synced"
        assert not task.done(), task.exception() if task.done() else ""
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # let the first snapshots be published
    yield running
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _token(sim: SimulatorThread) -> str:
    response = httpx.post(sim.url + "/webauth/token", auth=("supervisor", "demo"),
                          data={"grant_type": "urn:connect.auth:windows",
                                "client_id": "0224C392-3845-4AC0-B1A0-D63706181BA7"})
    return response.json()["access_token"]


async def _set_status(sim: SimulatorThread, agent_id: int, status: int,
                      reason: int | None = None) -> None:
    body: dict[str, Any] = {"agentStatusId": status}
    if reason is not None:
        body["reasonCodeId"] = reason
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{sim.url}/webapi/api/v2/agentStatus/update/{agent_id}", json=body,
            headers={"Authorization": f"Bearer {_token(sim)}"})
    assert response.status_code == 204, response.text


def _split(message: str) -> tuple[dict[str, Any], str]:
    assert message.startswith("<!--live "), message[:80]
    end = message.index("-->")
    return json.loads(message[len("<!--live "):end]), message[end + 3:]


async def _connect(path: str, user: Any = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    if user is not None:
        communicator.scope["user"] = user
    return communicator


async def _receive_until(communicator: WebsocketCommunicator, wanted: str,
                         within: float = 3.0) -> tuple[dict[str, Any], str]:
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"{wanted!r} never arrived"
        meta, html = _split(await communicator.receive_from(timeout=left))
        if wanted in html:
            return meta, html


async def _superuser() -> Any:
    return await sync_to_async(get_user_model().objects.create_superuser)("boss", password="x")


async def test_a_page_gets_a_snapshot_then_a_status_change_within_two_seconds(
        sim: SimulatorThread, bridge: Bridge) -> None:
    user = await _superuser()
    communicator = await _connect("/ws/live/agents/", user)
    connected, _ = await communicator.connect()
    assert connected
    meta, html = _split(await communicator.receive_from(timeout=5))
    assert meta["kind"] == "snapshot" and meta["seq"] == 1 and meta["upstream"] == "ok"
    # The consumer's own deploy id, not the bridge's: the page's HTML came from its process.
    assert meta["build"] == settings.BUILD_ID != "test-build"
    assert 'id="agent-3"' in html and 'hx-swap-oob="true"' in html
    started = time.monotonic()
    await _set_status(sim, 3, 3, 2)
    meta, html = await _receive_until(communicator, 'id="agent-3"')
    assert time.monotonic() - started < 2.0
    assert meta["kind"] == "diff" and meta["seq"] == 2 and meta["epoch"]
    assert "At Lunch" in html
    # The page asks for a snapshot after a gap; it comes with the next seq.
    await communicator.send_to(text_data=json.dumps({"type": "resync"}))
    meta, _ = await _receive_until(communicator, 'id="agent-3"')
    assert meta["kind"] == "snapshot" and meta["seq"] >= 3
    await communicator.disconnect()
    await _set_status(sim, 3, 1)


async def test_a_supervisor_never_receives_an_entity_outside_their_scope(
        sim: SimulatorThread, bridge: Bridge) -> None:
    user = await sync_to_async(get_user_model().objects.create_user)("lead", password="x")

    def scope_to_team_one() -> tuple[int, int]:
        scope = SupervisorScope.objects.create(user=user)
        scope.teams.add(Team.objects.get(clarity_id=1))
        inside = Agent.objects.filter(team__clarity_id=1).order_by("clarity_id").first()
        outside = Agent.objects.filter(team__clarity_id=2).order_by("clarity_id").first()
        assert inside is not None and outside is not None
        return inside.clarity_id, outside.clarity_id

    inside, outside = await sync_to_async(scope_to_team_one)()
    communicator = await _connect("/ws/live/agents/", user)
    assert (await communicator.connect())[0]
    _, snapshot = _split(await communicator.receive_from(timeout=5))
    assert f'id="agent-{inside}"' in snapshot and f'id="agent-{outside}"' not in snapshot
    await _set_status(sim, outside, 3, 1)
    await _set_status(sim, inside, 3, 1)
    seen = []
    while not await communicator.receive_nothing(timeout=1.5):
        seen.append(await communicator.receive_from())
    assert any(f'id="agent-{inside}"' in m for m in seen)
    assert not any(f'id="agent-{outside}"' in m for m in seen)
    await communicator.disconnect()
    for agent_id in (inside, outside):
        await _set_status(sim, agent_id, 1)


async def test_heartbeats_carry_the_current_seq(bridge: Bridge,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "heartbeat_seconds", 0.3)
    communicator = await _connect("/ws/live/overview/", await _superuser())
    assert (await communicator.connect())[0]
    snapshot_meta, html = _split(await communicator.receive_from(timeout=5))
    assert 'id="queue-1"' in html and 'innerHTML:#alerts-list' in html
    for _ in range(10):
        meta, body = _split(await communicator.receive_from(timeout=2))
        if meta["kind"] == "heartbeat":
            break
    assert meta["kind"] == "heartbeat" and body == ""
    assert meta["seq"] >= snapshot_meta["seq"] and meta["epoch"] == snapshot_meta["epoch"]
    await communicator.disconnect()


async def test_nobody_and_unknown_pages_are_refused(bridge: Bridge) -> None:
    anonymous = await _connect("/ws/live/overview/")
    connected, code = await anonymous.connect()
    assert not connected and code == 4403
    wrong = await _connect("/ws/live/secrets/", await _superuser())
    connected, code = await wrong.connect()
    assert not connected and code == 4404


async def test_a_wallboard_connects_by_token_until_revoked(bridge: Bridge) -> None:
    def make_board() -> Wallboard:
        board = Wallboard.objects.create(name="TV", pages=["overview", "agents"])
        board.teams.add(Team.objects.get(clarity_id=1))
        return board

    board = await sync_to_async(make_board)()
    communicator = await _connect(f"/ws/wallboard/{board.token}/")
    assert (await communicator.connect())[0]
    meta, html = _split(await communicator.receive_from(timeout=5))
    assert meta["kind"] == "snapshot" and 'id="agent-' in html
    await communicator.disconnect()
    await sync_to_async(store.revoke_wallboard)(board)
    refused = await _connect(f"/ws/wallboard/{board.token}/")
    connected, code = await refused.connect()
    assert not connected and code == 4403

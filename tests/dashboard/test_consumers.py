"""The page socket end to end: simulator -> bridge -> channel layer -> LiveConsumer."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model

from dashboard import store
from dashboard.bridge import Bridge
from dashboard.consumers import LiveConsumer
from dashboard.models import Agent, SupervisorScope, Team, Wallboard
from integrations.clarity.simulator.server import SimulatorThread

from .bridge_harness import (
    communicator_for,
    frozen_simulator,
    messages_until_quiet,
    receive_until,
    running_bridge,
    set_status,
    split,
    superuser,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the changes are the ones the tests make."""
    with frozen_simulator(seed=51) as s:
        yield s


@pytest.fixture
async def bridge(sim: SimulatorThread) -> AsyncIterator[Bridge]:
    async with running_bridge(sim, build="test-build") as running:
        yield running


async def test_a_page_gets_a_snapshot_then_a_status_change_within_two_seconds(
        sim: SimulatorThread, bridge: Bridge) -> None:
    user = await superuser()
    communicator = communicator_for("/ws/live/agents/", user)
    connected, _ = await communicator.connect()
    assert connected
    meta, html = split(await communicator.receive_from(timeout=5))
    assert meta["kind"] == "snapshot" and meta["seq"] == 1 and meta["upstream"] == "ok"
    # The consumer's own deploy id, not the bridge's: the page's HTML came from its process.
    assert meta["build"] == settings.BUILD_ID != "test-build"
    assert 'id="agent-3"' in html and 'hx-swap-oob="true"' in html
    started = time.monotonic()
    await set_status(sim, 3, 3, 2)
    meta, html = await receive_until(communicator, 'id="agent-3"', within=3.0)
    assert time.monotonic() - started < 2.0
    assert meta["kind"] == "diff" and meta["seq"] == 2 and meta["epoch"]
    assert "At Lunch" in html
    # The page asks for a snapshot after a gap; it comes with the next seq.
    await communicator.send_to(text_data=json.dumps({"type": "resync"}))
    meta, _ = await receive_until(communicator, 'id="agent-3"', within=3.0)
    assert meta["kind"] == "snapshot" and meta["seq"] >= 3
    await communicator.disconnect()
    await set_status(sim, 3, 1)


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
    communicator = communicator_for("/ws/live/agents/", user)
    assert (await communicator.connect())[0]
    _, snapshot = split(await communicator.receive_from(timeout=5))
    assert f'id="agent-{inside}"' in snapshot and f'id="agent-{outside}"' not in snapshot
    # Each agent through two statuses, so that each changes whatever it was doing before (the
    # simulator starts at the wall-clock hour: an agent may already be on a break).
    for status, reason in ((1, None), (3, 1)):
        await set_status(sim, outside, status, reason)
        await set_status(sim, inside, status, reason)
    seen = [html for _, html in await messages_until_quiet(communicator, 3.0)]
    assert any(f'id="agent-{inside}"' in m for m in seen)
    assert not any(f'id="agent-{outside}"' in m for m in seen)
    await communicator.disconnect()
    for agent_id in (inside, outside):
        await set_status(sim, agent_id, 1)


async def test_heartbeats_carry_the_current_seq(bridge: Bridge,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "heartbeat_seconds", 0.3)
    communicator = communicator_for("/ws/live/overview/", await superuser())
    assert (await communicator.connect())[0]
    snapshot_meta, html = split(await communicator.receive_from(timeout=5))
    assert 'id="queue-1"' in html and 'innerHTML:#alerts-list' in html
    for _ in range(10):
        meta, body = split(await communicator.receive_from(timeout=2))
        if meta["kind"] == "heartbeat":
            break
    assert meta["kind"] == "heartbeat" and body == ""
    assert meta["seq"] >= snapshot_meta["seq"] and meta["epoch"] == snapshot_meta["epoch"]
    await communicator.disconnect()


async def test_nobody_and_unknown_pages_are_refused(bridge: Bridge) -> None:
    anonymous = communicator_for("/ws/live/overview/")
    connected, code = await anonymous.connect()
    assert not connected and code == 4403
    wrong = communicator_for("/ws/live/secrets/", await superuser())
    connected, code = await wrong.connect()
    assert not connected and code == 4404


async def test_a_wallboard_connects_by_token_until_revoked(bridge: Bridge) -> None:
    def make_board() -> Wallboard:
        board = Wallboard.objects.create(name="TV", pages=["overview", "agents"])
        board.teams.add(Team.objects.get(clarity_id=1))
        return board

    board = await sync_to_async(make_board)()
    communicator = communicator_for(f"/ws/wallboard/{board.token}/")
    assert (await communicator.connect())[0]
    meta, html = split(await communicator.receive_from(timeout=5))
    assert meta["kind"] == "snapshot" and 'id="agent-' in html
    await communicator.disconnect()
    await sync_to_async(store.revoke_wallboard)(board)
    refused = communicator_for(f"/ws/wallboard/{board.token}/")
    connected, code = await refused.connect()
    assert not connected and code == 4403

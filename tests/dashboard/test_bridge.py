"""What the bridge persists (Bridge.persist): against a frozen simulator, only the agents and
alerts that changed since the last call, as the live picture has them at the time of the call.

The bridge's own once-a-second persist loop is idled here, so that what the database holds
after each persist() is that call's doing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from dashboard.bridge import Bridge
from dashboard.models import Agent, Alert, StatusPeriod
from integrations.clarity.simulator.render import agent_status, status_history
from integrations.clarity.simulator.server import SimulatorThread
from integrations.clarity.wire import parse_timestamp

from .bridge_harness import (
    frozen_simulator,
    running_bridge,
    set_everyone,
    set_status,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

AT_LUNCH = (3, 2)  # agentStatusId Unavailable, reasonCodeId "At Lunch"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the changes are the ones the tests make."""
    with frozen_simulator(seed=54) as s:
        yield s


@pytest.fixture
async def bridge(sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch,
                 ) -> AsyncIterator[Bridge]:
    async def idle(self: Bridge) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(Bridge, "_persist_loop", idle)
    async with running_bridge(sim, build="test-build") as running:
        yield running


async def _in_simulator(sim: SimulatorThread, fn: Any, *args: Any) -> Any:
    """`fn(*args)` on the simulator's loop, from the test's loop."""
    return await asyncio.to_thread(sim.call, fn, *args)


async def _idle_available_agents(sim: SimulatorThread) -> list[int]:
    """Agents with nothing to do and not on a break (so nothing but a test moves them, and
    "At Lunch" is a change for each), that the MBU sync stored. The simulator starts at the
    wall-clock hour: at a busy one nobody may be available, so any such status will do."""
    def idle() -> list[int]:
        return sorted(a.id for a in sim.sim.cc.agents.values()
                      if a.status != "unavailable" and not a.session_ids
                      and a.offer_session_id is None)

    ids = await _in_simulator(sim, idle)
    stored = await sync_to_async(lambda: set(
        Agent.objects.filter(clarity_id__in=ids).values_list("clarity_id", flat=True)))()
    found = [agent_id for agent_id in ids if agent_id in stored]
    assert len(found) >= 2, "the seed has no two idle agents off a break"
    return found


async def _row(agent_id: int) -> Agent:
    return await sync_to_async(Agent.objects.get)(clarity_id=agent_id)


def _picture_status(bridge: Bridge, agent_id: int) -> dict[str, Any]:
    item = bridge.state.picture.picture.get(("agent", agent_id)) or {}
    return item.get("currentStatus") or {}


async def test_persist_stores_a_changed_status_and_the_period_it_ended(
        sim: SimulatorThread, bridge: Bridge) -> None:
    agent_id = (await _idle_available_agents(sim))[0]
    await bridge.persist()  # everything the bridge has seen since it started
    before = await _row(agent_id)
    status_before = _picture_status(bridge, agent_id)["agentStatus"]
    assert before.status == status_before and before.status_since is not None
    previous_start = before.status_since

    await set_status(sim, agent_id, *AT_LUNCH)

    async def in_the_picture() -> bool:
        return _picture_status(bridge, agent_id).get("agentStatus") == "unavailable"

    await wait_until("the bridge's picture showing the new status", in_the_picture)
    unchanged = await _row(agent_id)
    assert unchanged.status == status_before, "nothing but persist() writes agents here"
    assert not await sync_to_async(StatusPeriod.objects.filter(
        agent__clarity_id=agent_id, started_at=previous_start, status=status_before).exists)(), \
        "a period is stored once it has ended"

    await bridge.persist()

    agent = await _in_simulator(sim, sim.sim.cc.agents.__getitem__, agent_id)
    upstream = await _in_simulator(sim, agent_status, agent)
    after = await _row(agent_id)
    assert (after.status, after.reason_code) == (upstream["agentStatus"],
                                                 upstream["reasonCodeName"])
    assert (after.status, after.reason_code) == ("unavailable", "At Lunch")
    assert after.status_since == parse_timestamp(upstream["startTime"]) != previous_start
    # The period the change ended, as the simulator's history lists it.
    ended = (await _in_simulator(sim, status_history, agent, sim.sim.cc.now))[-1]
    assert ended["agentStatus"] == status_before
    assert parse_timestamp(ended["startTime"]) == previous_start
    period = await sync_to_async(StatusPeriod.objects.get)(
        agent__clarity_id=agent_id, started_at=previous_start, status=status_before)
    assert period.ended_at == parse_timestamp(ended["endTime"]) == after.status_since
    await set_status(sim, agent_id, 1)


async def test_persist_leaves_an_agent_that_did_not_change_alone(
        sim: SimulatorThread, bridge: Bridge) -> None:
    changed_id, unchanged_id = (await _idle_available_agents(sim))[:2]
    await bridge.persist()
    # A value the picture does not have: persisting this agent again would overwrite it.
    await sync_to_async(Agent.objects.filter(clarity_id=unchanged_id).update)(
        status="offWork", reason_code="set by hand", updated_at=LONG_AGO)
    picture = bridge.state.picture.picture
    unchanged_version = picture.entity_version(("agent", unchanged_id))
    unchanged_status = _picture_status(bridge, unchanged_id)["agentStatus"]

    await set_status(sim, changed_id, *AT_LUNCH)

    async def in_the_picture() -> bool:
        return _picture_status(bridge, changed_id).get("agentStatus") == "unavailable"

    await wait_until("the bridge's picture showing the new status", in_the_picture)
    await bridge.persist()

    assert picture.entity_version(("agent", unchanged_id)) == unchanged_version, \
        "the feed did not change the other agent"
    assert _picture_status(bridge, unchanged_id)["agentStatus"] == unchanged_status
    untouched = await _row(unchanged_id)
    assert (untouched.status, untouched.reason_code, untouched.updated_at) == (
        "offWork", "set by hand", LONG_AGO)
    changed = await _row(changed_id)
    assert changed.status == "unavailable" and changed.updated_at > LONG_AGO
    await set_status(sim, changed_id, 1)


async def test_persist_stores_an_alert_the_simulator_raised(
        sim: SimulatorThread, bridge: Bridge) -> None:
    await bridge.persist()
    stored_before = set(await sync_to_async(
        lambda: list(Alert.objects.values_list("clarity_id", flat=True)))())
    try:
        # Nobody to answer, the clock 200 s on: waits pass 120 s, a critical alert per queue.
        await asyncio.to_thread(set_everyone, sim, "unavailable", 200)

        async def raised() -> dict[str, Any] | None:
            return next((item for alert_id, item in sorted(bridge.state.picture.picture
                                                           .alerts().items())
                         if alert_id not in stored_before and item.get("isActive")
                         and item.get("severity", "").lower() == "critical"
                         and str(item.get("entityType", "")).lower() == "queue"
                         and item.get("metric") == "longestQueuedTime"), None)

        item = await wait_until("a critical wait alert in the bridge's picture", raised)
        assert not await sync_to_async(Alert.objects.filter(clarity_id=item["id"]).exists)()

        await bridge.persist()

        alert = await sync_to_async(Alert.objects.get)(clarity_id=item["id"])
        assert alert.is_active and alert.severity == "critical"
        assert (alert.entity_type.lower(), alert.entity_id, alert.metric) == (
            "queue", item["entityId"], "longestQueuedTime")
        assert alert.name == item["name"] and alert.raised_at == parse_timestamp(
            item["raisedTime"])
    finally:
        await asyncio.to_thread(set_everyone, sim, "available", 60)

"""LiveState.snapshot(): the snapshot a page gets is kept per set of groups and brought up to
date on the next request (so that a resync storm does not rebuild it per page). Checked against
what a fresh build of the same groups gives at the same moment, while the real simulator's
traffic model moves at 120x (statuses, sessions, alerts raised and cleared, agents logging on
and off) and the bridge follows it."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator

import pytest

from dashboard import live
from dashboard.bridge import Bridge
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

from .bridge_harness import running_bridge

pytestmark = pytest.mark.django_db(transaction=True)

ALERT_LIST = re.compile(r'<div hx-swap-oob="innerHTML:#alerts-list">.*</div>\Z', re.DOTALL)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(port=0, seed=71, speed=120.0, ping_interval=2)) as s:
        yield s


def fresh(state: live.LiveState, groups: list[str]) -> tuple[str, dict[str, int], list[str]]:
    """A snapshot built from nothing: every widget rendered now (render() of each key)."""
    keys = state.keys_for(groups)
    pieces = [state.render(key) for key in keys if key[0] != "alert"]
    return state.snapshot_html(keys), state.versions(keys), pieces


def assert_same_as_fresh(state: live.LiveState, groups: list[str]) -> str:
    while True:
        # Queue tiles and panels render with the clock's second (their timers): compare two
        # builds made within the same one.
        second = int(time.time())
        html, versions = state.snapshot(groups)
        expected_html, expected_versions, pieces = fresh(state, groups)
        if int(time.time()) == second:
            break
    assert versions == expected_versions
    # The same widgets (their order among themselves does not matter: each swaps by its id)...
    assert len(html) == len(expected_html)
    missing = [piece for piece in pieces if piece not in html]
    assert not missing, missing[:1]
    # ...and the same alert list, in the pages' order.
    got, want = ALERT_LIST.search(html), ALERT_LIST.search(expected_html)
    assert got is not None and want is not None
    assert got.group(0) == want.group(0)
    return html


async def test_a_kept_snapshot_brought_up_to_date_equals_a_fresh_one(sim: SimulatorThread,
                                                                   ) -> None:
    async with running_bridge(sim, build="test-build") as bridge:
        assert isinstance(bridge, Bridge)
        state = bridge.state
        keys = state.picture.picture.entity_keys()
        queues = sorted(k[1] for k in keys if k[0] == "queue")
        agents = sorted(k[1] for k in keys if k[0] == "agent")
        assert len(queues) > 4 and len(agents) > 20
        everything = live.groups_for(live.Visibility(
            agent_ids=frozenset(int(a) for a in agents),
            queue_ids=frozenset(int(q) for q in queues)), "wallboard")
        half = live.groups_for(live.Visibility(
            agent_ids=frozenset(int(a) for a in agents[::2]),
            queue_ids=frozenset(int(q) for q in queues[::2])), "agents")
        panel = live.groups_for(live.Visibility(agent_ids=frozenset({int(agents[3])})),
                                "agent", agent_id=int(agents[3]))
        group_sets = [everything, half, panel]

        first = {tuple(groups): assert_same_as_fresh(state, groups) for groups in group_sets}
        kept = {tuple(groups): state._snapshots[frozenset(groups)] for groups in group_sets}
        versions_seen = {state.picture.picture.version}
        alerts_seen: set[object] = set()
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            await asyncio.sleep(0.15)
            for groups in group_sets:
                assert_same_as_fresh(state, groups)
            versions_seen.add(state.picture.picture.version)
            alerts_seen.update(k for k in state.picture.picture.entity_keys() if k[0] == "alert")
        # The traffic moved the picture many times, and the kept snapshots followed it: each
        # was brought up to date, never built again (the same object all along).
        assert len(versions_seen) > 20
        for groups in group_sets:
            assert state._snapshots[frozenset(groups)] is kept[tuple(groups)]
            assert state.snapshot(groups)[0] != first[tuple(groups)] or groups is panel
        # An acknowledgement (a local change) reaches the kept snapshot too.
        if alerts_seen:
            alert = next(iter(k for k in state.picture.picture.entity_keys() if k[0] == "alert"),
                         None)
            if alert is not None:
                state.acknowledge(int(alert[1]), "lead", "2026-11-22T10:42:00+00:00")
                assert "lead" in assert_same_as_fresh(state, everything)
        # A new epoch (the bridge started over) builds anew.
        state.new_epoch()
        assert_same_as_fresh(state, everything)
        assert state._snapshots[frozenset(everything)] is not kept[tuple(everything)]


def test_the_kept_snapshots_are_bounded() -> None:
    state = live.LiveState()
    for agent_id in range(live.SNAPSHOTS_KEPT + 10):
        state.snapshot([f"{live.PANEL}.{agent_id}"])
    assert len(state._snapshots) == live.SNAPSHOTS_KEPT
    # The least recently asked for went first.
    assert frozenset([f"{live.PANEL}.0"]) not in state._snapshots
    assert json.dumps(state.snapshot([])[1]) == "{}"

"""Threshold rules' optional OpenMethods action: a crossing into the critical level is sent once,
again only after the tile has left it; only the rule that colours the tile notifies; and the
bridge's periodic job sends it through the local OpenMethods fake, audited under the rule."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer

from dashboard import live
from dashboard.bridge import Bridge
from dashboard.models import Agent, AuditEntry, OpenMethodsLogin
from dashboard.rule_notifications import CrossingWatch, tiles_of
from dashboard.store import Threshold
from integrations.clarity.config import ClarityConfig
from integrations.fake_server import FakeServerThread
from integrations.openmethods.client import OpenMethodsConfig
from integrations.openmethods.fake import DEMO_API_KEY, FakeOpenMethods

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WAITING = Threshold("queuedCount", 3, 5, rule_id=1, name="Waiting", notify_agent_id=5,
                    notify_event="Queue Alarm")


def _tiles(queued: dict[tuple[int, str], int]) -> list[tuple[int, str, str, dict[str, Any]]]:
    return [(queue_id, f"Queue {queue_id}", modality, {"queuedCount": count})
            for (queue_id, modality), count in queued.items()]


def test_a_crossing_is_sent_once_and_again_only_after_leaving_the_critical_level() -> None:
    watch = CrossingWatch()
    assert watch.check([WAITING], _tiles({(1, "audio"): 4}), NOW) == []  # amber only
    [crossing] = watch.check([WAITING], _tiles({(1, "audio"): 5}), NOW)
    assert (crossing.queue_id, crossing.modality, crossing.value) == (1, "audio", 5)
    assert crossing.properties() == {"queue": "Queue 1", "queueId": "1", "modality": "audio",
                                     "metric": "queuedCount", "value": "5",
                                     "level": "critical", "rule": "Waiting"}
    assert watch.check([WAITING], _tiles({(1, "audio"): 9}), NOW) == []  # still critical
    assert watch.check([WAITING], _tiles({(1, "audio"): 2}), NOW) == []  # back to normal
    assert len(watch.check([WAITING], _tiles({(1, "audio"): 6}), NOW)) == 1  # a new crossing


def test_each_tile_crosses_on_its_own() -> None:
    watch = CrossingWatch()
    first = watch.check([WAITING], _tiles({(1, "audio"): 6, (2, "audio"): 1}), NOW)
    assert [(c.queue_id, c.modality) for c in first] == [(1, "audio")]
    second = watch.check([WAITING], _tiles({(1, "audio"): 6, (2, "audio"): 6,
                                            (1, "instantMessage"): 7}), NOW)
    assert sorted((c.queue_id, c.modality) for c in second) == [(1, "instantMessage"),
                                                                (2, "audio")]


def test_only_the_rule_that_colours_the_tile_notifies() -> None:
    # A rule for queue 1 alone is more specific: it keeps queue 1 amber at 6, so the general
    # rule, which would call 6 critical, does not decide there (as on the page).
    lenient = Threshold("queuedCount", 5, 10, queue_id=1, rule_id=2, name="Queue 1")
    crossings = CrossingWatch().check([WAITING, lenient],
                                      _tiles({(1, "audio"): 6, (2, "audio"): 6}), NOW)
    assert [c.queue_id for c in crossings] == [2]


def test_rules_without_the_action_send_nothing() -> None:
    silent = Threshold("queuedCount", 3, 5, rule_id=3, name="Colour only")
    assert CrossingWatch().check([silent], _tiles({(1, "audio"): 9}), NOW) == []


def test_the_longest_wait_counts_from_its_start_time_between_updates() -> None:
    rule = Threshold("longestQueuedTime", 60_000, 120_000, rule_id=4, name="Long wait",
                     notify_agent_id=5, notify_event="Queue Alarm")
    started = (NOW - timedelta(seconds=100)).isoformat()
    bag = {"longestQueuedTime": 1000, "longestQueuedStartTime": started}
    watch = CrossingWatch()
    assert watch.check([rule], [(1, "Sales", "audio", bag)], NOW) == []
    # No update came, but the oldest contact has now waited over two minutes.
    assert len(watch.check([rule], [(1, "Sales", "audio", bag)],
                           NOW + timedelta(seconds=30))) == 1


def test_tiles_of_skips_the_agnostic_totals() -> None:
    item = {"metrics": {"audio": {"queuedCount": 1}, "agnostic": {"queuedCount": 1},
                        "broken": "not a bag"}}
    assert [(q, m) for q, _, m, _ in tiles_of([(1, "Sales", item)])] == [(1, "audio")]


# -- the bridge's job, against the fake --------------------------------------------------------


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeOpenMethods]:
    state = FakeOpenMethods()
    with FakeServerThread(state.app(), name="fake-openmethods") as server:
        settings.OPENMETHODS = OpenMethodsConfig(api_key=DEMO_API_KEY, base_url=server.url)
        yield state


def _bridge(queued: int) -> Bridge:
    config = ClarityConfig.from_env({"CLARITY_URL": "http://127.0.0.1:9", "CLARITY_AUTH": "basic",
                                     "CLARITY_USERNAME": "supervisor",
                                     "CLARITY_PASSWORD": "demo"})
    bridge = Bridge(config, layer=InMemoryChannelLayer(), state=live.LiveState(build="t"))
    bridge.state.upstream_ok = True
    bridge.state.names = {"queue.1": "Sales"}
    bridge.state.thresholds = [WAITING]
    _set_queued(bridge, queued, sequence=1)
    return bridge


def _set_queued(bridge: Bridge, queued: int, *, sequence: int) -> None:
    bridge.state.picture.picture.apply({
        "subscriptionId": "s-q", "subscriptionType": "queues", "sequence": sequence,
        "isSnapshot": True, "timestamp": NOW.isoformat(),
        "items": [{"type": "queue", "id": 1, "name": "Sales",
                   "metrics": {"audio": {"queuedCount": queued}}}]})


async def _sent(bridge: Bridge) -> None:
    await asyncio.gather(*bridge._notifying)


@pytest.mark.django_db(transaction=True)
async def test_the_bridge_sends_a_rules_event_once_per_crossing(fake: FakeOpenMethods) -> None:
    def lead() -> None:
        agent = Agent.objects.create(clarity_id=5, name="Team Lead")
        OpenMethodsLogin.objects.create(agent=agent, cti_login="TLead")

    await sync_to_async(lead)()
    bridge = _bridge(queued=7)
    assert await bridge.notify_crossings() == 1
    await _sent(bridge)
    [event] = list(fake.events)
    assert (event["agent_id"], event["event"]) == ("TLead", "Queue Alarm")
    assert event["properties"]["queue"] == "Sales" and event["properties"]["value"] == "7"
    assert await bridge.notify_crossings() == 0
    _set_queued(bridge, 0, sequence=2)
    assert await bridge.notify_crossings() == 0
    _set_queued(bridge, 8, sequence=3)
    assert await bridge.notify_crossings() == 1
    await _sent(bridge)
    assert len(fake.events) == 2
    entries = await sync_to_async(lambda: list(AuditEntry.objects.values_list(
        "username", "action", "outcome", "target_id")))()
    assert entries == [("rule: Waiting", "agent.notify", "ok", 5)] * 2


async def test_a_stale_picture_pages_nobody(fake: FakeOpenMethods) -> None:
    bridge = _bridge(queued=7)
    bridge.state.upstream_ok = False
    assert await bridge.notify_crossings() == 0


async def test_nothing_is_checked_where_openmethods_is_off(settings: Any) -> None:
    settings.OPENMETHODS = None
    assert await _bridge(queued=7).notify_crossings() == 0

"""Tests for `integrations.clarity.merge`, written from the contract page and the seed only.

The example tests take their shapes from the contract's "Snapshot, diffs and sequence" and the
seed's Request & Response Dictionary. The property tests keep a small upstream model with its
own diff generator (written here, independently of merge.py), push its snapshot and diffs
through a network that duplicates, reorders and drops, resubscribe like a real caller, and
check that the merged picture ends equal to the upstream.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from integrations.clarity.merge import (
    ApplyResult,
    ApplyStatus,
    MergeError,
    Picture,
    parse_timestamp,
)

T0 = datetime(2016, 10, 27, 19, 56, 2, 980000, tzinfo=UTC)


def wire_time(moment: datetime) -> str:
    """The contract's timestamp format: "2016-10-27T19:56:02.98Z"."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 10000:02d}Z"


def msg(
    sequence: int,
    items: list[dict[str, Any]],
    *,
    snapshot: bool = False,
    sid: str = "s-9f2c",
    kind: str = "agents",
    at: datetime = T0,
) -> dict[str, Any]:
    return {
        "subscriptionId": sid,
        "subscriptionType": kind,
        "sequence": sequence,
        "isSnapshot": snapshot,
        "timestamp": wire_time(at),
        "items": items,
    }


def dump(picture: Picture) -> Any:
    """Everything a caller can observe, to show a call changed nothing."""
    return (
        picture.version,
        picture.agents(),
        picture.queues(),
        picture.groups(),
        picture.aggregates(),
        picture.alerts(),
        picture.subscriptions(),
        picture.changed_since(0),
    )


# The seed's "Multiple Agents by ID" response, used as a snapshot's items.
RIKER_AND_ROB = [
    {
        "type": "agent",
        "metrics": {
            "audio": {"ronaCount": 0, "answeredCount": 0},
            "instantMessage": {"ronaCount": 0, "answeredCount": 0},
            "message": {"ronaCount": 0, "currentlyActiveCount": 0},
            "agnostic": {"availableTime": 0, "total": 0},
        },
        "name": "Rob T.",
        "id": 41,
        "currentStatus": {
            "agentStatus": "ringOnNoAnswer",
            "startTime": "2016-10-27T19:56:02.98Z",
            "isSuspended": False,
        },
    },
    {
        "type": "Agent",
        "metrics": {"audio": {"ronaCount": 0, "answeredCount": 0}},
        "name": "Commander William T. Riker",
        "id": 37,
        "currentStatus": {
            "agentStatus": "unavailable",
            "startTime": "2016-10-28T04:50:32.503Z",
            "isSuspended": False,
        },
    },
]


@pytest.fixture
def picture() -> Picture:
    return Picture()


def test_snapshot_of_the_seed_sample(picture: Picture) -> None:
    result = picture.apply(msg(1, copy.deepcopy(RIKER_AND_ROB), snapshot=True))
    assert result.status is ApplyStatus.SNAPSHOT
    assert dict(result.changed) == {("agent", 41): 1, ("agent", 37): 1}
    assert result.version == picture.version == 1
    agents = picture.agents()
    assert set(agents) == {37, 41}
    # The wire's "Agent" is stored in the contract's spelling.
    assert agents[37]["type"] == "agent"
    assert agents[41]["name"] == "Rob T."
    assert agents[41]["metrics"]["message"] == {"ronaCount": 0, "currentlyActiveCount": 0}
    assert "sessions" not in agents[41]  # "not handling any sessions": no sessions key
    assert picture.queues() == {}


def test_metric_bag_merges_per_modality_and_metric(picture: Picture) -> None:
    picture.apply(
        msg(
            1,
            [
                {
                    "type": "agent",
                    "id": 41,
                    "metrics": {
                        "audio": {"ronaCount": 0, "answeredCount": 0},
                        "message": {"ronaCount": 0},
                        "agnostic": {
                            "availableTime": {"total": 100, "average": 50.0, "count": 2},
                            "directInboundTime": {"total": 0, "average": 0, "count": 0},
                        },
                    },
                }
            ],
            snapshot=True,
        )
    )
    picture.apply(
        msg(
            2,
            [
                {
                    "type": "agent",
                    "id": 41,
                    "metrics": {
                        "audio": {"answeredCount": 3},
                        "instantMessage": {"takenCount": 1},
                        # An agnostic object is a value: replaced whole, "average" is gone.
                        "agnostic": {"availableTime": {"total": 300, "count": 3}},
                    },
                }
            ],
        )
    )
    metrics = picture.agents()[41]["metrics"]
    assert metrics == {
        "audio": {"ronaCount": 0, "answeredCount": 3},
        "message": {"ronaCount": 0},
        "instantMessage": {"takenCount": 1},
        "agnostic": {
            "availableTime": {"total": 300, "count": 3},
            "directInboundTime": {"total": 0, "average": 0, "count": 0},
        },
    }


def test_current_status_is_replaced_whole_when_present(picture: Picture) -> None:
    lunch = {
        "agentStatus": "unavailable",
        "reasonCodeName": "Out for Lunch",
        "startTime": "2016-11-01T21:13:10.293Z",
        "isSuspended": False,
    }
    picture.apply(msg(1, [{"type": "agent", "id": 5, "currentStatus": lunch}], snapshot=True))
    picture.apply(msg(2, [{"type": "agent", "id": 5, "name": "Data"}]))
    assert picture.agents()[5]["currentStatus"] == lunch  # absent: unchanged
    back = {"agentStatus": "available", "startTime": "2016-11-01T22:00:00Z"}
    picture.apply(msg(3, [{"type": "agent", "id": 5, "currentStatus": back}]))
    assert picture.agents()[5]["currentStatus"] == back  # no reasonCodeName left over


def test_scalar_fields_replace(picture: Picture) -> None:
    picture.apply(msg(1, [{"type": "agent", "id": 5, "name": "Data", "teamId": 3}], snapshot=True))
    picture.apply(msg(2, [{"type": "agent", "id": 5, "name": "Lt. Cmdr. Data"}]))
    assert picture.agents()[5] == {
        "type": "agent",
        "id": 5,
        "name": "Lt. Cmdr. Data",
        "teamId": 3,
    }


def session(session_id: int, status: str = "Queued", **extra: Any) -> dict[str, Any]:
    return {
        "sessionId": session_id,
        "sessionType": "queued",
        "queueId": 11,
        "sessionStatus": status,
        **extra,
    }


def sessions_of(view: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    return {
        modality: {s["sessionId"]: s for s in bag["sessions"]}
        for modality, bag in view.get("sessions", {}).items()
    }


def test_a_read_without_copy_shows_the_same_item_and_a_copy_is_the_callers_own(
        picture: Picture) -> None:
    picture.apply(msg(1, [{"type": "queue", "id": 11, "metrics": {"audio": {"queuedCount": 2}},
                           "sessions": {"audio": {"sessions": [session(1)]}}}],
                      kind="queues", snapshot=True))
    shared = picture.get(("queue", 11), copy=False)
    own = picture.get(("queue", 11))
    assert shared == own
    # A copy may be changed freely; the picture (and so an uncopied read) does not see it.
    assert own is not None
    own["sessions"]["audio"]["sessions"][0]["status"] = "changed by the caller"
    own["metrics"]["audio"]["queuedCount"] = 99
    assert picture.get(("queue", 11), copy=False) == shared != own


def test_sessions_are_added_replaced_and_removed_per_modality(picture: Picture) -> None:
    picture.apply(
        msg(
            1,
            [
                {
                    "type": "queue",
                    "id": 11,
                    "sessions": {
                        "audio": {"sessions": [session(1), session(2)]},
                        "message": {"sessions": [session(72331)]},
                    },
                }
            ],
            kind="queues",
            snapshot=True,
        )
    )
    picture.apply(
        msg(
            2,
            [
                {
                    "type": "queue",
                    "id": 11,
                    "sessions": {
                        "audio": {
                            "addedSessions": [session(3)],
                            "sessions": [session(1, "Active", activeMs=22954)],
                            "removedSessions": [session(2)],
                        },
                        "instantMessage": {"addedSessions": [session(9)]},
                    },
                }
            ],
            kind="queues",
        )
    )
    assert sessions_of(picture.queues()[11]) == {
        "audio": {1: session(1, "Active", activeMs=22954), 3: session(3)},
        "message": {72331: session(72331)},  # untouched modality
        "instantMessage": {9: session(9)},
    }
    # Removing the last session of a modality drops the bag; removing an unknown id is a no-op.
    picture.apply(
        msg(
            3,
            [
                {
                    "type": "queue",
                    "id": 11,
                    "sessions": {
                        "message": {"removedSessions": [{"sessionId": 72331}, {"sessionId": 4}]}
                    },
                }
            ],
            kind="queues",
        )
    )
    assert set(sessions_of(picture.queues()[11])) == {"audio", "instantMessage"}


def test_a_snapshot_session_list_is_the_full_list(picture: Picture) -> None:
    item = {
        "type": "agent",
        "id": 41,
        "sessions": {"audio": {"sessions": [session(1), session(2)]}},
    }
    picture.apply(msg(1, [item], snapshot=True))
    later = {"type": "agent", "id": 41, "sessions": {"audio": {"sessions": [session(2, "Active")]}}}
    picture.apply(msg(2, [later], snapshot=True))
    assert sessions_of(picture.agents()[41]) == {"audio": {2: session(2, "Active")}}


def status(name: str, start: datetime, end: datetime | None) -> dict[str, Any]:
    return {
        "agentStatus": name,
        "startTime": wire_time(start),
        "endTime": None if end is None else wire_time(end),
    }


def test_status_history_appends_and_trims_at_24_hours(picture: Picture) -> None:
    day = timedelta(hours=24)
    old = status("busy", T0 - 26 * timedelta(hours=1), T0 - day - timedelta(seconds=1))
    edge = status("available", T0 - 25 * timedelta(hours=1), T0 - day)
    recent = status("inCall", T0 - 2 * timedelta(hours=1), T0 - timedelta(hours=1))
    open_ended = status("afterCall", T0 - 30 * timedelta(hours=1), None)
    picture.apply(
        msg(
            1,
            [
                {"type": "agent", "id": 5, "statusHistory": [old, edge, recent, open_ended]},
                {"type": "agent", "id": 6, "statusHistory": [edge]},
                {"type": "agent", "id": 7, "name": "no history"},
            ],
            snapshot=True,
        )
    )
    # Older than 24 h relative to the message's timestamp goes; exactly 24 h stays, and an
    # entry with no endTime is never trimmed.
    assert picture.agents()[5]["statusHistory"] == [edge, recent, open_ended]
    assert picture.agents()[6]["statusHistory"] == [edge]

    later = T0 + timedelta(minutes=30)
    appended = status("available", T0 - timedelta(minutes=10), later)
    result = picture.apply(
        msg(2, [{"type": "agent", "id": 5, "statusHistory": [appended]}], at=later)
    )
    assert picture.agents()[5]["statusHistory"] == [recent, open_ended, appended]
    # Agent 6 was not named in the diff, but its entry aged out: it changed too.
    assert "statusHistory" not in picture.agents()[6]
    assert dict(result.changed) == {("agent", 5): 2, ("agent", 6): 2}


def test_status_history_accepts_the_seed_sample_time_format(picture: Picture) -> None:
    sample = {
        "agentStatus": "available",
        "startTime": "2016-1-1 05:00",
        "endTime": "2016-1-1 06:00",
    }
    noon = datetime(2016, 1, 1, 12, 0, tzinfo=UTC)
    picture.apply(
        msg(1, [{"type": "agent", "id": 5, "statusHistory": [sample]}], snapshot=True, at=noon)
    )
    assert picture.agents()[5]["statusHistory"] == [sample]
    next_morning = noon + timedelta(hours=18, minutes=1)  # 24 h and 1 min after 06:00
    picture.apply(msg(2, [{"type": "agent", "id": 5, "name": "x"}], at=next_morning))
    assert "statusHistory" not in picture.agents()[5]


def test_breakdowns_work_like_sessions_keyed_by_queue_id(picture: Picture) -> None:
    def breakdown(queue_id: int, answered: int) -> dict[str, Any]:
        return {"queueId": queue_id, "metrics": {"audio": {"answeredCount": answered}}}

    picture.apply(
        msg(
            1,
            [{"type": "agent", "id": 41, "breakdowns": [breakdown(1, 0), breakdown(2, 5)]}],
            snapshot=True,
        )
    )
    picture.apply(
        msg(
            2,
            [
                {
                    "type": "agent",
                    "id": 41,
                    "addedBreakdowns": [breakdown(3, 1)],
                    "breakdowns": [breakdown(1, 7)],
                    "removedBreakdowns": [{"queueId": 2}],
                }
            ],
        )
    )
    view = picture.agents()[41]
    assert {b["queueId"]: b for b in view["breakdowns"]} == {1: breakdown(1, 7), 3: breakdown(3, 1)}
    assert "addedBreakdowns" not in view and "removedBreakdowns" not in view


def alert(alert_id: int, **changes: Any) -> dict[str, Any]:
    base = {
        "type": "alert",
        "id": alert_id,
        "name": "Longest wait over 120 s",
        "severity": "critical",
        "entityType": "queue",
        "entityId": 3,
        "entityName": "Support",
        "metric": "longestQueuedTime",
        "modality": "audio",
        "value": 131000,
        "threshold": 120000,
        "isActive": True,
        "raisedTime": "2016-10-27T19:56:02.98Z",
        "clearedTime": None,
        "message": "Support: longest wait 131 s",
    }
    return {**base, **changes}


def test_alerts_are_replaced_whole_by_id(picture: Picture) -> None:
    picture.apply(msg(1, [alert(501), alert(502)], kind="alerts", snapshot=True))
    cleared = {"type": "alert", "id": 501, "isActive": False, "clearedTime": "2016-10-27T20:00:00Z"}
    result = picture.apply(msg(2, [cleared], kind="alerts"))
    assert dict(result.changed) == {("alert", 501): 2}
    assert picture.alerts() == {501: cleared, 502: alert(502)}  # no field of the old 501 left
    picture.apply(msg(3, [alert(502)], kind="alerts", snapshot=True))
    assert picture.alerts() == {502: alert(502)}


# The seed's "Group Agent Metrics" response, as a group subscription's snapshot.
SEED_GROUPS = [
    {"groupType": "group", "groupId": 2, "entityIds": [], "type": "agent"},
    {"groupType": "group", "groupId": 3, "entityIds": [], "type": "agent"},
    {
        "groupType": "group",
        "groupId": 5,
        "entityIds": [49, 52],
        "type": "agent",
        "metrics": {
            "audio": {"ronaCount": 1, "answeredCount": 1},
            "message": {"ronaCount": 0, "currentlyActiveCount": 1},
            "agnostic": {
                "availableTime": {"total": 13205103, "average": 6602551.5, "count": 2},
                "directInboundTime": {"total": 0, "average": 0, "count": 0},
            },
        },
        "sessions": {"message": {"sessions": [{"sessionId": 72331, "sessionType": "queued"}]}},
    },
]


def test_group_items_are_keyed_by_kind_group_type_and_id(picture: Picture) -> None:
    picture.apply(msg(1, copy.deepcopy(SEED_GROUPS), kind="agentsGroup", snapshot=True))
    groups = picture.groups()
    assert set(groups) == {("agent", "group", 2), ("agent", "group", 3), ("agent", "group", 5)}
    assert groups[("agent", "group", 5)] == SEED_GROUPS[2]
    picture.apply(
        msg(
            2,
            [
                {
                    "groupType": "Group",
                    "groupId": 5,
                    "entityIds": [49],
                    "metrics": {"audio": {"ronaCount": 2}},
                }
            ],
            kind="agentsGroup",
        )
    )
    five = picture.groups()[("agent", "group", 5)]
    assert five["entityIds"] == [49]
    assert five["metrics"]["audio"] == {"ronaCount": 2, "answeredCount": 1}
    assert five["groupType"] == "group"
    # Queue groups with the same group id are a different entity.
    picture.apply(
        msg(1, [{"groupType": "team", "groupId": 5}], sid="q", kind="queuesGroup", snapshot=True)
    )
    assert ("queue", "team", 5) in picture.groups()
    assert ("agent", "group", 5) in picture.groups()


def test_an_aggregate_item_is_keyed_by_its_subscription(picture: Picture) -> None:
    seed_sample = {
        "entityIds": [41, 37],
        "type": "agent",
        "metrics": {"audio": {"ronaCount": 2, "answeredCount": 5}},
    }
    picture.apply(msg(1, [seed_sample], sid="agg-1", kind="agentsAggregate", snapshot=True))
    picture.apply(
        msg(
            1,
            [{"entityIds": [1], "type": "queue"}],
            sid="agg-2",
            kind="queuesAggregate",
            snapshot=True,
        )
    )
    result = picture.apply(
        msg(
            2,
            [{"entityIds": [41, 37], "metrics": {"audio": {"ronaCount": 3}}}],
            sid="agg-1",
            kind="agentsAggregate",
        )
    )
    assert dict(result.changed) == {("aggregate", "agg-1"): 2}
    aggregates = picture.aggregates()
    assert set(aggregates) == {"agg-1", "agg-2"}
    assert aggregates["agg-1"]["metrics"] == {"audio": {"ronaCount": 3, "answeredCount": 5}}
    assert picture.agents() == {}


def test_entity_type_and_group_type_compare_without_case(picture: Picture) -> None:
    picture.apply(msg(1, [{"type": "Agent", "id": 41, "name": "Rob T."}], snapshot=True))
    picture.apply(msg(2, [{"type": "AGENT", "id": 41, "metrics": {"audio": {"ronaCount": 1}}}]))
    picture.apply(msg(3, [{"type": "agent", "id": 41, "name": "Rob"}]))
    assert picture.agents() == {
        41: {"type": "agent", "id": 41, "name": "Rob", "metrics": {"audio": {"ronaCount": 1}}}
    }
    picture.apply(
        msg(
            1,
            [{"groupType": "BusinessUnit", "groupId": 1}],
            sid="g",
            kind="agentsGroup",
            snapshot=True,
        )
    )
    picture.apply(
        msg(
            2,
            [{"groupType": "businessunit", "groupId": 1, "name": "BU"}],
            sid="g",
            kind="agentsGroup",
        )
    )
    assert picture.groups() == {
        ("agent", "businessUnit", 1): {"groupType": "businessUnit", "groupId": 1, "name": "BU"}
    }


def test_a_diff_may_bring_a_new_entity(picture: Picture) -> None:
    picture.apply(msg(1, [{"type": "agent", "id": 1}], snapshot=True))
    result = picture.apply(msg(2, [{"type": "agent", "id": 2, "name": "new"}]))
    assert dict(result.changed) == {("agent", 2): 1}
    assert set(picture.agents()) == {1, 2}


# --- sequence -------------------------------------------------------------------------------


def test_duplicates_are_ignored(picture: Picture) -> None:
    first = msg(1, [{"type": "agent", "id": 1, "name": "a"}], snapshot=True)
    second = msg(2, [{"type": "agent", "id": 1, "name": "b"}])
    picture.apply(first)
    picture.apply(second)
    before = dump(picture)
    for again in (second, first):
        result = picture.apply(again)
        assert result.status is ApplyStatus.DUPLICATE
        assert not result.changed
        assert result.expected_sequence == 3
    assert dump(picture) == before


def test_a_gap_needs_a_resync_until_a_snapshot(picture: Picture) -> None:
    picture.apply(msg(1, [{"type": "agent", "id": 1, "name": "a"}], snapshot=True))
    picture.apply(msg(2, [{"type": "agent", "id": 1, "name": "b"}]))
    before = dump(picture)

    gap = picture.apply(msg(4, [{"type": "agent", "id": 1, "name": "d"}]))
    assert gap.status is ApplyStatus.GAP and gap.needs_resync and gap.first_gap
    assert gap.expected_sequence == 3
    assert picture.needs_resync("s-9f2c")
    # The missing message arriving late does not help: the picture waits for a snapshot.
    late = picture.apply(msg(3, [{"type": "agent", "id": 1, "name": "c"}]))
    assert late.status is ApplyStatus.GAP and not late.first_gap
    assert picture.apply(msg(2, [{"type": "agent", "id": 1}])).status is ApplyStatus.DUPLICATE
    assert dump(picture)[:6] == before[:6]  # entities stale but intact; only the flag moved

    # The resubscription's snapshot carries the next sequence number of the server.
    resync = picture.apply(msg(6, [{"type": "agent", "id": 1, "name": "f"}], snapshot=True))
    assert resync.status is ApplyStatus.SNAPSHOT
    assert not picture.needs_resync("s-9f2c")
    assert picture.apply(msg(5, [{"type": "agent", "id": 1}])).status is ApplyStatus.DUPLICATE
    assert (
        picture.apply(msg(7, [{"type": "agent", "id": 1, "name": "g"}])).status
        is ApplyStatus.APPLIED
    )
    assert picture.agents()[1]["name"] == "g"
    info = picture.subscription("s-9f2c")
    assert info is not None and info.last_sequence == 7 and not info.needs_resync


def test_a_diff_before_any_snapshot_is_a_gap(picture: Picture) -> None:
    first = picture.apply(msg(2, [{"type": "agent", "id": 1, "name": "a"}], sid="new"))
    assert first.status is ApplyStatus.GAP and first.first_gap
    assert first.expected_sequence is None
    second = picture.apply(msg(3, [{"type": "agent", "id": 1, "name": "a"}], sid="new"))
    assert second.status is ApplyStatus.GAP and not second.first_gap
    assert picture.agents() == {} and picture.version == 0
    assert picture.needs_resync("new") and picture.needs_resync("never-seen")
    # The snapshot, reordered behind its first diff, is still a valid start.
    assert picture.apply(msg(1, [{"type": "agent", "id": 1}], sid="new", snapshot=True)).status is (
        ApplyStatus.SNAPSHOT
    )
    assert not picture.needs_resync("new")


def test_a_snapshot_replaces_everything_the_subscription_held(picture: Picture) -> None:
    picture.apply(
        msg(1, [{"type": "agent", "id": i, "name": str(i)} for i in (1, 2, 3)], snapshot=True)
    )
    result = picture.apply(msg(2, [{"type": "agent", "id": 2, "name": "two"}], snapshot=True))
    assert dict(result.changed) == {("agent", 1): 2, ("agent", 2): 2, ("agent", 3): 2}
    assert result.removed == {("agent", 1), ("agent", 3)}
    assert picture.agents() == {2: {"type": "agent", "id": 2, "name": "two"}}
    assert picture.get(("agent", 1)) is None


def test_two_subscriptions_feed_one_entity_and_forget_drops_one(picture: Picture) -> None:
    picture.apply(
        msg(
            1,
            [{"type": "agent", "id": 41, "name": "Rob", "metrics": {"audio": {"ronaCount": 0}}}],
            sid="a",
            snapshot=True,
        )
    )
    picture.apply(
        msg(
            1,
            [
                {
                    "type": "agent",
                    "id": 41,
                    "currentStatus": {"agentStatus": "available"},
                    "metrics": {"message": {"ronaCount": 4}},
                },
                {"type": "agent", "id": 42},
            ],
            sid="b",
            snapshot=True,
        )
    )
    assert picture.agents()[41] == {
        "type": "agent",
        "id": 41,
        "name": "Rob",
        "currentStatus": {"agentStatus": "available"},
        "metrics": {"audio": {"ronaCount": 0}, "message": {"ronaCount": 4}},
    }
    # Where they disagree, the subscription that changed the entity last wins.
    picture.apply(
        msg(2, [{"type": "agent", "id": 41, "metrics": {"audio": {"ronaCount": 9}}}], sid="b")
    )
    assert picture.agents()[41]["metrics"]["audio"] == {"ronaCount": 9}
    picture.apply(
        msg(2, [{"type": "agent", "id": 41, "metrics": {"audio": {"ronaCount": 8}}}], sid="a")
    )
    assert picture.agents()[41]["metrics"]["audio"] == {"ronaCount": 8}
    # A snapshot of one subscription that drops 41 leaves 41 alive through the other.
    dropped = picture.apply(msg(3, [], sid="a", snapshot=True))
    assert ("agent", 41) in dropped.changed and not dropped.removed
    assert picture.agents()[41]["metrics"] == {
        "audio": {"ronaCount": 9},
        "message": {"ronaCount": 4},
    }

    forgotten = picture.forget("b")
    assert forgotten.status is ApplyStatus.FORGOTTEN
    assert forgotten.removed == {("agent", 41), ("agent", 42)}
    assert set(forgotten.changed) == {("agent", 41), ("agent", 42)}
    assert picture.agents() == {}
    assert picture.subscription("b") is None
    # A forgotten id starts over: its next message must be a snapshot again.
    assert picture.apply(msg(3, [{"type": "agent", "id": 1}], sid="b")).status is ApplyStatus.GAP
    nothing = picture.forget("never-seen")
    assert not nothing.changed and nothing.version == picture.version


def test_versions_count_changes(picture: Picture) -> None:
    picture.apply(
        msg(1, [{"type": "agent", "id": 1, "name": "a"}, {"type": "agent", "id": 2}], snapshot=True)
    )
    assert picture.entity_version(("agent", 1)) == 1 and picture.version == 1
    mark = picture.version
    unchanged = picture.apply(msg(2, [{"type": "agent", "id": 1, "name": "a"}]))
    assert unchanged.status is ApplyStatus.APPLIED and not unchanged.changed
    assert picture.version == mark  # a diff that changes nothing is no change
    changed = picture.apply(msg(3, [{"type": "agent", "id": 1, "name": "b"}]))
    assert dict(changed.changed) == {("agent", 1): 2} and changed.version == mark + 1
    assert picture.changed_since(mark) == {("agent", 1): 2}
    assert picture.changed_since(0) == {("agent", 1): 2, ("agent", 2): 1}
    # Versions survive removal, so a returning entity keeps counting up.
    picture.apply(msg(4, [], snapshot=True))
    picture.apply(msg(5, [{"type": "agent", "id": 1}], snapshot=True))
    assert picture.entity_version(("agent", 1)) == 4
    assert picture.entity_version(("agent", 99)) == 0
    assert sorted(picture.entity_keys()) == [("agent", 1)]


def test_the_picture_does_not_alias_messages_or_views(picture: Picture) -> None:
    message = msg(
        1,
        [{"type": "agent", "id": 1, "metrics": {"agnostic": {"availableTime": {"total": 1}}}}],
        snapshot=True,
    )
    picture.apply(message)
    message["items"][0]["metrics"]["agnostic"]["availableTime"]["total"] = 99
    view = picture.agents()[1]
    view["metrics"]["agnostic"]["availableTime"]["total"] = 77
    assert picture.agents()[1]["metrics"]["agnostic"]["availableTime"] == {"total": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-10-27T19:56:02.98Z", datetime(2016, 10, 27, 19, 56, 2, 980000, tzinfo=UTC)),
        ("2016-11-01T21:13:10.293Z", datetime(2016, 11, 1, 21, 13, 10, 293000, tzinfo=UTC)),
        ("2016-1-1 05:00", datetime(2016, 1, 1, 5, 0, tzinfo=UTC)),
        ("2016-10-27T21:56:02+02:00", datetime(2016, 10, 27, 19, 56, 2, tzinfo=UTC)),
        ("2016-10-27T19:56:02.1234567Z", datetime(2016, 10, 27, 19, 56, 2, 123456, tzinfo=UTC)),
        ("yesterday", None),
        ("2016-13-01T00:00:00Z", None),
    ],
)
def test_parse_timestamp(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


# --- malformed messages ---------------------------------------------------------------------


def _valid_diff() -> dict[str, Any]:
    return msg(
        3,
        [
            {"type": "agent", "id": 1, "name": "fine"},
            {
                "type": "agent",
                "id": 2,
                "metrics": {"audio": {"ronaCount": 1}},
                "sessions": {"audio": {"addedSessions": [session(5)]}},
                "statusHistory": [status("busy", T0 - timedelta(hours=1), T0)],
                "addedBreakdowns": [{"queueId": 1}],
            },
        ],
    )


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(message: dict[str, Any]) -> None:
        target: Any = message
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(message: dict[str, Any]) -> None:
        target: Any = message
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


SECOND = ("items", 1)
MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "no subscription id": _delete(("subscriptionId",)),
    "empty subscription id": _set(("subscriptionId",), ""),
    "numeric subscription id": _set(("subscriptionId",), 7),
    "unknown subscription type": _set(("subscriptionType",), "teams"),
    "sequence as a string": _set(("sequence",), "3"),
    "sequence as a float": _set(("sequence",), 3.0),
    "sequence as a bool": _set(("sequence",), True),
    "sequence zero": _set(("sequence",), 0),
    "isSnapshot as a string": _set(("isSnapshot",), "false"),
    "no timestamp": _delete(("timestamp",)),
    "unreadable timestamp": _set(("timestamp",), "yesterday"),
    "items not a list": _set(("items",), {"type": "agent", "id": 1}),
    "item not an object": _set(("items", 1), [1, 2]),
    "item without id": _delete((*SECOND, "id")),
    "string id": _set((*SECOND, "id"), "2"),
    "bool id": _set((*SECOND, "id"), True),
    "item without type": _delete((*SECOND, "type")),
    "item of a group type": _set((*SECOND, "type"), "team"),
    "metrics as a list": _set((*SECOND, "metrics"), [1]),
    "metric modality not an object": _set((*SECOND, "metrics", "audio"), 3),
    "sessions as a list": _set((*SECOND, "sessions"), []),
    "session bag as a list": _set((*SECOND, "sessions", "audio"), [session(5)]),
    "unknown session list": _set((*SECOND, "sessions", "audio", "removed"), [session(5)]),
    "addedSessions not a list": _set((*SECOND, "sessions", "audio", "addedSessions"), session(5)),
    "session without id": _set((*SECOND, "sessions", "audio", "addedSessions"), [{"queueId": 1}]),
    "statusHistory an object": _set((*SECOND, "statusHistory"), status("busy", T0, T0)),
    "statusHistory endTime a number": _set((*SECOND, "statusHistory", 0, "endTime"), 5),
    "breakdown without queue id": _set((*SECOND, "addedBreakdowns"), [{"id": 1}]),
    "removedBreakdowns not a list": _set((*SECOND, "removedBreakdowns"), 1),
    "entityIds of strings": _set((*SECOND, "entityIds"), ["1"]),
    "another subscription type": _set(("subscriptionType",), "queues"),
}


def _picture_before_the_diff() -> Picture:
    picture = Picture()
    picture.apply(
        msg(
            1,
            [{"type": "agent", "id": 1, "name": "one"}, {"type": "agent", "id": 2}],
            snapshot=True,
        )
    )
    picture.apply(msg(2, [{"type": "agent", "id": 2, "statusHistory": [status("x", T0, T0)]}]))
    return picture


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_messages_raise_and_change_nothing(
    change: Callable[[dict[str, Any]], None],
) -> None:
    good = _valid_diff()
    # The unmodified diff is fine, so the error below is the change's doing.
    assert _picture_before_the_diff().apply(copy.deepcopy(good)).status is ApplyStatus.APPLIED

    picture = _picture_before_the_diff()
    before = dump(picture)
    bad = copy.deepcopy(good)
    change(bad)
    with pytest.raises(MergeError):
        picture.apply(bad)
    # No trace, not even of the valid first item, and the sequence was not taken: the good
    # diff with the same number still applies.
    assert dump(picture) == before
    assert picture.apply(good).status is ApplyStatus.APPLIED


def test_a_dropped_entity_is_gone_with_a_higher_version_and_comes_back_if_sent_again(
        picture: Picture) -> None:
    picture.apply(msg(1, [alert(501), alert(502)], kind="alerts", snapshot=True))
    before, version = picture.entity_version(("alert", 501)), picture.version

    assert picture.drop_entity(("alert", 501)) is True
    assert picture.alerts() == {502: alert(502)}
    assert picture.get(("alert", 501)) is None and ("alert", 501) not in picture.entity_keys()
    assert picture.entity_version(("alert", 501)) == before + 1
    assert picture.changed_since(version) == {("alert", 501): before + 1}
    assert picture.drop_entity(("alert", 501)) is False  # nothing held it any more
    # The upstream speaks of it again: it is back, newer still.
    picture.apply(msg(2, [alert(501)], kind="alerts"))
    assert picture.alerts()[501] == alert(501)
    assert picture.entity_version(("alert", 501)) == before + 2


def test_malformed_group_alert_and_top_level(picture: Picture) -> None:
    cases = [
        ["not", "a", "message"],
        msg(1, [{"groupType": "team"}], kind="agentsGroup", snapshot=True),
        msg(1, [{"groupType": 3, "groupId": 1}], kind="agentsGroup", snapshot=True),
        msg(1, [{"groupType": "team", "groupId": "1"}], kind="queuesGroup", snapshot=True),
        msg(1, [{"type": "alert", "name": "no id"}], kind="alerts", snapshot=True),
        msg(1, [{"entityIds": "1,2"}], kind="queuesAggregate", snapshot=True),
    ]
    for case in cases:
        with pytest.raises(MergeError):
            picture.apply(case)  # type: ignore[arg-type]
    assert picture.version == 0 and picture.subscriptions() == []


def test_null_containers_mean_nothing(picture: Picture) -> None:
    # A .NET serializer writes unset properties as null.
    item = {"type": "agent", "id": 1, "metrics": None, "sessions": None, "statusHistory": None,
            "breakdowns": None, "addedBreakdowns": None, "removedBreakdowns": None}  # fmt: skip
    picture.apply(msg(1, [item], snapshot=True))
    assert picture.agents() == {1: {"type": "agent", "id": 1}}


# --- the upstream model, for the property tests ---------------------------------------------
# An upstream holds full entities; the server diffs each against what it last sent on that
# subscription. This generator is the test's own reading of the contract, not merge.py's.

AGENT_IDS = (1, 2, 3, 4)
QUEUE_IDS = (1, 2, 3)
TEAM_IDS = (1, 2, 3)
ALERT_IDS = (501, 502, 503)
MODALITIES = ("audio", "instantMessage", "message")
METRICS = ("answeredCount", "ronaCount", "currentlyActiveCount")
AGNOSTIC = ("availableTime", "directInboundTime")
STATUSES = ("available", "unavailable", "busy")
SESSION_IDS = (1, 2, 3, 4, 5)
SPELLINGS = ("lower", "capitalize", "upper")
WINDOW = timedelta(hours=24)
ALL_FEEDS = st.sampled_from(("agents", "queues", "teams", "total", "alerts"))


def _change(name: str, *args: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(st.just(name), *args)


_ENTITY_INDEX = st.integers(0, 3)
UPSTREAM_CHANGE = st.one_of(
    _change(
        "set_metric",
        st.sampled_from(("agents", "queues", "teams", "total")),
        _ENTITY_INDEX,
        st.sampled_from(MODALITIES),
        st.sampled_from(METRICS),
        st.integers(0, 3),
    ),
    _change(
        "set_agnostic",
        st.sampled_from(("agents", "teams", "total")),
        _ENTITY_INDEX,
        st.sampled_from(AGNOSTIC),
        st.integers(0, 5000),
        st.integers(0, 3),
        st.booleans(),
    ),
    _change("change_status", _ENTITY_INDEX, st.sampled_from(STATUSES), st.booleans()),
    _change(
        "put_session",
        st.sampled_from(("agents", "queues")),
        _ENTITY_INDEX,
        st.sampled_from(MODALITIES),
        st.sampled_from(SESSION_IDS),
        st.sampled_from(("Queued", "Active", "Connecting")),
        st.integers(0, 50000),
    ),
    _change(
        "end_session",
        st.sampled_from(("agents", "queues")),
        _ENTITY_INDEX,
        st.sampled_from(MODALITIES),
        st.sampled_from(SESSION_IDS),
    ),
    _change("put_breakdown", _ENTITY_INDEX, st.sampled_from(QUEUE_IDS), st.integers(0, 9)),
    _change("end_breakdown", _ENTITY_INDEX, st.sampled_from(QUEUE_IDS)),
    _change(
        "rename",
        st.sampled_from(("agents", "queues")),
        _ENTITY_INDEX,
        st.sampled_from(("Rob T.", "Riker", "Support", "Sales")),
    ),
    _change(
        "set_members",
        st.sampled_from(("teams", "total")),
        _ENTITY_INDEX,
        st.lists(st.sampled_from(AGENT_IDS), unique=True, max_size=3),
    ),
    _change("put_alert", st.sampled_from(ALERT_IDS), st.integers(100000, 200000), st.booleans()),
)


@dataclass
class Feed:
    """One subscription: the upstream entities it covers, and what the server last sent."""

    name: str
    subscription_type: str
    entities: dict[Any, dict[str, Any]] = field(default_factory=dict)
    sent: dict[Any, dict[str, Any]] = field(default_factory=dict)
    sid: str = ""
    sequence: int = 0
    sent_at: datetime = T0
    inflight: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)


def new_entity(feed: Feed, entity_id: Any, now: datetime) -> dict[str, Any]:
    fields: dict[str, Any]
    if feed.name in ("agents", "queues"):
        ident: dict[str, Any] = {"type": feed.name[:-1], "id": entity_id}
        fields = {"name": f"{feed.name[:-1]} {entity_id}"}
    elif feed.name == "teams":
        ident = {"groupType": "team", "groupId": entity_id, "type": "agent"}
        fields = {"entityIds": []}
    else:
        ident = {"type": "queue"}
        fields = {"entityIds": list(QUEUE_IDS)}
    history = []
    if feed.name == "agents":
        # Something from yesterday, so the 24 h trim has work early on.
        history.append(
            {
                "agentStatus": "loggedOut",
                "startTime": wire_time(now - timedelta(hours=30)),
                "endTime": wire_time(now - timedelta(hours=23, minutes=30)),
            }
        )
    return {
        "ident": ident,
        "fields": fields,
        "metrics": {},
        "sessions": {},
        "breakdowns": {},
        "history": history,
    }


def spelled(value: str, spelling: str) -> str:
    return str(getattr(value, spelling)())


def identity(entity: dict[str, Any], spelling: str) -> dict[str, Any]:
    ident = dict(entity["ident"])
    for name in ("type", "groupType"):
        if name in ident:
            ident[name] = spelled(ident[name], spelling)
    return ident


def keep(entry: dict[str, Any], now: datetime) -> bool:
    end = entry["endTime"]
    return end is None or datetime.fromisoformat(end) >= now - WINDOW


def full_item(
    feed: Feed, entity: dict[str, Any], now: datetime, *, snapshot: bool, spelling: str
) -> dict[str, Any]:
    if feed.subscription_type == "alerts":
        return copy.deepcopy(entity)
    item = {**identity(entity, spelling), **copy.deepcopy(entity["fields"])}
    if entity["metrics"]:
        item["metrics"] = copy.deepcopy(entity["metrics"])
    sessions_key = "sessions" if snapshot else "addedSessions"
    bags = {
        modality: {sessions_key: [copy.deepcopy(s) for s in bag.values()]}
        for modality, bag in entity["sessions"].items()
        if bag
    }
    if bags:
        item["sessions"] = bags
    if entity["breakdowns"]:
        key = "breakdowns" if snapshot else "addedBreakdowns"
        item[key] = [copy.deepcopy(b) for b in entity["breakdowns"].values()]
    # A snapshot carries the last 24 h; a diff for a new entity carries what it has and
    # leaves the trim to the receiver.
    history = [h for h in entity["history"] if keep(h, now)] if snapshot else entity["history"]
    if history or (snapshot and feed.name == "agents"):
        item["statusHistory"] = copy.deepcopy(history)
    return item


def keyed_diff(
    old: dict[int, Any], new: dict[int, Any], id_field: str, names: tuple[str, str, str]
) -> dict[str, list[Any]]:
    added_key, changed_key, removed_key = names
    out: dict[str, list[Any]] = {}
    added = [new[i] for i in new if i not in old]
    changed = [new[i] for i in new if i in old and old[i] != new[i]]
    removed = [{id_field: i} for i in old if i not in new]
    for key, entries in ((added_key, added), (changed_key, changed), (removed_key, removed)):
        if entries:
            out[key] = copy.deepcopy(entries)
    return out


def diff_item(
    feed: Feed, old: dict[str, Any] | None, new: dict[str, Any], now: datetime, spelling: str
) -> dict[str, Any] | None:
    if old is None:
        return full_item(feed, new, now, snapshot=False, spelling=spelling)
    if feed.subscription_type == "alerts":
        return copy.deepcopy(new) if new != old else None
    body: dict[str, Any] = {}
    for name, value in new["fields"].items():
        if old["fields"].get(name) != value:
            body[name] = copy.deepcopy(value)
    for modality, bag in new["metrics"].items():
        for metric, value in bag.items():
            if old["metrics"].get(modality, {}).get(metric, object()) != value:
                body.setdefault("metrics", {}).setdefault(modality, {})[metric] = copy.deepcopy(
                    value
                )
    for modality in sorted(set(old["sessions"]) | set(new["sessions"])):
        change = keyed_diff(
            old["sessions"].get(modality, {}),
            new["sessions"].get(modality, {}),
            "sessionId",
            ("addedSessions", "sessions", "removedSessions"),
        )
        if change:
            body.setdefault("sessions", {})[modality] = change
    body.update(
        keyed_diff(
            old["breakdowns"],
            new["breakdowns"],
            "queueId",
            ("addedBreakdowns", "breakdowns", "removedBreakdowns"),
        )
    )
    appended = new["history"][len(old["history"]) :]
    if appended:
        body["statusHistory"] = copy.deepcopy(appended)
    if not body:
        return None
    item = {**identity(new, spelling), **body}
    if feed.subscription_type.endswith("Aggregate"):
        item["entityIds"] = list(new["fields"]["entityIds"])  # an item names its entity
    return item


def normalize_model(feed: Feed, entity: dict[str, Any], now: datetime) -> Any:
    if feed.subscription_type == "alerts":
        return entity
    return {
        "fields": {**entity["ident"], **entity["fields"]},
        "metrics": entity["metrics"],
        "sessions": {m: dict(bag) for m, bag in entity["sessions"].items() if bag},
        "breakdowns": entity["breakdowns"],
        "history": [h for h in entity["history"] if keep(h, now)],
    }


def normalize_view(feed: Feed, view: dict[str, Any]) -> Any:
    if feed.subscription_type == "alerts":
        return view
    rest = dict(view)
    bags = rest.pop("sessions", {})
    return {
        "metrics": rest.pop("metrics", {}),
        "sessions": {
            modality: {s["sessionId"]: s for s in bag["sessions"]}
            for modality, bag in bags.items()
            if bag["sessions"]
        },
        "breakdowns": {b["queueId"]: b for b in rest.pop("breakdowns", [])},
        "history": rest.pop("statusHistory", []),
        "fields": rest,
    }


class UpstreamMachine(RuleBasedStateMachine):
    """An upstream that changes at random, and a caller that feeds a Picture."""

    def __init__(self) -> None:
        super().__init__()
        self.picture = Picture()
        self.now = T0
        self.ids = itertools.count(1)
        self.versions: dict[Any, int] = {}
        self.mirror: dict[Any, Any] = {}  # what a bridge publishing only `changed` would hold
        self.feeds = {
            "agents": Feed("agents", "agents"),
            "queues": Feed("queues", "queues"),
            "teams": Feed("teams", "agentsGroup"),
            "total": Feed("total", "queuesAggregate"),
            "alerts": Feed("alerts", "alerts"),
        }
        for entity_id in AGENT_IDS[:2]:
            self.entity("agents", entity_id)
        for entity_id in QUEUE_IDS[:2]:
            self.entity("queues", entity_id)
        self.entity("teams", 1)
        self.entity("total", "total")
        for feed in self.feeds.values():
            self.subscribe(feed, new_id=True, spelling="lower")

    # -- the upstream ---------------------------------------------------------------------------

    def entity(self, feed_name: str, entity_id: Any) -> dict[str, Any]:
        feed = self.feeds[feed_name]
        if entity_id not in feed.entities:
            feed.entities[entity_id] = new_entity(feed, entity_id, self.now)
        return feed.entities[entity_id]

    @rule(
        changes=st.lists(UPSTREAM_CHANGE, min_size=1, max_size=3),
        push=st.booleans(),
        spelling=st.sampled_from(SPELLINGS),
    )
    def upstream_changes(self, changes: list[tuple[Any, ...]], push: bool, spelling: str) -> None:
        """A few things happen upstream; the server pushes now, or later (coalescing)."""
        for name, *args in changes:
            getattr(self, name)(*args)
        if push:
            for feed in self.feeds.values():
                self.emit_feed(feed, spelling)

    def set_metric(self, feed: str, index: int, modality: str, metric: str, value: int) -> None:
        entity = self.entity(feed, self.entity_id(feed, index))
        entity["metrics"].setdefault(modality, {})[metric] = value

    def set_agnostic(
        self, feed: str, index: int, metric: str, total: int, count: int, with_average: bool
    ) -> None:
        value: dict[str, Any] = {"total": total, "count": count}
        if with_average:
            value["average"] = total / count if count else 0
        entity = self.entity(feed, self.entity_id(feed, index))
        entity["metrics"].setdefault("agnostic", {})[metric] = value

    def change_status(self, index: int, new_status: str, suspended: bool) -> None:
        entity = self.entity("agents", AGENT_IDS[index])
        current = entity["fields"].get("currentStatus")
        if current is not None:
            entity["history"].append({**current, "endTime": wire_time(self.now)})
        status_model: dict[str, Any] = {"agentStatus": new_status, "startTime": wire_time(self.now)}
        # Keys that come and go, so a status merged field by field (wrong) would show.
        if suspended:
            status_model["isSuspended"] = True
        if new_status == "unavailable":
            status_model["reasonCodeName"] = "Out for Lunch"
        entity["fields"]["currentStatus"] = status_model

    def put_session(
        self,
        feed: str,
        index: int,
        modality: str,
        session_id: int,
        session_status: str,
        active_ms: int,
    ) -> None:
        entity = self.entity(feed, self.entity_id(feed, index))
        entity["sessions"].setdefault(modality, {})[session_id] = {
            "sessionId": session_id,
            "sessionType": "queued",
            "queueId": 11,
            "sessionStatus": session_status,
            "activeMs": active_ms,
        }

    def end_session(self, feed: str, index: int, modality: str, session_id: int) -> None:
        entity = self.entity(feed, self.entity_id(feed, index))
        entity["sessions"].get(modality, {}).pop(session_id, None)

    def put_breakdown(self, index: int, queue_id: int, answered: int) -> None:
        entity = self.entity("agents", AGENT_IDS[index])
        entity["breakdowns"][queue_id] = {
            "queueId": queue_id,
            "metrics": {"audio": {"answeredCount": answered}},
        }

    def end_breakdown(self, index: int, queue_id: int) -> None:
        self.entity("agents", AGENT_IDS[index])["breakdowns"].pop(queue_id, None)

    def rename(self, feed: str, index: int, name: str) -> None:
        self.entity(feed, self.entity_id(feed, index))["fields"]["name"] = name

    def set_members(self, feed: str, index: int, members: list[int]) -> None:
        self.entity(feed, self.entity_id(feed, index))["fields"]["entityIds"] = members

    def put_alert(self, alert_id: int, value: int, active: bool) -> None:
        raised = alert(alert_id, value=value, isActive=active)
        if active:
            del raised["clearedTime"]  # a key that comes and goes: alerts replace whole
        else:
            raised["clearedTime"] = wire_time(self.now)
        self.feeds["alerts"].entities[alert_id] = raised

    # Whole and half hours, so status history entries sit exactly on the 24 h edge now and then.
    @rule(minutes=st.sampled_from((0, 30, 60, 60, 180, 480, 1200)))
    def tick(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    def entity_id(self, feed: str, index: int) -> Any:
        if feed == "agents":
            return AGENT_IDS[index]
        if feed == "total":
            return "total"
        return (QUEUE_IDS if feed == "queues" else TEAM_IDS)[index % 3]

    # -- the server -----------------------------------------------------------------------------

    @rule(
        feed=ALL_FEEDS,
        spelling=st.sampled_from(SPELLINGS),
    )
    def emit(self, feed: str, spelling: str) -> None:
        """The server pushes one (coalesced) diff of everything that changed since it last sent."""
        self.emit_feed(self.feeds[feed], spelling)

    def emit_feed(self, feed: Feed, spelling: str) -> None:
        items = []
        for entity_id, entity in feed.entities.items():
            item = diff_item(feed, feed.sent.get(entity_id), entity, self.now, spelling)
            if item is not None:
                items.append(item)
        if not items:
            return
        feed.sequence += 1
        feed.inflight.append(
            msg(feed.sequence, items, sid=feed.sid, kind=feed.subscription_type, at=self.now)
        )
        feed.sent = copy.deepcopy(feed.entities)
        feed.sent_at = self.now

    def subscribe(self, feed: Feed, *, new_id: bool, spelling: str) -> None:
        """(Re)subscribe: a new id starts at sequence 1, the same id goes on counting."""
        if new_id:
            if feed.sid:
                self.observe(self.picture.forget(feed.sid))
            feed.sid = f"{feed.name}-{next(self.ids)}"
            feed.sequence = 0
        feed.sequence += 1
        items = [
            full_item(feed, entity, self.now, snapshot=True, spelling=spelling)
            for entity in feed.entities.values()
        ]
        feed.inflight.append(
            msg(
                feed.sequence,
                items,
                snapshot=True,
                sid=feed.sid,
                kind=feed.subscription_type,
                at=self.now,
            )
        )
        feed.sent = copy.deepcopy(feed.entities)
        feed.sent_at = self.now

    # -- the caller -----------------------------------------------------------------------------

    def deliver(self, feed: Feed, message: dict[str, Any]) -> ApplyResult | None:
        if message["subscriptionId"] != feed.sid:
            # The caller drops traffic of subscriptions it replaced (merge.py cannot tell a
            # late message of a deleted subscription from a new one).
            return None
        before = self.picture.version
        result = self.picture.apply(copy.deepcopy(message))  # each delivery is a new decode
        feed.delivered.append(message)
        self.observe(result, before)
        return result

    def observe(self, result: ApplyResult, before: int | None = None) -> None:
        """Check the result's bookkeeping and keep a bridge's mirror from `changed` only."""
        if before is not None:
            assert result.version == before + (1 if result.changed else 0)
        if result.status in (ApplyStatus.DUPLICATE, ApplyStatus.GAP):
            assert not result.changed and not result.removed
        assert result.removed <= result.changed.keys()
        if result.changed and before is not None:
            assert picture_changed(self.picture, before) == set(result.changed)
        for key, version in result.changed.items():
            assert version == self.versions.get(key, 0) + 1
            assert self.picture.entity_version(key) == version
            self.versions[key] = version
            view = self.picture.get(key)
            if view is None:
                assert key in result.removed
                self.mirror.pop(key, None)
            else:
                assert key not in result.removed
                self.mirror[key] = view

    def expected(self, feed: Feed) -> dict[Any, Any]:
        entities = {
            entity_id: normalize_model(feed, entity, feed.sent_at)
            for entity_id, entity in feed.sent.items()
        }
        if feed.name == "teams":
            return {("agent", "team", gid): e for gid, e in entities.items()}
        if feed.name == "total":
            # One aggregate item per subscription, keyed by the subscription.
            return {feed.sid: next(iter(entities.values()))} if entities else {}
        return entities

    def actual(self, feed: Feed) -> dict[Any, Any]:
        views = {
            "agents": self.picture.agents,
            "queues": self.picture.queues,
            "teams": self.picture.groups,
            "total": self.picture.aggregates,
            "alerts": self.picture.alerts,
        }[feed.name]()
        return {key: normalize_view(feed, view) for key, view in views.items()}

    def in_sync(self, feed: Feed) -> bool:
        info = self.picture.subscription(feed.sid)
        return info is not None and not info.needs_resync and info.last_sequence == feed.sequence

    @invariant()
    def caught_up_subscriptions_equal_the_upstream(self) -> None:
        for feed in self.feeds.values():
            if self.in_sync(feed):
                assert self.actual(feed) == self.expected(feed)

    @invariant()
    def publishing_only_changed_keys_is_enough(self) -> None:
        assert self.mirror == {key: self.picture.get(key) for key in self.picture.entity_keys()}


def picture_changed(picture: Picture, since: int) -> set[Any]:
    return set(picture.changed_since(since))


class InOrderMachine(UpstreamMachine):
    """A network that only duplicates: the picture must keep up with no resync at all."""

    @rule(feed=ALL_FEEDS)
    def deliver_next(self, feed: str) -> None:
        self.deliver_in_order(self.feeds[feed])

    @precondition(lambda self: any(f.delivered for f in self.feeds.values()))
    @rule(
        feed=ALL_FEEDS,
        index=st.integers(0, 50),
    )
    def redeliver_old(self, feed: str, index: int) -> None:
        chosen = self.feeds[feed]
        if chosen.delivered:
            result = self.deliver(chosen, chosen.delivered[index % len(chosen.delivered)])
            assert result is not None and result.status is ApplyStatus.DUPLICATE

    def deliver_in_order(self, feed: Feed) -> None:
        if feed.inflight:
            result = self.deliver(feed, feed.inflight.pop(0))
            assert result is not None
            assert result.status in (ApplyStatus.SNAPSHOT, ApplyStatus.APPLIED)

    @invariant()
    def never_needs_a_resync(self) -> None:
        for feed in self.feeds.values():
            assert not feed.delivered or not self.picture.needs_resync(feed.sid)

    def teardown(self) -> None:
        for feed in self.feeds.values():
            self.emit_feed(feed, "lower")
            while feed.inflight:
                self.deliver_in_order(feed)
            assert self.in_sync(feed)
            assert self.actual(feed) == self.expected(feed)


class LossyNetworkMachine(UpstreamMachine):
    """A network that duplicates, reorders and drops; the caller resyncs on gaps."""

    def __init__(self) -> None:
        super().__init__()
        self.gaps_reported: set[str] = set()

    @rule(
        feed=ALL_FEEDS,
        index=st.integers(0, 3),
    )
    def deliver_one(self, feed: str, index: int) -> None:
        """Deliver the next message, or (index > 0) one that overtook it."""
        chosen = self.feeds[feed]
        if chosen.inflight:
            self.deliver_and_note(chosen, chosen.inflight.pop(index % len(chosen.inflight)))

    @rule(overtakes=st.lists(st.sampled_from((0, 0, 0, 1, 2)), min_size=5, max_size=5))
    def network_tick(self, overtakes: list[int]) -> None:
        """One message arrives on every subscription: mostly the next one, sometimes a later
        one that overtook it."""
        for feed, overtake in zip(self.feeds.values(), overtakes, strict=True):
            if feed.inflight:
                self.deliver_and_note(feed, feed.inflight.pop(overtake % len(feed.inflight)))

    @rule(feed=ALL_FEEDS)
    def deliver_everything_in_order(self, feed: str) -> None:
        """A calm spell: the network catches up."""
        chosen = self.feeds[feed]
        while chosen.inflight:
            self.deliver_and_note(chosen, chosen.inflight.pop(0))

    @rule(
        feed=ALL_FEEDS,
        index=st.integers(0, 3),
    )
    def drop(self, feed: str, index: int) -> None:
        chosen = self.feeds[feed]
        if chosen.inflight:
            chosen.inflight.pop(index % len(chosen.inflight))

    @rule(
        feed=ALL_FEEDS,
        index=st.integers(0, 50),
    )
    def duplicate(self, feed: str, index: int) -> None:
        chosen = self.feeds[feed]
        if chosen.delivered:
            self.deliver_and_note(chosen, chosen.delivered[index % len(chosen.delivered)])

    @precondition(lambda self: bool(self.gaps_reported))
    @rule(new_id=st.booleans(), spelling=st.sampled_from(SPELLINGS))
    def resync_after_gap(self, new_id: bool, spelling: str) -> None:
        """What the real caller does on `first_gap`: resubscribe."""
        name = sorted(self.gaps_reported)[0]
        self.gaps_reported.discard(name)
        self.subscribe(self.feeds[name], new_id=new_id, spelling=spelling)

    @rule(
        feed=ALL_FEEDS,
        new_id=st.booleans(),
        shrink=st.booleans(),
        spelling=st.sampled_from(SPELLINGS),
    )
    def reconnect(self, feed: str, new_id: bool, shrink: bool, spelling: str) -> None:
        """Resubscribe at any time; the upstream may meanwhile have lost an entity, which
        only a snapshot can tell (diffs have no way to say an entity is gone)."""
        chosen = self.feeds[feed]
        if shrink and len(chosen.entities) > 1:
            del chosen.entities[next(iter(chosen.entities))]
        self.subscribe(chosen, new_id=new_id, spelling=spelling)

    def deliver_and_note(self, feed: Feed, message: dict[str, Any]) -> None:
        result = self.deliver(feed, message)
        if result is not None and result.first_gap:
            self.gaps_reported.add(feed.name)

    def teardown(self) -> None:
        # The final resync: let the server send what is pending, deliver whatever is still in
        # flight in order, resubscribe if the picture is behind, and deliver the snapshot.
        for feed in self.feeds.values():
            self.emit_feed(feed, "lower")
            for _ in range(2):
                while feed.inflight:
                    self.deliver(feed, feed.inflight.pop(0))
                if self.in_sync(feed):
                    break
                self.subscribe(feed, new_id=feed.sequence % 2 == 0, spelling="capitalize")
            assert self.in_sync(feed)
            assert self.actual(feed) == self.expected(feed)
        self.publishing_only_changed_keys_is_enough()


MACHINE_SETTINGS = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestInOrderDelivery = InOrderMachine.TestCase
TestInOrderDelivery.settings = MACHINE_SETTINGS
TestLossyNetwork = LossyNetworkMachine.TestCase
TestLossyNetwork.settings = MACHINE_SETTINGS

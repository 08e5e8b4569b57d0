"""What the bridge persists (dashboard.store), threshold levels and wallboard tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from dashboard import store
from dashboard.models import (
    Agent,
    Alert,
    Queue,
    QueueSample,
    StatusPeriod,
    ThresholdRule,
    Wallboard,
)
from dashboard.store import Threshold, level_for
from tests.dashboard.test_mbu import synced

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def iso(value: datetime, digits: int = 7) -> str:
    """The wire's timestamps: Z, and .NET's 7 fractional digits unless told otherwise."""
    fraction = f"{value.microsecond:06d}0"[:digits]
    return value.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + "Z"


def test_iso_helper_writes_wire_timestamps() -> None:
    t = datetime(2025, 3, 1, 9, 5, 7, 123456, tzinfo=UTC)
    assert iso(t) == "2025-03-01T09:05:07.1234560Z"
    assert iso(t, 1) == "2025-03-01T09:05:07.1Z"
    assert iso(t, 0) == "2025-03-01T09:05:07Z"


@pytest.fixture
def mbu(db: None) -> None:
    synced()


# -- current status -----------------------------------------------------------------------------


def test_save_agent_statuses_writes_only_what_changed(mbu: None) -> None:
    start = datetime(2025, 3, 1, 9, 5, 7, 123456, tzinfo=UTC)
    statuses = {
        11: {"agentStatus": "available", "startTime": iso(start), "isSuspended": False},
        12: {"agentStatus": "Unavailable", "reasonCodeName": "Lunch",
             "startTime": iso(start, 2), "isSuspended": True},
    }

    assert store.save_agent_statuses(statuses) == 2

    ada = Agent.objects.get(clarity_id=11)
    ben = Agent.objects.get(clarity_id=12)
    assert (ada.status, ada.reason_code, ada.status_since, ada.is_suspended) == (
        "available", "", start, False)
    assert (ben.status, ben.reason_code, ben.is_suspended) == ("unavailable", "Lunch", True)
    assert ben.status_since == start.replace(microsecond=120000)

    # The same picture again: nothing to write.
    assert store.save_agent_statuses(statuses) == 0
    # One agent changes.
    ada_updated_at = ada.updated_at
    statuses[11] = {"agentStatus": "inCall", "startTime": iso(start + timedelta(minutes=1))}
    assert store.save_agent_statuses(statuses) == 1
    ada.refresh_from_db()
    assert ada.status == "inCall" and ada.status_since == start + timedelta(minutes=1)
    assert ada.updated_at > ada_updated_at
    assert Agent.objects.get(clarity_id=12).updated_at == ben.updated_at


def test_save_agent_statuses_skips_unknown_agents_missing_and_unreadable_entries(
    mbu: None,
) -> None:
    statuses: dict[int, Any] = {
        999: {"agentStatus": "available", "startTime": iso(NOW)},
        11: None,
        12: {"agentStatus": "available", "startTime": "yesterday-ish"},
        21: {"agentStatusId": 2, "startTime": iso(NOW, 3)},
        31: {},
    }
    Agent.objects.filter(clarity_id=31).update(status="available")

    assert store.save_agent_statuses(statuses) == 1

    assert not Agent.objects.filter(clarity_id=999).exists()
    assert Agent.objects.get(clarity_id=11).status == ""
    assert Agent.objects.get(clarity_id=12).status == ""
    assert Agent.objects.get(clarity_id=21).status == "inCall"
    assert Agent.objects.get(clarity_id=31).status == "available"  # {}: nothing known, left alone
    assert store.save_agent_statuses({}) == 0


# -- status history -----------------------------------------------------------------------------


def history(*periods: tuple[str, datetime, datetime | None]) -> list[dict[str, Any]]:
    return [
        {"agentStatus": status, "reasonCodeName": "Break" if status == "unavailable" else None,
         "startTime": iso(start), "endTime": None if end is None else iso(end, 3),
         "isSuspended": False}
        for status, start, end in periods
    ]


def test_save_status_history_inserts_once_and_closes_the_open_period(mbu: None) -> None:
    t1, t2, t3 = NOW - timedelta(hours=3), NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    entries = history(("available", t1, t2), ("unavailable", t2, t3), ("inCall", t3, None))

    assert store.save_status_history(11, entries, now=NOW) == 3
    assert store.save_status_history(11, entries, now=NOW) == 0
    assert StatusPeriod.objects.filter(agent__clarity_id=11).count() == 3

    # The call ends; the hub resends the whole history with the new period.
    t4 = NOW - timedelta(minutes=5)
    entries = history(("available", t1, t2), ("unavailable", t2, t3), ("inCall", t3, t4),
                      ("available", t4, None))
    assert store.save_status_history(11, entries, now=NOW) == 1

    periods = list(StatusPeriod.objects.filter(agent__clarity_id=11))  # newest first
    assert [(p.status, p.started_at, p.ended_at) for p in periods] == [
        ("available", t4, None), ("inCall", t3, t4), ("unavailable", t2, t3),
        ("available", t1, t2)]
    assert periods[2].reason_code == "Break"


def test_save_status_history_prunes_what_ended_over_48_hours_ago(mbu: None) -> None:
    ada = Agent.objects.get(clarity_id=11)
    old = StatusPeriod.objects.create(agent=ada, status="available",
                                      started_at=NOW - timedelta(hours=50),
                                      ended_at=NOW - timedelta(hours=49))
    kept = StatusPeriod.objects.create(agent=ada, status="inCall",
                                       started_at=NOW - timedelta(hours=49),
                                       ended_at=NOW - timedelta(hours=47))
    too_old = history(("offline", NOW - timedelta(hours=60), NOW - timedelta(hours=55)))

    assert store.save_status_history(11, too_old, now=NOW) == 0

    assert not StatusPeriod.objects.filter(pk=old.pk).exists()
    assert StatusPeriod.objects.filter(pk=kept.pk).exists()
    assert not StatusPeriod.objects.filter(status="offline").exists()


def test_save_status_history_ignores_unknown_agents_and_bad_entries(mbu: None) -> None:
    assert store.save_status_history(999, history(("available", NOW, None)), now=NOW) == 0
    bad = [{"agentStatus": "available"}, {"startTime": iso(NOW)}, {"startTime": "garbage"}]
    assert store.save_status_history(11, bad, now=NOW) == 0
    assert not StatusPeriod.objects.exists()


# -- alerts -------------------------------------------------------------------------------------


def alert(alert_id: int = 501, **changes: Any) -> dict[str, Any]:
    data = {
        "id": alert_id, "type": "alert", "name": "Longest wait", "severity": "Critical",
        "entityType": "Queue", "entityId": 3, "entityName": "Billing",
        "metric": "longestQueuedTime", "modality": "Audio", "value": 312.5, "threshold": 300,
        "isActive": True, "raisedTime": iso(NOW), "clearedTime": None,
        "message": "Longest wait over 5 minutes",
    }
    data.update(changes)
    return data


def test_save_alerts_inserts_and_reports_newly_raised(mbu: None) -> None:
    raised = store.save_alerts([alert(501), alert(502, isActive=False, clearedTime=iso(NOW))])

    assert [a.clarity_id for a in raised] == [501]
    assert raised[0].pk is not None
    saved = Alert.objects.get(clarity_id=501)
    assert (saved.severity, saved.entity_type, saved.modality) == ("critical", "queue", "audio")
    assert (saved.entity_id, saved.value, saved.threshold) == (3, 312.5, 300.0)
    assert saved.raised_at == NOW and saved.cleared_at is None and saved.is_active
    assert saved.message == "Longest wait over 5 minutes"
    assert not Alert.objects.get(clarity_id=502).is_active

    # The same alerts again: nothing newly raised, nothing duplicated.
    assert store.save_alerts([alert(501), alert(502, isActive=False)]) == []
    assert Alert.objects.count() == 2


def test_save_alerts_updates_without_touching_acknowledgement(mbu: None) -> None:
    user = User.objects.create_user("sup")
    store.save_alerts([alert(501)])
    store.acknowledge_alert(501, user, now=NOW)

    assert store.save_alerts([alert(501, value=400, isActive=False,
                                     clearedTime=iso(NOW + timedelta(minutes=2)))]) == []

    saved = Alert.objects.get(clarity_id=501)
    assert saved.value == 400 and not saved.is_active
    assert saved.cleared_at == NOW + timedelta(minutes=2)
    assert saved.acknowledged_by == user and saved.acknowledged_at == NOW

    # Raised again: reported again.
    raised = store.save_alerts([alert(501, isActive=True)])
    assert [a.clarity_id for a in raised] == [501]
    assert Alert.objects.get(clarity_id=501).acknowledged_by == user


def test_save_alerts_skips_unreadable_ones(mbu: None) -> None:
    raised = store.save_alerts([{"name": "no id"}, alert(503)])

    assert [a.clarity_id for a in raised] == [503]
    assert Alert.objects.count() == 1
    assert store.save_alerts([]) == []


def test_the_first_acknowledgement_wins(mbu: None) -> None:
    first = User.objects.create_user("first")
    second = User.objects.create_user("second")
    store.save_alerts([alert(501)])

    acked = store.acknowledge_alert(501, first, now=NOW)
    again = store.acknowledge_alert(501, second, now=NOW + timedelta(minutes=1))

    assert acked.acknowledged_by == first and acked.acknowledged_at == NOW
    assert again.acknowledged_by == first and again.acknowledged_at == NOW
    assert again.is_acknowledged


def test_acknowledging_an_unknown_alert_raises(mbu: None) -> None:
    user = User.objects.create_user("sup")

    with pytest.raises(Alert.DoesNotExist):
        store.acknowledge_alert(404, user)


def test_acknowledge_defaults_to_now(mbu: None) -> None:
    user = User.objects.create_user("sup")
    store.save_alerts([alert(501)])
    before = timezone.now()

    acked = store.acknowledge_alert(501, user)

    assert before <= acked.acknowledged_at <= timezone.now()


# -- queue samples ------------------------------------------------------------------------------


def test_save_queue_samples_keeps_one_row_per_minute(mbu: None) -> None:
    minute = NOW - timedelta(minutes=10)
    samples = [
        (1, "audio", minute + timedelta(seconds=5), {"queuedCount": 2}),
        (1, "audio", minute + timedelta(seconds=50), {"queuedCount": 3}),
        (1, "message", minute + timedelta(seconds=5), {"queuedCount": 7}),
        (999, "audio", minute, {"queuedCount": 1}),
    ]

    assert store.save_queue_samples(samples, now=NOW) == 2

    rows = {(s.modality, s.taken_at): s.metrics for s in QueueSample.objects.all()}
    assert rows == {("audio", minute): {"queuedCount": 3}, ("message", minute): {"queuedCount": 7}}

    # Saving the minute again replaces it, never duplicates.
    store.save_queue_samples([(1, "audio", minute, {"queuedCount": 4})], now=NOW)
    assert QueueSample.objects.filter(modality="audio").get().metrics == {"queuedCount": 4}


def test_save_queue_samples_prunes_what_is_older_than_a_day(mbu: None) -> None:
    queue = Queue.objects.get(clarity_id=1)
    QueueSample.objects.create(queue=queue, modality="audio",
                               taken_at=NOW - timedelta(hours=25), metrics={})
    QueueSample.objects.create(queue=queue, modality="audio",
                               taken_at=NOW - timedelta(hours=23), metrics={})

    written = store.save_queue_samples(
        [(1, "audio", NOW - timedelta(hours=30), {"queuedCount": 1}),
         (1, "audio", NOW, {"queuedCount": 1})], now=NOW)

    assert written == 1
    assert sorted(QueueSample.objects.values_list("taken_at", flat=True)) == [
        NOW - timedelta(hours=23), NOW]


def test_sparkline_reads_one_metric_in_time_order(mbu: None) -> None:
    base = NOW - timedelta(minutes=5)
    samples = [
        (2, "audio", base + timedelta(minutes=3), {"queuedCount": 5, "serviceLevel": 80.5}),
        (2, "audio", base + timedelta(minutes=1), {"queuedCount": 1}),
        (2, "audio", base + timedelta(minutes=2), {"queuedCount": None}),
        (2, "audio", base, {"queuedCount": 9}),
        (2, "message", base + timedelta(minutes=1), {"queuedCount": 100}),
        (1, "audio", base + timedelta(minutes=1), {"queuedCount": 100}),
        (2, "audio", base + timedelta(minutes=4), {"queuedCount": True}),
    ]
    store.save_queue_samples(samples, now=NOW)

    points = store.sparkline(2, "audio", "queuedCount", since=base + timedelta(minutes=1))

    assert points == [(base + timedelta(minutes=1), 1.0), (base + timedelta(minutes=3), 5.0)]
    assert store.sparkline(2, "audio", "serviceLevel", since=base) == [
        (base + timedelta(minutes=3), 80.5)]
    assert store.sparkline(3, "audio", "queuedCount", since=base) == []


# -- threshold levels ---------------------------------------------------------------------------


RULES = [
    Threshold("longestQueuedTime", warning=30, critical=60),
    Threshold("longestQueuedTime", warning=20, critical=40, modality="audio"),
    Threshold("longestQueuedTime", warning=50, critical=100, queue_id=1),
    Threshold("longestQueuedTime", warning=10, critical=15, queue_id=1, modality="audio"),
    Threshold("serviceLevel", warning=80, critical=60, higher_is_worse=False),
]


@pytest.mark.parametrize(
    ("queue_id", "modality", "value", "level"),
    [
        # Queue 1, audio: the queue+modality rule (10/15).
        (1, "audio", 9, "ok"), (1, "audio", 12, "warning"), (1, "audio", 16, "critical"),
        # Queue 1, message: the queue rule (50/100).
        (1, "message", 45, "ok"), (1, "message", 70, "warning"), (1, "message", 100, "critical"),
        # Queue 2, audio: the modality rule (20/40).
        (2, "audio", 19, "ok"), (2, "audio", 20, "warning"), (2, "audio", 45, "critical"),
        # Queue 2, message: the global rule (30/60).
        (2, "message", 29, "ok"), (2, "message", 45, "warning"), (2, "message", 61, "critical"),
    ],
)
def test_the_most_specific_rule_decides(queue_id: int, modality: str, value: float,
                                        level: str) -> None:
    assert level_for(RULES, queue_id, modality, "longestQueuedTime", value) == level


def test_the_rules_order_does_not_change_specificity() -> None:
    assert level_for(list(reversed(RULES)), 1, "audio", "longestQueuedTime", 16) == "critical"
    assert level_for(list(reversed(RULES)), 2, "message", "longestQueuedTime", 45) == "warning"


@pytest.mark.parametrize(("value", "level"),
                         [(95, "ok"), (80.1, "ok"), (80, "warning"), (79, "warning"),
                          (60, "critical"), (12.5, "critical")])
def test_lower_is_worse_for_the_service_level(value: float, level: str) -> None:
    assert level_for(RULES, 3, "audio", "serviceLevel", value) == level


def test_no_rule_or_no_number_is_ok() -> None:
    assert level_for(RULES, 1, "audio", "queuedCount", 10_000) == "ok"
    assert level_for(RULES, 1, "audio", "longestQueuedTime", None) == "ok"
    assert level_for(RULES, 1, "audio", "longestQueuedTime", "soon") == "ok"
    assert level_for([], 1, "audio", "longestQueuedTime", 10_000) == "ok"


def test_load_thresholds_reads_enabled_rules_with_queue_clarity_ids(
    mbu: None, django_assert_num_queries: Any,
) -> None:
    queue = Queue.objects.get(clarity_id=4)
    lead = Agent.objects.first()
    assert lead is not None
    first = ThresholdRule.objects.create(
        name="Enterprise audio", metric="longestQueuedTime", modality="audio", queue=queue,
        warning=5, critical=10, notify_agent=lead, notify_event="Queue Alarm")
    second = ThresholdRule.objects.create(name="Everywhere", metric="longestQueuedTime",
                                          warning=30, critical=60)
    ThresholdRule.objects.create(name="Off", metric="longestQueuedTime", queue=queue,
                                 warning=1, critical=2, enabled=False)

    with django_assert_num_queries(1):
        rules = store.load_thresholds()

    assert rules == [
        Threshold("longestQueuedTime", 5, 10, True, queue_id=4, modality="audio",
                  rule_id=first.pk, name="Enterprise audio", notify_agent_id=lead.clarity_id,
                  notify_event="Queue Alarm"),
        Threshold("longestQueuedTime", 30, 60, True, queue_id=None, modality="",
                  rule_id=second.pk, name="Everywhere"),
    ]
    assert [rule.notifies for rule in rules] == [True, False]
    assert level_for(rules, 4, "audio", "longestQueuedTime", 7) == "warning"
    assert level_for(rules, 4, "message", "longestQueuedTime", 7) == "ok"


# -- wallboard tokens ---------------------------------------------------------------------------


@pytest.fixture
def board(db: None) -> Wallboard:
    return Wallboard.objects.create(name="Floor 2")


def test_a_wallboard_resolves_by_its_token(board: Wallboard) -> None:
    assert len(board.token) >= 43
    found = store.wallboard_for_token(board.token)
    assert found is not None and found.pk == board.pk


def test_rotating_changes_the_token_and_kills_the_old_one(board: Wallboard) -> None:
    old = board.token

    new = store.rotate_wallboard_token(board)

    assert new != old and len(new) >= 43
    assert Wallboard.objects.get(pk=board.pk).token == new
    assert store.wallboard_for_token(old) is None
    found = store.wallboard_for_token(new)
    assert found is not None and found.pk == board.pk


def test_a_revoked_wallboard_resolves_to_nothing(board: Wallboard) -> None:
    store.revoke_wallboard(board, now=NOW)
    store.revoke_wallboard(board, now=NOW + timedelta(hours=1))

    assert store.wallboard_for_token(board.token) is None
    assert Wallboard.objects.get(pk=board.pk).revoked_at == NOW

    # Rotating brings it back under a new URL; the revoked one stays dead.
    old = board.token
    new = store.rotate_wallboard_token(board)
    assert store.wallboard_for_token(old) is None
    assert store.wallboard_for_token(new) is not None


@pytest.mark.parametrize(
    "token",
    ["", "short", "x" * 42, "x" * 65, "a" * 40 + "/..", "a" * 42 + "=", "a" * 42 + " ",
     "a" * 43 + "\n"],
)
def test_wrong_shaped_tokens_are_refused_without_a_query(
    board: Wallboard, token: str, django_assert_num_queries: Any,
) -> None:
    with django_assert_num_queries(0):
        assert store.wallboard_for_token(token) is None


def test_a_right_shaped_unknown_token_is_refused(board: Wallboard) -> None:
    assert store.wallboard_for_token("A" * 43) is None
    assert store.wallboard_for_token(board.token.upper() if board.token.upper() != board.token
                                     else board.token.lower()) is None
    assert store.wallboard_for_token(None) is None  # type: ignore[arg-type]

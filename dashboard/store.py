"""What the bridge persists, and the few other writes the dashboard makes.

Plain synchronous functions: the bridge calls them through `asgiref.sync.sync_to_async`, views
call them directly. They take what the live picture holds (the wire's camel-case dicts) and
parse it with `integrations.clarity.wire`, so every quirk of the wire format (status names,
timestamps with 1 to 7 fractional digits, entity type spellings) is handled in one place.

Everything is keyed by Clarity ids, as the live picture is. Entities the database does not know
yet (the MBU sync has not run since they appeared) are skipped, not created: the MBU sync is
the one writer of the structure.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import transaction
from django.utils import timezone

from dashboard.models import (
    WALLBOARD_TOKEN_LENGTH,
    Agent,
    Alert,
    ClarityLabels,
    Queue,
    QueueSample,
    StatusPeriod,
    ThresholdRule,
    Wallboard,
    new_wallboard_token,
)
from integrations.clarity import wire
from integrations.clarity.errors import ClarityProtocolError

log = logging.getLogger(__name__)

# How long what the dashboard draws from is kept. Status history outlives the hub's own 24 h so
# that a day's timeline survives a restart late in the day.
STATUS_HISTORY_KEEP = timedelta(hours=48)
QUEUE_SAMPLES_KEEP = timedelta(hours=24)

Level = Literal["ok", "warning", "critical"]


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


# ---------------------------------------------------------------------------------------------
# Agent status and status history
# ---------------------------------------------------------------------------------------------


def _status(entry: Mapping[str, Any], what: str) -> wire.ConnectAgentStatus | None:
    """One wire status object, parsed; None (logged) when it cannot be read, so that one bad
    entry does not lose the rest of the batch."""
    try:
        return wire.ConnectAgentStatus.from_json(entry)
    except ClarityProtocolError as exc:
        log.warning("skipping an unreadable %s: %s", what, exc)
        return None


def save_agent_statuses(statuses: Mapping[int, Mapping[str, Any] | None]) -> int:
    """Store each agent's current status, from the live picture's `currentStatus` objects keyed
    by agent Clarity id (`agentStatus`, `reasonCodeName`, `startTime`, `isSuspended`).

    Only rows that changed are written, in one bulk update. A None or empty value (the picture
    has no status for the agent, e.g. a subscription without the status part) leaves the stored
    status alone, as do agents the database does not know. Returns the number of agents
    updated."""
    wanted: dict[int, tuple[str, str, datetime | None, bool]] = {}
    for agent_id, entry in statuses.items():
        if not entry:
            continue
        parsed = _status(entry, f"currentStatus of agent {agent_id}")
        if parsed is None:
            continue
        wanted[int(agent_id)] = (
            parsed.agent_status or "",
            parsed.reason_code_name or "",
            parsed.start_time,
            bool(parsed.is_suspended),
        )
    if not wanted:
        return 0
    now = timezone.now()
    changed: list[Agent] = []
    for agent in Agent.objects.filter(clarity_id__in=list(wanted)):
        status, reason, since, suspended = wanted[agent.clarity_id]
        current = (agent.status, agent.reason_code, agent.status_since, agent.is_suspended)
        if current != (status, reason, since, suspended):
            agent.status, agent.reason_code = status, reason
            agent.status_since, agent.is_suspended = since, suspended
            agent.updated_at = now  # bulk_update does not apply auto_now
            changed.append(agent)
    if changed:
        Agent.objects.bulk_update(
            changed, ["status", "reason_code", "status_since", "is_suspended", "updated_at"]
        )
    return len(changed)


def save_status_history(
    agent_clarity_id: int, entries: Iterable[Mapping[str, Any]], *, now: datetime | None = None
) -> int:
    """Store an agent's status history as the wire's `statusHistory` lists it (`agentStatus`,
    `reasonCodeName`, `startTime`, `endTime`, `isSuspended`).

    The hub resends the whole history, so periods already stored (same start and status) are
    not inserted again; the one that was open gets its end time once the wire has one. Periods
    that ended more than 48 hours ago are pruned for this agent. Returns the number inserted."""
    now = _now(now)
    cutoff = now - STATUS_HISTORY_KEEP
    agent = Agent.objects.filter(clarity_id=agent_clarity_id).first()
    if agent is None:
        return 0
    periods: dict[tuple[datetime, str], StatusPeriod] = {}
    for entry in entries:
        parsed = _status(entry, f"statusHistory entry of agent {agent_clarity_id}")
        if parsed is None or parsed.start_time is None or not parsed.agent_status:
            continue
        if parsed.end_time is not None and parsed.end_time < cutoff:
            continue  # would be pruned right away
        periods[(parsed.start_time, parsed.agent_status)] = StatusPeriod(
            agent=agent,
            status=parsed.agent_status,
            reason_code=parsed.reason_code_name or "",
            started_at=parsed.start_time,
            ended_at=parsed.end_time,
            is_suspended=bool(parsed.is_suspended),
        )
    inserted = 0
    with transaction.atomic():
        if periods:
            starts = sorted({start for start, _ in periods})
            existing = {
                (p.started_at, p.status): p
                for p in StatusPeriod.objects.filter(agent=agent, started_at__in=starts)
            }
            new = [p for key, p in periods.items() if key not in existing]
            ended = []
            for key, stored in existing.items():
                sent = periods.get(key)
                if sent is not None and sent.ended_at is not None and stored.ended_at is None:
                    stored.ended_at = sent.ended_at
                    ended.append(stored)
            # ignore_conflicts: another writer may have stored the same period meanwhile.
            StatusPeriod.objects.bulk_create(new, ignore_conflicts=True)
            if ended:
                StatusPeriod.objects.bulk_update(ended, ["ended_at"])
            inserted = len(new)
        StatusPeriod.objects.filter(agent=agent, ended_at__lt=cutoff).delete()
    return inserted


# ---------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------

_ALERT_FIELDS = (
    "name",
    "severity",
    "entity_type",
    "entity_id",
    "entity_name",
    "metric",
    "modality",
    "value",
    "threshold",
    "message",
    "is_active",
    "raised_at",
    "cleared_at",
)


def _alert_values(parsed: wire.Alert, now: datetime) -> dict[str, Any]:
    return {
        "name": parsed.name or "",
        "severity": (parsed.severity or "warning").strip().lower(),
        "entity_type": parsed.entity_type or "",
        "entity_id": parsed.entity_id,
        "entity_name": parsed.entity_name or "",
        "metric": parsed.metric or "",
        "modality": parsed.modality or "",
        "value": parsed.value,
        "threshold": parsed.threshold,
        "message": parsed.message or "",
        # A missing isActive means active: an alert is sent because it was raised.
        "is_active": parsed.is_active is not False,
        "raised_at": parsed.raised_time or now,
        "cleared_at": parsed.cleared_time,
    }


def save_alerts(alerts: Iterable[Mapping[str, Any]]) -> list[Alert]:
    """Insert or update alerts by Clarity id, from the contract's alert objects (`id`, `name`,
    `severity`, `entityType`, `entityId`, `entityName`, `metric`, `modality`, `value`,
    `threshold`, `isActive`, `raisedTime`, `clearedTime`, `message`).

    Acknowledgements are ours and are left alone. Returns the alerts that became active with
    this call (new ones, and known ones raised again), for the toasts."""
    now = timezone.now()
    wanted: dict[int, dict[str, Any]] = {}
    for item in alerts:
        try:
            parsed = wire.Alert.from_json(item)
        except ClarityProtocolError as exc:
            log.warning("skipping an unreadable alert: %s", exc)
            continue
        wanted[parsed.id] = _alert_values(parsed, now)
    if not wanted:
        return []
    raised: list[Alert] = []
    with transaction.atomic():
        existing = Alert.objects.select_for_update().in_bulk(list(wanted), field_name="clarity_id")
        to_create: list[Alert] = []
        to_update: list[Alert] = []
        for clarity_id, values in wanted.items():
            alert = existing.get(clarity_id)
            if alert is None:
                alert = Alert(clarity_id=clarity_id, **values)
                to_create.append(alert)
                if alert.is_active:
                    raised.append(alert)
                continue
            was_active = alert.is_active
            if any(getattr(alert, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(alert, name, value)
                to_update.append(alert)
            if alert.is_active and not was_active:
                raised.append(alert)
        Alert.objects.bulk_create(to_create)
        if to_update:
            Alert.objects.bulk_update(to_update, list(_ALERT_FIELDS))
    if any(a.pk is None for a in raised):
        # Not every backend returns primary keys from bulk_create: read the rows back.
        return list(Alert.objects.filter(clarity_id__in=[a.clarity_id for a in raised]))
    return raised


def acknowledge_alert(alert_id: int, user: Any, *, now: datetime | None = None) -> Alert:
    """Record that `user` acknowledged the alert with Clarity id `alert_id`.

    The first acknowledgement wins: one conditional UPDATE, so two supervisors clicking at the
    same moment cannot overwrite each other. Raises Alert.DoesNotExist for an unknown id.
    Whether the user may see the alert at all is the caller's check (dashboard.mbu)."""
    Alert.objects.filter(clarity_id=alert_id, acknowledged_at__isnull=True).update(
        acknowledged_by=user, acknowledged_at=_now(now)
    )
    return Alert.objects.select_related("acknowledged_by").get(clarity_id=alert_id)


def acknowledgement(alert: Alert) -> tuple[str, str] | None:
    """`(user name, ISO time)` of an alert's acknowledgement, as the live picture keeps it;
    None when nobody acknowledged it. A deleted user still acknowledged it: the name is then
    empty, the time stays."""
    if alert.acknowledged_at is None:
        return None
    by = alert.acknowledged_by.get_username() if alert.acknowledged_by is not None else ""
    return by, alert.acknowledged_at.isoformat()


def load_acknowledgements(limit: int = 5000) -> dict[int, tuple[str, str]]:
    """The acknowledgements of the `limit` most recently raised acknowledged alerts, by alert
    Clarity id, for the bridge to start with. Older ones have long left Clarity's alert list."""
    rows = (Alert.objects.filter(acknowledged_at__isnull=False)
            .select_related("acknowledged_by").order_by("-raised_at")[:limit])
    return {alert.clarity_id: ack for alert in rows if (ack := acknowledgement(alert))}


# ---------------------------------------------------------------------------------------------
# Queue samples and sparklines
# ---------------------------------------------------------------------------------------------


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def save_queue_samples(
    samples: Iterable[tuple[int, str, datetime, Mapping[str, Any]]], *, now: datetime | None = None
) -> int:
    """Store `(queue Clarity id, modality, taken_at, metrics)` samples, one row per queue,
    modality and minute (`taken_at` is truncated to the minute; a later sample in the same
    minute replaces the earlier). Samples older than 24 hours are pruned. Unknown queues are
    skipped. Returns the number of samples written."""
    now = _now(now)
    cutoff = now - QUEUE_SAMPLES_KEEP
    rows: dict[tuple[int, str, datetime], dict[str, Any]] = {}
    for queue_id, modality, taken_at, metrics in samples:
        minute = _minute(taken_at)
        if minute >= cutoff:
            rows[(int(queue_id), modality, minute)] = dict(metrics)
    queue_pks = dict(
        Queue.objects.filter(clarity_id__in={q for q, _, _ in rows}).values_list("clarity_id", "pk")
    )
    objs = [
        QueueSample(queue_id=queue_pks[q], modality=m, taken_at=t, metrics=metrics)
        for (q, m, t), metrics in rows.items()
        if q in queue_pks
    ]
    with transaction.atomic():
        if objs:
            QueueSample.objects.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=["queue", "modality", "taken_at"],
                update_fields=["metrics"],
            )
        prune_queue_samples(now=now)
    return len(objs)


def prune_queue_samples(*, now: datetime | None = None) -> int:
    """Delete samples older than 24 hours; returns how many."""
    deleted, _ = QueueSample.objects.filter(taken_at__lt=_now(now) - QUEUE_SAMPLES_KEEP).delete()
    return deleted


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def sparkline(
    queue_id: int, modality: str, metric: str, since: datetime
) -> list[tuple[datetime, float]]:
    """A queue's metric over time, one point a minute since `since`, oldest first. Samples
    without a numeric value for the metric are left out (a gap, not a zero)."""
    rows = QueueSample.objects.filter(
        queue__clarity_id=queue_id, modality=modality, taken_at__gte=since
    ).order_by("taken_at")
    points: list[tuple[datetime, float]] = []
    for taken_at, metrics in rows.values_list("taken_at", "metrics"):
        value = _number(metrics.get(metric)) if isinstance(metrics, dict) else None
        if value is not None:
            points.append((taken_at, value))
    return points


def sparklines(
    metric: str, since: datetime, *, queue_ids: Iterable[int] | None = None
) -> dict[tuple[int, str], list[tuple[datetime, float]]]:
    """`sparkline` for every queue and modality at once (or those of `queue_ids`), keyed by
    (queue Clarity id, modality): one query, reading only the one metric out of each sample."""
    rows = QueueSample.objects.filter(taken_at__gte=since)
    if queue_ids is not None:
        rows = rows.filter(queue__clarity_id__in=list(queue_ids))
    found: dict[tuple[int, str], list[tuple[datetime, float]]] = {}
    for queue_id, modality, taken_at, raw in rows.order_by("taken_at").values_list(
        "queue__clarity_id", "modality", "taken_at", f"metrics__{metric}"
    ):
        value = _number(raw)
        if value is not None:
            found.setdefault((queue_id, modality), []).append((taken_at, value))
    return found


def latest_queue_metrics(
    queue_ids: Iterable[int], since: datetime
) -> dict[int, dict[str, dict[str, Any]]]:
    """The newest sample since `since` of each queue and modality, as the live picture holds
    queue metrics: {queue Clarity id: {modality: metric bag}}. For first page renders."""
    rows = QueueSample.objects.filter(queue__clarity_id__in=list(queue_ids), taken_at__gte=since)
    found: dict[int, dict[str, dict[str, Any]]] = {}
    # Oldest first, so that the newest sample of each queue and modality is the one kept.
    for queue_id, modality, metrics in rows.order_by("taken_at").values_list(
        "queue__clarity_id", "modality", "metrics"
    ):
        if isinstance(metrics, dict):
            found.setdefault(queue_id, {})[modality] = metrics
    return found


# ---------------------------------------------------------------------------------------------
# Clarity's labels (its localization resource)
# ---------------------------------------------------------------------------------------------


def save_labels(locale: str, strings: Mapping[str, str]) -> None:
    """Keep Clarity's localization dictionary for `locale`, replacing the one stored."""
    ClarityLabels.objects.update_or_create(
        locale=locale.strip().lower(), defaults={"strings": dict(strings)}
    )


def load_labels(locale: str) -> dict[str, str]:
    """The stored localization dictionary for `locale`; empty when there is none (then every
    label falls back to the dashboard's own)."""
    row = ClarityLabels.objects.filter(locale=locale.strip().lower()).first()
    if row is None or not isinstance(row.strings, dict):
        return {}
    return {str(k): str(v) for k, v in row.strings.items() if isinstance(v, str)}


# ---------------------------------------------------------------------------------------------
# Threshold rules
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A ThresholdRule detached from the database, so that `level_for` is pure and safe to call
    from the bridge's event loop. `queue_id` is the queue's Clarity id, None for every queue;
    `modality` is "" for any."""

    metric: str
    warning: float
    critical: float
    higher_is_worse: bool = True
    queue_id: int | None = None
    modality: str = ""
    # The rule's optional action (ThresholdRule.notify_*): whom to send which OpenMethods
    # event when a queue reaches the critical level by this rule. None/"" when it has none.
    rule_id: int | None = None
    name: str = ""
    notify_agent_id: int | None = None
    notify_event: str = ""

    @classmethod
    def from_rule(cls, rule: ThresholdRule) -> Threshold:
        return cls(
            metric=rule.metric,
            warning=rule.warning,
            critical=rule.critical,
            higher_is_worse=rule.higher_is_worse,
            queue_id=rule.queue.clarity_id if rule.queue is not None else None,
            modality=rule.modality,
            rule_id=rule.pk,
            name=rule.name,
            notify_agent_id=(rule.notify_agent.clarity_id if rule.notify_agent is not None
                             else None),
            notify_event=rule.notify_event,
        )

    @property
    def notifies(self) -> bool:
        return self.notify_agent_id is not None and bool(self.notify_event)


def load_thresholds() -> list[Threshold]:
    """The enabled threshold rules, in one query, oldest first."""
    rules = (ThresholdRule.objects.filter(enabled=True)
             .select_related("queue", "notify_agent").order_by("pk"))
    return [Threshold.from_rule(rule) for rule in rules]


def deciding_rule(
    rules: Iterable[Threshold], queue_id: int | None, modality: str, metric: str
) -> Threshold | None:
    """The rule that colours `metric` on queue `queue_id` (Clarity id) for `modality`: the
    most specific matching one (queue and modality, then queue, then modality, then a rule
    for every queue and modality); among equally specific ones, the first."""
    best: Threshold | None = None
    best_rank = -1
    for rule in rules:
        if rule.metric != metric:
            continue
        if rule.queue_id is not None and rule.queue_id != queue_id:
            continue
        if rule.modality and rule.modality != modality:
            continue
        rank = (2 if rule.queue_id is not None else 0) + (1 if rule.modality else 0)
        if rank > best_rank:
            best, best_rank = rule, rank
    return best


def level_for(
    rules: Iterable[Threshold], queue_id: int | None, modality: str, metric: str, value: Any
) -> Level:
    """The colour of `metric` = `value` on queue `queue_id` (Clarity id) for `modality`, by
    the rule `deciding_rule` picks. A value equal to a threshold counts as reaching it. No
    rule, or no numeric value, is "ok"."""
    number = _number(value)
    if number is None:
        return "ok"
    best = deciding_rule(rules, queue_id, modality, metric)
    if best is None:
        return "ok"
    higher_is_worse = best.higher_is_worse

    def reached(limit: float) -> bool:
        return number >= limit if higher_is_worse else number <= limit

    if reached(best.critical):
        return "critical"
    if reached(best.warning):
        return "warning"
    return "ok"


# ---------------------------------------------------------------------------------------------
# Wallboard tokens
# ---------------------------------------------------------------------------------------------

# What new_wallboard_token makes (base64url); anything else is refused before the database.
_TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{WALLBOARD_TOKEN_LENGTH},64}}")


def rotate_wallboard_token(wallboard: Wallboard) -> str:
    """Give the wallboard a new secret URL; the old one stops working at once.

    Rotating a revoked wallboard brings it back, under the new URL: the old one stays dead."""
    wallboard.token = new_wallboard_token()
    wallboard.revoked_at = None
    wallboard.save(update_fields=["token", "revoked_at"])
    return wallboard.token


def revoke_wallboard(wallboard: Wallboard, *, now: datetime | None = None) -> None:
    """Stop the wallboard's URL from working (the first revocation time is kept)."""
    if wallboard.revoked_at is None:
        wallboard.revoked_at = _now(now)
        wallboard.save(update_fields=["revoked_at"])


def wallboard_for_token(token: str) -> Wallboard | None:
    """The live (not revoked) wallboard with this token, or None.

    Tokens of the wrong shape are refused without a query; the final comparison is constant
    time, so that the match itself leaks nothing about how much of a guess was right."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        return None
    wallboard = Wallboard.objects.filter(token=token, revoked_at__isnull=True).first()
    if wallboard is None or not hmac.compare_digest(wallboard.token, token):
        return None
    return wallboard

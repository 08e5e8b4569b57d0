"""Apply Clarity subscription messages (a snapshot, then "gold diffs") to a live picture.

This module is pure: no I/O, no asyncio, no other project module. The hub code hands it each
decoded `subscriptionUpdate` / `alertUpdate` argument; it answers what happened (applied,
snapshot, duplicate, gap) and which entities changed, so the bridge can publish only those.

Written from `docs/clarity-contract.md` ("Snapshot, diffs and sequence") and the seed's
Request & Response Dictionary, never from the simulator: each side's tests must be able to
catch the other side's misreading of the wire format.

State is kept per subscription, because several subscriptions may cover the same entity (two
agent subscriptions with different metric filters, say) and a snapshot replaces only what its
own subscription held. Read views merge those per-subscription states on demand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, TypeAlias, TypeGuard

__all__ = [
    "STATUS_HISTORY_WINDOW",
    "ApplyResult",
    "ApplyStatus",
    "EntityKey",
    "GroupKey",
    "MergeError",
    "Picture",
    "SubscriptionInfo",
    "parse_timestamp",
]

# Keys naming one entity of the merged picture, also used as version keys:
#   ("agent", 41), ("queue", 3)                 items of `agents` / `queues` subscriptions
#   ("group", "agent", "team", 2)               items of `agentsGroup` / `queuesGroup`
#   ("aggregate", "s-9f2c")                     the one item of an `*Aggregate` subscription
#   ("alert", 501)                              alerts
# Entity types are restricted to agent/queue, so a 2-tuple can never be ambiguous.
EntityKey: TypeAlias = tuple[str, int] | tuple[str, str] | tuple[str, str, str, int]
# (kind, groupType, groupId): kind is "agent" or "queue", from the subscription type.
GroupKey: TypeAlias = tuple[str, str, int]

# The seed: "include the last 24 hours of Agent statuses". Trimmed relative to the message's
# own timestamp, not the local clock, so the picture is a function of the messages alone.
STATUS_HISTORY_WINDOW: Final = timedelta(hours=24)

_SUBSCRIPTION_TYPES: Final = {
    name.lower(): name
    for name in (
        "agents",
        "agentsAggregate",
        "agentsGroup",
        "queues",
        "queuesAggregate",
        "queuesGroup",
        "alerts",
    )
}
_ENTITY_SUBSCRIPTIONS: Final = frozenset({"agents", "queues"})
_GROUP_SUBSCRIPTIONS: Final = {"agentsGroup": "agent", "queuesGroup": "queue"}
_AGGREGATE_SUBSCRIPTIONS: Final = frozenset({"agentsAggregate", "queuesAggregate"})
# The contract: entity types are lower camel case, but the seed's samples mix cases, so they
# are compared without regard to case and stored in the contract's spelling.
_ENTITY_TYPES: Final = {"agent": "agent", "queue": "queue"}
_CANONICAL_NAMES: Final = {
    name.lower(): name for name in ("agent", "queue", "team", "group", "businessUnit")
}
# Keys merged by their own rules; every other key of an item is a field replaced whole.
_STRUCTURED: Final = frozenset(
    {"metrics", "sessions", "statusHistory", "breakdowns", "addedBreakdowns", "removedBreakdowns"}
)
_SESSION_LISTS: Final = ("sessions", "addedSessions", "removedSessions")


class MergeError(ValueError):
    """The message does not have the contract's shape; nothing of it was applied."""


class ApplyStatus(StrEnum):
    SNAPSHOT = "snapshot"  # a snapshot replaced what the subscription held
    APPLIED = "applied"  # the next diff in sequence was merged
    DUPLICATE = "duplicate"  # sequence <= last seen: already reflected, ignored
    GAP = "gap"  # cannot be applied safely; the caller must resubscribe
    FORGOTTEN = "forgotten"  # `Picture.forget` dropped the subscription


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one `apply` (or `forget`) did to the picture."""

    status: ApplyStatus
    subscription_id: str
    subscription_type: str | None
    sequence: int | None
    # New version of every entity key this call changed, including keys that vanished;
    # empty unless status is SNAPSHOT, APPLIED or FORGOTTEN.
    changed: Mapping[EntityKey, int]
    # Keys among `changed` that no subscription holds any more: publish them as removals.
    removed: frozenset[EntityKey]
    # The picture's global version after this call.
    version: int
    # For DUPLICATE and GAP: the sequence that would have been applied next as a diff
    # (None while the subscription has never had a snapshot).
    expected_sequence: int | None = None
    # True only for the GAP that moved the subscription into needs-resync, so a caller that
    # resubscribes on `first_gap` does so once, not once per diff still in flight.
    first_gap: bool = False

    @property
    def needs_resync(self) -> bool:
        return self.status is ApplyStatus.GAP

    @property
    def changed_keys(self) -> frozenset[EntityKey]:
        return frozenset(self.changed)


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    subscription_id: str
    subscription_type: str
    last_sequence: int  # 0 if only diffs (gaps) were seen so far
    needs_resync: bool
    entity_count: int


def parse_timestamp(text: str) -> datetime | None:
    """Parse a wire timestamp to an aware UTC datetime; None if it is not one.

    The contract uses ISO 8601 with `Z` ("2016-10-27T19:56:02.98Z"); the seed's status history
    sample is looser ("2016-1-1 05:00"). Times without an offset are UTC, as the seed says.
    """
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        parsed = _parse_loose(text)
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_LOOSE_TIME: Final = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


def _parse_loose(text: str) -> datetime | None:
    match = _LOOSE_TIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz: timezone = UTC
    if offset and offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        tz = timezone(sign * delta)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        return None


# --- parsed messages -------------------------------------------------------------------------
# A message is parsed and checked completely into these before anything is touched, so a
# malformed message leaves the picture exactly as it was.


@dataclass(frozen=True, slots=True)
class _Keyed:
    """Changes to a collection keyed by id: upserts in wire order, then removals."""

    upserts: tuple[tuple[int, Any], ...] = ()
    removals: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Item:
    key: EntityKey
    fields: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    sessions: dict[str, _Keyed]
    history: tuple[tuple[datetime | None, Any], ...]
    breakdowns: _Keyed
    whole: bool  # alerts: the item replaces the stored entity whole


@dataclass(frozen=True, slots=True)
class _Message:
    subscription_id: str
    subscription_type: str
    sequence: int
    is_snapshot: bool
    timestamp: datetime
    items: tuple[_Item, ...]


def _is_int(value: object) -> TypeGuard[int]:
    # JSON true/false decode to bool, which Python counts as int; an id is never a bool.
    return isinstance(value, int) and not isinstance(value, bool)


def _copy(value: Any) -> Any:
    """Copy decoded JSON so the picture never aliases a caller's objects (or vice versa)."""
    if isinstance(value, Mapping):
        return {key: _copy(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(inner) for inner in value]
    return value


def _canonical(name: object) -> object:
    if isinstance(name, str):
        return _CANONICAL_NAMES.get(name.lower(), name)
    return name


def _parse_message(message: object) -> _Message:
    if not isinstance(message, Mapping):
        raise MergeError("message: expected an object")
    subscription_id = message.get("subscriptionId")
    if not isinstance(subscription_id, str) or not subscription_id:
        raise MergeError("subscriptionId: expected a non-empty string")
    raw_type = message.get("subscriptionType")
    subscription_type = (
        _SUBSCRIPTION_TYPES.get(raw_type.lower()) if isinstance(raw_type, str) else None
    )
    if subscription_type is None:
        raise MergeError(f"subscriptionType: unknown value {raw_type!r:.60}")
    sequence = message.get("sequence")
    if not _is_int(sequence) or sequence < 1:
        raise MergeError("sequence: expected an integer >= 1")
    is_snapshot = message.get("isSnapshot")
    if not isinstance(is_snapshot, bool):
        raise MergeError("isSnapshot: expected a boolean")
    raw_time = message.get("timestamp")
    timestamp = parse_timestamp(raw_time) if isinstance(raw_time, str) else None
    if timestamp is None:
        raise MergeError("timestamp: expected an ISO 8601 date-time string")
    raw_items = message.get("items")
    if not isinstance(raw_items, list):
        raise MergeError("items: expected a list")
    items = tuple(
        _parse_item(subscription_type, subscription_id, raw, f"items[{index}]")
        for index, raw in enumerate(raw_items)
    )
    return _Message(subscription_id, subscription_type, sequence, is_snapshot, timestamp, items)


def _parse_item(subscription_type: str, subscription_id: str, raw: object, path: str) -> _Item:
    if not isinstance(raw, Mapping):
        raise MergeError(f"{path}: expected an object")
    if subscription_type == "alerts":
        alert_id = raw.get("id")
        if not _is_int(alert_id):
            raise MergeError(f"{path}.id: expected an integer alert id")
        # An alert item replaces the stored alert whole: no per-field merge.
        return _Item(("alert", alert_id), _copy(raw), {}, {}, (), _Keyed(), whole=True)

    key: EntityKey
    fixed: dict[str, Any] = {}
    if subscription_type in _ENTITY_SUBSCRIPTIONS:
        raw_entity_type = raw.get("type")
        entity_type = (
            _ENTITY_TYPES.get(raw_entity_type.lower()) if isinstance(raw_entity_type, str) else None
        )
        if entity_type is None:
            # The seed: "Entity type: Agent or Queue". Keys are routed by the item's own type,
            # so agents() and queues() stay right whatever subscription carried the item.
            raise MergeError(f"{path}.type: expected 'agent' or 'queue'")
        entity_id = raw.get("id")
        if not _is_int(entity_id):
            raise MergeError(f"{path}.id: expected an integer entity id")
        key = (entity_type, entity_id)
        fixed["type"] = entity_type
    elif subscription_type in _GROUP_SUBSCRIPTIONS:
        group_type = raw.get("groupType")
        if not isinstance(group_type, str) or not group_type:
            raise MergeError(f"{path}.groupType: expected a non-empty string")
        group_id = raw.get("groupId")
        if not _is_int(group_id):
            raise MergeError(f"{path}.groupId: expected an integer")
        canonical_group_type = str(_canonical(group_type))
        key = ("group", _GROUP_SUBSCRIPTIONS[subscription_type], canonical_group_type, group_id)
        fixed["groupType"] = canonical_group_type
    else:
        # An aggregate subscription has one item and the subscription is its identity; should
        # a message carry several, they merge into that one entity in order.
        key = ("aggregate", subscription_id)
    if "type" in raw and "type" not in fixed:
        fixed["type"] = _canonical(raw["type"])
    entity_ids = raw.get("entityIds")
    if entity_ids is not None and (
        not isinstance(entity_ids, list) or not all(_is_int(i) for i in entity_ids)
    ):
        raise MergeError(f"{path}.entityIds: expected a list of integers")

    fields = {name: _copy(value) for name, value in raw.items() if name not in _STRUCTURED}
    fields.update(fixed)
    return _Item(
        key=key,
        fields=fields,
        metrics=_parse_metrics(raw.get("metrics"), f"{path}.metrics"),
        sessions=_parse_sessions(raw.get("sessions"), f"{path}.sessions"),
        history=_parse_history(raw.get("statusHistory"), f"{path}.statusHistory"),
        breakdowns=_parse_breakdowns(raw, path),
        whole=False,
    )


# `null` for a container is read as "nothing": a .NET serializer writes unset properties as
# null, and nothing in the contract gives null another meaning there.


def _parse_metrics(raw: object, path: str) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise MergeError(f"{path}: expected an object of modalities")
    metrics: dict[str, dict[str, Any]] = {}
    for modality, bag in raw.items():
        if bag is None:
            continue
        if not isinstance(bag, Mapping):
            raise MergeError(f"{path}.{modality}: expected an object of metrics")
        # A metric's value may itself be an object ({"total","average","count"}): it is a
        # value, replaced whole, so it is copied as is.
        metrics[str(modality)] = {str(name): _copy(value) for name, value in bag.items()}
    return metrics


def _parse_keyed_list(raw: object, id_field: str, path: str) -> tuple[tuple[int, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MergeError(f"{path}: expected a list")
    entries: list[tuple[int, Any]] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise MergeError(f"{path}[{index}]: expected an object")
        entry_id = entry.get(id_field)
        if not _is_int(entry_id):
            raise MergeError(f"{path}[{index}].{id_field}: expected an integer")
        entries.append((entry_id, _copy(entry)))
    return tuple(entries)


def _parse_sessions(raw: object, path: str) -> dict[str, _Keyed]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise MergeError(f"{path}: expected an object of modalities")
    sessions: dict[str, _Keyed] = {}
    for modality, bag in raw.items():
        if bag is None:
            continue
        if not isinstance(bag, Mapping):
            raise MergeError(f"{path}.{modality}: expected an Added and Removed Session Model")
        unknown = set(bag) - set(_SESSION_LISTS)
        if unknown:
            # The seed names exactly three lists; a fourth is a misreading worth surfacing
            # rather than silently dropping sessions.
            raise MergeError(f"{path}.{modality}: unknown keys {sorted(map(str, unknown))}")
        where = f"{path}.{modality}"
        upserts = _parse_keyed_list(bag.get("sessions"), "sessionId", f"{where}.sessions")
        added = _parse_keyed_list(bag.get("addedSessions"), "sessionId", f"{where}.addedSessions")
        removed = _parse_keyed_list(
            bag.get("removedSessions"), "sessionId", f"{where}.removedSessions"
        )
        sessions[str(modality)] = _Keyed(
            upserts=upserts + added, removals=tuple(session_id for session_id, _ in removed)
        )
    return sessions


def _parse_breakdowns(raw: Mapping[str, Any], path: str) -> _Keyed:
    changed = _parse_keyed_list(raw.get("breakdowns"), "queueId", f"{path}.breakdowns")
    added = _parse_keyed_list(raw.get("addedBreakdowns"), "queueId", f"{path}.addedBreakdowns")
    removed = _parse_keyed_list(
        raw.get("removedBreakdowns"), "queueId", f"{path}.removedBreakdowns"
    )
    return _Keyed(upserts=changed + added, removals=tuple(queue_id for queue_id, _ in removed))


def _parse_history(raw: object, path: str) -> tuple[tuple[datetime | None, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MergeError(f"{path}: expected a list of Status Models")
    entries: list[tuple[datetime | None, Any]] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise MergeError(f"{path}[{index}]: expected an object")
        end_time = entry.get("endTime")
        if end_time is not None and not isinstance(end_time, str):
            raise MergeError(f"{path}[{index}].endTime: expected a string or null")
        # An endTime we cannot read is kept, never trimmed: losing history silently would be
        # worse than keeping an entry a little past 24 h.
        end = parse_timestamp(end_time) if end_time is not None else None
        entries.append((end, _copy(entry)))
    return tuple(entries)


# --- per-subscription state ------------------------------------------------------------------


@dataclass(slots=True)
class _State:
    """One entity as one subscription sees it."""

    fields: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[int, Any]] = field(default_factory=dict)
    breakdowns: dict[int, Any] = field(default_factory=dict)
    history: list[tuple[datetime | None, Any]] = field(default_factory=list)
    # Cached so the 24 h trim, run over every entity of a subscription on every message,
    # costs one comparison per entity; not part of equality.
    oldest_end: datetime | None = field(default=None, compare=False)

    def clone(self) -> _State:
        # Stored leaves (metric values, sessions, breakdowns, history entries) are replaced,
        # never mutated, so copying the containers is enough.
        return _State(
            fields=dict(self.fields),
            metrics={modality: dict(bag) for modality, bag in self.metrics.items()},
            sessions={modality: dict(bag) for modality, bag in self.sessions.items()},
            breakdowns=dict(self.breakdowns),
            history=list(self.history),
            oldest_end=self.oldest_end,
        )

    def merge(self, item: _Item) -> None:
        if item.whole:
            self.fields = dict(item.fields)
            self.metrics, self.sessions, self.breakdowns, self.history = {}, {}, {}, []
            self.oldest_end = None
            return
        # Scalars (name, entityIds, ...) and currentStatus are replaced whole when present.
        self.fields.update(item.fields)
        for modality, bag in item.metrics.items():
            self.metrics.setdefault(modality, {}).update(bag)
        for modality, change in item.sessions.items():
            sessions = self.sessions.setdefault(modality, {})
            _apply_keyed(sessions, change)
            if not sessions:
                # An empty bag and a missing bag mean the same; keep one form so that state
                # equality (used to detect change) does not see a difference that is not one.
                del self.sessions[modality]
        _apply_keyed(self.breakdowns, item.breakdowns)
        if item.history:
            self.history.extend(item.history)
            self._refresh_oldest()

    def needs_trim(self, cutoff: datetime) -> bool:
        return self.oldest_end is not None and self.oldest_end < cutoff

    def trim(self, cutoff: datetime) -> None:
        if self.needs_trim(cutoff):
            self.history = [
                (end, entry) for end, entry in self.history if end is None or end >= cutoff
            ]
            self._refresh_oldest()

    def _refresh_oldest(self) -> None:
        ends = [end for end, _ in self.history if end is not None]
        self.oldest_end = min(ends) if ends else None


def _apply_keyed(target: dict[int, Any], change: _Keyed) -> None:
    # Upserts first, removals last: if a coalesced diff lists a session as both changed and
    # removed, it is gone, which is the later of the two events.
    for entry_id, entry in change.upserts:
        target[entry_id] = entry
    for entry_id in change.removals:
        target.pop(entry_id, None)


@dataclass(slots=True)
class _Subscription:
    subscription_type: str
    last_sequence: int
    needs_resync: bool
    entities: dict[EntityKey, _State] = field(default_factory=dict)
    # Global version at which this subscription last changed each of its entities: when
    # several subscriptions hold one entity, the most recent one wins where they disagree.
    stamps: dict[EntityKey, int] = field(default_factory=dict)


# --- the picture -----------------------------------------------------------------------------


class Picture:
    """The merged live picture of every subscription's entities, with versions."""

    def __init__(self, *, history_window: timedelta = STATUS_HISTORY_WINDOW) -> None:
        self._history_window = history_window
        self._subscriptions: dict[str, _Subscription] = {}
        # Which subscriptions hold each key (dict as an insertion-ordered set).
        self._holders: dict[EntityKey, dict[str, None]] = {}
        # Versions outlive an entity's removal, so a key that comes back keeps counting up and
        # a consumer never mistakes new data for old.
        self._versions: dict[EntityKey, int] = {}
        self._changed_at: dict[EntityKey, int] = {}
        self._version = 0

    # -- applying -----------------------------------------------------------------------------

    def apply(self, message: Mapping[str, Any]) -> ApplyResult:
        """Apply one decoded subscription message; raise MergeError if it is malformed.

        A MergeError leaves the picture untouched; its sequence is not recorded, so the next
        diff of that subscription shows up as a gap.
        """
        parsed = _parse_message(message)
        sid = parsed.subscription_id
        subscription = self._subscriptions.get(sid)
        if (
            subscription is not None
            and not parsed.is_snapshot
            and subscription.subscription_type != parsed.subscription_type
        ):
            raise MergeError(
                f"subscriptionType {parsed.subscription_type!r} for a subscription of type "
                f"{subscription.subscription_type!r}"
            )

        if subscription is not None and parsed.sequence <= subscription.last_sequence:
            # Already reflected (an old diff, or a snapshot we have moved past).
            return self._result(
                ApplyStatus.DUPLICATE, parsed, expected=subscription.last_sequence + 1
            )

        if parsed.is_snapshot:
            # A snapshot is self-contained: any sequence beyond the last one seen is fine,
            # including one that skips numbers, as after a resubscription.
            return self._apply_snapshot(parsed, subscription)

        if subscription is None:
            # A diff before any snapshot. Remember the subscription as needing a resync so
            # the diffs after this one are not reported as a first gap again.
            self._subscriptions[sid] = _Subscription(
                parsed.subscription_type, last_sequence=0, needs_resync=True
            )
            return self._result(ApplyStatus.GAP, parsed, expected=None, first_gap=True)
        if subscription.needs_resync or parsed.sequence != subscription.last_sequence + 1:
            first_gap = not subscription.needs_resync
            subscription.needs_resync = True
            expected = subscription.last_sequence + 1 if subscription.last_sequence else None
            return self._result(ApplyStatus.GAP, parsed, expected=expected, first_gap=first_gap)
        return self._apply_diff(parsed, subscription)

    def drop_entity(self, key: EntityKey) -> bool:
        """Remove one entity from every subscription that holds it, as a removal from upstream
        would. The contract has no message that removes an alert, and a wallboard runs for
        weeks: the dashboard drops alerts cleared long ago this way. Its version goes up, so
        readers see the removal (changed_since); if the upstream sends it again, it is back.
        False if no subscription held it."""
        holders = self._holders.pop(key, None)
        if not holders:
            return False
        for sid in holders:
            subscription = self._subscriptions[sid]
            subscription.entities.pop(key, None)
            subscription.stamps.pop(key, None)
        self._version += 1
        self._versions[key] = self._versions.get(key, 0) + 1
        self._changed_at[key] = self._version
        return True

    def forget(self, subscription_id: str) -> ApplyResult:
        """Drop a subscription's state (it was deleted or replaced by another)."""
        subscription = self._subscriptions.pop(subscription_id, None)
        if subscription is None:
            return ApplyResult(
                ApplyStatus.FORGOTTEN,
                subscription_id,
                None,
                None,
                MappingProxyType({}),
                frozenset(),
                self._version,
            )
        dropped = set(subscription.entities)
        for key in dropped:
            self._release(key, subscription_id)
        changed, removed = self._bump(dropped, None)
        return ApplyResult(
            ApplyStatus.FORGOTTEN,
            subscription_id,
            subscription.subscription_type,
            subscription.last_sequence,
            changed,
            removed,
            self._version,
        )

    def _apply_snapshot(self, parsed: _Message, old: _Subscription | None) -> ApplyResult:
        cutoff = parsed.timestamp - self._history_window
        entities: dict[EntityKey, _State] = {}
        for item in parsed.items:
            state = entities.get(item.key)
            if state is None:
                state = entities[item.key] = _State()
            state.merge(item)
        for state in entities.values():
            state.trim(cutoff)

        sid = parsed.subscription_id
        old_keys = set(old.entities) if old is not None else set()
        subscription = _Subscription(
            parsed.subscription_type, parsed.sequence, needs_resync=False, entities=entities
        )
        self._subscriptions[sid] = subscription
        for key in old_keys - entities.keys():
            self._release(key, sid)
        for key in entities:
            self._holders.setdefault(key, {})[sid] = None
        # Every entity in a snapshot counts as changed, and so does every one that vanished.
        changed, removed = self._bump(old_keys | entities.keys(), subscription)
        return self._result(ApplyStatus.SNAPSHOT, parsed, changed=changed, removed=removed)

    def _apply_diff(self, parsed: _Message, subscription: _Subscription) -> ApplyResult:
        # Stage on copies and commit at the end: nothing half-applied is ever visible.
        staged: dict[EntityKey, _State] = {}
        for item in parsed.items:
            state = staged.get(item.key)
            if state is None:
                # A diff may name an entity the subscription does not hold yet (an agent who
                # joined the team): it starts empty and the diff carries what it has.
                current = subscription.entities.get(item.key)
                state = staged[item.key] = current.clone() if current is not None else _State()
            state.merge(item)
        # The 24 h trim applies to every entity of the subscription, not only those named in
        # the diff, so the picture matches what a fresh snapshot would hold now.
        cutoff = parsed.timestamp - self._history_window
        for key, current in subscription.entities.items():
            if key not in staged and current.needs_trim(cutoff):
                staged[key] = current.clone()
        for state in staged.values():
            state.trim(cutoff)

        really_changed = {
            key: state for key, state in staged.items() if subscription.entities.get(key) != state
        }
        sid = parsed.subscription_id
        subscription.entities.update(really_changed)
        subscription.last_sequence = parsed.sequence
        for key in really_changed:
            self._holders.setdefault(key, {})[sid] = None
        changed, removed = self._bump(set(really_changed), subscription)
        return self._result(ApplyStatus.APPLIED, parsed, changed=changed, removed=removed)

    def _release(self, key: EntityKey, sid: str) -> None:
        holders = self._holders.get(key)
        if holders is not None:
            holders.pop(sid, None)
            if not holders:
                del self._holders[key]

    def _bump(
        self, keys: set[EntityKey], subscription: _Subscription | None
    ) -> tuple[Mapping[EntityKey, int], frozenset[EntityKey]]:
        if not keys:
            return MappingProxyType({}), frozenset()
        self._version += 1
        changed: dict[EntityKey, int] = {}
        for key in keys:
            changed[key] = self._versions[key] = self._versions.get(key, 0) + 1
            self._changed_at[key] = self._version
            if subscription is not None and key in subscription.entities:
                subscription.stamps[key] = self._version
        removed = frozenset(key for key in keys if key not in self._holders)
        return MappingProxyType(changed), removed

    def _result(
        self,
        status: ApplyStatus,
        parsed: _Message,
        *,
        changed: Mapping[EntityKey, int] | None = None,
        removed: frozenset[EntityKey] = frozenset(),
        expected: int | None = None,
        first_gap: bool = False,
    ) -> ApplyResult:
        return ApplyResult(
            status=status,
            subscription_id=parsed.subscription_id,
            subscription_type=parsed.subscription_type,
            sequence=parsed.sequence,
            changed=changed if changed is not None else MappingProxyType({}),
            removed=removed,
            version=self._version,
            expected_sequence=expected,
            first_gap=first_gap,
        )

    # -- reading ------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Global version: grows by one with every call that changes at least one entity."""
        return self._version

    def entity_version(self, key: EntityKey) -> int:
        """Version of one entity key; 0 if it never existed."""
        return self._versions.get(key, 0)

    def changed_since(self, version: int) -> dict[EntityKey, int]:
        """Keys changed after global `version` (removed ones included), with their versions.

        For a consumer that publishes in batches: remember `picture.version`, later ask what
        changed since and publish `get(key)` for each (None meaning removed).
        """
        return {
            key: self._versions[key]
            for key, changed_at in self._changed_at.items()
            if changed_at > version
        }

    def entity_keys(self) -> list[EntityKey]:
        """Every entity key some subscription holds now."""
        return list(self._holders)

    def get(self, key: EntityKey, *, copy: bool = True) -> dict[str, Any] | None:
        """The merged view of one entity, or None if no subscription holds it.

        With copy=False the view shares the picture's inner objects (sessions, history
        entries): for a caller that only reads it before the next apply(), such as a
        renderer. Copying a queue with its sessions took milliseconds per read."""
        holders = self._holders.get(key)
        if not holders:
            return None
        # Oldest change first, so the subscription that spoke last wins where they disagree.
        ordered = sorted(holders, key=lambda sid: self._subscriptions[sid].stamps[key])
        states = [self._subscriptions[sid].entities[key] for sid in ordered]
        if key[0] == "alert":
            # Alerts are replaced whole by id: the newest wins, no field-level union.
            states = states[-1:]
        return _render(states, _copy if copy else _same)

    def agents(self) -> dict[int, dict[str, Any]]:
        return self._entities_of("agent")

    def queues(self) -> dict[int, dict[str, Any]]:
        return self._entities_of("queue")

    def alerts(self) -> dict[int, dict[str, Any]]:
        return self._entities_of("alert")

    def groups(self) -> dict[GroupKey, dict[str, Any]]:
        """Group items by (kind "agent"/"queue", groupType, groupId)."""
        found: dict[GroupKey, dict[str, Any]] = {}
        for key in self._holders:
            if len(key) == 4 and key[0] == "group":
                view = self.get(key)
                if view is not None:
                    found[(str(key[1]), str(key[2]), int(key[3]))] = view
        return dict(sorted(found.items()))

    def aggregates(self) -> dict[str, dict[str, Any]]:
        """The aggregate item of each `*Aggregate` subscription, by subscription id."""
        found: dict[str, dict[str, Any]] = {}
        for key in self._holders:
            if len(key) == 2 and key[0] == "aggregate":
                view = self.get(key)
                if view is not None:
                    found[str(key[1])] = view
        return dict(sorted(found.items()))

    def needs_resync(self, subscription_id: str) -> bool:
        """True until a snapshot arrives for a subscription that saw a gap (or is unknown)."""
        subscription = self._subscriptions.get(subscription_id)
        return subscription is None or subscription.needs_resync

    def subscription(self, subscription_id: str) -> SubscriptionInfo | None:
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            return None
        return SubscriptionInfo(
            subscription_id,
            subscription.subscription_type,
            subscription.last_sequence,
            subscription.needs_resync,
            len(subscription.entities),
        )

    def subscriptions(self) -> list[SubscriptionInfo]:
        return [
            info
            for info in (self.subscription(sid) for sid in self._subscriptions)
            if info is not None
        ]

    def _entities_of(self, kind: str) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for key in self._holders:
            if len(key) == 2 and key[0] == kind and isinstance(key[1], int):
                view = self.get(key)
                if view is not None:
                    found[key[1]] = view
        return dict(sorted(found.items()))


def _same(value: Any) -> Any:
    return value


def _render(states: Iterable[_State], copy: Callable[[Any], Any] = _copy) -> dict[str, Any]:
    """Render states (oldest first) as the item a fresh snapshot would carry.

    Sessions come back as each modality's full `sessions` list and breakdowns as
    `breakdowns`, as in a snapshot. Collections that are empty are left out, as the seed's
    sample leaves out `sessions` for an agent handling none.
    """
    fields: dict[str, Any] = {}
    metrics: dict[str, dict[str, Any]] = {}
    sessions: dict[str, dict[int, Any]] = {}
    breakdowns: dict[int, Any] = {}
    history: list[tuple[datetime | None, Any]] = []
    for state in states:
        fields.update(state.fields)
        for modality, bag in state.metrics.items():
            metrics.setdefault(modality, {}).update(bag)
        for modality, session_bag in state.sessions.items():
            sessions.setdefault(modality, {}).update(session_bag)
        breakdowns.update(state.breakdowns)
        if state.history:
            # Two subscriptions with status history carry the same history; take the newest
            # whole instead of concatenating duplicates.
            history = state.history
    view: dict[str, Any] = copy(fields)
    if metrics:
        view["metrics"] = copy(metrics)
    live_sessions = {
        modality: {"sessions": [copy(session) for session in bag.values()]}
        for modality, bag in sessions.items()
        if bag
    }
    if live_sessions:
        view["sessions"] = live_sessions
    if breakdowns:
        view["breakdowns"] = [copy(breakdown) for breakdown in breakdowns.values()]
    if history:
        view["statusHistory"] = [copy(entry) for _, entry in history]
    return view

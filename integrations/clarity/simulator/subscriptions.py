"""Subscriptions: snapshots, "gold diffs" and sequence numbers pushed over the SignalR hub.

Each subscription remembers the last item it sent per entity. On every flush it re-renders only
the entities the model marked as changed and sends what differs, framed as the contract page
says: the first message (and the first after every update) is a snapshot, later ones diffs;
`sequence` grows by exactly one per message. Diffs follow the contract's merge rules, so a client
that merges them holds exactly what a fresh snapshot would show.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import render
from .model import Agent, ContactCenter
from .params import BadRequest, Unauthorized, groupings, resolve, selection, view_from
from .render import Json, View
from .signalr import SignalRHub

log = logging.getLogger(__name__)

KINDS: dict[str, tuple[str | None, str]] = {
    "agents": ("agent", "entities"),
    "agentsAggregate": ("agent", "aggregate"),
    "agentsGroup": ("agent", "group"),
    "queues": ("queue", "entities"),
    "queuesAggregate": ("queue", "aggregate"),
    "queuesGroup": ("queue", "group"),
    "alerts": (None, "alerts"),
}
# Session fields that move with the clock: a change in these alone is not worth a diff; the
# page ticks them from the session's timestamps.
LIVE_SESSION_FIELDS = frozenset({"queuedMs", "activeMs"})
IDENTITY_FIELDS = ("type", "id", "groupType", "groupId", "entityIds")
# Cleared alerts stay in snapshots for an hour, so a page that reconnects still shows them.
CLEARED_ALERT_WINDOW = 3600.0

Key = tuple[Any, ...]


class NotFound(Exception):
    """No such subscription: answered 404."""


@dataclass
class Subscription:
    id: str
    kind: str
    connection_id: str
    viewer_id: int
    view: View
    entity: str | None
    mode: str
    entity_ids: list[int] = field(default_factory=list)
    group_type: str = ""
    groups: list[tuple[int, list[int]]] = field(default_factory=list)
    sequence: int = 0
    last: dict[Key, Json] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return "alertUpdate" if self.mode == "alerts" else "subscriptionUpdate"


def _body_value(body: Mapping[str, Any], name: str) -> Any:
    for key, value in body.items():
        if str(key).lower() == name.lower():
            return value
    return None


class Subscriptions:
    """Every live subscription, keyed by id. Runs on the simulator's event loop only."""

    def __init__(self, cc: ContactCenter, hub: SignalRHub) -> None:
        self.cc = cc
        self.hub = hub
        self._subs: dict[str, Subscription] = {}
        self._counter = itertools.count(1)

    def __len__(self) -> int:
        return len(self._subs)

    def all(self) -> list[Subscription]:
        return list(self._subs.values())

    # ------------------------------------------------------------------ the REST side
    def _connection_id(self, body: Mapping[str, Any], required: bool) -> str | None:
        value = _body_value(body, "connectionId")
        if value is None:
            if required:
                raise BadRequest("connectionId is required")
            return None
        if not isinstance(value, str) or not value:
            raise BadRequest("connectionId must be a string")
        if self.hub.get(value) is None:
            raise BadRequest(f"connection '{value}' is not open")
        return value

    def _configure(self, sub: Subscription, viewer: Agent, query: Mapping[str, str],
                   body: Mapping[str, Any]) -> None:
        sub.view = view_from(query, body)
        if sub.mode == "alerts" or sub.entity is None:
            return
        sel = selection(query, sub.entity)
        if sub.mode == "group":
            sub.group_type, sub.groups = groupings(self.cc, viewer, sel)
        else:
            sub.entity_ids = resolve(self.cc, viewer, sel)

    async def create(self, kind: str, viewer: Agent, query: Mapping[str, str],
                     body: Mapping[str, Any] | None) -> str:
        if kind not in KINDS:
            raise BadRequest(f"unknown subscription type '{kind}'")
        if not isinstance(body, Mapping):
            raise BadRequest("the body must be a JSON object with a connectionId")
        connection_id = self._connection_id(body, required=True)
        assert connection_id is not None  # noqa: S101 - required=True never returns None
        entity, mode = KINDS[kind]
        sub = Subscription(id=f"s-{next(self._counter)}-{secrets.token_hex(4)}", kind=kind,
                           connection_id=connection_id, viewer_id=viewer.id, view=View(),
                           entity=entity, mode=mode)
        self._configure(sub, viewer, query, body)
        self._subs[sub.id] = sub
        connection = self.hub.get(connection_id)
        if connection is not None:
            connection.items.setdefault("subscriptions", set()).add(sub.id)
        log.info("subscription %s (%s) created on connection %s", sub.id, kind, connection_id)
        # The snapshot goes out before the 200: clients must buffer unknown subscription ids.
        await self._send_snapshot(sub)
        return sub.id

    def _owned(self, subscription_id: str, viewer: Agent) -> Subscription:
        sub = self._subs.get(subscription_id)
        if sub is None:
            raise NotFound(f"subscription '{subscription_id}' was not found")
        if sub.viewer_id != viewer.id:
            raise Unauthorized("the subscription is not accessible")
        return sub

    async def update(self, subscription_id: str, viewer: Agent, query: Mapping[str, str],
                     body: Mapping[str, Any] | None) -> None:
        sub = self._owned(subscription_id, viewer)
        body = body if isinstance(body, Mapping) else {}
        connection_id = self._connection_id(body, required=False)
        probe = Subscription(id=sub.id, kind=sub.kind, connection_id=sub.connection_id,
                             viewer_id=sub.viewer_id, view=sub.view, entity=sub.entity,
                             mode=sub.mode)
        self._configure(probe, viewer, query, body)   # validate before changing anything
        sub.view, sub.entity_ids = probe.view, probe.entity_ids
        sub.group_type, sub.groups = probe.group_type, probe.groups
        if connection_id is not None and connection_id != sub.connection_id:
            sub.connection_id = connection_id
        await self._send_snapshot(sub)

    async def delete(self, subscription_id: str, viewer: Agent) -> None:
        sub = self._owned(subscription_id, viewer)
        del self._subs[sub.id]

    def drop_connection(self, connection_id: str) -> int:
        """A hub connection went away: its subscriptions go with it, as on a real server."""
        gone = [s.id for s in self._subs.values() if s.connection_id == connection_id]
        for sid in gone:
            del self._subs[sid]
        return len(gone)

    # ------------------------------------------------------------------ rendering
    def _viewer(self, sub: Subscription) -> Agent:
        return self.cc.agents[sub.viewer_id]

    def _render(self, sub: Subscription, only: set[Key] | None = None) -> dict[Key, Json]:
        cc, view = self.cc, sub.view
        items: dict[Key, Json] = {}
        if sub.mode == "entities":
            for eid in sub.entity_ids:
                key = (sub.entity, eid)
                if only is not None and key not in only:
                    continue
                if sub.entity == "agent":
                    items[key] = render.realtime_agent(cc, cc.agents[eid], view)
                else:
                    items[key] = render.realtime_queue(cc, cc.queues[eid], view)
        elif sub.mode == "aggregate":
            if only is None or any((sub.entity, i) in only for i in sub.entity_ids):
                items[("aggregate",)] = render.aggregate(cc, sub.entity or "agent",
                                                          sub.entity_ids, view)
        elif sub.mode == "group":
            for gid, ids in sub.groups:
                if only is None or any((sub.entity, i) in only for i in ids):
                    items[("group", gid)] = render.group_item(
                        cc, sub.entity or "agent", sub.group_type, gid, ids, view)
        else:
            viewer = self._viewer(sub)
            agents = cc.visible_agent_ids(viewer)
            queues = cc.visible_queue_ids(viewer)
            for alert in cc.alerts.values():
                key = ("alert", alert.id)
                if only is not None and key not in only:
                    continue
                visible = (alert.entity_id in queues if alert.entity_type == "queue"
                           else alert.entity_id in agents)
                recent = alert.cleared is None or cc.now - alert.cleared < CLEARED_ALERT_WINDOW
                if visible and (recent or only is not None):
                    items[key] = render.alert(alert)
        return items

    def _message(self, sub: Subscription, items: list[Json], snapshot: bool) -> Json:
        sub.sequence += 1
        return {"subscriptionId": sub.id, "subscriptionType": sub.kind,
                "sequence": sub.sequence, "isSnapshot": snapshot,
                "timestamp": render.iso(self.cc.now), "items": items}

    async def _send(self, sub: Subscription, message: Json) -> None:
        if not await self.hub.send(sub.connection_id, sub.target, message):
            # The connection is gone; its subscriptions die with it.
            self.drop_connection(sub.connection_id)

    async def _send_snapshot(self, sub: Subscription) -> None:
        sub.last = self._render(sub)
        await self._send(sub, self._message(sub, list(sub.last.values()), snapshot=True))

    async def flush(self, dirty: set[tuple[str, int]], dirty_alerts: set[int]) -> int:
        """Send a diff to every subscription something changed for; returns messages sent."""
        if not dirty and not dirty_alerts:
            return 0
        alert_keys: set[Key] = {("alert", a) for a in dirty_alerts}
        entity_keys: set[Key] = set(dirty)
        # Render every subscription first, with no await in between: the model cannot change
        # meanwhile, so each agent's and queue's bag is computed once for all of them.
        outgoing: list[tuple[Subscription, list[Json]]] = []
        with render.bags_memoized():
            for sub in list(self._subs.values()):
                only = alert_keys if sub.mode == "alerts" else entity_keys
                if not only:
                    continue
                items = []
                for key, new in self._render(sub, only).items():
                    old = sub.last.get(key)
                    change = new if old is None else diff_item(old, new)
                    sub.last[key] = new
                    if change is not None:
                        items.append(change)
                if items:
                    outgoing.append((sub, items))
        sent = 0
        for sub, items in outgoing:
            if sub.id in self._subs:  # not deleted while an earlier one was sent
                await self._send(sub, self._message(sub, items, snapshot=False))
                sent += 1
        return sent


# ---------------------------------------------------------------------- the diff
def _without_live(session: Json) -> Json:
    return {k: v for k, v in session.items() if k not in LIVE_SESSION_FIELDS}


def _diff_sessions(old: Json, new: Json) -> Json:
    out: Json = {}
    for mod, bag in new.items():
        before = {s["sessionId"]: s for s in old.get(mod, {}).get("sessions", [])}
        after = {s["sessionId"]: s for s in bag.get("sessions", [])}
        added = [s for sid, s in after.items() if sid not in before]
        removed = [{"sessionId": sid} for sid in before if sid not in after]
        changed = [s for sid, s in after.items()
                   if sid in before and _without_live(s) != _without_live(before[sid])]
        part: Json = {}
        if added:
            part["addedSessions"] = added
        if removed:
            part["removedSessions"] = removed
        if changed:
            part["sessions"] = changed
        if part:
            out[mod] = part
    return out


def _diff_metrics(old: Json, new: Json) -> Json:
    out: Json = {}
    for mod, values in new.items():
        before = old.get(mod, {})
        changed = {k: v for k, v in values.items() if k not in before or before[k] != v}
        if changed:
            out[mod] = changed
    return out


def _diff_breakdowns(old: list[Json], new: list[Json]) -> Json:
    before = {b["queueId"]: b for b in old}
    after = {b["queueId"]: b for b in new}
    out: Json = {}
    added = [b for q, b in after.items() if q not in before]
    removed = [{"queueId": q} for q in before if q not in after]
    changed = [b for q, b in after.items() if q in before and before[q] != b]
    if added:
        out["addedBreakdowns"] = added
    if removed:
        out["removedBreakdowns"] = removed
    if changed:
        out["breakdowns"] = changed
    return out


def diff_item(old: Json, new: Json) -> Json | None:
    """What changed between two renders of one entity, as a contract "gold diff" item."""
    out: Json = {k: new[k] for k in IDENTITY_FIELDS if k in new}
    changed = False
    if "name" in new and new["name"] != old.get("name"):
        out["name"] = new["name"]
        changed = True
    if "metrics" in new:
        metrics = _diff_metrics(old.get("metrics", {}), new["metrics"])
        if metrics:
            out["metrics"] = metrics
            changed = True
    if "currentStatus" in new and new["currentStatus"] != old.get("currentStatus"):
        out["currentStatus"] = new["currentStatus"]
        changed = True
    if "sessions" in new:
        sessions = _diff_sessions(old.get("sessions", {}), new["sessions"])
        if sessions:
            out["sessions"] = sessions
            changed = True
    if "statusHistory" in new:
        # Entries never change once written (a period is recorded when it ends), so anything
        # that started after the last entry sent is new; entries older than 24 h fall off
        # both sides, and the client trims by time too.
        before = old.get("statusHistory", [])
        history = new["statusHistory"]
        appended = history
        if before:
            # Periods can start in the same millisecond (available, then at once ringing), so
            # find the last entry sent rather than comparing times alone.
            last_sent = before[-1]
            at = next((i for i in range(len(history) - 1, -1, -1) if history[i] == last_sent),
                      None)
            appended = (history[at + 1:] if at is not None else
                        [h for h in history if h["startTime"] > last_sent["startTime"]])
        if appended:
            out["statusHistory"] = appended
            changed = True
    if "breakdowns" in new:
        parts = _diff_breakdowns(old.get("breakdowns", []), new["breakdowns"])
        if parts:
            out.update(parts)
            changed = True
    if new.get("type") == "alert":
        return new if new != old else None
    return out if changed else None

"""The live picture as the dashboard shows it: which group each piece goes to, rendered fragments.

The bridge holds one `LiveState`. Every entity of the merged picture is one widget (a queue's
tiles, an agent's row, an alert, a team's totals) rendered from one template that is used both
for the first render of a page and for the out-of-band swap pushed over the socket. Each widget
travels in the channel-layer group of the entity it shows, so a consumer only joins the groups
its user may see and never receives anything else.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string

from integrations.clarity.merge import EntityKey
from integrations.clarity.watch import LivePicture

from .mbu import Visibility

# Consumers ask the bridge for snapshots on this channel; it answers on the consumer's channel.
BRIDGE_CHANNEL = "clarity-bridge"
# The bridge's epoch and the upstream's health, broadcast to every consumer for heartbeats.
STATUS_GROUP = "live.status"
ALERTS_CONTAINER = "#alerts-list"
HEARTBEAT_SECONDS = 15.0
PAGES = ("overview", "agents", "alerts")
MODALITY_LABELS = {"audio": "Voice", "instantMessage": "Chat", "message": "Messages"}


def group_name(key: EntityKey) -> str | None:
    """The channel-layer group a widget travels in (None: not shown on any page)."""
    kind = key[0]
    if kind in ("agent", "queue"):
        return f"{kind}.{key[1]}"
    if kind == "group":
        # ("group", "agent"|"queue", groupType, groupId): totals per team, group or unit.
        return f"totals.{key[2]}.{key[3]}"
    if kind == "alert":
        return None  # alerts go to their entity's alert group, see alert_group()
    return None


def alert_group(entity_type: str, entity_id: Any) -> str:
    return f"alerts.{str(entity_type).lower()}.{entity_id}"


def groups_for(visibility: Visibility, page: str) -> list[str]:
    """The groups a page joins for what its viewer may see."""
    groups: list[str] = []
    if page in ("overview", "wallboard"):
        groups += [f"queue.{q}" for q in sorted(visibility.queue_ids)]
        groups += [f"totals.team.{t}" for t in sorted(visibility.team_ids)]
        groups += [f"totals.group.{g}" for g in sorted(visibility.group_ids)]
        groups += [f"totals.businessUnit.{b}" for b in sorted(visibility.business_unit_ids)]
    if page in ("agents", "wallboard"):
        groups += [f"agent.{a}" for a in sorted(visibility.agent_ids)]
    # Every page hears about alerts in scope: the alerts page lists them, the others toast.
    groups += [alert_group("queue", q) for q in sorted(visibility.queue_ids)]
    groups += [alert_group("agent", a) for a in sorted(visibility.agent_ids)]
    return groups


# The header's JSON sits inside an HTML comment: "<", ">" and "&" could end it early or be read
# as markup, so they travel as JSON escapes (what Django's json_script does).
_HEADER_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def comment(data: Mapping[str, Any]) -> str:
    """The leading comment of every socket message (docs/browser-protocol.md)."""
    text = json.dumps(data, separators=(",", ":")).translate(_HEADER_ESCAPES)
    return f"<!--live {text}-->"


def meta_fields(kind: str, *, epoch: str, seq: int, upstream_ok: bool, since: str | None,
                age: float | None, build: str) -> dict[str, Any]:
    return {"kind": kind, "epoch": epoch, "seq": seq, "age": age,
            "upstream": "ok" if upstream_ok else "down", "since": since, "build": build}


def meta(kind: str, *, epoch: str, seq: int, upstream_ok: bool, since: str | None,
         age: float | None, build: str) -> str:
    return comment(meta_fields(kind, epoch=epoch, seq=seq, upstream_ok=upstream_ok,
                               since=since, age=age, build=build))


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts else None


# ---------------------------------------------------------------------- view models
def _metric(bag: Mapping[str, Any], name: str, default: Any = 0) -> Any:
    value = bag.get(name, default)
    if isinstance(value, Mapping):
        return value.get("total", default)
    return value


def queue_tiles(queue_id: int, item: Mapping[str, Any], name: str | None = None,
                levels: Mapping[tuple[str, str], str] | None = None) -> list[dict[str, Any]]:
    """One tile per modality of a queue, with what the overview shows."""
    tiles = []
    for modality, bag in sorted((item.get("metrics") or {}).items()):
        if modality == "agnostic" or not isinstance(bag, Mapping):
            continue
        level = (levels or {}).get
        tiles.append({
            "id": f"queue-{queue_id}-{modality}", "queue_id": queue_id,
            "name": name or item.get("name") or f"Queue {queue_id}", "modality": modality,
            "modality_label": MODALITY_LABELS.get(modality, modality),
            "waiting": _metric(bag, "queuedCount"),
            "longest_since": bag.get("longestQueuedStartTime"),
            "longest_ms": _metric(bag, "longestQueuedTime"),
            "service_level": bag.get("serviceLevel"),
            "answered": _metric(bag, "answeredCount"),
            "abandoned": _metric(bag, "abandonedCount"),
            "available": _metric(bag, "agentsAvailable"),
            "online": _metric(bag, "agentsOnline"),
            "estimated_wait": _metric(bag, "estimatedWaitTime"),
            "level_waiting": level((modality, "queuedCount"), "ok"),
            "level_longest": level((modality, "longestQueuedTime"), "ok"),
            "level_sl": level((modality, "serviceLevel"), "ok"),
        })
    return tiles


STATUS_LABELS = {
    "available": "Available", "inCall": "In call", "inImCall": "In chat", "busy": "Busy",
    "afterCall": "After call", "unavailable": "Away", "ringing": "Ringing",
    "ringOnNoAnswer": "No answer", "loggedOut": "Logged out", "offWork": "Off work",
    "offPhoneActivity": "Off phone", "beRightBack": "Be right back", "atLunch": "At lunch",
}
STATUS_ICONS = {
    "available": "✓", "inCall": "☎", "inImCall": "✉", "busy": "✉", "afterCall": "✎",
    "unavailable": "⏸", "ringing": "♪", "ringOnNoAnswer": "!", "loggedOut": "○",
}


def agent_row(agent_id: int, item: Mapping[str, Any], team: str = "") -> dict[str, Any]:
    status = item.get("currentStatus") or {}
    code = str(status.get("agentStatus") or "unknown")
    sessions = []
    for modality, bag in sorted((item.get("sessions") or {}).items()):
        for s in (bag or {}).get("sessions", []):
            sessions.append({"id": s.get("sessionId"), "modality": modality,
                             "queue_id": s.get("queueId"), "customer": s.get("customerName"),
                             "status": s.get("sessionStatus"),
                             "since": s.get("answeredTimeStamp") or s.get("startTimeStamp"),
                             "recording": bool(s.get("isRecording"))})
    metrics = item.get("metrics") or {}
    answered = sum(_metric(b, "answeredCount") for m, b in metrics.items()
                   if m != "agnostic" and isinstance(b, Mapping))
    rona = sum(_metric(b, "ronaCount") for m, b in metrics.items()
               if m != "agnostic" and isinstance(b, Mapping))
    return {
        "id": f"agent-{agent_id}", "agent_id": agent_id,
        "name": item.get("name") or f"Agent {agent_id}", "team": team,
        "status": code, "status_label": STATUS_LABELS.get(code, code),
        "status_icon": STATUS_ICONS.get(code, "•"),
        "reason": status.get("reasonCodeName") or "",
        "since": status.get("startTime"), "suspended": bool(status.get("isSuspended")),
        "sessions": sessions, "answered": answered, "rona": rona,
    }


def totals_row(key: EntityKey, item: Mapping[str, Any], name: str = "") -> dict[str, Any]:
    _, kind, group_type, group_id = key
    metrics = item.get("metrics") or {}
    bags = [b for m, b in metrics.items() if m != "agnostic" and isinstance(b, Mapping)]
    return {
        "id": f"totals-{kind}-{group_type}-{group_id}", "kind": kind,
        "group_type": group_type, "group_id": group_id, "name": name or f"{group_type} {group_id}",
        "members": len(item.get("entityIds") or []),
        "answered": sum(_metric(b, "answeredCount") for b in bags),
        "abandoned": sum(_metric(b, "abandonedCount") for b in bags),
        "waiting": sum(_metric(b, "queuedCount") for b in bags),
        "active": sum(_metric(b, "currentlyActiveCount") for b in bags),
    }


def alert_view(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": f"alert-{item.get('id')}", "alert_id": item.get("id"),
        "name": item.get("name"), "severity": item.get("severity") or "info",
        "entity": item.get("entityName") or f"{item.get('entityType')} {item.get('entityId')}",
        "message": item.get("message") or "", "active": bool(item.get("isActive")),
        "raised": item.get("raisedTime"), "cleared": item.get("clearedTime"),
    }


# ---------------------------------------------------------------------- rendering
def render_widget(key: EntityKey, item: Mapping[str, Any], names: Mapping[str, str],
                  *, oob: bool) -> str:
    """The HTML of one entity's widget(s); the same templates serve first renders and swaps."""
    ctx: dict[str, Any] = {"oob": oob}
    if key[0] == "queue":
        name = names.get(f"queue.{key[1]}") or item.get("name") or f"Queue {key[1]}"
        ctx.update(queue_id=key[1], name=name, tiles=queue_tiles(int(key[1]), item, name))
        return render_to_string("dashboard/_queue_tiles.html", ctx)
    if key[0] == "agent":
        ctx["row"] = agent_row(int(key[1]), item, names.get(f"team-of-agent.{key[1]}", ""))
        return render_to_string("dashboard/_agent_row.html", ctx)
    if key[0] == "group":
        ctx["row"] = totals_row(key, item, names.get(f"{key[2]}.{key[3]}", ""))
        return render_to_string("dashboard/_totals_row.html", ctx)
    if key[0] == "alert":
        ctx["alert"] = alert_view(item)
        return render_to_string("dashboard/_alert_item.html", ctx)
    return ""


@dataclass
class LiveState:
    """What the bridge knows: the merged picture, the epoch and the upstream's health."""

    picture: LivePicture = field(default_factory=LivePicture)
    epoch: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    build: str = ""
    upstream_ok: bool = False
    upstream_since: float | None = field(default_factory=time.time)
    last_update: float | None = None
    names: dict[str, str] = field(default_factory=dict)

    def new_epoch(self) -> None:
        self.epoch = uuid.uuid4().hex[:12]

    def meta(self, kind: str, seq: int) -> dict[str, Any]:
        """The fields of a message's leading comment, as the bridge knows them now."""
        age = time.time() - self.last_update if self.last_update else None
        return meta_fields(kind, epoch=self.epoch, seq=seq, upstream_ok=self.upstream_ok,
                           since=None if self.upstream_ok else _iso(self.upstream_since),
                           age=round(age, 1) if age is not None else None, build=self.build)

    def route(self, key: EntityKey) -> str | None:
        """The group for an entity's widget (alerts by the entity they are about)."""
        if key[0] == "alert":
            item = self.picture.picture.get(key) or {}
            return alert_group(item.get("entityType", "queue"), item.get("entityId"))
        return group_name(key)

    def keys_for(self, groups: Iterable[str]) -> list[EntityKey]:
        wanted = set(groups)
        return [key for key in self.picture.picture.entity_keys()
                if self.route(key) in wanted]

    def versions(self, keys: Iterable[EntityKey]) -> dict[str, int]:
        return {json.dumps(list(k)): self.picture.picture.entity_version(k) for k in keys}

    def render(self, key: EntityKey, *, oob: bool = True) -> str:
        item = self.picture.picture.get(key)
        if item is None:
            return ""
        return render_widget(key, item, self.names, oob=oob)

    def snapshot_html(self, keys: Iterable[EntityKey]) -> str:
        """Every widget of `keys`; alerts fill the alert list as a whole (the page may not
        have their elements yet), the rest replace their placeholders by id."""
        widgets, alerts = [], []
        for key in keys:
            if key[0] == "alert":
                alerts.append(self.render(key, oob=False))
            else:
                widgets.append(self.render(key, oob=True))
        alert_list = (f'<div hx-swap-oob="innerHTML:{ALERTS_CONTAINER}">'
                      f'{"".join(alerts)}</div>')
        return "".join(widgets) + alert_list

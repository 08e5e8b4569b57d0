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
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from integrations.clarity.merge import EntityKey, parse_timestamp
from integrations.clarity.watch import LivePicture

from . import sparklines
from .mbu import Visibility
from .store import Level, Threshold, level_for

# Consumers ask the bridge for snapshots on this channel; it answers on the consumer's channel.
BRIDGE_CHANNEL = "clarity-bridge"
# The bridge's epoch and the upstream's health, broadcast to every consumer for heartbeats.
STATUS_GROUP = "live.status"
# Every re-rendered widget, in one batch per coalescing window (consumers.Fanout).
FRAGMENTS_GROUP = "live.fragments"
ALERTS_CONTAINER = "#alerts-list"
HEARTBEAT_SECONDS = 15.0
PAGES = ("overview", "agents", "alerts", "agent")
MODALITY_LABELS = {"audio": _("Voice"), "instantMessage": _("Chat"), "message": _("Messages")}
# The agent page's panel (_agent_panel.html, dashboard.agent_page): a second widget drawn from an
# agent's live item, in a group of its own, so that the agents page and wallboards (which join
# `agent.N` for the row) never receive it. Its key ("agent-panel", N) is derived from the
# agent's ("agent", N): same item, same version (LiveState).
PANEL = "agent-panel"


def group_name(key: EntityKey) -> str | None:
    """The channel-layer group a widget travels in (None: not shown on any page)."""
    kind = key[0]
    if kind in ("agent", "queue", PANEL):
        return f"{kind}.{key[1]}"
    if kind == "group" and len(key) == 4:
        # ("group", "agent"|"queue", groupType, groupId): totals per team, group or unit.
        return f"totals.{key[2]}.{key[3]}"
    if kind == "alert":
        return None  # alerts go to their entity's alert group, see alert_group()
    return None


# The entity of the dashboard's own alerts about other platforms (dashboard.integration_alerts
# builds them), with each platform's number: their alert groups are this module's business.
INTEGRATION_ENTITY = "integration"
INTEGRATION_NUMBERS = {"genesys": 1, "onecloud": 2}


def alert_group(entity_type: str, entity_id: Any) -> str:
    return f"alerts.{str(entity_type).lower()}.{entity_id}"


def wire_key(key: EntityKey) -> str:
    """An entity key as batches, snapshots' versions and consumers spell it."""
    return json.dumps(list(key))


def delete_fragment(key: EntityKey, group: str, version: int) -> list[Any]:
    """A batch fragment that deletes an alert gone from the picture (expired) from the list
    that shows it: its sixth element marks it, so that consumers forget its version too."""
    return [group, wire_key(key), version,
            f'<li id="alert-{key[1]}" hx-swap-oob="delete"></li>', None, True]


def groups_for(visibility: Visibility, page: str, *, agent_id: int | None = None) -> list[str]:
    """The groups a page joins for what its viewer may see (the agent page: `agent_id`'s)."""
    if page == "agent":
        # One agent's panel and alerts; nothing when the viewer may not see the agent.
        if agent_id is None or not visibility.sees_agent(agent_id):
            return []
        return [f"{PANEL}.{agent_id}", alert_group("agent", agent_id)]
    groups: list[str] = []
    if page in ("overview", "wallboard"):
        groups += [f"queue.{q}" for q in sorted(visibility.queue_ids)]
    if page == "overview":
        # Wallboards show no totals table: their pages would have no element to swap.
        groups += [f"totals.team.{t}" for t in sorted(visibility.team_ids)]
        groups += [f"totals.group.{g}" for g in sorted(visibility.group_ids)]
        groups += [f"totals.businessUnit.{b}" for b in sorted(visibility.business_unit_ids)]
    if page in ("agents", "wallboard"):
        groups += [f"agent.{a}" for a in sorted(visibility.agent_ids)]
    # Every page hears about alerts in scope: the alerts page lists them, the others toast.
    groups += [alert_group("queue", q) for q in sorted(visibility.queue_ids)]
    groups += [alert_group("agent", a) for a in sorted(visibility.agent_ids)]
    # The dashboard's own alerts about other platforms concern the whole floor.
    if visibility.sees_anything:
        groups += [alert_group(INTEGRATION_ENTITY, n)
                   for n in sorted(INTEGRATION_NUMBERS.values())]
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


def iso_time(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts else None


# ---------------------------------------------------------------------- view models
def _metric(bag: Mapping[str, Any], name: str, default: Any = 0) -> Any:
    value = bag.get(name, default)
    if isinstance(value, Mapping):
        return value.get("total", default)
    return value


def label(labels: Mapping[str, str] | None, key: str, default: str | Promise) -> str:
    """Clarity's text for `key` from its localization resource (`queuedCountShort`, `audio`,
    `agentStatus.inCall`, ...), or `default` (ours, translated) when it has none."""
    text = (labels or {}).get(key)
    return text if isinstance(text, str) and text.strip() else str(default)


# The tile's metrics, with our label for when Clarity has none. Clarity's short label goes on
# the tile, its description in the tooltip.
TILE_METRICS = {
    "queuedCount": _("Waiting"),
    "longestQueuedTime": _("Longest wait"),
    "serviceLevel": _("Service level"),
    "answeredCount": _("Answered"),
    "abandonedCount": _("Abandoned"),
    "agentsAvailable": _("Available"),
    "agentsOnline": _("Online"),
    "estimatedWaitTime": _("Estimated wait"),
}
# The metrics threshold rules colour (ThresholdRule.metric names them as Clarity does).
LEVEL_METRICS = ("queuedCount", "longestQueuedTime", "serviceLevel", "estimatedWaitTime",
                 "abandonedCount")
LEVELS: tuple[Level, ...] = ("ok", "warning", "critical")
# The sparkline on each tile.
SPARKLINE_METRIC = "queuedCount"

Point = tuple[datetime, float]


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _longest_ms(bag: Mapping[str, Any], now: datetime) -> float | None:
    """How long the oldest contact has waited at `now`: the tile ticks that from its start
    time, so its level must follow the same clock, not the value of the last update."""
    stored = _number_or_none(_metric(bag, "longestQueuedTime", None))
    start = bag.get("longestQueuedStartTime")
    started = parse_timestamp(start) if isinstance(start, str) else None
    if started is None:
        return stored
    elapsed = max(0.0, (now - started).total_seconds() * 1000)
    return elapsed if stored is None else max(elapsed, stored)


def _elapsed(ms: float | None) -> str:
    """A duration as live.js ticks it (m:ss, h:mm:ss), so a swap does not flash another form."""
    total = max(0, int((ms or 0) // 1000))
    hours, minutes, seconds = total // 3600, total % 3600 // 60, total % 60
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def level_values(bag: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The values threshold rules judge on one tile (LEVEL_METRICS), at `now`."""
    values = {metric: _metric(bag, metric, None) for metric in LEVEL_METRICS}
    values["longestQueuedTime"] = _longest_ms(bag, now)
    return values


def tile_levels(queue_id: int, modality: str, bag: Mapping[str, Any],
                rules: Sequence[Threshold], now: datetime) -> dict[str, Level]:
    """The level of each metric of LEVEL_METRICS on one tile, by the threshold rules."""
    return {metric: level_for(rules, queue_id, modality, metric, value)
            for metric, value in level_values(bag, now).items()}


def queue_levels(queue_id: int, item: Mapping[str, Any], rules: Sequence[Threshold],
                 now: datetime) -> dict[str, dict[str, Level]]:
    """Every tile's levels of a queue, by modality: what changes when the rules change."""
    return {modality: tile_levels(queue_id, modality, bag, rules, now)
            for modality, bag in (item.get("metrics") or {}).items()
            if modality != "agnostic" and isinstance(bag, Mapping)}


def queue_tiles(queue_id: int, item: Mapping[str, Any], name: str | None = None, *,
                rules: Sequence[Threshold] = (), labels: Mapping[str, str] | None = None,
                history: Mapping[tuple[int, str], Sequence[Point]] | None = None,
                now: datetime | None = None) -> list[dict[str, Any]]:
    """One tile per modality of a queue, with what the overview shows.

    `rules` colour the metrics (store.load_thresholds), `labels` are Clarity's localization
    resource, `history` the stored sparkline points by (queue, modality); the current value
    is the sparkline's last point, so a tile has a line from its first render on."""
    now = now or datetime.now(tz=UTC)
    tiles = []
    for modality, bag in sorted((item.get("metrics") or {}).items()):
        if modality == "agnostic" or not isinstance(bag, Mapping):
            continue
        levels = tile_levels(queue_id, modality, bag, rules, now)
        metrics = {
            metric: {"label": label(labels, f"{metric}Short", label(labels, metric, default)),
                     "description": label(labels, f"{metric}Description", ""),
                     "level": levels.get(metric, "ok")}
            for metric, default in TILE_METRICS.items()
        }
        waiting = _metric(bag, "queuedCount")
        points = list((history or {}).get((queue_id, modality), ()))
        if (current := _number_or_none(waiting)) is not None:
            points.append((now, current))
        tiles.append({
            "id": f"queue-{queue_id}-{modality}", "queue_id": queue_id,
            "name": name or item.get("name") or f"Queue {queue_id}", "modality": modality,
            "modality_label": label(labels, modality, MODALITY_LABELS.get(modality, modality)),
            "waiting": waiting,
            "longest_since": bag.get("longestQueuedStartTime"),
            "longest_ms": _metric(bag, "longestQueuedTime"),
            "longest_text": _elapsed(_longest_ms(bag, now)),
            "service_level": bag.get("serviceLevel"),
            "answered": _metric(bag, "answeredCount"),
            "abandoned": _metric(bag, "abandonedCount"),
            "available": _metric(bag, "agentsAvailable"),
            "online": _metric(bag, "agentsOnline"),
            "estimated_wait": _metric(bag, "estimatedWaitTime"),
            "metrics": metrics,
            # The tile's own level: its worst metric's.
            "level": max(levels.values(), key=LEVELS.index, default="ok"),
            "sparkline": sparklines.svg(
                points, until=now,
                name=label(labels, SPARKLINE_METRIC, TILE_METRICS[SPARKLINE_METRIC])),
        })
    return tiles


# Clarity's agent statuses, in the order the agents page sorts and counts them: who can take
# work first, then who is busy with it, then who is away, then who is gone.
STATUS_LABELS = {
    "available": _("Available"), "ringing": _("Ringing"), "inCall": _("In call"),
    "inImCall": _("In chat"), "busy": _("Busy"), "conferenceCall": _("Conference"),
    "directCall": _("Direct call"), "directInboundDial": _("Direct inbound"),
    "directOutboundDial": _("Direct outbound"), "afterCall": _("After call"),
    "ringOnNoAnswer": _("No answer"), "unavailable": _("Away"),
    "beRightBack": _("Be right back"), "atLunch": _("At lunch"),
    "offPhoneActivity": _("Off phone"), "inactive": _("Inactive"), "offWork": _("Off work"),
    "loggedOut": _("Logged out"), "unknown": _("Unknown"),
}
STATUS_ORDER = tuple(STATUS_LABELS)
# One icon per status beside its label, so no status is told by colour alone. Every glyph is
# in DejaVu Sans (Debian's default font, which headless Chromium falls back to); U+FE0E asks
# for the text form of those that also have an emoji form. ⏸ and ⛔ are in no Debian font.
_TEXT = "\ufe0e"
STATUS_ICONS = {
    "available": "✓", "ringing": "♪", "inCall": "☎" + _TEXT, "inImCall": "✉" + _TEXT,
    "busy": "●", "conferenceCall": "☎" + _TEXT, "directCall": "☎" + _TEXT,
    "directInboundDial": "☎" + _TEXT, "directOutboundDial": "☎" + _TEXT,
    "afterCall": "✎" + _TEXT, "ringOnNoAnswer": "⚠" + _TEXT, "unavailable": "❚❚",
    "beRightBack": "◔", "atLunch": "☕" + _TEXT, "offPhoneActivity": "⊘", "inactive": "◌",
    "offWork": "⌂", "loggedOut": "○", "unknown": "?",
}
STATUS_ICON_DEFAULT = "•"


def _session_view(modality: str, s: Mapping[str, Any],
                  names: Mapping[str, str]) -> dict[str, Any]:
    queue_id = s.get("queueId")
    return {"id": s.get("sessionId"), "modality": modality,
            "modality_label": MODALITY_LABELS.get(modality, modality), "queue_id": queue_id,
            "queue": names.get(f"queue.{queue_id}", "") if queue_id is not None else "",
            "customer": s.get("customerName"), "status": s.get("sessionStatus"),
            "since": s.get("answeredTimeStamp") or s.get("startTimeStamp"),
            "recording": bool(s.get("isRecording"))}


def agent_row(agent_id: int, item: Mapping[str, Any], team: str = "", *,
              team_id: int | None = None, group_ids: Iterable[int] = (),
              unit_id: int | None = None, names: Mapping[str, str] | None = None,
              ) -> dict[str, Any]:
    """An agent's row on the agents page. `team_id`, `group_ids` and `unit_id` (Clarity ids)
    travel as data attributes so the page can filter rows in the browser; `names` gives the
    queue names of the agent's sessions."""
    status = item.get("currentStatus") or {}
    code = str(status.get("agentStatus") or "unknown")
    sessions = [_session_view(modality, s, names or {})
                for modality, bag in sorted((item.get("sessions") or {}).items())
                for s in (bag or {}).get("sessions", [])]
    metrics = item.get("metrics") or {}
    answered = sum(_metric(b, "answeredCount") for m, b in metrics.items()
                   if m != "agnostic" and isinstance(b, Mapping))
    rona = sum(_metric(b, "ronaCount") for m, b in metrics.items()
               if m != "agnostic" and isinstance(b, Mapping))
    return {
        "id": f"agent-{agent_id}", "agent_id": agent_id,
        "name": item.get("name") or f"Agent {agent_id}", "team": team,
        "team_id": team_id, "group_ids": " ".join(str(g) for g in sorted(set(group_ids))),
        "unit_id": unit_id,
        "status": code, "status_label": STATUS_LABELS.get(code, code),
        "status_icon": STATUS_ICONS.get(code, STATUS_ICON_DEFAULT),
        "reason": status.get("reasonCodeName") or "",
        "since": status.get("startTime"), "suspended": bool(status.get("isSuspended")),
        "sessions": sessions, "answered": answered, "rona": rona,
    }


def agent_membership(structure_names: Mapping[str, str], agent_id: int) -> dict[str, Any]:
    """The keyword arguments of `agent_row` for one agent, from the bridge's `names`
    (see dashboard.bridge._names)."""
    def number(key: str) -> int | None:
        value = structure_names.get(key, "")
        return int(value) if value.isdigit() else None

    groups = structure_names.get(f"agent-groups.{agent_id}", "")
    return {"team_id": number(f"agent-team.{agent_id}"),
            "group_ids": [int(g) for g in groups.split() if g.isdigit()],
            "unit_id": number(f"agent-unit.{agent_id}"), "names": structure_names}


def totals_row(key: tuple[str, str, str, int], item: Mapping[str, Any], name: str = "",
               ) -> dict[str, Any]:
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


# An alert item may carry these two keys of ours next to Clarity's: who acknowledged it on the
# dashboard (a user name) and when (ISO 8601). Clarity knows nothing of acknowledgements.
ACK_BY, ACK_AT = "acknowledgedBy", "acknowledgedAt"


def alert_view(item: Mapping[str, Any]) -> dict[str, Any]:
    severity = str(item.get("severity") or "info").strip().lower()
    acknowledged_at = item.get(ACK_AT)
    return {
        "id": f"alert-{item.get('id')}", "alert_id": item.get("id"),
        "name": item.get("name"), "severity": severity,
        "entity": item.get("entityName") or f"{item.get('entityType')} {item.get('entityId')}",
        "message": item.get("message") or "", "active": item.get("isActive") is not False,
        "raised": item.get("raisedTime"), "cleared": item.get("clearedTime"),
        "acknowledged_by": item.get(ACK_BY) or "",
        "acknowledged_at": (parse_datetime(acknowledged_at)
                            if isinstance(acknowledged_at, str) else acknowledged_at),
    }


# ---------------------------------------------------------------------- rendering
def render_widget(key: EntityKey, item: Mapping[str, Any], names: Mapping[str, str],
                  *, oob: bool, rules: Sequence[Threshold] = (),
                  labels: Mapping[str, str] | None = None,
                  history: Mapping[tuple[int, str], Sequence[Point]] | None = None) -> str:
    """The HTML of one entity's widget(s); the same templates serve first renders and swaps.

    `rules`, `labels` and `history` are the bridge's threshold rules, Clarity's labels and the
    sparkline points (LiveState)."""
    ctx: dict[str, Any] = {"oob": oob}
    if key[0] == "queue":
        name = names.get(f"queue.{key[1]}") or item.get("name") or f"Queue {key[1]}"
        ctx.update(queue_id=key[1], name=name,
                   tiles=queue_tiles(int(key[1]), item, name, rules=rules, labels=labels,
                                     history=history))
        return render_to_string("dashboard/_queue_tiles.html", ctx)
    if key[0] == "agent":
        ctx["row"] = agent_row(int(key[1]), item, names.get(f"team-of-agent.{key[1]}", ""),
                               **agent_membership(names, int(key[1])))
        return render_to_string("dashboard/_agent_row.html", ctx)
    if key[0] == PANEL:
        # Imported here: dashboard.agent_page builds on this module's view models.
        from .agent_page import panel
        ctx["panel"] = panel(int(key[1]), item, names, labels=labels)
        return render_to_string("dashboard/_agent_panel.html", ctx)
    if key[0] == "group" and len(key) == 4:
        ctx["row"] = totals_row(key, item, names.get(f"{key[2]}.{key[3]}", ""))
        return render_to_string("dashboard/_totals_row.html", ctx)
    if key[0] == "alert":
        ctx["alert"] = alert_view(item)
        return render_to_string("dashboard/_alert_item.html", ctx)
    return ""


def _alert_time(item: Mapping[str, Any], *fields: str) -> datetime | None:
    """The first of an alert's `fields` that holds a timestamp; None if none parses."""
    text = next((str(item[f]) for f in fields if item.get(f)), "")
    try:
        return parse_datetime(text)
    except ValueError:
        return None


# Cleared alerts kept on live pages at the most (the newest), besides their age limit.
CLEARED_ALERTS_KEPT = 100
# Distinct sets of groups whose latest snapshot is kept (scopes, wallboards, agent pages).
SNAPSHOTS_KEPT = 64


@dataclass
class _Snapshot:
    """LiveState.snapshot()'s latest snapshot of one set of groups, and what it was built from."""

    basis: tuple[Any, ...]
    pieces: dict[EntityKey, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # by wire_key, as sent
    picture_version: int = 0
    touches: int = 0
    second: int = 0
    html: str | None = None


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
    # Acknowledgements are the dashboard's, not Clarity's: alert id -> (user name, ISO time).
    # Loaded from the database when the bridge starts; the acknowledge view reports new ones.
    acks: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Local changes per entity (an acknowledgement): consumers drop a fragment whose version is
    # not newer than the page's, so a local change must raise the version as upstream ones do.
    bumps: dict[EntityKey, int] = field(default_factory=dict)
    # The enabled threshold rules (store.load_thresholds), reloaded by the bridge.
    thresholds: list[Threshold] = field(default_factory=list)
    # Clarity's localization resource for settings.CLARITY_LOCALE: see label().
    labels: dict[str, str] = field(default_factory=dict)
    # The last hour of SPARKLINE_METRIC by (queue Clarity id, modality), from the samples.
    sparklines: dict[tuple[int, str], list[Point]] = field(default_factory=dict)
    # Agents whose panel an agent page asked for (keys_for): only their panels are rendered
    # on every change (widget_keys), so that pages without panels cost nothing more. Never
    # shrinks: bounded by the agents whose pages were opened since the bridge started.
    panels: set[int] = field(default_factory=set)
    # render()'s cache: (key, oob) -> (what the HTML was rendered from, the HTML).
    _rendered: dict[tuple[EntityKey, bool], tuple[tuple[Any, ...], str]] = field(
        default_factory=dict, repr=False, compare=False)
    # snapshot()'s: the latest snapshot of each set of groups, brought up to date on request.
    _snapshots: OrderedDict[frozenset[str], _Snapshot] = field(
        default_factory=OrderedDict, repr=False, compare=False)
    # touch()'s count, and each touched entity's count when it was last touched.
    _touches: int = field(default=0, repr=False, compare=False)
    _touched_at: dict[EntityKey, int] = field(default_factory=dict, repr=False, compare=False)

    def new_epoch(self) -> None:
        self.epoch = uuid.uuid4().hex[:12]

    def meta(self, kind: str, seq: int) -> dict[str, Any]:
        """The fields of a message's leading comment, as the bridge knows them now."""
        age = time.time() - self.last_update if self.last_update else None
        return meta_fields(kind, epoch=self.epoch, seq=seq, upstream_ok=self.upstream_ok,
                           since=None if self.upstream_ok else iso_time(self.upstream_since),
                           age=round(age, 1) if age is not None else None, build=self.build)

    def route(self, key: EntityKey) -> str | None:
        """The group for an entity's widget (alerts by the entity they are about)."""
        if key[0] == "alert":
            item = self.picture.picture.get(key, copy=False) or {}
            return alert_group(item.get("entityType", "queue"), item.get("entityId"))
        return group_name(key)

    def keys_for(self, groups: Iterable[str]) -> list[EntityKey]:
        """The widgets of `groups` (a snapshot's). An agent page's panel group also registers
        the panel, so that later changes of the agent render it (widget_keys)."""
        wanted = set(groups)
        keys = [key for key in self.picture.picture.entity_keys() if self.route(key) in wanted]
        prefix = f"{PANEL}."
        for group in wanted:
            if group.startswith(prefix) and group[len(prefix):].isdigit():
                agent_id = int(group[len(prefix):])
                self.panels.add(agent_id)
                if self.picture.picture.get(("agent", agent_id), copy=False) is not None:
                    keys.append((PANEL, agent_id))
        return keys

    def widget_keys(self, keys: Iterable[EntityKey]) -> Iterator[EntityKey]:
        """The widgets to re-render for changed entities: each one's own, and the panel of an
        agent whose page was opened."""
        for key in keys:
            yield key
            if key[0] == "agent" and key[1] in self.panels:
                yield (PANEL, key[1])

    @staticmethod
    def _source(key: EntityKey) -> EntityKey:
        """The entity a widget is drawn from (a panel: its agent)."""
        return ("agent", int(key[1])) if key[0] == PANEL else key

    def version(self, key: EntityKey) -> int:
        """An entity's version as published: upstream changes plus local ones, so it grows on
        either (both only ever grow). A panel's is its agent's."""
        key = self._source(key)
        return self.picture.picture.entity_version(key) + self.bumps.get(key, 0)

    def versions(self, keys: Iterable[EntityKey]) -> dict[str, int]:
        return {wire_key(k): self.version(k) for k in keys}

    def touch(self, keys: Iterable[EntityKey]) -> None:
        """Widgets that render differently without an upstream change (new threshold rules, a
        new sparkline minute): raise their versions, so that pages take the re-render."""
        self._touches += 1
        for key in keys:
            self.bumps[key] = self.bumps.get(key, 0) + 1
            self._touched_at[key] = self._touches

    def expire_alerts(self, cleared_before: datetime,
                      keep: int = CLEARED_ALERTS_KEPT) -> list[tuple[EntityKey, str]]:
        """Alerts cleared before `cleared_before`, and cleared ones beyond the newest `keep`,
        leave the picture and this state's caches (the database keeps them for the alerts
        page): every wallboard's snapshot carries the live alert list, and a busy day's
        thousands of cleared alerts made it megabytes. Returns each with the group that
        showed it, for the bridge to tell pages to delete it (delete_fragment)."""
        picture = self.picture.picture
        cleared: list[tuple[datetime, EntityKey]] = []
        for key in picture.entity_keys():
            if key[0] != "alert":
                continue
            item = picture.get(key, copy=False) or {}
            if item.get("isActive") is not False:
                continue
            at = _alert_time(item, "clearedTime", "raisedTime")
            if at is not None and at.tzinfo is not None:
                cleared.append((at, key))
        cleared.sort(reverse=True)
        expired: list[tuple[EntityKey, str]] = []
        for rank, (at, key) in enumerate(cleared):
            if rank < keep and at >= cleared_before:
                continue
            group = self.route(key)
            if group is None or not picture.drop_entity(key):
                continue
            for oob in (True, False):
                self._rendered.pop((key, oob), None)
            self.acks.pop(int(key[1]), None)
            self._touched_at.pop(key, None)
            expired.append((key, group))
        return expired

    def acknowledge(self, alert_id: int, by: str, at: str) -> EntityKey:
        """Record an acknowledgement; returns the alert's key, whose version it raised."""
        key: EntityKey = ("alert", alert_id)
        self.acks[alert_id] = (by, at)
        self.touch([key])
        return key

    def render(self, key: EntityKey, *, oob: bool = True) -> str:
        # Every page that connects gets a snapshot of every widget it shows, and reading an
        # item copies it (status history included): rows, totals and alerts are rendered once
        # per version and reused. Their HTML follows from the item (its version), the names,
        # the labels and the language alone. Queue tiles (their levels move with the clock)
        # and agent panels (their timeline runs up to now) are reused within the same second:
        # pages connecting together after a restart share them.
        picture = self.picture.picture
        source = self._source(key)
        clock = int(time.time()) if key[0] in ("queue", PANEL) else 0
        valid = (picture.entity_version(source) + self.bumps.get(source, 0), picture,
                 self.names, self.labels, get_language(), clock)
        cached = self._rendered.get((key, oob))
        if cached is not None and all(a is b or a == b
                                      for a, b in zip(cached[0], valid, strict=True)):
            return cached[1]
        # Read without copying: rendering only reads the item, before the next apply().
        item = self.picture.picture.get(self._source(key), copy=False)
        if item is None:
            return ""
        if key[0] == "alert" and (ack := self.acks.get(int(key[1]))) is not None:
            item = {**item, ACK_BY: ack[0], ACK_AT: ack[1]}
        html = render_widget(key, item, self.names, oob=oob, rules=self.thresholds,
                             labels=self.labels, history=self.sparklines)
        # Pushed HTML goes out as ASCII, with character references for the rest (icons, dashes:
        # the same text to the browser). Python keeps a string with any character above U+00FF
        # at two bytes a character, and every page's message is built from these: one icon
        # made joining the header to the widgets and UTF-8 encoding them (per page, per
        # message) 20 times slower (docs/benchmarks.md).
        html = html.encode("ascii", "xmlcharrefreplace").decode("ascii")
        self._rendered[(key, oob)] = (valid, html)
        return html

    def _alert_order(self, key: EntityKey) -> tuple[bool, float]:
        item = self.picture.picture.get(key, copy=False) or {}
        raised = _alert_time(item, "raisedTime")
        return item.get("isActive") is False, -raised.timestamp() if raised else 0.0

    def snapshot_html(self, keys: Iterable[EntityKey],
                      rendered: Mapping[EntityKey, str] | None = None) -> str:
        """Every widget of `keys` (rendered now, or taken from `rendered`); alerts fill the
        alert list as a whole (the page may not have their elements yet), the rest replace
        their placeholders by id."""
        widgets, alert_keys = [], []
        for key in keys:
            if key[0] == "alert":
                alert_keys.append(key)
            else:
                widgets.append(rendered[key] if rendered is not None
                               else self.render(key, oob=True))
        # In the pages' order (views._alerts): active ones first, then the newest first.
        alert_keys.sort(key=self._alert_order)
        alerts = [rendered[key] if rendered is not None else self.render(key, oob=False)
                  for key in alert_keys]
        alert_list = (f'<div hx-swap-oob="innerHTML:{ALERTS_CONTAINER}">'
                      f'{"".join(alerts)}</div>')
        return "".join(widgets) + alert_list

    def snapshot(self, groups: Iterable[str]) -> tuple[str, dict[str, int]]:
        """The snapshot of `groups` (snapshot_html of keys_for) and the versions it shows.

        When every page reconnects at once (a deploy, a proxy restart) most ask for the same
        groups (the TVs of one wallboard, supervisors of one scope): building each from every
        widget cost the bridge ~11 ms for a wallboard, and 1000 of them did not finish
        (docs/benchmarks.md). So the last snapshot of each set of groups is kept, and a request
        brings it up to date with what changed since (the picture's changed_since, touches,
        the clock's second for tiles and panels) instead of starting over. What it returns is
        what a fresh build would: test_live_snapshot.py compares the two."""
        wanted = frozenset(groups)
        second = int(time.time())  # before rendering: a render that crosses it is redone
        picture = self.picture.picture
        basis = (self.epoch, picture, self.names, self.labels, get_language())
        memo = self._snapshots.get(wanted)
        if memo is None or not all(a is b or a == b
                                   for a, b in zip(memo.basis, basis, strict=True)):
            memo = _Snapshot(basis=basis)
            for key in self.keys_for(wanted):
                memo.pieces[key] = self.render(key, oob=key[0] != "alert")
                memo.versions[wire_key(key)] = self.version(key)
        else:
            self._bring_up_to_date(memo, wanted, second)
        memo.picture_version, memo.touches = picture.version, self._touches
        memo.second = second
        self._snapshots[wanted] = memo
        self._snapshots.move_to_end(wanted)
        while len(self._snapshots) > SNAPSHOTS_KEPT:
            self._snapshots.popitem(last=False)
        if memo.html is None:
            memo.html = self.snapshot_html(memo.pieces, memo.pieces)
        return memo.html, dict(memo.versions)

    def _bring_up_to_date(self, memo: _Snapshot, wanted: frozenset[str], second: int) -> None:
        picture = self.picture.picture
        changed = set(picture.changed_since(memo.picture_version))
        if self._touches != memo.touches:
            changed.update(key for key, at in self._touched_at.items() if at > memo.touches)
        if second != memo.second:
            # Queue tiles' levels and panels' timelines move with the clock (render()).
            changed.update(key for key in memo.pieces if key[0] in ("queue", PANEL))
        for key in list(changed):
            if key[0] == "agent" and f"{PANEL}.{key[1]}" in wanted:
                changed.add((PANEL, int(key[1])))
        for key in changed:
            if key[0] == PANEL:
                shown = (f"{PANEL}.{key[1]}" in wanted
                         and picture.get(self._source(key), copy=False) is not None)
            else:
                shown = (picture.get(key, copy=False) is not None
                         and self.route(key) in wanted)
            if shown:
                memo.pieces[key] = self.render(key, oob=key[0] != "alert")
                memo.versions[wire_key(key)] = self.version(key)
            elif key in memo.pieces:
                del memo.pieces[key]
                del memo.versions[wire_key(key)]
            else:
                continue
            memo.html = None

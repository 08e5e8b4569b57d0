"""The agent page's live panel (`_agent_panel.html`, id `agent-panel-N`): what it shows, drawn
from an agent's live item (pushes) or from the database (the first render).

Pure functions, no database and no clock of their own, like `dashboard.sparklines`: the bridge
renders the panel from the live picture (`live.render_widget`) and the agent page's view from
what the bridge persisted (`Agent`, `StatusPeriod`), through the same view model and template.

The panel carries the state that supervisor actions change as data attributes
(`data-state-status="3:2"`, `data-state-suspended`, `data-state-recording`), so that a pending
action (`expectation`) can tell in the browser when the live feed confirms it (actions.js).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.clarity import wire
from integrations.clarity.merge import parse_timestamp

from . import live

# The per-modality metrics the panel lists, in order: (Clarity's name, our label, kind).
# "ms" values are shown as durations (m:ss, h:mm:ss), the rest as counts.
MODALITY_METRICS: tuple[tuple[str, Any, str], ...] = (
    ("offeredCount", _("Offered"), "count"),
    ("answeredCount", _("Answered"), "count"),
    ("ronaCount", _("Not answered (RONA)"), "count"),
    ("currentlyActiveCount", _("Active now"), "count"),
    ("completedCount", _("Completed"), "count"),
    ("transferredCount", _("Transferred"), "count"),
    ("heldCount", _("Holds"), "count"),
    ("averageHandleTime", _("Average handle time"), "ms"),
    ("totalTalkTime", _("Talk time"), "ms"),
    ("totalHoldTime", _("Hold time"), "ms"),
    ("totalAfterCallTime", _("After-call time"), "ms"),
)
# Time in each state today, whatever the modality (Clarity's `agnostic` bag, completed periods).
STATE_TIMES: tuple[tuple[str, Any], ...] = (
    ("loggedInTime", _("Logged in")),
    ("availableTime", _("Available")),
    ("inCallTime", _("On sessions")),
    ("afterCallTime", _("After call")),
    ("awayTime", _("Away")),
)
# Statuses drawn in the same colour on the timeline (the agents page's status bar colours).
STATUS_GROUPS = {
    "available": "available", "ringing": "ringing", "inCall": "talking",
    "inImCall": "talking", "busy": "talking", "conferenceCall": "talking",
    "directCall": "talking", "directInboundDial": "talking", "directOutboundDial": "talking",
    "afterCall": "wrapup", "ringOnNoAnswer": "rona", "unavailable": "away",
    "beRightBack": "away", "atLunch": "away", "offPhoneActivity": "away",
}
# The timeline's SVG box: time runs over [start, now] across TIMELINE_WIDTH units; CSS stretches
# it to the panel's width (attributes only, no style: strict CSP).
TIMELINE_WIDTH = 1000
TIMELINE_HEIGHT = 24


@dataclass(frozen=True)
class Period:
    """One stretch of an agent's status; `end` None while it is the current one."""

    status: str
    reason: str
    start: datetime
    end: datetime | None = None
    suspended: bool = False


# ---------------------------------------------------------------------------------------------
# Where the periods come from
# ---------------------------------------------------------------------------------------------


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_timestamp(value) if isinstance(value, str) else None


def periods_from_item(item: Mapping[str, Any]) -> list[Period]:
    """The live item's status history (ended periods) and its current status."""
    periods = []
    for entry in item.get("statusHistory") or ():
        if not isinstance(entry, Mapping):
            continue
        start = _when(entry.get("startTime"))
        if start is None or not entry.get("agentStatus"):
            continue
        periods.append(Period(str(entry["agentStatus"]), entry.get("reasonCodeName") or "",
                              start, _when(entry.get("endTime")),
                              bool(entry.get("isSuspended"))))
    return with_current(periods, item.get("currentStatus") or {})


def with_current(periods: Sequence[Period], current: Mapping[str, Any]) -> list[Period]:
    """`periods` and the current status (a wire `currentStatus`) as the open period: the
    history may not hold it yet, or hold it still open."""
    start = _when(current.get("startTime"))
    if start is None or not current.get("agentStatus"):
        return list(periods)
    # What began before the current status ended when it began at the latest; anything that
    # claims to begin with it or later is the current status itself (or stale).
    kept = [p if p.end is not None and p.end <= start
            else Period(p.status, p.reason, p.start, start, p.suspended)
            for p in periods if p.start < start]
    kept.append(Period(str(current["agentStatus"]), current.get("reasonCodeName") or "",
                       start, None, bool(current.get("isSuspended"))))
    return kept


def periods_from_rows(rows: Iterable[Any]) -> list[Period]:
    """StatusPeriod rows (or anything with their fields), as stored by the bridge."""
    return [Period(r.status, r.reason_code or "", r.started_at, r.ended_at,
                   bool(r.is_suspended)) for r in rows]


def day_start(now: datetime) -> datetime:
    """Midnight of `now`'s day in the dashboard's time zone: where "today" begins."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------------------------------------
# The view model
# ---------------------------------------------------------------------------------------------


def _duration_text(seconds: float) -> str:
    return live._elapsed(max(0.0, seconds) * 1000)


def _coord(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def timeline(periods: Sequence[Period], *, now: datetime,
             since: datetime | None = None) -> dict[str, Any]:
    """Today's periods (clipped to [since, now], since = midnight by default), oldest first,
    each with its place on the bar, and a legend: each status with its total time."""
    since = since or day_start(now)
    clipped = []
    for p in sorted(periods, key=lambda p: p.start):
        end = p.end or now
        start = max(p.start, since)
        end = min(end, now)
        if end <= start and p.end is not None:
            continue
        clipped.append((p, start, max(end, start)))
    if not clipped:
        return {"segments": [], "legend": [], "start": None, "end": now}
    origin = clipped[0][1]
    span = (now - origin).total_seconds() or 1.0
    segments: list[dict[str, Any]] = []
    totals: dict[str, list[Any]] = {}  # status -> [label, seconds, count]
    for p, start, end in clipped:
        seconds = (end - start).total_seconds()
        x = (start - origin).total_seconds() / span * TIMELINE_WIDTH
        width = seconds / span * TIMELINE_WIDTH
        label = str(live.STATUS_LABELS.get(p.status, p.status))
        segments.append({
            "status": p.status, "group": STATUS_GROUPS.get(p.status, "other"),
            "label": label, "icon": live.STATUS_ICONS.get(p.status, live.STATUS_ICON_DEFAULT),
            "reason": p.reason, "suspended": p.suspended, "start": start, "end": end,
            "current": p.end is None, "duration": _duration_text(seconds),
            "x": _coord(x), "width": _coord(width),
        })
        total = totals.setdefault(p.status, [label, 0.0, 0])
        total[1] += seconds
        total[2] += 1
    legend = [{"status": status, "group": STATUS_GROUPS.get(status, "other"), "label": label,
               "icon": live.STATUS_ICONS.get(status, live.STATUS_ICON_DEFAULT),
               "total": _duration_text(seconds), "count": count}
              for status, (label, seconds, count) in sorted(
                  totals.items(), key=lambda kv: -kv[1][1])]
    return {"segments": segments, "legend": legend, "start": origin, "end": now,
            "width": TIMELINE_WIDTH, "height": TIMELINE_HEIGHT}


def status_value(current: Mapping[str, Any]) -> str:
    """The status as a status form value ("1", "3:2"; actions.StatusChoice.value), to compare a
    pending change with what the live feed says."""
    status_id = current.get("agentStatusId")
    if not isinstance(status_id, int):
        name = str(current.get("agentStatus") or "").lower()
        status_id = wire.AGENT_STATUS_NAMES.get(name)
    if status_id is None:
        return ""
    reason = current.get("reasonCodeId")
    if status_id == wire.UNAVAILABLE and isinstance(reason, int):
        return f"{status_id}:{reason}"
    return str(status_id)


def _metric_rows(metrics: Mapping[str, Any],
                 labels: Mapping[str, str] | None) -> tuple[list[dict[str, Any]],
                                                           list[dict[str, Any]]]:
    bags = {m: b for m, b in metrics.items() if m != "agnostic" and isinstance(b, Mapping)}
    modalities = [{"modality": m,
                   "label": live.label(labels, m, live.MODALITY_LABELS.get(m, m))}
                  for m in sorted(bags)]
    rows = []
    for name, default, kind in MODALITY_METRICS:
        if not any(name in bag for bag in bags.values()):
            continue
        values = []
        for m in sorted(bags):
            value = live._metric(bags[m], name, None)
            if not isinstance(value, int | float) or isinstance(value, bool):
                values.append("—")
            elif kind == "ms":
                values.append(live._elapsed(value))
            else:
                values.append(str(int(value)))
        rows.append({"metric": name, "label": live.label(labels, name, default),
                     "values": values})
    return modalities, rows


def _state_times(metrics: Mapping[str, Any],
                 labels: Mapping[str, str] | None) -> list[dict[str, Any]]:
    bag = metrics.get("agnostic")
    if not isinstance(bag, Mapping):
        return []
    times = []
    for name, default in STATE_TIMES:
        value = live._metric(bag, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            times.append({"metric": name, "label": live.label(labels, name, default),
                          "value": live._elapsed(value)})
    return times


def panel(agent_id: int, item: Mapping[str, Any], names: Mapping[str, str], *,
          labels: Mapping[str, str] | None = None, now: datetime | None = None,
          periods: Sequence[Period] | None = None) -> dict[str, Any]:
    """The panel of one agent. `periods` are the timeline's (by default the item's own status
    history); `item` may be a placeholder with `name` and `currentStatus` alone."""
    now = now or timezone.now()
    row = live.agent_row(agent_id, item, names.get(f"team-of-agent.{agent_id}", ""),
                         names=names)
    current = item.get("currentStatus") or {}
    for session in row["sessions"]:
        # Clarity's words for its session statuses ("Active", "OnHold"), when it has them.
        status = session["status"] or ""
        session["status_label"] = live.label(labels, f"sessionStatus.{status}", status)
    modalities, metric_rows = _metric_rows(item.get("metrics") or {}, labels)
    return {
        "id": f"agent-panel-{agent_id}", "agent_id": agent_id, "row": row,
        "has_status": bool(current.get("agentStatus")),
        "state_status": status_value(current),
        "state_suspended": "true" if row["suspended"] else "false",
        "state_recording": "true" if any(s["recording"] for s in row["sessions"]) else "false",
        "modalities": modalities, "metric_rows": metric_rows,
        "state_times": _state_times(item.get("metrics") or {}, labels),
        "timeline": timeline(periods_from_item(item) if periods is None else periods, now=now),
    }


# ---------------------------------------------------------------------------------------------
# Pending actions
# ---------------------------------------------------------------------------------------------


# Seconds after which a pending action the live feed has not confirmed says so (actions.js).
PENDING_SECONDS = 10


@dataclass(frozen=True)
class Expectation:
    """What the panel will show once the live feed confirms an accepted action: `key` names
    the panel's `data-state-<key>` attribute, `value` what it will hold; `label` says it to the
    supervisor ("Away: On Break")."""

    key: str
    value: str
    label: str


def status_expectation(status_id: int, reason_code_id: int | None,
                       label: str) -> Expectation:
    value = str(status_id) if reason_code_id is None else f"{status_id}:{reason_code_id}"
    return Expectation("status", value, label)


def suspension_expectation(suspended: bool) -> Expectation:
    return Expectation("suspended", "true" if suspended else "false",
                       str(_("Suspended") if suspended else _("Not suspended")))


def recording_expectation(start: bool, results: Sequence[str]) -> Expectation | None:
    """After a recording request whose per-session `results` ("recorded", "stopped", ...)
    Clarity answered: what the live feed will show, if anything changed."""
    if start and "recorded" in results:
        return Expectation("recording", "true", str(_("Recording")))
    if not start and results and all(r == "stopped" for r in results):
        return Expectation("recording", "false", str(_("Not recording")))
    return None

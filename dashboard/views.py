from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from . import agents_grid, live, sparklines, store
from .mbu import (
    Membership,
    Visibility,
    stored_memberships,
    visibility_for,
    visibility_for_wallboard,
)
from .models import Agent, Alert, BusinessUnit, Group, Queue, Team

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    # Liveness only: it touches neither the database nor Clarity, so a slow
    # upstream does not get healthy dashboard processes restarted.
    return JsonResponse({"status": "ok"})


# ---------------------------------------------------------------------- the live pages
# Each page renders every widget it will show as a placeholder from the database (what the
# bridge last persisted), with the same templates the socket's swaps use; the socket's snapshot
# then fills them in. Nothing here waits on Clarity.


def _visible(request: HttpRequest) -> Visibility:
    return visibility_for(request.user)


def _in(queryset: Any, ids: frozenset[int], everything: bool) -> Any:
    return queryset if everything else queryset.filter(clarity_id__in=ids)


def _agent_placeholder(agent: Agent, where: Membership | None = None) -> dict[str, Any]:
    # `where` (team, groups, unit) is what the agents page filters on; pages without filters
    # leave it out and save the queries.
    status = {"agentStatus": agent.status or "unknown", "reasonCodeName": agent.reason_code,
              "startTime": agent.status_since.isoformat() if agent.status_since else None,
              "isSuspended": agent.is_suspended}
    where = where or Membership()
    return live.agent_row(agent.clarity_id, {"name": agent.name, "currentStatus": status},
                          agent.team.name if agent.team else "", team_id=where.team_id,
                          group_ids=where.group_ids, unit_id=where.business_unit_id)


def _totals(vis: Visibility) -> list[dict[str, Any]]:
    rows = []
    for model, group_type, ids in ((Team, "team", vis.team_ids), (Group, "group", vis.group_ids),
                                   (BusinessUnit, "businessUnit", vis.business_unit_ids)):
        for entity in _in(model.objects.filter(active=True), ids, vis.everything):
            for kind in ("queue", "agent"):
                rows.append(live.totals_row(("group", kind, group_type, entity.clarity_id), {},
                                            entity.name))
    return rows


def _visible_alerts(vis: Visibility) -> Any:
    """Alerts are about a queue or an agent; a viewer sees those of the ones they may see
    (the same rule as the alert groups a page joins, live.groups_for)."""
    alerts = Alert.objects.select_related("acknowledged_by")
    if not vis.everything:
        alerts = alerts.filter(
            Q(entity_type__iexact="queue", entity_id__in=vis.queue_ids)
            | Q(entity_type__iexact="agent", entity_id__in=vis.agent_ids))
    return alerts


def _alert_placeholder(a: Alert) -> dict[str, Any]:
    ack = store.acknowledgement(a)
    return live.alert_view({
        "id": a.clarity_id, "name": a.name, "severity": a.severity,
        "entityName": a.entity_name, "message": a.message, "isActive": a.is_active,
        "raisedTime": a.raised_at.isoformat(), "clearedTime": (a.cleared_at.isoformat()
                                                             if a.cleared_at else None),
        live.ACK_BY: ack[0] if ack else None, live.ACK_AT: ack[1] if ack else None,
    })


def _alerts(vis: Visibility, limit: int = 200) -> list[dict[str, Any]]:
    alerts = _visible_alerts(vis).order_by("-is_active", "-raised_at")
    return [_alert_placeholder(a) for a in alerts[:limit]]


def _queue_widgets(queues: Any) -> list[dict[str, Any]]:
    """Each queue's tiles as the bridge last sampled them (within the sparkline's hour), with
    the same threshold rules, Clarity labels and sparkline points the bridge renders with; the
    socket's snapshot then replaces them with the live numbers."""
    now = timezone.now()
    since = now - sparklines.WINDOW
    queues = list(queues)
    ids = [q.clarity_id for q in queues]
    latest = store.latest_queue_metrics(ids, since)
    history = store.sparklines(live.SPARKLINE_METRIC, since, queue_ids=ids)
    rules = store.load_thresholds()
    labels = store.load_labels(settings.CLARITY_LOCALE)
    return [{"queue_id": q.clarity_id, "name": q.name,
             "tiles": live.queue_tiles(q.clarity_id, {"metrics": latest.get(q.clarity_id, {})},
                                       q.name, rules=rules, labels=labels, history=history,
                                       now=now)}
            for q in queues]


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    vis = _visible(request)
    queues = _in(Queue.objects.filter(active=True), vis.queue_ids, vis.everything)
    return render(request, "dashboard/overview.html", {
        "page": "overview", "queues": _queue_widgets(queues), "totals": _totals(vis),
        "alerts": _alerts(vis, 20)})


@login_required
def agents(request: HttpRequest) -> HttpResponse:
    vis = _visible(request)
    found = list(_in(Agent.objects.filter(active=True).select_related("team"), vis.agent_ids,
                     vis.everything))
    where = stored_memberships(found)
    teams, groups, units = (list(_in(model.objects.filter(active=True), ids, vis.everything))
                            for model, ids in ((Team, vis.team_ids), (Group, vis.group_ids),
                                               (BusinessUnit, vis.business_unit_ids)))
    filters = agents_grid.AgentFilters.from_query(request.GET).within(
        *([e.clarity_id for e in entities] for entities in (teams, groups, units)))
    # Every row in scope is rendered, the filtered-out ones hidden: the socket keeps them all
    # current and agents.js widens or narrows the filters without a round trip.
    rows = agents_grid.sort_rows((_agent_placeholder(a, where.get(a.clarity_id)) for a in found),
                                 filters.sort)
    for row in rows:
        row["hidden"] = not filters.shows(row)
    total, counts = agents_grid.status_counts(rows, filters)
    return render(request, "dashboard/agents.html", {
        "page": "agents", "rows": rows, "filters": filters, "counts": counts, "total": total,
        "shown": sum(not row["hidden"] for row in rows),
        "teams": teams, "groups": groups, "units": units,
        "statuses": agents_grid.status_options(rows, filters.status), "alerts": []})


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/alerts.html", {"page": "alerts",
                                                     "alerts": _alerts(_visible(request))})


@login_required
@require_POST
def acknowledge_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Record that the user acknowledged an alert they may see, and tell the bridge, so that
    every page showing the alert shows it acknowledged. HTMX gets the re-rendered item; a
    plain form post goes back where it came from."""
    if not _alert_in_scope(_visible(request), alert_id):
        # Unknown and out of scope look the same: no hint that an alert id exists.
        raise Http404("No such alert")
    alert = store.acknowledge_alert(alert_id, request.user)
    # Set now: by this user, or by whoever was first (the first acknowledgement wins).
    by, at = store.acknowledgement(alert) or ("", "")
    if by == request.user.get_username():
        log.info("alert %s (%s) acknowledged by %s at %s", alert_id, alert.name, by, at)
    else:
        log.info("alert %s (%s): %s clicked acknowledge, already acknowledged by %s at %s",
                 alert_id, alert.name, request.user.get_username(), by, at)
    _tell_bridge({"type": "alert.acknowledged", "alert_id": alert_id, "by": by, "at": at})
    if request.htmx:
        return render(request, "dashboard/_alert_item.html",
                      {"alert": _alert_placeholder(alert), "oob": False})
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()},
                                           require_https=request.is_secure()):
        back = "/alerts/"
    return redirect(back)


# Pages show an alert as soon as the bridge hears of it; the bridge stores it within a second
# or two. A supervisor quicker than that waits this long rather than getting a 404.
ALERT_STORED_WITHIN = 5.0


def _alert_in_scope(vis: Visibility, alert_id: int) -> bool:
    deadline = time.monotonic() + ALERT_STORED_WITHIN
    while True:
        if _visible_alerts(vis).filter(clarity_id=alert_id).exists():
            return True
        if Alert.objects.filter(clarity_id=alert_id).exists() or time.monotonic() > deadline:
            return False  # out of scope, or never stored
        time.sleep(0.2)


def _tell_bridge(message: dict[str, Any]) -> None:
    """Send to the bridge through the channel layer (it may be another process). The database
    has the change already: if no bridge listens, pages show it on their next load."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.send)(live.BRIDGE_CHANNEL, message)
    except ChannelFull:
        log.warning("the bridge is not reading its channel; %s not delivered", message["type"])


@never_cache
def wallboard(request: HttpRequest, token: str) -> HttpResponse:
    board = store.wallboard_for_token(token)
    if board is None:
        raise Http404("No such wallboard")
    queues = board.queues.filter(active=True).order_by("name")
    # The agents page shows a table per team (a TV is read team by team, and no team column
    # takes the width); wallboard.js lays them out in as many columns as fit best.
    teams: dict[str, list[dict[str, Any]]] = {}
    for agent in Agent.objects.filter(active=True, team__in=board.teams.all()).select_related(
            "team").order_by("team__name", "name"):
        teams.setdefault(agent.team.name if agent.team else "", []).append(
            _agent_placeholder(agent))
    return render(request, "dashboard/wallboard.html", {
        "board": board, "queues": _queue_widgets(queues), "token": token,
        "agent_teams": list(teams.items()),
        "alerts": _alerts(visibility_for_wallboard(board), 50), "pages": board.pages,
        # Seconds of outage after which the TV reloads once the server answers again.
        "reload_after": 600})

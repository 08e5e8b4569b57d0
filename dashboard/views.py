from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import live, store
from .mbu import Visibility, visibility_for
from .models import Agent, Alert, BusinessUnit, Group, Queue, Team


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


def _agent_placeholder(agent: Agent) -> dict[str, Any]:
    status = {"agentStatus": agent.status or "unknown", "reasonCodeName": agent.reason_code,
              "startTime": agent.status_since.isoformat() if agent.status_since else None,
              "isSuspended": agent.is_suspended}
    return live.agent_row(agent.clarity_id, {"name": agent.name, "currentStatus": status},
                          agent.team.name if agent.team else "")


def _totals(vis: Visibility) -> list[dict[str, Any]]:
    rows = []
    for model, group_type, ids in ((Team, "team", vis.team_ids), (Group, "group", vis.group_ids),
                                   (BusinessUnit, "businessUnit", vis.business_unit_ids)):
        for entity in _in(model.objects.filter(active=True), ids, vis.everything):
            for kind in ("queue", "agent"):
                rows.append(live.totals_row(("group", kind, group_type, entity.clarity_id), {},
                                            entity.name))
    return rows


def _alerts(vis: Visibility, limit: int = 200) -> list[dict[str, Any]]:
    alerts = Alert.objects.order_by("-is_active", "-raised_at")
    if not vis.everything:
        alerts = alerts.filter(
            Q(entity_type__iexact="queue", entity_id__in=vis.queue_ids)
            | Q(entity_type__iexact="agent", entity_id__in=vis.agent_ids))
    return [live.alert_view({
        "id": a.clarity_id, "name": a.name, "severity": a.severity,
        "entityName": a.entity_name, "message": a.message, "isActive": a.is_active,
        "raisedTime": a.raised_at.isoformat(), "clearedTime": (a.cleared_at.isoformat()
                                                             if a.cleared_at else None),
    }) for a in alerts[:limit]]


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    vis = _visible(request)
    queues = _in(Queue.objects.filter(active=True), vis.queue_ids, vis.everything)
    return render(request, "dashboard/overview.html", {
        "page": "overview", "queues": queues, "totals": _totals(vis), "alerts": _alerts(vis, 20)})


@login_required
def agents(request: HttpRequest) -> HttpResponse:
    vis = _visible(request)
    found = _in(Agent.objects.filter(active=True).select_related("team"), vis.agent_ids,
                vis.everything)
    team = request.GET.get("team", "")
    if team.isdigit():
        found = found.filter(team__clarity_id=int(team))
    rows = [_agent_placeholder(a) for a in found]
    teams = _in(Team.objects.filter(active=True), vis.team_ids, vis.everything)
    return render(request, "dashboard/agents.html", {
        "page": "agents", "rows": rows, "teams": teams, "team": team, "alerts": []})


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/alerts.html", {"page": "alerts",
                                                     "alerts": _alerts(_visible(request))})


@never_cache
def wallboard(request: HttpRequest, token: str) -> HttpResponse:
    board = store.wallboard_for_token(token)
    if board is None:
        raise Http404("No such wallboard")
    queues = board.queues.filter(active=True)
    return render(request, "dashboard/wallboard.html", {
        "board": board, "queues": queues, "token": token,
        "agents": [_agent_placeholder(a) for a in Agent.objects.filter(
            active=True, team__in=board.teams.all()).select_related("team")],
        "alerts": [], "pages": board.pages})

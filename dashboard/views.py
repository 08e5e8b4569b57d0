from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlencode

from asgiref.sync import async_to_sync, sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from django_htmx.middleware import HtmxDetails
from prometheus_client import CONTENT_TYPE_LATEST

from integrations.ccai.errors import CcaiError, CcaiInvalid, CcaiTooLarge
from integrations.ccai.generic_api import LOOKUP_QUERY as CCAI_LOOKUP_QUERY
from integrations.ccai.generic_api import check_auth as check_ccai_auth
from integrations.ccai.generic_api import place as place_ccai
from integrations.ccai.generic_api import read_body as read_ccai_body
from integrations.clarity import wire
from integrations.genesys.client import GenesysConfig
from integrations.genesys.webhook import MAX_BODY as GENESYS_MAX_BODY
from integrations.genesys.webhook import SIGNATURE_HEADER as GENESYS_SIGNATURE_HEADER

from . import (
    action_forms,
    actions,
    agent_page,
    agents_grid,
    ccai_crm,
    ccai_oauth,
    ccai_sessions,
    genesys,
    health,
    integration_alerts,
    live,
    metrics,
    notify,
    onecloud,
    ratelimit,
    search,
    sessions,
    sparklines,
    store,
)
from .clarity import web_client
from .mbu import (
    Membership,
    Visibility,
    stored_memberships,
    visibility_for,
    visibility_for_wallboard,
)
from .models import (
    Agent,
    Alert,
    BusinessUnit,
    CrmAccount,
    CrmAttachment,
    CrmRecord,
    Group,
    Queue,
    StatusPeriod,
    Team,
)

log = logging.getLogger(__name__)


class HtmxHttpRequest(HttpRequest):
    """What django-htmx's middleware makes of every request (for the type checker)."""

    htmx: HtmxDetails


_login_view = auth_views.LoginView.as_view(redirect_authenticated_user=True)


def _too_many(wait: int) -> HttpResponse:
    response = HttpResponse(_("Too many failed attempts from here. Try again in %(minutes)d "
                              "minute(s).") % {"minutes": (wait + 59) // 60} + "\n",
                            status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response


def login(request: HtmxHttpRequest) -> HttpResponseBase:
    """Django's login view, with failed attempts counted per address and per username: past
    the limit, 429 (with Retry-After) without checking the password at all."""
    if request.method != "POST":
        return _login_view(request)
    address = ratelimit.client_address(request.META)
    username = str(request.POST.get("username", ""))[:150].strip().lower()
    wait = max(ratelimit.LOGIN_PER_ADDRESS.blocked_for(address),
               ratelimit.LOGIN_PER_USERNAME.blocked_for(username))
    if wait:
        log.warning("login refused: too many failed attempts (address %s)", address)
        response = render(request, "registration/login.html", {
            "form": AuthenticationForm(request), "too_many_minutes": (wait + 59) // 60,
            "next": request.POST.get("next", "")}, status=429)
        response["Retry-After"] = str(wait)
        return response
    answer = _login_view(request)
    if answer.status_code == 200:  # the form again: the password or username was wrong
        ratelimit.LOGIN_PER_ADDRESS.failed(address)
        ratelimit.LOGIN_PER_USERNAME.failed(username)
    return answer


def bad_request(request: HtmxHttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 handler: a request it refused before any view ran (too large, too many
    fields, unreadable), said plainly. Too large is 413, the rest 400."""
    too_large = isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent)
    if too_large:
        reason = _("The request was larger than the dashboard accepts (at most %(size)d KB "
                   "of form data, %(fields)d fields).") % {
            "size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024,
            "fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    else:
        reason = _("The request was malformed.")
    return render(request, "400.html", {"reason": reason}, status=413 if too_large else 400)


@never_cache
@require_safe
async def healthz(request: HtmxHttpRequest) -> JsonResponse:
    # 503 only when this worker cannot serve (database, channel layer); an upstream outage
    # is reported as "degraded" with 200, since restarting the dashboard would not cure it.
    status, report = await health.check()
    return JsonResponse(report, status=status)


@never_cache
@require_safe
async def metrics_view(request: HtmxHttpRequest) -> HttpResponse:
    """Prometheus' scrape: with DASHBOARD_METRICS_TOKEN as a bearer token, or as staff."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not (token and given and hmac.compare_digest(given.encode(), token.encode())):
        user = await request.auser()
        if not user.is_staff:
            return HttpResponse("A bearer token (DASHBOARD_METRICS_TOKEN) or a staff login "
                                "is needed.\n", status=403, content_type="text/plain")
    body = metrics.exposition(await health.bridge_status())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


# ---------------------------------------------------------------------- the live pages
# Each page renders every widget it will show as a placeholder from the database (what the
# bridge last persisted), with the same templates the socket's swaps use; the socket's snapshot
# then fills them in. Nothing here waits on Clarity.


def _visible(request: HtmxHttpRequest) -> Visibility:
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
    (the same rule as the alert groups a page joins, live.groups_for), and anyone who sees
    anything sees the dashboard's own about other platforms (dashboard.integration_alerts)."""
    alerts = Alert.objects.select_related("acknowledged_by")
    if not vis.everything:
        mine = (Q(entity_type__iexact="queue", entity_id__in=vis.queue_ids)
                | Q(entity_type__iexact="agent", entity_id__in=vis.agent_ids))
        if vis.sees_anything:
            mine |= Q(entity_type__iexact=integration_alerts.ENTITY_TYPE)
        alerts = alerts.filter(mine)
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
def overview(request: HtmxHttpRequest) -> HttpResponse:
    vis = _visible(request)
    queues = _in(Queue.objects.filter(active=True), vis.queue_ids, vis.everything)
    return render(request, "dashboard/overview.html", {
        "page": "overview", "queues": _queue_widgets(queues), "totals": _totals(vis),
        "alerts": _alerts(vis, 20)})


@login_required
def agents(request: HtmxHttpRequest) -> HttpResponse:
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
def alerts(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "dashboard/alerts.html", {"page": "alerts",
                                                     "alerts": _alerts(_visible(request))})


@login_required
@require_POST
def acknowledge_alert(request: HtmxHttpRequest, alert_id: int) -> HttpResponse:
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
def wallboard(request: HtmxHttpRequest, token: str) -> HttpResponse:
    # Guessing tokens: after a few wrong ones, an address is refused for a while (even a right
    # one: TVs never guess, so they never get here).
    address = ratelimit.client_address(request.META)
    wait = ratelimit.WALLBOARD_PER_ADDRESS.blocked_for(address)
    if wait:
        return _too_many(wait)
    board = store.wallboard_for_token(token)
    if board is None:
        ratelimit.WALLBOARD_PER_ADDRESS.failed(address)
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


# ---------------------------------------------------------------------- sessions and search
# Read from Clarity when asked (the live picture holds no IVR path, history or transcript).
# Async views: waiting on Clarity holds no thread. The scope, the permission and rendering
# (whose context processors read the session's user) touch the database, so they go through
# sync_to_async. Logic lives in dashboard.sessions and dashboard.search.


async def _visibility(request: HtmxHttpRequest) -> Visibility:
    return await sync_to_async(visibility_for)(await request.auser())


async def _render(request: HtmxHttpRequest, template: str, context: dict[str, Any],
                  status: int = 200) -> HttpResponse:
    return await sync_to_async(render)(request, template, context, status=status)


@never_cache
@login_required
@require_safe
async def session_detail(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    found = await sessions.lookup(await web_client(), await _visibility(request), session_id)
    context: dict[str, Any] = {"page": "session", "session_id": session_id,
                               "error": found.error, "view": None}
    if found.session is not None:
        user = await request.auser()
        context["view"] = sessions.build(found.session, found.transcript, now=timezone.now())
        context["can_annotate"] = await sync_to_async(user.has_perm)(
            "dashboard.annotate_session")
        context["poll_seconds"] = sessions.TRANSCRIPT_POLL_SECONDS
    return await _render(request, "dashboard/session.html", context, found.status)


@never_cache
@login_required
@require_safe
async def session_transcript(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    """The transcript section alone, polled by the page while an IM session is active. 204
    (htmx swaps nothing) while no message was added since `seen`; once the session has ended
    the section comes back without its poll, which stops it."""
    found = await sessions.lookup(await web_client(), await _visibility(request), session_id,
                                  full=False)
    if found.session is None:
        # htmx does not swap error answers: the page keeps what it shows and asks again.
        return HttpResponse(found.error, status=found.status, content_type="text/plain")
    view = sessions.build(found.session, found.transcript, now=timezone.now())
    seen = request.GET.get("seen", "")
    if view.polls_transcript and seen.isdigit() and int(seen) == view.transcript_count:
        return HttpResponse(status=204)
    return await _render(request, "dashboard/_session_transcript.html",
                         {"view": view, "poll_seconds": sessions.TRANSCRIPT_POLL_SECONDS})


@never_cache
@login_required
@require_safe
async def search_page(request: HtmxHttpRequest) -> HttpResponse:
    """Agents and queues by name, address or number. HTMX (the search boxes, as one types)
    gets the results alone; a plain GET (no JavaScript, a bookmark) the whole page."""
    query = request.GET.get("q", "")
    results = await search.run(await web_client(), await _visibility(request), query)
    user = await request.auser()
    if (results.searched or results.error) and await sync_to_async(user.has_perm)(
            "dashboard.view_ccaisession"):
        hits = await sync_to_async(ccai_sessions.search)(results.query)
        results = replace(results, ccai=tuple(hits))
    context = {"page": "search", "results": results, "min_query": search.MIN_QUERY,
               "max_query": search.MAX_QUERY}
    if request.htmx:
        # 200 even on a Clarity error: htmx swaps only successful answers, and the message is
        # what the supervisor needs to see. The search page's box gets headings; the site
        # header's compact panel does not (they would come before the page's own h1).
        context["in_page"] = request.htmx.target == "search-results"
        return await _render(request, "dashboard/_search_results.html", context)
    return await _render(request, "dashboard/search.html", context,
                         502 if results.error else 200)


# ---------------------------------------------------------------------- the agent page, actions
# The agent page: one agent's live panel (dashboard.agent_page, pushed by the bridge in the
# group `agent-panel.N`) and the supervisor actions. The action endpoints read the form
# (dashboard.action_forms), call dashboard.actions (which checks the permission and the scope,
# calls Clarity once and writes the audit entry) and render its outcome:
#   200 done, or ignored (a repeated click); 400 bad input (nothing sent, nothing audited);
#   403 denied; 409 Clarity refused it (4xx); 502 Clarity failed or did not answer.
# HTMX gets _action_result.html with that status (actions.js swaps error answers too, and an
# X-Action-Result header says the outcome); a plain form post is redirected back with a
# message, except for 400 and 403, which get a page saying why.

# How long the agent page waits for Clarity's list of the agent's statuses before it renders
# without them (the form then offers to load them again).
STATUS_CHOICES_WAIT = 3.0

_MESSAGE_LEVELS = {actions.OK: messages.SUCCESS, actions.IGNORED: messages.INFO,
                   actions.DENIED: messages.ERROR, actions.FAILED: messages.ERROR}


def _agent_in_scope(user: Any, agent_id: int) -> Agent:
    # Unknown and out of scope look the same: no hint that an agent id exists.
    if not visibility_for(user).sees_agent(agent_id):
        raise Http404("No such agent")
    agent = (Agent.objects.filter(clarity_id=agent_id, active=True).select_related("team")
             .first())
    if agent is None:
        raise Http404("No such agent")
    return agent


def _agent_page_context(user: Any, agent_id: int) -> dict[str, Any]:
    """Everything the agent page shows from the database: the panel as the bridge last
    persisted it (the socket's snapshot then brings the live one), today's status periods,
    and which actions the user's role allows (the endpoints check again)."""
    agent = _agent_in_scope(user, agent_id)
    now = timezone.now()
    current = {"agentStatus": agent.status, "reasonCodeName": agent.reason_code,
               "startTime": agent.status_since.isoformat() if agent.status_since else None,
               "isSuspended": agent.is_suspended}
    rows = (StatusPeriod.objects.filter(agent=agent, started_at__lt=now)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=agent_page.day_start(now)))
            .order_by("started_at"))
    periods = agent_page.with_current(agent_page.periods_from_rows(rows), current)
    team = agent.team.name if agent.team else ""
    panel = agent_page.panel(agent_id, {"name": agent.name, "currentStatus": current},
                             {f"team-of-agent.{agent_id}": team}, now=now, periods=periods,
                             labels=store.load_labels(settings.CLARITY_LOCALE))
    can = {"status": user.has_perm(actions.PERM_STATUS),
           "suspend": user.has_perm(actions.PERM_SUSPEND),
           "record": user.has_perm(actions.PERM_RECORD),
           # Only where OpenMethods is set up; the form says when the agent has no login.
           "notify": settings.OPENMETHODS is not None and user.has_perm(actions.PERM_NOTIFY)}
    can["any"] = any(can.values())
    name = agent.name
    notify_routes = (notify.routes(settings.OPENMETHODS, notify.logins_for(agent_id))
                     if can["notify"] else ())
    return {
        "page": "agent", "agent_id": agent_id, "agent_name": name, "team": team,
        "panel": panel, "can": can,
        "notify_routes": [(route, notify.ROUTE_LABELS[route]) for route in notify_routes],
        "notify_event": settings.OPENMETHODS_DEFAULT_EVENT,
        "suspend_buttons": [
            ("true", _("Suspend"),
             _("Suspend %(name)s? No new sessions will be offered to them.") % {"name": name}),
            ("false", _("Lift the suspension"),
             _("Lift the suspension of %(name)s?") % {"name": name})],
        "recording_buttons": [
            ("start", _("Start recording"),
             _("Start recording every session of %(name)s?") % {"name": name}),
            ("stop", _("Stop recording"),
             _("Stop recording every session of %(name)s?") % {"name": name})],
    }


async def _status_form_context(user: Any, agent_id: int) -> dict[str, Any]:
    """The status form's choices (actions.status_choices), or why there are none."""
    try:
        choices = await asyncio.wait_for(
            actions.status_choices(user, agent_id, await web_client()), STATUS_CHOICES_WAIT)
    except TimeoutError:
        return {"status_error": _("Clarity did not list this agent's statuses in time.")}
    if not choices.ok:
        return {"status_error": choices.message}
    if not choices.choices:
        return {"status_error": _("Clarity lists no status this agent can be put in.")}
    return {"status_choices": choices}


@login_required
@require_safe
async def agent_detail(request: HtmxHttpRequest, agent_id: int) -> HttpResponse:
    user = await request.auser()
    context = await sync_to_async(_agent_page_context)(user, agent_id)
    # live.js probes the page's URL after an outage: no need to ask Clarity for that.
    if context["can"]["status"] and "X-Live-Probe" not in request.headers:
        context.update(await _status_form_context(user, agent_id))
    return await _render(request, "dashboard/agent.html", context)


@never_cache
@login_required
@require_safe
async def agent_status_form(request: HtmxHttpRequest, agent_id: int) -> HttpResponse:
    """The status form alone, with its choices read again (its "load again" button)."""
    user = await request.auser()
    agent = await sync_to_async(_agent_in_scope)(user, agent_id)
    context = {"agent_id": agent_id, "agent_name": agent.name,
               **await _status_form_context(user, agent_id)}
    return await _render(request, "dashboard/_status_form.html", context)


def _back(request: HtmxHttpRequest, default: str) -> str:
    """Where a plain form post goes back to: its `next` field if it is on this site."""
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()},
                                       require_https=request.is_secure()):
        return back
    return default


def _action_status(outcome: actions.Outcome) -> int:
    if outcome.result == actions.DENIED:
        return 403
    if outcome.result == actions.FAILED:
        upstream = outcome.upstream_status
        if upstream is not None and 200 <= upstream < 300:
            return 200  # Clarity answered; some sessions were not recorded (the answer lists)
        if upstream is not None and 400 <= upstream < 500:
            return 409
        return 502
    return 200


async def _action_answer(request: HtmxHttpRequest, outcome: actions.Outcome, *, back: str,
                         agent_id: int | None = None,
                         expect: agent_page.Expectation | None = None,
                         status: int | None = None, signed_out: bool = False) -> HttpResponse:
    status = status or _action_status(outcome)
    context = {"outcome": outcome, "agent_id": agent_id, "back": back,
               "expect": expect if outcome.ok else None,
               "pending_seconds": agent_page.PENDING_SECONDS, "signed_out": signed_out,
               "login_url": f"{settings.LOGIN_URL}?{urlencode({'next': back})}"}
    if request.htmx:
        response = await _render(request, "dashboard/_action_result.html", context, status)
        response["X-Action-Result"] = outcome.result
        return response
    if status in (400, 403):
        return await _render(request, "dashboard/action_result.html", context, status)
    text = outcome.message
    if outcome.details:
        text += " " + "; ".join(_("Session %(id)s: %(result)s") % {"id": d.session_id,
                                                                   "result": d.label}
                                for d in outcome.details)
    messages.add_message(request, _MESSAGE_LEVELS[outcome.result], text)
    return redirect(back)


def _action(default_back: str) -> Callable[[Callable[..., Coroutine[Any, Any, HttpResponse]]],
                                           Callable[..., Coroutine[Any, Any, HttpResponse]]]:
    """An action endpoint: POST only (CSRF by the middleware), a signed-in user passed to the
    view. Signed out, a plain form post goes to the login page; htmx is told so instead (it
    would swap the login page into the result region). `default_back` is where a plain post
    returns, formatted with the URL's arguments."""

    def decorate(view: Callable[..., Coroutine[Any, Any, HttpResponse]],
                 ) -> Callable[..., Coroutine[Any, Any, HttpResponse]]:
        @wraps(view)
        async def endpoint(request: HtmxHttpRequest, **kwargs: int) -> HttpResponse:
            back = _back(request, default_back.format(**kwargs))
            user = await request.auser()
            if not user.is_authenticated:
                if request.htmx:
                    outcome = actions.Outcome(actions.DENIED,
                                              _("You are signed out. Sign in again to act."))
                    return await _action_answer(request, outcome, back=back, signed_out=True)
                return redirect_to_login(back)
            try:
                return await view(request, user, back=back, **kwargs)
            except action_forms.BadInput as exc:
                return await _action_answer(
                    request, actions.Outcome(actions.FAILED, str(exc)), back=back, status=400)

        return require_POST(endpoint)

    return decorate


async def _status_label(user: Any, agent_id: int, client: Any, status_id: int,
                        reason_code_id: int | None) -> str:
    """The status as the form named it ("Away: On Break"), for the pending marker."""
    value = f"{status_id}:{reason_code_id}" if reason_code_id is not None else str(status_id)
    try:
        listed = await asyncio.wait_for(actions.status_choices(user, agent_id, client),
                                        STATUS_CHOICES_WAIT)
    except TimeoutError:
        listed = None
    for choice in listed.choices if listed is not None else ():
        if choice.value == value:
            return choice.label
    name = wire.AGENT_STATUS_IDS.get(status_id, str(status_id))
    return str(live.STATUS_LABELS.get(name, name))


@_action("/agents/{agent_id}/")
async def agent_status(request: HtmxHttpRequest, user: Any, agent_id: int, *,
                       back: str) -> HttpResponse:
    status_id, reason_id = action_forms.status(request.POST)
    client = await web_client()
    outcome = await actions.change_agent_status(user, agent_id, client, status_id=status_id,
                                                reason_code_id=reason_id)
    expect = None
    if outcome.ok:
        label = await _status_label(user, agent_id, client, status_id, reason_id)
        expect = agent_page.status_expectation(status_id, reason_id, label)
    return await _action_answer(request, outcome, back=back, agent_id=agent_id, expect=expect)


@_action("/agents/{agent_id}/")
async def agent_suspend(request: HtmxHttpRequest, user: Any, agent_id: int, *,
                        back: str) -> HttpResponse:
    suspended = action_forms.suspended(request.POST)
    outcome = await actions.set_agent_suspended(user, agent_id, await web_client(),
                                                suspended=suspended)
    return await _action_answer(request, outcome, back=back, agent_id=agent_id,
                                expect=agent_page.suspension_expectation(suspended))


@_action("/agents/{agent_id}/")
async def agent_recording(request: HtmxHttpRequest, user: Any, agent_id: int, *,
                          back: str) -> HttpResponse:
    start = action_forms.recording(request.POST)
    outcome = await actions.set_agent_recording(user, agent_id, await web_client(),
                                                start=start)
    expect = agent_page.recording_expectation(start, [d.result for d in outcome.details])
    return await _action_answer(request, outcome, back=back, agent_id=agent_id, expect=expect)


@_action("/agents/{agent_id}/")
async def agent_notify(request: HtmxHttpRequest, user: Any, agent_id: int, *,
                       back: str) -> HttpResponse:
    route, event, properties = action_forms.notification(request.POST)
    outcome = await actions.notify_agent(user, agent_id, settings.OPENMETHODS, route=route,
                                         event=event, properties=properties)
    return await _action_answer(request, outcome, back=back, agent_id=agent_id)


@_action("/sessions/{session_id}/")
async def session_notes(request: HtmxHttpRequest, user: Any, session_id: int, *,
                        back: str) -> HttpResponse:
    note = action_forms.note(request.POST)
    outcome = await actions.save_call_notes(user, session_id, await web_client(), note=note)
    return await _action_answer(request, outcome, back=back)


@_action("/sessions/{session_id}/")
async def session_disposition(request: HtmxHttpRequest, user: Any, session_id: int, *,
                              back: str) -> HttpResponse:
    disposition_id, sub_id = action_forms.disposition(request.POST)
    outcome = await actions.save_disposition(user, session_id, await web_client(),
                                             disposition_id=disposition_id,
                                             sub_disposition_id=sub_id)
    return await _action_answer(request, outcome, back=back)


# ------------------------------------------------------------------------------ integrations
# Seconds between the integration tiles' own refreshes.
INTEGRATION_POLL_SECONDS = 10


def _genesys_context(config: GenesysConfig, now: Any) -> dict[str, Any]:
    shown = genesys.tile(config, now=now)
    minute = now.replace(second=0, microsecond=0)
    points = [(minute - timedelta(minutes=len(shown.per_minute) - 1 - i), float(count))
              for i, count in enumerate(shown.per_minute)]
    return {"tile": shown, "poll_seconds": INTEGRATION_POLL_SECONDS,
            "sparkline": sparklines.svg(points, name=_("Messages per minute"), until=now)}


@login_required
@require_safe
def integrations_page(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    context: dict[str, Any] = {"page": "integrations",
                               "openmethods": settings.OPENMETHODS is not None, "genesys": None,
                               "entry_tiles": onecloud.tiles(now),
                               "poll_seconds": INTEGRATION_POLL_SECONDS}
    if settings.GENESYS is not None:
        tile_context = _genesys_context(settings.GENESYS, now)
        context.update(tile_context, genesys=tile_context["tile"])
    return render(request, "dashboard/integrations.html", context)


@never_cache
@login_required
@require_safe
def onecloud_tiles(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "dashboard/_onecloud_tiles.html", {
        "entry_tiles": onecloud.tiles(timezone.now()),
        "poll_seconds": INTEGRATION_POLL_SECONDS})


@never_cache
@login_required
@require_safe
def genesys_tile(request: HtmxHttpRequest) -> HttpResponse:
    if settings.GENESYS is None:
        raise Http404("Genesys is not configured")
    return render(request, "dashboard/_genesys_tile.html",
                  _genesys_context(settings.GENESYS, timezone.now()))


def _content_length(request: HttpRequest) -> int:
    """What the request says its body's size is (0 when it does not say, or says nonsense)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


@csrf_exempt  # Genesys Cloud posts here; the signature made with the integration's secret is
@require_POST  # the authentication (dashboard.genesys.receive), not a session.
def genesys_webhook(request: HttpRequest) -> HttpResponse:
    """The Open Messaging integration's outbound notification webhook."""
    if settings.GENESYS is None:
        raise Http404("Genesys is not configured")
    if _content_length(request) > GENESYS_MAX_BODY:
        return HttpResponse("too large", status=413, content_type="text/plain")
    try:
        body = request.body
    except RequestDataTooBig:
        return HttpResponse("too large", status=413, content_type="text/plain")
    received = genesys.receive(settings.GENESYS, body,
                               request.headers.get(GENESYS_SIGNATURE_HEADER), now=timezone.now())
    if received.status != 200:
        log.warning("Genesys webhook delivery refused (%s): %s", received.status, received.reason)
    return HttpResponse(received.reason or "ok", status=received.status,
                        content_type="text/plain")




# ------------------------------------------------------------- CCAI Platform, as its Custom CRM
# The Generic API endpoints CCAI Platform calls (dashboard.ccai_crm): no session and no CSRF
# token (a server calls them), authenticated as CCAI_CRM_AUTH says; the answer's object at the
# response data location; errors as {"error": ...} with the status CCAI should see (400 only
# for what may work on a retry: integrations/ccai/errors.py).
CcaiView = Callable[..., Any]


def _ccai_api(view: CcaiView) -> Callable[..., HttpResponse]:
    @wraps(view)
    def endpoint(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        config = settings.CCAI_CRM
        if config is None:
            raise Http404("The CCAI Custom CRM endpoints are off")
        try:
            check_ccai_auth(config, request.headers, ccai_oauth.bearer_valid)
            status, found = view(request, config, **kwargs)
        except CcaiError as exc:
            if exc.status >= 500 or exc.status == 400:
                log.warning("CCAI %s %s: %s", request.method, request.path, exc.message)
            return JsonResponse({"error": exc.message}, status=exc.status)
        return JsonResponse(place_ccai(found, config.response_location), status=status,
                            safe=False)

    return csrf_exempt(endpoint)


def _ccai_params(request: HttpRequest, known: frozenset[str]) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.GET.items())
    try:
        body = request.body
    except RequestDataTooBig:
        raise CcaiTooLarge("the request is too large") from None
    return read_ccai_body(body, known=known)


@_ccai_api
def ccai_accounts(request: HttpRequest, config: Any) -> tuple[int, Any]:
    if request.method == "GET":
        return 200, ccai_crm.find_account(_ccai_params(request, ccai_crm.ACCOUNT_FIELDS))
    if request.method == "POST":
        return 201, ccai_crm.create_account(_ccai_params(request, ccai_crm.ACCOUNT_FIELDS))
    raise CcaiError("GET (find) or POST (create)", status=405)


@_ccai_api
def ccai_account(request: HttpRequest, config: Any, account_id: int) -> tuple[int, Any]:
    if request.method != "GET":
        raise CcaiError("GET only", status=405)
    return 200, ccai_crm.get_account(account_id)


@_ccai_api
def ccai_records(request: HttpRequest, config: Any) -> tuple[int, Any]:
    if request.method == "GET":
        return 200, ccai_crm.find_record(_ccai_params(request, ccai_crm.RECORD_FIELDS))
    if request.method == "POST":
        return 201, ccai_crm.create_record(_ccai_params(request, ccai_crm.RECORD_FIELDS))
    raise CcaiError("GET (find) or POST (create)", status=405)


@_ccai_api
def ccai_record(request: HttpRequest, config: Any, record_id: int) -> tuple[int, Any]:
    if request.method in ("PUT", "PATCH", "POST"):
        return 200, ccai_crm.update_record(
            record_id, _ccai_params(request, ccai_crm.RECORD_FIELDS))
    if request.method == "GET":
        return 200, ccai_crm.record_json(ccai_crm.get_record(record_id))
    raise CcaiError("GET, or PUT/PATCH to update", status=405)


@_ccai_api
def ccai_comments(request: HttpRequest, config: Any, record_id: int) -> tuple[int, Any]:
    if request.method not in ("POST", "PUT", "PATCH"):
        raise CcaiError("POST, PUT or PATCH", status=405)
    return 201, ccai_crm.add_comment(record_id, _ccai_params(request, frozenset({"comment",
                                                                                  "id"})))


@_ccai_api
def ccai_attachments(request: HttpRequest, config: Any, record_id: int) -> tuple[int, Any]:
    if request.method not in ("POST", "PUT", "PATCH"):
        raise CcaiError("POST, PUT or PATCH", status=405)
    limit = config.max_upload
    # The file in base64, with room for the JSON or form around it.
    body_limit = limit * 4 // 3 + 64 * 1024
    if _content_length(request) > body_limit:
        raise CcaiTooLarge(f"the upload is over {limit // (1024 * 1024)} MiB")
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise CcaiInvalid("the form has no file")
        if upload.size is None or upload.size > limit:
            raise CcaiTooLarge(f"the file is over {limit // (1024 * 1024)} MiB")
        data = ccai_crm.Upload(upload.name or "attachment",
                               upload.content_type or "application/octet-stream", upload.read())
    else:
        # The Base64 form can be larger than Django's body limit for forms: read it here.
        raw = request.read(body_limit + 1)
        data = ccai_crm.upload_from_json(read_ccai_body(raw, known=frozenset({"file", "id",
                                                                                "name"})),
                                         limit)

    def url_of(record: int, attachment: int) -> str:
        return request.build_absolute_uri(f"/crm/ccai/api/records/{record}/attachments/"
                                          f"{attachment}")

    return 201, ccai_crm.add_attachment(record_id, data, url_of=url_of)


@require_safe
def ccai_attachment(request: HttpRequest, record_id: int, attachment_id: int) -> HttpResponse:
    """The attachment builder URL: for CCAI (its API authentication) and for agents and
    supervisors signed in to the dashboard who may see CRM records."""
    config = settings.CCAI_CRM
    if config is None:
        raise Http404("The CCAI Custom CRM endpoints are off")
    if not request.user.has_perm("dashboard.view_crmattachment"):
        try:
            check_ccai_auth(config, request.headers, ccai_oauth.bearer_valid)
        except CcaiError:
            if request.user.is_authenticated:
                raise Http404("No such attachment") from None
            return redirect_to_login(request.get_full_path())
    found = CrmAttachment.objects.filter(pk=attachment_id, record_id=record_id).first()
    if found is None:
        raise Http404("No such attachment")
    response = HttpResponse(bytes(found.data), content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(True, found.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# The pages CCAI's lookup URLs open, and the CCAI session drill-down.
@login_required
@require_safe
@permission_required("dashboard.view_crmaccount", raise_exception=True)
def ccai_lookup(request: HttpRequest) -> HttpResponse:
    """The custom lookup URL: {ANI}, {CUID}, {EMAIL} (and the menu, channel and type, shown)
    as query parameters; CCAI leaves out empty ones."""
    given = {name: request.GET.get(query, "")[:200]
             for name, query in CCAI_LOOKUP_QUERY.items()}
    accounts = ccai_crm.find_accounts({"phone": given["ANI"], "email": given["EMAIL"],
                                       "custom_user_id": given["CUID"]})
    if len(accounts) == 1:
        return redirect(f"/crm/ccai/accounts/{accounts[0].pk}/")
    return render(request, "dashboard/ccai_lookup.html", {
        "given": {k: v for k, v in given.items() if v}, "accounts": accounts[:50]})


@login_required
@require_safe
@permission_required("dashboard.view_crmaccount", raise_exception=True)
def ccai_account_page(request: HttpRequest, account_id: int) -> HttpResponse:
    account = CrmAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise Http404("No such account")
    return render(request, "dashboard/ccai_account.html", {
        "account": account,
        "records": account.records.prefetch_related("comments", "attachments")[:50],
        "sessions": ccai_crm.sessions_for(account)})


@login_required
@require_safe
def ccai_record_page(request: HttpRequest, record_id: int) -> HttpResponse:
    record = CrmRecord.objects.filter(pk=record_id).first()
    if record is None or not request.user.has_perm("dashboard.view_crmrecord"):
        raise Http404("No such record")
    return redirect(f"/crm/ccai/accounts/{record.account_id}/#record-{record.pk}")


@login_required
@require_safe
@permission_required("dashboard.view_ccaisession", raise_exception=True)
def ccai_session_page(request: HttpRequest, kind: str, session_id: int) -> HttpResponse:
    found = ccai_sessions.get(kind, session_id)
    if found is None:
        raise Http404("No such CCAI session")
    return render(request, "dashboard/ccai_session.html", {
        "s": found, "raw_text": json.dumps(found.raw, indent=2, ensure_ascii=False)})


# CCAI's OAuth 2.0 authentication: the authorization URL (an administrator approves) and the
# token URL (CCAI's server trades the code, later the refresh token).
@login_required
def ccai_oauth_authorize(request: HttpRequest) -> HttpResponse:
    config = settings.CCAI_CRM
    if config is None:
        raise Http404("The CCAI Custom CRM endpoints are off")
    if not request.user.has_perm("dashboard.change_crmaccount"):
        raise PermissionDenied
    params = request.GET if request.method == "GET" else request.POST
    try:
        redirect_uri = ccai_oauth.check_request(config, params,
                                                settings.CCAI_CRM_OAUTH_REDIRECT_URIS)
    except CcaiError as exc:
        # Never redirect an unchecked request anywhere: say why here.
        return render(request, "dashboard/ccai_oauth.html", {"problem": exc.message},
                      status=400)
    state = params.get("state", "")
    if request.method == "POST":
        if request.POST.get("decision") != "approve":
            return redirect(_with_query(redirect_uri, error="access_denied", state=state))
        code = ccai_oauth.approve(redirect_uri, request.user)
        log.info("CCAI OAuth access approved by %s", request.user.get_username())
        return redirect(_with_query(redirect_uri, code=code, state=state))
    return render(request, "dashboard/ccai_oauth.html", {
        "redirect_uri": redirect_uri, "fields": {k: v for k, v in params.items()
                                                 if k in ("response_type", "client_id",
                                                          "redirect_uri", "state", "scope",
                                                          "access_type")}})


def _with_query(url: str, **values: str) -> str:
    joiner = "&" if "?" in url else "?"
    return url + joiner + urlencode({k: v for k, v in values.items() if v})


@csrf_exempt  # CCAI's server calls it, authenticated by the client id and secret
@require_POST
def ccai_oauth_token(request: HttpRequest) -> HttpResponse:
    config = settings.CCAI_CRM
    if config is None:
        raise Http404("The CCAI Custom CRM endpoints are off")
    client = (request.POST.get("client_id", ""), request.POST.get("client_secret", ""))
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user, secret = "", ""
        client = (unquote(user), unquote(secret))
    try:
        answer = ccai_oauth.exchange(config, request.POST, client)
    except ccai_oauth.OAuthError as exc:
        return JsonResponse({"error": exc.code, "error_description": exc.message},
                            status=exc.status)
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response

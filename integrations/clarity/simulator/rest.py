"""The simulator's REST API: every method of the vendor document under `/webapi/api`.

Routes (relative to `/webapi/api`; `{id}` parameters are numeric; "G|P" = GET or POST):

    GET    /info                                            Base Info
    GET    /v2/profile                                      Base Profile
    GET    /v2/profile/mbu                                  Get MBU Structure
    GET    /v2/profile/dashboardsettings                    Get Dashboard Settings
    POST   /v2/profile/unregister?sip=&gruu=&sids=1,2       Unregister                 200, no body
    GET    /v2/sessions?agentId=&activeOnly=true            Sessions by Agent
    GET    /v2/sessions/{sessionId}?include...=true         Session by ID
    GET    /v2/sessions/{sessionId}/transcript              Get IM Transcript History
    GET    /v2/sessions/{sessionId}/gruu                    Get GRUU for Session       a JSON string
    GET    /v2/sessions/customerHistory/{sessionId}         Customer History by Session ID
    G|P    /v2/sessions/{sessionId}/setextraitems           Update Session Extra Items 204
    G|P    /v2/sessions/{sessionId}/setcallnotes            Save Call Notes            204
    G|P    /v2/sessions/{sessionId}/setdispositions         Save Dispositions          204
    POST   /v2/sessions/callcontrol/startRecordingSessions/{agentId}
    POST   /v2/sessions/callcontrol/stopRecordingSessions/{agentId}
    GET    /v2/agentStatus/{agentId}?currentOnly=true       Agent Status by Agent
    POST   /v2/agentStatus/update/{agentId}                 Update Agent Status        204
    GET    /v2/agentStatus/list/{agentId}                   List Agent Statuses by Agent
    G|P    /v2/metrics/agents/{id}[/metrics|/sessions|/status]          Agent By Id
    G|P    /v2/metrics/agents[/metrics|/sessions|/status]?agentIds=     Multiple Agents by ID
    G|P    /v2/metrics/agents/aggregateBy?agentIds=|teamIds=|groupIds=|businessUnitIds=
    G|P    /v2/metrics/agents/groupBy?teamIds=|groupIds=|businessUnitIds=
    G|P    /v2/metrics/queues/...                           the same four with queueIds
                                                            (suffixes /metrics and /sessions)
    GET    /v2/metrics/specificserver                       a JSON string
    GET    /v2/resources/dashboard/localization/{locale}
    POST   /v2/subscriptions/agents[/aggregateBy|/groupBy]  200 {"subscriptionId"}
    POST   /v2/subscriptions/queues[/aggregateBy|/groupBy]  200 {"subscriptionId"}
    POST   /v2/subscriptions/alerts                         200 {"subscriptionId"}
    POST   /v2/subscriptions/{subscriptionId}               Update Subscription        204
    DELETE /v2/subscriptions/{subscriptionId}               Delete Subscription        204
    POST   /v2                                              Batch
    POST   /v2/clientlogs                                   Write Log from Client      200, no body
    GET    /v2/search/{query}                               Search

Routing is ASP.NET's, not aiohttp's: one aiohttp route takes the whole root and `ROUTES` below
dispatches. Matching ignores case (the seed writes `agentStatus` and `agentstatus`), the root
included, and a trailing slash is optional. Literal segments win over parameters:
`/v2/metrics/agents/metrics` is Multiple Agents' metrics-only variant; `POST
/v2/subscriptions/agents` subscribes while `DELETE /v2/subscriptions/agents` deletes the
subscription with id "agents" (404), as attribute routing also picks by verb. Numeric ids are
route constraints: `/v2/agentStatus/abc` is 404. An unknown path is 404, a known path with
another verb 405 with `Allow`, both with ASP.NET Web API's `{"message": ...}` bodies.

server.py's middleware authenticates every request under the root first (`request[AGENT_KEY]` is
the caller) and turns `params.BadRequest` into 400, `params.Unauthorized` into 401 (no
challenge), `model.ModelError` into 400, `subscriptions.NotFound` into 404 and anything else
into 500; it also gzips and applies fault rules. Handlers raise those freely; MBU authorization
is checked here, per route. An unknown or not-visible entity is the same 401 (nothing leaks).

Choices where the seed is silent or contradicts itself (each is marked "Seed:" where made):

* Stated routes win over samples (contract page): `/v2/metrics/agents?agentIds=41,37`, not
  `/v2/agents/agentIds=41,37`; `setextraitems`, not the sample's `setextraitem`; the
  localization route under v2 only, not the sample's `/v1.0/...` (no v1.0 route is served,
  although `/info` lists v1.0 as a real server does); `/v2/subscriptions/{id}?agentIds=5,7`,
  not `/v2/subscriptions/abc123/agentId=5,7`.
* Sessions by Agent: `activeOnly` missing means true ("Always true"); false is 400; `agentId`
  missing or not a number is 400.
* Every route keyed by a session id answers 500 for an unknown session, as Session by ID says;
  a session the caller may not see is 401. A known session that has ended is still served.
* Session by ID: `customerHistoryLimit` defaults to 3; like Customer History's `limit`, over 50
  or under 0 means 50, and 0 means none; not a number is 400.
* Transcript: start+end+size and size alone are 400 (seed); `startTimsetamp` (the seed's typo)
  is read too; with start, `size` keeps the first messages from start; with end only, the last
  ones up to end.
* Customer history: the seed's table exactly ((start, end, limit) and (limit) are 400). With
  start and limit, the `limit` earliest records from start; otherwise the most recent `limit`
  (default 50) of the window. Items are listed oldest first, as in the seed's sample. Timestamps
  are the seed's `2016-6-15 5:30:00.15`, a bare date, or ISO 8601; without an offset, UTC.
* Save Call Notes: a body without `note` is 400 like a null body. Save Dispositions:
  `dispositionId` is required; unknown ids or a sub-disposition of another disposition: 400.
  Extra items: named by `extraItemName` (added if new) or by an existing `extraItemId`.
* Recording: 401 when the caller may not see the agent or has no recording permission at all.
  Per session, a primary agent outside the caller's MBU and a session that may not be recorded
  are reported in the items (`requestDenied`, `canBeRecorded`) instead of failing the request,
  since the response object has fields for exactly that (the seed's rules 2 and 3 say 401).
* Update Agent Status: a body without agentStatusId, reasonCodeId and isSuspended is "empty"
  (400); reasonCodeId with isSuspended is 400 like agentStatusId with isSuspended; statuses the
  system owns (InCall, Ringing...) are 400. An agent whose profile says
  `canMarkSelfAsSuspended: false` may not change their own suspension (401).
* Unregister: sessions the caller may not see, unknown or ended ones are skipped silently.
* Batch: at most 50 requests, run in order against this same server over HTTP with the
  caller's Authorization header, each answered `{"code", "body"}` (`body` null when empty).
  A relativeUrl resolving outside `/webapi/api/` gets code 400 and is not sent; a batch inside
  a batch is 400.
* Client logs: `logLevel` defaults to debug; the seed's list of levels was lost, so verbose,
  trace, debug, info(rmation), warn(ing), error, fatal and critical are accepted, others 400.
  Each entry is one log line on `...rest.clientlogs.<component or "other">`; headers (the
  token) are never logged.
* Search: an empty or blank query is 400; only entities the caller may see are searched.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp
from aiohttp import web

from . import render
from .auth import AGENT_KEY
from .localization import dictionary
from .model import Agent, Session
from .params import (
    BadRequest,
    Selection,
    Unauthorized,
    groupings,
    parse_bool,
    parse_ids,
    resolve,
    selection,
    view_from,
)

if TYPE_CHECKING:
    from .server import Simulator

log = logging.getLogger(__name__)
client_log = logging.getLogger(__name__ + ".clientlogs")

API_ROOT = "/webapi/api"
# The Connect version the simulator claims: methods added in 4.0.10 / 4.1.2 are all served.
CONNECT_VERSION = "4.1.2.0"
BATCH_LIMIT = 50
BATCH_TIMEOUT = 30.0
# Set on the requests a batch makes; a batch inside a batch is refused.
BATCH_HEADER = "X-Clarity-Batch"
# Seed: "API can get a maximum amount of 50 customer session history records".
HISTORY_MAX = 50
HISTORY_DEFAULT = 3
PARTS = frozenset({"metrics", "sessions", "status"})
INTERNAL_ERROR = "An error has occurred."

Handler = Callable[..., Awaitable[web.StreamResponse]]


class _Answer(Exception):
    """A response decided deep inside a handler (e.g. the seed's 500 for an unknown session)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _message(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


# --------------------------------------------------------------------------- request helpers
def _query(request: web.Request) -> dict[str, str]:
    """The query string, first value of each name (names stay as sent; lookups ignore case)."""
    out: dict[str, str] = {}
    for key, value in request.query.items():
        out.setdefault(key, value)
    return out


def _param(query: Mapping[str, str], *names: str) -> str | None:
    """A query parameter by any of `names`, case-insensitively; empty counts as absent."""
    wanted = {n.lower() for n in names}
    for key, value in query.items():
        if key.lower() in wanted and value.strip() != "":
            return value
    return None


_ABSENT: Any = object()


async def _body(request: web.Request) -> Any:
    """The JSON body; `_ABSENT` when there is none. Present but not JSON: 400."""
    raw = await request.read()
    if not raw.strip():
        return _ABSENT
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The request body is not valid JSON.") from None


async def _object_body(request: web.Request, *, required: bool) -> dict[str, Any] | None:
    """A JSON object body. Absent or `null`: 400 when required, else None."""
    body = await _body(request)
    if body is _ABSENT or body is None:
        if required:
            raise BadRequest("The request body is required.")
        return None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _field(body: Mapping[str, Any], name: str) -> Any:
    """A body member, case-insensitively (Json.NET binds that way); None when absent."""
    for key, value in body.items():
        if str(key).lower() == name.lower():
            return value
    return None


def _int_field(body: Mapping[str, Any], name: str) -> int | None:
    value = _field(body, name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)  # Json.NET converts "12" to an int member
    raise BadRequest(f"{name} must be an integer")


def _str_field(body: Mapping[str, Any], name: str) -> str | None:
    value = _field(body, name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"  # Json.NET writes booleans that way
    if isinstance(value, str | int | float):
        return str(value)
    raise BadRequest(f"{name} must be a string")


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = _param(query, name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


_SEED_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.:](\d{1,7}))?)?)?")


def parse_timestamp(raw: str, name: str) -> float:
    """A query-string timestamp as epoch seconds (UTC).

    The seed writes `2016-6-15 5:30:00.15` (unpadded, a space, fractions of a second) and also
    `2016-11-15`; ISO 8601 (`2016-06-15T05:30:00.15Z`, offsets too) is accepted as well. A
    timestamp without an offset is UTC, like every timestamp the API writes.
    """
    text = raw.strip()
    m = _SEED_TIMESTAMP.fullmatch(text)
    try:
        if m:
            year, month, day, hour, minute, second, fraction = m.groups()
            micro = int((fraction or "0").ljust(6, "0")[:6])
            dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0), micro, tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("z", "Z"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"{name} is not a valid timestamp: '{raw}'") from None
    return dt.timestamp()


def _timestamp_param(query: Mapping[str, str], *names: str) -> float | None:
    raw = _param(query, *names)
    return None if raw is None else parse_timestamp(raw, names[0])


# --------------------------------------------------------------------------- routing
@dataclass(frozen=True)
class Route:
    name: str
    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: str               # the _Api method's name


def _route(name: str, methods: str, path: str, handler: str) -> Route:
    """`path` is relative to the API root, without slashes at either end. `{x}` is a segment,
    `{x:int}` a numeric one, `{x:...|...}` one of the literal alternatives."""
    def segment(m: re.Match[str]) -> str:
        var, _, kind = m.group(1).partition(":")
        if kind == "int":
            return rf"(?P<{var}>\d+)"
        if kind:
            return rf"(?P<{var}>{kind})"
        return rf"(?P<{var}>[^/]+)"

    regex = re.sub(r"\{([^}]+)\}", segment, path)
    return Route(name, frozenset(methods.split("|")), re.compile(regex, re.IGNORECASE), handler)


PART = "{part:metrics|sessions|status}"
QUEUE_PART = "{part:metrics|sessions}"

# In matching order: literal routes before those with a parameter in the same place.
ROUTES: tuple[Route, ...] = (
    _route("info", "GET", "info", "info"),
    _route("batch", "POST", "v2", "batch"),
    # Profile
    _route("profile", "GET", "v2/profile", "profile"),
    _route("profile.mbu", "GET", "v2/profile/mbu", "mbu"),
    _route("profile.dashboardsettings", "GET", "v2/profile/dashboardsettings",
           "dashboard_settings"),
    _route("profile.unregister", "POST", "v2/profile/unregister", "unregister"),
    # Sessions
    _route("sessions", "GET", "v2/sessions", "sessions_by_agent"),
    _route("sessions.customerHistory", "GET", "v2/sessions/customerHistory/{session_id:int}",
           "customer_history"),
    _route("sessions.startRecording", "POST",
           "v2/sessions/callcontrol/startRecordingSessions/{agent_id:int}", "start_recording"),
    _route("sessions.stopRecording", "POST",
           "v2/sessions/callcontrol/stopRecordingSessions/{agent_id:int}", "stop_recording"),
    _route("sessions.byId", "GET", "v2/sessions/{session_id:int}", "session_by_id"),
    _route("sessions.transcript", "GET", "v2/sessions/{session_id:int}/transcript",
           "transcript"),
    _route("sessions.gruu", "GET", "v2/sessions/{session_id:int}/gruu", "gruu"),
    # Seed: shown as GET with a body; POST is what HTTP clients can reliably send a body with.
    _route("sessions.setExtraItems", "GET|POST", "v2/sessions/{session_id:int}/setextraitems",
           "set_extra_items"),
    _route("sessions.setCallNotes", "GET|POST", "v2/sessions/{session_id:int}/setcallnotes",
           "set_call_notes"),
    _route("sessions.setDispositions", "GET|POST",
           "v2/sessions/{session_id:int}/setdispositions", "set_dispositions"),
    # Agent Status
    _route("agentStatus.update", "POST", "v2/agentStatus/update/{agent_id:int}",
           "update_agent_status"),
    _route("agentStatus.list", "GET", "v2/agentStatus/list/{agent_id:int}", "list_agent_statuses"),
    _route("agentStatus", "GET", "v2/agentStatus/{agent_id:int}", "agent_status"),
    # Agent and queue metrics (queues by symmetry, see the contract page)
    _route("metrics.specificServer", "GET", "v2/metrics/specificserver", "specific_server"),
    _route("metrics.agents.aggregateBy", "GET|POST", "v2/metrics/agents/aggregateBy",
           "agents_aggregate"),
    _route("metrics.agents.groupBy", "GET|POST", "v2/metrics/agents/groupBy", "agents_group"),
    _route("metrics.agents", "GET|POST", "v2/metrics/agents", "agents_many"),
    _route("metrics.agents.part", "GET|POST", f"v2/metrics/agents/{PART}", "agents_many"),
    _route("metrics.agents.byId", "GET|POST", "v2/metrics/agents/{entity_id:int}", "agent_by_id"),
    _route("metrics.agents.byId.part", "GET|POST", f"v2/metrics/agents/{{entity_id:int}}/{PART}",
           "agent_by_id"),
    _route("metrics.queues.aggregateBy", "GET|POST", "v2/metrics/queues/aggregateBy",
           "queues_aggregate"),
    _route("metrics.queues.groupBy", "GET|POST", "v2/metrics/queues/groupBy", "queues_group"),
    _route("metrics.queues", "GET|POST", "v2/metrics/queues", "queues_many"),
    _route("metrics.queues.part", "GET|POST", f"v2/metrics/queues/{QUEUE_PART}", "queues_many"),
    _route("metrics.queues.byId", "GET|POST", "v2/metrics/queues/{entity_id:int}", "queue_by_id"),
    _route("metrics.queues.byId.part", "GET|POST",
           f"v2/metrics/queues/{{entity_id:int}}/{QUEUE_PART}", "queue_by_id"),
    # Resources
    _route("resources.localization", "GET", "v2/resources/dashboard/localization/{locale}",
           "localization"),
    # Subscriptions
    _route("subscriptions.agents", "POST", "v2/subscriptions/agents", "subscribe_agents"),
    _route("subscriptions.agents.aggregateBy", "POST", "v2/subscriptions/agents/aggregateBy",
           "subscribe_agents_aggregate"),
    _route("subscriptions.agents.groupBy", "POST", "v2/subscriptions/agents/groupBy",
           "subscribe_agents_group"),
    _route("subscriptions.queues", "POST", "v2/subscriptions/queues", "subscribe_queues"),
    _route("subscriptions.queues.aggregateBy", "POST", "v2/subscriptions/queues/aggregateBy",
           "subscribe_queues_aggregate"),
    _route("subscriptions.queues.groupBy", "POST", "v2/subscriptions/queues/groupBy",
           "subscribe_queues_group"),
    _route("subscriptions.alerts", "POST", "v2/subscriptions/alerts", "subscribe_alerts"),
    _route("subscriptions.update", "POST", "v2/subscriptions/{subscription_id}",
           "update_subscription"),
    _route("subscriptions.delete", "DELETE", "v2/subscriptions/{subscription_id}",
           "delete_subscription"),
    # Client logs and search
    _route("clientlogs", "POST", "v2/clientlogs", "client_logs"),
    # Seed: "If the query is null or empty, return a 400": `/v2/search/` comes here.
    _route("search.empty", "GET", "v2/search", "search_empty"),
    _route("search", "GET", "v2/search/{query}", "search"),
)


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Register the REST API under `/webapi/api` (any case, with or without a trailing slash)."""
    api = _Api(sim)
    app.router.add_route("*", r"/{root:(?i:webapi/api)}{tail:(/.*)?}", api.dispatch,
                         name="clarity-rest")


# --------------------------------------------------------------------------- the handlers
class _Api:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def cc(self) -> Any:
        return self.sim.cc

    # ---------------------------------------------------------------- dispatch
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = request.rel_url.raw_path
        if raw[: len(API_ROOT)].lower() == API_ROOT:
            tail = raw[len(API_ROOT):]
        else:  # the root itself was percent-encoded; fall back to the decoded path
            tail = request.match_info.get("tail", "")
        tail = tail.strip("/")
        allowed: set[str] = set()
        for route in ROUTES:
            m = route.pattern.fullmatch(tail)
            if m is None:
                continue
            if request.method not in route.methods:
                allowed |= route.methods
                continue
            kwargs = {k: unquote(v) for k, v in m.groupdict().items()}
            try:
                return await getattr(self, route.handler)(request, **kwargs)
            except _Answer as answer:
                return answer.response
        if allowed:
            response = _message(405, f"The requested resource does not support http method "
                                     f"'{request.method}'.")
            response.headers["Allow"] = ", ".join(sorted(allowed))
            return response
        return _message(404, f"No HTTP resource was found that matches the request URI "
                             f"'{request.url}'.")

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def viewer(request: web.Request) -> Agent:
        return request[AGENT_KEY]

    def visible_agent(self, viewer: Agent, agent_id: int) -> Agent:
        """The agent, if the caller may see it; otherwise 401 (unknown ids too: no leaking)."""
        agent = self.cc.agents.get(agent_id)
        if agent is None or agent_id not in self.cc.visible_agent_ids(viewer):
            raise Unauthorized(f"agent {agent_id} is not accessible")
        return agent

    def visible_session(self, viewer: Agent, session_id: int) -> Session:
        """Seed (Session by ID): no session with that id answers 500; MBU answers 401. Every
        route keyed by a session id behaves the same way."""
        session = self.cc.sessions.get(session_id)
        if session is None:
            raise _Answer(_message(500, INTERNAL_ERROR))
        if not self.cc.can_see_session(viewer, session):
            raise Unauthorized(f"session {session_id} is not accessible")
        return session

    # ---------------------------------------------------------------- info & profile
    async def info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "connectVersion": CONNECT_VERSION,
            "apiVersions": [{"version": "1.0", "relativeUrl": "/v1.0"},
                            {"version": "2", "relativeUrl": "/v2"}],
            # The simulator's hub speaks WebSockets only (see signalr.py).
            "signalRTransports": ["webSockets"],
        })

    async def profile(self, request: web.Request) -> web.Response:
        return web.json_response(render.profile(self.cc, self.viewer(request)))

    async def mbu(self, request: web.Request) -> web.Response:
        return web.json_response(render.mbu(self.cc, self.viewer(request)))

    async def dashboard_settings(self, request: web.Request) -> web.Response:
        return web.json_response(dashboard_settings(self.cc, self.viewer(request)))

    async def unregister(self, request: web.Request) -> web.Response:
        """Seed: 200 with no body. Sessions the caller may not see, unknown ones and ended ones
        are skipped silently (the seed names no failure but 500); `sip` and `gruu` have nothing
        to clean up in the simulator and are only logged."""
        viewer = self.viewer(request)
        query = _query(request)
        session_ids = parse_ids(query, "sids")
        mine = [sid for sid in session_ids
                if sid in self.cc.sessions
                and self.cc.can_see_session(viewer, self.cc.sessions[sid])]
        log.info("unregister by agent %s: sip=%r gruu=%r, ending sessions %s", viewer.id,
                 _param(query, "sip"), _param(query, "gruu"), mine)
        self.cc.end_sessions(mine)
        return web.Response(status=200)

    # ---------------------------------------------------------------- sessions
    async def sessions_by_agent(self, request: web.Request) -> web.Response:
        viewer = self.viewer(request)
        query = _query(request)
        # Seed: "activeOnly - only include active sessions. Always true." Missing is true;
        # false is the seed's 400.
        if not parse_bool(query, "activeOnly", default=True):
            raise BadRequest("The query string parameter activeOnly must be true.")
        agent_id = _int_param(query, "agentId")
        if agent_id is None:
            raise BadRequest("The query string parameter agentId is required.")
        agent = self.visible_agent(viewer, agent_id)
        sessions = [self.cc.sessions[sid] for sid in agent.session_ids
                    if sid in self.cc.sessions and not self.cc.sessions[sid].has_ended]
        items = [render.model_session(self.cc, s) for s in sessions]
        return web.json_response({"items": items, "count": len(items)})

    async def session_by_id(self, request: web.Request, session_id: str) -> web.Response:
        viewer = self.viewer(request)
        session = self.visible_session(viewer, int(session_id))
        query = _query(request)
        flags = {name: parse_bool(query, name) for name in (
            "includeCustomerHistory", "includeImPrompts", "includeIvrData",
            "includeDispositions", "includeCurrentTranscript", "includeExtraItems",
            "includeSessionEventHistory", "includeAftercallOptions",
            "includeHoldTimerThreshold")}
        # Seed: three records by default, at most 50; ignored without includeCustomerHistory.
        # Out of range follows Customer History by Session Id: over 50 or under 0 gives 50;
        # 0 gives none.
        limit = _history_limit(query, "customerHistoryLimit", HISTORY_DEFAULT) \
            if flags["includeCustomerHistory"] else HISTORY_DEFAULT
        return web.json_response(render.session_by_id(self.cc, session, flags, limit))

    async def transcript(self, request: web.Request, session_id: str) -> web.Response:
        viewer = self.viewer(request)
        session = self.visible_session(viewer, int(session_id))
        query = _query(request)
        # The seed spells it startTimsetamp once; both spellings are read.
        start = _timestamp_param(query, "startTimestamp", "startTimsetamp")
        end = _timestamp_param(query, "endTimestamp")
        size = _int_param(query, "size")
        if start is not None and end is not None and size is not None:
            raise BadRequest("startTimestamp, endTimestamp and size cannot all be given.")
        if size is not None and start is None and end is None:
            raise BadRequest("size needs startTimestamp or endTimestamp.")
        if size is not None and size < 0:
            raise BadRequest("size must not be negative.")
        items = [item for message, item in zip(session.transcript,
                                               render.transcript_items(session), strict=True)
                 if (start is None or message["time"] >= start)
                 and (end is None or message["time"] <= end)]
        if size is not None:
            # From the boundary given: the first `size` from start, the last `size` up to end.
            if start is not None:
                items = items[:size]
            else:
                items = items[len(items) - size:] if size < len(items) else items
        return web.json_response({"items": items, "count": len(items)})

    async def gruu(self, request: web.Request, session_id: str) -> web.Response:
        session = self.visible_session(self.viewer(request), int(session_id))
        return web.json_response(session.gruu)

    async def customer_history(self, request: web.Request, session_id: str) -> web.Response:
        viewer = self.viewer(request)
        session = self.visible_session(viewer, int(session_id))
        query = _query(request)
        has_start = _param(query, "start") is not None
        has_end = _param(query, "end") is not None
        has_limit = _param(query, "limit") is not None
        # Seed: the combination table; (start, end, limit) and (limit) alone are "Not supported".
        if has_limit and (has_start == has_end):
            raise BadRequest("Not supported: limit needs exactly one of start or end.")
        start = _timestamp_param(query, "start")
        end = _timestamp_param(query, "end")
        limit = _history_limit(query, "limit", HISTORY_MAX)
        newest_first = render.customer_history(self.cc, session, start, end)
        if limit == 0:
            chosen: list[dict[str, Any]] = []
        elif has_limit and has_start:
            # "first N records from start until now": the N earliest after start.
            chosen = newest_first[-limit:][::-1]
        else:
            # Otherwise the most recent N of the window (the N latest before end, with end).
            chosen = newest_first[:limit][::-1]
        # Listed oldest first, as in the seed's sample response.
        return web.json_response({"items": chosen, "count": len(chosen)})

    async def set_extra_items(self, request: web.Request, session_id: str) -> web.Response:
        session = self.visible_session(self.viewer(request), int(session_id))
        body = await _object_body(request, required=True)
        assert body is not None  # noqa: S101 - required=True
        item_id = _int_field(body, "extraItemId")
        name = _str_field(body, "extraItemName")
        value = _str_field(body, "extraItemValue")
        # Seed: null body, or no id and no name, or a null value: 400.
        if item_id is None and name is None:
            raise BadRequest("extraItemId or extraItemName is required.")
        if value is None:
            raise BadRequest("extraItemValue is required.")
        self.cc.set_extra_item(session, item_id, name, value)
        return web.Response(status=204)

    async def set_call_notes(self, request: web.Request, session_id: str) -> web.Response:
        session = self.visible_session(self.viewer(request), int(session_id))
        body = await _object_body(request, required=True)
        assert body is not None  # noqa: S101 - required=True
        note = _field(body, "note")
        # Seed: only a null body is named; a body without a note has nothing to save either.
        if note is None:
            raise BadRequest("note is required.")
        if not isinstance(note, str):
            raise BadRequest("note must be a string.")
        self.cc.set_call_note(session, note)
        return web.Response(status=204)

    async def set_dispositions(self, request: web.Request, session_id: str) -> web.Response:
        session = self.visible_session(self.viewer(request), int(session_id))
        body = await _object_body(request, required=True)
        assert body is not None  # noqa: S101 - required=True
        disposition_id = _int_field(body, "dispositionId")
        if disposition_id is None:
            raise BadRequest("dispositionId is required.")
        # Unknown ids, or a sub-disposition of another disposition: ModelError, 400.
        self.cc.set_disposition(session, disposition_id, _int_field(body, "subDispositionId"))
        return web.Response(status=204)

    async def start_recording(self, request: web.Request, agent_id: str) -> web.Response:
        return self._recording(request, int(agent_id), start=True)

    async def stop_recording(self, request: web.Request, agent_id: str) -> web.Response:
        return self._recording(request, int(agent_id), start=False)

    def _recording(self, request: web.Request, agent_id: int, *, start: bool) -> web.Response:
        """Seed, Additional Authorization: 401 when the caller may not see the agent, and when
        the caller may not record (no recording permission at all). Per session, a primary
        agent outside the caller's scope and a session whose recording is prohibited are
        reported in the items (`requestDenied`, `canBeRecorded`) rather than failing the whole
        request: the response object has fields for exactly that."""
        viewer = self.viewer(request)
        self.visible_agent(viewer, agent_id)
        if not viewer.can_record:
            raise Unauthorized(f"agent {viewer.id} is not authorized to record sessions")
        items = self.cc.recording(viewer, agent_id, start)
        return web.json_response({"items": items, "count": len(items)})

    # ---------------------------------------------------------------- agent status
    async def agent_status(self, request: web.Request, agent_id: str) -> web.Response:
        viewer = self.viewer(request)
        if not parse_bool(_query(request), "currentOnly", default=True):
            raise BadRequest("The request must have query string parameter currentOnly=true.")
        agent = self.visible_agent(viewer, int(agent_id))
        return web.json_response({"type": "agent", "id": agent.id, "name": agent.public_name,
                                  "currentStatus": render.agent_status(agent)})

    async def update_agent_status(self, request: web.Request, agent_id: str) -> web.Response:
        viewer = self.viewer(request)
        agent = self.visible_agent(viewer, int(agent_id))
        body = await _object_body(request, required=True)
        assert body is not None  # noqa: S101 - required=True
        status_id = _int_field(body, "agentStatusId")
        reason_code_id = _int_field(body, "reasonCodeId")
        suspended = _field(body, "isSuspended")
        if suspended is not None and not isinstance(suspended, bool):
            raise BadRequest("isSuspended must be true or false.")
        # Seed, Failed Responses 2-4.
        if status_id is None and reason_code_id is None and suspended is None:
            raise BadRequest("The request body is empty: give agentStatusId (and reasonCodeId) "
                             "or isSuspended.")
        if status_id is not None and suspended is not None:
            raise BadRequest("The request body cannot contain both agentStatusId and "
                             "isSuspended.")
        if reason_code_id is not None and status_id is not None and status_id != 3:
            raise BadRequest("reasonCodeId is only valid with agentStatusId 3 (Unavailable).")
        if reason_code_id is not None and suspended is not None:
            raise BadRequest("The request body cannot contain both reasonCodeId and "
                             "isSuspended.")
        # The profile's canMarkSelfAsSuspended: an agent without it may not change their own
        # suspension (a supervisor's suspension must not be lifted by the agent).
        if (suspended is not None and agent.id == viewer.id
                and not render.profile(self.cc, viewer)["canMarkSelfAsSuspended"]):
            raise Unauthorized(f"agent {viewer.id} may not change their own suspension")
        self.cc.update_status(agent.id, status_id, reason_code_id, suspended)
        return web.Response(status=204)

    async def list_agent_statuses(self, request: web.Request, agent_id: str) -> web.Response:
        agent = self.visible_agent(self.viewer(request), int(agent_id))
        return web.json_response(render.status_choices(agent))

    # ---------------------------------------------------------------- metrics
    async def _metrics_body(self, request: web.Request) -> dict[str, Any] | None:
        """POST bodies filter properties; a GET's body is ignored."""
        if request.method != "POST":
            return None
        return await _object_body(request, required=False)

    async def _by_id(self, request: web.Request, entity: str, entity_id: str,
                     part: str | None) -> web.Response:
        viewer = self.viewer(request)
        body = await self._metrics_body(request)
        parts = frozenset({part.lower()}) if part else PARTS
        view = view_from(_query(request), body, parts)
        (eid,) = resolve(self.cc, viewer, Selection(entity, (int(entity_id),), (), (), ()))
        if entity == "agent":
            return web.json_response(render.realtime_agent(self.cc, self.cc.agents[eid], view))
        return web.json_response(render.realtime_queue(self.cc, self.cc.queues[eid], view))

    async def _many(self, request: web.Request, entity: str, part: str | None) -> web.Response:
        viewer = self.viewer(request)
        query = _query(request)
        body = await self._metrics_body(request)
        parts = frozenset({part.lower()}) if part else PARTS
        view = view_from(query, body, parts)
        ids = resolve(self.cc, viewer, selection(query, entity))
        if entity == "agent":
            items = [render.realtime_agent(self.cc, self.cc.agents[i], view) for i in ids]
        else:
            items = [render.realtime_queue(self.cc, self.cc.queues[i], view) for i in ids]
        return web.json_response(items)

    async def _aggregate(self, request: web.Request, entity: str) -> web.Response:
        viewer = self.viewer(request)
        query = _query(request)
        view = view_from(query, await self._metrics_body(request))
        ids = resolve(self.cc, viewer, selection(query, entity))
        return web.json_response(render.aggregate(self.cc, entity, ids, view))

    async def _group(self, request: web.Request, entity: str) -> web.Response:
        viewer = self.viewer(request)
        query = _query(request)
        view = view_from(query, await self._metrics_body(request))
        group_type, groups = groupings(self.cc, viewer, selection(query, entity))
        return web.json_response([render.group_item(self.cc, entity, group_type, gid, ids, view)
                                  for gid, ids in groups])

    async def agent_by_id(self, request: web.Request, entity_id: str,
                          part: str | None = None) -> web.Response:
        return await self._by_id(request, "agent", entity_id, part)

    async def agents_many(self, request: web.Request, part: str | None = None) -> web.Response:
        return await self._many(request, "agent", part)

    async def agents_aggregate(self, request: web.Request) -> web.Response:
        return await self._aggregate(request, "agent")

    async def agents_group(self, request: web.Request) -> web.Response:
        return await self._group(request, "agent")

    async def queue_by_id(self, request: web.Request, entity_id: str,
                          part: str | None = None) -> web.Response:
        return await self._by_id(request, "queue", entity_id, part)

    async def queues_many(self, request: web.Request, part: str | None = None) -> web.Response:
        return await self._many(request, "queue", part)

    async def queues_aggregate(self, request: web.Request) -> web.Response:
        return await self._aggregate(request, "queue")

    async def queues_group(self, request: web.Request) -> web.Response:
        return await self._group(request, "queue")

    async def specific_server(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.base_url + "/webapi")

    # ---------------------------------------------------------------- resources
    async def localization(self, request: web.Request, locale: str) -> web.Response:
        strings = dictionary(locale)
        if strings is None:
            return _message(404, f"No localization strings were found for locale '{locale}'.")
        return web.json_response(strings)

    # ---------------------------------------------------------------- subscriptions
    async def _subscribe(self, request: web.Request, kind: str) -> web.Response:
        body = await _object_body(request, required=False)
        subscription_id = await self.sim.subscriptions.create(
            kind, self.viewer(request), _query(request), body)
        return web.json_response({"subscriptionId": subscription_id})

    async def subscribe_agents(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, "agents")

    async def subscribe_agents_aggregate(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, "agentsAggregate")

    async def subscribe_agents_group(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, "agentsGroup")

    async def subscribe_queues(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, "queues")

    async def subscribe_queues_aggregate(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, "queuesAggregate")

    async def subscribe_queues_group(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, "queuesGroup")

    async def subscribe_alerts(self, request: web.Request) -> web.Response:
        return await self._subscribe(request, "alerts")

    async def update_subscription(self, request: web.Request,
                                  subscription_id: str) -> web.Response:
        body = await _object_body(request, required=False)
        await self.sim.subscriptions.update(subscription_id, self.viewer(request),
                                            _query(request), body)
        return web.Response(status=204)

    async def delete_subscription(self, request: web.Request,
                                  subscription_id: str) -> web.Response:
        await _body(request)  # the seed's sample sends a connectionId; it must still be JSON
        await self.sim.subscriptions.delete(subscription_id, self.viewer(request))
        return web.Response(status=204)

    # ---------------------------------------------------------------- batch
    async def batch(self, request: web.Request) -> web.Response:
        """Seed, Batch Request: each element is run, in order, as a request of its own to this
        server with the caller's Authorization header; the answer lists `{code, body}`.

        An element whose relativeUrl leaves `/webapi/api/` gets code 400 (nothing is sent);
        an element the server cannot be reached for gets 500. Nested batches are refused."""
        if request.headers.get(BATCH_HEADER):
            raise BadRequest("A batch request cannot contain another batch request.")
        body = await _body(request)
        if body is _ABSENT or not isinstance(body, list):
            raise BadRequest("The request body must be a JSON array of requests.")
        if len(body) > BATCH_LIMIT:
            raise BadRequest(f"A batch can hold at most {BATCH_LIMIT} requests.")
        calls = []
        for index, element in enumerate(body):
            if not isinstance(element, dict):
                raise BadRequest(f"Batch element {index} must be a JSON object.")
            method = _field(element, "method")
            relative = _field(element, "relativeUrl")
            if not isinstance(method, str) or not re.fullmatch(r"[A-Za-z]+", method):
                raise BadRequest(f"Batch element {index} needs a method.")
            if not isinstance(relative, str) or not relative.strip():
                raise BadRequest(f"Batch element {index} needs a relativeUrl.")
            calls.append((method.upper(), relative.strip(), _field(element, "body")))

        headers = {"Accept": "application/json", BATCH_HEADER: "1"}
        if "Authorization" in request.headers:
            headers["Authorization"] = request.headers["Authorization"]
        results = []
        timeout = aiohttp.ClientTimeout(total=BATCH_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            for method, relative, payload in calls:
                results.append(await self._batch_one(client, headers, method, relative, payload))
        return web.json_response(results)

    async def _batch_one(self, client: aiohttp.ClientSession, headers: dict[str, str],
                         method: str, relative: str, payload: Any) -> dict[str, Any]:
        target = urljoin(API_ROOT + "/v2/", relative)
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path.lower().startswith(API_ROOT + "/"):
            return {"code": 400, "body": {"message": f"The relativeUrl '{relative}' is not "
                                                     f"under {API_ROOT}/."}}
        url = _loopback(self.sim.base_url) + target
        kwargs: dict[str, Any] = {"headers": headers}
        if payload is not None:
            kwargs["json"] = payload
        try:
            async with client.request(method, url, **kwargs) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("batch element %s %s failed: %s", method, parts.path, exc)
            return {"code": 500, "body": {"message": INTERNAL_ERROR}}
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return {"code": status, "body": parsed}

    # ---------------------------------------------------------------- client logs & search
    async def client_logs(self, request: web.Request) -> web.Response:
        viewer = self.viewer(request)
        body = await _object_body(request, required=True)
        assert body is not None  # noqa: S101 - required=True
        message = _field(body, "message")
        if not isinstance(message, str) or not message.strip():
            raise BadRequest("message is required and cannot be empty.")
        level_name = _field(body, "logLevel")
        if level_name is None or level_name == "":
            level_name = "debug"   # Seed: "If not specified debug will be used."
        if not isinstance(level_name, str) or level_name.lower() not in LOG_LEVELS:
            raise BadRequest(f"logLevel must be one of {', '.join(LOG_LEVELS)}.")
        component = _field(body, "component")
        if component is not None and not isinstance(component, str):
            raise BadRequest("component must be a string.")
        session_id = _int_field(body, "sessionId")
        # Seed: an empty component goes to the "other" log.
        name = re.sub(r"[^A-Za-z0-9_-]", "_", component.strip()) if component else ""
        logger = client_log.getChild(name or "other")
        # One line per entry whatever the client sent (no forged log lines); never a header.
        text = message.replace("\r", "\\r").replace("\n", "\\n")
        logger.log(LOG_LEVELS[level_name.lower()], "agent %s session %s: %s", viewer.id,
                   session_id if session_id is not None else "-", text)
        return web.Response(status=200)

    async def search_empty(self, request: web.Request) -> web.Response:
        raise BadRequest("The search query cannot be empty.")

    async def search(self, request: web.Request, query: str) -> web.Response:
        if not query.strip():
            raise BadRequest("The search query cannot be empty.")
        return web.json_response(render.search(self.cc, self.viewer(request), query.strip()))


# The seed's list of levels was lost from the document; these are the usual names.
LOG_LEVELS: dict[str, int] = {
    "verbose": logging.DEBUG, "trace": logging.DEBUG, "debug": logging.DEBUG,
    "info": logging.INFO, "information": logging.INFO, "warn": logging.WARNING,
    "warning": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL,
    "critical": logging.CRITICAL,
}


def _loopback(base_url: str) -> str:
    """The server's own address for requests it makes to itself (a wildcard bind address
    such as 0.0.0.0 is not one to connect to everywhere)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - recognising the bind-all address
        loop = "127.0.0.1" if host != "::" else "[::1]"
        return f"{parts.scheme}://{loop}:{parts.port}"
    return base_url


def _history_limit(query: Mapping[str, str], name: str, default: int) -> int:
    """Seed (Customer History): "If limit is over 50 or under 0, retrieve 50 records"."""
    limit = _int_param(query, name)
    if limit is None:
        return default
    if limit > HISTORY_MAX or limit < 0:
        return HISTORY_MAX
    return limit


# --------------------------------------------------------------------------- dashboard settings
def dashboard_settings(cc: Any, viewer: Agent) -> dict[str, Any]:
    """Seed: templateId, templateRevision, definition ("the JSON document that defines the
    dashboard template"), agentConsoleTemplateId/Revision (0), agentConsoleDefinition,
    attendantEndpoint. The definition's inside is not specified; this one lists the widgets a
    wallboard would show for what the viewer may see."""
    queue_ids = sorted(cc.visible_queue_ids(viewer))
    team_ids = sorted(set(viewer.scope_team_ids)
                      | ({viewer.team_id} if viewer.team_id in cc.teams else set()))
    supervisor = viewer.role != "agent"
    widgets: list[dict[str, Any]] = []
    if queue_ids:
        widgets.append({
            "id": 1, "type": "queueTiles", "title": "Queues", "entityType": "queue",
            "entityIds": queue_ids, "modalities": ["audio", "instantMessage", "message"],
            "metrics": ["queuedCount", "longestQueuedTime", "serviceLevel", "agentsAvailable",
                        "answeredCount", "abandonedCount"],
            "position": {"row": 0, "column": 0, "width": 12, "height": 2}})
    widgets.append({
        "id": 2, "type": "agentGrid", "title": "Agents" if supervisor else "My status",
        "entityType": "team" if supervisor and team_ids else "agent",
        "entityIds": team_ids if supervisor and team_ids else [viewer.id],
        "columns": ["name", "agentStatus", "reasonCodeName", "startTime", "answeredCount",
                    "ronaCount", "averageHandleTime"],
        "position": {"row": 2, "column": 0, "width": 8 if supervisor else 12, "height": 4}})
    if supervisor:
        widgets.append({
            "id": 3, "type": "alerts", "title": "Alerts", "severities": ["critical", "warning"],
            "position": {"row": 2, "column": 8, "width": 4, "height": 4}})
    return {
        "templateId": 2 if supervisor else 1,
        "templateRevision": 1,
        "definition": {"name": "Supervisor wallboard" if supervisor else "Agent dashboard",
                       "refreshIntervalSeconds": 0, "theme": "light", "widgets": widgets},
        "agentConsoleTemplateId": 0,
        "agentConsoleTemplateRevision": 0,
        "agentConsoleDefinition": {},
        "attendantEndpoint": render.profile(cc, viewer)["attendantSipUri"],
    }

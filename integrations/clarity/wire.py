"""Everything the client knows about Clarity Connect's wire format, in one module.

Routes, query parameters, body field names, response shapes and the seed document's
inconsistencies live here and nowhere else, so that adapting to a real server's quirks is a change
to this file. The source of truth is the vendor's document
(`shared/seeds/clarity-connect-web-api-v2.txt`, "the seed"), then the project's contract page
(`shared/docs/clarity-contract.md`) where the seed is silent.

Choices made where the seed contradicts itself (each one marked "seed:" below):
- A stated route ("accessible off the Connect Web API Root URL at ...") wins over a sample request,
  and ids go in a query string (`/v2/metrics/agents?agentIds=41,37`, not `/agents/agentIds=41,37`).
- The session write methods (extra items, call notes, dispositions) are documented as
  "Request - HTTP GET" with a JSON body. We send exactly that (`SESSION_WRITE_METHOD`); the route
  is the stated `setextraitems`, not the sample's `setextraitem`.
- Field names are matched exactly first, then without regard to case: the dictionary capitalises
  some (`Type`, `Id`, `IsManualAfterCallEnabled`) where the samples use camel case.
- Entity types are compared without regard to case and spacing (`Agent`, `agent`,
  `Business Unti`, `businessUnit`).
- `reasonCodeId`, `count`, `templateRevision` and some booleans arrive as strings in samples
  ("1", "2", "false"): numbers and booleans are coerced.
- Session modality strings (`Audio`, `AudioVideo`, `InstantMessage`, `Message`, or the ids 2, 1, 3)
  are mapped to the metric-bag names `audio`, `instantMessage`, `message`.
- Timestamps: "JSON timestamp format" with 1 to 7 fractional digits, with or without `Z` (no zone
  means UTC), parsed to aware datetimes; .NET's `0001-01-01T00:00:00` ("no value") becomes None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, NamedTuple, TypeVar
from urllib.parse import quote, urlencode

from .errors import ClarityProtocolError

# ---------------------------------------------------------------------------------------------
# Addresses and authentication
# ---------------------------------------------------------------------------------------------

API_ROOT = "/webapi/api"
V2 = f"{API_ROOT}/v2"
GRANT_TYPE = "urn:connect.auth:windows"
# seed: the session write methods are "Request - HTTP GET" with a JSON body.
SESSION_WRITE_METHOD = "GET"
# Where the seed's table says what customer history and transcripts accept as timestamps, the
# samples read "2016-6-15 5:30:00.15". We send the zero-padded form of the same shape, in UTC.
QUERY_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

Part = Literal["metrics", "sessions", "status"]
PARTS: tuple[str, ...] = ("metrics", "sessions", "status")

_URL_IN_CHALLENGE = re.compile(r"""https?://[^\s,"']+""", re.IGNORECASE)


def token_url_from_challenge(header: str, base_url: str | None = None) -> str | None:
    """The token service address from a 401's `WWW-Authenticate` header.

    seed: `https://41.ccdev2015.internal/webauth/token,grant_type="urn:connect.auth:windows"`:
    the address is the part up to the first comma. Real servers may quote it, or put a scheme
    word (`Bearer`) or `realm=` in front, so we look for the first http(s) URL in that part; a
    path-only address is resolved against `base_url`.
    """
    first = header.split(",", 1)[0].strip()
    match = _URL_IN_CHALLENGE.search(first)
    if match:
        return match.group(0)
    candidate = first.split("=", 1)[-1].split()[-1].strip("\"' ") if first else ""
    if candidate.startswith("/") and base_url:
        return base_url.rstrip("/") + candidate
    return None


def is_token_challenge(headers: Mapping[str, str]) -> bool:
    """seed: a 401 for a missing, invalid or expired token carries the token service address in
    `WWW-Authenticate`. A 401 without it is an authorization (MBU) denial: renewing the token
    cannot help, so the client does not try."""
    value = headers.get("www-authenticate")
    return bool(value and value.strip())


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request to the API, ready to send.

    `path` is absolute from the server root (`/webapi/api/v2/...`); `params` keep their order and
    are encoded by `url()` with literal commas, as the seed writes `agentIds=41,37`.
    `label` is what errors and logs show: the path, with free text (search queries) replaced by a
    placeholder. `idempotent` says whether the client may retry it on 5xx and network errors."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None
    idempotent: bool = True
    label: str = ""

    @property
    def route(self) -> str:
        return f"{self.method} {self.label or self.path}"

    def url(self) -> str:
        if not self.params:
            return self.path
        query = urlencode(self.params, safe=",:@", quote_via=quote)
        return f"{self.path}?{query}"

    def relative_url(self) -> str:
        """The batch request's `relativeUrl` (seed sample: `../v2/profile`, relative to the root
        API URL's `v2/`)."""
        if not self.path.startswith(API_ROOT + "/"):
            raise ValueError(f"{self.path} is not below {API_ROOT}")
        rel = ".." + self.path[len(API_ROOT) :]
        return rel if not self.params else f"{rel}?{self.url().split('?', 1)[1]}"


def _get(path: str, params: Iterable[tuple[str, str]] = (), *, label: str = "") -> WireRequest:
    return WireRequest("GET", path, tuple(params), None, True, label)


def _read_post(path: str, params: Iterable[tuple[str, str]], body: Any) -> WireRequest:
    # A POST that only reads (the metrics filters): safe to retry.
    return WireRequest("POST", path, tuple(params), body, True, "")


def _action(
    method: str, path: str, params: Iterable[tuple[str, str]] = (), body: Any = None
) -> WireRequest:
    # Anything that changes state upstream: never retried, a duplicate could act twice.
    return WireRequest(method, path, tuple(params), body, False, "")


def _ids(name: str, ids: Iterable[int]) -> list[tuple[str, str]]:
    values = [int(i) for i in ids]
    return [(name, ",".join(str(v) for v in values))] if values else []


def _id(value: int | str, what: str) -> str:
    """A path segment id: an int, or a string of digits; anything else is a caller bug."""
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+", text):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return text


def _segment(value: str, what: str) -> str:
    text = str(value)
    if not text or text in (".", ".."):
        raise ValueError(f"{what} must not be empty")
    return quote(text, safe="")


def format_query_timestamp(value: datetime) -> str:
    """A datetime as the query-string timestamps of customer history and transcripts (UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(QUERY_TIMESTAMP_FORMAT)[:-3]  # milliseconds, as the samples


# -- info & profile ----------------------------------------------------------------------------


def info() -> WireRequest:
    return _get(f"{API_ROOT}/info")


def profile() -> WireRequest:
    return _get(f"{V2}/profile")


def mbu() -> WireRequest:
    return _get(f"{V2}/profile/mbu")


def dashboard_settings() -> WireRequest:
    return _get(f"{V2}/profile/dashboardsettings")


def unregister(
    *, sip: str | None = None, gruu: str | None = None, session_ids: Sequence[int] = ()
) -> WireRequest:
    params: list[tuple[str, str]] = []
    if sip:
        params.append(("sip", sip))
    if gruu:
        params.append(("gruu", gruu))
    params += _ids("sids", session_ids)
    if not params:
        raise ValueError("unregister needs a sip, a gruu or session ids")
    return _action("POST", f"{V2}/profile/unregister", params)


# -- sessions ----------------------------------------------------------------------------------


def sessions_by_agent(agent_id: int) -> WireRequest:
    # seed: activeOnly is "Always true"; false answers 400, so we never send it.
    return _get(f"{V2}/sessions", [("agentId", _id(agent_id, "agent_id")), ("activeOnly", "true")])


SESSION_INCLUDES: tuple[str, ...] = (
    "includeImPrompts",
    "includeIvrData",
    "includeDispositions",
    "includeCurrentTranscript",
    "includeExtraItems",
    "includeSessionEventHistory",
    "includeAftercallOptions",
    "includeHoldTimerThreshold",
)


def session(
    session_id: int,
    *,
    include_customer_history: bool = False,
    customer_history_limit: int | None = None,
    include_im_prompts: bool = False,
    include_ivr_data: bool = False,
    include_dispositions: bool = False,
    include_current_transcript: bool = False,
    include_extra_items: bool = False,
    include_session_event_history: bool = False,
    include_aftercall_options: bool = False,
    include_hold_timer_threshold: bool = False,
) -> WireRequest:
    params: list[tuple[str, str]] = []
    if include_customer_history:
        params.append(("includeCustomerHistory", "true"))
    if customer_history_limit is not None:
        # seed: the limit "is ignored" without includeCustomerHistory, and at most 50 records
        # can be had: asking otherwise is a caller mistake worth surfacing.
        if not include_customer_history:
            raise ValueError("customer_history_limit needs include_customer_history=True")
        if not 0 <= customer_history_limit <= 50:
            raise ValueError("customer_history_limit must be between 0 and 50")
        params.append(("customerHistoryLimit", str(int(customer_history_limit))))
    flags = (
        include_im_prompts,
        include_ivr_data,
        include_dispositions,
        include_current_transcript,
        include_extra_items,
        include_session_event_history,
        include_aftercall_options,
        include_hold_timer_threshold,
    )
    params += [(name, "true") for name, on in zip(SESSION_INCLUDES, flags, strict=True) if on]
    return _get(f"{V2}/sessions/{_id(session_id, 'session_id')}", params)


def transcript(
    session_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    size: int | None = None,
) -> WireRequest:
    # seed: all three together answer 400, and so does size alone.
    if start is not None and end is not None and size is not None:
        raise ValueError("transcript: start, end and size cannot all be given")
    if size is not None and start is None and end is None:
        raise ValueError("transcript: size needs start or end")
    if size is not None and size < 0:
        raise ValueError("transcript: size must not be negative")
    params: list[tuple[str, str]] = []
    # seed: the parameter list spells "startTimsetamp"; its failure rules spell "startTimestamp",
    # which matches "endTimestamp": we send the latter.
    if start is not None:
        params.append(("startTimestamp", format_query_timestamp(start)))
    if end is not None:
        params.append(("endTimestamp", format_query_timestamp(end)))
    if size is not None:
        params.append(("size", str(int(size))))
    return _get(f"{V2}/sessions/{_id(session_id, 'session_id')}/transcript", params)


def gruu(session_id: int) -> WireRequest:
    return _get(f"{V2}/sessions/{_id(session_id, 'session_id')}/gruu")


def customer_history(
    session_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> WireRequest:
    # seed's table of combinations: limit alone and start+end+limit are "Not supported".
    if limit is not None and start is None and end is None:
        raise ValueError("customer_history: limit alone is not supported; give start or end")
    if limit is not None and start is not None and end is not None:
        raise ValueError("customer_history: start, end and limit together are not supported")
    if limit is not None and not 0 <= limit <= 50:
        raise ValueError("customer_history: limit must be between 0 and 50")
    params: list[tuple[str, str]] = []
    if start is not None:
        params.append(("start", format_query_timestamp(start)))
    if end is not None:
        params.append(("end", format_query_timestamp(end)))
    if limit is not None:
        params.append(("limit", str(int(limit))))
    return _get(f"{V2}/sessions/customerHistory/{_id(session_id, 'session_id')}", params)


def set_extra_item(
    session_id: int,
    *,
    value: str,
    extra_item_id: int | None = None,
    name: str | None = None,
) -> WireRequest:
    # seed: 400 when the value is null or both the id and the name are.
    if value is None:
        raise ValueError("set_extra_item: value is required")
    if extra_item_id is None and not name:
        raise ValueError("set_extra_item: give extra_item_id or name")
    body: dict[str, Any] = {}
    if extra_item_id is not None:
        body["extraItemId"] = int(extra_item_id)
    if name:
        body["extraItemName"] = name
    body["extraItemValue"] = value
    return _action(
        SESSION_WRITE_METHOD,
        f"{V2}/sessions/{_id(session_id, 'session_id')}/setextraitems",
        (),
        body,
    )


def set_call_notes(session_id: int, note: str) -> WireRequest:
    if note is None:
        raise ValueError("set_call_notes: note is required")
    return _action(
        SESSION_WRITE_METHOD,
        f"{V2}/sessions/{_id(session_id, 'session_id')}/setcallnotes",
        (),
        {"note": note},
    )


def set_dispositions(
    session_id: int, disposition_id: int, sub_disposition_id: int | None = None
) -> WireRequest:
    body: dict[str, Any] = {"dispositionId": int(disposition_id)}
    if sub_disposition_id is not None:
        body["subDispositionId"] = int(sub_disposition_id)
    return _action(
        SESSION_WRITE_METHOD,
        f"{V2}/sessions/{_id(session_id, 'session_id')}/setdispositions",
        (),
        body,
    )


def start_recording(agent_id: int) -> WireRequest:
    return _action(
        "POST", f"{V2}/sessions/callcontrol/startRecordingSessions/{_id(agent_id, 'agent_id')}"
    )


def stop_recording(agent_id: int) -> WireRequest:
    return _action(
        "POST", f"{V2}/sessions/callcontrol/stopRecordingSessions/{_id(agent_id, 'agent_id')}"
    )


# -- agent status ------------------------------------------------------------------------------

# seed, Connect Agent Status: agentStatusId values and their camel-cased names.
AGENT_STATUS_IDS: dict[int, str] = {
    1: "available",
    2: "inCall",
    3: "unavailable",
    4: "unknown",
    5: "afterCall",
    6: "loggedOut",
    7: "offPhoneActivity",
    8: "ringOnNoAnswer",
    9: "busy",
    10: "beRightBack",
    11: "directCall",
    12: "inactive",
    14: "inImCall",
    15: "directInboundDial",
    16: "directOutboundDial",
    17: "atLunch",
    18: "offWork",
    19: "conferenceCall",
    20: "ringing",
}
AGENT_STATUS_NAMES: dict[str, int] = {name.lower(): i for i, name in AGENT_STATUS_IDS.items()}
UNAVAILABLE = 3


def agent_status_id(status: int | str) -> int:
    """A status id from an id or a name in any case (`unavailable`, `Unavailable`, 3)."""
    if isinstance(status, bool):
        raise ValueError(f"not an agent status: {status!r}")
    if isinstance(status, int):
        if status not in AGENT_STATUS_IDS:
            raise ValueError(f"unknown agent status id {status}")
        return status
    key = str(status).strip().lower()
    if key.isdigit():
        return agent_status_id(int(key))
    if key not in AGENT_STATUS_NAMES:
        raise ValueError(f"unknown agent status {status!r}")
    return AGENT_STATUS_NAMES[key]


def agent_status(agent_id: int) -> WireRequest:
    # seed: currentOnly is "Always true"; false answers 400.
    return _get(f"{V2}/agentStatus/{_id(agent_id, 'agent_id')}", [("currentOnly", "true")])


def update_agent_status(
    agent_id: int, status: int | str, reason_code_id: int | None = None
) -> WireRequest:
    status_id = agent_status_id(status)
    # seed: a reason code with a status other than Unavailable answers 400.
    if reason_code_id is not None and status_id != UNAVAILABLE:
        raise ValueError("a reason code only goes with the unavailable status")
    body: dict[str, Any] = {"agentStatusId": status_id}
    if reason_code_id is not None:
        body["reasonCodeId"] = int(reason_code_id)
    return _action("POST", f"{V2}/agentStatus/update/{_id(agent_id, 'agent_id')}", (), body)


def set_suspended(agent_id: int, suspended: bool) -> WireRequest:
    # seed: a status change or a suspension change, never both in one request.
    return _action(
        "POST",
        f"{V2}/agentStatus/update/{_id(agent_id, 'agent_id')}",
        (),
        {"isSuspended": bool(suspended)},
    )


def list_agent_statuses(agent_id: int) -> WireRequest:
    return _get(f"{V2}/agentStatus/list/{_id(agent_id, 'agent_id')}")


# -- metrics -----------------------------------------------------------------------------------

MODALITY_IDS: dict[int, str] = {1: "instantMessage", 2: "audio", 3: "message"}
_MODALITY_NAMES: dict[str, str] = {
    "audio": "audio",
    "audiovideo": "audio",
    "av": "audio",
    "instantmessage": "instantMessage",
    "im": "instantMessage",
    "message": "message",
    "agnostic": "agnostic",
    "unknown": "unknown",
}
MODALITIES: tuple[str, ...] = ("audio", "instantMessage", "message")


def normalize_modality(value: Any, *, default: str | None = "unknown") -> str:
    """`Audio`, `AudioVideo`, `audio`, 2 -> `audio`; `InstantMessage`, 1 -> `instantMessage`;
    `Message`, 3 -> `message`. Anything else gives `default` (or, when `default` is None, the
    value unchanged as a string, so that an unforeseen metric-bag key is not lost)."""
    if isinstance(value, bool):
        return default if default is not None else str(value)
    if isinstance(value, int):
        found = MODALITY_IDS.get(value)
    else:
        text = str(value).strip()
        found = (
            MODALITY_IDS.get(int(text))
            if text.isdigit()
            else _MODALITY_NAMES.get(text.replace(" ", "").replace("_", "").lower())
        )
    if found is not None:
        return found
    return default if default is not None else str(value)


def _modalities(modalities: Iterable[int | str] | None) -> list[tuple[str, str]]:
    if modalities is None:
        return []
    names: list[str] = []
    for m in modalities:
        name = normalize_modality(m, default="")
        if name not in MODALITIES:
            raise ValueError(f"unknown modality {m!r}")
        if name not in names:
            names.append(name)
    # seed: "Sample Value: audio, message, instantMessage" (names, not the sample URL's ids).
    return [("modalities", ",".join(names))] if names else []


def _metric_body(
    metric_properties: Sequence[str] | None,
    status_properties: Sequence[str] | None,
    session_properties: Sequence[str] | None,
) -> dict[str, list[str]] | None:
    body: dict[str, list[str]] = {}
    if metric_properties is not None:
        body["metricProperties"] = list(metric_properties)
    if status_properties is not None:
        body["statusProperties"] = list(status_properties)
    if session_properties is not None:
        # seed: the dictionary names it sessionProperties (samples also say sessionPropertyType).
        body["sessionProperties"] = list(session_properties)
    return body or None


@dataclass(frozen=True)
class Selection:
    """Which entities a metrics or subscription call is about (query string ids)."""

    agent_ids: tuple[int, ...] = ()
    queue_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    group_ids: tuple[int, ...] = ()
    business_unit_ids: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        agent_ids: Iterable[int] = (),
        queue_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
    ) -> Selection:
        return cls(
            tuple(int(i) for i in agent_ids),
            tuple(int(i) for i in queue_ids),
            tuple(int(i) for i in team_ids),
            tuple(int(i) for i in group_ids),
            tuple(int(i) for i in business_unit_ids),
        )

    def is_empty(self) -> bool:
        return not (
            self.agent_ids
            or self.queue_ids
            or self.team_ids
            or self.group_ids
            or self.business_unit_ids
        )

    def params(self) -> list[tuple[str, str]]:
        # seed: agentIds, queueIds, teamIds, groupIds. The business unit parameter is never
        # spelled out; businessUnitIds follows the same pattern (assumption).
        return (
            _ids("agentIds", self.agent_ids)
            + _ids("queueIds", self.queue_ids)
            + _ids("teamIds", self.team_ids)
            + _ids("groupIds", self.group_ids)
            + _ids("businessUnitIds", self.business_unit_ids)
        )


Kind = Literal["agents", "queues"]
Shape = Literal["one", "many", "aggregateBy", "groupBy"]


def metrics(
    kind: Kind,
    shape: Shape,
    *,
    entity_id: int | None = None,
    selection: Selection = Selection(),  # frozen, so a shared default is safe
    part: Part | None = None,
    modalities: Iterable[int | str] | None = None,
    include_breakdowns: bool = False,
    include_status_history: bool = False,
    metric_properties: Sequence[str] | None = None,
    status_properties: Sequence[str] | None = None,
    session_properties: Sequence[str] | None = None,
) -> WireRequest:
    """Any agent or queue metrics method. GET without filters, POST with them (seed: "This API
    supports both GET and POST verbs"; the POST body only filters, so it is retried like a GET).

    Routes (seed for agents; contract page, by symmetry, for queues):
    one `/v2/metrics/{kind}/{id}[/part]`, many `/v2/metrics/{kind}[/part]?agentIds=...`,
    `/v2/metrics/{kind}/aggregateBy?...`, `/v2/metrics/{kind}/groupBy?...`."""
    if kind not in ("agents", "queues"):
        raise ValueError(f"kind must be agents or queues, got {kind!r}")
    base = f"{V2}/metrics/{kind}"
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    if part is not None and shape not in ("one", "many"):
        # seed: the /metrics, /sessions, /status suffixes exist for by-id and multiple only.
        raise ValueError(f"part is only available for one or many {kind}")
    if shape == "one":
        if entity_id is None:
            raise ValueError("entity_id is required")
        path = f"{base}/{_id(entity_id, 'entity_id')}"
        params: list[tuple[str, str]] = []
    else:
        if selection.is_empty():
            # seed: "If an entity Id is not specified in the query string parameters, return a
            # 401": refuse before a token renewal is spent on it.
            raise ValueError(f"{shape} {kind} metrics need at least one id")
        path = base if shape == "many" else f"{base}/{shape}"
        params = selection.params()
    if part is not None:
        path = f"{path}/{part}"
    params += _modalities(modalities)
    if include_breakdowns:
        params.append(("includeBreakdowns", "true"))
    if include_status_history:
        if kind != "agents" or shape not in ("one", "many"):
            # seed: includeStatusHistory is for Agent By Id and Multiple Agents By Id.
            raise ValueError("include_status_history is for one or many agents only")
        params.append(("includeStatusHistory", "true"))
    body = _metric_body(metric_properties, status_properties, session_properties)
    if body is None:
        return _get(path, params)
    return _read_post(path, params, body)


# -- resources, server -------------------------------------------------------------------------


def localization(locale: str) -> WireRequest:
    # seed: the sample says /v1.0/...; the stated route is under v2.
    return _get(f"{V2}/resources/dashboard/localization/{_segment(locale, 'locale')}")


def specific_server() -> WireRequest:
    return _get(f"{V2}/metrics/specificserver")


# -- subscriptions -----------------------------------------------------------------------------

SubscriptionKind = Literal[
    "agents", "agentsAggregate", "agentsGroup", "queues", "queuesAggregate", "queuesGroup"
]
_SUBSCRIPTION_PATHS: dict[str, str] = {
    "agents": "agents",
    "agentsAggregate": "agents/aggregateBy",
    "agentsGroup": "agents/groupBy",
    "queues": "queues",
    "queuesAggregate": "queues/aggregateBy",
    "queuesGroup": "queues/groupBy",
}
# seed: "If an entity Id is not specified in the query string parameters, return a 401" is listed
# for these; queue aggregation's sample subscribes without any id.
_SUBSCRIPTION_NEEDS_IDS = frozenset({"agents", "agentsAggregate", "agentsGroup", "queues"})


def _subscription_body(
    connection_id: str,
    metric_properties: Sequence[str] | None,
    status_properties: Sequence[str] | None,
    session_properties: Sequence[str] | None,
) -> dict[str, Any]:
    if not connection_id:
        raise ValueError("connection_id is required (the hub's GetConnectionId())")
    body: dict[str, Any] = {"connectionId": connection_id}
    body.update(_metric_body(metric_properties, status_properties, session_properties) or {})
    return body


def _subscription_params(
    selection: Selection,
    modalities: Iterable[int | str] | None,
    include_breakdowns: bool,
    include_status_history: bool,
) -> list[tuple[str, str]]:
    params = selection.params() + _modalities(modalities)
    if include_breakdowns:
        params.append(("includeBreakdowns", "true"))
    if include_status_history:
        params.append(("includeStatusHistory", "true"))
    return params


def subscribe(
    kind: SubscriptionKind,
    connection_id: str,
    *,
    selection: Selection = Selection(),  # frozen: a shared default is safe
    modalities: Iterable[int | str] | None = None,
    include_breakdowns: bool = False,
    include_status_history: bool = False,
    metric_properties: Sequence[str] | None = None,
    status_properties: Sequence[str] | None = None,
    session_properties: Sequence[str] | None = None,
) -> WireRequest:
    if kind not in _SUBSCRIPTION_PATHS:
        raise ValueError(f"unknown subscription kind {kind!r}")
    if kind in _SUBSCRIPTION_NEEDS_IDS and selection.is_empty():
        raise ValueError(f"subscribing to {kind} needs at least one id")
    if include_status_history and kind != "agents":
        # seed: includeStatusHistory is "Only Subscribe To Agents and Update Subscription".
        raise ValueError("include_status_history is only for agent subscriptions")
    return _action(
        "POST",
        f"{V2}/subscriptions/{_SUBSCRIPTION_PATHS[kind]}",
        _subscription_params(selection, modalities, include_breakdowns, include_status_history),
        _subscription_body(connection_id, metric_properties, status_properties, session_properties),
    )


def subscribe_alerts(connection_id: str) -> WireRequest:
    return _action(
        "POST",
        f"{V2}/subscriptions/alerts",
        (),
        _subscription_body(connection_id, None, None, None),
    )


def update_subscription(
    subscription_id: str,
    connection_id: str,
    *,
    selection: Selection = Selection(),  # frozen: a shared default is safe
    modalities: Iterable[int | str] | None = None,
    include_breakdowns: bool = False,
    include_status_history: bool = False,
    metric_properties: Sequence[str] | None = None,
    status_properties: Sequence[str] | None = None,
    session_properties: Sequence[str] | None = None,
) -> WireRequest:
    # seed sample: POST /subscriptions/abc123/agentId=5,7; the stated route with a query wins.
    return _action(
        "POST",
        f"{V2}/subscriptions/{_segment(subscription_id, 'subscription_id')}",
        _subscription_params(selection, modalities, include_breakdowns, include_status_history),
        _subscription_body(connection_id, metric_properties, status_properties, session_properties),
    )


def delete_subscription(subscription_id: str, connection_id: str) -> WireRequest:
    # seed: DELETE with a JSON body naming the connection.
    return _action(
        "DELETE",
        f"{V2}/subscriptions/{_segment(subscription_id, 'subscription_id')}",
        (),
        _subscription_body(connection_id, None, None, None),
    )


# -- batch, client logs, search ----------------------------------------------------------------


def batch(requests: Sequence[WireRequest]) -> WireRequest:
    if not requests:
        raise ValueError("batch needs at least one request")
    items: list[dict[str, Any]] = []
    for r in requests:
        item: dict[str, Any] = {"method": r.method, "relativeUrl": r.relative_url()}
        if r.body is not None:
            item["body"] = r.body
        items.append(item)
    # seed: POST to the root of v2 (`/webapi/api/v2/`). Retried only when every part is.
    return WireRequest("POST", f"{V2}/", (), items, all(r.idempotent for r in requests), "")


LOG_LEVELS: tuple[str, ...] = ("verbose", "debug", "info", "warning", "error")


def client_logs(
    message: str,
    *,
    log_level: str | None = None,
    session_id: int | None = None,
    component: str | None = None,
) -> WireRequest:
    if not message:
        raise ValueError("client_logs: message must not be empty")  # seed: 400 otherwise
    body: dict[str, Any] = {"message": message}
    if log_level is not None:
        body["logLevel"] = log_level
    if session_id is not None:
        body["sessionId"] = int(session_id)
    if component is not None:
        body["component"] = component
    return _action("POST", f"{V2}/clientlogs", (), body)


def search(query: str) -> WireRequest:
    if query is None or not str(query).strip():
        raise ValueError("search: the query must not be empty")  # seed: 400 otherwise
    # The query is free text (a customer's or an agent's name): errors show a placeholder.
    return _get(
        f"{V2}/search/{_segment(str(query).strip(), 'query')}", label=f"{V2}/search/{{query}}"
    )


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def parse_timestamp(value: Any, what: str = "timestamp") -> datetime | None:
    """A JSON timestamp ("2016-10-27T19:56:02.98Z") as an aware UTC datetime; None for null.

    Tolerates 1-9 fractional digits (.NET writes up to 7; Python keeps 6), no zone (UTC is meant:
    every timestamp in the seed is "in UTC"), a space instead of `T`, unpadded fields as in the
    seed's "2016-1-1 05:00", and an explicit offset."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ClarityProtocolError(f"{what}: expected a timestamp string, got {value!r}")
    m = _TIMESTAMP.match(value.strip())
    if not m:
        raise ClarityProtocolError(f"{what}: not a timestamp: {value!r}")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        result = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micros,
            tzinfo=UTC,
        )
    except ValueError:
        raise ClarityProtocolError(f"{what}: not a valid date: {value!r}") from None
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset_min = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        result -= sign * timedelta(minutes=offset_min)
    if result.year == 1:
        # .NET's DateTime.MinValue, what a non-nullable "not set" timestamp serialises to.
        return None
    return result


def format_timestamp(value: datetime) -> str:
    """An aware datetime in the seed's JSON timestamp format (milliseconds, `Z`)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_ENTITY_TYPES: dict[str, str] = {
    "agent": "agent",
    "queue": "queue",
    "team": "team",
    "group": "group",
    "businessunit": "businessUnit",
    "businessunti": "businessUnit",  # seed: "Business Unti"
    "bu": "businessUnit",
    "entity": "entity",
}


def normalize_entity_type(value: Any) -> str:
    """`Agent`, `agent`, `Business Unti`, `businessUnit`, `business_unit` -> canonical lower camel
    case (contract page). Unknown values come back unchanged (as a string)."""
    if value is None:
        return ""
    text = str(value)
    key = re.sub(r"[\s_-]", "", text).lower()
    return _ENTITY_TYPES.get(key, text)


def normalize_agent_status(value: Any) -> str | None:
    """Agent status names are camel case in the dictionary (`ringOnNoAnswer`), capitalised in the
    list sample (`Available`), an integer in the Status Model table: one spelling out."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return AGENT_STATUS_IDS.get(value, str(value))
    text = str(value).strip()
    if text.isdigit():
        return AGENT_STATUS_IDS.get(int(text), text)
    known = AGENT_STATUS_NAMES.get(text.replace(" ", "").lower())
    if known is not None:
        return AGENT_STATUS_IDS[known]
    return text[:1].lower() + text[1:]


class _Obj:
    """Field access on one JSON object: exact name first, then without regard to case; every
    name read is remembered, so that what is left over goes into `raw`."""

    def __init__(self, data: Any, what: str) -> None:
        if not isinstance(data, Mapping):
            raise ClarityProtocolError(f"{what}: expected a JSON object, got {type(data).__name__}")
        self.data = data
        self.what = what
        self._lower = {str(k).lower(): k for k in data}
        self._used: set[Any] = set()

    def _key(self, *names: str) -> Any:
        for name in names:
            if name in self.data:
                return name
        for name in names:
            key = self._lower.get(name.lower())
            if key is not None:
                return key
        return None

    def has(self, *names: str) -> bool:
        return self._key(*names) is not None

    def get(self, *names: str) -> Any:
        key = self._key(*names)
        if key is None:
            for name in names:  # mark aliases as known even when absent
                self._used.add(name)
            return None
        self._used.add(key)
        return self.data[key]

    def req(self, *names: str) -> Any:
        key = self._key(*names)
        if key is None or self.data[key] is None:
            raise ClarityProtocolError(f"{self.what}: missing required field {names[0]!r}")
        self._used.add(key)
        return self.data[key]

    def integer(self, *names: str, required: bool = False) -> int | None:
        value = self.req(*names) if required else self.get(*names)
        return _to_int(value, f"{self.what}.{names[0]}")

    def req_int(self, *names: str) -> int:
        value = _to_int(self.req(*names), f"{self.what}.{names[0]}")
        assert value is not None  # req() refused None  # noqa: S101 - narrowing only
        return value

    def text(self, *names: str, required: bool = False) -> str | None:
        value = self.req(*names) if required else self.get(*names)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise ClarityProtocolError(f"{self.what}.{names[0]}: expected a string, got {value!r}")
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def req_text(self, *names: str) -> str:
        value = self.text(*names, required=True)
        assert value is not None  # noqa: S101 - narrowing only
        return value

    def flag(self, *names: str) -> bool | None:
        return _to_bool(self.get(*names), f"{self.what}.{names[0]}")

    def number(self, *names: str) -> float | None:
        value = self.get(*names)
        if value is None:
            return None
        if isinstance(value, bool):
            raise ClarityProtocolError(f"{self.what}.{names[0]}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ClarityProtocolError(
                f"{self.what}.{names[0]}: expected a number, got {value!r}"
            ) from None

    def time(self, *names: str) -> datetime | None:
        return parse_timestamp(self.get(*names), f"{self.what}.{names[0]}")

    def ints(self, *names: str) -> tuple[int, ...]:
        value = self.get(*names)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise ClarityProtocolError(f"{self.what}.{names[0]}: expected an array, got {value!r}")
        return tuple(_to_int(v, f"{self.what}.{names[0]}[]") for v in value)  # type: ignore[misc]

    def obj(self, *names: str) -> dict[str, Any] | None:
        value = self.get(*names)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ClarityProtocolError(f"{self.what}.{names[0]}: expected an object, got {value!r}")
        return dict(value)

    def rest(self) -> dict[str, Any]:
        used_lower = {str(k).lower() for k in self._used}
        return {k: v for k, v in self.data.items() if str(k).lower() not in used_lower}


def _to_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ClarityProtocolError(f"{what}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)  # seed: "reasonCodeId": "1", "count": "2"
    raise ClarityProtocolError(f"{what}: expected an integer, got {value!r}")


def _to_bool(value: Any, what: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # seed: "proxyDirectCalls": "false"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ClarityProtocolError(f"{what}: expected a boolean, got {value!r}")


def list_items(data: Any, what: str) -> list[Any]:
    """The `items` of a List Response (`{"items": [...], "count": n}`); a bare array is accepted
    too, since some sections of the seed document an array where samples show a List Response."""
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        items = data.get("items", data.get("Items"))
        if items is None:
            if "count" in data or "Count" in data:
                return []
            raise ClarityProtocolError(f"{what}: a List Response without items")
        if not isinstance(items, list):
            raise ClarityProtocolError(f"{what}: items is not an array")
        return items
    raise ClarityProtocolError(f"{what}: expected a List Response, got {type(data).__name__}")


T = TypeVar("T")


def _parse_list(data: Any, cls: type[T], what: str) -> tuple[T, ...]:
    return tuple(cls.from_json(item) for item in list_items(data, what))  # type: ignore[attr-defined]


def _opt_list(data: Any, cls: type[T], what: str) -> tuple[T, ...] | None:
    # seed: every include section of Session by ID "Can be null": null or absent -> None.
    return None if data is None else _parse_list(data, cls, what)


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiVersion:
    version: str
    relative_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> ApiVersion:
        o = _Obj(data, "apiVersion")
        return cls(o.req_text("version"), o.text("relativeUrl"), o.rest())


@dataclass(frozen=True)
class Info:
    connect_version: str
    api_versions: tuple[ApiVersion, ...] = ()
    signalr_transports: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Info:
        o = _Obj(data, "info")
        versions = o.get("apiVersions") or []
        transports = o.get("signalRTransports") or []
        if not isinstance(versions, list) or not isinstance(transports, list):
            raise ClarityProtocolError("info: apiVersions and signalRTransports must be arrays")
        return cls(
            o.req_text("connectVersion"),
            tuple(ApiVersion.from_json(v) for v in versions),
            tuple(str(t) for t in transports),
            o.rest(),
        )

    def supports(self, version: str) -> bool:
        return any(v.version == version for v in self.api_versions)


@dataclass(frozen=True)
class HiddenQueue:
    queue_id: int
    queue_name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> HiddenQueue:
        o = _Obj(data, "hiddenQueue")
        return cls(o.req_int("queueId"), o.text("queueName"), o.rest())


@dataclass(frozen=True)
class Profile:
    id: int
    name: str | None = None
    type: str = "agent"
    team_id: int | None = None
    email_address: str | None = None
    locale_key: str | None = None
    enabled_modalities: tuple[str, ...] = ()
    is_direct_proxy_enabled: bool | None = None
    is_federated_deployment: bool | None = None
    can_mark_self_as_suspended: bool | None = None
    use_silverlight_agent_console: bool | None = None
    hide_record_button: bool | None = None
    attendant_sip_uri: str | None = None
    domain: str | None = None
    hide_recording_button: bool | None = None
    discovery_xframe_url_override: str | None = None
    discovery_user_url_override: str | None = None
    agent_gruu: str | None = None
    proxy_direct_calls: bool | None = None
    hidden_queues: tuple[HiddenQueue, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Profile:
        o = _Obj(data, "profile")
        modalities = o.get("enabledModalities") or []
        if not isinstance(modalities, list):
            raise ClarityProtocolError("profile.enabledModalities: expected an array")
        hidden = o.get("hiddenQueues")
        team_id = o.integer("teamId")
        return cls(
            id=o.req_int("id"),
            name=o.text("name"),
            type=normalize_entity_type(o.get("type")) or "agent",
            # seed: "If the Agent is not assigned to a Team, -1 is returned for teamId".
            team_id=None if team_id == -1 else team_id,
            email_address=o.text("emailAddress"),
            locale_key=o.text("localeKey", "locale"),
            enabled_modalities=tuple(normalize_modality(m) for m in modalities),
            is_direct_proxy_enabled=o.flag("isDirectProxyEnabled"),
            is_federated_deployment=o.flag("isFederatedDeployment"),
            can_mark_self_as_suspended=o.flag("canMarkSelfAsSuspended"),
            use_silverlight_agent_console=o.flag("useSilverlightAgentConsole"),
            hide_record_button=o.flag("hideRecordButton"),
            attendant_sip_uri=o.text("attendantSipUri"),
            domain=o.text("domain"),
            hide_recording_button=o.flag("hideRecordingButton"),
            discovery_xframe_url_override=o.text("discoveryXFrameUrlOverride"),
            discovery_user_url_override=o.text("discoveryUserUrlOverride"),
            agent_gruu=o.text("agentGRUU", "agentGruu"),
            proxy_direct_calls=o.flag("proxyDirectCalls"),
            hidden_queues=()
            if hidden is None
            else _parse_list(hidden, HiddenQueue, "hiddenQueues"),
            raw=o.rest(),
        )


def _check_entity_type(o: _Obj, expected: str) -> str:
    """An MBU entity's `type`, normalised; a type naming a different known entity is refused
    (that would be a misread list), an unknown spelling is kept."""
    raw_type = o.get("type")
    if raw_type is None:
        return expected
    found = normalize_entity_type(raw_type)
    if found in _ENTITY_TYPES.values() and found not in (expected, "entity"):
        raise ClarityProtocolError(f"{o.what}: type {raw_type!r} in the list of {expected}s")
    return found


@dataclass(frozen=True)
class MbuAgent:
    id: int
    name: str | None = None
    team_id: int | None = None
    can_silent_join: bool | None = None
    can_whisper_join: bool | None = None
    can_record: bool | None = None
    type: str = "agent"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> MbuAgent:
        o = _Obj(data, "mbu.agent")
        kind = _check_entity_type(o, "agent")
        return cls(
            o.req_int("id"),
            o.text("name"),
            o.integer("teamId"),
            o.flag("canSilentJoin"),
            o.flag("canWhisperJoin"),
            o.flag("canRecord"),
            kind,
            o.rest(),
        )


@dataclass(frozen=True)
class MbuQueue:
    id: int
    name: str | None = None
    business_unit_id: int | None = None
    team_ids: tuple[int, ...] = ()
    type: str = "queue"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> MbuQueue:
        o = _Obj(data, "mbu.queue")
        kind = _check_entity_type(o, "queue")
        return cls(
            o.req_int("id"),
            o.text("name"),
            o.integer("businessUnitId"),
            o.ints("teamIds"),
            kind,
            o.rest(),
        )


@dataclass(frozen=True)
class MbuTeam:
    id: int
    name: str | None = None
    business_unit_id: int | None = None
    group_ids: tuple[int, ...] = ()
    agent_ids: tuple[int, ...] = ()
    queue_ids: tuple[int, ...] = ()
    type: str = "team"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> MbuTeam:
        o = _Obj(data, "mbu.team")
        kind = _check_entity_type(o, "team")
        return cls(
            o.req_int("id"),
            o.text("name"),
            o.integer("businessUnitId"),
            o.ints("groupIds", "groupId"),  # seed: sample groupIds, dictionary groupId
            o.ints("agentIds"),
            o.ints("queueIds"),
            kind,
            o.rest(),
        )


@dataclass(frozen=True)
class MbuGroup:
    id: int
    name: str | None = None
    team_ids: tuple[int, ...] = ()
    type: str = "group"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> MbuGroup:
        o = _Obj(data, "mbu.group")
        kind = _check_entity_type(o, "group")
        return cls(o.req_int("id"), o.text("name"), o.ints("teamIds"), kind, o.rest())


@dataclass(frozen=True)
class MbuBusinessUnit:
    id: int
    name: str | None = None
    team_ids: tuple[int, ...] = ()
    queue_ids: tuple[int, ...] = ()
    type: str = "businessUnit"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> MbuBusinessUnit:
        o = _Obj(data, "mbu.businessUnit")
        kind = _check_entity_type(o, "businessUnit")
        return cls(
            o.req_int("id"), o.text("name"), o.ints("teamIds"), o.ints("queueIds"), kind, o.rest()
        )


@dataclass(frozen=True)
class MbuStructure:
    agents: tuple[MbuAgent, ...] = ()
    queues: tuple[MbuQueue, ...] = ()
    teams: tuple[MbuTeam, ...] = ()
    groups: tuple[MbuGroup, ...] = ()
    business_units: tuple[MbuBusinessUnit, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> MbuStructure:
        o = _Obj(data, "mbu")

        def section(name: str, item_cls: type[T]) -> tuple[T, ...]:
            # seed: "If empty it will not be included in the response".
            value = o.get(name)
            if value is None:
                return ()
            if not isinstance(value, list):
                raise ClarityProtocolError(f"mbu.{name}: expected an array")
            return tuple(item_cls.from_json(v) for v in value)  # type: ignore[attr-defined]

        return cls(
            section("agents", MbuAgent),
            section("queues", MbuQueue),
            section("teams", MbuTeam),
            section("groups", MbuGroup),
            section("businessUnits", MbuBusinessUnit),
            o.rest(),
        )

    def agent(self, agent_id: int) -> MbuAgent | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def queue(self, queue_id: int) -> MbuQueue | None:
        return next((q for q in self.queues if q.id == queue_id), None)

    def team(self, team_id: int) -> MbuTeam | None:
        return next((t for t in self.teams if t.id == team_id), None)


@dataclass(frozen=True)
class DashboardSettings:
    template_id: int | None = None
    template_revision: int | None = None
    definition: dict[str, Any] | None = None
    agent_console_template_id: int | None = None
    agent_console_template_revision: int | None = None
    agent_console_definition: dict[str, Any] | None = None
    attendant_endpoint: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> DashboardSettings:
        o = _Obj(data, "dashboardSettings")
        return cls(
            o.integer("templateId"),
            o.integer("templateRevision"),  # seed: "templateRevision": "1" in the sample
            o.obj("definition"),
            o.integer("agentConsoleTemplateId"),
            o.integer("agentConsoleTemplateRevision"),
            o.obj("agentConsoleDefinition"),
            o.text("attendantEndpoint"),
            o.rest(),
        )


@dataclass(frozen=True)
class SelectedDisposition:
    id: int | None
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any, id_field: str) -> SelectedDisposition:
        o = _Obj(data, "selectedCallDisposition")
        return cls(o.integer(id_field, "id"), o.text("name"))


@dataclass(frozen=True)
class SessionBase:
    """seed: Session Base (customer history items, the base of every session)."""

    session_id: int
    session_type: str | None = None
    queue_id: int | None = None
    queue_name: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    customer_phone: str | None = None
    agent_id: int | None = None
    agent_name: str | None = None
    modality: str = "unknown"
    modality_id: int | None = None
    start_time: datetime | None = None
    call_flow_id: int | None = None
    call_flow_name: str | None = None
    call_note: str | None = None
    selected_call_disposition: SelectedDisposition | None = None
    selected_call_sub_disposition: SelectedDisposition | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _what: ClassVar[str] = "session"

    @classmethod
    def _base_kwargs(cls, o: _Obj) -> dict[str, Any]:
        modality_id = o.integer("modalityId")
        modality_raw = o.get("modality")
        # seed: both the string and the id are sent; the string wins, the id fills in.
        modality = normalize_modality(modality_raw) if modality_raw is not None else "unknown"
        if modality == "unknown" and modality_id is not None:
            modality = normalize_modality(modality_id)
        disp = o.get("selectedCallDisposition")
        sub = o.get("selectedCallSubDisposition")
        return {
            "session_id": o.req_int("sessionId"),
            "session_type": o.text("sessionType"),
            "queue_id": o.integer("queueId"),
            "queue_name": o.text("queueName"),
            # seed: typed integer, sampled as "John Doh": kept as text.
            "customer_id": o.text("customerId"),
            "customer_name": o.text("customerName"),
            "customer_phone": o.text("customerPhone"),
            "agent_id": o.integer("agentId"),
            "agent_name": o.text("agentName"),
            "modality": modality,
            "modality_id": modality_id,
            "start_time": o.time("startTimeStamp", "startTimestamp"),
            "call_flow_id": o.integer("callFlowId"),
            "call_flow_name": o.text("callFlowName"),
            "call_note": o.text("callNote"),
            "selected_call_disposition": None
            if disp is None
            else SelectedDisposition.from_json(disp, "callDispositionId"),
            "selected_call_sub_disposition": None
            if sub is None
            else SelectedDisposition.from_json(sub, "callSubDispositionId"),
        }

    @classmethod
    def from_json(cls, data: Any) -> SessionBase:
        o = _Obj(data, cls._what)
        kwargs = cls._base_kwargs(o)
        return cls(**kwargs, raw=o.rest())


@dataclass(frozen=True)
class AgentParticipation:
    """seed: Agent Participation and Agent Offer (an offer has a subset of the fields)."""

    agent_id: int | None
    agent_name: str | None = None
    participation_type_id: int | None = None
    participation_type: str | None = None
    participation_status_id: int | None = None
    participation_status: str | None = None
    allocated_time: datetime | None = None
    offered_time: datetime | None = None
    accepted_time: datetime | None = None
    after_call_start_time: datetime | None = None
    is_primary_agent: bool | None = None
    primary_agent_start_time: datetime | None = None
    initiating_agent_id: int | None = None
    initiating_agent_name: str | None = None
    active_ms: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> AgentParticipation:
        o = _Obj(data, "agentParticipation")
        return cls(
            o.integer("agentId"),
            o.text("agentName"),
            o.integer("agentParticipationTypeId"),
            o.text("agentParticipationType"),
            o.integer("agentParticipationStatusId"),
            o.text("agentParticipationStatus"),
            o.time("allocatedTimeStamp"),
            o.time("offeredTimeStamp"),
            o.time("acceptedTimeStamp"),
            o.time("afterCallStartTimeStamp"),
            o.flag("isPrimaryAgent"),
            o.time("primaryAgentStartTimeStamp"),
            o.integer("initiatingAgentId"),
            o.text("initiatingAgentName"),
            o.integer("activeMs"),
            o.rest(),
        )


@dataclass(frozen=True)
class ModelSession(SessionBase):
    """seed: Model Session (sessions by agent; the base of Session by ID)."""

    is_recording: bool | None = None
    can_be_recorded: bool | None = None
    is_silent_joined: bool | None = None
    is_whisper_joined: bool | None = None
    session_status: str | None = None
    queued_ms: int | None = None
    active_ms: int | None = None
    can_be_silent_joined: bool | None = None
    can_be_whisper_joined: bool | None = None
    is_on_hold: bool | None = None
    hold_start_time: datetime | None = None
    recording_start_time: datetime | None = None
    answered_time: datetime | None = None
    session_has_ended: bool | None = None
    agents: tuple[AgentParticipation, ...] = ()
    offers: tuple[AgentParticipation, ...] = ()
    screen_pop_url: str | None = None
    active_time: datetime | None = None
    end_time: datetime | None = None
    session_duration_ms: int | None = None

    @classmethod
    def _model_kwargs(cls, o: _Obj) -> dict[str, Any]:
        agents = o.get("agents")
        offers = o.get("offers")
        return {
            **cls._base_kwargs(o),
            "is_recording": o.flag("isRecording"),
            "can_be_recorded": o.flag("canBeRecorded"),
            "is_silent_joined": o.flag("isSilentJoined"),
            "is_whisper_joined": o.flag("isWhisperJoined"),
            "session_status": o.text("sessionStatus"),
            "queued_ms": o.integer("queuedMs"),
            "active_ms": o.integer("activeMs"),
            "can_be_silent_joined": o.flag("canBeSilentJoined"),
            "can_be_whisper_joined": o.flag("canBeWhisperJoined"),
            "is_on_hold": o.flag("isOnHold"),
            "hold_start_time": o.time("holdStartTime"),
            "recording_start_time": o.time("recordingStartTime"),
            "answered_time": o.time("answeredTimeStamp"),
            "session_has_ended": o.flag("sessionHasEnded"),
            "agents": () if agents is None else _parse_list(agents, AgentParticipation, "agents"),
            "offers": () if offers is None else _parse_list(offers, AgentParticipation, "offers"),
            "screen_pop_url": o.text("screenPopUrl"),
            "active_time": o.time("activeTimeStamp"),
            "end_time": o.time("endTimeStamp"),
            "session_duration_ms": o.integer("sessionDurationMs"),
        }

    @classmethod
    def from_json(cls, data: Any) -> ModelSession:
        o = _Obj(data, cls._what)
        kwargs = cls._model_kwargs(o)
        return cls(**kwargs, raw=o.rest())


@dataclass(frozen=True)
class AftercallOptions:
    is_manual_after_call_enabled: bool | None = None
    after_call_time_seconds: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # seed: "contains all the properties of Entity" (type, id, Name), as the others below.
    id: int | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> AftercallOptions:
        o = _Obj(data, "aftercallOptions")
        o.get("type")
        return cls(o.flag("isManualAfterCallEnabled"), o.integer("afterCalltimeSeconds"),
                   id=o.integer("id"), name=o.text("name"), raw=o.rest())


@dataclass(frozen=True)
class ImPrompt:
    id: int | None
    prompt_name: str | None = None
    prompt_value: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> ImPrompt:
        o = _Obj(data, "imPrompt")
        o.get("type")
        return cls(o.integer("id"), o.text("promptName"), o.text("promptValue"),
                   name=o.text("name"), raw=o.rest())


@dataclass(frozen=True)
class IvrNode:
    id: int | None
    node_name: str | None = None
    selected_result: str | None = None
    node_note: str | None = None
    duration: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> IvrNode:
        o = _Obj(data, "ivrNode")
        o.get("type")
        return cls(
            o.integer("id"),
            o.text("nodeName"),
            o.text("selectedResult"),
            o.text("nodeNote"),
            o.integer("duration"),
            name=o.text("name"),
            raw=o.rest(),
        )


@dataclass(frozen=True)
class IvrData:
    id: int | None
    call_flow_name: str | None = None
    nodes: tuple[IvrNode, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> IvrData:
        o = _Obj(data, "ivrData")
        o.get("type")
        nodes = o.get("ivrNodes")
        return cls(
            o.integer("id"),
            o.text("callFlowName"),
            () if nodes is None else _parse_list(nodes, IvrNode, "ivrNodes"),
            name=o.text("name"),
            raw=o.rest(),
        )


@dataclass(frozen=True)
class CallSubDisposition:
    sub_disposition_id: int
    sub_disposition: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    id: int | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> CallSubDisposition:
        o = _Obj(data, "callSubDisposition")
        o.get("type")
        return cls(o.req_int("subDispositionId", "id"), o.text("subDisposition", "name"),
                   id=o.integer("id"), name=o.text("name"), raw=o.rest())


@dataclass(frozen=True)
class CallDisposition:
    disposition_id: int
    disposition: str | None = None
    business_unit_id: int | None = None
    sub_dispositions: tuple[CallSubDisposition, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    id: int | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> CallDisposition:
        o = _Obj(data, "callDisposition")
        o.get("type")
        subs = o.get("subDispositions")
        return cls(
            o.req_int("dispositionId", "id"),
            o.text("disposition", "name"),
            o.integer("businessUnitId"),
            () if subs is None else _parse_list(subs, CallSubDisposition, "subDispositions"),
            id=o.integer("id"),
            name=o.text("name"),
            raw=o.rest(),
        )


@dataclass(frozen=True)
class ExtraItem:
    key: str | None
    value: str | None = None
    extra_item_id: int | None = None
    id: int | None = None
    is_searchable: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> ExtraItem:
        o = _Obj(data, "extraItem")
        o.get("type")
        return cls(
            o.text("key"),
            o.text("value"),
            o.integer("extraItemId"),
            o.integer("id"),
            o.flag("isSearchable"),
            name=o.text("name"),
            raw=o.rest(),
        )


@dataclass(frozen=True)
class SessionEvent:
    event_text: str | None
    last_updated: datetime | None = None
    updated_by: str | None = None
    id: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    name: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> SessionEvent:
        o = _Obj(data, "sessionEvent")
        o.get("type")
        return cls(
            o.text("eventText"),
            o.time("lastUpdated"),
            o.text("updatedBy"),
            o.integer("id"),
            name=o.text("name"),
            raw=o.rest(),
        )


@dataclass(frozen=True)
class SessionMessage:
    id: int | None
    session_id: int | None = None
    agent_id: int | None = None
    session_message_type_id: int | None = None
    published: datetime | None = None
    name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> SessionMessage:
        o = _Obj(data, "sessionMessage")
        o.get("type")
        return cls(
            o.integer("id"),
            o.integer("sessionId"),
            o.integer("agentId"),
            o.integer("sessionMessageTypeId"),
            o.time("published"),
            o.text("name"),
            o.rest(),
        )


@dataclass(frozen=True)
class TranscriptMessage:
    id: int | None
    time_stamp: datetime | None = None
    to: str | None = None
    from_: str | None = None
    message: str | None = None
    from_agent: bool | None = None
    type: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> TranscriptMessage:
        o = _Obj(data, "transcriptMessage")
        return cls(
            o.integer("id"),
            o.time("timeStamp"),  # seed: typed "integer", sampled as a JSON timestamp
            o.text("to"),
            o.text("from"),
            o.text("message"),
            o.flag("fromAgent"),
            o.text("type"),
            o.rest(),
        )


@dataclass(frozen=True)
class SessionById(ModelSession):
    """seed: Session by ID Response. Every include section is None when it was not asked for,
    null or absent (the seed: "Can be null")."""

    customer_history: tuple[SessionBase, ...] | None = None
    aftercall_options: AftercallOptions | None = None
    hold_timer_threshold: int | None = None
    im_prompts: tuple[ImPrompt, ...] | None = None
    ivr_data: tuple[IvrData, ...] | None = None
    call_dispositions: tuple[CallDisposition, ...] | None = None
    transcript: tuple[TranscriptMessage, ...] | None = None
    extra_items: tuple[ExtraItem, ...] | None = None
    session_event_history: tuple[SessionEvent, ...] | None = None
    session_messages: tuple[SessionMessage, ...] | None = None

    @classmethod
    def from_json(cls, data: Any) -> SessionById:
        o = _Obj(data, "sessionById")
        kwargs = cls._model_kwargs(o)
        # seed: the sample says aftercallOptions, the dictionary aftercallConfig.
        aftercall = o.get("aftercallOptions", "aftercallConfig")
        return cls(
            **kwargs,
            customer_history=_opt_list(o.get("customerHistory"), SessionBase, "customerHistory"),
            aftercall_options=None if aftercall is None else AftercallOptions.from_json(aftercall),
            hold_timer_threshold=o.integer("holdTimerThreshold"),
            # seed: the dictionary spells it imPropts.
            im_prompts=_opt_list(o.get("imPrompts", "imPropts"), ImPrompt, "imPrompts"),
            ivr_data=_opt_list(o.get("ivrData"), IvrData, "ivrData"),
            call_dispositions=_opt_list(
                o.get("callDispositions"), CallDisposition, "callDispositions"
            ),
            transcript=_opt_list(o.get("transcript"), TranscriptMessage, "transcript"),
            extra_items=_opt_list(o.get("extraItems"), ExtraItem, "extraItems"),
            session_event_history=_opt_list(
                o.get("sessionEventHistory"), SessionEvent, "sessionEventHistory"
            ),
            session_messages=_opt_list(o.get("sessionMessages"), SessionMessage, "sessionMessages"),
            raw=o.rest(),
        )


@dataclass(frozen=True)
class RecordingStatus:
    session_id: int
    is_recording: bool | None = None
    can_be_recorded: bool | None = None
    request_denied: bool | None = None
    request_failed: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> RecordingStatus:
        o = _Obj(data, "recordingStatus")
        return cls(
            o.req_int("sessionId"),
            o.flag("isRecording"),
            o.flag("canBeRecorded"),
            o.flag("requestDenied"),
            o.flag("requestFailed"),
            o.rest(),
        )


@dataclass(frozen=True)
class ConnectAgentStatus:
    """seed: Connect Agent Status (and the Status Model of realtime data). `agent_status` is the
    camel-cased name (`unavailable`); it is filled from the id when only the id is sent."""

    agent_status: str | None = None
    agent_status_id: int | None = None
    reason_code_name: str | None = None
    reason_code_id: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    is_suspended: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> ConnectAgentStatus:
        o = _Obj(data, "agentStatus")
        status_id = o.integer("agentStatusId")
        name = normalize_agent_status(o.get("agentStatus"))
        if name is None and status_id is not None:
            name = AGENT_STATUS_IDS.get(status_id)
        if status_id is None and name is not None:
            status_id = AGENT_STATUS_NAMES.get(name.lower())
        return cls(
            name,
            status_id,
            o.text("reasonCodeName"),
            o.integer("reasonCodeId"),  # seed: "reasonCodeId": "1" in the list sample
            o.time("startTime", "utcStartTime"),
            o.time("endTime", "utcEndTime"),
            o.flag("isSuspended"),
            o.rest(),
        )


@dataclass(frozen=True)
class AgentStatus:
    """seed: Agent Status by Agent Response."""

    id: int
    name: str | None = None
    current_status: ConnectAgentStatus | None = None
    type: str = "agent"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> AgentStatus:
        o = _Obj(data, "agentStatusByAgent")
        current = o.get("currentStatus")
        return cls(
            o.req_int("id"),
            o.text("name"),
            None if current is None else ConnectAgentStatus.from_json(current),
            normalize_entity_type(o.get("type")) or "agent",
            o.rest(),
        )


def _metric_bag(value: Any, what: str) -> dict[str, dict[str, Any]] | None:
    """A Metric Bag keyed by modality name (normalised), each a dict of metrics kept as sent."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ClarityProtocolError(f"{what}: expected an object keyed by modality")
    bag: dict[str, dict[str, Any]] = {}
    for key, metrics in value.items():
        if metrics is None:
            continue
        if not isinstance(metrics, Mapping):
            raise ClarityProtocolError(f"{what}.{key}: expected an object of metrics")
        bag[normalize_modality(key, default=None)] = dict(metrics)
    return bag


@dataclass(frozen=True)
class MetricData:
    """What Realtime, Aggregate and Group Metric Data Responses share.

    Also the shape of subscription diff items, so everything but the entity's identity is
    optional: `metrics` merges per modality and metric, `current_status` is replaced whole,
    `sessions` (a Session Bag, per modality: addedSessions / sessions / removedSessions) and the
    breakdown lists are kept as sent for the merge code."""

    type: str = ""
    name: str | None = None
    metrics: dict[str, dict[str, Any]] | None = None
    sessions: dict[str, dict[str, Any]] | None = None
    current_status: ConnectAgentStatus | None = None
    status_history: tuple[ConnectAgentStatus, ...] | None = None
    breakdowns: list[Any] | None = None
    added_breakdowns: list[Any] | None = None
    removed_breakdowns: list[Any] | None = None

    @classmethod
    def _common(cls, o: _Obj) -> dict[str, Any]:
        current = o.get("currentStatus")
        history = o.get("statusHistory")
        if history is not None and not isinstance(history, list):
            raise ClarityProtocolError(f"{o.what}.statusHistory: expected an array")

        def lst(name: str) -> list[Any] | None:
            value = o.get(name)
            if value is None:
                return None
            if isinstance(value, Mapping) and "items" in value:
                value = value["items"]
            if not isinstance(value, list):
                raise ClarityProtocolError(f"{o.what}.{name}: expected an array")
            return list(value)

        sessions = o.get("sessions")
        return {
            "type": normalize_entity_type(o.get("type")),
            "name": o.text("name"),
            "metrics": _metric_bag(o.get("metrics"), f"{o.what}.metrics"),
            "sessions": _metric_bag(sessions, f"{o.what}.sessions"),
            "current_status": None if current is None else ConnectAgentStatus.from_json(current),
            "status_history": None
            if history is None
            else tuple(ConnectAgentStatus.from_json(h) for h in history),
            "breakdowns": lst("breakdowns"),
            "added_breakdowns": lst("addedBreakdowns"),
            "removed_breakdowns": lst("removedBreakdowns"),
        }

    def metric(self, modality: str, name: str, default: Any = None) -> Any:
        """One metric, its name matched without regard to case (the seed mixes `AnsweredCount`
        and `answeredCount`)."""
        bag = (self.metrics or {}).get(normalize_modality(modality, default=None)) or {}
        if name in bag:
            return bag[name]
        lowered = name.lower()
        return next((v for k, v in bag.items() if k.lower() == lowered), default)


@dataclass(frozen=True)
class RealtimeData(MetricData):
    """seed: Realtime Data Response, one agent or queue."""

    id: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> RealtimeData:
        o = _Obj(data, "realtimeData")
        common = cls._common(o)
        return cls(**common, id=o.req_int("id"), raw=o.rest())


@dataclass(frozen=True)
class AggregateData(MetricData):
    """seed: Aggregate Metric Data Response."""

    entity_ids: tuple[int, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # seed: "includes all the Properties of the Realtime Data Response", its `id` too (an
    # aggregate names its entities in entityIds; an id, when sent, is kept).
    id: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> AggregateData:
        o = _Obj(data, "aggregateData")
        common = cls._common(o)
        if not o.has("entityIds"):
            raise ClarityProtocolError("aggregateData: missing required field 'entityIds'")
        return cls(**common, entity_ids=o.ints("entityIds"), id=o.integer("id"), raw=o.rest())


@dataclass(frozen=True)
class GroupData(MetricData):
    """seed: Group Metric Data Response. `group_type` is `team`, `group` or `businessUnit`."""

    group_type: str = ""
    group_id: int = 0
    entity_ids: tuple[int, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    id: int | None = None  # as AggregateData's

    @classmethod
    def from_json(cls, data: Any) -> GroupData:
        o = _Obj(data, "groupData")
        common = cls._common(o)
        entity_ids = o.ints("entityIds") if o.has("entityIds") else None
        return cls(
            **common,
            group_type=normalize_entity_type(o.req("groupType")),
            group_id=o.req_int("groupId"),
            entity_ids=entity_ids,
            id=o.integer("id"),
            raw=o.rest(),
        )


@dataclass(frozen=True)
class Alert:
    """An alert, as the contract page frames `alertUpdate` items."""

    id: int
    type: str = "alert"
    name: str | None = None
    severity: str | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    entity_name: str | None = None
    metric: str | None = None
    modality: str | None = None
    value: float | None = None
    threshold: float | None = None
    is_active: bool | None = None
    raised_time: datetime | None = None
    cleared_time: datetime | None = None
    message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Alert:
        o = _Obj(data, "alert")
        entity_type = o.get("entityType")
        modality = o.get("modality")
        return cls(
            id=o.req_int("id"),
            type=o.text("type") or "alert",
            name=o.text("name"),
            severity=o.text("severity"),
            entity_type=None if entity_type is None else normalize_entity_type(entity_type),
            entity_id=o.integer("entityId"),
            entity_name=o.text("entityName"),
            metric=o.text("metric"),
            modality=None if modality is None else normalize_modality(modality, default=None),
            value=o.number("value"),
            threshold=o.number("threshold"),
            is_active=o.flag("isActive"),
            raised_time=o.time("raisedTime"),
            cleared_time=o.time("clearedTime"),
            message=o.text("message"),
            raw=o.rest(),
        )


SUBSCRIPTION_TYPES: tuple[str, ...] = (
    "agents",
    "agentsAggregate",
    "agentsGroup",
    "queues",
    "queuesAggregate",
    "queuesGroup",
    "alerts",
)
_ITEM_TYPES: dict[str, type[Any]] = {
    "agents": RealtimeData,
    "queues": RealtimeData,
    "agentsaggregate": AggregateData,
    "queuesaggregate": AggregateData,
    "agentsgroup": GroupData,
    "queuesgroup": GroupData,
    "alerts": Alert,
    "alert": Alert,
}

# Hub method names (contract page): server-to-client invocations.
HUB_SUBSCRIPTION_UPDATE = "subscriptionUpdate"
HUB_ALERT_UPDATE = "alertUpdate"
HUB_GET_CONNECTION_ID = "GetConnectionId"

# Metrics that measure time up to "now" (the age of the oldest waiting contact) move with the
# clock between updates; a picture and a REST answer read a moment apart differ on them without
# being out of sync. Lower case: metric names are compared case-insensitively.
CLOCK_DRIVEN_METRICS = frozenset({"longestqueuedtime"})


@dataclass(frozen=True)
class SubscriptionUpdate:
    """One `subscriptionUpdate` / `alertUpdate` message (contract page). `items` are kept as
    sent (diffs are partial; the merge code reads them); `parsed_items()` types them."""

    subscription_id: str
    subscription_type: str
    sequence: int
    is_snapshot: bool
    timestamp: datetime | None = None
    items: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any, *, alert: bool = False) -> SubscriptionUpdate:
        o = _Obj(data, "subscriptionUpdate")
        items = o.get("items")
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise ClarityProtocolError("subscriptionUpdate.items: expected an array of objects")
        is_snapshot = o.flag("isSnapshot")
        if is_snapshot is None:
            raise ClarityProtocolError("subscriptionUpdate: missing required field 'isSnapshot'")
        sub_type = o.text("subscriptionType") or ("alerts" if alert else None)
        if sub_type is None:
            raise ClarityProtocolError(
                "subscriptionUpdate: missing required field 'subscriptionType'"
            )
        return cls(
            o.req_text("subscriptionId"),
            sub_type,
            o.req_int("sequence"),
            is_snapshot,
            o.time("timestamp"),
            tuple(dict(i) for i in items),
            o.rest(),
        )

    def parsed_items(self) -> tuple[Any, ...]:
        """Items as RealtimeData, AggregateData, GroupData or Alert, by subscription type."""
        item_cls = _ITEM_TYPES.get(self.subscription_type.lower())
        if item_cls is None:
            raise ClarityProtocolError(f"unknown subscription type {self.subscription_type!r}")
        return tuple(item_cls.from_json(i) for i in self.items)


def parse_subscription_created(data: Any) -> str:
    """Contract page: subscribe calls answer `200 {"subscriptionId": "..."}`."""
    if isinstance(data, str) and data:
        return data  # a bare JSON string would do as well
    o = _Obj(data, "subscription")
    return o.req_text("subscriptionId", "id")


class BatchResponse(NamedTuple):
    """seed: each batch answer is `{"code": status, "body": ...}`."""

    status: int
    body: Any


def parse_batch(data: Any, expected: int) -> list[BatchResponse]:
    if not isinstance(data, list):
        raise ClarityProtocolError("batch: expected an array of responses")
    if len(data) != expected:
        raise ClarityProtocolError(f"batch: {expected} requests but {len(data)} responses")
    out: list[BatchResponse] = []
    for item in data:
        o = _Obj(item, "batch item")
        out.append(BatchResponse(o.req_int("code", "statusCode", "status"), o.get("body")))
    return out


@dataclass(frozen=True)
class AgentSearch:
    agent_id: int
    first_name: str | None = None
    last_name: str | None = None
    public_name: str | None = None
    login_name: str | None = None
    sip_address: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    status: int | None = None
    calls_answered: int | None = None
    ronas: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> AgentSearch:
        o = _Obj(data, "agentSearch")
        o.get("type")
        o.get("id")
        return cls(
            o.req_int("agentId", "id"),
            o.text("firstName"),
            o.text("lastName"),
            o.text("publicName"),
            o.text("loginName"),
            o.text("sipAddress"),
            o.text("emailAddress"),
            o.text("phoneNumber"),
            o.integer("status"),
            o.integer("callsAnswered"),
            o.integer("ronas"),
            o.rest(),
        )


@dataclass(frozen=True)
class QueueSearch:
    queue_id: int
    queue_name: str | None = None
    is_open: bool | None = None
    agents_online: int | None = None
    agents_available: int | None = None
    estimated_wait_time: int | None = None
    calls_today: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> QueueSearch:
        o = _Obj(data, "queueSearch")
        o.get("type")
        o.get("id")
        return cls(
            o.req_int("queueId", "id"),
            o.text("queueName", "name"),
            o.flag("isOpen"),
            o.integer("agentsOnline"),
            o.integer("agentsAvailable"),
            o.integer("estimatedWaitTime"),
            o.integer("callsToday"),
            o.rest(),
        )


@dataclass(frozen=True)
class SearchResult:
    agents: tuple[AgentSearch, ...] = ()
    queues: tuple[QueueSearch, ...] = ()
    message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> SearchResult:
        o = _Obj(data, "search")
        agents = o.get("agentsFound")  # seed: "Can be null"
        queues = o.get("queuesFound")
        return cls(
            () if agents is None else _parse_list(agents, AgentSearch, "agentsFound"),
            () if queues is None else _parse_list(queues, QueueSearch, "queuesFound"),
            o.text("message"),
            o.rest(),
        )


def parse_string(data: Any, what: str, *keys: str) -> str:
    """GRUU and specific server answer "a string": a JSON string, or (the dictionary's reading)
    an object with one field such as `gruu`."""
    if isinstance(data, str):
        return data
    if isinstance(data, Mapping):
        o = _Obj(data, what)
        return o.req_text(*keys)
    raise ClarityProtocolError(f"{what}: expected a string, got {type(data).__name__}")


def parse_localization(data: Any) -> dict[str, str]:
    if not isinstance(data, Mapping):
        raise ClarityProtocolError("localization: expected an object of strings")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def error_message(data: Any) -> str | None:
    """The upstream's explanation in an error body: `{"message"}` (ASP.NET Web API, and the
    contract), `{"Message"}`, or the token service's `{"error", "error_description"}`."""
    if isinstance(data, Mapping):
        for key in ("message", "Message", "error_description", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    if isinstance(data, str) and data.strip():
        return data.strip()
    return None


__all__ = [
    "AGENT_STATUS_IDS",
    "AGENT_STATUS_NAMES",
    "API_ROOT",
    "GRANT_TYPE",
    "HUB_ALERT_UPDATE",
    "HUB_GET_CONNECTION_ID",
    "HUB_SUBSCRIPTION_UPDATE",
    "LOG_LEVELS",
    "MODALITIES",
    "MODALITY_IDS",
    "PARTS",
    "QUERY_TIMESTAMP_FORMAT",
    "SESSION_INCLUDES",
    "SESSION_WRITE_METHOD",
    "SUBSCRIPTION_TYPES",
    "UNAVAILABLE",
    "V2",
    "AftercallOptions",
    "AgentParticipation",
    "AgentSearch",
    "AgentStatus",
    "AggregateData",
    "Alert",
    "ApiVersion",
    "BatchResponse",
    "CallDisposition",
    "CallSubDisposition",
    "ConnectAgentStatus",
    "DashboardSettings",
    "ExtraItem",
    "GroupData",
    "HiddenQueue",
    "ImPrompt",
    "Info",
    "IvrData",
    "IvrNode",
    "Kind",
    "MbuAgent",
    "MbuBusinessUnit",
    "MbuGroup",
    "MbuQueue",
    "MbuStructure",
    "MbuTeam",
    "MetricData",
    "ModelSession",
    "Part",
    "Profile",
    "QueueSearch",
    "RealtimeData",
    "RecordingStatus",
    "SearchResult",
    "SelectedDisposition",
    "Selection",
    "SessionBase",
    "SessionById",
    "SessionEvent",
    "SessionMessage",
    "Shape",
    "SubscriptionKind",
    "SubscriptionUpdate",
    "TranscriptMessage",
    "WireRequest",
    "agent_status",
    "agent_status_id",
    "batch",
    "client_logs",
    "customer_history",
    "dashboard_settings",
    "delete_subscription",
    "error_message",
    "format_query_timestamp",
    "format_timestamp",
    "gruu",
    "info",
    "is_token_challenge",
    "list_agent_statuses",
    "list_items",
    "localization",
    "mbu",
    "metrics",
    "normalize_agent_status",
    "normalize_entity_type",
    "normalize_modality",
    "parse_batch",
    "parse_localization",
    "parse_string",
    "parse_subscription_created",
    "parse_timestamp",
    "profile",
    "search",
    "session",
    "sessions_by_agent",
    "set_call_notes",
    "set_dispositions",
    "set_extra_item",
    "set_suspended",
    "specific_server",
    "start_recording",
    "stop_recording",
    "subscribe",
    "subscribe_alerts",
    "token_url_from_challenge",
    "transcript",
    "unregister",
    "update_agent_status",
    "update_subscription",
]

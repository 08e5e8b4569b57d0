"""The Connect Web API v2 over REST: one typed async method per method of the seed document.

Transport policy (what this module owns; the wire format itself is in `wire.py`):
- one `httpx.AsyncClient` per ClarityClient, `Accept: application/json`,
  `Accept-Encoding: gzip` (the seed's only valid value; httpx decodes it), TLS settings and
  timeouts from the config, the bearer token from TokenProvider on every call;
- a 401 renews the token once and retries once; a second 401 is ClarityUnauthorized;
- idempotent calls (GETs, and POSTs that only read, like the metrics filters) are retried on 5xx
  and network errors with exponential backoff and full jitter; actions never are, since a
  duplicate could act twice (a status change, a recording, a subscription);
- errors carry the status, the route (method and path, no query string) and the upstream's
  message. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from . import wire
from .config import ClarityConfig
from .errors import (
    ClarityBadRequest,
    ClarityError,
    ClarityNotFound,
    ClarityProtocolError,
    ClarityServerError,
    ClarityUnauthorized,
    ClarityUnavailable,
)
from .tokens import TokenProvider
from .wire import (
    AgentStatus,
    AggregateData,
    BatchResponse,
    ConnectAgentStatus,
    DashboardSettings,
    GroupData,
    Info,
    MbuStructure,
    ModelSession,
    Profile,
    RealtimeData,
    RecordingStatus,
    SearchResult,
    Selection,
    SessionBase,
    SessionById,
    TranscriptMessage,
    WireRequest,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

Modalities = Iterable[int | str] | None
_USER_AGENT = "clarity-dashboard/0.1 (+httpx)"


class ClarityClient:
    """Async client of one Clarity Connect server.

    ```python
    async with ClarityClient(config) as client:
        profile = await client.profile()
    ```
    `transport` replaces the network (httpx.MockTransport in unit tests); `sleep`, `rng` and
    `clock` (epoch seconds, for token expiry) make delays and renewals testable.
    """

    def __init__(
        self,
        config: ClarityConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        tokens: TokenProvider | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
                "User-Agent": _USER_AGENT,
            },
            timeout=httpx.Timeout(config.timeout),
            verify=config.tls_verify(),
            transport=transport,
            follow_redirects=False,  # a redirect would carry the bearer token elsewhere
        )
        self.tokens = tokens or TokenProvider(
            config, self._http, clock=clock, sleep=sleep, rng=self._rng
        )

    async def __aenter__(self) -> ClarityClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"ClarityClient(url={self.config.url!r}, auth={self.config.auth!r})"

    # -- transport ---------------------------------------------------------------------------

    async def request(self, req: WireRequest) -> Any:
        """Send one request; return its decoded JSON body (None for an empty body or a 204)."""
        response = await self._send(req)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClarityProtocolError(
                "the answer is not JSON", status=response.status_code, route=req.route
            ) from None

    async def call(self, req: WireRequest, parse: Callable[[Any], T]) -> T:
        """Send `req` and parse its answer; a parse failure is a protocol error of that route."""
        data = await self.request(req)
        try:
            return parse(data)
        except ClarityProtocolError as exc:
            if exc.route:
                raise
            raise ClarityProtocolError(exc.message, status=200, route=req.route) from None

    async def _send(self, req: WireRequest) -> httpx.Response:
        policy = self.config.retry
        attempt = 0
        renewed = False
        while True:
            token = await self.tokens.token()
            headers = {"Authorization": f"Bearer {token}"}
            if req.body is not None or req.method != "GET":
                # seed: "POST requests must also include a Content-Type header", body or not.
                headers["Content-Type"] = "application/json"
            started = time.monotonic()
            try:
                response = await self._http.request(
                    req.method, req.url(), json=req.body, headers=headers
                )
            except httpx.DecodingError:
                raise ClarityProtocolError(
                    "the answer could not be decoded (Content-Encoding)", route=req.route
                ) from None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "no answer"
                if req.idempotent and attempt + 1 < policy.attempts:
                    log.info("Clarity %s %s (%s); retrying", req.route, kind, type(exc).__name__)
                    await self._backoff(attempt)
                    attempt += 1
                    continue
                raise ClarityUnavailable(
                    f"{kind} ({type(exc).__name__}) after {attempt + 1} attempt(s)",
                    route=req.route,
                ) from None
            log.debug(
                "Clarity %s -> %s in %.0f ms",
                req.route,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            status = response.status_code
            if status == 401:
                if renewed or not wire.is_token_challenge(response.headers):
                    raise self._error(req, response, ClarityUnauthorized)
                try:
                    await self.tokens.invalidate(token)
                except ClarityUnauthorized as exc:
                    # token mode: nothing to renew with; give the route along.
                    raise ClarityUnauthorized(exc.message, status=401, route=req.route) from None
                renewed = True
                continue
            if status >= 500 and req.idempotent and attempt + 1 < policy.attempts:
                log.info("Clarity %s -> %s; retrying", req.route, status)
                await self._backoff(attempt)
                attempt += 1
                continue
            if not 200 <= status < 300:
                # 3xx included: redirects are not followed (they would carry the token along).
                raise self._error(req, response, _ERRORS.get(status, _fallback_error(status)))
            return response

    async def _backoff(self, attempt: int) -> None:
        # Full jitter: uniform in [0, min(cap, base * 2^attempt)].
        await self._sleep(self._rng.uniform(0, self.config.retry.ceiling(attempt)))

    @staticmethod
    def _error(req: WireRequest, response: httpx.Response, cls: type[ClarityError]) -> ClarityError:
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = response.text[:200] if response.content else None
        message = wire.error_message(body) or response.reason_phrase or "error"
        return cls(message, status=response.status_code, route=req.route)

    # -- info & profile ----------------------------------------------------------------------

    async def info(self) -> Info:
        return await self.call(wire.info(), Info.from_json)

    async def profile(self) -> Profile:
        return await self.call(wire.profile(), Profile.from_json)

    async def mbu(self) -> MbuStructure:
        return await self.call(wire.mbu(), MbuStructure.from_json)

    async def dashboard_settings(self) -> DashboardSettings:
        return await self.call(wire.dashboard_settings(), DashboardSettings.from_json)

    async def unregister(
        self, *, sip: str | None = None, gruu: str | None = None, session_ids: Sequence[int] = ()
    ) -> None:
        await self.request(wire.unregister(sip=sip, gruu=gruu, session_ids=session_ids))

    # -- sessions ----------------------------------------------------------------------------

    async def sessions_by_agent(self, agent_id: int) -> tuple[ModelSession, ...]:
        return await self.call(wire.sessions_by_agent(agent_id), _list_of(ModelSession, "sessions"))

    async def session(
        self,
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
        include_all: bool = False,
    ) -> SessionById:
        """Session by ID; `include_all` turns every include flag on."""
        req = wire.session(
            session_id,
            include_customer_history=include_customer_history or include_all,
            customer_history_limit=customer_history_limit,
            include_im_prompts=include_im_prompts or include_all,
            include_ivr_data=include_ivr_data or include_all,
            include_dispositions=include_dispositions or include_all,
            include_current_transcript=include_current_transcript or include_all,
            include_extra_items=include_extra_items or include_all,
            include_session_event_history=include_session_event_history or include_all,
            include_aftercall_options=include_aftercall_options or include_all,
            include_hold_timer_threshold=include_hold_timer_threshold or include_all,
        )
        return await self.call(req, SessionById.from_json)

    async def transcript(
        self,
        session_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        size: int | None = None,
    ) -> tuple[TranscriptMessage, ...]:
        req = wire.transcript(session_id, start=start, end=end, size=size)
        return await self.call(req, _list_of(TranscriptMessage, "transcript"))

    async def gruu(self, session_id: int) -> str:
        return await self.call(
            wire.gruu(session_id), lambda data: wire.parse_string(data, "gruu", "gruu")
        )

    async def customer_history(
        self,
        session_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> tuple[SessionBase, ...]:
        req = wire.customer_history(session_id, start=start, end=end, limit=limit)
        return await self.call(req, _list_of(SessionBase, "customerHistory"))

    async def set_extra_item(
        self,
        session_id: int,
        *,
        value: str,
        extra_item_id: int | None = None,
        name: str | None = None,
    ) -> None:
        await self.request(
            wire.set_extra_item(session_id, value=value, extra_item_id=extra_item_id, name=name)
        )

    async def set_call_notes(self, session_id: int, note: str) -> None:
        await self.request(wire.set_call_notes(session_id, note))

    async def set_dispositions(
        self, session_id: int, disposition_id: int, sub_disposition_id: int | None = None
    ) -> None:
        await self.request(wire.set_dispositions(session_id, disposition_id, sub_disposition_id))

    async def start_recording(self, agent_id: int) -> tuple[RecordingStatus, ...]:
        return await self.call(
            wire.start_recording(agent_id), _list_of(RecordingStatus, "recording")
        )

    async def stop_recording(self, agent_id: int) -> tuple[RecordingStatus, ...]:
        return await self.call(
            wire.stop_recording(agent_id), _list_of(RecordingStatus, "recording")
        )

    # -- agent status ------------------------------------------------------------------------

    async def agent_status(self, agent_id: int) -> AgentStatus:
        return await self.call(wire.agent_status(agent_id), AgentStatus.from_json)

    async def update_agent_status(
        self, agent_id: int, status: int | str, reason_code_id: int | None = None
    ) -> None:
        """Set the status (an id or a name: `available`, `unavailable`, ...); a reason code
        only goes with `unavailable`."""
        await self.request(wire.update_agent_status(agent_id, status, reason_code_id))

    async def set_suspended(self, agent_id: int, suspended: bool) -> None:
        await self.request(wire.set_suspended(agent_id, suspended))

    async def list_agent_statuses(self, agent_id: int) -> tuple[ConnectAgentStatus, ...]:
        return await self.call(
            wire.list_agent_statuses(agent_id), _list_of(ConnectAgentStatus, "statuses")
        )

    # -- metrics -----------------------------------------------------------------------------

    async def agent_metrics(
        self,
        agent_id: int,
        *,
        part: wire.Part | None = None,
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        include_status_history: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> RealtimeData:
        req = wire.metrics(
            "agents",
            "one",
            entity_id=agent_id,
            part=part,
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            include_status_history=include_status_history,
            metric_properties=metric_properties,
            status_properties=status_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _one(data, RealtimeData, "agent metrics"))

    async def agents_metrics(
        self,
        agent_ids: Iterable[int],
        *,
        part: wire.Part | None = None,
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        include_status_history: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> tuple[RealtimeData, ...]:
        req = wire.metrics(
            "agents",
            "many",
            selection=Selection.of(agent_ids=agent_ids),
            part=part,
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            include_status_history=include_status_history,
            metric_properties=metric_properties,
            status_properties=status_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _many(data, RealtimeData, "agents metrics"))

    async def agents_aggregate(
        self,
        *,
        agent_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> AggregateData:
        req = wire.metrics(
            "agents",
            "aggregateBy",
            selection=Selection.of(
                agent_ids=agent_ids,
                team_ids=team_ids,
                group_ids=group_ids,
                business_unit_ids=business_unit_ids,
            ),
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            metric_properties=metric_properties,
            status_properties=status_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _one(data, AggregateData, "agents aggregate"))

    async def agents_group(
        self,
        *,
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        agent_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> tuple[GroupData, ...]:
        """seed: with several kinds of ids, the server groups by team, then group, then BU."""
        req = wire.metrics(
            "agents",
            "groupBy",
            selection=Selection.of(
                agent_ids=agent_ids,
                team_ids=team_ids,
                group_ids=group_ids,
                business_unit_ids=business_unit_ids,
            ),
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            metric_properties=metric_properties,
            status_properties=status_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _many(data, GroupData, "agents groupBy"))

    async def queue_metrics(
        self,
        queue_id: int,
        *,
        part: wire.Part | None = None,
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> RealtimeData:
        req = wire.metrics(
            "queues",
            "one",
            entity_id=queue_id,
            part=part,
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            metric_properties=metric_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _one(data, RealtimeData, "queue metrics"))

    async def queues_metrics(
        self,
        queue_ids: Iterable[int],
        *,
        part: wire.Part | None = None,
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> tuple[RealtimeData, ...]:
        req = wire.metrics(
            "queues",
            "many",
            selection=Selection.of(queue_ids=queue_ids),
            part=part,
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            metric_properties=metric_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _many(data, RealtimeData, "queues metrics"))

    async def queues_aggregate(
        self,
        *,
        queue_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> AggregateData:
        req = wire.metrics(
            "queues",
            "aggregateBy",
            selection=Selection.of(
                queue_ids=queue_ids,
                team_ids=team_ids,
                group_ids=group_ids,
                business_unit_ids=business_unit_ids,
            ),
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            metric_properties=metric_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _one(data, AggregateData, "queues aggregate"))

    async def queues_group(
        self,
        *,
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        queue_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> tuple[GroupData, ...]:
        req = wire.metrics(
            "queues",
            "groupBy",
            selection=Selection.of(
                queue_ids=queue_ids,
                team_ids=team_ids,
                group_ids=group_ids,
                business_unit_ids=business_unit_ids,
            ),
            modalities=modalities,
            include_breakdowns=include_breakdowns,
            metric_properties=metric_properties,
            session_properties=session_properties,
        )
        return await self.call(req, lambda data: _many(data, GroupData, "queues groupBy"))

    # -- resources, server -------------------------------------------------------------------

    async def localization(self, locale: str) -> dict[str, str]:
        return await self.call(wire.localization(locale), wire.parse_localization)

    async def specific_server(self) -> str:
        return await self.call(
            wire.specific_server(),
            lambda data: wire.parse_string(data, "specificServer", "specificServer", "server"),
        )

    # -- subscriptions -----------------------------------------------------------------------

    async def _subscribe(self, req: WireRequest) -> str:
        return await self.call(req, wire.parse_subscription_created)

    async def subscribe_agents(
        self,
        connection_id: str,
        *,
        agent_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        include_status_history: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> str:
        """Subscribe to agents; returns the subscription id. Updates arrive on the hub."""
        return await self._subscribe(
            wire.subscribe(
                "agents",
                connection_id,
                selection=Selection.of(
                    agent_ids=agent_ids,
                    team_ids=team_ids,
                    group_ids=group_ids,
                    business_unit_ids=business_unit_ids,
                ),
                modalities=modalities,
                include_breakdowns=include_breakdowns,
                include_status_history=include_status_history,
                metric_properties=metric_properties,
                status_properties=status_properties,
                session_properties=session_properties,
            )
        )

    async def subscribe_agents_aggregate(
        self,
        connection_id: str,
        *,
        agent_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> str:
        return await self._subscribe(
            wire.subscribe(
                "agentsAggregate",
                connection_id,
                selection=Selection.of(
                    agent_ids=agent_ids,
                    team_ids=team_ids,
                    group_ids=group_ids,
                    business_unit_ids=business_unit_ids,
                ),
                modalities=modalities,
                include_breakdowns=include_breakdowns,
                metric_properties=metric_properties,
                status_properties=status_properties,
                session_properties=session_properties,
            )
        )

    async def subscribe_agents_group(
        self,
        connection_id: str,
        *,
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        agent_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> str:
        return await self._subscribe(
            wire.subscribe(
                "agentsGroup",
                connection_id,
                selection=Selection.of(
                    agent_ids=agent_ids,
                    team_ids=team_ids,
                    group_ids=group_ids,
                    business_unit_ids=business_unit_ids,
                ),
                modalities=modalities,
                include_breakdowns=include_breakdowns,
                metric_properties=metric_properties,
                status_properties=status_properties,
                session_properties=session_properties,
            )
        )

    async def subscribe_queues(
        self,
        connection_id: str,
        *,
        queue_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> str:
        return await self._subscribe(
            wire.subscribe(
                "queues",
                connection_id,
                selection=Selection.of(
                    queue_ids=queue_ids,
                    team_ids=team_ids,
                    group_ids=group_ids,
                    business_unit_ids=business_unit_ids,
                ),
                modalities=modalities,
                include_breakdowns=include_breakdowns,
                metric_properties=metric_properties,
                session_properties=session_properties,
            )
        )

    async def subscribe_queues_aggregate(
        self,
        connection_id: str,
        *,
        queue_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> str:
        return await self._subscribe(
            wire.subscribe(
                "queuesAggregate",
                connection_id,
                selection=Selection.of(
                    queue_ids=queue_ids,
                    team_ids=team_ids,
                    group_ids=group_ids,
                    business_unit_ids=business_unit_ids,
                ),
                modalities=modalities,
                include_breakdowns=include_breakdowns,
                metric_properties=metric_properties,
                session_properties=session_properties,
            )
        )

    async def subscribe_queues_group(
        self,
        connection_id: str,
        *,
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        queue_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        metric_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> str:
        return await self._subscribe(
            wire.subscribe(
                "queuesGroup",
                connection_id,
                selection=Selection.of(
                    queue_ids=queue_ids,
                    team_ids=team_ids,
                    group_ids=group_ids,
                    business_unit_ids=business_unit_ids,
                ),
                modalities=modalities,
                include_breakdowns=include_breakdowns,
                metric_properties=metric_properties,
                session_properties=session_properties,
            )
        )

    async def subscribe_alerts(self, connection_id: str) -> str:
        return await self._subscribe(wire.subscribe_alerts(connection_id))

    async def update_subscription(
        self,
        subscription_id: str,
        connection_id: str,
        *,
        agent_ids: Iterable[int] = (),
        queue_ids: Iterable[int] = (),
        team_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        business_unit_ids: Iterable[int] = (),
        modalities: Modalities = None,
        include_breakdowns: bool = False,
        include_status_history: bool = False,
        metric_properties: Sequence[str] | None = None,
        status_properties: Sequence[str] | None = None,
        session_properties: Sequence[str] | None = None,
    ) -> None:
        """Change what a subscription covers; a new snapshot follows on the hub."""
        await self.request(
            wire.update_subscription(
                subscription_id,
                connection_id,
                selection=Selection.of(
                    agent_ids=agent_ids,
                    queue_ids=queue_ids,
                    team_ids=team_ids,
                    group_ids=group_ids,
                    business_unit_ids=business_unit_ids,
                ),
                modalities=modalities,
                include_breakdowns=include_breakdowns,
                include_status_history=include_status_history,
                metric_properties=metric_properties,
                status_properties=status_properties,
                session_properties=session_properties,
            )
        )

    async def delete_subscription(self, subscription_id: str, connection_id: str) -> None:
        await self.request(wire.delete_subscription(subscription_id, connection_id))

    # -- batch, client logs, search ----------------------------------------------------------

    async def batch(self, requests: Sequence[WireRequest]) -> list[BatchResponse]:
        """Several requests in one (build them with the `wire` functions: `wire.profile()`,
        `wire.agent_status(5)`, ...). Returns `(status, body)` per request, in order; a failed
        part does not raise, its status says what happened."""
        return await self.call(
            wire.batch(requests), lambda data: wire.parse_batch(data, len(requests))
        )

    async def client_logs(
        self,
        message: str,
        *,
        log_level: str | None = None,
        session_id: int | None = None,
        component: str | None = None,
    ) -> None:
        await self.request(
            wire.client_logs(
                message, log_level=log_level, session_id=session_id, component=component
            )
        )

    async def search(self, query: str) -> SearchResult:
        return await self.call(wire.search(query), SearchResult.from_json)


_ERRORS: dict[int, type[ClarityError]] = {
    400: ClarityBadRequest,
    401: ClarityUnauthorized,
    404: ClarityNotFound,
}


def _fallback_error(status: int) -> type[ClarityError]:
    return ClarityServerError if status >= 500 else ClarityError


def _list_of(cls: type[Any], what: str) -> Callable[[Any], tuple[Any, ...]]:
    def parse(data: Any) -> tuple[Any, ...]:
        return tuple(cls.from_json(item) for item in wire.list_items(data, what))

    return parse


def _one(data: Any, cls: type[Any], what: str) -> Any:
    # The seed's by-id samples answer an object; tolerate a one-element array too.
    if isinstance(data, list):
        if len(data) != 1:
            raise ClarityProtocolError(f"{what}: expected one object, got {len(data)}")
        data = data[0]
    return cls.from_json(data)


def _many(data: Any, cls: type[Any], what: str) -> tuple[Any, ...]:
    if isinstance(data, dict) and "items" not in data:
        data = [data]  # one entity sent bare
    return tuple(cls.from_json(item) for item in wire.list_items(data, what))


__all__ = ["ClarityClient"]

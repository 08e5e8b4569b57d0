"""The live feed from Clarity Connect's SignalR hub, kept alive for weeks.

`LiveFeed` owns the hub connection and every subscription of a plan, and keeps converging on the
upstream's true state whatever happens to the connection: it reconnects (with a fresh token and
backoff), resubscribes, resynchronises a subscription whose sequence shows a gap, renews the
connection before its token expires, and notices a connection that has gone silent.

Data path: the SignalR library's receive thread hands each hub message to a bounded inbox (never
blocking that thread; on overflow the message is dropped and its subscription flagged for a
resync), the event loop drains the inbox, checks each subscription's sequence and hands every
accepted message, in order, to `on_message` (or to `messages()`).

The SignalR library sits behind `HubTransport` (implemented by `signalr_transport`), the REST
calls behind `SubscriptionApi` (`ClarityClientSubscriptionApi` adapts `client.ClarityClient`),
the token behind `TokenSource` (`tokens.TokenProvider` fits it).

Rules the feed follows (contract page, "Snapshot, diffs and sequence"):

- after every (re)connect: `GetConnectionId`, then every subscription of the plan is created
  again with that id (a subscription ends with its connection); a subscription's first message is
  a snapshot, and may arrive before the subscribe call's answer: messages for subscription ids we
  do not know yet are buffered and released in order once the id is known (dropped if nobody
  claims them within `orphan_ttl`);
- per subscription, `sequence` grows by one: a duplicate (sequence <= last) is dropped; a gap, a
  diff before the snapshot, or a message lost at the inbox makes the feed resubscribe (delete,
  ignoring 404, then create: a fresh snapshot);
- a new stream's snapshot is delivered with `restart` set ("initial", "reconnect", "resync",
  "renew"), so the consumer knows to replace, not merge.

The watchdog (every `watchdog_interval`):

- the connection has not been connected for `reconnect_grace` -> a new connection (signalrcore,
  when its own reconnect is enabled, stays "reconnecting" forever after one failed attempt);
- its token is due for renewal (the same rule as `tokens.TokenProvider`: max(10 % of the lifetime,
  `renew_margin`) before expiry, at most half the lifetime early) -> make-before-break: a second
  connection with a fresh token, every subscription created on it, each one switching over at its
  new snapshot, then the old connection is closed;
- no frame at all (messages or the server's Pings) for `stall_timeout` -> a new connection.
  The server pings after 15 s without traffic, so a healthy connection is never silent for more
  than about 15 s; the official clients call a server dead after 30 s (twice the keep-alive). We
  default to 45 s, three ping intervals: one more interval of tolerance for a loaded server or a
  slow network before paying for a full resubscribe (every subscription's snapshot again). It is
  the transport's frame clock that counts (signalr_transport surfaces Pings), so an idle plan is
  not mistaken for a stall; with a transport that cannot see Pings, only messages count, and the
  dashboard's plan (agents with running metrics, queues, alerts) changes every second anyway.
- a subscription created but without a snapshot after `snapshot_timeout` -> resubscribe it.

Nothing here blocks the event loop: the transport runs the library's blocking calls on threads
with timeouts; REST calls are async.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from . import wire
from .errors import ClarityNotFound, ClarityProtocolError, ClarityUnauthorized

if TYPE_CHECKING:
    from .client import ClarityClient

log = logging.getLogger(__name__)

# -- interfaces ---------------------------------------------------------------------------------


class TransportError(Exception):
    """The hub connection could not be started, or a call over it failed."""


class TransportUnauthorized(TransportError):
    """The hub refused the token (401 on negotiate or on the WebSocket upgrade)."""


@dataclass(frozen=True)
class TransportHandlers:
    """What a transport calls, from the SignalR library's threads. None of them blocks.

    - `on_message(target, arguments)`: a hub Invocation from the server;
    - `on_open(reconnected)`: the handshake is done; `reconnected` when the library reconnected
      on its own (a new server connection: new connection id, no subscriptions);
    - `on_close(error)`: the connection is gone for good; `error` is the server's Close error,
      if it sent one.
    """

    on_message: Callable[[str, list[Any]], None]
    on_open: Callable[[bool], None]
    on_close: Callable[[str | None], None]


class HubTransport(Protocol):
    """One connection to the hub: started once, stopped once (reconnecting = a new transport).

    `last_frame_at` is the `time.monotonic()` of the last frame of any kind (None if the
    transport cannot tell; then only messages count for stall detection)."""

    last_frame_at: float | None

    @property
    def connected(self) -> bool: ...

    async def start(self, url: str, token: str, handlers: TransportHandlers) -> None: ...

    async def invoke(self, method: str, args: list[Any]) -> Any:
        """The Completion's result; the caller bounds it with asyncio.timeout."""
        ...

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Never takes longer than `timeout`: a library close that hangs is abandoned on its
        thread (asyncio.timeout could not cancel it)."""
        ...


class TokenSource(Protocol):
    """`tokens.TokenProvider` fits: `invalidate` may be a coroutine (it then renews)."""

    @property
    def expires_at(self) -> float | None: ...

    async def token(self) -> str: ...

    def invalidate(self, token: str) -> Any: ...


class SubscriptionApi(Protocol):
    """Creates and deletes subscriptions over REST. `subscribe` returns the subscription id;
    `unsubscribe` of an unknown id must not fail (404 is success for a delete)."""

    async def subscribe(self, spec: SubscriptionSpec, connection_id: str) -> str: ...

    async def unsubscribe(self, subscription_id: str, connection_id: str) -> None: ...


# -- what to subscribe --------------------------------------------------------------------------

SUBSCRIPTION_KINDS = (
    "agents",
    "agentsAggregate",
    "agentsGroup",
    "queues",
    "queuesAggregate",
    "queuesGroup",
    "alerts",
)


def _int_tuple(values: Iterable[Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _str_tuple(values: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    return tuple(str(v) for v in values)


@dataclass(frozen=True)
class SubscriptionSpec:
    """One subscription of a plan: kind, selection (ids) and options. Hashable; the feed keys
    its per-subscription state on it."""

    kind: str
    agent_ids: tuple[int, ...] = ()
    queue_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    group_ids: tuple[int, ...] = ()
    business_unit_ids: tuple[int, ...] = ()
    include_status_history: bool = False
    include_breakdowns: bool = False
    modalities: tuple[str, ...] = ()
    metric_properties: tuple[str, ...] = ()
    status_properties: tuple[str, ...] = ()
    session_properties: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SUBSCRIPTION_KINDS:
            raise ValueError(f"unknown subscription kind {self.kind!r}")
        for attr in ("agent_ids", "queue_ids", "team_ids", "group_ids", "business_unit_ids"):
            object.__setattr__(self, attr, _int_tuple(getattr(self, attr)))
        for attr in ("modalities", "metric_properties", "status_properties", "session_properties"):
            object.__setattr__(self, attr, _str_tuple(getattr(self, attr)))
        if self.kind.startswith("agents") and self.queue_ids:
            raise ValueError(f"{self.kind} selects by agent, team, group or business unit ids")
        if self.kind.startswith("queues") and (self.agent_ids or self.status_properties):
            raise ValueError(f"{self.kind} selects by queue, team, group or business unit ids")
        if self.include_status_history and self.kind != "agents":
            raise ValueError("include_status_history is only for agent subscriptions")
        if self.kind == "alerts" and (self.has_selection or self.include_breakdowns):
            raise ValueError("an alerts subscription takes no selection and no options")

    @property
    def has_selection(self) -> bool:
        return bool(
            self.agent_ids
            or self.queue_ids
            or self.team_ids
            or self.group_ids
            or self.business_unit_ids
        )

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        parts = [self.kind]
        for attr, short in (
            ("agent_ids", "agents"),
            ("queue_ids", "queues"),
            ("team_ids", "teams"),
            ("group_ids", "groups"),
            ("business_unit_ids", "businessUnits"),
        ):
            ids = getattr(self, attr)
            if ids:
                parts.append(f"{short}={len(ids)}")
        return " ".join(parts)


def _mbu_entities(
    mbu: Mapping[str, Any] | wire.MbuStructure, key: str, attr: str
) -> list[tuple[int, int | None]]:
    """(id, teamId) of each entity of one MBU section."""
    if isinstance(mbu, wire.MbuStructure):
        return [(e.id, getattr(e, "team_id", None)) for e in getattr(mbu, attr)]
    # The raw JSON: keys compared without regard to case (the seed's samples mix cases).
    section = next(
        (v for k, v in mbu.items() if isinstance(k, str) and k.lower() == key.lower()), None
    )
    found: list[tuple[int, int | None]] = []
    for entity in section if isinstance(section, list) else ():
        if not isinstance(entity, Mapping):
            continue
        fields = {str(k).lower(): v for k, v in entity.items()}
        entity_id, team_id = fields.get("id"), fields.get("teamid")
        if isinstance(entity_id, int) and not isinstance(entity_id, bool):
            found.append((entity_id, team_id if isinstance(team_id, int) else None))
    return found


def _ids(entities: Iterable[tuple[int, int | None]]) -> tuple[int, ...]:
    return tuple(sorted({entity_id for entity_id, _team in entities}))


def default_plan(mbu: Mapping[str, Any] | wire.MbuStructure) -> list[SubscriptionSpec]:
    """The dashboard's subscriptions for an MBU structure (GET /v2/profile/mbu: the JSON as a
    dict, or `client.mbu()`'s MbuStructure):

    agents (by team, with status history; agents outside the visible teams, such as
    supervisors, by id), queues (by id), the agent and queue totals
    (aggregates over everything visible), agents and queues grouped by team, by group and by
    business unit, and alerts. Selections that would be empty are left out (a subscription
    without ids is refused with 401)."""
    agents = _mbu_entities(mbu, "agents", "agents")
    queues = _ids(_mbu_entities(mbu, "queues", "queues"))
    teams = _ids(_mbu_entities(mbu, "teams", "teams"))
    groups = _ids(_mbu_entities(mbu, "groups", "groups"))
    units = _ids(_mbu_entities(mbu, "businessUnits", "business_units"))
    # Agents outside the visible teams (supervisors carry teamId -1) come by id.
    loose = _ids((a, t) for a, t in agents if t not in teams)
    plan: list[SubscriptionSpec] = []
    if teams:
        plan.append(
            SubscriptionSpec(
                "agents", team_ids=teams, include_status_history=True, name="agents by team"
            )
        )
    if loose:
        plan.append(
            SubscriptionSpec(
                "agents", agent_ids=loose, include_status_history=True, name="agents without team"
            )
        )
    if teams:
        plan.append(SubscriptionSpec("agentsAggregate", team_ids=teams, name="agents total"))
    elif agents:
        plan.append(
            SubscriptionSpec("agentsAggregate", agent_ids=_ids(agents), name="agents total")
        )
    if queues:
        plan.append(SubscriptionSpec("queues", queue_ids=queues, name="queues"))
        plan.append(SubscriptionSpec("queuesAggregate", queue_ids=queues, name="queues total"))
    for selection, ids, what in (
        ({"team_ids": teams}, teams, "team"),
        ({"group_ids": groups}, groups, "group"),
        ({"business_unit_ids": units}, units, "business unit"),
    ):
        if ids:
            for kind in ("agentsGroup", "queuesGroup"):
                plan.append(SubscriptionSpec(
                    kind, name=f"{kind[:-5]} grouped by {what}",
                    team_ids=selection.get("team_ids", ()),
                    group_ids=selection.get("group_ids", ()),
                    business_unit_ids=selection.get("business_unit_ids", ())))
    plan.append(SubscriptionSpec("alerts", name="alerts"))
    return plan


# -- what comes out -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedMessage:
    """One accepted hub message, in order for its subscription.

    `restart` is set on the first message (a snapshot) of a new stream for `spec`: "initial",
    "reconnect" (a new connection), "resync" (a gap was repaired) or "renew" (the connection was
    renewed for a fresh token); None for a message that continues the stream. `payload` is the
    message as the server sent it (the contract page's framing)."""

    target: str
    spec: SubscriptionSpec
    subscription_id: str
    sequence: int
    is_snapshot: bool
    restart: str | None
    epoch: int
    payload: dict[str, Any]
    received_at: float  # wall clock, when the feed handed it over

    @property
    def items(self) -> list[Any]:
        items = self.payload.get("items")
        return items if isinstance(items, list) else []


@dataclass(frozen=True)
class FeedEvent:
    """Lifecycle news for logs and the admin page: connected, disconnected, connect_failed,
    unauthorized, subscribed, subscribe_failed, subscribe_denied, resync, stall, renewing,
    overflow."""

    kind: str
    detail: str = ""
    spec: SubscriptionSpec | None = None
    error: BaseException | None = None


@dataclass
class FeedStats:
    """Counters since the feed started. `dropped`: hub messages dropped at the bounded inbox, the
    orphan buffer or the output queue (each leads to a resync); `stale`: messages of
    subscriptions or connections no longer current; `buffered`: messages that arrived before
    their subscribe call's answer; `last_message_at` and `connected_since`: wall clock."""

    snapshots: int = 0
    diffs: int = 0
    duplicates: int = 0
    gaps: int = 0
    resyncs: int = 0
    reconnects: int = 0
    renewals: int = 0
    stalls: int = 0
    dropped: int = 0
    stale: int = 0
    malformed: int = 0
    buffered: int = 0
    orphans_expired: int = 0
    connect_failures: int = 0
    subscribe_failures: int = 0
    connections: int = 0
    last_message_at: float | None = None
    connected_since: float | None = None


# -- internals ----------------------------------------------------------------------------------

_STREAM_TARGETS = frozenset({wire.HUB_SUBSCRIPTION_UPDATE, wire.HUB_ALERT_UPDATE})
_MAX_FLAGGED = 1000


class _Inbox:
    """The only hand-over from the library's threads to the loop: bounded, never blocks the
    producer. Hub messages beyond `maxsize` are dropped and their subscription ids flagged;
    control events (open/close, one each per connection) are always admitted."""

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self._loop = loop
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._items: deque[tuple[Any, ...]] = deque()
        self._wake_pending = False
        self._event = asyncio.Event()
        self._dropped = 0
        self._flagged: set[tuple[int, str]] = set()
        self._flag_all: set[int] = set()

    def put_message(self, epoch: int, target: str, args: list[Any]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._items) >= self._maxsize:
                self._dropped += 1
                sub_id = _peek_subscription_id(args)
                if sub_id is None or len(self._flagged) >= _MAX_FLAGGED:
                    self._flag_all.add(epoch)
                else:
                    self._flagged.add((epoch, sub_id))
                wake = self._arm()
            else:
                self._items.append((epoch, "message", target, args, now))
                wake = self._arm()
        if wake:
            self._wake()

    def put_control(self, epoch: int, kind: str, value: Any) -> None:
        with self._lock:
            self._items.append((epoch, kind, value, None, time.monotonic()))
            wake = self._arm()
        if wake:
            self._wake()

    def _arm(self) -> bool:
        if self._wake_pending:
            return False
        self._wake_pending = True
        return True

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed: the feed is gone
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        await self._event.wait()
        self._event.clear()

    def drain(self) -> tuple[list[tuple[Any, ...]], int, set[tuple[int, str]], set[int]]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            dropped, self._dropped = self._dropped, 0
            flagged, self._flagged = self._flagged, set()
            flag_all, self._flag_all = self._flag_all, set()
            self._wake_pending = False
        return items, dropped, flagged, flag_all

    def __len__(self) -> int:
        return len(self._items)


def _peek_subscription_id(args: list[Any]) -> str | None:
    try:
        payload = args[0]
        for key, value in payload.items():
            if isinstance(key, str) and key.lower() == "subscriptionid":
                return str(value)
    except Exception:
        return None
    return None


@dataclass(eq=False)
class _Sub:
    spec: SubscriptionSpec
    conn: _Conn
    restart: str
    sub_id: str
    registered_at: float
    last_seq: int = 0
    dead: bool = False


@dataclass(eq=False)
class _Conn:
    epoch: int
    transport: HubTransport
    token: str
    expires_at: float | None
    renew_at: float | None
    state: str = "connecting"  # connecting, live, draining, closed
    connection_id: str = ""
    live_since: float = 0.0
    down_since: float | None = None
    last_message: float = 0.0
    drain_deadline: float = 0.0
    subs: dict[str, _Sub] = field(default_factory=dict)
    retired_ids: set[str] = field(default_factory=set)
    dropped_ids: set[str] = field(default_factory=set)
    orphans: dict[str, deque[tuple[float, str, dict[str, Any]]]] = field(default_factory=dict)
    subscribing: set[SubscriptionSpec] = field(default_factory=set)


def _jwt_expiry(token: str) -> float | None:
    """`exp` of a JWT, unverified (only to schedule renewal); None if it is not one."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        exp = claims.get("exp")
    except (IndexError, ValueError, binascii.Error, AttributeError):
        return None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


def _renew_at(expires_at: float | None, now: float, margin: float) -> float | None:
    """Same rule as tokens.TokenProvider: max(10 % of the lifetime, `margin`) before expiry, but
    never earlier than half-way."""
    if expires_at is None:
        return None
    lifetime = max(0.0, expires_at - now)
    early = min(max(0.1 * lifetime, margin), lifetime / 2)
    return expires_at - early


def _is_denied(exc: BaseException) -> bool:
    if isinstance(exc, ClarityUnauthorized | PermissionError):
        return True
    return getattr(exc, "status", None) in (401, 403)


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ClarityNotFound) or getattr(exc, "status", None) == 404


def default_transport_factory() -> HubTransport:
    from .signalr_transport import SignalRTransport  # the one module that imports signalrcore

    return SignalRTransport()


# -- the feed -----------------------------------------------------------------------------------


class LiveFeed:
    """Keeps the hub connection and the plan's subscriptions alive; see the module docstring.

    Run it as a task (`await feed.run()` until cancelled). Messages go to `on_message` (called on
    the loop, in order; it must not block) or, without one, to `messages()`."""

    def __init__(
        self,
        hub_url: str,
        tokens: TokenSource,
        api: SubscriptionApi,
        plan: Iterable[SubscriptionSpec],
        *,
        transport_factory: Callable[[], HubTransport] = default_transport_factory,
        watchdog_interval: float = 1.0,
        reconnect_grace: float = 10.0,
        stall_timeout: float = 45.0,
        max_queue: int = 10_000,
        on_message: Callable[[FeedMessage], None] | None = None,
        on_event: Callable[[FeedEvent], None] | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 15.0,
        renew_margin: float = 60.0,
        invoke_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        orphan_ttl: float = 30.0,
        snapshot_timeout: float = 30.0,
        denied_retry: float = 300.0,
        drain_timeout: float = 15.0,
        stable_after: float = 30.0,
        subscribe_concurrency: int = 4,
    ) -> None:
        specs = list(plan)
        if len(set(specs)) != len(specs):
            raise ValueError("the plan names the same subscription twice")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.hub_url = hub_url
        self.plan: tuple[SubscriptionSpec, ...] = tuple(specs)
        self.stats = FeedStats()
        self.watchdog_interval = watchdog_interval
        self.reconnect_grace = reconnect_grace
        self.stall_timeout = stall_timeout
        self.max_queue = max_queue
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.renew_margin = renew_margin
        self.invoke_timeout = invoke_timeout
        self.stop_timeout = stop_timeout
        self.orphan_ttl = orphan_ttl
        self.snapshot_timeout = snapshot_timeout
        self.denied_retry = denied_retry
        self.drain_timeout = drain_timeout
        self.stable_after = stable_after
        self._tokens = tokens
        self._api = api
        self._transport_factory = transport_factory
        self._on_message = on_message
        self._on_event = on_event
        self._out: asyncio.Queue[FeedMessage] = asyncio.Queue(maxsize=max_queue)
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._sem = asyncio.Semaphore(subscribe_concurrency)
        self._inbox: _Inbox | None = None
        self._conns: dict[int, _Conn] = {}
        self._primary: _Conn | None = None
        self._active: dict[SubscriptionSpec, _Sub] = {}
        self._epochs = 0
        self._orphan_count = 0
        self._rebuild = asyncio.Event()
        self._rebuild_request: tuple[_Conn, str] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping: set[asyncio.Task[Any]] = set()
        self._running = False

    # -- public ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        conn = self._primary
        return conn is not None and conn.state == "live" and conn.transport.connected

    @property
    def connection_id(self) -> str | None:
        conn = self._primary
        return conn.connection_id if conn is not None and conn.state == "live" else None

    @property
    def transport(self) -> HubTransport | None:
        """The current connection's transport (for diagnostics and tests)."""
        return self._primary.transport if self._primary is not None else None

    def subscription_ids(self) -> dict[SubscriptionSpec, str]:
        """The subscription currently delivering each spec (those with a snapshot so far)."""
        return {spec: sub.sub_id for spec, sub in self._active.items() if not sub.dead}

    def is_synced(self) -> bool:
        """True when every spec of the plan streams on the current connection."""
        conn = self._primary
        if conn is None or conn.state != "live":
            return False
        for spec in self.plan:
            sub = self._active.get(spec)
            if sub is None or sub.dead or sub.conn is not conn or sub.last_seq == 0:
                return False
        return True

    async def messages(self) -> AsyncIterator[FeedMessage]:
        """The accepted messages, when no `on_message` callback was given."""
        while True:
            yield await self._out.get()

    async def run(self) -> None:
        if self._running:
            raise RuntimeError("LiveFeed.run() is already running")
        self._running = True
        self._inbox = _Inbox(asyncio.get_running_loop(), self.max_queue)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(), name="clarity-feed-pump")
                group.create_task(self._watchdog(), name="clarity-feed-watchdog")
                group.create_task(self._supervise(), name="clarity-feed-supervisor")
        finally:
            self._running = False
            for task in list(self._tasks):
                task.cancel()
            conns = list(self._conns.values())
            self._conns.clear()
            self._primary = None
            for conn in conns:
                conn.state = "closed"
            await asyncio.gather(
                *(c.transport.stop(self.stop_timeout) for c in conns),
                *self._stopping,
                return_exceptions=True,
            )

    # -- connections -------------------------------------------------------------------------

    def _backoff(self, failures: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, failures - 1))
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _supervise(self) -> None:
        failures = 0
        restart = "initial"
        while True:
            conn = self._primary
            if conn is None or conn.state != "live":
                try:
                    conn = await self._establish(None)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    self.stats.connect_failures += 1
                    unauthorized = isinstance(exc, TransportUnauthorized)
                    kind = "unauthorized" if unauthorized else "connect_failed"
                    self._event(kind, f"{type(exc).__name__}: {exc}", error=exc)
                    await asyncio.sleep(self._backoff(failures))
                    continue
                self._promote(conn, restart)
            reason = await self._next_rebuild()
            if reason is None:
                continue
            conn, why = reason
            if conn is not self._primary or conn.state != "live":
                continue
            if why == "renew":
                conn.renew_at = None  # one renewal at a time
                try:
                    fresh = await self._establish(conn)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.stats.connect_failures += 1
                    detail = f"renewal: {type(exc).__name__}: {exc}"
                    self._event("connect_failed", detail, error=exc)
                    # Try again soon; the current token is still valid for a while.
                    conn.renew_at = time.time() + self._backoff(2)
                    continue
                if conn.state == "live":
                    conn.state = "draining"
                    conn.drain_deadline = time.monotonic() + self.drain_timeout
                self.stats.renewals += 1
                self._promote(fresh, "renew")
                continue
            # The connection is lost: break, then make.
            lived = time.monotonic() - conn.live_since
            self._close(conn, why)
            self.stats.reconnects += 1
            restart = "reconnect"
            failures = failures + 1 if lived < self.stable_after else 0
            delay = self._backoff(failures) if failures else self._rng.uniform(0, 0.1)
            await asyncio.sleep(delay)

    async def _next_rebuild(self) -> tuple[_Conn, str] | None:
        await self._rebuild.wait()
        self._rebuild.clear()
        request, self._rebuild_request = self._rebuild_request, None
        return request

    def _request_rebuild(self, conn: _Conn, why: str) -> None:
        if conn is not self._primary or conn.state != "live":
            return
        pending = self._rebuild_request
        if pending is not None and pending[0] is conn and pending[1] != "renew":
            return  # a failure already asked; it wins over a renewal
        self._rebuild_request = (conn, why)
        self._rebuild.set()

    async def _establish(self, renewing: _Conn | None) -> _Conn:
        token = await self._tokens.token()
        if renewing is not None and token == renewing.token:
            fresh = await self._invalidate(token)
            token = fresh if isinstance(fresh, str) else await self._tokens.token()
        now = time.time()
        expires_at = _jwt_expiry(token)
        if expires_at is None:
            expires_at = self._tokens.expires_at
        self._epochs += 1
        epoch = self._epochs
        conn = _Conn(
            epoch=epoch,
            transport=self._transport_factory(),
            token=token,
            expires_at=expires_at,
            renew_at=_renew_at(expires_at, now, self.renew_margin),
        )
        inbox = self._inbox
        assert inbox is not None  # noqa: S101 - set by run()
        handlers = TransportHandlers(
            on_message=lambda target, args: inbox.put_message(epoch, target, args),
            on_open=lambda reconnected: inbox.put_control(epoch, "open", reconnected),
            on_close=lambda error: inbox.put_control(epoch, "close", error),
        )
        self._conns[epoch] = conn
        try:
            await conn.transport.start(self.hub_url, token, handlers)
            connection_id = await self._get_connection_id(conn)
        except BaseException as exc:
            conn.state = "closed"
            self._conns.pop(epoch, None)
            if isinstance(exc, TransportUnauthorized):
                with contextlib.suppress(Exception):
                    await self._invalidate(token)
            self._stop_transport(conn.transport)
            raise
        conn.connection_id = connection_id
        conn.state = "live"
        conn.live_since = time.monotonic()
        self.stats.connections += 1
        self.stats.connected_since = time.time()
        return conn

    async def _get_connection_id(self, conn: _Conn) -> str:
        try:
            async with asyncio.timeout(self.invoke_timeout):
                connection_id = await conn.transport.invoke(wire.HUB_GET_CONNECTION_ID, [])
        except TimeoutError:
            raise TransportError(f"{wire.HUB_GET_CONNECTION_ID} got no answer") from None
        if not isinstance(connection_id, str) or not connection_id:
            raise TransportError(f"{wire.HUB_GET_CONNECTION_ID} returned no connection id")
        return connection_id

    async def _invalidate(self, token: str) -> Any:
        result = self._tokens.invalidate(token)
        if inspect.isawaitable(result):
            return await result
        return result

    def _promote(self, conn: _Conn, restart: str) -> None:
        self._primary = conn
        self._event("connected", f"connection {conn.epoch} ({restart})")
        for spec in self.plan:
            self._spawn_subscribe(conn, spec, restart, None)

    def _close(self, conn: _Conn, why: str) -> None:
        """Forgets a connection at once; its transport is stopped in the background (the next
        connection does not wait for a slow close)."""
        if conn.state == "closed":
            return
        conn.state = "closed"
        for sub in conn.subs.values():
            sub.dead = True
        self._orphan_count -= sum(len(q) for q in conn.orphans.values())
        conn.orphans.clear()
        self._conns.pop(conn.epoch, None)
        if conn is self._primary:
            self._primary = None
        self._event("disconnected", f"connection {conn.epoch}: {why}")
        self._stop_transport(conn.transport)

    def _stop_transport(self, transport: HubTransport) -> None:
        # Tracked apart from the other tasks: run() awaits these at exit instead of cancelling
        # them, so no transport is left open.
        task = asyncio.create_task(transport.stop(self.stop_timeout), name="clarity-feed-stop")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    # -- subscriptions -----------------------------------------------------------------------

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Clarity feed: task %s failed", task.get_name(), exc_info=task.exception())

    def _spawn_subscribe(
        self, conn: _Conn, spec: SubscriptionSpec, restart: str, delete_id: str | None
    ) -> None:
        if spec in conn.subscribing:
            return
        conn.subscribing.add(spec)
        self._spawn(self._subscribe(conn, spec, restart, delete_id), "clarity-feed-subscribe")

    def _usable(self, conn: _Conn) -> bool:
        return conn is self._primary and conn.state == "live"

    async def _subscribe(
        self, conn: _Conn, spec: SubscriptionSpec, restart: str, delete_id: str | None
    ) -> None:
        try:
            if delete_id is not None:
                try:
                    async with self._sem:
                        await self._api.unsubscribe(delete_id, conn.connection_id)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not _is_not_found(exc):
                        log.info("Clarity feed: deleting %s failed: %s", delete_id, exc)
            failures = 0
            while self._usable(conn):
                try:
                    async with self._sem:
                        if not self._usable(conn):
                            return
                        sub_id = await self._api.subscribe(spec, conn.connection_id)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if _is_denied(exc):
                        self._event("subscribe_denied", str(exc), spec=spec, error=exc)
                        delay = self.denied_retry
                    else:
                        failures += 1
                        self.stats.subscribe_failures += 1
                        self._event("subscribe_failed", str(exc), spec=spec, error=exc)
                        delay = self._backoff(failures)
                    await asyncio.sleep(delay)
                    continue
                sub_id = str(sub_id)
                if not self._usable(conn):
                    # The connection went away meanwhile: its subscriptions went with it.
                    return
                self._register(conn, spec, sub_id, restart)
                return
        finally:
            conn.subscribing.discard(spec)

    def _register(self, conn: _Conn, spec: SubscriptionSpec, sub_id: str, restart: str) -> None:
        sub = _Sub(spec, conn, restart, sub_id, registered_at=time.monotonic())
        conn.subs[sub_id] = sub
        self._event("subscribed", f"{spec.label} -> {sub_id}", spec=spec)
        buffered = conn.orphans.pop(sub_id, None)
        if buffered:
            self._orphan_count -= len(buffered)
            for _at, target, payload in buffered:
                if sub.dead:
                    self.stats.stale += 1
                    continue
                self._accept(sub, target, payload)
        if sub_id in conn.dropped_ids and not sub.dead:
            conn.dropped_ids.discard(sub_id)
            self._resync(sub, "a message was lost at the inbox")

    def _retire(self, sub: _Sub) -> None:
        if sub.dead:
            return
        sub.dead = True
        sub.conn.subs.pop(sub.sub_id, None)
        sub.conn.retired_ids.add(sub.sub_id)

    def resync(self, subscription_id: str, why: str) -> bool:
        """The consumer could not use a message this feed delivered (it failed the consumer's
        own checks, or left its picture with a gap): take a fresh snapshot of that stream.
        False if the subscription is no longer current (a newer one is on its way)."""
        for conn in self._conns.values():
            sub = conn.subs.get(subscription_id)
            if sub is not None and not sub.dead:
                self._resync(sub, why)
                return True
        return False

    def _resync(self, sub: _Sub, why: str) -> None:
        self._retire(sub)
        conn = self._primary
        if conn is None or conn.state != "live" or sub.spec in conn.subscribing:
            return  # a new connection resubscribes everything anyway, or one is under way
        self.stats.resyncs += 1
        self._event("resync", f"{sub.spec.label}: {why}", spec=sub.spec)
        delete_id = sub.sub_id if sub.conn is conn else None
        self._spawn_subscribe(conn, sub.spec, "resync", delete_id)

    # -- the message path (on the loop) ------------------------------------------------------

    async def _pump(self) -> None:
        inbox = self._inbox
        assert inbox is not None  # noqa: S101 - set by run()
        while True:
            await inbox.wait()
            items, dropped, flagged, flag_all = inbox.drain()
            for index, item in enumerate(items):
                try:
                    self._handle(item)
                except Exception:
                    # A message we cannot handle must not end the feed.
                    self.stats.malformed += 1
                    log.exception("Clarity feed: handling a hub message failed")
                if index % 256 == 255:
                    await asyncio.sleep(0)  # a long batch must not starve the loop
            if dropped:
                self._overflowed(dropped, flagged, flag_all)

    def _handle(self, item: tuple[Any, ...]) -> None:
        epoch, kind, first, second, at = item
        conn = self._conns.get(epoch)
        if conn is None or conn.state == "closed":
            if kind == "message":
                self.stats.stale += 1
            return
        if kind == "message":
            self._on_hub_message(conn, first, second, at)
        elif kind == "open":
            if first:
                self._on_library_reconnect(conn)
        elif kind == "close":
            self._on_closed(conn, first)

    def _on_closed(self, conn: _Conn, error: str | None) -> None:
        if error:
            # A Close with an error: most likely the token was revoked or expired. Renewing it
            # costs one token request.
            self._spawn(self._invalidate_quietly(conn.token), "clarity-feed-invalidate")
        if conn is self._primary and conn.state == "live":
            self._request_rebuild(conn, f"closed by the server: {error}" if error else "closed")
        elif conn.state == "draining":
            self._close(conn, "closed while draining")

    async def _invalidate_quietly(self, token: str) -> None:
        try:
            await self._invalidate(token)
        except Exception as exc:
            self._event("unauthorized", f"token renewal failed: {exc}", error=exc)

    def _on_library_reconnect(self, conn: _Conn) -> None:
        """The library reconnected on its own: a new server connection, no subscriptions."""
        if conn is not self._primary or conn.state != "live":
            return
        self.stats.reconnects += 1
        for sub in list(conn.subs.values()):
            self._retire(sub)
        self._orphan_count -= sum(len(q) for q in conn.orphans.values())
        conn.orphans.clear()
        conn.down_since = None
        conn.state = "connecting"
        self._spawn(self._reattach(conn), "clarity-feed-reattach")

    async def _reattach(self, conn: _Conn) -> None:
        try:
            connection_id = await self._get_connection_id(conn)
        except Exception as exc:
            self._event("connect_failed", f"after the library's reconnect: {exc}", error=exc)
            conn.state = "live"
            self._request_rebuild(conn, "GetConnectionId failed after a reconnect")
            return
        if conn is not self._primary or conn.state != "connecting":
            return
        conn.connection_id = connection_id
        conn.state = "live"
        conn.live_since = time.monotonic()
        self._promote(conn, "reconnect")

    def _on_hub_message(self, conn: _Conn, target: str, args: list[Any], at: float) -> None:
        conn.last_message = at
        self.stats.last_message_at = time.time()
        if target not in _STREAM_TARGETS:
            log.debug("Clarity feed: ignoring hub method %s", target)
            return
        payload = args[0] if args and isinstance(args[0], dict) else None
        if payload is None:
            self.stats.malformed += 1
            log.warning("Clarity feed: %s without an object argument", target)
            return
        sub_id = _peek_subscription_id(args)
        if sub_id is None:
            self.stats.malformed += 1
            log.warning("Clarity feed: %s without a subscriptionId", target)
            return
        sub = conn.subs.get(sub_id)
        if sub is not None:
            self._accept(sub, target, payload)
            return
        if sub_id in conn.retired_ids:
            self.stats.stale += 1
            return
        # Not claimed yet: the snapshot can beat the subscribe call's answer.
        if self._orphan_count >= self.max_queue:
            self.stats.dropped += 1
            conn.dropped_ids.add(sub_id)
            return
        conn.orphans.setdefault(sub_id, deque()).append((at, target, payload))
        self._orphan_count += 1
        self.stats.buffered += 1

    def _accept(self, sub: _Sub, target: str, payload: dict[str, Any]) -> None:
        try:
            update = wire.SubscriptionUpdate.from_json(
                payload, alert=target == wire.HUB_ALERT_UPDATE
            )
        except ClarityProtocolError as exc:
            self.stats.malformed += 1
            log.warning("Clarity feed: malformed %s for %s: %s", target, sub.sub_id, exc)
            self._resync(sub, "malformed message")
            return
        seq = update.sequence
        if sub.last_seq == 0:
            if not update.is_snapshot:
                self.stats.gaps += 1
                self._resync(sub, f"diff (sequence {seq}) before the snapshot")
                return
        elif seq <= sub.last_seq:
            self.stats.duplicates += 1
            return
        elif seq != sub.last_seq + 1:
            self.stats.gaps += 1
            self._resync(sub, f"sequence gap {sub.last_seq} -> {seq}")
            return
        restart: str | None = None
        if sub.last_seq == 0:
            restart = sub.restart
            previous = self._active.get(sub.spec)
            self._active[sub.spec] = sub
            if previous is not None and previous is not sub:
                self._retire(previous)
        sub.last_seq = seq
        if update.is_snapshot:
            self.stats.snapshots += 1
        else:
            self.stats.diffs += 1
        self._deliver(
            FeedMessage(
                target=target,
                spec=sub.spec,
                subscription_id=sub.sub_id,
                sequence=seq,
                is_snapshot=update.is_snapshot,
                restart=restart,
                epoch=sub.conn.epoch,
                payload=payload,
                received_at=time.time(),
            ),
            sub,
        )

    def _deliver(self, message: FeedMessage, sub: _Sub) -> None:
        if self._on_message is not None:
            try:
                self._on_message(message)
            except Exception:
                log.exception("Clarity feed: on_message failed")
            return
        try:
            self._out.put_nowait(message)
        except asyncio.QueueFull:
            # The consumer is behind: this stream has a hole now, so resynchronise it.
            self.stats.dropped += 1
            self._resync(sub, "the consumer's queue is full")

    def _overflowed(self, dropped: int, flagged: set[tuple[int, str]], flag_all: set[int]) -> None:
        self.stats.dropped += dropped
        self._event("overflow", f"{dropped} hub message(s) dropped at the inbox")
        for epoch, sub_id in flagged:
            conn = self._conns.get(epoch)
            if conn is None or conn.state == "closed":
                continue
            sub = conn.subs.get(sub_id)
            if sub is not None:
                self._resync(sub, "a message was lost at the inbox")
            elif sub_id not in conn.retired_ids:
                conn.dropped_ids.add(sub_id)  # resynced as soon as it is claimed
        for epoch in flag_all:
            conn = self._conns.get(epoch)
            if conn is None or conn.state == "closed":
                continue
            for sub in list(conn.subs.values()):
                self._resync(sub, "messages were lost at the inbox")

    # -- the watchdog ------------------------------------------------------------------------

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.watchdog_interval)
            try:
                self._check()
            except Exception:
                log.exception("Clarity feed: watchdog check failed")

    def _check(self) -> None:
        now = time.monotonic()
        conn = self._primary
        if conn is not None and conn.state == "live":
            transport = conn.transport
            if not transport.connected:
                if conn.down_since is None:
                    conn.down_since = now
                elif now - conn.down_since >= self.reconnect_grace:
                    self._request_rebuild(conn, f"not connected for {now - conn.down_since:.1f} s")
            else:
                conn.down_since = None
                heard = max(conn.live_since, conn.last_message, transport.last_frame_at or 0.0)
                if now - heard >= self.stall_timeout:
                    self.stats.stalls += 1
                    self._event("stall", f"connection {conn.epoch}: silent for {now - heard:.1f} s")
                    self._request_rebuild(conn, "stalled")
            if conn.renew_at is not None and time.time() >= conn.renew_at:
                if self._rebuild_request is None:
                    self._event("renewing", f"connection {conn.epoch}: token due for renewal")
                self._request_rebuild(conn, "renew")
        for other in list(self._conns.values()):
            if other.state != "draining":
                continue
            moved = all(
                (sub := self._active.get(spec)) is not None and sub.conn is not other
                for spec in self.plan
            )
            if moved or now >= other.drain_deadline:
                self._close(other, "renewed" if moved else "renewal drain timed out")
        for each in list(self._conns.values()):
            self._expire_orphans(each, now)
            if each is self._primary and each.state == "live":
                for sub in list(each.subs.values()):
                    if sub.last_seq == 0 and now - sub.registered_at >= self.snapshot_timeout:
                        self._resync(sub, "no snapshot")

    def _expire_orphans(self, conn: _Conn, now: float) -> None:
        for sub_id, queue in list(conn.orphans.items()):
            if queue and now - queue[0][0] >= self.orphan_ttl:
                del conn.orphans[sub_id]
                self._orphan_count -= len(queue)
                self.stats.orphans_expired += len(queue)
                conn.retired_ids.add(sub_id)
                # Nobody claimed it (say a subscribe call that timed out after the server had
                # created it): stop the server from streaming it.
                self._spawn(self._delete_quietly(sub_id, conn), "clarity-feed-unsubscribe")

    async def _delete_quietly(self, sub_id: str, conn: _Conn) -> None:
        if conn.state == "closed":
            return
        try:
            async with self._sem:
                await self._api.unsubscribe(sub_id, conn.connection_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("Clarity feed: deleting unclaimed subscription %s failed: %s", sub_id, exc)

    def _event(
        self,
        kind: str,
        detail: str = "",
        *,
        spec: SubscriptionSpec | None = None,
        error: BaseException | None = None,
    ) -> None:
        level = logging.INFO if kind in ("connected", "subscribed", "renewing") else logging.WARNING
        if kind == "subscribed":
            level = logging.DEBUG
        log.log(level, "Clarity feed: %s %s", kind, detail)
        if self._on_event is None:
            return
        try:
            self._on_event(FeedEvent(kind, detail, spec, error))
        except Exception:
            log.exception("Clarity feed: on_event failed")


# -- the REST side ------------------------------------------------------------------------------


class ClarityClientSubscriptionApi:
    """`SubscriptionApi` over `client.ClarityClient`: one REST call per spec, a delete that
    treats 404 as done."""

    def __init__(self, client: ClarityClient) -> None:
        self._client = client

    async def subscribe(self, spec: SubscriptionSpec, connection_id: str) -> str:
        c = self._client
        if spec.kind == "alerts":
            return await c.subscribe_alerts(connection_id)
        common: dict[str, Any] = {
            "team_ids": spec.team_ids,
            "group_ids": spec.group_ids,
            "business_unit_ids": spec.business_unit_ids,
            "modalities": spec.modalities or None,
            "include_breakdowns": spec.include_breakdowns,
            "metric_properties": spec.metric_properties or None,
            "session_properties": spec.session_properties or None,
        }
        if spec.kind.startswith("agents"):
            common["agent_ids"] = spec.agent_ids
            common["status_properties"] = spec.status_properties or None
            if spec.kind == "agents":
                return await c.subscribe_agents(
                    connection_id, include_status_history=spec.include_status_history, **common
                )
            if spec.kind == "agentsAggregate":
                return await c.subscribe_agents_aggregate(connection_id, **common)
            return await c.subscribe_agents_group(connection_id, **common)
        common["queue_ids"] = spec.queue_ids
        if spec.kind == "queues":
            return await c.subscribe_queues(connection_id, **common)
        if spec.kind == "queuesAggregate":
            return await c.subscribe_queues_aggregate(connection_id, **common)
        return await c.subscribe_queues_group(connection_id, **common)

    async def unsubscribe(self, subscription_id: str, connection_id: str) -> None:
        with contextlib.suppress(ClarityNotFound):  # gone already: that is what we wanted
            await self._client.delete_subscription(subscription_id, connection_id)


__all__ = [
    "SUBSCRIPTION_KINDS",
    "ClarityClientSubscriptionApi",
    "FeedEvent",
    "FeedMessage",
    "FeedStats",
    "HubTransport",
    "LiveFeed",
    "SubscriptionApi",
    "SubscriptionSpec",
    "TokenSource",
    "TransportError",
    "TransportHandlers",
    "TransportUnauthorized",
    "default_plan",
    "default_transport_factory",
]

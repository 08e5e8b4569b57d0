"""An ASP.NET Core SignalR hub server on aiohttp: HTTP negotiate, the WebSockets transport and
the JSON hub protocol, close enough to the real thing that unmodified clients (signalrcore,
pysignalr, Microsoft's JavaScript client) connect to it.

It is generic: it knows hub methods, connections and messages, nothing about contact centers.
The simulator's app registers its methods (`hub.method("GetConnectionId")`) and pushes updates
with `hub.send(connection_id, "subscriptionUpdate", {...})`.

What follows ASP.NET Core (`HttpConnectionDispatcher`, `HubConnectionHandler`,
`DefaultHubDispatcher`, with `EnableDetailedErrors` off):

* `POST {path}/negotiate[?negotiateVersion=N]` answers `negotiateVersion` (always written, 0
  included: signalrcore 1.0.2 refuses a response without it), `connectionId`, for version 1 a
  secret `connectionToken`, and WebSockets as the only transport, Text before Binary
  (signalrcore picks the first format, and Binary would make it speak MessagePack).
  Stateful reconnect is never offered.
* `GET {path}?id=...` upgrades to a WebSocket. The id is the connectionId for negotiate version
  0 and the connectionToken for version 1; unknown ids get 404, an id already in use 409.
  Without `id` a connection is made on the spot (clients' "skip negotiation").
* Both requests are authenticated: a bearer token in `Authorization` or in the `access_token`
  query parameter (browsers cannot set headers on a WebSocket). None or a bad one: 401 with
  `WWW-Authenticate` and an empty body, as the JWT bearer handler does.
* Handshake `{"protocol":"json","version":0|1}` then records terminated by 0x1E, from text or
  binary frames, several per frame or one split over frames.
* Keep-alive: a Ping record when nothing was written for `ping_interval`; a client silent for
  `client_timeout` gets a Close record and is disconnected. The server never sends WebSocket
  ping frames: signalrcore 1.0.2 cannot answer them.
* Error texts are ASP.NET Core's (see the constants below), so clients see what they will see
  in production.

Fault controls for testing clients: `drop_all` (the TCP connection vanishes, no Close),
`refuse_for` (503 on negotiate and upgrade), `stall_for` (nothing written, the socket stays
open, writes queue up and arrive late, in order) and `close_where` (a Close record with an
error, e.g. for expired tokens).

Threading: a hub, its connections and every method here belong to the event loop that runs the
aiohttp app. Call them from that loop only (from another thread, go through
`asyncio.run_coroutine_threadsafe` or `loop.call_soon_threadsafe`).

Tokens are secrets: nothing here logs them, nor raw records (signalrcore and pysignalr copy
their HTTP headers, token included, into every hub message they send).
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import contextlib
import inspect
import json
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

RECORD_SEPARATOR = "\x1e"
PROTOCOL_VERSION = 1  # the newest negotiate version ASP.NET Core speaks
HUB_PROTOCOL = "json"
HUB_PROTOCOL_VERSION = 1  # JSON hub protocol; ASP.NET accepts any version <= this

# ASP.NET Core's texts with detailed errors off. A HubException's message is passed through.
UNKNOWN_METHOD_ERROR = (
    "Failed to invoke '{target}' due to an error on the server. "
    "HubException: Method does not exist."
)
BINDING_ERROR = "Failed to invoke '{target}' due to an error on the server."
METHOD_ERROR = "An unexpected error occurred invoking '{target}' on the server."
STREAMING_ERROR = (
    "The client attempted to invoke the non-streaming '{target}' method with a streaming "
    "invocation."
)
CONNECTION_ERROR = "Connection closed with an error."
HANDSHAKE_TIMEOUT_ERROR = "Handshake was canceled."
HANDSHAKE_ERROR = "An unexpected error occurred during connection handshake."
# What ASP.NET Core (8 and later) sends a client that stayed silent for the client timeout:
# its CloseException is an OperationCanceledException, which the close message hides behind
# the generic text, with allowReconnect set.
CLIENT_TIMEOUT_ERROR = CONNECTION_ERROR
# Not a real server's: a real one slows the sender down instead of giving up on the client.
OVERFLOW_ERROR = "Connection closed with an error. The client did not read its messages."


class MessageType(IntEnum):
    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7
    ACK = 8
    SEQUENCE = 9


class HubException(Exception):
    """Raised by a hub method to send its message to the caller, as ASP.NET's HubException.

    Any other exception reaches the client as the generic METHOD_ERROR only.
    """


Principal = Any
Authenticate = Callable[[str | None], Principal | Awaitable[Principal | None] | None]
ConnectionCallback = Callable[["HubConnection"], Awaitable[None] | None]
HubMethod = Callable[..., Any]


def _encode(message: dict[str, Any]) -> str:
    # allow_nan=False: NaN is not JSON, and a client's parser would reject the whole frame.
    return json.dumps(message, separators=(",", ":"), allow_nan=False) + RECORD_SEPARATOR


_PING_RECORD = _encode({"type": MessageType.PING})


def _new_id() -> str:
    # ASP.NET Core: 16 random bytes, base64url without padding.
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")


def _close_record(error: str | None, allow_reconnect: bool) -> str:
    message: dict[str, Any] = {"type": MessageType.CLOSE}
    if error is not None:
        message["error"] = error
    if allow_reconnect:  # ASP.NET writes the flag only when it is true
        message["allowReconnect"] = True
    return _encode(message)


class _Shutdown:
    """Outbox marker: the writer closes the WebSocket when it gets here."""


_SHUTDOWN = _Shutdown()


@dataclass
class _Negotiated:
    connection_id: str
    connection_token: str
    negotiate_version: int
    created: float


class HubConnection:
    """One client connection, from a completed handshake until the socket is gone."""

    def __init__(
        self,
        hub: SignalRHub,
        *,
        connection_id: str,
        connection_token: str,
        negotiate_version: int,
        principal: Principal,
        token: str | None,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
    ) -> None:
        self.connection_id = connection_id
        self.principal = principal
        self.token = token
        self.negotiate_version = negotiate_version
        self.opened_at = time.time()
        # Free for the app, like ASP.NET's Context.Items (e.g. a connection's subscriptions).
        self.items: dict[str, Any] = {}
        self._connection_token = connection_token
        self._hub = hub
        self._ws = ws
        self._transport = transport
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._outbox: deque[str | _Shutdown] = deque()
        self._outbox_ready = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()
        self._last_sent = loop.time()
        self._last_received = loop.time()
        self._writer_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._cleanup_task: asyncio.Task[Any] | None = None
        # ASP.NET runs one invocation at a time per client (MaximumParallelInvocationsPerClient
        # is 1), so completions come back in order; the socket keeps being read meanwhile.
        self._invoke_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"<HubConnection {self.connection_id}{' closing' if self._closing else ''}>"

    @property
    def closed(self) -> bool:
        """True once the connection is closing or gone: sends are refused from then on."""
        return self._closing or self._closed.is_set()

    async def send(self, target: str, *args: Any) -> bool:
        """Invoke `target` on the client (no invocationId: no answer expected).

        Returns False when the connection is closed or its outbound queue just overflowed.
        """
        return self._enqueue(_encode({"type": MessageType.INVOCATION, "target": target,
                                      "arguments": list(args)}))

    async def close(self, error: str | None = None, allow_reconnect: bool = True) -> None:
        """Send a Close record after whatever is already queued, then close the WebSocket.

        A client that does not take it (not reading, or the hub is stalled past the wait) is
        aborted once `close_timeout` has passed.
        """
        self._begin_close(error, allow_reconnect)
        await self._closed_or_abort()

    async def abort(self) -> None:
        """Drop the TCP connection at once, without a Close record or close frame: what a
        client sees when the network or the server goes away."""
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()
        if asyncio.current_task() is self._cleanup_task:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._closed.wait()), 5.0)

    # Internals -------------------------------------------------------------------------------

    def _begin_close(self, error: str | None, allow_reconnect: bool) -> None:
        # Synchronous on purpose: the Close record is queued even if whoever asked is
        # cancelled before it gets to wait.
        if self._closing:
            return
        self._closing = True
        self._outbox.append(_close_record(error, allow_reconnect))
        self._outbox.append(_SHUTDOWN)
        self._outbox_ready.set()

    async def _closed_or_abort(self) -> None:
        if asyncio.current_task() is self._cleanup_task:
            return  # called from on_disconnect: the connection is already going
        wait = self._hub.close_timeout + self._hub._stall_remaining()
        try:
            await asyncio.wait_for(asyncio.shield(self._closed.wait()), wait)
        except TimeoutError:
            log.info("connection %s did not close in time; aborting it", self.connection_id)
            await self.abort()

    def _enqueue(self, record: str) -> bool:
        if self.closed:
            return False
        if len(self._outbox) >= self._hub.max_queue:
            # The client is not reading (or far too slowly): give up on it rather than hold an
            # unbounded backlog; what is queued is dropped, the Close record goes next.
            log.warning("connection %s: outbound queue full (%d); closing it",
                        self.connection_id, len(self._outbox))
            self._outbox.clear()
            self._begin_close(OVERFLOW_ERROR, allow_reconnect=True)
            self._spawn(self._closed_or_abort())
            return False
        self._outbox.append(record)
        self._outbox_ready.set()
        return True

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_loop(self) -> None:
        """The connection's only writer, so records never interleave and a slow client only
        ever blocks itself."""
        ws = self._ws
        try:
            while True:
                while not self._outbox:
                    self._outbox_ready.clear()
                    await self._outbox_ready.wait()
                await self._hub._unstalled.wait()
                # What queued up is sent together, as ASP.NET's pipe would: one frame may carry
                # several records (every client must cope with that).
                parts: list[str] = []
                size = 0
                while self._outbox:
                    record = self._outbox[0]
                    if isinstance(record, _Shutdown):
                        break
                    if parts and size + len(record) > self._hub.max_frame:
                        break
                    parts.append(record)
                    size += len(record)
                    self._outbox.popleft()
                if parts:
                    await ws.send_str("".join(parts))
                    self._last_sent = self._loop.time()
                elif self._outbox:  # the shutdown marker
                    self._outbox.popleft()
                    await ws.close()
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer is gone; the read loop notices and cleans up
            log.debug("connection %s: write failed: %s", self.connection_id, type(exc).__name__)
            self._closing = True
            if self._transport is not None:
                self._transport.abort()

    async def _keepalive(self) -> None:
        hub = self._hub
        loop = self._loop
        while not self._closing:
            now = loop.time()
            if now - self._last_received >= hub.client_timeout:
                log.info("connection %s: client timeout (%.1fs without a message)",
                         self.connection_id, now - self._last_received)
                await self.close(CLIENT_TIMEOUT_ERROR, allow_reconnect=True)
                return
            stalled = not hub._unstalled.is_set()
            if not stalled and now - self._last_sent >= hub.ping_interval:
                if not self._outbox:  # anything queued will do as a sign of life
                    self._enqueue(_PING_RECORD)
                self._last_sent = now
            wake = self._last_received + hub.client_timeout
            if stalled:
                wake = min(wake, now + hub._stall_remaining())
            else:
                wake = min(wake, self._last_sent + hub.ping_interval)
            await asyncio.sleep(max(wake - loop.time(), 0.005))


class SignalRHub:
    """A SignalR hub endpoint: hub methods, live connections, pushes and fault controls."""

    def __init__(
        self,
        *,
        authenticate: Authenticate,
        challenge: Callable[[str | None], str] | None = None,
        ping_interval: float = 15.0,
        client_timeout: float = 30.0,
        handshake_timeout: float = 15.0,
        negotiate_timeout: float = 15.0,
        close_timeout: float = 5.0,
        max_queue: int = 1000,
        max_frame: int = 64 * 1024,
        max_message_size: int | None = 32 * 1024,
        on_connect: ConnectionCallback | None = None,
        on_disconnect: ConnectionCallback | None = None,
    ) -> None:
        """
        authenticate: the bearer token (None when the request has none) -> a principal, or None
            to answer 401. May be async.
        challenge: the token (or None) -> the `WWW-Authenticate` value of a 401, e.g.
            'Bearer error="invalid_token"'. Without it the header is `Bearer`.
        ping_interval: ASP.NET's KeepAliveInterval; client_timeout: its ClientTimeoutInterval;
        handshake_timeout: its HandshakeTimeout. negotiate_timeout: how long a negotiated id
            waits for its WebSocket. close_timeout: how long a Close may take before the socket
            is aborted.
        max_queue: records waiting for one client before it is given up on (closed).
        max_frame: characters batched into one outgoing frame. max_message_size: largest record
            accepted from a client (ASP.NET's MaximumReceiveMessageSize, 32 KB), None: no limit.
        on_connect / on_disconnect: called after the handshake / once the connection is gone.
        """
        self._authenticate = authenticate
        self._challenge = challenge
        self.ping_interval = ping_interval
        self.client_timeout = client_timeout
        self.handshake_timeout = handshake_timeout
        self.negotiate_timeout = negotiate_timeout
        self.close_timeout = close_timeout
        self.max_queue = max_queue
        self.max_frame = max_frame
        self.max_message_size = max_message_size
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._methods: dict[str, tuple[HubMethod, inspect.Signature | None]] = {}
        self._negotiated: dict[str, _Negotiated] = {}  # by connection token
        self._connections: dict[str, HubConnection] = {}  # by connection id
        self._tokens_in_use: set[str] = set()
        self._refuse_until = 0.0
        self._stall_until = 0.0
        self._stall_handle: asyncio.TimerHandle | None = None
        self._unstalled = asyncio.Event()
        self._unstalled.set()

    # Setup -----------------------------------------------------------------------------------

    def method(self, name: str) -> Callable[[HubMethod], HubMethod]:
        """Register a hub method: `fn(connection, *arguments)`, sync or async; what it returns
        is the invocation's result. Names match case-insensitively, as in ASP.NET."""

        def register(fn: HubMethod) -> HubMethod:
            try:
                signature: inspect.Signature | None = inspect.signature(fn)
            except (TypeError, ValueError):  # some builtins have none; skip the arity check
                signature = None
            self._methods[name.lower()] = (fn, signature)
            return fn

        return register

    def add_routes(self, app: web.Application, path: str) -> None:
        """Serve the hub at `path` (e.g. "/hubs/live"): negotiate, its CORS preflight and the
        WebSocket endpoint. Open connections are closed when the app shuts down."""
        path = path.rstrip("/")
        app.router.add_post(f"{path}/negotiate", self._handle_negotiate)
        app.router.add_route("OPTIONS", f"{path}/negotiate", self._handle_preflight)
        app.router.add_get(path, self._handle_connect, allow_head=False)

        async def on_shutdown(_app: web.Application) -> None:
            await self.shutdown()

        app.on_shutdown.append(on_shutdown)

    # Connections and pushes ------------------------------------------------------------------

    def get(self, connection_id: str) -> HubConnection | None:
        connection = self._connections.get(connection_id)
        return connection if connection is not None and not connection.closed else None

    @property
    def connections(self) -> list[HubConnection]:
        """Open connections (handshake done, not closing), oldest first."""
        return [c for c in self._connections.values() if not c.closed]

    async def send(self, connection_id: str, target: str, *args: Any) -> bool:
        connection = self.get(connection_id)
        return False if connection is None else await connection.send(target, *args)

    # Fault controls --------------------------------------------------------------------------

    async def drop_all(self) -> int:
        """Abort every connection at the TCP level (no Close record); returns how many."""
        victims = list(self._connections.values())
        await asyncio.gather(*(c.abort() for c in victims))
        return len(victims)

    def refuse_for(self, seconds: float) -> None:
        """Answer 503 to negotiate and WebSocket requests for `seconds` (0 ends it)."""
        self._refuse_until = time.monotonic() + seconds

    def stall_for(self, seconds: float) -> None:
        """Write nothing to any socket for `seconds` (0 ends it): no messages, no pings, sockets
        left open. What is sent meanwhile is queued and delivered, in order, afterwards.

        A hung hub rather than a dead network: WebSocket pongs (aiohttp's) still go out, and
        HTTP requests (negotiate) are answered.
        """
        if self._stall_handle is not None:
            self._stall_handle.cancel()
            self._stall_handle = None
        if seconds <= 0:
            self._end_stall()
            return
        loop = asyncio.get_running_loop()
        self._stall_until = time.monotonic() + seconds
        self._unstalled.clear()
        self._stall_handle = loop.call_later(seconds, self._end_stall)

    async def close_where(
        self, predicate: Callable[[HubConnection], bool], error: str,
        allow_reconnect: bool = True,
    ) -> int:
        """Close the open connections `predicate` picks with a Close record carrying `error`
        (e.g. those whose token expired); returns how many."""
        victims = [c for c in self.connections if predicate(c)]
        await asyncio.gather(*(c.close(error, allow_reconnect) for c in victims))
        return len(victims)

    async def shutdown(self) -> None:
        """Close every connection (Close record, reconnect allowed) and forget negotiations."""
        self._negotiated.clear()
        self.stall_for(0)
        await asyncio.gather(*(c.close(None, True) for c in list(self._connections.values())))

    def _end_stall(self) -> None:
        self._stall_handle = None
        self._stall_until = 0.0
        self._unstalled.set()

    def _stall_remaining(self) -> float:
        return 0.0 if self._unstalled.is_set() else max(self._stall_until - time.monotonic(), 0.0)

    def _refusing(self) -> bool:
        return time.monotonic() < self._refuse_until

    # HTTP ------------------------------------------------------------------------------------

    @staticmethod
    def _query(request: web.Request, name: str) -> str | None:
        # ASP.NET's query collection ignores the case of names.
        lowered = name.lower()
        for key, value in request.query.items():
            if key.lower() == lowered:
                return value
        return None

    def _token(self, request: web.Request) -> str | None:
        # As the usual JwtBearer OnMessageReceived hook: the query string first (browsers and
        # the JS client's WebSocket), then the Authorization header.
        token = self._query(request, "access_token")
        if token:
            return token
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None

    async def _principal(self, request: web.Request) -> tuple[str | None, Principal | None]:
        token = self._token(request)
        principal = self._authenticate(token)
        if inspect.isawaitable(principal):
            principal = await principal
        return token, principal

    @staticmethod
    def _cors(request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if not origin:
            return {}
        return {"Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}

    def _unauthorized(self, request: web.Request, token: str | None) -> web.Response:
        challenge = self._challenge(token) if self._challenge is not None else "Bearer"
        headers = {"WWW-Authenticate": challenge, **self._cors(request)}
        return web.Response(status=401, headers=headers)

    async def _handle_preflight(self, request: web.Request) -> web.Response:
        headers = self._cors(request)
        if headers:
            requested = request.headers.get("Access-Control-Request-Headers")
            headers.update({
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": requested
                or "authorization, content-type, x-requested-with, x-signalr-user-agent",
                "Access-Control-Max-Age": "600",
            })
        return web.Response(status=204, headers=headers)

    async def _handle_negotiate(self, request: web.Request) -> web.Response:
        if self._refusing():
            return web.Response(status=503, headers=self._cors(request))
        token, principal = await self._principal(request)
        if principal is None:
            return self._unauthorized(request, token)
        cors = self._cors(request)

        version = 0
        raw_version = self._query(request, "negotiateVersion")
        if raw_version is not None:
            try:
                version = int(raw_version)
            except ValueError:
                return web.json_response(
                    {"error": "The client requested a non-integer protocol version."},
                    headers=cors)
            if version < 0:
                return web.json_response(
                    {"error": f"The client requested version '{version}', but the server does "
                              "not support this version."}, headers=cors)
            version = min(version, PROTOCOL_VERSION)

        now = time.monotonic()
        # Negotiated ids never used are forgotten, as ASP.NET's connection manager does.
        for key, pending in list(self._negotiated.items()):
            if now - pending.created > self.negotiate_timeout:
                del self._negotiated[key]
        connection_id = _new_id()
        connection_token = _new_id() if version >= 1 else connection_id
        self._negotiated[connection_token] = _Negotiated(
            connection_id, connection_token, version, now)

        body: dict[str, Any] = {"negotiateVersion": version, "connectionId": connection_id}
        if version >= 1:
            body["connectionToken"] = connection_token
        body["availableTransports"] = [
            {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]},
        ]
        log.info("negotiated connection %s (version %d)", connection_id, version)
        return web.json_response(body, headers=cors)

    async def _handle_connect(self, request: web.Request) -> web.StreamResponse:
        if self._refusing():
            return web.Response(status=503)
        token, principal = await self._principal(request)
        if principal is None:
            return self._unauthorized(request, token)

        id_param = self._query(request, "id")
        ws = web.WebSocketResponse(
            heartbeat=None,  # never send WebSocket pings (signalrcore 1.0.2 cannot answer)
            autoping=True,  # but do answer the client's (pysignalr, browsers)
            compress=False,  # ASP.NET does not negotiate permessage-deflate by default
            timeout=self.close_timeout,
            max_msg_size=0,  # records are limited below, per record
        )
        if not ws.can_prepare(request).ok:
            if not id_param:
                return web.Response(status=400, text="Connection ID required")
            if id_param not in self._negotiated:
                return web.Response(status=404, text="No Connection with that ID")
            return web.Response(
                status=404, text="LongPolling transport not supported by this end point type")

        if id_param:
            if id_param in self._tokens_in_use:
                return web.Response(status=409, text="Connection ID is already in use")
            pending = self._negotiated.pop(id_param, None)
            if pending is None or time.monotonic() - pending.created > self.negotiate_timeout:
                return web.Response(status=404, text="No Connection with that ID")
        else:
            new_id = _new_id()
            pending = _Negotiated(new_id, new_id, 0, time.monotonic())

        transport = request.transport
        await ws.prepare(request)
        self._tokens_in_use.add(pending.connection_token)
        try:
            await self._run(ws, transport, pending, principal, token)
        finally:
            self._tokens_in_use.discard(pending.connection_token)
        return ws

    # The connection --------------------------------------------------------------------------

    async def _run(
        self, ws: web.WebSocketResponse, transport: asyncio.Transport | None,
        pending: _Negotiated, principal: Principal, token: str | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        reader = _RecordReader(self.max_message_size)

        # Handshake: the first record, within handshake_timeout.
        deadline = loop.time() + self.handshake_timeout
        handshake: str | None = None
        while handshake is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                await self._refuse_handshake(ws, HANDSHAKE_TIMEOUT_ERROR)
                return
            try:
                msg = await ws.receive(timeout=remaining)
            except TimeoutError:
                continue
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return  # gone before the handshake
            try:
                records = reader.feed(msg.data)
            except ValueError:
                await self._refuse_handshake(ws, HANDSHAKE_ERROR)
                return
            if records:
                handshake = records.pop(0)
                reader.pending = records + reader.pending
        error = self._check_handshake(handshake)
        if error is not None:
            await self._refuse_handshake(ws, error)
            return

        connection = HubConnection(
            self, connection_id=pending.connection_id, connection_token=pending.connection_token,
            negotiate_version=pending.negotiate_version, principal=principal, token=token,
            ws=ws, transport=transport)
        # The handshake answer is the first record through the writer: a push made as soon as
        # the connection is listed still arrives after it.
        connection._outbox.append("{}" + RECORD_SEPARATOR)
        self._connections[connection.connection_id] = connection
        log.info("connection %s open", connection.connection_id)
        connection._writer_task = asyncio.ensure_future(connection._write_loop())
        connection._keepalive_task = asyncio.ensure_future(connection._keepalive())
        try:
            if self._on_connect is not None:
                try:
                    await _maybe_await(self._on_connect(connection))
                except Exception:
                    # As an OnConnectedAsync that throws: the client is told and let go.
                    log.exception("on_connect failed for connection %s", connection.connection_id)
                    connection._begin_close(CONNECTION_ERROR, allow_reconnect=False)
            await self._read_loop(connection, reader)
        finally:
            await self._cleanup(connection)

    @staticmethod
    def _check_handshake(record: str) -> str | None:
        try:
            request = json.loads(record)
        except ValueError:
            return HANDSHAKE_ERROR
        if not isinstance(request, dict):
            return HANDSHAKE_ERROR
        protocol, version = request.get("protocol"), request.get("version")
        if not isinstance(protocol, str) or not isinstance(version, int) or isinstance(
                version, bool):
            return HANDSHAKE_ERROR
        if protocol != HUB_PROTOCOL:
            return f"The protocol '{protocol}' is not supported."
        if version > HUB_PROTOCOL_VERSION:
            # signalrcore sends its negotiate version (0) here; ASP.NET accepts <= 1.
            return f"The server does not support version {version} of the '{protocol}' protocol."
        return None

    @staticmethod
    async def _refuse_handshake(ws: web.WebSocketResponse, error: str) -> None:
        with contextlib.suppress(Exception):
            await ws.send_str(_encode({"error": error}))
            await ws.close()

    async def _read_loop(self, connection: HubConnection, reader: _RecordReader) -> None:
        ws = connection._ws
        loop = connection._loop
        records, reader.pending = reader.pending, []
        while True:
            for record in records:
                if not await self._dispatch(connection, record):
                    return
            msg = await ws.receive()
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return  # closed, closing or broken
            # Only hub traffic counts against the client timeout, not WebSocket pings.
            connection._last_received = loop.time()
            try:
                records = reader.feed(msg.data)
            except ValueError:
                await self._protocol_error(connection, "record too large or not UTF-8")
                return

    async def _dispatch(self, connection: HubConnection, record: str) -> bool:
        """Handle one record; False ends the connection."""
        try:
            message = json.loads(record)
        except ValueError:
            await self._protocol_error(connection, "a record is not JSON")
            return False
        kind = message.get("type") if isinstance(message, dict) else None
        if not isinstance(kind, int) or isinstance(kind, bool):
            await self._protocol_error(connection, "a record has no integer 'type'")
            return False
        if kind in (MessageType.INVOCATION, MessageType.STREAM_INVOCATION):
            if not isinstance(message.get("target"), str):
                await self._protocol_error(connection, "an invocation has no 'target'")
                return False
            invocation_id = message.get("invocationId")
            if invocation_id is not None and not isinstance(invocation_id, str):
                await self._protocol_error(connection, "'invocationId' is not a string")
                return False
            connection._spawn(self._invoke(connection, message,
                                           kind == MessageType.STREAM_INVOCATION))
            return True
        if kind == MessageType.CLOSE:
            log.info("connection %s: the client closed", connection.connection_id)
            return False
        # Ping only counts as traffic. StreamItem, Completion and CancelInvocation belong to
        # streams and client results, which this hub never starts; Ack and Sequence to stateful
        # reconnect, never offered. Unknown types are skipped, as ASP.NET's JSON protocol does.
        return True

    async def _protocol_error(self, connection: HubConnection, why: str) -> None:
        log.warning("connection %s: protocol error: %s", connection.connection_id, why)
        connection._begin_close(CONNECTION_ERROR, allow_reconnect=False)

    async def _invoke(self, connection: HubConnection, message: dict[str, Any],
                      streaming: bool) -> None:
        async with connection._invoke_lock:
            completion = await self._execute(connection, message, streaming)
        if completion is not None:
            connection._enqueue(completion)

    async def _execute(self, connection: HubConnection, message: dict[str, Any],
                       streaming: bool) -> str | None:
        target: str = message["target"]
        invocation_id: str | None = message.get("invocationId")

        def failed(template: str, detail: str = "") -> str | None:
            if invocation_id is None:  # nobody to tell, as in ASP.NET
                return None
            return _encode({"type": MessageType.COMPLETION, "invocationId": invocation_id,
                            "error": template.format(target=target) + detail})

        entry = self._methods.get(target.lower())
        if entry is None:
            log.info("connection %s: unknown hub method %r", connection.connection_id, target)
            return failed(UNKNOWN_METHOD_ERROR)
        fn, signature = entry
        arguments = message.get("arguments", [])
        if not isinstance(arguments, list) or message.get("streamIds"):
            return failed(BINDING_ERROR)
        if signature is not None:
            try:
                signature.bind(connection, *arguments)
            except TypeError:
                log.info("connection %s: wrong arguments for %r", connection.connection_id,
                         target)
                return failed(BINDING_ERROR)
        if streaming:
            return failed(STREAMING_ERROR)
        try:
            result = await _maybe_await(fn(connection, *arguments))
            if invocation_id is None:
                return None
            completion: dict[str, Any] = {"type": MessageType.COMPLETION,
                                          "invocationId": invocation_id}
            if result is not None:  # as a void .NET method: no "result" at all
                completion["result"] = result
            return _encode(completion)
        except asyncio.CancelledError:
            raise
        except HubException as exc:
            return failed(METHOD_ERROR, f" HubException: {exc}")
        except Exception:
            log.exception("connection %s: hub method %r failed", connection.connection_id,
                          target)
            return failed(METHOD_ERROR)

    async def _cleanup(self, connection: HubConnection) -> None:
        connection._closing = True
        connection._cleanup_task = asyncio.current_task()
        if self._connections.get(connection.connection_id) is connection:
            del self._connections[connection.connection_id]
        if connection._keepalive_task is not None:
            connection._keepalive_task.cancel()
        for task in list(connection._tasks):
            task.cancel()
        # Let the writer send what it can (a Close record, the close frame) for a moment.
        if connection._writer_task is not None and not connection._writer_task.done():
            if not connection._outbox or connection._outbox[-1] is not _SHUTDOWN:
                connection._outbox.append(_SHUTDOWN)
                connection._outbox_ready.set()
            await asyncio.wait({connection._writer_task}, timeout=self.close_timeout)
            connection._writer_task.cancel()
        if not connection._ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection._ws.close(), self.close_timeout)
        if connection._transport is not None and not connection._transport.is_closing():
            connection._transport.abort()
        log.info("connection %s closed", connection.connection_id)
        try:
            if self._on_disconnect is not None:
                await _maybe_await(self._on_disconnect(connection))
        except Exception:
            log.exception("on_disconnect failed for connection %s", connection.connection_id)
        finally:
            # Only now: whoever awaits close() or abort() finds on_disconnect done.
            connection._closed.set()


class _RecordReader:
    """Splits the incoming text stream into records: several per frame, or one over several
    frames; binary frames are UTF-8 text too."""

    def __init__(self, max_message_size: int | None) -> None:
        self._max = max_message_size
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self.pending: list[str] = []  # complete records read along with the handshake

    def feed(self, data: str | bytes) -> list[str]:
        """Complete records so far; ValueError for bad UTF-8 or a record over the limit."""
        text = data if isinstance(data, str) else self._decoder.decode(data)
        self._buffer += text
        *records, self._buffer = self._buffer.split(RECORD_SEPARATOR)
        if self._max is not None and (
                len(self._buffer) > self._max or any(len(r) > self._max for r in records)):
            raise ValueError("record too large")
        return [r for r in records if r]


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value

"""The hub transport over signalrcore 1.0.2: the ONLY module of the project that imports it.

`live.LiveFeed` talks to the hub through the small `live.HubTransport` interface; this module
implements it with signalrcore, so replacing the SignalR library is a change in this file alone.
One `SignalRTransport` is one `HubConnection` is one server connection: it is started once and
stopped once, never restarted. Reconnecting means building a new one (LiveFeed does that).

What signalrcore 1.0.2 does, read from its source, and what this module does about it:

- **Pings.** Its ping thread (`ConnectionStateChecker`, a Ping after `keep_alive_interval`
  seconds without anything *sent*) only starts when `with_automatic_reconnect` is configured.
  Without client pings the server closes us after 30 s, so it is always configured.
- **Its own reconnect.** On a lost socket it reconnects on its receive thread, reusing the
  negotiate headers, so the token read once at `start()`; a failed attempt leaves it in
  `reconnecting` for good (upstream issue #156: `deferred_reconnect` reads an attribute that does
  not exist, swallows the AttributeError and never tries again); a Close message from the server
  makes it reconnect too, with the same (perhaps revoked) token. We therefore switch its
  reconnect off once the handshake is done (`library_reconnect=False`, the default), keeping its
  ping thread: a lost connection is reported through `on_close` and LiveFeed builds a new
  connection with a fresh token, with its own backoff. `library_reconnect=True` keeps the
  library's behaviour (its reconnects are reported as `on_open(reconnected=True)`); LiveFeed's
  watchdog then rebuilds a connection stuck in `reconnecting`.
- **Threads.** Every callback runs on its receive thread; an exception there tears the
  connection down, a slow callback stalls receipt. Every callback here is wrapped in try/except
  and only hands data to the caller's handlers, which must not block (LiveFeed's put them in a
  bounded queue).
- **No frame-level signal.** It surfaces no Ping and no "last frame received" (pings are only
  logged at DEBUG, Close messages at INFO, no callback). We wrap the connection's `on_message`
  (an instance attribute override of a public method, before `start()`), which sees every
  parsed frame: `last_frame_at` is refreshed by every frame, Pings included, and a Close
  message's `error` is kept and reported.
- **Blocking calls.** `start()` negotiates with urllib and connects a raw socket, both without a
  timeout; `stop()` joins the receive thread, which sits in `recv()` until the server's next
  frame (closing a socket from another thread does not wake a blocked `recv()` on Linux); even
  `send()` can block on a full socket and, on failure, runs a reconnect inline. All of it runs
  here on short-lived daemon threads, awaited with a timeout and abandoned when stuck (a daemon
  thread cannot hold up interpreter exit, unlike the default executor's). `stop()` does not use
  the library's `stop()`: it disables reconnects, stops the ping thread and shuts the socket
  down (`shutdown()` does wake a blocked `recv()`), then joins the receive thread briefly.
- **Token in logs and frames.** `AuthHubConnection.start()` logs the token at DEBUG ("auth
  function result ..."). The library's logger (`SignalRCoreClient`) is capped at WARNING and gets
  a filter that redacts anything shaped like a bearer token or a JWT. `invoke()` would also copy
  the connection's headers, `Authorization` included, into every Invocation frame's `headers`;
  we send our Invocations with empty headers instead.
- **Send before handshake.** `start()` here returns only after the handshake reply (`on_open`),
  so nothing is sent before it.
- **Unsynchronised sends.** Its ping thread and a caller's send write to the socket without a
  lock; we invoke rarely (GetConnectionId once per connection) and refresh the ping timer
  before sending, which makes an interleaved frame very unlikely, not impossible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import threading
import time
import urllib.error
import uuid
from collections.abc import Callable
from typing import Any

from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.messages.invocation_message import InvocationMessage
from signalrcore.messages.message_type import MessageType
from signalrcore.transport.sockets.errors import SocketHandshakeError
from signalrcore.types import HttpTransportType

from .live import TransportError, TransportHandlers, TransportUnauthorized

log = logging.getLogger(__name__)

LIBRARY_LOGGER = "SignalRCoreClient"

_SECRET_PATTERNS = (
    re.compile(r"(?i)bearer\s+[^\s'\",}]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)(access_token=)[^&\s'\"]+"),
)


class _RedactSecrets(logging.Filter):
    """Rewrites a record whose text holds anything shaped like a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string: keep the record as it is
            return True
        redacted = text
        for pattern in _SECRET_PATTERNS:
            redacted = pattern.sub(
                lambda m: (m.group(1) if m.lastindex else "") + "[redacted]", redacted
            )
        if redacted != text:
            record.msg = redacted
            record.args = None
        return True


_FILTER = _RedactSecrets()


def silence_library_logger() -> None:
    """Caps signalrcore's logger at WARNING and redacts tokens from whatever it still logs.

    Idempotent; called at import and again at every start (someone's logging configuration may
    have lowered the level meanwhile)."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    if logger.level == logging.NOTSET or logger.level < logging.WARNING:
        logger.setLevel(logging.WARNING)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


silence_library_logger()


def _in_daemon_thread(
    loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any, name: str
) -> asyncio.Future[Any]:
    """Runs a blocking call on a fresh daemon thread; the future resolves on `loop`.

    Unlike `asyncio.to_thread`, an abandoned call neither occupies an executor slot nor holds up
    interpreter exit."""
    future: asyncio.Future[Any] = loop.create_future()

    def target() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:
            _call_soon(loop, _settle, future, None, exc)
        else:
            _call_soon(loop, _settle, future, result, None)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
        loop.call_soon_threadsafe(fn, *args)


def _force_close(hub: Any, join_timeout: float) -> None:
    """Closes a signalrcore connection without waiting for the server's next frame.

    Blocking; runs on a daemon thread. Uses the 1.0.2 internals named in the module docstring."""
    transport = getattr(hub, "transport", None)
    if transport is None:
        return
    # From here on the library must not reconnect this connection (`on_socket_close` and
    # `handle_reconnect` both check the flag).
    transport.manually_closing = True
    checker = getattr(transport, "connection_checker", None)
    if checker is not None:
        with contextlib.suppress(Exception):
            checker.stop()  # ends the ping thread (it sleeps in 0.1 s steps)
    client = getattr(transport, "_client", None)
    if client is None:
        return
    sock = getattr(client, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked on the receive thread
        with contextlib.suppress(OSError):
            sock.close()
    client.running = False
    thread = getattr(client, "recv_thread", None)
    if thread is not None and thread is not threading.current_thread():
        thread.join(join_timeout)


class SignalRTransport:
    """`live.HubTransport` over signalrcore 1.0.2 (WebSockets, JSON hub protocol).

    `start()` and `stop()` are called once each. The handlers are called on the library's
    threads and must not block."""

    def __init__(
        self,
        *,
        keep_alive_interval: float = 15.0,
        start_timeout: float = 15.0,
        library_reconnect: bool = False,
        verify_ssl: bool = True,
        close_join_timeout: float = 0.5,
    ) -> None:
        self.keep_alive_interval = keep_alive_interval
        self.start_timeout = start_timeout
        self.library_reconnect = library_reconnect
        self.verify_ssl = verify_ssl
        self.close_join_timeout = close_join_timeout
        self.last_frame_at: float | None = None
        self.close_error: str | None = None
        self._hub: Any = None
        self._handlers: TransportHandlers | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._pending_lock = threading.Lock()
        self._opened: asyncio.Future[None] | None = None
        self._started = False
        self._retired = False
        self._lock = threading.Lock()

    # -- state -------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """connecting, connected, reconnecting or disconnected (signalrcore's states)."""
        transport = getattr(self._hub, "transport", None)
        if transport is None:
            return "disconnected"
        return str(transport.state.name)

    @property
    def connected(self) -> bool:
        return not self._retired and self.state == "connected"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, url: str, token: str, handlers: TransportHandlers) -> None:
        """Negotiates, connects and completes the handshake; raises TransportUnauthorized on a
        401 and TransportError on anything else (the connection is then closed)."""
        if self._started:
            raise RuntimeError("a SignalRTransport is started once; build a new one")
        self._started = True
        silence_library_logger()
        loop = self._loop = asyncio.get_running_loop()
        self._handlers = handlers
        self._opened = loop.create_future()
        hub = (
            HubConnectionBuilder()
            .with_url(
                url,
                options={
                    "access_token_factory": lambda: token,
                    "transport": HttpTransportType.web_sockets,
                    "verify_ssl": self.verify_ssl,
                },
            )
            .with_automatic_reconnect(
                {
                    "type": "raw",
                    "keep_alive_interval": self.keep_alive_interval,
                    "reconnect_interval": 5,
                    "max_attempts": None,
                }
            )
            .build()
        )
        library_on_message = hub.on_message

        def on_frames(messages: list[Any]) -> None:
            self._on_frames(messages, library_on_message)

        # The transport is created in start() with `on_message=self.on_message`: an instance
        # attribute set now is what it gets, so we see every frame, Pings and Close included.
        hub.on_message = on_frames
        hub.on_open(self._guard(self._cb_open))
        hub.on_reconnect(self._guard(self._cb_reconnect))
        hub.on_close(self._guard(self._cb_close))
        hub.on_error(self._guard(self._cb_error))
        self._hub = hub

        deadline = loop.time() + self.start_timeout
        try:
            started = _in_daemon_thread(loop, hub.start, name="clarity-hub-start")
            try:
                await asyncio.wait_for(asyncio.shield(started), self.start_timeout)
            except TimeoutError:
                raise TransportError("negotiate/connect timed out") from None
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    raise TransportUnauthorized("negotiate answered 401") from None
                raise TransportError(f"negotiate answered {exc.code}") from None
            except SocketHandshakeError as exc:
                status = _status_line(str(exc))
                if " 401" in status:
                    raise TransportUnauthorized(f"WebSocket upgrade refused: {status}") from None
                raise TransportError(f"WebSocket upgrade refused: {status}") from None
            except (OSError, ValueError) as exc:
                raise TransportError(f"cannot connect: {type(exc).__name__}: {exc}") from None
            # Wait for the handshake reply; an error reply leaves signalrcore disconnected
            # without any callback, so watch its state too.
            while not self._opened.done():
                if self.state == "disconnected":
                    raise TransportError("hub handshake failed")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TransportError("hub handshake timed out")
                await asyncio.wait({self._opened}, timeout=min(0.05, remaining))
            if not self.library_reconnect:
                hub.transport.manually_closing = True  # see the module docstring
            self.last_frame_at = time.monotonic()
        except BaseException:
            self._retired = True
            _in_daemon_thread(
                loop, _force_close, hub, self.close_join_timeout, name="clarity-hub-close"
            )
            raise

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - bounds a thread
        """Closes the connection; never blocks the loop for more than `timeout` seconds (a stuck
        close is abandoned on its daemon thread)."""
        with self._lock:
            self._retired = True
        self._fail_pending(TransportError("connection stopped"))
        if self._hub is None:
            return
        loop = asyncio.get_running_loop()
        closing = _in_daemon_thread(
            loop, _force_close, self._hub, self.close_join_timeout, name="clarity-hub-close"
        )
        try:
            await asyncio.wait_for(asyncio.shield(closing), timeout)
        except TimeoutError:
            log.warning("Clarity hub: closing the connection took over %.1f s; abandoned", timeout)
        except Exception as exc:
            log.warning("Clarity hub: closing the connection failed: %s", type(exc).__name__)

    async def invoke(self, method: str, args: list[Any]) -> Any:
        """Invokes a hub method and returns its Completion's result (bound it with
        asyncio.timeout; a cancelled call leaves at most a finished send behind)."""
        loop = asyncio.get_running_loop()
        if not self.connected:
            raise TransportError(f"cannot invoke {method}: not connected")
        transport = self._hub.transport
        invocation_id = str(uuid.uuid4())
        future: asyncio.Future[Any] = loop.create_future()
        with self._pending_lock:
            self._pending[invocation_id] = future
        # Not hub.invoke(): it would copy the connection's headers (the bearer token) into the
        # frame.
        message = InvocationMessage(invocation_id, method, list(args), headers={})
        try:
            with contextlib.suppress(Exception):
                transport.connection_checker.last_message = time.time()
            sending = _in_daemon_thread(loop, transport.send, message, name="clarity-hub-send")
            await asyncio.shield(sending)
            return await future
        finally:
            with self._pending_lock:
                self._pending.pop(invocation_id, None)

    # -- library callbacks (its threads) -----------------------------------------------------

    def _guard(self, fn: Callable[..., None]) -> Callable[..., None]:
        def guarded(*args: Any) -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("Clarity hub: callback %s failed", fn.__name__)

        return guarded

    def _on_frames(self, messages: list[Any], library_on_message: Callable[[Any], None]) -> None:
        try:
            self.last_frame_at = time.monotonic()
            for message in messages:
                kind = message.type
                if kind == MessageType.invocation:
                    if not self._retired and self._handlers is not None:
                        self._handlers.on_message(message.target, list(message.arguments or []))
                elif kind == MessageType.completion:
                    self._complete(message.invocation_id, message.result, message.error)
                elif kind == MessageType.close:
                    self.close_error = message.error or None
        except Exception:
            log.exception("Clarity hub: handling a frame failed")
        # The library's own processing: Close handling, and nothing else that we rely on (we
        # register no handlers with it). Guarded: an exception here would end its thread.
        try:
            library_on_message(messages)
        except Exception:
            log.exception("Clarity hub: signalrcore failed on a frame")

    def _complete(self, invocation_id: str | None, result: Any, error: str | None) -> None:
        with self._pending_lock:
            future = self._pending.get(invocation_id or "")
        if future is None or self._loop is None:
            return
        if error:
            outcome: tuple[Any, BaseException | None] = (
                None,
                TransportError(f"hub method failed: {error}"),
            )
        else:
            outcome = (result, None)
        _call_soon(self._loop, _settle, future, *outcome)

    def _fail_pending(self, error: BaseException) -> None:
        with self._pending_lock:
            pending = list(self._pending.values())
        if self._loop is None:
            return
        for future in pending:
            _call_soon(self._loop, _settle, future, None, error)

    def _cb_open(self) -> None:
        if self._retired:
            self._kill_zombie()
            return
        if self._opened is not None and self._loop is not None:
            _call_soon(self._loop, _settle, self._opened, None, None)
        if self._handlers is not None:
            self._handlers.on_open(False)

    def _cb_reconnect(self) -> None:
        # Only with library_reconnect=True: the library reconnected on its own (a new server
        # connection: new connection id, no subscriptions).
        if self._retired:
            self._kill_zombie()
            return
        self.last_frame_at = time.monotonic()
        if self._handlers is not None:
            self._handlers.on_open(True)

    def _cb_close(self) -> None:
        self._fail_pending(TransportError("connection closed"))
        if not self._retired and self._handlers is not None:
            self._handlers.on_close(self.close_error)

    def _cb_error(self, message: Any) -> None:
        # Completions with an error land here (and binding failures).
        invocation_id = getattr(message, "invocation_id", None)
        error = getattr(message, "error", None) or "error"
        if invocation_id:
            self._complete(invocation_id, None, str(error))

    def _kill_zombie(self) -> None:
        """A connection we stopped came back (a reconnect or start that finished late)."""
        if self._hub is None:
            return
        threading.Thread(
            target=_force_close,
            args=(self._hub, self.close_join_timeout),
            name="clarity-hub-close",
            daemon=True,
        ).start()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _status_line(text: str) -> str:
    for line in text.splitlines():
        index = line.find("HTTP/")
        if index >= 0:
            return line[index : index + 80].strip()
    return text[:80]


__all__ = ["LIBRARY_LOGGER", "SignalRTransport", "silence_library_logger"]

"""The SignalR hub server, over real sockets, against signalrcore 1.0.2, pysignalr and a raw
aiohttp WebSocket client that checks the wire protocol record by record."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import queue
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web
from pysignalr.client import SignalRClient
from pysignalr.exceptions import AuthorizationError
from signalrcore.hub_connection_builder import HubConnectionBuilder
from yarl import URL

from integrations.clarity.simulator.signalr import (
    BINDING_ERROR,
    CLIENT_TIMEOUT_ERROR,
    CONNECTION_ERROR,
    HANDSHAKE_ERROR,
    HANDSHAKE_TIMEOUT_ERROR,
    METHOD_ERROR,
    STREAMING_ERROR,
    UNKNOWN_METHOD_ERROR,
    HubConnection,
    HubException,
    SignalRHub,
)

RS = "\x1e"
HUB_PATH = "/hubs/live"
ALICE = "alice-token"
BOB = "bob-token"
PRINCIPALS = {ALICE: {"user": "alice"}, BOB: {"user": "bob"}}
TRANSPORTS = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]
JSON_HANDSHAKE = {"protocol": "json", "version": 1}


# The server -----------------------------------------------------------------------------------


@dataclass
class Server:
    hub: SignalRHub
    port: int
    disconnected: list[str] = field(default_factory=list)
    recorded: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{HUB_PATH}"

    def ws_url(self, **query: str) -> str:
        return str(URL(f"ws://127.0.0.1:{self.port}{HUB_PATH}").with_query(query))


def build_hub(recorded: list[Any], disconnected: list[str], **options: Any) -> SignalRHub:
    options.setdefault("close_timeout", 1.0)
    also_on_disconnect = options.pop("on_disconnect", None)

    async def on_disconnect(connection: HubConnection) -> None:
        if also_on_disconnect is not None:
            await also_on_disconnect(connection)
        disconnected.append(connection.connection_id)

    hub = SignalRHub(
        authenticate=lambda token: PRINCIPALS.get(token) if token else None,
        challenge=lambda token: 'Bearer error="invalid_token"' if token else "Bearer",
        on_disconnect=on_disconnect,
        **options,
    )

    # As the simulator's app does: the public connection id, never the connection token.
    @hub.method("GetConnectionId")
    def get_connection_id(connection: HubConnection) -> str:
        return connection.connection_id

    @hub.method("WhoAmI")
    def who_am_i(connection: HubConnection) -> str:
        return connection.principal["user"]

    @hub.method("Echo")
    async def echo(connection: HubConnection, value: Any) -> Any:
        await asyncio.sleep(0)
        return value

    @hub.method("Record")
    def record(connection: HubConnection, value: Any) -> None:
        recorded.append(value)

    @hub.method("Fail")
    def fail(connection: HubConnection) -> None:
        raise ValueError("a detail the client must not see")

    @hub.method("Refuse")
    def refuse(connection: HubConnection) -> None:
        raise HubException("Not allowed")

    return hub


async def start_server(**options: Any) -> tuple[Server, web.AppRunner]:
    recorded: list[Any] = []
    disconnected: list[str] = []
    hub = build_hub(recorded, disconnected, **options)
    app = web.Application()
    hub.add_routes(app, HUB_PATH)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return Server(hub, port, disconnected, recorded), runner


StartServer = Callable[..., Coroutine[Any, Any, Server]]


@pytest_asyncio.fixture
async def start() -> AsyncIterator[StartServer]:
    """Starts a hub on a free port in the test's own event loop."""
    runners: list[web.AppRunner] = []

    async def _start(**options: Any) -> Server:
        server, runner = await start_server(**options)
        runners.append(runner)
        return server

    yield _start
    for runner in runners:
        await runner.cleanup()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


class ThreadedServer:
    """A hub in a thread of its own, for signalrcore (a blocking, threaded client)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._runners: list[web.AppRunner] = []

    def start(self, **options: Any) -> Server:
        server, runner = self.call(start_server(**options))
        self._runners.append(runner)
        return server

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=15)

    def close(self) -> None:
        for runner in self._runners:
            self.call(runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def threaded() -> Iterator[ThreadedServer]:
    server = ThreadedServer()
    yield server
    server.close()


# Clients --------------------------------------------------------------------------------------


class Closed(Exception):
    """The raw client's socket ended; `kind` is how."""

    def __init__(self, kind: WSMsgType) -> None:
        super().__init__(kind.name)
        self.kind = kind


class RawClient:
    """A WebSocket that speaks records by hand and remembers every frame type it received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frame_types: list[WSMsgType] = []
        self._buffer = ""
        self._records: deque[dict[str, Any]] = deque()

    async def send(self, *messages: dict[str, Any], binary: bool = False) -> None:
        text = "".join(json.dumps(m) + RS for m in messages)
        if binary:
            await self.ws.send_bytes(text.encode())
        else:
            await self.ws.send_str(text)

    async def record(self, wait: float = 3.0) -> dict[str, Any]:
        """The next record, pings included."""
        while not self._records:
            msg = await self.ws.receive(timeout=wait)
            self.frame_types.append(msg.type)
            if msg.type == WSMsgType.TEXT:
                text = msg.data
            elif msg.type == WSMsgType.BINARY:
                text = msg.data.decode()
            else:
                raise Closed(msg.type)
            *complete, self._buffer = (self._buffer + text).split(RS)
            self._records.extend(json.loads(r) for r in complete if r)
        return self._records.popleft()

    async def message(self, wait: float = 3.0) -> dict[str, Any]:
        """The next record that is not a Ping."""
        while True:
            record = await self.record(wait)
            if record != {"type": 6}:
                return record

    async def invoke(self, target: str, *args: Any, invocation_id: str = "1") -> dict[str, Any]:
        await self.send({"type": 1, "invocationId": invocation_id, "target": target,
                         "arguments": list(args)})
        while True:
            record = await self.message()
            if record.get("type") == 3 and record.get("invocationId") == invocation_id:
                return record

    async def until_closed(self, wait: float = 3.0) -> list[dict[str, Any]]:
        """Every record (pings left out) until the socket ends."""
        seen: list[dict[str, Any]] = []
        try:
            while True:
                seen.append(await self.message(wait))
        except Closed:
            return seen


async def negotiate(
    session: aiohttp.ClientSession, server: Server, *, token: str | None = ALICE,
    version: int | str | None = 1, via: str = "header", headers: dict[str, str] | None = None,
) -> tuple[int, Any, bytes]:
    query: dict[str, str] = {}
    if version is not None:
        query["negotiateVersion"] = str(version)
    sent = dict(headers or {})
    if token is not None and via == "header":
        sent["Authorization"] = f"Bearer {token}"
    elif token is not None:
        query["access_token"] = token
    async with session.post(f"{server.url}/negotiate", params=query, headers=sent) as response:
        return response.status, response.headers, await response.read()


async def connect(
    session: aiohttp.ClientSession, server: Server, *, token: str | None = ALICE,
    version: int | None = 1, via: str = "header", negotiated: bool = True,
    handshake: dict[str, Any] | None = None,
) -> tuple[RawClient, dict[str, Any]]:
    """Negotiate (unless told not to), open the WebSocket and complete the handshake."""
    query: dict[str, str] = {}
    body: dict[str, Any] = {}
    if negotiated:
        status, _, raw = await negotiate(session, server, token=token, version=version, via=via)
        assert status == 200
        body = json.loads(raw)
        query["id"] = body.get("connectionToken", body["connectionId"])
    headers = {}
    if token is not None and via == "header":
        headers["Authorization"] = f"Bearer {token}"
    elif token is not None:
        query["access_token"] = token
    ws = await session.ws_connect(server.ws_url(**query), headers=headers, autoping=False,
                                  heartbeat=None)
    client = RawClient(ws)
    await client.send(handshake or JSON_HANDSHAKE)
    assert await client.record() == {}
    return client, body


async def eventually(predicate: Callable[[], bool], wait: float = 3.0) -> None:
    deadline = time.monotonic() + wait
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never became true")
        await asyncio.sleep(0.01)


def eventually_sync(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never became true")
        time.sleep(0.02)


# signalrcore 1.0.2 ----------------------------------------------------------------------------


def signalrcore_client(url: str, *, reconnect: bool) -> Any:
    builder = HubConnectionBuilder().with_url(url, options={"access_token_factory": lambda: ALICE})
    if reconnect:
        # signalrcore only sends pings when automatic reconnect is configured; this is also
        # where its keep-alive interval is set.
        builder = builder.with_automatic_reconnect(
            {"type": "raw", "keep_alive_interval": 0.5, "reconnect_interval": 0.2,
             "max_attempts": 10})
    return builder.build()


def test_signalrcore_invokes_receives_pushes_and_errors(threaded: ThreadedServer) -> None:
    # signalrcore's stop() returns only once the server writes again (closing its socket does
    # not wake its receiving thread), so the server pings often here.
    server = threaded.start(ping_interval=0.3)
    client = signalrcore_client(server.url, reconnect=True)
    opened = threading.Event()
    results: queue.Queue[Any] = queue.Queue()
    errors: queue.Queue[Any] = queue.Queue()
    pushes: queue.Queue[Any] = queue.Queue()
    client.on_open(opened.set)
    client.on_error(errors.put)
    client.on("subscriptionUpdate", pushes.put)
    client.start()
    try:
        assert opened.wait(5)
        client.send("GetConnectionId", [], on_invocation=lambda m: results.put(m.result))
        connection_id = results.get(timeout=5)
        # signalrcore negotiates version 0 and connects with ?id=<connectionId>
        connection = server.hub.get(connection_id)
        assert connection is not None
        assert connection.negotiate_version == 0
        assert connection.principal == {"user": "alice"}
        assert connection.token == ALICE

        update = {"queue": "sales", "waiting": 3}
        assert threaded.call(server.hub.send(connection_id, "subscriptionUpdate", update))
        assert pushes.get(timeout=5) == [update]

        client.send("Echo", [{"n": 1}], on_invocation=lambda m: results.put(m.result))
        assert results.get(timeout=5) == {"n": 1}

        # Error completions go to on_error, not to the invocation's callback.
        client.send("Nope", [], on_invocation=results.put)
        assert errors.get(timeout=5).error == UNKNOWN_METHOD_ERROR.format(target="Nope")
        assert results.empty()
    finally:
        client.stop()
    eventually_sync(lambda: server.disconnected == [connection_id])
    assert server.hub.connections == []


def test_signalrcore_keeps_alive_only_with_reconnect_and_reconnects_after_a_drop(
        threaded: ThreadedServer) -> None:
    server = threaded.start(ping_interval=0.5, client_timeout=2.0)
    pinging = signalrcore_client(server.url, reconnect=True)
    silent = signalrcore_client(server.url, reconnect=False)
    events: dict[str, threading.Event] = {
        name: threading.Event() for name in ("open", "silent_open", "silent_closed",
                                             "reconnected")}
    pinging.on_open(events["open"].set)
    pinging.on_reconnect(events["reconnected"].set)
    silent.on_open(events["silent_open"].set)
    silent.on_close(events["silent_closed"].set)
    results: queue.Queue[Any] = queue.Queue()
    pinging.start()
    silent.start()
    try:
        assert events["open"].wait(5) and events["silent_open"].wait(5)
        pinging.send("GetConnectionId", [], on_invocation=lambda m: results.put(m.result))
        first_id = results.get(timeout=5)

        # Without automatic reconnect signalrcore never pings: the server times it out.
        assert events["silent_closed"].wait(4)
        eventually_sync(lambda: len(server.disconnected) == 1)
        assert [c.connection_id for c in server.hub.connections] == [first_id]

        # The network drops: signalrcore negotiates again and gets a new connection id.
        assert threaded.call(server.hub.drop_all()) == 1
        assert events["reconnected"].wait(5)
        eventually_sync(lambda: len(server.hub.connections) == 1)
        pinging.send("GetConnectionId", [], on_invocation=lambda m: results.put(m.result))
        second_id = results.get(timeout=5)
        assert second_id != first_id
        assert first_id in server.disconnected
    finally:
        pinging.stop()
        silent.stop()


# pysignalr 1.3.3 ------------------------------------------------------------------------------


async def test_pysignalr_fails_without_the_token_in_its_headers(start: StartServer) -> None:
    # pysignalr calls access_token_factory only after the first negotiate and WebSocket: the
    # first negotiate carries no token, and run() gives up with AuthorizationError.
    server = await start()
    client = SignalRClient(server.url, access_token_factory=lambda: ALICE)
    with pytest.raises(AuthorizationError):
        await asyncio.wait_for(client.run(), 5)


async def test_pysignalr_invokes_and_receives_pushes(start: StartServer) -> None:
    server = await start()
    client = SignalRClient(server.url, access_token_factory=lambda: ALICE,
                           headers={"Authorization": f"Bearer {ALICE}"})
    loop = asyncio.get_running_loop()
    connection_id: asyncio.Future[str] = loop.create_future()
    error: asyncio.Future[str] = loop.create_future()
    pushes: asyncio.Queue[Any] = asyncio.Queue()

    async def on_result(message: Any) -> None:
        connection_id.set_result(message.result)

    async def on_open() -> None:
        await client.send("GetConnectionId", [], on_invocation=on_result)

    async def on_push(arguments: Any) -> None:
        await pushes.put(arguments)

    async def on_error(message: Any) -> None:
        # Without an on_error callback an error completion kills pysignalr's run().
        error.set_result(message.error)

    client.on_open(on_open)
    client.on_error(on_error)
    client.on("subscriptionUpdate", on_push)
    task = asyncio.create_task(client.run())
    try:
        cid = await asyncio.wait_for(connection_id, 5)
        assert server.hub.get(cid) is not None
        assert await server.hub.send(cid, "subscriptionUpdate", {"agents": 7})
        assert await asyncio.wait_for(pushes.get(), 5) == [{"agents": 7}]
        # Only a callback makes pysignalr send an invocationId, i.e. ask for a completion;
        # with an error, pysignalr calls on_error and then that callback too.
        failed: asyncio.Future[Any] = loop.create_future()

        async def on_failed(message: Any) -> None:
            failed.set_result(message)

        await client.send("Fail", [], on_invocation=on_failed)
        assert await asyncio.wait_for(error, 5) == METHOD_ERROR.format(target="Fail")
        assert (await asyncio.wait_for(failed, 5)).error == METHOD_ERROR.format(target="Fail")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await eventually(lambda: server.disconnected == [cid])


# Negotiate and authentication -----------------------------------------------------------------


async def test_negotiate_version_0_answers_the_connection_id(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    status, headers, raw = await negotiate(session, server, version=None)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    body = json.loads(raw)
    assert list(body) == ["negotiateVersion", "connectionId", "availableTransports"]
    assert body["negotiateVersion"] == 0
    assert body["availableTransports"] == TRANSPORTS
    assert len(body["connectionId"]) == 22

    ws = await session.ws_connect(server.ws_url(id=body["connectionId"]),
                                  headers={"Authorization": f"Bearer {ALICE}"})
    client = RawClient(ws)
    await client.send({"protocol": "json", "version": 0})  # what signalrcore sends
    assert await client.record() == {}
    assert await client.invoke("GetConnectionId") == {
        "type": 3, "invocationId": "1", "result": body["connectionId"]}
    await ws.close()


async def test_negotiate_version_1_connects_with_the_secret_token(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    status, _, raw = await negotiate(session, server, version=1)
    body = json.loads(raw)
    assert status == 200
    assert list(body) == ["negotiateVersion", "connectionId", "connectionToken",
                          "availableTransports"]
    assert body["negotiateVersion"] == 1
    assert body["connectionToken"] != body["connectionId"]
    assert "useStatefulReconnect" not in body
    auth = {"Authorization": f"Bearer {ALICE}"}

    # The public id does not open the connection; the token does.
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(server.ws_url(id=body["connectionId"]), headers=auth)
    assert refused.value.status == 404
    ws = await session.ws_connect(server.ws_url(id=body["connectionToken"]), headers=auth)
    client = RawClient(ws)
    await client.send(JSON_HANDSHAKE)
    assert await client.record() == {}
    completion = await client.invoke("GetConnectionId")
    assert completion["result"] == body["connectionId"]

    # A newer client is answered with the newest version the server has; junk is an error.
    _, _, raw = await negotiate(session, server, version=7)
    assert json.loads(raw)["negotiateVersion"] == 1
    status, _, raw = await negotiate(session, server, version="x")
    assert (status, json.loads(raw)) == (
        200, {"error": "The client requested a non-integer protocol version."})
    await ws.close()


async def test_requests_without_a_valid_token_get_401(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    status, headers, raw = await negotiate(session, server, token=None)
    assert (status, headers["WWW-Authenticate"], raw) == (401, "Bearer", b"")
    status, headers, raw = await negotiate(session, server, token="forged")
    assert (status, headers["WWW-Authenticate"], raw) == (401, 'Bearer error="invalid_token"',
                                                          b"")
    # The WebSocket request is authenticated too, even with a valid id.
    _, _, raw = await negotiate(session, server)
    token = json.loads(raw)["connectionToken"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(server.ws_url(id=token))
    assert refused.value.status == 401
    assert refused.value.headers is not None
    assert refused.value.headers["WWW-Authenticate"] == "Bearer"
    assert server.hub.connections == []


async def test_token_in_the_query_string_and_never_in_the_log(
        start: StartServer, session: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="integrations.clarity.simulator.signalr")
    server = await start()
    client, body = await connect(session, server, token=BOB, via="query")
    assert (await client.invoke("WhoAmI"))["result"] == "bob"
    await client.ws.close()
    await eventually(lambda: len(server.disconnected) == 1)
    ours = [r for r in caplog.records if r.name == "integrations.clarity.simulator.signalr"]
    assert any(body["connectionId"] in r.getMessage() for r in ours)
    assert not any(BOB in r.getMessage() or body["connectionToken"] in r.getMessage()
                   for r in ours)


async def test_websocket_without_negotiate_gets_a_fresh_connection(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    client, _ = await connect(session, server, negotiated=False, via="query")
    completion = await client.invoke("GetConnectionId")
    assert [c.connection_id for c in server.hub.connections] == [completion["result"]]
    await client.ws.close()


async def test_unknown_reused_and_busy_ids(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    auth = {"Authorization": f"Bearer {ALICE}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(server.ws_url(id="no-such-id"), headers=auth)
    assert refused.value.status == 404

    _, _, raw = await negotiate(session, server, version=0)
    connection_id = json.loads(raw)["connectionId"]
    ws = await session.ws_connect(server.ws_url(id=connection_id), headers=auth)
    with pytest.raises(aiohttp.WSServerHandshakeError) as busy:
        await session.ws_connect(server.ws_url(id=connection_id), headers=auth)
    assert busy.value.status == 409
    await ws.close()
    # Once used, an id is gone for good: a reconnecting client must negotiate again.
    with pytest.raises(aiohttp.WSServerHandshakeError) as gone:
        await session.ws_connect(server.ws_url(id=connection_id), headers=auth)
    assert gone.value.status == 404


async def test_cors_preflight_and_headers(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    origin = "http://dashboard.test"
    async with session.options(f"{server.url}/negotiate", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-requested-with"}) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert response.headers["Access-Control-Allow-Headers"] == "authorization,x-requested-with"
    status, headers, _ = await negotiate(session, server, headers={"Origin": origin})
    assert (status, headers["Access-Control-Allow-Origin"]) == (200, origin)


# Handshake and records ------------------------------------------------------------------------


@pytest.mark.parametrize(("handshake", "error"), [
    ({"protocol": "messagepack", "version": 1}, "The protocol 'messagepack' is not supported."),
    ({"protocol": "json", "version": 2},
     "The server does not support version 2 of the 'json' protocol."),
    ({"hello": "there"}, HANDSHAKE_ERROR),
])
async def test_bad_handshakes_are_answered_with_an_error(
        start: StartServer, session: aiohttp.ClientSession, handshake: dict[str, Any],
        error: str) -> None:
    server = await start()
    ws = await session.ws_connect(server.ws_url(access_token=ALICE))
    client = RawClient(ws)
    await client.send(handshake)
    assert await client.record() == {"error": error}
    with pytest.raises(Closed):
        await client.record()
    assert server.hub.connections == []


async def test_a_client_that_never_shakes_hands_is_let_go(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start(handshake_timeout=0.3)
    ws = await session.ws_connect(server.ws_url(access_token=ALICE))
    client = RawClient(ws)
    assert await client.record() == {"error": HANDSHAKE_TIMEOUT_ERROR}
    with pytest.raises(Closed):
        await client.record()


async def test_binary_frames_batched_and_split_records(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    ws = await session.ws_connect(server.ws_url(access_token=ALICE))
    client = RawClient(ws)
    # The handshake and a first invocation in one binary frame...
    await client.send(JSON_HANDSHAKE, {"type": 1, "invocationId": "a", "target": "Echo",
                                       "arguments": ["first"]}, binary=True)
    assert await client.record() == {}
    assert await client.message() == {"type": 3, "invocationId": "a", "result": "first"}
    # ...then one record split over two text frames.
    record = json.dumps({"type": 1, "invocationId": "b", "target": "Echo",
                         "arguments": ["é split"]}) + RS
    await ws.send_str(record[:20])
    await ws.send_str(record[20:])
    assert await client.message() == {"type": 3, "invocationId": "b", "result": "é split"}
    await ws.close()


async def test_invocations_answer_as_aspnet_does(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    client, body = await connect(session, server)
    await client.send(
        {"type": 1, "invocationId": "1", "target": "getconnectionid", "arguments": []},
        {"type": 1, "invocationId": "2", "target": "Echo", "arguments": [{"x": [1, 2]}]},
        {"type": 1, "invocationId": "3", "target": "Nope", "arguments": []},
        {"type": 1, "invocationId": "4", "target": "Fail", "arguments": []},
        {"type": 1, "invocationId": "5", "target": "Refuse", "arguments": []},
        {"type": 1, "invocationId": "6", "target": "Echo", "arguments": [1, 2]},
        {"type": 4, "invocationId": "7", "target": "Echo", "arguments": [1]},
        {"type": 1, "invocationId": "8", "target": "Record", "arguments": ["with id"]},
        {"type": 1, "target": "Record", "arguments": ["without id"]},
        {"type": 1, "target": "Nope", "arguments": []},
        {"type": 6},
        {"type": 5, "invocationId": "7"},
        {"type": 42, "whatever": True},
    )
    completions = {}
    while len(completions) < 8:
        record = await client.message()
        completions[record["invocationId"]] = record
    assert completions == {
        "1": {"type": 3, "invocationId": "1", "result": body["connectionId"]},
        "2": {"type": 3, "invocationId": "2", "result": {"x": [1, 2]}},
        "3": {"type": 3, "invocationId": "3", "error": UNKNOWN_METHOD_ERROR.format(target="Nope")},
        "4": {"type": 3, "invocationId": "4", "error": METHOD_ERROR.format(target="Fail")},
        "5": {"type": 3, "invocationId": "5",
              "error": METHOD_ERROR.format(target="Refuse") + " HubException: Not allowed"},
        "6": {"type": 3, "invocationId": "6", "error": BINDING_ERROR.format(target="Echo")},
        "7": {"type": 3, "invocationId": "7", "error": STREAMING_ERROR.format(target="Echo")},
        "8": {"type": 3, "invocationId": "8"},  # a method returning None: no result at all
    }
    assert completions["3"]["error"] == (
        "Failed to invoke 'Nope' due to an error on the server. "
        "HubException: Method does not exist.")
    await eventually(lambda: server.recorded == ["with id", "without id"])
    # Nothing answers the non-blocking ones, and the connection is still fine.
    assert (await client.invoke("Echo", "still here", invocation_id="9"))["result"] == "still here"
    await client.ws.close()


async def test_a_record_that_is_not_json_closes_the_connection(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    client, _ = await connect(session, server)
    await client.ws.send_str("this is not json" + RS)
    assert await client.until_closed() == [{"type": 7, "error": CONNECTION_ERROR}]
    await eventually(lambda: len(server.disconnected) == 1)


async def test_a_close_from_the_client_ends_the_connection(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    client, body = await connect(session, server)
    await client.send({"type": 7})
    assert await client.until_closed() == []
    assert WSMsgType.CLOSE in client.frame_types
    await eventually(lambda: server.disconnected == [body["connectionId"]])
    assert not await server.hub.send(body["connectionId"], "subscriptionUpdate", {})


async def test_on_connect_pushes_arrive_after_the_handshake(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    async def welcome(connection: HubConnection) -> None:
        await connection.send("subscriptionUpdate", {"hello": connection.principal["user"]})

    server = await start(on_connect=welcome)
    client, _ = await connect(session, server)  # asserts the first record is {}
    assert await client.message() == {"type": 1, "target": "subscriptionUpdate",
                                      "arguments": [{"hello": "alice"}]}
    assert len(server.hub.connections) == 1
    await client.ws.close()


async def test_a_record_over_the_size_limit_closes_the_connection(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start(max_message_size=200)
    client, _ = await connect(session, server)
    assert (await client.invoke("Echo", "x" * 100))["result"] == "x" * 100
    await client.send({"type": 1, "invocationId": "2", "target": "Echo",
                       "arguments": ["x" * 300]})
    assert await client.until_closed() == [{"type": 7, "error": CONNECTION_ERROR}]


async def test_on_disconnect_may_close_the_connection_itself(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    async def close_again(connection: HubConnection) -> None:
        await connection.close("bye")
        await connection.abort()

    server = await start(on_disconnect=close_again, close_timeout=2.0)
    client, body = await connect(session, server)
    started = time.monotonic()
    await client.ws.close()
    await eventually(lambda: server.disconnected == [body["connectionId"]])
    assert time.monotonic() - started < 1.0


# Keep-alive -----------------------------------------------------------------------------------


async def test_server_pings_only_when_idle_and_never_with_websocket_frames(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start(ping_interval=0.25, client_timeout=10)
    client, body = await connect(session, server)
    cid = body["connectionId"]

    # Busy: a push every 0.1 s leaves no room for a ping.
    busy: list[dict[str, Any]] = []
    for n in range(8):
        assert await server.hub.send(cid, "subscriptionUpdate", n)
        busy.append(await client.record())
        await asyncio.sleep(0.1)
    assert [r["arguments"] for r in busy] == [[n] for n in range(8)]

    # Idle: a ping every ping_interval.
    idle: list[dict[str, Any]] = []
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        idle.append(await client.record(wait=1))
    assert 3 <= len(idle) <= 6
    assert all(r == {"type": 6} for r in idle)

    # The server answers WebSocket pings but never sends one.
    await client.ws.ping(b"are you there")
    while True:
        msg = await client.ws.receive(timeout=2)
        client.frame_types.append(msg.type)
        if msg.type == WSMsgType.PONG:
            assert msg.data == b"are you there"
            break
    assert WSMsgType.PING not in client.frame_types
    assert set(client.frame_types) == {WSMsgType.TEXT, WSMsgType.PONG}
    await client.ws.close()


async def test_a_silent_client_times_out_and_a_pinging_one_does_not(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start(ping_interval=0.2, client_timeout=0.6)
    silent, silent_body = await connect(session, server)
    pinging, pinging_body = await connect(session, server)

    async def keep_pinging() -> None:
        for _ in range(10):
            await pinging.send({"type": 6})
            await asyncio.sleep(0.15)

    started = time.monotonic()
    pinger = asyncio.create_task(keep_pinging())
    records = await silent.until_closed()
    elapsed = time.monotonic() - started
    assert records == [{"type": 7, "error": CLIENT_TIMEOUT_ERROR, "allowReconnect": True}]
    assert 0.5 <= elapsed <= 1.5
    await pinger
    # WebSocket ping frames do not count as traffic, SignalR pings do.
    assert server.disconnected == [silent_body["connectionId"]]
    assert server.hub.get(pinging_body["connectionId"]) is not None
    await pinging.ws.close()


# Faults ---------------------------------------------------------------------------------------


async def test_refuse_for_answers_503_then_recovers(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    server.hub.refuse_for(0.4)
    status, _, _ = await negotiate(session, server)
    assert status == 503
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(server.ws_url(access_token=ALICE))
    assert refused.value.status == 503
    await asyncio.sleep(0.45)
    client, _ = await connect(session, server)
    assert (await client.invoke("WhoAmI"))["result"] == "alice"
    await client.ws.close()


async def test_drop_all_cuts_the_socket_without_a_close_message(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    first, first_body = await connect(session, server)
    second, second_body = await connect(session, server)
    assert await server.hub.drop_all() == 2
    for client in (first, second):
        assert await client.until_closed() == []
        assert WSMsgType.CLOSE not in client.frame_types  # no close frame either
        assert client.frame_types[-1] in (WSMsgType.CLOSED, WSMsgType.ERROR)
    assert sorted(server.disconnected) == sorted(
        [first_body["connectionId"], second_body["connectionId"]])
    assert server.hub.connections == []


async def test_stall_holds_every_write_then_delivers_in_order(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start(ping_interval=0.2)
    client, body = await connect(session, server)
    cid = body["connectionId"]
    frames_before = len(client.frame_types)
    server.hub.stall_for(0.8)
    started = time.monotonic()
    for n in range(3):
        assert await server.hub.send(cid, "subscriptionUpdate", {"n": n})
    await client.send({"type": 1, "invocationId": "during", "target": "Echo",
                       "arguments": ["late"]})
    # Nothing at all, pings included, while the stall lasts; the socket stays open.
    with pytest.raises(TimeoutError):
        await client.record(wait=0.6)
    assert len(client.frame_types) == frames_before
    received = [await client.message(wait=1) for _ in range(4)]
    assert time.monotonic() - started >= 0.75
    assert received == [
        {"type": 1, "target": "subscriptionUpdate", "arguments": [{"n": 0}]},
        {"type": 1, "target": "subscriptionUpdate", "arguments": [{"n": 1}]},
        {"type": 1, "target": "subscriptionUpdate", "arguments": [{"n": 2}]},
        {"type": 3, "invocationId": "during", "result": "late"},
    ]
    assert server.hub.get(cid) is not None
    await client.ws.close()


async def test_close_where_closes_only_the_matching_connections(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    alice, alice_body = await connect(session, server, token=ALICE)
    bob, bob_body = await connect(session, server, token=BOB)
    closed = await server.hub.close_where(lambda c: c.principal["user"] == "bob",
                                          "The token expired.")
    assert closed == 1
    assert await bob.until_closed() == [
        {"type": 7, "error": "The token expired.", "allowReconnect": True}]
    assert server.disconnected == [bob_body["connectionId"]]
    assert (await alice.invoke("WhoAmI"))["result"] == "alice"
    assert [c.connection_id for c in server.hub.connections] == [alice_body["connectionId"]]
    await alice.ws.close()


async def test_shutdown_closes_everyone_with_reconnect_allowed(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start()
    client, _ = await connect(session, server)
    await server.hub.shutdown()
    assert await client.until_closed() == [{"type": 7, "allowReconnect": True}]
    assert server.hub.connections == []


def masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def open_unread_socket(server: Server, connection_id: str) -> socket.socket:
    """A WebSocket client by hand with a tiny receive buffer, which then stops reading."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {HUB_PATH}?id={connection_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {ALICE}\r\n\r\n")
    await loop.sock_sendall(sock, request.encode())
    received = b""
    while b"\r\n\r\n" not in received:
        received += await loop.sock_recv(sock, 1024)
    assert received.startswith(b"HTTP/1.1 101")
    await loop.sock_sendall(sock, masked_text_frame(json.dumps(JSON_HANDSHAKE) + RS))
    while b"{}" + RS.encode() not in received:
        received += await loop.sock_recv(sock, 1024)
    return sock


async def test_a_client_that_does_not_read_blocks_nobody_and_is_let_go(
        start: StartServer, session: aiohttp.ClientSession) -> None:
    server = await start(max_queue=8, close_timeout=0.3)
    _, _, raw = await negotiate(session, server, version=0)
    slow_id = json.loads(raw)["connectionId"]
    slow = await open_unread_socket(server, slow_id)
    try:
        fast, fast_body = await connect(session, server)
        fast_id = fast_body["connectionId"]
        await eventually(lambda: server.hub.get(slow_id) is not None)

        big = "x" * 65536
        refused = 0
        for n in range(150):
            if not await server.hub.send(slow_id, "subscriptionUpdate", big):
                refused += 1
            assert await server.hub.send(fast_id, "subscriptionUpdate", n)
            await asyncio.sleep(0)
        received = [(await fast.message(wait=2))["arguments"][0] for _ in range(150)]
        assert received == list(range(150))
        assert refused > 0
        await eventually(lambda: slow_id in server.disconnected)
        assert server.hub.get(slow_id) is None
        assert server.hub.get(fast_id) is not None
        await fast.ws.close()
    finally:
        slow.close()

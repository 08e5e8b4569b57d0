"""SignalRTransport (signalrcore 1.0.2) against the real simulator's hub."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig
from integrations.clarity.live import TransportError, TransportHandlers, TransportUnauthorized
from integrations.clarity.signalr_transport import LIBRARY_LOGGER, SignalRTransport
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread


@pytest.fixture
def make_sim() -> Any:
    started: list[SimulatorThread] = []

    def make(**overrides: Any) -> SimulatorThread:
        config = {"port": 0, "seed": 7, "speed": 10.0, "ping_interval": 15, "client_timeout": 30}
        config.update(overrides)
        sim = SimulatorThread(SimulatorConfig(**config)).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


class Calls:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[Any]]] = []
        self.opens: list[bool] = []
        self.closes: list[str | None] = []
        self.threads: set[str] = set()

    def handlers(self, on_message: Callable[[str, list[Any]], None] | None = None) -> Any:
        def message(target: str, args: list[Any]) -> None:
            self.threads.add(threading.current_thread().name)
            self.messages.append((target, args))
            if on_message is not None:
                on_message(target, args)

        return TransportHandlers(message, self.opens.append, self.closes.append)


@contextlib.asynccontextmanager
async def connected(
    sim: SimulatorThread, calls: Calls, **options: Any
) -> AsyncIterator[tuple[SignalRTransport, ClarityClient, str]]:
    config = ClarityConfig(url=sim.url, auth="basic", username="supervisor", password="demo")
    async with ClarityClient(config) as client:
        token = await client.tokens.token()
        transport = SignalRTransport(**options)
        await transport.start(sim.sim.hub_url, token, calls.handlers())
        try:
            yield transport, client, token
        finally:
            await transport.stop(3.0)


async def _until(predicate: Callable[[], bool], within: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > within:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_messages_reach_the_handlers_from_the_library_thread(make_sim: Any) -> None:
    sim = make_sim()
    calls = Calls()
    async with connected(sim, calls) as (transport, client, _token):
        assert transport.connected and transport.state == "connected"
        assert calls.opens == [False]
        connection_id = await transport.invoke("GetConnectionId", [])
        assert isinstance(connection_id, str) and connection_id
        mbu = await client.mbu()
        await client.subscribe_queues(connection_id, queue_ids=[q.id for q in mbu.queues])
        await _until(lambda: len(calls.messages) >= 3, 5, "queue updates")
        target, args = calls.messages[0]
        assert target == "subscriptionUpdate" and args[0]["isSnapshot"] is True
        assert threading.current_thread().name not in calls.threads


async def test_a_failing_handler_does_not_tear_the_connection_down(make_sim: Any) -> None:
    sim = make_sim()
    calls = Calls()
    failures = []

    def explode(target: str, args: list[Any]) -> None:
        if not failures:
            failures.append(target)
            raise RuntimeError("a bug in a handler")

    config = ClarityConfig(url=sim.url, auth="basic", username="supervisor", password="demo")
    async with ClarityClient(config) as client:
        transport = SignalRTransport()
        await transport.start(sim.sim.hub_url, await client.tokens.token(), calls.handlers(explode))
        try:
            connection_id = await transport.invoke("GetConnectionId", [])
            mbu = await client.mbu()
            await client.subscribe_queues(connection_id, queue_ids=[q.id for q in mbu.queues])
            await _until(lambda: len(calls.messages) >= 5, 5, "updates after the exception")
            assert failures and transport.connected
        finally:
            await transport.stop(3.0)


async def test_invocations_carry_no_token(make_sim: Any) -> None:
    """signalrcore's own invoke() copies the connection headers (Authorization included) into
    every Invocation frame; ours does not."""
    sim = make_sim()
    calls = Calls()
    async with connected(sim, calls) as (transport, _client, token):
        library_transport = transport._hub.transport
        sent: list[str] = []
        original = library_transport.send

        def recording_send(message: Any) -> None:
            # encode() renames attributes of what it encodes: give it a copy.
            sent.append(library_transport.protocol.encode(copy.copy(message)))
            original(message)

        library_transport.send = recording_send
        await transport.invoke("GetConnectionId", [])
        invocations = [frame for frame in sent if '"GetConnectionId"' in frame]
        assert invocations
        assert all(token not in frame and "Bearer" not in frame for frame in invocations)


async def test_the_token_is_never_logged(make_sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    sim = make_sim()
    library_logger = logging.getLogger(LIBRARY_LOGGER)
    library_logger.setLevel(logging.DEBUG)  # someone's logging config asks for everything
    calls = Calls()
    with caplog.at_level(logging.DEBUG):
        async with connected(sim, calls) as (_transport, _client, token):
            # start() capped the library's logger again: its DEBUG lines (among them "auth
            # function result <token>") are not even produced.
            assert library_logger.level == logging.WARNING
            # And whatever it does log is redacted.
            library_logger.warning("auth function result %s", token)
            library_logger.warning("headers {'Authorization': 'Bearer %s'}", token)
    assert token not in caplog.text
    assert "auth function result [redacted]" in caplog.text


async def test_server_pings_count_as_frames(make_sim: Any) -> None:
    sim = make_sim(ping_interval=1)
    calls = Calls()
    async with connected(sim, calls) as (transport, _client, _token):
        first = transport.last_frame_at
        assert first is not None
        await asyncio.sleep(2.5)
        assert transport.last_frame_at is not None and transport.last_frame_at > first + 0.5
        assert calls.messages == []  # nothing but pings came


async def test_a_server_close_is_reported_and_not_retried_by_the_library(make_sim: Any) -> None:
    sim = make_sim()
    calls = Calls()
    async with connected(sim, calls) as (transport, _client, _token):
        sim.call(sim.sim.expire_tokens)
        await _until(lambda: bool(calls.closes), 3, "on_close")
        assert calls.closes[0] is not None and "expired" in calls.closes[0]
        assert transport.close_error == calls.closes[0]
        await asyncio.sleep(1.0)
        assert transport.state == "disconnected" and not transport.connected
        assert calls.opens == [False]


async def test_a_dropped_socket_is_reported_at_once(make_sim: Any) -> None:
    sim = make_sim()
    calls = Calls()
    async with connected(sim, calls) as (transport, _client, _token):
        sim.call(sim.sim.drop_hub_connections)
        took = await _until(lambda: bool(calls.closes), 3, "on_close")
        assert took < 1.0 and calls.closes == [None]
        assert not transport.connected


async def test_library_reconnect_mode_stays_reconnecting_after_one_failure(make_sim: Any) -> None:
    """signalrcore issue #156, pinned: with its own reconnect, a refused attempt leaves it
    "reconnecting" even after the server is back. LiveFeed's watchdog is what gets it out."""
    sim = make_sim()
    calls = Calls()
    async with connected(sim, calls, library_reconnect=True) as (transport, _client, _token):
        sim.call(sim.sim.refuse_connections, 2)
        sim.call(sim.sim.drop_hub_connections)
        await _until(lambda: transport.state == "reconnecting", 3, "reconnecting")
        await asyncio.sleep(4)  # the refusal is long over
        assert transport.state == "reconnecting"
        assert calls.closes == []  # and nobody was told


async def test_stop_does_not_wait_for_the_server(make_sim: Any) -> None:
    sim = make_sim(ping_interval=2)
    calls = Calls()
    config = ClarityConfig(url=sim.url, auth="basic", username="supervisor", password="demo")
    async with ClarityClient(config) as client:
        token = await client.tokens.token()
        ours = SignalRTransport()
        await ours.start(sim.sim.hub_url, token, calls.handlers())
        library = SignalRTransport()
        await library.start(sim.sim.hub_url, token, calls.handlers())
        sim.call(sim.sim.stall_pushes, 3)
        await asyncio.sleep(0.2)

        started = time.monotonic()
        await ours.stop(5.0)
        assert time.monotonic() - started < 1.0
        assert not ours.connected

        # The library's own stop() sits in join() until the server's next frame (here the pings
        # held by the stall): the reason stop() above does not use it.
        hub = library._hub
        hub.transport.manually_closing = False
        started = time.monotonic()
        await asyncio.to_thread(hub.stop)
        assert time.monotonic() - started > 1.5
        await library.stop(1.0)


async def test_refused_and_unauthorized_starts(make_sim: Any) -> None:
    sim = make_sim()
    calls = Calls()
    with pytest.raises(TransportUnauthorized):
        await SignalRTransport().start(sim.sim.hub_url, "a.b.c", calls.handlers())
    sim.call(sim.sim.refuse_connections, 5)
    with pytest.raises(TransportError) as refused:
        await SignalRTransport().start(sim.sim.hub_url, "a.b.c", calls.handlers())
    assert not isinstance(refused.value, TransportUnauthorized)
    assert "503" in str(refused.value)
    with pytest.raises(TransportError):
        await SignalRTransport(start_timeout=2).start(
            "http://127.0.0.1:9/webapi/hubs/subscriptions", "a.b.c", calls.handlers()
        )

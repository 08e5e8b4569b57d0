"""LiveFeed against the real simulator, over real sockets, with the real signalrcore.

Each test starts its own simulator (about 0.2 s) at 10x speed and a LiveFeed with short
intervals. A loop-lag probe runs beside every feed: nothing the feed does (connects, stops,
reconnects) may hold the event loop for 1 s. The pure unit tests at the end use a fake
transport, only to pin the buffering and sequence rules deterministically.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig
from integrations.clarity.errors import ClarityUnauthorized
from integrations.clarity.live import (
    ClarityClientSubscriptionApi,
    FeedEvent,
    FeedMessage,
    LiveFeed,
    SubscriptionSpec,
    TransportHandlers,
    default_plan,
)
from integrations.clarity.signalr_transport import SignalRTransport
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

# The simulator and signalrcore run threads in this process; on a loaded 2-core CI machine the
# GIL alone delays the loop by a few hundred ms now and then. A blocking call in the feed (a
# library stop() that waits for the server, a synchronous request) costs seconds, so 1 s still
# catches it.
MAX_LOOP_LAG = 1.0

FAST = {
    "watchdog_interval": 0.2,
    "reconnect_grace": 2.0,
    "backoff_base": 0.2,
    "backoff_cap": 2.0,
    "stop_timeout": 3.0,
}


# -- harness ------------------------------------------------------------------------------------


@pytest.fixture
def make_sim() -> Any:
    started: list[SimulatorThread] = []

    def make(**overrides: Any) -> SimulatorThread:
        config = {
            "port": 0,
            "seed": 7,
            "speed": 10.0,
            "token_ttl": 60,
            "ping_interval": 15,
            "client_timeout": 30,
        }
        config.update(overrides)
        sim = SimulatorThread(SimulatorConfig(**config)).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Any) -> SimulatorThread:
    return make_sim()


class LagProbe:
    """How late the loop runs a 10 ms sleep: the loop was blocked for that long."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.max_lag = max(self.max_lag, loop.time() - before - 0.01)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass
class Recorder:
    """Collects what the feed delivers and checks the delivery contract on the way: every new
    stream starts with a snapshot marked `restart`, then sequences follow one by one."""

    messages: list[FeedMessage] = field(default_factory=list)
    events: list[FeedEvent] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    last: dict[SubscriptionSpec, tuple[str, int]] = field(default_factory=dict)

    def on_message(self, message: FeedMessage) -> None:
        previous = self.last.get(message.spec)
        if message.restart is not None:
            if not message.is_snapshot:
                self.violations.append(f"restart on a diff: {message.spec.label}")
        elif previous is None:
            self.violations.append(f"stream without a restart marker: {message.spec.label}")
        elif previous != (message.subscription_id, message.sequence - 1):
            self.violations.append(
                f"delivered out of order: {message.spec.label} {previous} -> "
                f"{(message.subscription_id, message.sequence)}"
            )
        self.last[message.spec] = (message.subscription_id, message.sequence)
        self.messages.append(message)

    def on_event(self, event: FeedEvent) -> None:
        self.events.append(event)

    def of(self, spec: SubscriptionSpec, **where: Any) -> list[FeedMessage]:
        return [
            m
            for m in self.messages
            if m.spec == spec and all(getattr(m, k) == v for k, v in where.items())
        ]

    def kinds(self, kind: str) -> list[str]:
        return [e.detail for e in self.events if e.kind == kind]


@dataclass
class Running:
    feed: LiveFeed
    client: ClarityClient
    recorder: Recorder
    probe: LagProbe
    plan: list[SubscriptionSpec]
    sim: SimulatorThread

    async def until(self, predicate: Callable[[], bool], within: float, what: str) -> float:
        """Waits for `predicate`; returns how long it took."""
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > within:
                pytest.fail(
                    f"timed out after {within} s waiting for {what}; stats={self.feed.stats}; "
                    f"events={[(e.kind, e.detail) for e in self.recorder.events][-15:]}"
                )
            await asyncio.sleep(0.05)
        return time.monotonic() - started


@contextlib.asynccontextmanager
async def running_feed(
    sim: SimulatorThread,
    *,
    plan: Callable[[Any], list[SubscriptionSpec]] | None = None,
    login: str = "supervisor",
    **options: Any,
) -> AsyncIterator[Running]:
    config = ClarityConfig(url=sim.url, auth="basic", username=login, password="demo")
    async with ClarityClient(config) as client:
        mbu = await client.mbu()
        specs = plan(mbu) if plan is not None else default_plan(mbu)
        recorder = Recorder()
        settings = {**FAST, **options}
        feed = LiveFeed(
            sim.sim.hub_url,
            client.tokens,
            ClarityClientSubscriptionApi(client),
            specs,
            on_message=recorder.on_message,
            on_event=recorder.on_event,
            **settings,
        )
        probe = LagProbe()
        probe.start()
        task = asyncio.create_task(feed.run())
        try:
            yield Running(feed, client, recorder, probe, specs, sim)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await probe.stop()
        print(f"max loop lag {probe.max_lag:.3f} s; {feed.stats}")
        assert not recorder.violations, recorder.violations[:5]
        assert probe.max_lag < MAX_LOOP_LAG, f"the loop was blocked for {probe.max_lag:.3f} s"


def _agent_status(message: FeedMessage, agent_id: int) -> str | None:
    for item in message.items:
        if item.get("id") == agent_id and isinstance(item.get("currentStatus"), dict):
            return item["currentStatus"].get("agentStatus")
    return None


# -- the default plan, every kind ---------------------------------------------------------------


async def test_default_plan_streams_snapshot_then_diffs_for_every_kind(
    sim: SimulatorThread,
) -> None:
    async with running_feed(sim) as run:
        kinds = {spec.kind for spec in run.plan}
        assert kinds == {
            "agents",
            "agentsAggregate",
            "agentsGroup",
            "queues",
            "queuesAggregate",
            "queuesGroup",
            "alerts",
        }
        await run.until(run.feed.is_synced, 10, "every subscription's snapshot")
        # Supervisors (the agents outside the teams) only change when told to, and alerts
        # rarely: a supervisor set unavailable changes, and 20 simulated minutes later is "away
        # over 20 min", an alert.
        supervisor = next(a.id for a in (await run.client.mbu()).agents if a.team_id == -1)
        await run.client.update_agent_status(supervisor, "unavailable")
        sim.call(sim.sim.jump, 1300)

        def without_diffs() -> list[str]:
            return [s.label for s in run.plan if not run.recorder.of(s, is_snapshot=False)]

        await run.until(lambda: not without_diffs(), 15, "a diff on every subscription")
        for spec in run.plan:
            first = run.recorder.of(spec)[0]
            assert first.is_snapshot and first.restart == "initial" and first.sequence == 1
            assert first.payload["subscriptionType"] == spec.kind
        # Every agent the supervisor may see is in one of the agent snapshots.
        shown = {
            item["id"]
            for spec in run.plan
            if spec.kind == "agents"
            for item in run.recorder.of(spec)[0].items
        }
        assert shown == {a.id for a in (await run.client.mbu()).agents}
        stats = run.feed.stats
        assert stats.snapshots == len(run.plan)
        assert stats.gaps == stats.resyncs == stats.reconnects == stats.dropped == 0


# -- connection loss ----------------------------------------------------------------------------


async def test_dropped_hub_reconnects_and_resubscribes(sim: SimulatorThread) -> None:
    async with running_feed(sim) as run:
        await run.until(run.feed.is_synced, 10, "the initial snapshots")
        first_connection = run.feed.connection_id
        first_ids = run.feed.subscription_ids()

        sim.call(sim.sim.drop_hub_connections)
        took = await run.until(
            lambda: run.feed.is_synced() and run.feed.connection_id != first_connection,
            10,
            "resubscribed on a new connection",
        )
        assert took < 5
        assert run.feed.stats.reconnects == 1
        new_ids = run.feed.subscription_ids()
        for spec in run.plan:
            assert new_ids[spec] != first_ids[spec]
            fresh = run.recorder.of(spec, subscription_id=new_ids[spec])
            assert fresh[0].is_snapshot and fresh[0].restart == "reconnect"

        # ... and the stream goes on.
        count = len(run.recorder.messages)
        await run.until(lambda: len(run.recorder.messages) > count + 20, 5, "more diffs")


async def test_refused_for_20s_then_back_watchdog_rebuilds_stuck_library(
    make_sim: Any,
) -> None:
    """signalrcore issue #156: with its own reconnect on, a failed attempt leaves it
    "reconnecting" forever. The watchdog must replace it with a NEW connection object. A second
    feed, with the default transport (library reconnect off), rides out the same outage."""
    sim = make_sim()
    library_transports: list[SignalRTransport] = []

    def library_factory() -> SignalRTransport:
        transport = SignalRTransport(library_reconnect=True)
        library_transports.append(transport)
        return transport

    async with (
        running_feed(sim, transport_factory=library_factory) as lib,
        running_feed(sim) as own,
    ):
        await lib.until(lib.feed.is_synced, 10, "library-mode feed synced")
        await own.until(own.feed.is_synced, 10, "default feed synced")
        stuck = library_transports[-1]

        sim.call(sim.sim.refuse_connections, 20)
        sim.call(sim.sim.drop_hub_connections)
        refused_at = time.monotonic()
        # The library tries once, fails on the 503 and stays "reconnecting".
        await lib.until(lambda: stuck.state == "reconnecting", 3, "the library reconnecting")
        # Not connected for reconnect_grace (2 s): the watchdog gives up on it and builds new
        # connection objects (refused until the outage ends).
        took = await lib.until(
            lambda: len(library_transports) >= 2, 10, "the watchdog building a new connection"
        )
        # reconnect_grace is 2 s; the upper bound leaves room for a loaded CI machine.
        assert 1.5 < took < 8
        assert any("not connected for" in d for d in lib.recorder.kinds("disconnected"))

        await lib.until(lib.feed.is_synced, 40, "library-mode feed back after the refusal")
        await own.until(own.feed.is_synced, 10, "default feed back after the refusal")
        back = time.monotonic() - refused_at
        assert 19 < back < 40
        for run in (lib, own):
            stats = run.feed.stats
            assert stats.reconnects >= 1
            assert stats.connect_failures >= 2  # refused attempts, with backoff between them
            assert stats.connect_failures < 40  # ... not a tight loop
        # The stuck connection never came back on its own.
        assert stuck.state != "connected"


async def test_token_expiry_reconnects_with_a_fresh_token_and_loses_no_update(
    sim: SimulatorThread,
) -> None:
    tokens_used: list[str] = []

    class RecordingTransport(SignalRTransport):
        async def start(self, url: str, token: str, handlers: TransportHandlers) -> None:
            tokens_used.append(token)
            await super().start(url, token, handlers)

    async with running_feed(sim, transport_factory=RecordingTransport) as run:
        await run.until(run.feed.is_synced, 10, "the initial snapshots")
        agents_spec = next(s for s in run.plan if s.name == "agents by team")
        mbu = await run.client.mbu()
        agent = mbu.agents[3].id
        status = (await run.client.agent_status(agent)).current_status
        target = "available" if status and status.agent_status == "unavailable" else "unavailable"
        first_connection = run.feed.connection_id

        sim.call(sim.sim.expire_tokens)
        # A change made after the expiry, while the feed is between connections.
        await run.client.update_agent_status(agent, target)
        changed_at = time.time()

        await run.until(
            lambda: run.feed.is_synced() and run.feed.connection_id != first_connection,
            10,
            "resubscribed with a fresh token",
        )
        assert len(tokens_used) >= 2 and tokens_used[-1] != tokens_used[0]
        assert run.feed.stats.reconnects == 1
        assert any("expired" in detail for detail in run.recorder.kinds("disconnected"))

        def seen_after_change() -> bool:
            return any(
                _agent_status(m, agent) == target
                for m in run.recorder.of(agents_spec)
                if m.received_at >= changed_at
            )

        await run.until(seen_after_change, 5, f"agent {agent} shown {target}")
        fresh = run.recorder.of(
            agents_spec, subscription_id=run.feed.subscription_ids()[agents_spec]
        )
        assert fresh[0].restart == "reconnect"


async def test_token_renewal_is_make_before_break(make_sim: Any) -> None:
    """An 8 s token is renewed 4 s before expiry: a second connection, every subscription
    recreated on it, then the old one closed; no reconnect, no gap."""
    sim = make_sim(token_ttl=8)
    async with running_feed(sim) as run:
        await run.until(run.feed.is_synced, 10, "the initial snapshots")
        first_connection = run.feed.connection_id
        await run.until(lambda: run.feed.stats.renewals >= 1, 10, "a renewal")
        await run.until(
            lambda: run.feed.is_synced() and run.feed.connection_id != first_connection,
            10,
            "every subscription on the renewed connection",
        )
        stats = run.feed.stats
        assert stats.reconnects == 0 and stats.gaps == 0 and stats.resyncs == 0
        ids = run.feed.subscription_ids()
        for spec in run.plan:
            assert run.recorder.of(spec, subscription_id=ids[spec])[0].restart == "renew"
        # The old connection is closed once everything moved over.
        await run.until(lambda: len(run.feed._conns) == 1, 5, "the old connection closed")


# -- silence ------------------------------------------------------------------------------------


async def test_stalled_upstream_is_detected_and_recovered(sim: SimulatorThread) -> None:
    async with running_feed(sim, stall_timeout=2.0) as run:
        await run.until(run.feed.is_synced, 10, "the initial snapshots")
        first_connection = run.feed.connection_id
        sim.call(sim.sim.stall_pushes, 6)
        stalled_at = time.monotonic()
        detected = await run.until(lambda: run.feed.stats.stalls >= 1, 5, "the stall detected")
        assert 1.8 < detected < 4
        # Every hub socket is held, the new connection's handshake included, until the stall
        # ends: then the feed is back on a new connection.
        await run.until(
            lambda: run.feed.is_synced() and run.feed.connection_id != first_connection,
            15,
            "recovery after the stall",
        )
        assert time.monotonic() - stalled_at >= 5.5
        assert run.feed.stats.reconnects >= 1


async def test_an_idle_connection_is_not_a_stall(make_sim: Any) -> None:
    """No subscription at all, only the server's Pings (every second here): the transport
    surfaces them, so a 3 s stall timeout never fires."""
    sim = make_sim(ping_interval=1)
    async with running_feed(sim, plan=lambda mbu: [], stall_timeout=3.0) as run:
        await run.until(lambda: run.feed.connected, 5, "connected")
        await asyncio.sleep(5)
        assert run.feed.stats.stalls == 0
        assert run.feed.stats.reconnects == 0
        assert run.feed.stats.last_message_at is None  # nothing but pings came


# -- gaps -----------------------------------------------------------------------------------------


class DropOneTransport(SignalRTransport):
    """The real transport behind a lossy "network": the third diff of the `queues` subscription
    never reaches the feed."""

    dropped: ClassVar[list[dict[str, Any]]] = []

    async def start(self, url: str, token: str, handlers: TransportHandlers) -> None:
        seen = 0

        def on_message(target: str, args: list[Any]) -> None:
            nonlocal seen
            payload = args[0] if args else {}
            if payload.get("subscriptionType") == "queues" and not payload.get("isSnapshot"):
                seen += 1
                if seen == 3 and not DropOneTransport.dropped:
                    DropOneTransport.dropped.append(payload)
                    return
            handlers.on_message(target, args)

        await super().start(
            url, token, TransportHandlers(on_message, handlers.on_open, handlers.on_close)
        )


async def test_a_sequence_gap_resubscribes_and_converges(sim: SimulatorThread) -> None:
    DropOneTransport.dropped = []
    async with running_feed(sim, transport_factory=DropOneTransport) as run:
        queues = next(s for s in run.plan if s.kind == "queues")
        await run.until(lambda: bool(DropOneTransport.dropped), 15, "a queues diff dropped")
        lost = DropOneTransport.dropped[0]
        await run.until(lambda: run.feed.stats.resyncs >= 1, 5, "the resync")
        await run.until(run.feed.is_synced, 10, "resynced")
        stats = run.feed.stats
        assert stats.gaps == 1 and stats.resyncs == 1 and stats.reconnects == 0
        assert any("sequence gap" in d for d in run.recorder.kinds("resync"))
        old = [m for m in run.recorder.of(queues) if m.subscription_id == lost["subscriptionId"]]
        assert lost["sequence"] not in {m.sequence for m in old}
        # Nothing after the hole was delivered from the old subscription.
        assert max(m.sequence for m in old) == lost["sequence"] - 1
        new_id = run.feed.subscription_ids()[queues]
        assert new_id != lost["subscriptionId"]
        fresh = run.recorder.of(queues, subscription_id=new_id)
        assert fresh[0].is_snapshot and fresh[0].restart == "resync" and fresh[0].sequence == 1
        count = len(fresh)
        await run.until(
            lambda: len(run.recorder.of(queues, subscription_id=new_id)) > count + 3,
            5,
            "the resubscribed stream going on",
        )


async def test_inbox_overflow_flags_a_resync_and_converges(sim: SimulatorThread) -> None:
    """A burst larger than the bounded hand-over: the messages held by a 3 s stall arrive at
    once (about 30 per subscription). The library's thread must not block: messages are dropped,
    their subscriptions resynchronised, and the feed converges."""
    async with running_feed(sim, max_queue=40) as run:
        await run.until(run.feed.is_synced, 10, "the initial snapshots")
        sim.call(sim.sim.stall_pushes, 3)
        await run.until(lambda: run.feed.stats.dropped > 0, 8, "messages dropped at the inbox")
        await run.until(lambda: run.feed.stats.resyncs >= 1, 5, "resyncs")
        await run.until(run.feed.is_synced, 15, "converged")
        assert run.recorder.kinds("overflow")
        assert run.feed.stats.reconnects == 0
        resynced = {
            m.spec for m in run.recorder.messages if m.restart == "resync" and m.is_snapshot
        }
        assert resynced


# -- the REST side ------------------------------------------------------------------------------


async def test_failing_subscribe_is_retried_with_backoff(sim: SimulatorThread) -> None:
    sim.call(sim.sim.fail_route, r"/v2/subscriptions/queues$", count=2)
    async with running_feed(sim) as run:
        await run.until(run.feed.is_synced, 10, "synced despite two 500s")
        assert run.feed.stats.subscribe_failures == 2
        assert len(run.recorder.kinds("subscribe_failed")) == 2


async def test_a_refused_subscription_is_reported_not_hammered(make_sim: Any) -> None:
    sim = make_sim()
    config = ClarityConfig(url=sim.url, auth="basic", username="supervisor", password="demo")
    async with ClarityClient(config) as admin:
        mbu = await admin.mbu()
    other_queue = mbu.queues[-1].id
    async with running_feed(
        sim,
        login="agent1",
        plan=lambda _mbu: [
            SubscriptionSpec("queues", queue_ids=(other_queue,), name="not mine"),
            SubscriptionSpec("alerts"),
        ],
        denied_retry=60.0,
    ) as run:
        await run.until(lambda: bool(run.recorder.kinds("subscribe_denied")), 10, "the denial")
        await asyncio.sleep(2)
        denied = [e for e in run.recorder.events if e.kind == "subscribe_denied"]
        assert len(denied) == 1
        assert isinstance(denied[0].error, ClarityUnauthorized)
        assert denied[0].spec is not None and denied[0].spec.name == "not mine"
        await run.until(lambda: run.feed.subscription_ids().keys() == {run.plan[1]}, 5, "alerts")


# -- pure unit tests of the buffering and sequence rules (fake transport) ------------------------


class FakeTransport:
    """Stands in for the network only; the feed's logic under test is the real one."""

    instances: ClassVar[list[FakeTransport]] = []

    def __init__(self) -> None:
        self.handlers: TransportHandlers | None = None
        self.connected = False
        self.last_frame_at: float | None = None
        FakeTransport.instances.append(self)

    async def start(self, url: str, token: str, handlers: TransportHandlers) -> None:
        self.handlers = handlers
        self.connected = True
        self.last_frame_at = time.monotonic()

    async def invoke(self, method: str, args: list[Any]) -> Any:
        assert method == "GetConnectionId"
        return f"conn-{len(FakeTransport.instances)}"

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the interface
        self.connected = False

    def push(self, sub_id: str, seq: int, snapshot: bool = False, kind: str = "queues") -> None:
        assert self.handlers is not None
        payload = {
            "subscriptionId": sub_id,
            "subscriptionType": kind,
            "sequence": seq,
            "isSnapshot": snapshot,
            "timestamp": "2026-01-01T00:00:00Z",
            "items": [],
        }
        self.handlers.on_message("subscriptionUpdate", [payload])


class FakeTokens:
    expires_at = None

    async def token(self) -> str:
        return "header.payload.signature"

    def invalidate(self, token: str) -> None:
        pass


class FakeApi:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.deny = False

    async def subscribe(self, spec: SubscriptionSpec, connection_id: str) -> str:
        await self.gate.wait()
        if self.deny:
            raise ClarityUnauthorized("not yours", status=401)
        sub_id = f"s-{len(self.created) + 1}"
        self.created.append(sub_id)
        return sub_id

    async def unsubscribe(self, subscription_id: str, connection_id: str) -> None:
        self.deleted.append(subscription_id)


@contextlib.asynccontextmanager
async def fake_feed(api: FakeApi, **options: Any) -> AsyncIterator[tuple[LiveFeed, Recorder]]:
    FakeTransport.instances = []
    recorder = Recorder()
    feed = LiveFeed(
        "http://fake/hub",
        FakeTokens(),
        api,
        [SubscriptionSpec("queues", queue_ids=(1,))],
        on_message=recorder.on_message,
        on_event=recorder.on_event,
        **{**FAST, "watchdog_interval": 0.05, "transport_factory": FakeTransport, **options},
    )
    task = asyncio.create_task(feed.run())
    try:
        yield feed, recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not recorder.violations, recorder.violations


async def _until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_unit_messages_before_the_subscribe_answer_are_buffered_in_order() -> None:
    api = FakeApi()
    api.gate.clear()  # the subscribe call hangs until we let it answer
    async with fake_feed(api) as (feed, recorder):
        await _until(lambda: bool(FakeTransport.instances) and feed.connected)
        transport = FakeTransport.instances[0]
        transport.push("s-1", 1, snapshot=True)
        transport.push("s-1", 2)
        transport.push("s-1", 2)  # a duplicate
        transport.push("s-1", 3)
        await asyncio.sleep(0.1)
        assert recorder.messages == []  # not claimed yet
        api.gate.set()
        await _until(lambda: len(recorder.messages) == 3)
        assert [m.sequence for m in recorder.messages] == [1, 2, 3]
        assert recorder.messages[0].restart == "initial"
        assert feed.stats.duplicates == 1
        transport.push("s-1", 3)  # late duplicate
        transport.push("s-1", 4)
        await _until(lambda: len(recorder.messages) == 4)
        assert feed.stats.duplicates == 2


async def test_unit_unclaimed_messages_expire_and_are_unsubscribed() -> None:
    api = FakeApi()
    async with fake_feed(api, orphan_ttl=0.2) as (feed, _recorder):
        await _until(lambda: feed.connected)
        FakeTransport.instances[0].push("s-999", 1, snapshot=True)
        await _until(lambda: feed.stats.orphans_expired == 1)
        await _until(lambda: api.deleted == ["s-999"])
        FakeTransport.instances[0].push("s-999", 2)
        await _until(lambda: feed.stats.stale == 1)


async def test_unit_diff_before_snapshot_and_gap_resubscribe() -> None:
    api = FakeApi()
    async with fake_feed(api) as (feed, recorder):
        await _until(lambda: api.created == ["s-1"])
        transport = FakeTransport.instances[0]
        transport.push("s-1", 2)  # a diff before any snapshot
        await _until(lambda: api.created == ["s-1", "s-2"])
        assert api.deleted == ["s-1"]
        transport.push("s-1", 3)  # the old subscription: ignored
        transport.push("s-2", 1, snapshot=True)
        transport.push("s-2", 2)
        transport.push("s-2", 4)  # a gap
        await _until(lambda: api.created == ["s-1", "s-2", "s-3"])
        assert api.deleted == ["s-1", "s-2"]
        transport.push("s-3", 1, snapshot=True)
        await _until(lambda: len(recorder.messages) == 3)
        assert [(m.subscription_id, m.sequence, m.restart) for m in recorder.messages] == [
            ("s-2", 1, "resync"),
            ("s-2", 2, None),
            ("s-3", 1, "resync"),
        ]
        assert feed.stats.gaps == 2 and feed.stats.resyncs == 2 and feed.stats.stale == 1


async def test_unit_inbox_overflow_never_blocks_the_producer_and_resyncs() -> None:
    api = FakeApi()
    async with fake_feed(api, max_queue=5) as (feed, recorder):
        await _until(lambda: api.created == ["s-1"])
        transport = FakeTransport.instances[0]
        transport.push("s-1", 1, snapshot=True)
        await _until(lambda: len(recorder.messages) == 1)

        # 50 messages from the library's thread while the loop is busy elsewhere: the producer
        # must come back at once, keep 5, drop the rest.
        def burst() -> None:
            for seq in range(2, 52):
                transport.push("s-1", seq)

        started = time.monotonic()
        thread = threading.Thread(target=burst)
        thread.start()
        thread.join()
        assert time.monotonic() - started < 0.5
        await _until(lambda: api.created == ["s-1", "s-2"])
        assert feed.stats.dropped > 0
        assert "s-1" in api.deleted
        assert recorder.kinds("overflow")


async def test_unit_denied_subscription_waits_before_retrying() -> None:
    api = FakeApi()
    api.deny = True
    async with fake_feed(api, denied_retry=30.0) as (_feed, recorder):
        await _until(lambda: bool(recorder.kinds("subscribe_denied")))
        await asyncio.sleep(0.5)
        assert len(recorder.kinds("subscribe_denied")) == 1


async def test_unit_a_transport_that_never_connects_is_rebuilt() -> None:
    """The watchdog replaces a transport that is not connected for `reconnect_grace`."""

    class Stuck(FakeTransport):
        async def start(self, url: str, token: str, handlers: TransportHandlers) -> None:
            await super().start(url, token, handlers)
            if len(FakeTransport.instances) == 1:
                self.connected = False  # "reconnecting" forever, and no close reported

    async with fake_feed(FakeApi(), transport_factory=Stuck, reconnect_grace=0.3) as (feed, _r):
        await _until(lambda: len(FakeTransport.instances) == 2 and feed.connected, 3)
        assert feed.stats.reconnects == 1


def test_default_plan_from_raw_json_and_empty_sections() -> None:
    mbu = {
        "Agents": [{"Type": "Agent", "Id": 5, "teamId": 1}],
        "queues": [{"type": "queue", "id": 3}],
        "Teams": [{"type": "Team", "id": 1}],
    }
    plan = default_plan(mbu)
    kinds = [(s.kind, s.name) for s in plan]
    assert ("agents", "agents by team") in kinds
    assert ("agents", "agents without team") not in kinds
    assert ("queues", "queues") in kinds
    assert not any(s.group_ids or s.business_unit_ids for s in plan)
    agents = next(s for s in plan if s.kind == "agents")
    assert agents.team_ids == (1,) and agents.include_status_history
    assert plan[-1].kind == "alerts"
    with pytest.raises(ValueError):
        SubscriptionSpec("queues", include_status_history=True)
    with pytest.raises(ValueError):
        LiveFeed("u", FakeTokens(), FakeApi(), [plan[0], plan[0]])

"""Hostile frames on the live feed: the real bridge follows the real simulator through a proxy
that relays everything (REST, token service, the SignalR hub) and slips bad frames into the
hub's stream. Whatever comes, the bridge keeps running, counts what it refused, takes fresh
snapshots where its picture could be wrong, and ends up equal to the upstream again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from dashboard.bridge import Bridge
from integrations.clarity import wire
from integrations.clarity.config import ClarityConfig
from integrations.clarity.simulator.server import SimulatorThread
from tests.dashboard.bridge_harness import (
    SUPERVISOR,
    frozen_simulator,
    set_status,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RS = "\x1e"  # SignalR's record separator


class HostileProxy:
    """Relays HTTP and WebSockets to the simulator; `inject` sends a raw text frame to the
    bridge on every hub socket, as if the hub had sent it. It remembers the last real
    subscription update it relayed, to forge believable ones."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.sockets: list[web.WebSocketResponse] = []
        self.last_update: dict[str, Any] | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = self.upstream + request.path_qs
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length", "upgrade", "connection",
                                        "sec-websocket-key", "sec-websocket-version",
                                        "sec-websocket-extensions")}
        async with aiohttp.ClientSession() as session:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self.relay_socket(request, session, target, headers)
            async with session.request(request.method, target, headers=headers,
                                       data=await request.read()) as answer:
                body = await answer.read()
                return web.Response(status=answer.status, body=body, headers={
                    k: v for k, v in answer.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding",
                                         "content-encoding", "connection")})

    async def relay_socket(self, request: web.Request, session: aiohttp.ClientSession,
                           target: str, headers: dict[str, str]) -> web.StreamResponse:
        down = web.WebSocketResponse(max_msg_size=0)
        await down.prepare(request)
        async with session.ws_connect(target.replace("http://", "ws://"), headers=headers,
                                      max_msg_size=0) as up:
            self.sockets.append(down)

            async def upward() -> None:
                async for message in down:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await up.send_str(message.data)

            async def downward() -> None:
                async for message in up:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        self.remember(message.data)
                        await down.send_str(message.data)

            tasks = [asyncio.create_task(upward()), asyncio.create_task(downward())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            self.sockets.remove(down)
        await down.close()
        return down

    def remember(self, data: str) -> None:
        for record in data.split(RS):
            with contextlib.suppress(ValueError):
                frame = json.loads(record)
                if (isinstance(frame, dict) and frame.get("type") == 1
                        and frame.get("target") == wire.HUB_SUBSCRIPTION_UPDATE
                        and frame.get("arguments")):
                    self.last_update = frame["arguments"][0]

    async def inject(self, record: str) -> None:
        for ws in list(self.sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(record + RS)

    async def inject_update(self, payload: Any, target: str = wire.HUB_SUBSCRIPTION_UPDATE,
                            ) -> None:
        await self.inject(json.dumps({"type": 1, "target": target, "arguments": [payload]}))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with frozen_simulator(seed=58) as s:
        yield s


@pytest.fixture
async def proxy(sim: SimulatorThread) -> AsyncIterator[HostileProxy]:
    hostile = HostileProxy(sim.url)
    await hostile.start()
    yield hostile
    await hostile.stop()


@pytest.fixture
async def bridge(proxy: HostileProxy) -> AsyncIterator[tuple[Bridge, asyncio.Task[None]]]:
    username, password = SUPERVISOR
    config = ClarityConfig.from_env({"CLARITY_URL": proxy.url, "CLARITY_AUTH": "basic",
                                     "CLARITY_USERNAME": username,
                                     "CLARITY_PASSWORD": password})
    running = Bridge(config, build="test-build")
    task = asyncio.create_task(running.run())
    await wait_until("the bridge synced", _synced(running, task), within=20)
    yield running, task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _synced(bridge: Bridge, task: asyncio.Task[None]) -> Any:
    async def check() -> bool:
        assert not task.done(), task.exception() if not task.cancelled() else "cancelled"
        return bridge.feed is not None and bridge.feed.is_synced()
    return check


def _statuses(bridge: Bridge) -> dict[int, str]:
    picture = bridge.state.picture.picture
    return {int(key[1]): str(((picture.get(key, copy=False) or {}).get("currentStatus") or {})
                             .get("agentStatus"))
            for key in picture.entity_keys() if key[0] == "agent"}


async def test_hostile_frames_are_refused_counted_and_the_picture_converges(
        bridge: tuple[Bridge, asyncio.Task[None]], proxy: HostileProxy,
        sim: SimulatorThread) -> None:
    running, task = bridge
    feed = running.feed
    assert feed is not None

    toggled = sorted(_statuses(running))[-1]
    flips = [0]

    async def fresh_update() -> dict[str, Any]:
        """A real subscription update of the current streams, relayed from now on: the
        simulator's clock stands still, so an agent changes status to make one."""
        proxy.last_update = None
        await wait_until("synced again", _synced(running, task), within=30)
        flips[0] += 1
        await set_status(sim, toggled, *((3, 2) if flips[0] % 2 else (1,)))
        await wait_until("a real update relayed", _true(lambda: proxy.last_update is not None))
        return dict(proxy.last_update or {})

    # Frames that are not SignalR at all, or of a message type it does not have: the client
    # library drops the connection; the feed connects again and takes fresh snapshots.
    for frame in ("this is not json", json.dumps({"type": 99, "whatever": True})):
        before = feed.stats.reconnects
        await fresh_update()
        await proxy.inject(frame)
        await wait_until("a new connection",
                         _true(lambda before=before: feed.stats.reconnects > before), within=10)
    # Items the client's parser lets through but the merge refuses, in sequence: the bridge
    # counts it and asks the feed for a fresh snapshot of that stream.
    real = await fresh_update()
    resyncs = feed.stats.resyncs
    await proxy.inject_update(dict(real, sequence=int(real["sequence"]) + 1, isSnapshot=False,
                                   items=[{"type": "agent", "id": "not an id"}]))
    await wait_until("the merge's refusal", _true(lambda: running.state.picture.malformed == 1),
                     within=10)
    await wait_until("a fresh snapshot asked for",
                     _true(lambda: feed.stats.resyncs > resyncs), within=10)

    # Hub methods it does not know: ignored. The right method with the wrong shapes (no
    # object, no subscription id, a sequence that is not a number): counted as malformed.
    real = await fresh_update()
    malformed = feed.stats.malformed
    await proxy.inject(json.dumps({"type": 1, "target": "somethingElse", "arguments": [{}]}))
    await proxy.inject(json.dumps({"type": 1, "target": wire.HUB_SUBSCRIPTION_UPDATE,
                                   "arguments": ["not an object"]}))
    await proxy.inject_update({"sequence": int(real["sequence"]) + 1, "items": []})
    await proxy.inject_update(dict(real, sequence="seven"))
    await wait_until("the refusals counted",
                     _true(lambda: feed.stats.malformed >= malformed + 3), within=10)
    assert not task.done()

    # A huge one (200,000 items, several MB) out of sequence, a sequence from the past, one
    # far ahead: refused or repaired, never a crash.
    real = await fresh_update()
    resyncs = feed.stats.resyncs
    await proxy.inject_update(dict(real, sequence=int(real["sequence"]) + 5, isSnapshot=False,
                                   items=[{"type": "agent", "id": -1, "x": "y" * 20}] * 200_000))
    await proxy.inject_update(dict(real, sequence=1, isSnapshot=False))
    await proxy.inject_update(dict(real, sequence=int(real["sequence"]) + 1000,
                                   isSnapshot=False, items=[]))
    await wait_until("gaps repaired", _true(lambda: feed.stats.resyncs > resyncs), within=10)
    await wait_until("synced again", _synced(running, task), within=30)
    assert not task.done(), "the bridge stopped"

    # And it follows the upstream as before: a change made there shows in its picture.
    agent_id = sorted(_statuses(running))[0]
    assert agent_id != toggled
    # (Unavailable with one reason, then another: an available agent would get a call.)
    for reason in (2, 6, 2):
        await set_status(sim, agent_id, 3, reason)
        await wait_until(f"reason {reason} in the picture",
                         _true(lambda reason=reason: _reasons(running).get(agent_id) == reason),
                         within=15)
    assert not task.done()


def _reasons(bridge: Bridge) -> dict[int, Any]:
    picture = bridge.state.picture.picture
    return {int(key[1]): ((picture.get(key, copy=False) or {}).get("currentStatus") or {})
            .get("reasonCodeId") for key in picture.entity_keys() if key[0] == "agent"}


def _true(check: Any) -> Any:
    async def run() -> bool:
        return bool(check())
    return run

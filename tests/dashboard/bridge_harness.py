"""The real chain in tests: the embedded simulator -> the bridge -> the channel layer ->
LiveConsumer, and what a page receives at the end of it.

Plain helpers shared by the test files that drive it; their fixtures (a module's simulator,
with its own seed, and a bridge per test) stay in the test files:

    @pytest.fixture(scope="module")
    def sim() -> Iterator[SimulatorThread]:
        with frozen_simulator(seed=51) as s:
            yield s

    @pytest.fixture
    async def bridge(sim: SimulatorThread) -> AsyncIterator[Bridge]:
        async with running_bridge(sim, build="test-build") as running:
            yield running
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from dashboard.bridge import Bridge
from dashboard.routing import websocket_urlpatterns
from integrations.clarity.config import ClarityConfig
from integrations.clarity.simulator.model import STATUS_IDS
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

# The simulator's supervisor, and the client id its token service expects.
SUPERVISOR = ("supervisor", "demo")
CLIENT_ID = "0224C392-3845-4AC0-B1A0-D63706181BA7"


# ---------------------------------------------------------------------------------------------
# The simulator and the bridge
# ---------------------------------------------------------------------------------------------


def frozen_simulator(seed: int) -> SimulatorThread:
    """A simulator whose clock barely moves (speed 1e-6): the only changes are the ones a test
    makes. Use it as a context manager (`with frozen_simulator(seed=51) as sim:`)."""
    return SimulatorThread(SimulatorConfig(port=0, seed=seed, speed=1e-6, ping_interval=2))


def clarity_config(sim: SimulatorThread) -> ClarityConfig:
    """The bridge's configuration for the simulator, with its supervisor's basic auth."""
    username, password = SUPERVISOR
    return ClarityConfig.from_env({"CLARITY_URL": sim.url, "CLARITY_AUTH": "basic",
                                   "CLARITY_USERNAME": username, "CLARITY_PASSWORD": password})


@contextlib.asynccontextmanager
async def running_bridge(sim: SimulatorThread, *, settle: float = 0.2,
                         synced_within: float = 20.0, **kwargs: Any) -> AsyncIterator[Bridge]:
    """A Bridge(clarity_config(sim), **kwargs) running on this loop, yielded once its feed is
    synced and, after `settle` seconds more, its first renders published; cancelled on exit."""
    bridge = Bridge(clarity_config(sim), **kwargs)
    task = asyncio.create_task(bridge.run())
    deadline = time.monotonic() + synced_within
    try:
        while bridge.feed is None or not bridge.feed.is_synced():
            assert time.monotonic() < deadline, "the bridge never synced"
            assert not task.done(), task.exception() if task.done() else ""
            await asyncio.sleep(0.05)
        if settle:
            await asyncio.sleep(settle)  # let the first snapshots be published
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Cancelling stops the bridge's coroutines, not a database call already running in the
        # sync thread (persist, the periodic upkeep): one more call on that thread waits for
        # it, so that the test database is not flushed under it ("table is locked").
        await sync_to_async(lambda: None)()


async def wait_until(what: str, check: Callable[[], Awaitable[Any]],
                     within: float = 10.0) -> Any:
    """Poll `check` every 0.1 s until it returns something truthy; return that."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# Changing things upstream
# ---------------------------------------------------------------------------------------------


async def set_status(sim: SimulatorThread, agent_id: int, status: int,
                     reason: int | None = None) -> None:
    """Set an agent's status through the simulator's REST API (agentStatus/update), as a
    supervisor's action would."""
    async with httpx.AsyncClient() as client:
        token = (await client.post(
            sim.url + "/webauth/token", auth=SUPERVISOR,
            data={"grant_type": "urn:connect.auth:windows",
                  "client_id": CLIENT_ID})).json()["access_token"]
        body: dict[str, Any] = {"agentStatusId": status}
        if reason is not None:
            body["reasonCodeId"] = reason
        response = await client.post(f"{sim.url}/webapi/api/v2/agentStatus/update/{agent_id}",
                                     json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204, response.text


def set_everyone(sim: SimulatorThread, status: str, jump: float) -> None:
    """Every agent to `status`, then the clock `jump` seconds on: with nobody to answer, waits
    pass 120 s (critical alerts); with everybody back, they clear. Blocking: call it through
    asyncio.to_thread from a test's loop."""
    async def run() -> None:
        for agent_id in list(sim.sim.cc.agents):
            sim.sim.cc.update_status(agent_id, STATUS_IDS[status], None, None)
        await sim.sim.jump(jump)

    sim.call(run)


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


async def superuser(username: str = "boss") -> Any:
    return await sync_to_async(get_user_model().objects.create_superuser)(username, password="x")


def communicator_for(path: str, user: Any = None) -> WebsocketCommunicator:
    """A page's socket at `path` (not connected yet), as `user` (None: nobody logged in)."""
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    if user is not None:
        communicator.scope["user"] = user
    return communicator


async def open_page(path: str, user: Any = None) -> WebsocketCommunicator:
    """A page's socket at `path`, connected (and accepted)."""
    communicator = communicator_for(path, user)
    assert (await communicator.connect())[0], f"{path} refused"
    return communicator


def split(message: str) -> tuple[dict[str, Any], str]:
    """A socket message's `<!--live {...}-->` header, parsed, and its HTML."""
    assert message.startswith("<!--live "), message[:80]
    end = message.index("-->")
    return json.loads(message[len("<!--live "):end]), message[end + 3:]


async def receive_until(communicator: WebsocketCommunicator, wanted: str,
                        within: float = 5.0) -> tuple[dict[str, Any], str]:
    """The next message whose HTML contains `wanted` (the ones before it are dropped)."""
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"{wanted!r} never arrived"
        meta, html = split(await communicator.receive_from(timeout=left))
        if wanted in html:
            return meta, html


async def messages_until_quiet(communicator: WebsocketCommunicator,
                               quiet: float) -> list[tuple[dict[str, Any], str]]:
    """Everything the page gets until nothing has come for `quiet` seconds."""
    seen = []
    while not await communicator.receive_nothing(timeout=quiet):
        seen.append(split(await communicator.receive_from()))
    return seen


async def messages_during(communicator: WebsocketCommunicator,
                          seconds: float) -> list[tuple[dict[str, Any], str]]:
    """Everything the page gets in the next `seconds` (receive_nothing, unlike a timed-out
    receive_from, leaves the consumer running)."""
    seen = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not await communicator.receive_nothing(timeout=min(left, 0.1)):
            seen.append(split(await communicator.receive_from()))
    return seen

"""Fixtures for the Clarity client's tests: a real simulator over real sockets, configs and
clients pointed at it, and a minimal SignalR hub connection to get a connection id.

The simulator is started through its public test API only (SimulatorThread); nothing here knows
its internals. The hub helper follows the contract page (negotiate, JSON handshake, the
`GetConnectionId` hub method), not the simulator's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig, RetryPolicy
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

RS = "\x1e"  # SignalR JSON hub protocol record separator
# Tiny delays: retry tests must stay fast, and real backoff is tested with a recorded sleep.
FAST_RETRY = RetryPolicy(attempts=3, base=0.001, cap=0.005)


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    """One simulator per test module (seed 7, real time, 1 h tokens)."""
    sim = SimulatorThread(SimulatorConfig(port=0, seed=7, speed=1.0, token_ttl=3600)).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def clarity_sim(simulator: SimulatorThread) -> Iterator[SimulatorThread]:
    """The module's simulator, with every fault cleared after the test."""
    try:
        yield simulator
    finally:
        simulator.call(simulator.sim.clear_faults)


def sim_config(sim: SimulatorThread, **overrides: Any) -> ClarityConfig:
    """A config for the simulator: Basic auth as `supervisor`, fast retries."""
    base = ClarityConfig(retry=FAST_RETRY).with_url(sim.url)
    return replace(base, **overrides) if overrides else base


@pytest.fixture
async def clarity_client(clarity_sim: SimulatorThread) -> AsyncIterator[ClarityClient]:
    async with ClarityClient(sim_config(clarity_sim)) as client:
        yield client


class HubConnection:
    """Just enough of a SignalR client (contract page) to own a connection id and read what the
    hub pushes. Invocations from the server land in `messages`."""

    def __init__(self, hub_url: str, token: str) -> None:
        self.hub_url = hub_url
        self.token = token
        self.connection_id = ""
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._completions: dict[str, asyncio.Future[Any]] = {}

    async def __aenter__(self) -> HubConnection:
        headers = {"Authorization": f"Bearer {self.token}"}
        self._session = aiohttp.ClientSession(headers=headers)
        async with self._session.post(f"{self.hub_url}/negotiate?negotiateVersion=1") as r:
            r.raise_for_status()
            negotiated = await r.json()
        conn = negotiated.get("connectionToken") or negotiated["connectionId"]
        ws_url = self.hub_url.replace("http", "ws", 1) + f"?id={conn}"
        self._ws = await self._session.ws_connect(ws_url)
        await self._ws.send_str(json.dumps({"protocol": "json", "version": 1}) + RS)
        handshake = await asyncio.wait_for(self._ws.receive_str(), 5)
        assert json.loads(handshake.split(RS)[0]) == {}, handshake
        self._reader = asyncio.create_task(self._read())
        self.connection_id = await self.invoke("GetConnectionId")
        return self

    async def invoke(self, target: str, *args: Any) -> Any:
        assert self._ws is not None
        invocation_id = str(len(self._completions) + 1)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._completions[invocation_id] = future
        message = {"type": 1, "invocationId": invocation_id, "target": target, "arguments": args}
        await self._ws.send_str(json.dumps(message) + RS)
        return await asyncio.wait_for(future, 5)

    async def _read(self) -> None:
        assert self._ws is not None
        async for frame in self._ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            for record in frame.data.split(RS):
                if not record:
                    continue
                message = json.loads(record)
                if message.get("type") == 3:
                    future = self._completions.get(str(message.get("invocationId")))
                    if future and not future.done():
                        future.set_result(message.get("result"))
                elif message.get("type") == 1:
                    await self.messages.put(message)
                elif message.get("type") == 6:  # ping: answer so the hub keeps us
                    await self._ws.send_str(json.dumps({"type": 6}) + RS)

    async def next_update(self, subscription_id: str, within: float = 5.0) -> dict[str, Any]:
        """The next pushed message (argument) of one subscription; others are skipped."""
        async with asyncio.timeout(within):
            while True:
                message = await self.messages.get()
                argument = (message.get("arguments") or [{}])[0]
                if argument.get("subscriptionId") == subscription_id:
                    return {"target": message["target"], **argument}

    async def __aexit__(self, *exc: object) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws:
            await self._ws.close()
        if self._session:
            await self._session.close()

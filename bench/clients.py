"""The bench's WebSocket clients: one process holds many connections (asyncio + websockets).

`run(spec, pipe)` is a multiprocessing target. It connects `spec.count` sockets to
`spec.url`, waits for each one's first message (the snapshot), and answers the orchestrator
over `pipe`:

- it sends ("connected", {...}) once every socket has its snapshot (or ("error", text));
- ("measure", None): from now on, count what arrives and time every status change seen;
- ("stop", t_end): stop counting; answers ("stats", {...});
- ("close", None): closes the sockets and returns.

Latency of a change = the time this process read the frame showing the agent's new
data-status, minus the time the driver made the change (bench/table.py), both `time.time()` on
the same machine. Each socket remembers the last status it saw per agent, so only transitions
are timed; a row re-sent with the same status (e.g. on another metric's change) is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidMessage

from bench.procutil import die_with_parent
from bench.table import AGENT_ROW, STATUS_INDEX, ChangeTable

HEADER = "<!--live "
# Latency histograms count in buckets of this many seconds (0.1 ms).
BUCKET = 1e-4
# Connection attempts in flight at once: enough to connect quickly without a SYN flood.
CONNECTING = 20
CONNECT_ATTEMPTS = 5


@dataclass
class Spec:
    url: str
    count: int
    origin: str
    table: str
    slots: int
    # Keep the frames the first socket receives while measuring (the baseline replays them).
    record: bool = False
    # Time every agent row, not only status changes (the baseline: each row it sends is new).
    every_row: bool = False
    connect_timeout: float = 120.0


@dataclass
class Stats:
    frames: int = 0
    bytes: int = 0
    timed: int = 0
    unmatched: int = 0
    gaps: int = 0
    per_socket_frames: list[int] = field(default_factory=list)
    latency: Counter[int] = field(default_factory=Counter)
    push_latency: Counter[int] = field(default_factory=Counter)
    # Frames per 0.1 s of wall clock, to compute rates over the driving window only.
    timeline: Counter[int] = field(default_factory=Counter)
    timed_timeline: Counter[int] = field(default_factory=Counter)
    # Latency summed and maximal per second of arrival: whether it stays flat or grows.
    latency_sum: Counter[int] = field(default_factory=Counter)
    latency_max: dict[int, float] = field(default_factory=dict)


class Socket:
    def __init__(self, number: int, ws: ClientConnection) -> None:
        self.number = number
        self.ws = ws
        self.statuses: dict[int, str] = {}
        self.seq: int | None = None
        self.acked: int | None = None
        self.frames = 0
        self.snapshot = asyncio.Event()
        self.first: str | None = None


class Clients:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.table = ChangeTable(spec.table, spec.slots)
        self.sockets: list[Socket] = []
        self.stats = Stats()
        self.measuring = False
        self.recorded: list[tuple[float, str]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.retries = 0

    async def open(self, number: int, gate: asyncio.Semaphore) -> Socket:
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                async with gate:
                    ws = await connect(self.spec.url, origin=self.spec.origin,  # type: ignore[arg-type]
                                       compression=None, max_size=None, ping_interval=None,
                                       open_timeout=self.spec.connect_timeout, close_timeout=2)
                break
            except (OSError, InvalidHandshake, InvalidMessage):
                # As a page would: a busy server may drop a handshake; try again, later.
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise
                self.retries += 1
                await asyncio.sleep(0.5 * 2**attempt)
        sock = Socket(number, ws)
        self.sockets.append(sock)
        if not self.tasks:
            self.tasks.append(asyncio.create_task(self.acknowledge()))
        self.tasks.append(asyncio.create_task(self.read(sock)))
        await sock.snapshot.wait()
        return sock

    async def acknowledge(self) -> None:
        """As live.js does: every 5 s, each socket says the last seq it has read (the
        dashboard stops sending diffs to a page that does not; the baseline ignores them)."""
        while True:
            await asyncio.sleep(5.0)
            for sock in list(self.sockets):
                if sock.seq is not None and sock.seq != sock.acked:
                    sock.acked = sock.seq
                    with contextlib.suppress(Exception):
                        await sock.ws.send(json.dumps({"type": "ack", "seq": sock.seq}))

    async def read(self, sock: Socket) -> None:
        with contextlib.suppress(Exception):
            async for message in sock.ws:
                self.handle(sock, message if isinstance(message, str) else message.decode())

    def handle(self, sock: Socket, text: str) -> None:
        now = time.time()
        end = text.find("-->")
        if not text.startswith(HEADER) or end < 0:
            return
        meta = json.loads(text[len(HEADER):end])
        kind = meta.get("kind")
        seq = meta.get("seq")
        if kind == "snapshot":
            sock.seq = seq
            if sock.first is None:
                sock.first = text
            for match in AGENT_ROW.finditer(text, end):
                sock.statuses[int(match[1])] = match[2]
            sock.snapshot.set()
            return
        measuring = self.measuring
        if kind == "diff" and isinstance(seq, int):
            # A missed or reordered message (the baseline replays frames round and round: its
            # seq numbers mean nothing).
            if (sock.seq is not None and seq != sock.seq + 1 and measuring
                    and not self.spec.every_row):
                self.stats.gaps += 1
            sock.seq = seq
        if not measuring:
            for match in AGENT_ROW.finditer(text, end):
                sock.statuses[int(match[1])] = match[2]
            return
        stats = self.stats
        stats.frames += 1
        stats.bytes += len(text)
        stats.timeline[int(now * 10)] += 1
        sock.frames += 1
        if self.spec.record and sock.number == 0:
            self.recorded.append((now, text))
        change, push = self.table.change, self.table.push
        every_row = self.spec.every_row
        for match in AGENT_ROW.finditer(text, end):
            agent, status = int(match[1]), match[2]
            if sock.statuses.get(agent) == status and not every_row:
                continue
            sock.statuses[agent] = status
            index = STATUS_INDEX.get(status)
            slot = agent * len(STATUS_INDEX) + index if index is not None else -1
            if index is None or slot >= len(change) or change[slot] <= 0:
                stats.unmatched += 1
                continue
            stats.timed += 1
            stats.timed_timeline[int(now * 10)] += 1
            latency = now - change[slot]
            stats.latency[int(latency / BUCKET)] += 1
            second = int(now)
            stats.latency_sum[second] += latency  # type: ignore[assignment]
            if latency > stats.latency_max.get(second, 0.0):
                stats.latency_max[second] = latency
            if push[slot] > 0:
                stats.push_latency[int((now - push[slot]) / BUCKET)] += 1

    async def connect_all(self) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECTING)
        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(self.open(n, gate) for n in range(self.spec.count))),
            self.spec.connect_timeout)
        first = min(self.sockets, key=lambda s: s.number)
        return {"sockets": len(self.sockets), "seconds": time.perf_counter() - started,
                "snapshot_bytes": len(first.first or ""), "retries": self.retries,
                "snapshot": first.first if self.spec.record else None,
                "agents_in_snapshot": len(first.statuses)}

    def start(self) -> None:
        for sock in self.sockets:
            sock.frames = 0
        self.stats = Stats()
        self.recorded = []
        self.cpu_start = time.process_time()
        self.wall_start = time.perf_counter()
        self.measuring = True

    def stop(self) -> dict[str, Any]:
        self.measuring = False
        cpu = time.process_time() - self.cpu_start
        wall = time.perf_counter() - self.wall_start
        stats = self.stats
        return {
            "frames": stats.frames, "bytes": stats.bytes, "timed": stats.timed,
            "unmatched": stats.unmatched, "gaps": stats.gaps,
            "per_socket_frames": [s.frames for s in self.sockets],
            "open_sockets": sum(1 for s in self.sockets if s.ws.close_code is None),
            "latency": dict(stats.latency), "push_latency": dict(stats.push_latency),
            "timeline": dict(stats.timeline), "timed_timeline": dict(stats.timed_timeline),
            "latency_sum": dict(stats.latency_sum), "latency_max": stats.latency_max,
            "cpu_seconds": cpu, "wall_seconds": wall,
            "recorded": self.recorded,
        }

    async def close(self) -> None:
        await asyncio.gather(*(s.ws.close() for s in self.sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.table.close()


async def serve(spec: Spec, pipe: Connection) -> None:
    clients = Clients(spec)
    loop = asyncio.get_running_loop()
    try:
        try:
            info = await clients.connect_all()
        except Exception as exc:  # reported to the orchestrator, which exits non-zero
            pipe.send(("error", f"{type(exc).__name__}: {exc} "
                                f"({len(clients.sockets)}/{spec.count} sockets connected)"))
            return
        pipe.send(("connected", info))
        while True:
            command, _ = await loop.run_in_executor(None, pipe.recv)
            if command == "measure":
                clients.start()
            elif command == "stop":
                pipe.send(("stats", clients.stop()))
            elif command == "close":
                break
    finally:
        await clients.close()


def run(spec: Spec, pipe: Connection) -> None:
    die_with_parent()
    asyncio.run(serve(spec, pipe))

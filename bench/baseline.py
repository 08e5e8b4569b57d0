"""The ceiling: a bare `websockets` broadcast server replaying the dashboard's own frames.

`run(pipe)` is a multiprocessing target. It listens on a free port and answers over `pipe`:

- it sends ("listening", port);
- ("snapshot", text): the first message every new connection gets (the snapshot a dashboard
  socket got), so clients start from the same agent statuses;
- ("replay", (frames, rate, seconds, table, slots)): sends the dashboard's own diff frames
  (same bytes, so the same sizes and the same rows per frame) to every connection with
  `websockets.broadcast`, round and round, paced so that their agent rows go out at the rate
  the driver offered the dashboard (so the same rate and the same number of clients, even when
  the dashboard itself fell behind). Before sending a frame it stamps its agent rows into the
  change table, and the clients time every row they read against that; answers
  ("replayed", {...});
- ("quit", None).

No Django, no channel layer, no per-connection state: only what any Python WebSocket fan-out
must do (frame, write, let the kernel carry it), which is what "ours / bare" compares against.
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.procutil import die_with_parent
from bench.table import AGENT_ROW, STATUS_INDEX, ChangeTable


class Baseline:
    def __init__(self) -> None:
        self.connections: set[ServerConnection] = set()
        self.snapshot = ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections.add(ws)
        try:
            await ws.send(self.snapshot)
            await ws.wait_closed()
        finally:
            self.connections.discard(ws)

    async def replay(self, frames: list[str], rate: float, seconds: float, table_path: str,
                     slots: int) -> dict[str, Any]:
        """Send `frames` round and round to every connection, paced so that the agent rows
        they carry go out at `rate` a second (the rate the driver offered the dashboard), for
        `seconds`. Each row is stamped in the change table when its frame goes out."""
        table = ChangeTable(table_path, slots)
        plan = []
        for text in frames:
            rows = [int(m[1]) * len(STATUS_INDEX) + STATUS_INDEX[m[2]]
                    for m in AGENT_ROW.finditer(text) if m[2] in STATUS_INDEX]
            plan.append((text, rows))
        loop = asyncio.get_running_loop()
        late = 0.0
        sent_frames = sent_rows = 0
        wanted = int(rate * seconds)
        start = loop.time() + 0.05
        try:
            while plan and sent_rows < wanted:
                for text, rows in plan:
                    delay = start + sent_rows / rate - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    else:
                        late = max(late, -delay)
                    now = time.time()
                    for slot in rows:
                        table.change[slot] = table.push[slot] = now
                    broadcast(self.connections, text)
                    sent_frames += 1
                    sent_rows += len(rows)
                    if sent_rows >= wanted:
                        break
        finally:
            table.close()
        return {"frames": sent_frames, "rows": sent_rows, "seconds": loop.time() - start,
                "max_late_ms": round(late * 1000, 1)}


async def main(pipe: Connection) -> None:
    baseline = Baseline()
    loop = asyncio.get_running_loop()
    async with serve(baseline.handler, "127.0.0.1", 0, compression=None, max_size=None,
                     ping_interval=None) as server:
        pipe.send(("listening", next(iter(server.sockets)).getsockname()[1]))
        while True:
            command, argument = await loop.run_in_executor(None, pipe.recv)
            if command == "snapshot":
                baseline.snapshot = argument
            elif command == "replay":
                pipe.send(("replayed", await baseline.replay(*argument)))
            elif command == "quit":
                break


def run(pipe: Connection) -> None:
    die_with_parent()
    asyncio.run(main(pipe))

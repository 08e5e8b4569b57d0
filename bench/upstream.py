"""The bench's upstream: the Clarity simulator in its own process, and the change driver.

    python -m bench.upstream --agents 500 --table /tmp/x/changes.bin

Prints one JSON line when the simulator listens ({"url", "agents", "slots"}), then reads
commands on stdin, one per line:

- `go RATE SECONDS`: change RATE agent statuses a second for SECONDS, round-robin over the
  agents, each through the next status of bench.table.STATUSES; prints a JSON line with what
  was done when finished;
- `quit`: stop.

The simulator's own traffic model is paused (speed ~0) unless `--traffic` is given, so the
changes per second are the driver's. Each change is made in-process on the simulator's loop
(the model action behind REST `agentStatus/update`), so the driver's own HTTP cost does not
limit the rate; the simulator pushes it to the hub at its next tick, as for any other change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from typing import Any

from bench.table import STATUS_IDS, STATUSES, ChangeTable
from integrations.clarity.simulator.server import Simulator, SimulatorConfig

PAUSED_SPEED = 1e-9


class Driver:
    def __init__(self, sim: Simulator, table: ChangeTable) -> None:
        self.sim = sim
        self.table = table
        # Routable agents only: team leads and supervisors are not in the traffic model.
        self.agents = sorted(a.id for a in sim.cc.agents.values() if a.routable)
        self._next: dict[int, int] = {}
        self._unpushed: list[int] = []
        self.flush_seconds: list[float] = []
        self._wrap_flush()

    def _wrap_flush(self) -> None:
        """Note when the simulator pushes the changes made since its last push (what our
        stack adds to the latency starts there)."""
        original = self.sim.flush

        async def flush() -> int:
            now = time.time()
            for slot in self._unpushed:
                self.table.push[slot] = now
            self._unpushed.clear()
            started = time.perf_counter()
            # take_changes() runs before the flush's first await: a change made while it
            # pushes belongs to the next push, as noted above.
            sent = await original()
            self.flush_seconds.append(time.perf_counter() - started)
            return sent

        self.sim.flush = flush  # type: ignore[method-assign]

    def change(self, agent_id: int) -> bool:
        agent = self.sim.cc.agents[agent_id]
        status = self._next.get(agent_id, 0)
        if agent.status == STATUSES[status]:
            status = (status + 1) % len(STATUSES)
        self._next[agent_id] = (status + 1) % len(STATUSES)
        when = time.time()
        self.sim.cc.update_status(agent_id, STATUS_IDS[status], None, None)
        if agent.status != STATUSES[status]:
            return False  # the model refused or redirected it: nothing to time
        slot = ChangeTable.index(agent_id, status)
        self.table.change[slot] = when
        self._unpushed.append(slot)
        return True

    async def drive(self, rate: float, seconds: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        total = int(rate * seconds)
        done = timed = 0
        lag = 0.0
        self.flush_seconds.clear()
        start = loop.time()
        position = 0
        while done < total:
            now = loop.time()
            due = min(total, int((now - start) * rate) + 1)
            if due - done > 1:
                lag = max(lag, (due - done - 1) / rate)
            while done < due:
                agent_id = self.agents[position % len(self.agents)]
                position += 1
                timed += self.change(agent_id)
                done += 1
            await asyncio.sleep(0.002)
        elapsed = loop.time() - start
        flushes = sorted(self.flush_seconds)
        return {
            "changes": done, "timed": timed, "seconds": round(elapsed, 3),
            "rate": round(done / elapsed, 1) if elapsed else 0.0,
            "max_lag_ms": round(lag * 1000, 1),
            "flushes": len(flushes),
            "flush_ms_p50": round(flushes[len(flushes) // 2] * 1000, 2) if flushes else None,
            "flush_ms_max": round(flushes[-1] * 1000, 2) if flushes else None,
        }


async def main(args: argparse.Namespace) -> None:
    config = SimulatorConfig(host="127.0.0.1", port=0, agents=args.agents, queues=args.queues,
                             speed=1.0 if args.traffic else PAUSED_SPEED, tick=args.tick,
                             seed=args.seed)
    sim = Simulator(config)
    await sim.start()
    slots = max(sim.cc.agents) + 1
    table = ChangeTable(args.table, slots, create=True)
    driver = Driver(sim, table)
    print(json.dumps({"url": sim.base_url, "agents": len(driver.agents), "slots": slots}),
          flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            words = line.split()
            if not words or words[0] == "quit":
                break
            if words[0] == "go":
                result = await driver.drive(float(words[1]), float(words[2]))
                print(json.dumps(result), flush=True)
    finally:
        await sim.stop()
        table.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--queues", type=int, default=8)
    parser.add_argument("--tick", type=float, default=0.1,
                        help="the simulator's push interval (the contract's 100 ms)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--traffic", action="store_true",
                        help="keep the simulator's own traffic model running")
    parser.add_argument("--table", required=True, help="the change table's file (created)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parse()))

"""How long the simulator takes to push a tick's changes, in-process, without sockets.

    .venv/bin/python bench/simulator_flush.py [--agents 500] [--rate 500] [--ticks 30] [--profile]

Builds the simulator's model, subscribes the way the bridge does (agents by team with status
history, agent and queue totals, agents grouped by team, group and business unit, queues
grouped by team, queues, alerts), then for each tick changes `rate * 0.1` agents' statuses and
times `Subscriptions.flush`. Prints one JSON line (median and max milliseconds per flush);
with --profile, the top of a cProfile by internal time on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from integrations.clarity.simulator.model import ContactCenter
from integrations.clarity.simulator.subscriptions import Subscriptions

TICK = 0.1


class _Hub:
    """Stands in for the SignalR hub: one open connection that accepts every message."""

    items: dict[str, Any] = {}  # noqa: RUF012 - one shared stand-in connection

    def get(self, connection_id: str) -> _Hub:
        return self

    async def send(self, connection_id: str, target: str, message: Any) -> bool:
        return True


async def run(agents: int, rate: float, ticks: int) -> list[float]:
    cc = ContactCenter(seed=7, agents=agents, queues=8)
    subs = Subscriptions(cc, _Hub())  # type: ignore[arg-type]
    viewer = cc.agent_by_login("supervisor")
    assert viewer is not None  # noqa: S101 - the simulator always has its demo supervisor
    teams = ",".join(str(t) for t in cc.teams)
    queues = ",".join(str(q) for q in cc.queues)
    plan = [("agents", {"teamIds": teams, "includeStatusHistory": "true"}),
            ("agentsAggregate", {"teamIds": teams}),
            ("queues", {"queueIds": queues}), ("queuesAggregate", {"queueIds": queues}),
            *[("agentsGroup", {"teamIds": teams, "groupBy": by})
              for by in ("team", "group", "businessUnit")],
            ("queuesGroup", {"teamIds": teams, "groupBy": "team"}),
            ("alerts", {})]
    for kind, query in plan:
        await subs.create(kind, viewer, query, {"connectionId": "bench"})
    routable = [a.id for a in cc.agents.values() if a.routable]
    rng = random.Random(7)  # noqa: S311 - which agent goes where, not a secret
    seconds: list[float] = []
    for tick in range(ticks):
        for n in range(int(rate * TICK)):
            agent_id = routable[(tick * int(rate * TICK) + n) % len(routable)]
            cc.update_status(agent_id, rng.choice([1, 3]), None, None)
        dirty, alerts = cc.take_changes()
        started = time.perf_counter()
        await subs.flush(dirty, alerts)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=500.0, help="changes a second")
    parser.add_argument("--ticks", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    if profile:
        profile.enable()
    seconds = asyncio.run(run(args.agents, args.rate, args.ticks))
    if profile:
        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    print(json.dumps({"bench": "simulator_flush", "agents": args.agents, "rate": args.rate,
                      "ticks": args.ticks, "profiled": args.profile,
                      "flush_ms_median": round(statistics.median(seconds) * 1000, 1),
                      "flush_ms_max": round(max(seconds) * 1000, 1)}))


if __name__ == "__main__":
    main()

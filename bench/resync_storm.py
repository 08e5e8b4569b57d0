"""Resync storm: every page reconnects at once (a deploy, a proxy restart), and each asks for
its snapshot. How long until all have one again, and what it costs.

    .venv/bin/python bench/resync_storm.py [--clients 1000] [--workers 0] [--agents 500]
                                           [--rate 50] [--rounds 3]

Starts the stack as bench/fanout.py does (the simulator with its change driver; the demo's one
process, or with --workers N the scale-out deployment), connects C wallboard sockets from this
process and waits for every snapshot. Then, `--rounds` times: the change driver runs at
`--rate` changes/s, every socket is closed and all reconnect at the same moment; each one's
time from its reconnect to its snapshot is recorded. Prints one JSON line: per round the
p50/p95/max time to a snapshot, how long until the last one, snapshots served per second, and
the servers' CPU during the storm.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/resync_storm.py`
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import InvalidHandshake, InvalidMessage  # noqa: E402

from bench.fanout import BenchError, Run, log, raise_fd_limit, total_usage  # noqa: E402

HEADER = "<!--live "


async def _snapshot(url: str, origin: str) -> tuple[Any, float]:
    """Connect, and return (socket, seconds until its snapshot), retrying a refused connect."""
    started = time.perf_counter()
    for attempt in range(8):
        try:
            ws = await connect(url, origin=origin, compression=None,  # type: ignore[arg-type]
                               max_size=None, ping_interval=None, open_timeout=60)
            break
        except (OSError, InvalidHandshake, InvalidMessage, TimeoutError):
            # As a page would: a busy server may drop a handshake; try again, later.
            await asyncio.sleep(0.25 * 2**attempt)
    else:
        raise RuntimeError("could not connect")
    while True:
        message = await asyncio.wait_for(ws.recv(), 120)
        text = message if isinstance(message, str) else message.decode()
        if text.startswith(HEADER) and '"kind":"snapshot"' in text[:300]:
            return ws, time.perf_counter() - started


async def storm(urls: list[str], origin: str, clients: int, rounds: int, pids: list[int],
                drive: Any) -> list[dict[str, Any]]:
    # Not all at once for the first connection: that is not what is measured.
    sockets = []
    for start in range(0, clients, 100):
        batch = await asyncio.gather(*(_snapshot(urls[i % len(urls)], origin)
                                       for i in range(start, min(start + 100, clients))))
        sockets += [ws for ws, _ in batch]
    log(f"{clients} sockets have their snapshot")
    results = []
    for round_number in range(rounds):
        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        await asyncio.sleep(2)  # changes flowing
        before = total_usage(pids)
        await asyncio.gather(*(ws.close() for ws in sockets))
        t0 = time.perf_counter()
        batch = await asyncio.gather(*(_snapshot(urls[i % len(urls)], origin)
                                       for i in range(clients)))
        elapsed = time.perf_counter() - t0
        after = total_usage(pids)
        sockets = [ws for ws, _ in batch]
        waits = sorted(seconds for _, seconds in batch)
        results.append({
            "round": round_number + 1,
            "all_snapshots_s": round(elapsed, 2),
            "snapshot_p50_ms": round(1000 * statistics.median(waits)),
            "snapshot_p95_ms": round(1000 * waits[int(0.95 * (len(waits) - 1))]),
            "snapshot_max_ms": round(1000 * waits[-1]),
            "snapshots_per_s": round(clients / elapsed, 1),
            "server_cpu_s": round(after.cpu_seconds - before.cpu_seconds, 2),
        })
        log(f"round {round_number + 1}: {results[-1]}")
        driver.join()
    await asyncio.gather(*(ws.close() for ws in sockets))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile the one-process dashboard into FILE (not with --workers)")
    args = parser.parse_args(argv)
    # What bench/fanout.py's Run needs besides these.
    run_args = argparse.Namespace(
        clients=args.clients, workers=args.workers, agents=args.agents, rate=args.rate,
        seconds=6.0, tick=0.1, traffic=False, profile=args.profile, client_procs=0, drain=0.0,
        no_baseline=True, dump_frames=None, quick=False)
    raise_fd_limit(args.clients * 2 + 256)
    with tempfile.TemporaryDirectory(prefix="resync-storm-") as tmp, \
            Run(run_args, Path(tmp)) as run:
        info = run.start_upstream()
        if args.workers:
            ports, token, pids = run.start_scaleout(info["url"])
        else:
            port, token = run.start_server(info["url"])
            ports = [port]
            if run.server is None:
                raise BenchError("the dashboard is not running")
            pids = [run.server.pid]
        origin = f"http://127.0.0.1:{ports[0]}"
        urls = [f"ws://127.0.0.1:{port}/ws/wallboard/{token}/" for port in ports]
        run.wait_for_picture(urls[0], origin, info["agents"])
        upstream = run.upstream
        if upstream is None or upstream.stdin is None:
            raise BenchError("the simulator is not running")

        def drive() -> None:
            upstream.stdin.write(f"go {args.rate} {run_args.seconds}\n")  # type: ignore[union-attr]
            upstream.stdin.flush()  # type: ignore[union-attr]
            upstream.stdout.readline()  # type: ignore[union-attr]

        rounds = asyncio.run(storm(urls, origin, args.clients, args.rounds, pids, drive))
    print(json.dumps({
        "bench": "resync_storm", "command": "bench/resync_storm.py " + " ".join(sys.argv[1:]),
        "clients": args.clients, "workers": args.workers, "agents": args.agents,
        "rate": args.rate, "rounds": rounds,
        "median_all_snapshots_s": statistics.median(r["all_snapshots_s"] for r in rounds),
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

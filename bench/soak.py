"""Soak: the demo stack for a long stretch of accelerated simulated traffic, with pages
connected the whole time. Memory must stay flat and the pages must end equal to the upstream.

    .venv/bin/python bench/soak.py [--minutes 10] [--speed 60] [--clients 100]

`manage.py clarity_simulator --speed S` and `manage.py demo` against it (bridge and daphne in
one process; the simulator in its own, so that its memory is not counted) run for M minutes of
wall clock: S x M simulated minutes (the default: ten simulated hours in ten minutes, a busy
day's traffic model). C wallboard sockets stay connected throughout, apply every diff to the
agent statuses they hold, and acknowledge once a second as pages do. The process's resident
memory is sampled every `--sample` seconds. At the end, with the simulator's clock paused (its
`pause` control) and 3 s for what was in flight, every agent's status is compared three ways:
what each long-connected socket holds, what a fresh socket's snapshot shows, and what the
simulator's REST API says. Prints one JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/soak.py`
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from bench.fanout import BenchError, free_port, log  # noqa: E402
from bench.procutil import child_setup, stop, usage  # noqa: E402
from bench.table import AGENT_ROW  # noqa: E402

CLIENT_ID = "0224C392-3845-4AC0-B1A0-D63706181BA7"


class Page:
    """A wallboard socket that keeps what it was sent, as live.js does."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.statuses: dict[int, str] = {}
        self.seq = 0
        self.acked = 0
        self.messages = 0

    def apply(self, text: str) -> None:
        header, _, _ = text.partition("-->")
        meta = json.loads(header[len("<!--live "):]) if header.startswith("<!--live ") else {}
        if meta.get("kind") in ("snapshot", "diff"):
            self.seq = int(meta["seq"])
            self.messages += 1
        for match in AGENT_ROW.finditer(text):
            self.statuses[int(match[1])] = match[2]

    async def read(self) -> None:
        async for message in self.ws:
            self.apply(message if isinstance(message, str) else message.decode())

    async def acknowledge(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.seq != self.acked:
                self.acked = self.seq
                await self.ws.send(json.dumps({"type": "ack", "seq": self.seq}))


async def open_page(url: str, origin: str) -> Page:
    ws = await connect(url, origin=origin, compression=None,  # type: ignore[arg-type]
                       max_size=None, ping_interval=None)
    page = Page(ws)
    page.apply(str(await asyncio.wait_for(ws.recv(), 60)))
    return page


def upstream_statuses(simulator: str, agent_ids: list[int]) -> dict[int, str]:
    with httpx.Client(base_url=simulator, timeout=30) as client:
        token = client.post("/webauth/token", auth=("supervisor", "demo"),
                            data={"grant_type": "urn:connect.auth:windows",
                                  "client_id": CLIENT_ID}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        found = {}
        for agent_id in agent_ids:
            answer = client.get(f"/webapi/api/v2/agentStatus/{agent_id}", headers=headers)
            if answer.status_code == 200:
                found[agent_id] = str((answer.json().get("currentStatus") or {})
                                      .get("agentStatus", ""))
        return found


async def soak(args: argparse.Namespace, url: str, origin: str, pid: int,
               simulator: str, simulator_pid: int) -> dict[str, Any]:
    pages = [await open_page(url, origin) for _ in range(args.clients)]
    tasks = [asyncio.create_task(coro) for page in pages
             for coro in (page.read(), page.acknowledge())]
    samples: list[tuple[float, float]] = []
    simulator_rss: list[float] = []
    started = time.monotonic()
    end = started + 60 * args.minutes
    while time.monotonic() < end:
        samples.append((round(time.monotonic() - started), usage(pid).rss_bytes / 2**20))
        simulator_rss.append(usage(simulator_pid).rss_bytes / 2**20)
        log(f"{samples[-1][0]:>5} s: rss {samples[-1][1]:.1f} MiB (simulator "
            f"{simulator_rss[-1]:.1f} MiB), {sum(p.messages for p in pages)} messages to the pages")
        await asyncio.sleep(min(args.sample, max(0.0, end - time.monotonic())))
    agent_ids = sorted(pages[0].statuses)
    async with httpx.AsyncClient(base_url=simulator) as control:
        # The upstream's clock held still (the simulator's pause control), and 3 s for what
        # was on its way to arrive: then the upstream, a fresh page and every long-connected
        # page must all say the same, agent by agent.
        (await control.post("/_simulator/control",
                            json={"action": "pause", "seconds": 30})).raise_for_status()
        await asyncio.sleep(3)
        upstream = await asyncio.to_thread(upstream_statuses, simulator, agent_ids)
        fresh = await open_page(url, origin)
        await asyncio.sleep(1)
        upstream_mismatch = [(a, fresh.statuses.get(a, ""), upstream.get(a, "")) for a in agent_ids
                             if fresh.statuses.get(a, "").lower() != upstream.get(a, "").lower()]
        page_mismatch = sum(1 for page in pages for a in agent_ids
                            if page.statuses.get(a) != fresh.statuses.get(a))
        (await control.post("/_simulator/control", json={"action": "clear"})).raise_for_status()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for page in [*pages, fresh]:
        await page.ws.close()
    rss = [value for _, value in samples]
    half = len(rss) // 2
    return {
        "rss_mib": {"first": round(rss[0], 1), "last": round(rss[-1], 1),
                    "max": round(max(rss), 1),
                    # Second half against the first: warm-up excluded, growth shows.
                    "second_half_minus_first_half": round(
                        sum(rss[half:]) / max(1, len(rss) - half) - sum(rss[:half]) / max(1, half),
                        1) if half else None},
        "samples": samples,
        # The simulator runs in its own process: its sessions and histories of the day are
        # the upstream's memory, not the dashboard's.
        "simulator_rss_mib": {"first": round(simulator_rss[0], 1),
                              "last": round(simulator_rss[-1], 1)},
        "messages_to_pages": sum(p.messages for p in pages),
        "agents": len(agent_ids),
        "agents_compared_with_upstream": len(upstream),
        "snapshot_vs_upstream_mismatches": len(upstream_mismatch),
        # (agent id, the fresh page's status, the upstream's)
        "snapshot_vs_upstream_mismatched": upstream_mismatch,
        "long_connected_vs_snapshot_mismatches": page_mismatch,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--sample", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        port, sim_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CLARITY_", "DJANGO_")) and k != "REDIS_URL"}
        env.update(DATABASE_URL=f"sqlite:///{tmp}/soak.sqlite3", DJANGO_DEBUG="0",
                   DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
                   DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_LOG_LEVEL="WARNING")
        # The simulator in its own process: the dashboard's memory is measured alone.
        simulator = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "clarity_simulator", "--port", str(sim_port),
             "--speed", str(args.speed), "--control"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/simulator.log", "w"),  # noqa: SIM115
            preexec_fn=child_setup)
        server_env = dict(env, CLARITY_URL=f"http://127.0.0.1:{sim_port}", CLARITY_AUTH="basic",
                          CLARITY_USERNAME="supervisor",
                          CLARITY_PASSWORD="demo")  # noqa: S106 - the simulator's demo login
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{sim_port}/webapi/api/v2/metrics/specificserver",
                          timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or simulator.poll() is not None:
                    stop(simulator, first=signal.SIGINT, wait=10)
                    raise BenchError("the simulator did not start: "
                                     + Path(f"{tmp}/simulator.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "demo", "--port", str(port)], cwd=ROOT, env=server_env,
            stdout=subprocess.PIPE, stderr=open(f"{tmp}/server.log", "w"),  # noqa: SIM115
            text=True, preexec_fn=child_setup)
        try:
            wallboard = ""
            deadline = time.monotonic() + 120
            while not wallboard:
                line = server.stdout.readline() if server.stdout else ""
                if not line or time.monotonic() > deadline:
                    raise BenchError("the demo did not start: "
                                     + Path(f"{tmp}/server.log").read_text()[-2000:])
                if line.startswith("Wallboard: "):
                    wallboard = line.split(": ", 1)[1].strip()
            token = wallboard.rstrip("/").rsplit("/", 1)[1]
            # The demo's wallboard, with its agents page too: the agent rows are compared.
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c",
                 "from dashboard.models import Wallboard; "
                 "Wallboard.objects.update(pages=['overview', 'agents'])"],
                cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
            origin = f"http://127.0.0.1:{port}"
            url = f"ws://127.0.0.1:{port}/ws/wallboard/{token}/"
            time.sleep(3)  # the bridge's first snapshot
            try:
                result = asyncio.run(soak(args, url, origin, server.pid,
                                          f"http://127.0.0.1:{sim_port}", simulator.pid))
            except Exception:
                # The servers' logs go with the temporary directory: show why first.
                for name in ("server.log", "simulator.log"):
                    log(f"{name}, its end:\n" + Path(f"{tmp}/{name}").read_text()[-6000:])
                raise
        finally:
            stop(server, first=signal.SIGINT, wait=30)
            stop(simulator, first=signal.SIGINT, wait=10)
    print(json.dumps({"bench": "soak", "command": "bench/soak.py " + " ".join(sys.argv[1:]),
                      "minutes": args.minutes, "speed": args.speed,
                      "simulated_hours": round(args.minutes * args.speed / 60, 2),
                      "clients": args.clients, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

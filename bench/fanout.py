"""Fan-out benchmark: N wallboard sockets, D agent-status changes a second, end to end.

    .venv/bin/python bench/fanout.py [--clients 1000] [--rate 500] [--seconds 30]
                                     [--agents 500] [--quick] [--profile FILE]

Starts, in separate processes: the Clarity simulator with a change driver (bench/upstream.py),
the dashboard as `manage.py demo` runs it (daphne + the bridge, in-memory channel layer,
SQLite) pointed at that simulator, and client processes holding N WebSocket connections to
a wallboard that shows every queue and team (bench/clients.py). The driver changes agent
statuses at D a second; each client times every status change it sees against the moment the
driver made it (bench/table.py). Then the same frames, as the first socket received them,
go through a bare `websockets` broadcast server (bench/baseline.py) to the same number of
clients at the same offsets, timed the same way.

Prints one JSON line on stdout (progress goes to stderr); see docs/benchmarks.md for the
fields. Exits 1 with a message when any part of the stack fails to start. Everything started
here is stopped on the way out, also on errors and Ctrl-C; children also die with this
process (PR_SET_PDEATHSIG) should it be killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python bench/fanout.py`
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402
from typing import Any, TextIO  # noqa: E402

from websockets.sync.client import connect as sync_connect  # noqa: E402

from bench import baseline, clients  # noqa: E402
from bench.procutil import Usage, child_setup, stop, usage  # noqa: E402
from bench.table import AGENT_ROW, STATUSES  # noqa: E402

TARGET_P99_MS = 250.0
TARGET_RATIO = 0.5
# Connections one client process holds: more than this and one core's worth of asyncio
# cannot keep up with the frames (see "client_saturated" in the output).
PER_CLIENT_PROCESS = 250
START_TIMEOUT = 120.0
WALLBOARD_CODE = """
from dashboard.models import Queue, Team, Wallboard
board = Wallboard.objects.create(name="Fan-out bench", pages=["overview", "agents"])
board.queues.set(Queue.objects.filter(active=True))
board.teams.set(Team.objects.filter(active=True))
print(board.token)
"""


class BenchError(Exception):
    """The stack failed: the message says what, and the bench exits non-zero."""


def log(message: str) -> None:
    print(f"[fanout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        if wanted < needed:
            raise BenchError(f"need {needed} open files, the hard limit is {hard} (ulimit -n)")


def percentiles(histogram: Counter[int], bucket: float) -> dict[str, float | None]:
    total = sum(histogram.values())
    out: dict[str, float | None] = {"p50": None, "p95": None, "p99": None, "max": None}
    if not total:
        return out
    wanted = [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)]
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while wanted and seen >= wanted[0][1] * total:
            out[wanted.pop(0)[0]] = round((value + 0.5) * bucket * 1000, 1)
    out["max"] = round((max(histogram) + 0.5) * bucket * 1000, 1)
    return out


def total_usage(pids: list[int]) -> Usage:
    """CPU and memory of several processes together (each counted while it runs)."""
    parts = [usage(pid) for pid in pids]
    return Usage(sum(p.cpu_seconds for p in parts), sum(p.rss_bytes for p in parts))


def cpu_idle() -> tuple[int, int]:
    """(idle, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        numbers = [int(x) for x in f.readline().split()[1:]]
    return numbers[3] + numbers[4], sum(numbers)


class Run:
    """One bench run: its processes, and stopping them whatever happens."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.table = tmp / "changes.bin"
        self.ctx = multiprocessing.get_context("spawn")
        self.upstream: subprocess.Popen[str] | None = None
        self.server: subprocess.Popen[str] | None = None
        self.server_log: TextIO | None = None
        self.children: list[multiprocessing.process.BaseProcess] = []
        self.recorded: list[tuple[float, str]] = []
        self.snapshot = ""
        # --workers: redis-server, the bridge and the daphne workers (stopped in this order
        # reversed: workers, bridge, redis).
        self.scaleout: list[subprocess.Popen[str]] = []

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        log("stopping everything")
        for child in self.children:
            if child.is_alive():
                child.terminate()
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join(5)
        # The dashboard before its upstream: with the simulator gone first, its feed would
        # keep trying to reconnect and hold up its exit.
        self.stop_server()
        if self.upstream is not None:
            stop(self.upstream, first=signal.SIGTERM, wait=10)

    def stop_server(self) -> None:
        for process in reversed(self.scaleout):
            stop(process, first=signal.SIGTERM, wait=15)
        self.scaleout = []
        if self.server is not None:
            log("stopping the dashboard")
            stop(self.server, first=signal.SIGINT, wait=30)
            self.server = None
        if self.server_log is not None:
            self.server_log.close()
            self.server_log = None

    def server_log_tail(self) -> str:
        path = self.tmp / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    # ------------------------------------------------------------------ the stack
    def start_upstream(self) -> dict[str, Any]:
        a = self.args
        command = [sys.executable, "-m", "bench.upstream", "--agents", str(a.agents),
                   "--tick", str(a.tick), "--table", str(self.table)]
        if a.traffic:
            command.append("--traffic")
        self.upstream = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            preexec_fn=child_setup)
        line = self._read_line(self.upstream, "the simulator")
        info: dict[str, Any] = json.loads(line)
        log(f"simulator at {info['url']} with {info['agents']} agents")
        return info

    def _read_line(self, process: subprocess.Popen[str], what: str,
                   timeout: float = START_TIMEOUT) -> str:
        stdout = process.stdout
        if stdout is None:
            raise BenchError(f"{what}: no pipe to read from")
        ready: list[str] = []

        def reader() -> None:
            ready.append(stdout.readline())

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        thread.join(timeout)
        if not ready:
            raise BenchError(f"{what} did not answer within {timeout:.0f} s")
        if not ready[0]:
            try:
                code = process.wait(5)
            except subprocess.TimeoutExpired:
                code = None
            raise BenchError(f"{what} exited (code {code}) before answering")
        return ready[0]

    def server_env(self, simulator_url: str, **extra: str) -> dict[str, str]:
        """The dashboard's environment: production settings (no debug bookkeeping in the
        figures), the bench's own database, the simulator as its Clarity."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CLARITY_", "DJANGO_")) and k != "REDIS_URL"}
        env.update(
            DATABASE_URL=f"sqlite:///{self.tmp}/bench.sqlite3",
            DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_LOG_LEVEL="WARNING",
            CLARITY_URL=simulator_url, CLARITY_AUTH="basic", CLARITY_USERNAME="supervisor",
            CLARITY_PASSWORD="demo",  # noqa: S106 - the simulator's documented demo login
            **extra,
        )
        return env

    def start_server(self, simulator_url: str) -> tuple[int, str]:
        port = free_port()
        env = self.server_env(simulator_url)
        command = [sys.executable]
        if self.args.profile:
            command += ["-m", "cProfile", "-o", str(Path(self.args.profile).resolve())]
        command += ["manage.py", "demo", "--port", str(port)]
        self.server_log = (self.tmp / "server.log").open("w")
        self.server = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.server_log,
            text=True, preexec_fn=child_setup)
        started = False
        deadline = time.monotonic() + START_TIMEOUT
        while not started:
            left = deadline - time.monotonic()
            try:
                line = self._read_line(self.server, "the dashboard (manage.py demo)",
                                       max(left, 0.1))
            except BenchError as exc:
                raise BenchError(f"{exc}; its log:\n{self.server_log_tail()}") from None
            # The last line demo prints once the database has the MBU structure.
            started = line.startswith("Wallboard:")
        self._wait_http(f"http://127.0.0.1:{port}/healthz/", deadline)
        token = self.make_wallboard(env)
        log(f"dashboard on port {port} (pid {self.server.pid})")
        return port, token

    def start_scaleout(self, simulator_url: str) -> tuple[list[int], str, list[int]]:
        """The scale-out deployment of docs/deploy.md without the proxy: redis-server, one
        `manage.py bridge` and `--workers` daphne workers; clients go to the workers round
        robin. Returns the workers' ports, the wallboard's token and every server pid."""
        redis_port = free_port()
        env = self.server_env(simulator_url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
        self.server_log = (self.tmp / "server.log").open("w")

        def spawn(command: list[str]) -> subprocess.Popen[str]:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter, redis-server
                command, cwd=ROOT, env=env, stdout=self.server_log, stderr=self.server_log,
                text=True, preexec_fn=child_setup)
            self.scaleout.append(process)
            return process

        spawn(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"])
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=START_TIMEOUT, check=False)
        if done.returncode:
            raise BenchError(f"migrate failed: {done.stderr[-2000:]}")
        spawn([sys.executable, "manage.py", "bridge"])
        ports = [free_port() for _ in range(self.args.workers)]
        for port in ports:
            spawn([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                   "--websocket_timeout", "-1", "--websocket-max-message-size", "16777216",
                   "--access-log", "/dev/null", "dashboard.asgi:application"])
        deadline = time.monotonic() + START_TIMEOUT
        for port in ports:
            self._wait_http(f"http://127.0.0.1:{port}/healthz/", deadline)
        # The bridge stores the MBU structure when it starts: the wallboard needs it.
        while True:
            with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(
                    f"http://127.0.0.1:{ports[0]}/healthz/", timeout=5) as response:
                if json.loads(response.read()).get("upstream") == "connected":
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"the bridge did not connect; log:\n{self.server_log_tail()}")
            time.sleep(0.5)
        token = self.make_wallboard(env)
        log(f"scale-out: redis on {redis_port}, bridge, workers on {ports}")
        return ports, token, [p.pid for p in self.scaleout]

    def make_wallboard(self, env: dict[str, str]) -> str:
        """A wallboard with every queue and team on its overview and agents pages: what the
        sockets connect to. Made here, in the bench's own database, so the figures do not
        depend on what the demo's wallboard happens to show."""
        for attempt in range(5):
            done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, "manage.py", "shell", "-c", WALLBOARD_CODE], cwd=ROOT,
                env=env, capture_output=True, text=True, timeout=START_TIMEOUT, check=False)
            token = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            if not done.returncode and token:
                return token
            # SQLite: the bridge may hold the write lock for a while; try again.
            if "database is locked" not in done.stderr or attempt == 4:
                break
            time.sleep(1 + attempt)
        raise BenchError(f"creating the wallboard failed: {done.stderr[-2000:]}")

    def _wait_http(self, url: str, deadline: float) -> None:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.server is not None and self.server.poll() is not None:
                raise BenchError(f"the dashboard exited with {self.server.returncode}; its "
                                 f"log:\n{self.server_log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{url} did not answer 200 within {START_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def wait_for_picture(self, url: str, origin: str, agents: int) -> None:
        """Until a socket's snapshot shows every driven agent: the bridge has the picture."""
        deadline = time.monotonic() + START_TIMEOUT
        rows = 0
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with sync_connect(url, origin=origin, compression=None,  # type: ignore[arg-type]
                                  max_size=None, open_timeout=10) as ws:
                    rows = len(AGENT_ROW.findall(str(ws.recv(timeout=10))))
            except Exception as exc:  # retried until the deadline; the last one is reported
                rows = -1
                last = exc
            if rows >= agents:
                return
            time.sleep(0.5)
        detail = f"{rows} agent rows" if rows >= 0 else f"{type(last).__name__}: {last}"
        raise BenchError(f"no snapshot with {agents} agents within {START_TIMEOUT:.0f} s "
                         f"({detail}); dashboard log:\n{self.server_log_tail()}")

    # ------------------------------------------------------------------ a measured phase
    def phase(self, name: str, url: str | list[str], origin: str, pid: int | list[int],
              slots: int, *, record: bool, drive: Callable[[], dict[str, Any]],
              every_row: bool = False) -> dict[str, Any]:
        """`url`, `pid`: one server, or several (--workers: the client processes are spread
        over the workers' URLs, and the server's CPU and memory are those of every process
        of the deployment together)."""
        urls = [url] if isinstance(url, str) else url
        pids = [pid] if isinstance(pid, int) else pid
        a = self.args
        procs = a.client_procs or max(1, math.ceil(a.clients / PER_CLIENT_PROCESS))
        shares = [a.clients // procs + (1 if i < a.clients % procs else 0) for i in range(procs)]
        before = total_usage(pids)
        pipes: list[Connection] = []
        started = time.perf_counter()
        for i, count in enumerate(shares):
            mine, theirs = self.ctx.Pipe()
            spec = clients.Spec(url=urls[i % len(urls)], count=count, origin=origin,
                                table=str(self.table),
                                slots=slots, record=record and i == 0, every_row=every_row)
            child = self.ctx.Process(target=clients.run, args=(spec, theirs), daemon=True,
                                     name=f"fanout-clients-{i}")
            child.start()
            self.children.append(child)
            pipes.append(mine)
        connected = [self._answer(p, "connected", START_TIMEOUT) for p in pipes]
        connect_seconds = time.perf_counter() - started
        log(f"{name}: {a.clients} sockets connected in {connect_seconds:.1f} s "
            f"({procs} client processes)")
        time.sleep(1.0)  # let connection bookkeeping settle before reading the memory
        idle = total_usage(pids)
        for p in pipes:
            p.send(("measure", None))
        machine0 = cpu_idle()
        t_go = time.time()
        driven = drive()
        t_done = time.time()
        time.sleep(a.drain)
        busy = total_usage(pids)
        machine1 = cpu_idle()
        t_stop = time.time()
        for p in pipes:
            p.send(("stop", None))
        stats = [self._answer(p, "stats", 120) for p in pipes]
        for p in pipes:
            p.send(("close", None))
        for child in self.children:
            child.join(30)
        self.children = [c for c in self.children if c.is_alive()]
        return self._summary(name, connected, stats, driven, before, idle, busy,
                             (t_go, t_done, t_stop), connect_seconds, machine0, machine1)

    @staticmethod
    def _answer(pipe: Connection, expected: str, timeout: float) -> Any:
        if not pipe.poll(timeout):
            raise BenchError(f"a client process did not answer '{expected}' "
                             f"within {timeout:.0f} s")
        kind, value = pipe.recv()
        if kind == "error":
            raise BenchError(f"a client process failed: {value}")
        if kind != expected:
            raise BenchError(f"a client process answered {kind!r}, expected {expected!r}")
        return value

    def _summary(self, name: str, connected: list[dict[str, Any]], stats: list[dict[str, Any]],
                 driven: dict[str, Any], before: Any, idle: Any, busy: Any,
                 times: tuple[float, float, float], connect_seconds: float,
                 machine0: tuple[int, int], machine1: tuple[int, int]) -> dict[str, Any]:
        t_go, t_done, t_stop = times
        n = self.args.clients
        window = max(t_done - t_go, 1e-9)
        latency: Counter[int] = Counter()
        push_latency: Counter[int] = Counter()
        timeline: Counter[int] = Counter()
        timed_timeline: Counter[int] = Counter()
        for s in stats:
            latency.update(s["latency"])
            push_latency.update(s["push_latency"])
            timeline.update(s["timeline"])
            timed_timeline.update(s["timed_timeline"])

        lat_sum: Counter[int] = Counter()
        lat_max: dict[int, float] = {}
        for s in stats:
            lat_sum.update(s["latency_sum"])
            for second, value in s["latency_max"].items():
                lat_max[second] = max(lat_max.get(second, 0.0), value)
        per_second: Counter[int] = Counter()
        for k, v in timed_timeline.items():
            per_second[k // 10] += v
        seconds = sorted(lat_sum)
        trend = {
            "mean_ms": [round(1000 * lat_sum[t] / per_second[t]) if per_second[t] else None
                        for t in seconds],
            "max_ms": [round(1000 * lat_max.get(t, 0.0)) for t in seconds],
        }

        def in_window(counts: Counter[int]) -> int:
            # Only what arrived while the driver ran: the drain's tail would dilute the rate.
            return sum(v for k, v in counts.items() if t_go * 10 <= k < t_done * 10)

        frames = sum(s["frames"] for s in stats)
        timed = sum(s["timed"] for s in stats)
        per_socket = [f for s in stats for f in s["per_socket_frames"]]
        expected = driven.get("expected_per_socket", 0) * n
        cpu = busy.cpu_seconds - idle.cpu_seconds
        measured = t_stop - t_go
        idle_jiffies = machine1[0] - machine0[0]
        total_jiffies = max(machine1[1] - machine0[1], 1)
        client_cpu = [s["cpu_seconds"] / max(s["wall_seconds"], 1e-9) for s in stats]
        if stats[0]["recorded"]:
            # What the first socket got, for the baseline to replay at the same offsets.
            self.recorded = [(t - t_go, text) for t, text in stats[0]["recorded"]]
            self.snapshot = connected[0]["snapshot"] or ""
        return {
            "latency_ms": percentiles(latency, clients.BUCKET),
            "latency_from_push_ms": percentiles(push_latency, clients.BUCKET),
            "latency_by_second": trend,
            "messages_per_s": round(in_window(timeline) / window, 1),
            "changes_delivered_per_s": round(in_window(timed_timeline) / window, 1),
            "bytes_per_s": round(sum(s["bytes"] for s in stats) / measured),
            "frames": frames,
            "changes_seen": timed,
            "delivered_fraction": round(timed / expected, 4) if expected else None,
            "unmatched": sum(s["unmatched"] for s in stats),
            "gaps": sum(s["gaps"] for s in stats),
            "clients_with_messages": sum(1 for f in per_socket if f > 0),
            "min_messages_per_client": min(per_socket) if per_socket else 0,
            "open_sockets_at_end": sum(s["open_sockets"] for s in stats),
            "connect_seconds": round(connect_seconds, 2),
            "connect_retries": sum(c["retries"] for c in connected),
            "snapshot_bytes": connected[0]["snapshot_bytes"],
            "server": {
                "cpu_percent": round(100 * cpu / measured, 1),
                "cpu_ms_per_conn_per_s": round(1000 * cpu / measured / n, 4),
                "cpu_us_per_message": round(1e6 * cpu / frames, 1) if frames else None,
                "cpu_us_per_change": round(1e6 * cpu / timed, 2) if timed else None,
                "rss_mib": round(busy.rss_bytes / 2**20, 1),
                "rss_kib_per_conn": round((idle.rss_bytes - before.rss_bytes) / 1024 / n, 1),
            },
            "client_cpu_percent": [round(100 * c, 1) for c in client_cpu],
            "client_saturated": any(c > 0.9 for c in client_cpu),
            "machine_busy_percent": round(100 * (1 - idle_jiffies / total_jiffies), 1),
            "driver": {k: v for k, v in driven.items() if k != "expected_per_socket"},
        }

    # ------------------------------------------------------------------ the two phases
    def ours(self) -> tuple[dict[str, Any], int]:
        a = self.args
        info = self.start_upstream()
        urls: list[str] = []
        pids: list[int] = []
        if a.workers:
            ports, token, pids = self.start_scaleout(info["url"])
            urls = [f"ws://127.0.0.1:{port}/ws/wallboard/{token}/" for port in ports]
            port = ports[0]
        else:
            port, token = self.start_server(info["url"])
        origin = f"http://127.0.0.1:{port}"
        url = f"ws://127.0.0.1:{port}/ws/wallboard/{token}/"
        self.wait_for_picture(url, origin, info["agents"])
        if self.server is not None:
            pids = [self.server.pid]
        if not pids or self.upstream is None:
            raise BenchError("the stack is not running")
        upstream = self.upstream

        def drive() -> dict[str, Any]:
            log(f"ours: driving {a.rate:g} changes/s for {a.seconds:g} s")
            upstream.stdin.write(f"go {a.rate} {a.seconds}\n")  # type: ignore[union-attr]
            upstream.stdin.flush()  # type: ignore[union-attr]
            result: dict[str, Any] = json.loads(self._read_line(
                upstream, "the change driver", a.seconds + 60))
            result["expected_per_socket"] = result["timed"]
            return result

        summary = self.phase("ours", urls or url, origin, pids, info["slots"], record=True,
                             drive=drive)
        if a.dump_frames:
            # What one socket got, to see what the frames are made of.
            Path(a.dump_frames).write_text(json.dumps(
                {"snapshot": self.snapshot, "frames": self.recorded}))
        self.stop_server()
        upstream.stdin.write("quit\n")  # type: ignore[union-attr]
        upstream.stdin.flush()  # type: ignore[union-attr]
        stop(upstream, first=signal.SIGTERM, wait=10)
        self.upstream = None
        return summary, info["slots"]

    def bare(self, slots: int) -> dict[str, Any] | None:
        a = self.args
        frames = [text for _, text in self.recorded if AGENT_ROW.search(text)]
        if not frames:
            log("bare: skipped, the dashboard delivered no agent rows to replay")
            return None
        self.table.write_bytes(b"\0" * self.table.stat().st_size)
        mine, theirs = self.ctx.Pipe()
        child = self.ctx.Process(target=baseline.run, args=(theirs,), daemon=True,
                                 name="fanout-baseline")
        child.start()
        self.children.append(child)
        port = self._answer(mine, "listening", START_TIMEOUT)
        mine.send(("snapshot", self.snapshot))
        if child.pid is None:
            raise BenchError("the baseline server did not start")

        def drive() -> dict[str, Any]:
            log(f"bare: broadcasting {len(frames)} distinct frames, {a.rate:g} rows/s")
            mine.send(("replay", (frames, a.rate, a.seconds, str(self.table), slots)))
            result: dict[str, Any] = self._answer(mine, "replayed", a.seconds + 120)
            result["expected_per_socket"] = result["rows"]
            return result

        summary = self.phase("bare", f"ws://127.0.0.1:{port}/", f"http://127.0.0.1:{port}",
                             child.pid, slots, record=False, every_row=True, drive=drive)
        mine.send(("quit", None))
        child.join(10)
        return summary

    def execute(self) -> dict[str, Any]:
        a = self.args
        ours, slots = self.ours()
        bare = self.bare(slots) if not a.no_baseline else None
        ratio: dict[str, Any] = {}
        if bare:
            def div(x: float | None, y: float | None) -> float | None:
                return round(x / y, 3) if x is not None and y else None

            ratio = {
                "throughput": div(ours["changes_delivered_per_s"],
                                  bare["changes_delivered_per_s"]),
                "messages": div(ours["messages_per_s"], bare["messages_per_s"]),
                "latency_p99": div(ours["latency_ms"]["p99"], bare["latency_ms"]["p99"]),
                "server_cpu": div(ours["server"]["cpu_percent"], bare["server"]["cpu_percent"]),
                # What each server spends per change delivered to one client, inverted: the
                # throughput ratio when both run flat out on one core each.
                "capacity": div(bare["server"]["cpu_us_per_change"],
                                ours["server"]["cpu_us_per_change"]),
            }
        p99 = ours["latency_ms"]["p99"]
        return {
            "bench": "fanout",
            "command": "bench/fanout.py " + shlex.join(sys.argv[1:]),
            "clients": a.clients, "rate": a.rate, "seconds": a.seconds, "agents": a.agents,
            # 0: the demo's one process; N: redis-server, a bridge and N daphne workers.
            "workers": a.workers,
            "tick_s": a.tick, "traffic": a.traffic,
            # bench/table.py: a status comes back to the same (agent, status) slot after this
            # long; a latency longer than it is matched to a later change, so reads too short.
            "alias_window_s": round(len(STATUSES) * a.agents / a.rate, 2),
            "latency_aliased": bool((ours["latency_ms"]["max"] or 0) / 1000
                                    > len(STATUSES) * a.agents / a.rate),
            "ours": ours, "bare": bare, "ratio": ratio,
            "target": {
                "p99_ms": TARGET_P99_MS, "throughput_ratio": TARGET_RATIO,
                "met": bool(p99 is not None and p99 < TARGET_P99_MS
                            and (ratio.get("throughput") or 0) >= TARGET_RATIO
                            and (ours["delivered_fraction"] or 0) >= 0.99),
            },
            "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                        "cpu": cpu_model()},
        }


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients (1000)")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="agent status changes per second (500)")
    parser.add_argument("--seconds", type=float, default=30.0, help="driving time (30)")
    parser.add_argument("--agents", type=int, default=500,
                        help="simulated agents the changes go round (500)")
    parser.add_argument("--tick", type=float, default=0.1,
                        help="the simulator's push interval, seconds (0.1, the contract's)")
    parser.add_argument("--drain", type=float, default=2.0,
                        help="seconds to keep listening after the last change (2)")
    parser.add_argument("--client-procs", type=int, default=0,
                        help=f"client processes (default: one per {PER_CLIENT_PROCESS} clients)")
    parser.add_argument("--traffic", action="store_true",
                        help="keep the simulator's own traffic model running on top")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare baseline")
    parser.add_argument("--workers", type=int, default=0,
                        help="scale-out: redis-server, one bridge and N daphne workers "
                             "(docs/deploy.md, without the proxy) instead of the demo's one "
                             "process (0)")
    parser.add_argument("--profile", metavar="FILE",
                        help="run the dashboard under cProfile, stats written to FILE")
    parser.add_argument("--dump-frames", metavar="FILE",
                        help="write the snapshot and frames the first socket got, as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 clients, 50 changes/s, 5 s, 60 agents")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.rate, args.seconds, args.agents = 20, 50.0, 5.0, 60
    if args.clients < 1 or args.rate <= 0 or args.seconds <= 0 or args.agents < 2:
        parser.error("--clients, --rate, --seconds must be positive and --agents at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        raise_fd_limit(args.clients * 2 + 1024)
        with tempfile.TemporaryDirectory(prefix="fanout-") as tmp, Run(args, Path(tmp)) as run:
            result = run.execute()
    except BenchError as exc:
        print(f"fanout: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fanout: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(result), flush=True)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so every child is stopped on the way out.
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(main())

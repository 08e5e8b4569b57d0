"""The scale-out deployment of docs/deploy.md, on one machine, for the fault tests.

Every part is a real process started the way the document says: redis-server, the Clarity
simulator (`manage.py clarity_simulator --control`), two `manage.py bridge` (one active, one
standing by), daphne workers and nginx with docs/deploy/nginx-local.conf (its ports changed to
free ones, nothing else). Each process logs to its own file under the test's directory; the
assertion messages quote the end of those logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from dashboard.leader import LEASE_KEY
from tests.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "docs" / "deploy" / "nginx-local.conf"
CLIENT_ID = "0224C392-3845-4AC0-B1A0-D63706181BA7"
# Short, so that the take-over tests do not wait long; deployments keep the default (5 s).
LEASE_SECONDS = 2


def wait_for(check: Callable[[], Any], timeout: float, what: str,
             logs: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s\n{logs()}")
        time.sleep(0.1)


@dataclass
class Cluster:
    tmp: Path
    redis: RedisServer
    env: dict[str, str]
    simulator: str = ""
    password: str = "s3cret-Supervisor"
    # The Clarity account's password (the simulator's, for every login): distinctive, so the
    # logs can be searched for it.
    clarity_password: str = "Clarity-Pa55word-7f3e"
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ processes
    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None,
              ) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(args, cwd=ROOT, env=env or self.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.tmp / f"{name}.log"
        return f"--- {name}.log ---\n" + (path.read_text()[-tail:] if path.exists() else "")

    def logs(self) -> str:
        return "\n".join(self.log(name, 1500) for name in self.processes)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(15)

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    # ------------------------------------------------------------------ the parts
    def collect_static(self) -> None:
        self.manage("collectstatic", "--no-input", "-v", "0")

    def start_simulator(self) -> None:
        port = free_port()
        self.spawn("simulator", [sys.executable, "manage.py", "clarity_simulator", "--port",
                                 str(port), "--control", "--password", self.clarity_password])
        self.simulator = f"http://127.0.0.1:{port}"
        self.env.update(CLARITY_URL=self.simulator, CLARITY_AUTH="basic",
                        CLARITY_USERNAME="supervisor", CLARITY_PASSWORD=self.clarity_password)
        wait_for(lambda: _answers(self.simulator + "/_simulator/control"), 30,
                 "the simulator answering", lambda: self.log("simulator"))

    def start_bridge(self, name: str) -> None:
        self.spawn(name, [sys.executable, "manage.py", "bridge"])

    def start_worker(self, name: str) -> None:
        port = self.ports.setdefault(name, free_port())
        # As docs/deploy.md runs them: no access log (nginx keeps it, without tokens).
        self.spawn(name, [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                          "--websocket_timeout", "-1", "--websocket-max-message-size",
                          "16777216", "--access-log", "/dev/null",
                          "dashboard.asgi:application"])
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz/"), 30,
                 f"{name} answering", lambda: self.log(name))

    def start_nginx(self, workers: list[str]) -> None:
        """nginx with the document's configuration; only the ports and paths differ."""
        text = NGINX_CONF.read_text()
        upstreams = re.findall(r"server 127\.0\.0\.1:(\d+)", text)
        assert len(upstreams) == len(workers), "the recipe's upstream lists two workers"
        for old, worker in zip(upstreams, workers, strict=True):
            text = text.replace(f"127.0.0.1:{old} ", f"127.0.0.1:{self.ports[worker]} ")
        self.ports["nginx"] = free_port()
        text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{self.ports['nginx']};")
        text = text.replace("alias ../../staticfiles/;", f"alias {self.tmp}/static/;")
        prefix = self.tmp / "nginx"
        prefix.mkdir(exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(text)
        # Started by root, nginx's workers would run as nobody and not read the test's
        # private directory; as anybody else they run as that user anyway.
        directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin: not on every PATH
        assert Path(nginx).exists(), "nginx is not installed: `make redis` installs it"
        self.spawn("nginx", [nginx, "-p", str(prefix), "-c", str(conf), "-g", directives])
        wait_for(lambda: _answers(self.url + "/healthz/"), 20, "nginx answering",
                 lambda: self.log("nginx") + (prefix / "error.log").read_text())

    @property
    def url(self) -> str:
        # localhost, not 127.0.0.1: browsers keep Secure cookies on http://localhost only.
        return f"http://localhost:{self.ports['nginx']}"

    # ------------------------------------------------------------------ reading it
    def active_bridge(self) -> str | None:
        """The name of the bridge holding the lease (its holder string carries its pid)."""
        with redis.Redis.from_url(self.redis.url) as client:
            holder = client.get(LEASE_KEY)
        if not holder:
            return None
        pid = int(holder.decode().split(":")[1])
        return next((name for name, p in self.processes.items() if p.pid == pid), None)

    def token(self) -> str:
        response = httpx.post(self.simulator + "/webauth/token",
                              auth=("supervisor", self.clarity_password),
                              data={"grant_type": "urn:connect.auth:windows",
                                    "client_id": CLIENT_ID})
        return str(response.json()["access_token"])

    def control(self, **body: Any) -> None:
        httpx.post(self.simulator + "/_simulator/control", json=body).raise_for_status()

    def set_status(self, agent_id: int, status: int, reason: int | None = None) -> None:
        body = {"agentStatusId": status} | ({"reasonCodeId": reason} if reason else {})
        response = httpx.post(
            f"{self.simulator}/webapi/api/v2/agentStatus/update/{agent_id}",
            json=body, headers={"Authorization": f"Bearer {self.token()}"})
        assert response.status_code == 204, response.text

    def session_cookie(self) -> str:
        """Log the supervisor in through nginx; returns the Cookie header for sockets. (The
        cookies are Secure: httpx's jar would not send them over plain http, so by hand.)"""
        with httpx.Client(base_url=self.url) as client:
            page = client.get("/login/")
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert csrf, page.text[:500]
            cookie = f"csrftoken={page.cookies['csrftoken']}"
            response = client.post("/login/", data={
                "username": "supervisor", "password": self.password,
                "csrfmiddlewaretoken": csrf.group(1)}, headers={"Cookie": cookie})
            assert response.status_code == 302, response.text[:500]
            return f"{cookie}; sessionid={response.cookies['sessionid']}"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def start_cluster(tmp: Path, *, bridges: int = 2, workers: int = 2) -> Iterator[Cluster]:
    """Start the deployment under `tmp`; yields while it runs and stops every process."""
    server = RedisServer(tmp / "redis").start()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLARITY_", "DJANGO_", "REDIS_", "DATABASE_"))}
    env.update(
        REDIS_URL=server.url, DATABASE_URL=f"sqlite:///{tmp}/dashboard.sqlite3",
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="cluster-test-" + "x" * 50,
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1", DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_STATIC_ROOT=str(tmp / "static"), BRIDGE_LEASE_SECONDS=str(LEASE_SECONDS),
        DASHBOARD_BUILD_ID="cluster-test", DASHBOARD_PROXY_COUNT="1", PYTHONUNBUFFERED="1",
        # The slow-page test: behind after 50 messages, closed after 10 s (not 1000 and 30).
        DASHBOARD_LIVE_MAX_UNACKED="50", DASHBOARD_LIVE_BEHIND_CLOSE_SECONDS="10")
    cluster = Cluster(tmp, server, env)
    try:
        cluster.manage("migrate", "--no-input")
        cluster.manage("shell", "-c", (
            "from django.contrib.auth import get_user_model; "
            "u = get_user_model().objects.create_superuser('supervisor', '', "
            f"{cluster.password!r}); print(u.pk)"))
        cluster.start_simulator()
        for index in range(bridges):
            cluster.start_bridge(f"bridge{index + 1}")
        wait_for(cluster.active_bridge, 60, "a bridge taking the lease", cluster.logs)
        names = [f"worker{index + 1}" for index in range(workers)]
        for name in names:
            cluster.start_worker(name)
        if workers == 2:
            cluster.collect_static()
            cluster.start_nginx(names)
        yield cluster
    finally:
        cluster.stop_all()
        server.stop()


def parse(message: str) -> tuple[dict[str, Any], str]:
    """A socket message: its `<!--live {...}-->` header and the HTML after it."""
    match = re.match(r"<!--live (\{.*?\})-->", message, re.S)
    assert match, message[:200]
    return json.loads(match.group(1)), message[match.end():]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    yield from start_cluster(tmp_path)

"""The demo stack for browser tests: `manage.py demo` in its own process behind a TCP proxy.

The browser reaches the dashboard through the proxy so that "the network goes away" is real:
the proxy cuts every connection and refuses new ones for a while.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "0224C392-3845-4AC0-B1A0-D63706181BA7"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """A TCP proxy on loopback that can drop the network and bring it back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = _free_port()
        self.up = True
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except (OSError, ValueError):
            # cut() closed the sockets under select(): ValueError for a file descriptor of -1.
            return
        finally:
            for s in (a, b):
                s.close()

    def cut(self) -> None:
        self.up = False
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self._server.close()


@dataclass
class Demo:
    url: str
    password: str
    wallboard: str
    simulator: str
    env: dict[str, str]
    proxy: Proxy
    openmethods: str  # the fake OpenMethods Connect API the demo started
    genesys: str  # the fake Genesys Cloud the demo started
    onecloud: str  # the fake OneCloud CX tenant the demo started
    ccai_storage: str  # where the demo's fake CCAI tenant writes session metadata

    def token(self) -> str:
        response = httpx.post(self.simulator + "/webauth/token", auth=("supervisor", "demo"),
                              data={"grant_type": "urn:connect.auth:windows",
                                    "client_id": CLIENT_ID})
        return str(response.json()["access_token"])

    def set_status(self, agent_id: int, status: int, reason: int | None = None) -> None:
        body: dict[str, int] = {"agentStatusId": status}
        if reason is not None:
            body["reasonCodeId"] = reason
        response = httpx.post(f"{self.simulator}/webapi/api/v2/agentStatus/update/{agent_id}",
                              json=body, headers={"Authorization": f"Bearer {self.token()}"})
        assert response.status_code == 204, response.text

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` against the demo's database; returns its stdout."""
        done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                              env=self.env, check=True, capture_output=True, text=True)
        return done.stdout


def start_demo(tmp: Path) -> Iterator[Demo]:
    """Start `manage.py demo` with its own database under `tmp`; yields while it runs."""
    port, sim_port, om_port, gen_port, oc_port = (_free_port() for _ in range(5))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLARITY_", "OPENMETHODS_", "GENESYS_", "CCAI_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp}/demo.sqlite3", DJANGO_DEBUG="1")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = (tmp / "demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port), "--simulator-port",
         str(sim_port), "--openmethods-port", str(om_port), "--genesys-port", str(gen_port),
         "--onecloud-port", str(oc_port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        deadline = time.monotonic() + 90
        while len(lines) < 7:
            assert time.monotonic() < deadline, (tmp / "demo.log").read_text()[-3000:]
            line = process.stdout.readline()
            assert line, (tmp / "demo.log").read_text()[-3000:]
            name, _, value = line.strip().partition(": ")
            lines[name] = value
        assert lines["Dashboard"] == f"http://127.0.0.1:{port}/"
        proxy = Proxy(port)
        password = lines["Login"].split(" / ")[1]
        wallboard = lines["Wallboard"].replace(f":{port}/", f":{proxy.port}/")
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz/").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield Demo(f"http://127.0.0.1:{proxy.port}", password, wallboard,
                   f"http://127.0.0.1:{sim_port}", env, proxy,
                   lines["OpenMethods (fake)"].removesuffix("/_fake/events"),
                   lines["Genesys (fake)"].removesuffix("/_fake/state"),
                   lines["OneCloud (fake)"].removesuffix("/_fake/state"),
                   lines["CCAI (fake)"])
        proxy.close()
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def log_in(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/login/")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", demo.password)
    page.click("button[type=submit], input[type=submit]")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)

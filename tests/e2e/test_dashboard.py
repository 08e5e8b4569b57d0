"""The demo as a person uses it: `manage.py demo` in its own process, pages in Chromium.

The browser reaches the dashboard through a small TCP proxy of the test's own, so that "the
network goes away" is real: the proxy cuts every connection and refuses new ones for a while.
"""

from __future__ import annotations

import contextlib
import os
import re
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
import pytest
from playwright.sync_api import Browser, Page, expect

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
        except OSError:
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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    port, sim_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLARITY_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp}/demo.sqlite3", DJANGO_DEBUG="1")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = (tmp / "demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port), "--simulator-port",
         str(sim_port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        deadline = time.monotonic() + 90
        while len(lines) < 3:
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
                   f"http://127.0.0.1:{sim_port}", env, proxy)
        proxy.close()
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _log_in(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/login/")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", demo.password)
    page.click("button[type=submit], input[type=submit]")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)


def test_a_supervisor_sees_the_simulators_numbers(page: Page, demo: Demo) -> None:
    _log_in(page, demo)
    tiles = page.locator(".queue .tile")
    expect(tiles.first).to_be_visible(timeout=5000)
    assert tiles.count() >= 8, "every queue shows a tile per modality"
    answered = page.locator('.queue [data-metric="answeredCount"]').first.inner_text()
    assert answered.isdigit()


def test_a_status_change_in_the_simulator_shows_within_two_seconds(page: Page,
                                                                   demo: Demo) -> None:
    _log_in(page, demo)
    page.goto(demo.url + "/agents/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10_000)
    row = page.locator("#agent-7")
    expect(row).to_be_visible()
    demo.set_status(7, 3, 6)
    expect(row).to_contain_text("Personal", timeout=2000)
    demo.set_status(7, 1)
    expect(row).not_to_contain_text("Personal", timeout=2000)


def test_the_page_recovers_from_a_network_outage_and_matches_upstream(page: Page,
                                                                      demo: Demo) -> None:
    _log_in(page, demo)
    page.goto(demo.url + "/agents/")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live", timeout=10_000)
    demo.proxy.cut()
    expect(status).not_to_have_attribute("data-state", "live", timeout=5000)
    # While the page is cut off, the upstream moves on.
    demo.set_status(9, 3, 3)
    time.sleep(2)
    demo.proxy.restore()
    expect(status).to_have_attribute("data-state", "live", timeout=20_000)
    expect(page.locator("#agent-9")).to_contain_text("Meeting", timeout=5000)
    demo.set_status(9, 1)


def test_a_wallboard_opens_by_its_token_and_a_revoked_one_is_refused(browser: Browser,
                                                                     demo: Demo) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        board = context.new_page()
        board.goto(demo.wallboard)
        expect(board.locator("#live-status")).to_have_attribute("data-state", "live",
                                                                timeout=10_000)
        expect(board.locator(".queue .tile").first).to_be_visible()
        token = re.search(r"/wallboard/([^/]+)/", demo.wallboard)
        assert token is not None
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from dashboard import store; from dashboard.models import Wallboard; "
             f"store.revoke_wallboard(Wallboard.objects.get(token='{token.group(1)}'))"],
            cwd=ROOT, env=demo.env, check=True, capture_output=True)
        response = board.goto(demo.wallboard)
        assert response is not None and response.status == 404
    finally:
        context.close()

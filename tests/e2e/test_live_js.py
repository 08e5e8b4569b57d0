"""static/dashboard/live.js in a real browser, against a scripted stand-in for the consumer.

The page is templates/base.html (with _live_status.html) rendered by Django into a temporary
directory, with the real static files: the vendored htmx and ws extension, live.js and the CSS.
A small aiohttp server serves it and plays the server side of docs/browser-protocol.md on /ws;
each test scripts what the "consumer" sends and checks what the page shows and sends back.
That server is a test double of the consumer, not code under test.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from django.conf import settings
from django.template import engines
from django.utils import translation
from playwright.sync_api import Page, expect

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
BUILD = "b-1"

PAGE_TEMPLATE = """{% extends "base.html" %}
{% block title %}live.js test page{% endblock %}
{% block live_attrs %}{% if live %}hx-ext="ws" ws-connect="/ws" data-heartbeat="{{ heartbeat }}" \
data-reload-after="{{ reload_after }}" data-backoff-min="0.1" data-backoff-max="0.4"{% endif %}\
{% endblock %}
{% block content %}
  <h1>Test page</h1>
  <p id="tile-a" data-live>a0</p>
  <p id="tile-b" data-live>b0</p>
  <p id="tile-c" data-live>c0</p>
  <p>Longest wait <span id="wait">-</span></p>
  <p>Clock <span id="clock" data-clock></span></p>
  <ul id="alerts">
    <li id="alert-1" data-toast="Old alert" data-toast-level="warning">Old alert</li>
  </ul>
{% endblock %}
"""


# ------------------------------------------------------------------------------------------
# The protocol, as the consumer writes it
# ------------------------------------------------------------------------------------------


def frame(
    kind: str,
    seq: int,
    *fragments: str,
    epoch: str = "e-1",
    upstream: str = "ok",
    since: str | None = None,
    build: str = BUILD,
    now: str | None = None,
) -> str:
    meta: dict[str, Any] = {
        "kind": kind,
        "epoch": epoch,
        "seq": seq,
        "age": 0.1,
        "upstream": upstream,
        "since": since,
        "build": build,
    }
    if now is not None:
        meta["now"] = now
    return "<!--live " + json.dumps(meta) + "-->" + "".join(fragments)


def tile(name: str, text: str, swap: str = "true") -> str:
    return f'<p id="tile-{name}" hx-swap-oob="{swap}" data-live>{text}</p>'


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


RESYNC = {"type": "resync"}


# ------------------------------------------------------------------------------------------
# The stand-in server
# ------------------------------------------------------------------------------------------


class Connection:
    """One websocket from the page, driven from the test thread."""

    def __init__(self, server: FakeServer, ws: web.WebSocketResponse) -> None:
        self._server = server
        self._ws = ws
        self.received: queue.Queue[str] = queue.Queue()
        # The page's once-a-second acknowledgements, apart from its other frames.
        self.acks: list[int] = []
        self.query = ""
        self.closed = threading.Event()
        self.close_code: int | None = None

    def send(self, text: str) -> None:
        self._server.call(self._ws.send_str(text))

    def close(self, code: int) -> None:
        self._server.call(self._ws.close(code=code))

    def receive_json(self, timeout: float = 5) -> Any:
        try:
            return json.loads(self.received.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"the page sent nothing within {timeout} s") from None

    def assert_sends_nothing(self, seconds: float) -> None:
        try:
            text = self.received.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"the page sent {text!r}")


class FakeServer:
    """Serves the page and /static/, and accepts the page's websockets on /ws."""

    def __init__(self, page_file: Path) -> None:
        self.page_file = page_file
        self.page_hits = 0
        self.probes = 0
        self.refuse_ws = False  # answer 503 to websockets only
        self.refused = 0  # websockets answered 503
        self.down = False  # answer 503 to everything but /static/
        self.connections: list[Connection] = []
        self._new: queue.Queue[Connection] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def call(self, coro: Any, timeout: float = 5) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> FakeServer:
        self._thread.start()
        self.call(self._start())
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self.call(self._stop(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _stop(self) -> None:
        self.down = True  # the page may reconnect while this runs
        for conn in self.connections:
            await conn._ws.close(code=1001)
        assert self._runner is not None
        await self._runner.cleanup()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/ws", self._socket)
        app.router.add_static("/static/", STATIC_DIR)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"

    async def _page(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            return web.Response(status=503, text="down")
        if request.headers.get("Sec-Fetch-Mode") == "navigate":
            self.page_hits += 1  # page loads, not live.js's probes
        else:
            self.probes += 1
        return web.Response(
            text=self.page_file.read_text(), content_type="text/html", charset="utf-8"
        )

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if self.down or self.refuse_ws:
            self.refused += 1
            return web.Response(status=503, text="down")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Connection(self, ws)
        conn.query = request.query_string
        self.connections.append(conn)
        self._new.put(conn)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if isinstance(data, dict) and data.get("type") == "ack":
                    conn.acks.append(data["seq"])
                else:
                    conn.received.put(msg.data)
        conn.close_code = ws.close_code
        conn.closed.set()
        return ws

    def next_connection(self, timeout: float = 5) -> Connection:
        try:
            return self._new.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the page did not connect within {timeout} s") from None

    def assert_no_connection(self, seconds: float) -> None:
        try:
            self._new.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError("the page opened another websocket")


def wait_until(condition: Callable[[], bool], timeout: float = 5, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., FakeServer]]:
    """serve(heartbeat=2, reload_after=600, live=True) -> a started FakeServer."""
    servers: list[FakeServer] = []

    def start(heartbeat: float = 2, reload_after: float = 600, live: bool = True) -> FakeServer:
        # In the settings' language: a test client request earlier in this thread may have
        # left another one active (LocaleMiddleware activates, nothing deactivates).
        with translation.override(settings.LANGUAGE_CODE):
            html = (
                engines["django"]
                .from_string(PAGE_TEMPLATE)
                .render(
                    {
                        "live": live,
                        "heartbeat": heartbeat,
                        "reload_after": reload_after,
                        "live_build": BUILD,
                    }
                )
            )
        page_file = tmp_path / "index.html"
        page_file.write_text(html)
        server = FakeServer(page_file).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def open_live(page: Page, server: FakeServer) -> Connection:
    """Loads the page, takes its websocket and sends the first snapshot (seq 1)."""
    page.goto(server.url)
    conn = server.next_connection()
    conn.send(frame("snapshot", 1, tile("a", "a1"), tile("b", "b1")))
    expect(page.locator("#tile-a")).to_have_text("a1")
    expect(status(page)).to_have_text("Live")
    return conn


def status(page: Page):  # -> Locator
    return page.locator("#live-status .live-status__label")


def mark_page(page: Page) -> None:
    """Sets a marker that a reload would lose."""
    page.evaluate("window.__marker = 'still here'")


def marker(page: Page) -> Any:
    return page.evaluate("window.__marker")


def assert_reloaded_once(page: Page, server: FakeServer) -> None:
    """After a navigation: it was a reload (one more GET of the page) and it stays at one."""
    page.wait_for_load_state()
    assert marker(page) is None
    wait_until(lambda: server.page_hits == 2, what="the reloaded page to be served")
    time.sleep(0.5)
    assert server.page_hits == 2


# ------------------------------------------------------------------------------------------
# Swaps and ordering
# ------------------------------------------------------------------------------------------


def test_snapshot_then_diffs_swap_elements_by_id(page: Page, serve) -> None:
    server = serve()
    page.goto(server.url)
    expect(page.locator("#live-status")).to_be_visible()
    conn = server.next_connection()
    # Before the snapshot the page says so, and applies nothing.
    expect(status(page)).to_have_text("Connecting…")
    conn.send(frame("snapshot", 1, tile("a", "a1"), tile("b", "b1")))
    expect(page.locator("#tile-a")).to_have_text("a1")
    expect(page.locator("#tile-b")).to_have_text("b1")
    conn.send(frame("diff", 2, tile("a", "a2")))
    conn.send(frame("diff", 3, tile("b", "b3", swap="outerHTML")))
    expect(page.locator("#tile-a")).to_have_text("a2")
    expect(page.locator("#tile-b")).to_have_text("b3")
    expect(status(page)).to_have_text("Live")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-stale\b"))
    assert page.evaluate("window.clarityLive.state().seq") == 3


def test_a_delete_fragment_removes_the_element(page: Page, serve) -> None:
    """What the bridge sends for an expired alert (dashboard.live.delete_fragment)."""
    server = serve()
    page.goto(server.url)
    conn = server.next_connection()
    conn.send(frame("snapshot", 1, tile("a", "a1"), tile("b", "b1")))
    expect(page.locator("#tile-b")).to_have_text("b1")
    conn.send(frame("diff", 2, '<p id="tile-b" hx-swap-oob="delete"></p>', tile("a", "a2")))
    expect(page.locator("#tile-a")).to_have_text("a2")
    expect(page.locator("#tile-b")).to_have_count(0)
    assert page.evaluate("window.clarityLive.state().seq") == 2


def test_the_page_acknowledges_what_it_read_every_few_seconds(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)  # snapshot seq 1
    wait_until(lambda: conn.acks[-1:] == [1], 7, "an ack of the snapshot")
    for seq in range(2, 6):
        conn.send(frame("diff", seq, tile("a", f"a{seq}")))
    expect(page.locator("#tile-a")).to_have_text("a5")
    # Heartbeats meanwhile, or the page would drop the silent socket (after 4 s here) before
    # its next ack is due.
    deadline = time.monotonic() + 12
    while conn.acks[-1:] != [5]:
        assert time.monotonic() < deadline, f"no ack of the last diff: {conn.acks}"
        conn.send(frame("heartbeat", 5))
        time.sleep(0.5)
    # No more than one every 5 s, and none while nothing new was read.
    for _ in range(4):
        conn.send(frame("heartbeat", 5))
        time.sleep(0.5)
    assert conn.acks == [1, 5], conn.acks


def test_a_reconnecting_page_says_so_in_its_socket_url(page: Page, serve) -> None:
    server = serve()
    first = open_live(page, server)
    assert "reconnect" not in first.query
    first.close(1000)
    second = server.next_connection()
    assert second.query == "reconnect=1"
    second.close(1000)
    assert server.next_connection().query == "reconnect=1"  # not added twice


def test_diffs_before_the_snapshot_are_dropped(page: Page, serve) -> None:
    server = serve()
    page.goto(server.url)
    conn = server.next_connection()
    conn.send(frame("diff", 1, tile("c", "too early")))
    conn.send(frame("snapshot", 2, tile("a", "a2")))
    expect(page.locator("#tile-a")).to_have_text("a2")
    expect(page.locator("#tile-c")).to_have_text("c0")


def test_an_old_seq_and_a_message_without_header_are_dropped(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    conn.send(frame("diff", 2, tile("a", "a2")))
    conn.send(frame("diff", 2, tile("a", "duplicate")))
    conn.send(frame("diff", 1, tile("c", "old")))
    conn.send(tile("c", "no header"))
    conn.send(frame("diff", 3, tile("b", "b3")))
    # Messages are handled in order: once seq 3 shows, the ones before it were dropped.
    expect(page.locator("#tile-b")).to_have_text("b3")
    expect(page.locator("#tile-a")).to_have_text("a2")
    expect(page.locator("#tile-c")).to_have_text("c0")
    conn.assert_sends_nothing(0.3)


def test_a_gap_asks_for_a_snapshot_and_the_page_converges(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    conn.send(frame("diff", 3, tile("a", "after a gap")))  # seq 2 never came
    assert conn.receive_json() == RESYNC
    conn.send(frame("diff", 4, tile("c", "still out of sync")))
    conn.send(frame("snapshot", 5, tile("a", "a5"), tile("b", "b5")))
    expect(page.locator("#tile-a")).to_have_text("a5")
    expect(page.locator("#tile-b")).to_have_text("b5")
    expect(page.locator("#tile-c")).to_have_text("c0")  # diffs wait for the snapshot
    conn.send(frame("diff", 6, tile("c", "c6")))
    expect(page.locator("#tile-c")).to_have_text("c6")
    expect(status(page)).to_have_text("Live")
    conn.assert_sends_nothing(0.3)  # one resync per gap


def test_a_new_epoch_asks_for_a_snapshot(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    conn.send(frame("diff", 2, tile("a", "new epoch"), epoch="e-2"))
    assert conn.receive_json() == RESYNC
    conn.send(frame("snapshot", 3, tile("a", "a3"), epoch="e-2"))
    expect(page.locator("#tile-a")).to_have_text("a3")
    conn.send(frame("diff", 4, tile("b", "b4"), epoch="e-2"))
    expect(page.locator("#tile-b")).to_have_text("b4")
    assert page.evaluate("window.clarityLive.state().epoch") == "e-2"


@pytest.mark.parametrize(
    ("seq", "epoch"),
    [pytest.param(3, "e-1", id="gap"), pytest.param(1, "e-2", id="new-epoch")],
)
def test_a_heartbeat_out_of_step_asks_for_a_snapshot(
    page: Page, serve, seq: int, epoch: str
) -> None:
    server = serve()
    conn = open_live(page, server)
    conn.send(frame("heartbeat", 1))  # in step: nothing to do
    conn.assert_sends_nothing(0.3)
    conn.send(frame("heartbeat", seq, epoch=epoch))
    assert conn.receive_json() == RESYNC
    conn.send(frame("diff", seq + 1, tile("c", "not yet"), epoch=epoch))
    conn.send(frame("snapshot", seq + 2, tile("a", "converged"), epoch=epoch))
    expect(page.locator("#tile-a")).to_have_text("converged")
    expect(page.locator("#tile-c")).to_have_text("c0")


# ------------------------------------------------------------------------------------------
# Heartbeats, silence, reconnects
# ------------------------------------------------------------------------------------------


def test_heartbeats_keep_it_live(page: Page, serve) -> None:
    server = serve(heartbeat=0.5)  # stale and reconnect after 1 s without a message
    conn = open_live(page, server)
    for _ in range(12):  # 3 s
        conn.send(frame("heartbeat", 1))
        time.sleep(0.25)
        assert status(page).text_content() == "Live"
    assert len(server.connections) == 1
    assert not conn.closed.is_set()


def test_silence_for_two_heartbeats_reconnects(page: Page, serve) -> None:
    server = serve(heartbeat=0.5)
    first = open_live(page, server)
    # No message at all from now on.
    expect(status(page)).to_have_text(re.compile(r"^Stale since \d\d:\d\d:\d\d$"))
    expect(page.locator("body")).to_have_class(re.compile(r"\bis-stale\b"))
    second = server.next_connection()
    wait_until(first.closed.is_set, what="the page to close the silent socket")
    assert first.close_code == 4000
    second.send(frame("snapshot", 1, tile("a", "after silence")))
    expect(page.locator("#tile-a")).to_have_text("after silence")
    expect(status(page)).to_have_text("Live")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-stale\b"))


@pytest.mark.parametrize("code", [1000, 1011])
def test_the_page_reconnects_after_any_close(page: Page, serve, code: int) -> None:
    server = serve()
    first = open_live(page, server)
    mark_page(page)
    first.send(frame("diff", 2, tile("a", "a2")))
    first.send(frame("diff", 3, tile("b", "b3")))
    expect(page.locator("#tile-b")).to_have_text("b3")
    first.close(code)
    expect(status(page)).to_have_text("Reconnecting…")
    second = server.next_connection()
    expect(status(page)).to_have_text("Reconnecting…")  # until the snapshot
    # seq is per connection: the new one starts again, and its snapshot wins.
    second.send(frame("diff", 2, tile("c", "before the snapshot")))
    second.send(frame("snapshot", 1, tile("a", "fresh"), tile("b", "fresh")))
    expect(page.locator("#tile-a")).to_have_text("fresh")
    expect(status(page)).to_have_text("Live")
    second.send(frame("diff", 2, tile("b", "second diff")))
    expect(page.locator("#tile-b")).to_have_text("second diff")
    expect(page.locator("#tile-c")).to_have_text("c0")
    # The ws extension retries 1006/1011/1012/1013 by itself within 1 s: that must not
    # make a second socket.
    server.assert_no_connection(1.2)
    assert server.page_hits == 1
    assert marker(page) == "still here"


def test_reconnecting_backs_off_while_the_server_is_down(page: Page, serve) -> None:
    server = serve(heartbeat=1)
    first = open_live(page, server)
    server.down = True
    first.close(1000)
    expect(status(page)).to_have_text("Reconnecting…")
    # After 2 heartbeats (2 s) without fresh data the numbers go grey.
    expect(status(page)).to_have_text(re.compile(r"^Stale since \d\d:\d\d:\d\d$"), timeout=6000)
    expect(page.locator("body")).to_have_class(re.compile(r"\bis-stale\b"))
    expect(page.locator("#live-status .live-status__detail")).to_have_text("reconnecting…")
    # Backoff 0.1 s doubling to 0.4 s, with jitter: about 10 attempts in those 2 s, not
    # hundreds.
    assert 3 <= server.refused <= 30
    server.down = False
    second = server.next_connection()
    second.send(frame("snapshot", 1, tile("a", "back")))
    expect(status(page)).to_have_text("Live")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-stale\b"))


# ------------------------------------------------------------------------------------------
# Freshness
# ------------------------------------------------------------------------------------------


def test_upstream_down_is_stale_even_with_a_good_socket(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    conn.send(frame("heartbeat", 1, upstream="down", since="2024-05-01T10:42:03Z"))
    expect(status(page)).to_have_text("Stale since 10:42:03")  # the page runs in UTC
    expect(page.locator("#live-status .live-status__detail")).to_have_text("Clarity unreachable")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "stale")
    expect(page.locator("body")).to_have_class(re.compile(r"\bis-stale\b"))
    assert page.locator("#tile-a").evaluate("e => getComputedStyle(e).filter") == "grayscale(1)"
    conn.send(frame("diff", 2, tile("a", "a2"), upstream="ok"))
    expect(status(page)).to_have_text("Live")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-stale\b"))
    assert page.locator("#tile-a").evaluate("e => getComputedStyle(e).filter") == "none"


def test_data_since_ticks_and_data_clock_shows_the_time(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    now = datetime.now(UTC)
    conn.send(
        frame(
            "diff",
            2,
            f'<span id="wait" hx-swap-oob="true" data-since="{iso(now - timedelta(seconds=65))}">'
            "</span>",
            f'<p id="tile-c" hx-swap-oob="true"><span id="long" '
            f'data-since="{iso(now - timedelta(seconds=3725))}"></span></p>',
        )
    )
    wait = page.locator("#wait")
    expect(wait).to_have_text(re.compile(r"^1:0[5-9]$"))
    first = wait.text_content()
    expect(wait).not_to_have_text(first or "", timeout=2500)  # it ticks
    expect(page.locator("#long")).to_have_text(re.compile(r"^1:02:0\d$"))
    clock = page.locator("#clock").text_content() or ""
    expected = {(datetime.now(UTC) + timedelta(seconds=d)).strftime("%H:%M") for d in (-2, 0)}
    assert clock in expected


def test_elapsed_times_use_the_server_clock(page: Page, serve) -> None:
    server = serve()
    page.goto(server.url)
    conn = server.next_connection()
    now = datetime.now(UTC)
    # The browser's clock is an hour behind the server's.
    conn.send(
        frame(
            "snapshot",
            1,
            f'<span id="wait" hx-swap-oob="true" data-since="{iso(now + timedelta(seconds=3595))}">'
            "</span>",
            now=iso(now + timedelta(hours=1)),
        )
    )
    expect(page.locator("#wait")).to_have_text(re.compile(r"^0:0[5-9]$"))


# ------------------------------------------------------------------------------------------
# Reloads
# ------------------------------------------------------------------------------------------


def test_reload_kind_reloads_the_page(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    mark_page(page)
    assert marker(page) == "still here"
    with page.expect_navigation():
        conn.send(frame("reload", 2))
    assert_reloaded_once(page, server)


def test_a_heartbeat_with_another_build_reloads_the_page(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    mark_page(page)
    conn.send(frame("heartbeat", 1, build=BUILD))
    conn.send(frame("diff", 2, tile("a", "same build")))
    expect(page.locator("#tile-a")).to_have_text("same build")
    assert server.page_hits == 1
    with page.expect_navigation():
        conn.send(frame("heartbeat", 2, build="b-2"))
    assert_reloaded_once(page, server)
    # Still the old page (a rolling deploy: old workers serve pages, new ones sockets): no
    # reload loop, at most one reload every 30 s.
    second = server.next_connection()
    mark_page(page)
    second.send(frame("snapshot", 1, tile("a", "new build"), build="b-2"))
    second.send(frame("heartbeat", 1, build="b-2"))
    expect(page.locator("#tile-a")).to_have_text("new build")
    time.sleep(0.3)
    assert server.page_hits == 2
    assert marker(page) == "still here"


def test_a_long_outage_reloads_once_the_server_is_back(page: Page, serve) -> None:
    server = serve(reload_after=1)
    conn = open_live(page, server)
    mark_page(page)
    server.down = True
    conn.close(1000)
    time.sleep(2.5)  # well past reload-after, but the server is down: no reload into an error
    assert server.page_hits == 1
    assert marker(page) == "still here"
    with page.expect_navigation():
        server.down = False
    assert_reloaded_once(page, server)


def test_a_long_outage_reloads_when_the_page_answers_but_the_socket_does_not(
    page: Page, serve
) -> None:
    # e.g. the session expired: the consumer refuses the socket, the page redirects to login.
    server = serve(reload_after=1)
    conn = open_live(page, server)
    mark_page(page)
    server.refuse_ws = True
    with page.expect_navigation():
        conn.close(1000)
    server.refuse_ws = False
    assert_reloaded_once(page, server)
    assert server.probes >= 1


def test_a_short_outage_does_not_reload(page: Page, serve) -> None:
    server = serve(reload_after=3)
    conn = open_live(page, server)
    mark_page(page)
    server.down = True
    conn.close(1000)
    time.sleep(1)
    server.down = False
    second = server.next_connection()
    second.send(frame("snapshot", 1, tile("a", "back")))
    expect(page.locator("#tile-a")).to_have_text("back")
    assert server.page_hits == 1
    assert marker(page) == "still here"


def test_close_code_4401_reloads_but_not_in_a_loop(page: Page, serve) -> None:
    server = serve()
    conn = open_live(page, server)
    mark_page(page)
    with page.expect_navigation():
        conn.close(4401)  # the session is gone: reload, and so land on the login page
    assert_reloaded_once(page, server)
    # Again within a minute: the consumer rejects a session the page view accepted. The
    # page reconnects instead of reloading again.
    second = server.next_connection()
    second.send(frame("snapshot", 1, tile("a", "a1")))
    expect(status(page)).to_have_text("Live")
    mark_page(page)
    second.close(4401)
    third = server.next_connection()
    third.send(frame("snapshot", 1, tile("a", "third")))
    expect(page.locator("#tile-a")).to_have_text("third")
    assert marker(page) == "still here"
    assert server.page_hits == 2


# ------------------------------------------------------------------------------------------
# Toasts and sound
# ------------------------------------------------------------------------------------------

ALERTS = (
    '<ul id="alerts" hx-swap-oob="true">'
    '<li id="alert-1" data-toast="Old alert" data-toast-level="warning">Old alert</li>{}</ul>'
)


def test_new_alerts_toast_and_beep_when_sound_is_on(page: Page, serve) -> None:
    server = serve()
    page.add_init_script(
        "window.__toasts = [];"
        "document.addEventListener('live:toast', e => window.__toasts.push(e.detail));"
    )
    conn = open_live(page, server)
    toasts = page.locator("#toasts .toast")
    # The alert that was already on the page is not new, even when a swap re-renders it.
    conn.send(frame("diff", 2, ALERTS.format("")))
    conn.send(frame("diff", 3, tile("a", "a3")))
    expect(page.locator("#tile-a")).to_have_text("a3")
    expect(toasts).to_have_count(0)

    new = '<li id="alert-2" data-toast="Sales over SLA" data-toast-level="critical">SLA</li>'
    conn.send(frame("diff", 4, ALERTS.format(new)))
    expect(toasts).to_have_count(1)
    expect(toasts.first).to_contain_text("Sales over SLA")
    expect(page.locator("#toasts")).to_have_attribute("aria-live", "assertive")
    assert page.evaluate("window.__toasts") == [
        {"message": "Sales over SLA", "level": "critical", "sound": False}
    ]

    toggle = page.locator("#sound-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(1100)  # one beep per second at most; the click beeped
    newer = '<li id="alert-3" data-toast="Queue full" data-toast-level="critical">Full</li>'
    conn.send(frame("diff", 5, ALERTS.format(new + newer)))
    expect(toasts).to_have_count(2)
    assert page.evaluate("window.__toasts")[-1] == {
        "message": "Queue full",
        "level": "critical",
        "sound": True,
    }
    toasts.last.locator(".toast__close").click()
    expect(toasts).to_have_count(1)

    # The choice is remembered.
    page.reload()
    server.next_connection()
    expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")


# ------------------------------------------------------------------------------------------
# The page itself
# ------------------------------------------------------------------------------------------


def test_a_page_without_a_socket_has_no_indicator(page: Page, serve) -> None:
    server = serve(live=False)
    page.goto(server.url)
    expect(page.locator("#clock")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(page.locator("#live-status")).to_be_hidden()
    server.assert_no_connection(0.5)


def test_base_layout_fits_1280_and_has_the_landmarks(page: Page, serve) -> None:
    server = serve()
    open_live(page, server)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    skip = page.locator("a.skip-link")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    skip.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    live_status = page.locator("#live-status")
    expect(live_status).to_have_attribute("aria-live", "polite")
    expect(live_status.locator(".live-status__icon--live")).to_be_visible()
    expect(live_status.locator(".live-status__icon--stale")).to_be_hidden()
    assert page.locator("body").get_attribute("hx-headers") == '{"X-CSRFToken": ""}'
    # No inline script anywhere: a CSP without 'unsafe-inline' will be added.
    assert page.evaluate("[...document.scripts].every(s => s.src)")

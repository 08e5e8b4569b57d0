"""Faults in the scale-out deployment (docs/deploy.md), on real processes: redis-server, the
simulator, two bridges, two daphne workers and nginx, with pages in headless Chromium.

One deployment serves the whole module (starting it takes ~10 s); every test leaves it whole
again (a killed process is started again in its `finally`). Each test ends by changing an
agent's status upstream and seeing it on the page: a page that says "live" but shows an old
picture would fail there.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from dashboard.consumers import CLOSE_TOO_SLOW
from tests.e2e.cluster import LEASE_SECONDS, Cluster, parse, start_cluster, wait_for

pytestmark = pytest.mark.slow

# Agent 11 is moved between "Personal" (status 3, reason 6) and available by these tests.
AGENT = 11


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from start_cluster(Path(tmp_path_factory.mktemp("cluster")))


@pytest.fixture
def agents_page(browser: Browser, cluster: Cluster) -> Iterator[Page]:
    """The agents page of a supervisor logged in through nginx, live."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(cluster.url + "/login/")
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", cluster.password)
        page.click("button[type=submit], input[type=submit]")
        page.goto(cluster.url + "/agents/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live",
                                                               timeout=20_000)
        yield page
    finally:
        context.close()


def _converges(page: Page, cluster: Cluster, timeout_ms: int = 20_000) -> None:
    """The page is live and follows the upstream: a status changed there shows, then its
    change back."""
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live", timeout=timeout_ms)
    row = page.locator(f"#agent-{AGENT}")
    cluster.set_status(AGENT, 3, reason=6)
    expect(row).to_contain_text("Personal", timeout=timeout_ms)
    cluster.set_status(AGENT, 1)
    expect(row).not_to_contain_text("Personal", timeout=timeout_ms)


def test_a_page_through_nginx_follows_the_upstream(agents_page: Page,
                                                   cluster: Cluster) -> None:
    _converges(agents_page, cluster)


def test_a_standby_bridge_takes_over_when_the_active_one_is_killed(agents_page: Page,
                                                                   cluster: Cluster) -> None:
    active = cluster.active_bridge()
    assert active is not None
    cluster.kill(active)
    try:
        standby = wait_for(lambda: (cluster.active_bridge() or active) != active
                           and cluster.active_bridge(), 4 * LEASE_SECONDS + 10,
                           "the standby taking the lease", cluster.logs)
        assert standby != active
        # The new bridge has a new epoch: the page takes its snapshot, then its diffs.
        _converges(agents_page, cluster, timeout_ms=30_000)
    finally:
        cluster.start_bridge(active)  # it stands by now


def test_pages_resync_and_keep_following_after_redis_restarts(agents_page: Page,
                                                              cluster: Cluster) -> None:
    cluster.redis.restart(down_seconds=1.0)
    # A bridge holds the lease again (the holder takes its key back)...
    wait_for(cluster.active_bridge, 30, "a bridge holding the lease again", cluster.logs)
    # ...and the workers' fan-outs follow its batches again: the page converges.
    _converges(agents_page, cluster, timeout_ms=30_000)


def test_pages_of_a_killed_worker_reconnect_through_the_other_one(browser: Browser,
                                                                  agents_page: Page,
                                                                  cluster: Cluster) -> None:
    # nginx spreads pages over both workers; killing each in turn kills this page's for sure.
    for name in ("worker1", "worker2"):
        cluster.kill(name, signal.SIGKILL)
        try:
            # The page notices (its socket closed), reconnects through nginx to the other
            # worker, and converges.
            _converges(agents_page, cluster, timeout_ms=30_000)
        finally:
            cluster.start_worker(name)
        time.sleep(1)


def test_the_upstream_dropped_and_refused_for_a_minute_then_back(agents_page: Page,
                                                                 cluster: Cluster) -> None:
    status = agents_page.locator("#live-status")
    cluster.control(action="refuse", seconds=60)
    cluster.control(action="drop")
    # The bridge says the upstream is gone; the page turns stale rather than pretend.
    expect(status).to_have_attribute("data-state", "stale", timeout=45_000)
    # Meanwhile the upstream moves on (its REST API still answers; only the hub refuses).
    cluster.set_status(AGENT, 3, reason=6)
    # After the minute the bridge gets in again and the page shows what happened meanwhile.
    expect(status).to_have_attribute("data-state", "live", timeout=120_000)
    expect(agents_page.locator(f"#agent-{AGENT}")).to_contain_text("Personal", timeout=20_000)
    cluster.set_status(AGENT, 1)
    _converges(agents_page, cluster)


def test_expired_tokens_upstream_are_renewed_and_pages_keep_following(agents_page: Page,
                                                                      cluster: Cluster) -> None:
    cluster.control(action="expire_tokens", close_hub=True)
    _converges(agents_page, cluster, timeout_ms=45_000)


def _metric_sum(cluster: Cluster, cookie: str, name: str) -> float:
    """`name` summed over both workers (each counts its own pages)."""
    total = 0.0
    for worker in ("worker1", "worker2"):
        text = httpx.get(f"http://127.0.0.1:{cluster.ports[worker]}/metrics/",
                         headers={"Cookie": cookie, "Host": "localhost"}).text
        total += sum(float(m) for m in re.findall(rf"^{name} (\S+)$", text, re.M))
    return total


def test_a_page_that_does_not_keep_up_costs_a_bounded_amount_and_is_closed(
        cluster: Cluster) -> None:
    cookie = cluster.session_cookie()
    dropped = _metric_sum(cluster, cookie, "dashboard_dropped_messages_total")
    url = cluster.url.replace("http://", "ws://") + "/ws/live/agents/"
    # A page that reads nothing and acknowledges nothing (a tab asleep on a laptop).
    with connect(url, additional_headers={"Cookie": cookie, "Origin": cluster.url},
                 max_queue=None) as socket:
        # Plenty of changes: each status change is at least one message for this page.
        for flip in range(160):
            cluster.set_status(AGENT, 3 if flip % 2 == 0 else 1, reason=6 if flip % 2 == 0
                               else None)
            time.sleep(0.03)
        cluster.set_status(AGENT, 1)
        # What was queued for it: the snapshot and at most DASHBOARD_LIVE_MAX_UNACKED (50 here)
    # messages.
        kinds: list[str] = []
        code = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                message = socket.recv(timeout=deadline - time.monotonic())
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                break
            except TimeoutError:
                break
            meta, _ = parse(str(message))
            kinds.append(meta["kind"])
    assert kinds[0] == "snapshot"
    diffs = kinds.count("diff") + kinds.count("snapshot")
    assert diffs <= int(cluster.env["DASHBOARD_LIVE_MAX_UNACKED"]), kinds
    # Still behind after DASHBOARD_LIVE_BEHIND_CLOSE_SECONDS: closed by daphne with "try again
    # later", 1013 (dashboard.daphne_close lets it through autobahn).
    assert code == CLOSE_TOO_SLOW == 1013, (code, len(kinds))
    assert _metric_sum(cluster, cookie, "dashboard_dropped_messages_total") > dropped


def test_no_password_or_token_reaches_any_log(cluster: Cluster) -> None:
    """Logins (right and wrong), a wallboard by its token (page and socket) and a wrong one,
    the bridges' Clarity logins and tokens: then every process's log is searched for them."""
    token = cluster.manage("shell", "-c", (
        "from dashboard.models import Wallboard; "
        "print(Wallboard.objects.create(name='Secret TV').token)")).strip().splitlines()[-1]
    assert httpx.get(f"{cluster.url}/wallboard/{token}/").status_code == 200
    with connect(f"{cluster.url.replace('http', 'ws')}/ws/wallboard/{token}/",
                 additional_headers={"Origin": cluster.url}) as socket:
        assert parse(str(socket.recv(timeout=10)))[0]["kind"] == "snapshot"
    assert httpx.get(f"{cluster.url}/wallboard/{'Q' * 43}/").status_code == 404
    wrong = "Wrong-Guess-Password-4711"
    with httpx.Client(base_url=cluster.url) as client:
        page = client.get("/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert csrf
        client.post("/login/", data={"username": "supervisor", "password": wrong,
                                     "csrfmiddlewaretoken": csrf.group(1)},
                    headers={"Cookie": f"csrftoken={page.cookies['csrftoken']}"})
    cluster.session_cookie()  # the right password
    time.sleep(1)  # let the processes write
    logs = {path.name: path.read_text(errors="replace")
            for path in [*cluster.tmp.glob("*.log"), *cluster.tmp.glob("nginx/*.log")]}
    assert {"worker1.log", "bridge1.log", "simulator.log"} <= set(logs)
    for secret in (token, cluster.password, wrong, cluster.clarity_password):
        leaked = [name for name, text in logs.items() if secret in text]
        assert not leaked, f"{secret[:4]}… is in {leaked}"
    # No bearer token either (JWTs start with the encoded '{"alg"').
    assert not [name for name, text in logs.items() if "eyJhbGci" in text]

"""Faults in the scale-out deployment (docs/deploy.md), on real processes: redis-server, the
simulator, two bridges, two daphne workers and nginx, with pages in headless Chromium.

One deployment serves the whole module (starting it takes ~10 s); every test leaves it whole
again (a killed process is started again in its `finally`). Each test ends by changing an
agent's status upstream and seeing it on the page: a page that says "live" but shows an old
picture would fail there.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.cluster import LEASE_SECONDS, Cluster, start_cluster, wait_for

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

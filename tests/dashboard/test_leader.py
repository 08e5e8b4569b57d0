"""The bridge lease (dashboard.leader) against a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from dashboard.leader import LEASE_KEY, LeadershipLost, Lease, run_as_leader
from tests.redis_server import RedisServer

LEASE = 1.0  # seconds: short, so that take-overs happen within the test's patience


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def _lease(server: RedisServer, name: str) -> Lease:
    return Lease(server.url, lease_seconds=LEASE, name=name)


async def _holder(server: RedisServer) -> str | None:
    client = redis.Redis.from_url(server.url)
    try:
        value = await client.get(LEASE_KEY)
    finally:
        await client.aclose()
    return value.decode() if value else None


async def test_only_one_of_two_holds_the_lease_and_the_holder_keeps_it_by_renewing(
        redis_server: RedisServer) -> None:
    first, second = _lease(redis_server, "first"), _lease(redis_server, "second")
    try:
        await first.acquire()
        holding = asyncio.create_task(first.hold())
        waiting = asyncio.create_task(second.acquire())
        # Three leases long: without renewal the key would have expired twice over.
        await asyncio.sleep(3 * LEASE)
        assert not waiting.done()
        assert not holding.done()
        assert await _holder(redis_server) == first.token
        holding.cancel()
        waiting.cancel()
    finally:
        for lease in (first, second):
            await lease.close()


async def test_a_standby_takes_over_once_the_holder_stops_renewing(
        redis_server: RedisServer) -> None:
    first, second = _lease(redis_server, "first"), _lease(redis_server, "second")
    try:
        await first.acquire()
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(LEASE / 2)
        assert not waiting.done()
        # The holder dies without releasing (no renewal, no DEL): the lease runs out.
        await asyncio.wait_for(waiting, timeout=3 * LEASE)
        assert await _holder(redis_server) == second.token
    finally:
        for lease in (first, second):
            await lease.close()


async def test_the_holder_learns_it_lost_the_lease_when_someone_else_has_it(
        redis_server: RedisServer) -> None:
    lease = _lease(redis_server, "first")
    client = redis.Redis.from_url(redis_server.url)
    try:
        await lease.acquire()
        await client.set(LEASE_KEY, "somebody-else")
        with pytest.raises(LeadershipLost, match="another bridge"):
            await asyncio.wait_for(lease.hold(), timeout=3 * LEASE)
        # Releasing what is not ours must not delete the new holder's lease.
        await lease.release()
        assert await _holder(redis_server) == "somebody-else"
    finally:
        await lease.close()
        await client.aclose()


async def test_the_holder_takes_the_key_again_after_redis_restarts_without_it(
        redis_server: RedisServer) -> None:
    lease = _lease(redis_server, "first")
    try:
        await lease.acquire()
        holding = asyncio.create_task(lease.hold())
        await asyncio.to_thread(redis_server.restart)
        assert await _holder(redis_server) is None  # a restart without persistence
        for _ in range(30):
            await asyncio.sleep(LEASE / 10)
            if await _holder(redis_server) == lease.token:
                break
        assert await _holder(redis_server) == lease.token
        assert not holding.done()
        holding.cancel()
    finally:
        await lease.close()


async def test_the_holder_gives_up_when_redis_stays_away_for_a_whole_lease(
        redis_server: RedisServer) -> None:
    lease = _lease(redis_server, "first")
    try:
        await lease.acquire()
        redis_server.stop()
        with pytest.raises(LeadershipLost, match="could not renew"):
            await asyncio.wait_for(lease.hold(), timeout=6 * LEASE)
    finally:
        await lease.close()


async def test_run_as_leader_runs_the_work_on_one_process_and_moves_it_when_the_lease_is_lost(
        redis_server: RedisServer) -> None:
    started: list[str] = []
    stopped: list[str] = []

    def work(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            started.append(name)
            try:
                await asyncio.Event().wait()
            finally:
                stopped.append(name)
        return run

    first, second = _lease(redis_server, "first"), _lease(redis_server, "second")
    runners = [asyncio.create_task(run_as_leader(first, work("first"))),
               asyncio.create_task(run_as_leader(second, work("second")))]
    client = redis.Redis.from_url(redis_server.url)
    try:
        for _ in range(50):
            await asyncio.sleep(0.05)
            if started:
                break
        await asyncio.sleep(2 * LEASE)
        assert len(started) == 1, started  # one active, one standing by
        active = started[0]
        # The active one's lease is taken from it (as if it had lost Redis for a lease and a
        # standby had the key meanwhile): it stops its work and stands by; the other one
        # gets the lease once that key runs out.
        await client.set(LEASE_KEY, "somebody-else", px=int(LEASE * 1000))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if len(started) == 2:
                break
        # Either may win the next race; what matters is that the work stopped before it ran
        # again, so it never ran twice at once.
        assert stopped == [active]
        assert len(started) == 2
    finally:
        for runner in runners:
            runner.cancel()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await client.aclose()
    # Stopping a runner releases its lease.
    assert await _holder(redis_server) is None


async def test_run_as_leader_gives_the_lease_up_for_a_while_when_the_work_fails(
        redis_server: RedisServer) -> None:
    attempts = 0

    async def failing() -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("Clarity unreachable")

    lease = _lease(redis_server, "first")
    runner = asyncio.create_task(run_as_leader(lease, failing, restart_seconds=0.5))
    try:
        await asyncio.sleep(0.3)
        assert attempts == 1
        assert await _holder(redis_server) is None  # given up while it waits
        await asyncio.sleep(0.6)
        assert attempts == 2  # and taken again
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner

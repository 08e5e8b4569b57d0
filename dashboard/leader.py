"""One active bridge among several: a lease in Redis that the active one keeps renewing.

Scale-out runs `manage.py bridge` more than once (one per host, say) so that the upstream feed
survives losing a machine, but two active bridges would each publish their own epoch and every
page would resync back and forth. So each bridge first takes the lease (`SET key token NX PX`);
the others stand by, trying again every `retry_seconds`. The active one renews it every
`renew_seconds`; if it dies, its lease runs out after `lease_seconds` and a standby takes over
(a new Bridge, so a new epoch: the pages take a fresh snapshot from it).

The active bridge stops (and stands by again) as soon as it knows the lease is no longer its
own, and also when it could not renew for a whole lease: by then a standby may hold it, and
two active bridges are worse than none for a moment. A Redis restart that lost the key is not a
loss: the holder takes the key again on its next renewal, before the standbys' slower retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

LEASE_KEY = "clarity-dashboard:bridge-leader"

# Compare-and-renew: extend our own lease, or take the key again if Redis lost it (a restart
# without persistence); anything else means someone else holds it now.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif holder == false then
  return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
end
return 0
"""
# Compare-and-delete: never release a lease a standby has taken since.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeadershipLost(Exception):
    """The lease is someone else's now, or could not be renewed for a whole lease."""


class Lease:
    def __init__(self, url: str, *, key: str = LEASE_KEY, lease_seconds: float = 5.0,
                 renew_seconds: float | None = None, retry_seconds: float | None = None,
                 name: str | None = None) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.client = redis.Redis.from_url(url, socket_timeout=lease_seconds / 3,
                                           socket_connect_timeout=lease_seconds / 3)
        self.key = key
        self.lease_ms = int(lease_seconds * 1000)
        self.lease_seconds = lease_seconds
        # Renew three times per lease: one lost renewal is not the end of it.
        self.renew_seconds = renew_seconds or lease_seconds / 3
        # Standbys try less often than the holder renews, so after a Redis restart the holder
        # (which knows it held it) gets the key back first.
        self.retry_seconds = retry_seconds or lease_seconds / 2
        # Who holds it, for people reading Redis (`GET clarity-dashboard:bridge-leader`).
        self.token = f"{name or socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"

    async def acquire(self) -> None:
        """Return once the lease is ours; wait (and say so once) while it is not."""
        waiting = False
        while True:
            try:
                if await self.client.set(self.key, self.token, nx=True, px=self.lease_ms):
                    return
                if not waiting:
                    holder = await self.client.get(self.key)
                    log.info("standing by: the active bridge is %s",
                             holder.decode() if isinstance(holder, bytes) else holder)
                    waiting = True
            except RedisError as exc:
                log.warning("standing by: Redis unreachable (%s)", exc)
                waiting = True
            await asyncio.sleep(self.retry_seconds)

    async def hold(self) -> None:
        """Renew the lease until it is lost; then raise LeadershipLost."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                ours = await self.client.eval(_RENEW, 1, self.key, self.token, self.lease_ms)
            except RedisError as exc:
                if time.monotonic() - renewed >= self.lease_seconds:
                    raise LeadershipLost(f"could not renew for {self.lease_seconds:g} s "
                                         f"({exc})") from exc
                log.warning("could not renew the bridge lease (%s); trying again", exc)
                continue
            if not ours:
                raise LeadershipLost("another bridge holds the lease")
            renewed = time.monotonic()

    async def release(self) -> None:
        with contextlib.suppress(RedisError):
            await self.client.eval(_RELEASE, 1, self.key, self.token)

    async def close(self) -> None:
        await self.client.aclose()


async def run_as_leader(lease: Lease, work: Callable[[], Awaitable[None]],
                        *, restart_seconds: float = 5.0) -> None:
    """Run `work` whenever this process holds the lease, and stop it when the lease is lost:
    active, standby, active again, for as long as this runs. If `work` fails (Clarity
    unreachable at start, say), the lease is given up for `restart_seconds`, so that another
    bridge may do better, and taken again as usual."""
    try:
        while True:
            await lease.acquire()
            log.info("this bridge is now the active one (%s)", lease.token)
            active = asyncio.ensure_future(work())
            holding = asyncio.ensure_future(lease.hold())
            try:
                await asyncio.wait({active, holding}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (active, holding):
                    task.cancel()
                await asyncio.gather(active, holding, return_exceptions=True)
            if holding.cancelled():  # the work ended, by itself
                await lease.release()
                if active.cancelled() or active.exception() is None:
                    return
                log.error("the bridge failed; giving the lease up for %g s",
                          restart_seconds, exc_info=active.exception())
                await asyncio.sleep(restart_seconds)
            else:
                log.warning("this bridge stands by again: %s", holding.exception())
    finally:
        await lease.release()
        await lease.close()

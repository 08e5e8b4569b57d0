"""A snapshot's HTML goes to each worker once, not once per page.

A wallboard's snapshot is ~480 KB. When every page reconnects at once, the bridge answered each
one on its own channel: with Redis, all the replies to one worker's pages wait in that worker's
one list (channels_redis keeps a process's channels together), 1000 of them were half a
gigabyte, and past the list's capacity replies were refused and their pages never got a
snapshot (docs/benchmarks.md). So over Redis the bridge stores the HTML once in the shared
cache, under its digest, and replies with the digest; a worker fetches each digest once for all
its pages. With the in-memory layer (one process) the HTML travels inline, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer
from django.core.cache import cache

KEY_PREFIX = "live-snapshot:"
# Long enough for a reply to wait its turn in a storm; each store renews it.
TTL_SECONDS = 300
# Stored less often than this again: a digest stored a moment ago is there.
RESTORE_AFTER_SECONDS = 60.0
# HTML a worker keeps by digest: its pages' scopes and wallboards.
KEPT_PER_WORKER = 16
# Digests the bridge remembers storing (and when).
STORED_REMEMBERED = 256


def shared(layer: BaseChannelLayer) -> bool:
    """Whether the layer crosses processes (and the cache is the shared one beside it)."""
    return not isinstance(layer, InMemoryChannelLayer)


class Sender:
    """The bridge's side: what to put in a snapshot reply for this HTML."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.shared = shared(layer)
        self._stored: OrderedDict[str, float] = OrderedDict()
        self._last: tuple[str, str] | None = None  # (html, its digest): the same str object

    async def pack(self, html: str) -> dict[str, Any]:
        if not self.shared:
            return {"html": html}
        if self._last is not None and self._last[0] is html:
            digest = self._last[1]
        else:
            digest = hashlib.sha256(html.encode()).hexdigest()
            self._last = (html, digest)
        stored = self._stored.get(digest)
        if stored is None or time.monotonic() - stored > RESTORE_AFTER_SECONDS:
            await cache.aset(KEY_PREFIX + digest, html, TTL_SECONDS)
            self._stored[digest] = time.monotonic()
            self._stored.move_to_end(digest)
            while len(self._stored) > STORED_REMEMBERED:
                self._stored.popitem(last=False)
        return {"html_digest": digest}


class Receiver:
    """A worker's side: the HTML of a reply, fetched once per digest for all its pages."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, str] = OrderedDict()
        self._fetching: dict[str, asyncio.Future[str | None]] = {}

    async def unpack(self, event: dict[str, Any]) -> str | None:
        """The reply's HTML; None if the cache no longer has it (ask for a snapshot again)."""
        if "html" in event:
            return str(event["html"])
        digest = str(event["html_digest"])
        if (html := self._kept.get(digest)) is not None:
            self._kept.move_to_end(digest)
            return html
        if (pending := self._fetching.get(digest)) is not None:
            return await pending
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._fetching[digest] = future
        try:
            found = await cache.aget(KEY_PREFIX + digest)
            html = found if isinstance(found, str) else None
            if html is not None:
                self._kept[digest] = html
                while len(self._kept) > KEPT_PER_WORKER:
                    self._kept.popitem(last=False)
            future.set_result(html)
            return html
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: pages waiting on it get it raised
            raise
        finally:
            del self._fetching[digest]


# One per worker process (the consumers' event loop).
receiver = Receiver()

"""The page's WebSocket: follow the groups of what the viewer may see, snapshot, then forward.

The protocol is in docs/browser-protocol.md: every message starts with a `<!--live {...}-->`
comment carrying (epoch, seq); `seq` counts this connection's messages, so the page can spot a
message it missed and ask for a snapshot again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model

from . import live, mbu, metrics, ratelimit, snapshot_transport, store

log = logging.getLogger(__name__)


# "Try again later" for a page that stayed too far behind (daphne needs
# dashboard.daphne_close to send it: its WebSocket library allows only 1000 and 3000-4999).
CLOSE_TOO_SLOW = 1013

# Pages send small JSON commands ({"type":"resync"}, {"type":"ack","seq":n}); anything longer is
# not read at all.
MAX_FRAME = 1024


class LiveConsumer(AsyncWebsocketConsumer):
    heartbeat_seconds = live.HEARTBEAT_SECONDS
    @property
    def max_unacked(self) -> int:
        """A page that has not acknowledged this many messages gets no more diffs until it
        has (then a snapshot): what a slow page costs stays bounded (browser-protocol.md)."""
        return int(settings.LIVE_MAX_UNACKED)

    @property
    def behind_close_seconds(self) -> float:
        """...and is closed with CLOSE_TOO_SLOW if it stays that far behind this long."""
        return float(settings.LIVE_BEHIND_CLOSE_SECONDS)
    # A page without its snapshot this long after asking asks again.
    snapshot_retry_seconds = 10.0
    # A socket lives for weeks: this often its viewer is checked again (a user disabled or
    # logged out, a wallboard revoked: closed; a scope changed in admin: followed).
    recheck_seconds = 60.0

    async def connect(self) -> None:
        self.groups_joined: list[str] = []
        self.visible: frozenset[str] = frozenset()
        self.seq = 0
        self.acked = 0
        self.behind_since: float | None = None
        self.counted = False
        self.epoch = ""
        self.versions: dict[str, int] = {}
        self.synced = False
        self.meta_state: dict[str, Any] = {}
        self.meta_at = time.monotonic()
        self.snapshot_asked = time.monotonic()
        visibility = await self._visibility()
        if visibility is None:
            await self.close(code=4403)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        page = kwargs.get("page", "overview")
        if page not in (*live.PAGES, "wallboard"):
            await self.close(code=4404)
            return
        # Follow first, then ask for the snapshot: nothing published in between is lost, and
        # anything older than the snapshot is dropped by version below.
        groups = self._groups_for(visibility)
        if page == "agent" and not groups:
            await self.close(code=4404)  # no agent, or one the viewer may not see
            return
        self.groups_joined = [*groups, live.STATUS_GROUP]
        self.visible = frozenset(groups)
        # Not one channel-layer group per entity: the process's fan-out hears each batch once
        # and hands this page the widgets of its groups (Fanout, below).
        await fanout_for(self.channel_layer).add(self)
        await self.accept()
        self.counted = True
        metrics.PAGES.inc()
        # live.js adds ?reconnect=1 when it connects again after losing a socket.
        reconnect = b"reconnect=1" in self.scope.get("query_string", b"")
        metrics.CONNECTIONS.labels(reconnect="yes" if reconnect else "no").inc()
        await self._request_snapshot()
        self.heartbeat_task = asyncio.create_task(self._heartbeats())

    async def _visibility(self) -> mbu.Visibility | None:
        token = self.scope["url_route"]["kwargs"].get("token")
        self.wallboard_pages: list[str] | None = None
        if token:
            # Guessing tokens over sockets is limited like at the wallboard page.
            address = ratelimit.client_address(ratelimit.scope_meta(self.scope))
            limit = ratelimit.WALLBOARD_PER_ADDRESS
            if await sync_to_async(limit.blocked_for)(address):
                return None
            wallboard = await database_sync_to_async(store.wallboard_for_token)(token)
            if wallboard is None:
                await sync_to_async(limit.failed)(address)
                return None
            self.wallboard_pages = list(wallboard.pages or [])
            return await database_sync_to_async(mbu.visibility_for_wallboard)(wallboard)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        return await database_sync_to_async(mbu.visibility_for)(user)

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "heartbeat_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        fanout_for(self.channel_layer).discard(self)
        if getattr(self, "counted", False):
            self.counted = False
            metrics.PAGES.dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      ) -> None:
        """The page's commands. Anything else (binary, oversized, not JSON, unknown) is
        counted and ignored: the socket stays open and nothing the page has is lost."""
        if text_data is None:
            metrics.IGNORED_FRAMES.labels(reason="binary").inc()
            return
        if len(text_data) > MAX_FRAME:
            metrics.IGNORED_FRAMES.labels(reason="too large").inc()
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            metrics.IGNORED_FRAMES.labels(reason="not json").inc()
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "resync":
            metrics.RESYNCS.labels(reason="page asked").inc()
            await self.resync()
        elif kind == "ack":
            await self._acknowledged(message.get("seq"))
        else:
            metrics.IGNORED_FRAMES.labels(reason="unknown type").inc()

    async def _acknowledged(self, seq: Any) -> None:
        if type(seq) is not int or not 0 <= seq <= self.seq:
            metrics.IGNORED_FRAMES.labels(reason="bad ack").inc()
            return
        self.acked = max(self.acked, seq)
        if self.behind_since is not None and self.acked >= self.seq:
            # Caught up with everything sent: now the latest state, in one snapshot.
            self.behind_since = None
            metrics.RESYNCS.labels(reason="caught up").inc()
            await self.resync()

    async def _fell_behind(self, *, dropped: bool = True) -> None:
        """A diff this page will not get (`dropped`; or a heartbeat while behind): it gets a
        snapshot once it catches up, or is closed if it does not within behind_close_seconds."""
        if dropped:
            metrics.DROPPED.inc()
        if self.behind_since is None:
            self.behind_since = time.monotonic()
            self.synced = False
        elif time.monotonic() - self.behind_since > self.behind_close_seconds:
            self.behind_since = None
            metrics.SLOW_CLOSED.inc()
            log.info("closing a page that stayed %d messages behind for %g s",
                     self.seq - self.acked, self.behind_close_seconds)
            await self.close(code=CLOSE_TOO_SLOW)

    async def resync(self) -> None:
        """Drop what comes until a new snapshot, and ask for one."""
        self.synced = False
        await self._request_snapshot()

    async def _request_snapshot(self) -> None:
        self.snapshot_asked = time.monotonic()
        try:
            await self.channel_layer.send(live.BRIDGE_CHANNEL, {
                "type": "snapshot.request", "reply_to": self.channel_name,
                "groups": self.groups_joined})
        except ChannelFull:
            # The bridge has that many requests waiting: this page asks again later
            # (snapshot_retry_seconds) rather than fail.
            log.warning("the bridge's request channel is full; the page asks again later")

    async def _send(self, kind: str, html: str, meta: str) -> None:
        await self.send(text_data=meta + html)

    def _set_meta(self, meta: dict[str, Any]) -> None:
        self.meta_state = meta
        self.meta_at = time.monotonic()

    def _header(self, meta: dict[str, Any]) -> str:
        """The message's leading comment, stamped with what this process knows best:
        - `build`: this process's deploy id, not the bridge's. The page's HTML (and its
          data-build) came from a process like this one, so that is what a reload would get;
        - `now`: this server's clock, for the page's timers;
        - `age`: as the bridge last reported it, plus the time since (an upper bound: the
          bridge may have heard from upstream since; and it grows when the bridge goes quiet).
        """
        meta = dict(meta, build=settings.BUILD_ID,
                    now=datetime.now(tz=UTC).isoformat(timespec="milliseconds"))
        if isinstance(meta.get("age"), int | float):
            meta["age"] = round(meta["age"] + time.monotonic() - self.meta_at, 1)
        return live.comment(meta)

    # ------------------------------------------------------------------ from the bridge
    async def live_snapshot(self, event: dict[str, Any]) -> None:
        try:
            html = await snapshot_transport.receiver.unpack(event)
        except Exception:
            log.warning("a snapshot could not be fetched; the page asks again", exc_info=True)
            return
        if html is None:
            await self._request_snapshot()  # gone from the cache meanwhile
            return
        self.seq += 1
        self.epoch = event["epoch"]
        self.versions = dict(event["versions"])
        self.synced = True
        self._set_meta(dict(event["meta"], kind="snapshot", seq=self.seq))
        await self._send("snapshot", html, self._header(self.meta_state))

    async def live_batch(self, event: dict[str, Any],
                         bodies: dict[tuple[int, ...], str] | None = None) -> None:
        """The widgets the bridge re-rendered in one coalescing window, each with its group:
        this page gets the ones of its groups, newer than what it has, in one message.

        `bodies` is shared by the pages of this process for this batch: pages that get the
        same widgets (every TV of a wallboard, supervisors with the same scope) join them
        once."""
        if self.behind_since is not None or self.seq - self.acked >= self.max_unacked:
            await self._fell_behind()
            return
        if not self.synced:
            return  # the snapshot that is on its way will include these
        epoch = event["epoch"]
        if epoch != self.epoch:
            # The bridge started over; the page will see the new epoch and ask for a snapshot.
            self.synced = False
        picked: list[int] = []
        versions, visible = self.versions, self.visible
        for index, fragment in enumerate(event["fragments"]):
            group, key, version, _, html_new = fragment[:5]
            if group not in visible:
                continue
            known = versions.get(key)
            if self.synced and known is not None and version <= known:
                continue  # already in the snapshot this page has
            if len(fragment) > 5 and fragment[5]:
                # Gone from the picture (live.delete_fragment): delete it where it is shown.
                if known is not None:
                    del versions[key]
                    picked.append(index)
                continue
            # A page that has never seen an alert has no element to replace (negative: the
            # "add to the list" form of fragment `index`).
            picked.append(-index - 1 if html_new is not None and known is None else index)
            versions[key] = version
        if not picked:
            return
        chosen = tuple(picked)
        body = bodies.get(chosen) if bodies is not None else None
        if body is None:
            body = "".join(_fragment_html(event["fragments"], i) for i in chosen)
            if bodies is not None:
                bodies[chosen] = body
        self.seq += 1
        meta = dict(self.meta_state, kind="diff", seq=self.seq, epoch=epoch)
        await self._send("diff", body, self._header(meta))

    async def live_status(self, event: dict[str, Any]) -> None:
        data = dict(event["meta"])
        if self.epoch and data.get("epoch") != self.epoch:
            # The bridge started over; the next heartbeat tells the page, which resyncs.
            self.synced = False
        self._set_meta(data)

    def _groups_for(self, visibility: mbu.Visibility) -> list[str]:
        """The groups this socket's page shows for `visibility` (a wallboard: its pages')."""
        kwargs = self.scope["url_route"]["kwargs"]
        groups = live.groups_for(visibility, kwargs.get("page", "overview"),
                                 agent_id=kwargs.get("agent_id"))
        if self.wallboard_pages is not None:
            groups = _wallboard_groups(groups, self.wallboard_pages)
        return groups

    async def _recheck(self) -> bool:
        """Is the viewer still allowed? Closes with 4401 if not (the page reloads, and lands on
        the login page); follows a changed scope with a fresh snapshot. False if closed."""
        kwargs = self.scope["url_route"]["kwargs"]
        token = kwargs.get("token")
        if token:
            visibility = await self._visibility()
        else:
            user = await database_sync_to_async(_current_user)(self.scope)
            visibility = (await database_sync_to_async(mbu.visibility_for)(user)
                          if user is not None else None)
        groups = self._groups_for(visibility) if visibility is not None else []
        if visibility is None or not groups:
            log.info("closing a live page whose viewer may no longer see it")
            await self.close(code=4401)
            return False
        if frozenset(groups) != self.visible:
            self.groups_joined = [*groups, live.STATUS_GROUP]
            self.visible = frozenset(groups)
            metrics.RESYNCS.labels(reason="scope changed").inc()
            await self.resync()
        return True

    async def _heartbeats(self) -> None:
        next_check = time.monotonic() + self.recheck_seconds
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.recheck_seconds
                if not await self._recheck():
                    return
            if self.behind_since is not None:
                # No heartbeat either: it would only queue up.
                await self._fell_behind(dropped=False)
                continue
            if (not self.synced
                    and time.monotonic() - self.snapshot_asked > self.snapshot_retry_seconds):
                # Its reply was refused or lost (a storm, Redis restarting): ask again.
                await self._request_snapshot()
            # The bridge's epoch, not ours: a page on an old epoch learns it must resync.
            meta = dict(self.meta_state, kind="heartbeat", seq=self.seq)
            meta.setdefault("epoch", self.epoch)
            await self.send(text_data=self._header(meta))


def _current_user(scope: dict[str, Any]) -> Any:
    """The socket's user as the database has it now: None once disabled, deleted, or logged
    out (its session is gone)."""
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated:
        return None
    if session is not None and not session.exists(session.session_key):
        return None
    return get_user_model().objects.filter(pk=user.pk, is_active=True).first()


def _fragment_html(fragments: list[list[Any]], index: int) -> str:
    if index >= 0:
        return str(fragments[index][3])
    html_new = fragments[-index - 1][4]
    return f'<div hx-swap-oob="afterbegin:{live.ALERTS_CONTAINER}">{html_new}</div>'


def _wallboard_groups(groups: list[str], pages: list[str]) -> list[str]:
    """A wallboard hears about queues only if it shows the overview, agents only if it shows
    the agents page: it has no element for anything else. Alerts always (new ones toast)."""
    unused = [prefix for page, prefix in (("overview", "queue."), ("agents", "agent."))
              if page not in pages]
    return [g for g in groups if not g.startswith(tuple(unused))] if unused else groups


# How often the fan-out joins its groups again (see Fanout._refresh).
FANOUT_REJOIN_SECONDS = 3600.0


class Fanout:
    """One per process and channel layer: hears every batch and status the bridge publishes,
    once, and hands them to this process's consumers.

    Before, every consumer joined one channel-layer group per entity it shows (a wallboard
    with every team: 500+), and the bridge sent one group message per changed widget. That
    made every widget change one channel-layer message per page: a queue per consumer, a
    deep copy, a task wake-up and a thread hop (channels closes old database connections
    around each handler) for every one of them, and the in-memory layer scans every group
    membership on each send and receive. 1000 wallboards at 500 changes/s meant half a million
    of those a second (docs/benchmarks.md). Now the bridge sends one batch per window to one
    group; this process's fan-out is its only member, and each consumer filters the batch by
    its own groups (what its viewer may see, as before) and sends one message.
    """

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.consumers: set[LiveConsumer] = set()
        self.task: asyncio.Task[None] | None = None
        self.ready: asyncio.Future[None] | None = None

    async def add(self, consumer: LiveConsumer) -> None:
        """Follow the bridge for `consumer`; returns once batches published from now on reach
        it (so its snapshot, asked for next, misses nothing)."""
        self.consumers.add(consumer)
        loop = asyncio.get_running_loop()
        ready = self.ready
        if (ready is None or self.task is None or self.task.done()
                or self.task.get_loop() is not loop):
            ready = self.ready = loop.create_future()
            self.task = loop.create_task(self._run(ready), name="live-fanout")
        await asyncio.shield(ready)

    def discard(self, consumer: LiveConsumer) -> None:
        self.consumers.discard(consumer)
        if not self.consumers and self.task is not None:
            # Nobody left in this process: stop listening (tests run one loop per test, too).
            self.task.cancel()
            self.task = None

    async def _run(self, ready: asyncio.Future[None]) -> None:
        layer = self.layer
        groups = (live.FRAGMENTS_GROUP, live.STATUS_GROUP)
        try:
            # The layer's default prefix: channels-redis reads every process-local channel
            # of one prefix through one shared receive loop, and a second prefix would wait
            # behind the consumers' blocking reads of the first.
            channel = await layer.new_channel()
            await self._join(channel, groups)
        except BaseException as exc:
            # The consumers waiting in add() fail to connect rather than wait for ever.
            if isinstance(exc, Exception):
                ready.set_exception(exc)
            else:
                ready.cancel()
            raise
        ready.set_result(None)
        refresh = asyncio.create_task(self._refresh(channel, groups))
        try:
            while True:
                try:
                    event = await layer.receive(channel)
                except Exception:
                    # A layer hiccup (Redis restarting) must not silence every page for good.
                    log.exception("the live fan-out could not read from the channel layer")
                    metrics.LAYER_FAILURES.inc()
                    await self._recover(channel, groups)
                    continue
                kind = event.get("type")
                if kind == "live.batch" and isinstance(event.get("at"), float):
                    metrics.FANOUT_LATENCY.observe(max(0.0, time.time() - event["at"]))
                bodies: dict[tuple[int, ...], str] = {}
                for consumer in list(self.consumers):
                    try:
                        if kind == "live.batch":
                            await consumer.live_batch(event, bodies)
                        elif kind == "live.status":
                            await consumer.live_status(event)
                    except Exception:
                        # One page's failure (a socket closing under us) is not the others'.
                        log.exception("handing %s to a page failed", kind)
        finally:
            refresh.cancel()
            for group in groups:
                with contextlib.suppress(Exception):
                    await layer.group_discard(group, channel)

    async def _recover(self, channel: str, groups: tuple[str, ...]) -> None:
        """After a layer failure: join the groups again (a restarted Redis forgot them), then
        every page takes a fresh snapshot, since batches may have been lost meanwhile."""
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._join(channel, groups)
                break
            except Exception as exc:
                log.warning("the channel layer is still unreachable (%s)", exc)
        log.info("the live fan-out reads the channel layer again; %d pages resync",
                 len(self.consumers))
        for consumer in list(self.consumers):
            metrics.RESYNCS.labels(reason="channel layer back").inc()
            try:
                await consumer.resync()
            except Exception:
                log.exception("a page could not ask for its snapshot")

    async def _refresh(self, channel: str, groups: tuple[str, ...]) -> None:
        """Channel layers forget group members after a day (group_expiry); wallboards run for
        weeks. Joining again renews the membership."""
        while True:
            await asyncio.sleep(FANOUT_REJOIN_SECONDS)
            try:
                await self._join(channel, groups)
            except Exception:
                # Unreachable right now: the reading loop notices and recovers; renew later.
                log.warning("the live fan-out could not renew its groups", exc_info=True)

    async def _join(self, channel: str, groups: tuple[str, ...]) -> None:
        for group in groups:
            await self.layer.group_add(group, channel)


_fanouts: dict[int, Fanout] = {}


def fanout_for(layer: Any) -> Fanout:
    """This process's fan-out for `layer` (the default channel layer, in practice)."""
    fanout = _fanouts.get(id(layer))
    if fanout is None or fanout.layer is not layer:
        fanout = _fanouts[id(layer)] = Fanout(layer)
    return fanout

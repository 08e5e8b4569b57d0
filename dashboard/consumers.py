"""The page's WebSocket: join the groups of what the viewer may see, snapshot, then forward.

The protocol is in docs/browser-protocol.md: every message starts with a `<!--live {...}-->`
comment carrying (epoch, seq); `seq` counts this connection's messages, so the page can spot a
message it missed and ask for a snapshot again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import live, mbu, store

log = logging.getLogger(__name__)


class LiveConsumer(AsyncWebsocketConsumer):
    heartbeat_seconds = live.HEARTBEAT_SECONDS

    async def connect(self) -> None:
        self.groups_joined: list[str] = []
        self.seq = 0
        self.epoch = ""
        self.versions: dict[str, int] = {}
        self.synced = False
        self.meta_state: dict[str, Any] = {}
        visibility = await self._visibility()
        if visibility is None:
            await self.close(code=4403)
            return
        page = self.scope["url_route"]["kwargs"].get("page", "overview")
        if page not in (*live.PAGES, "wallboard"):
            await self.close(code=4404)
            return
        # Join first, then ask for the snapshot: nothing published in between is lost, and
        # anything older than the snapshot is dropped by version below.
        self.groups_joined = [*live.groups_for(visibility, page), live.STATUS_GROUP]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self._request_snapshot()
        self.heartbeat_task = asyncio.create_task(self._heartbeats())

    async def _visibility(self) -> mbu.Visibility | None:
        token = self.scope["url_route"]["kwargs"].get("token")
        if token:
            wallboard = await database_sync_to_async(store.wallboard_for_token)(token)
            if wallboard is None:
                return None
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
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      ) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return  # the page only ever sends small JSON commands; ignore anything else
        if isinstance(message, dict) and message.get("type") == "resync":
            self.synced = False
            await self._request_snapshot()

    async def _request_snapshot(self) -> None:
        await self.channel_layer.send(live.BRIDGE_CHANNEL, {
            "type": "snapshot.request", "reply_to": self.channel_name,
            "groups": self.groups_joined})

    async def _send(self, kind: str, html: str, meta: str) -> None:
        await self.send(text_data=meta + html)

    # ------------------------------------------------------------------ from the bridge
    async def live_snapshot(self, event: dict[str, Any]) -> None:
        self.seq += 1
        self.epoch = event["epoch"]
        self.versions = dict(event["versions"])
        self.synced = True
        self.meta_state = dict(event["meta"], kind="snapshot", seq=self.seq)
        await self._send("snapshot", event["html"], live.comment(self.meta_state))

    async def live_fragment(self, event: dict[str, Any]) -> None:
        if not self.synced:
            return  # the snapshot that is on its way will include this
        if event["epoch"] != self.epoch:
            # The bridge started over; the page will see the new epoch and ask for a snapshot.
            self.synced = False
        elif event["version"] <= self.versions.get(event["key"], 0):
            return  # already in the snapshot this page has
        html = event["html"]
        if "html_new" in event and event["key"] not in self.versions:
            html = (f'<div hx-swap-oob="afterbegin:{live.ALERTS_CONTAINER}">'
                    f'{event["html_new"]}</div>')
        self.versions[event["key"]] = event["version"]
        self.seq += 1
        meta = dict(self.meta_state, kind="diff", seq=self.seq, epoch=event["epoch"])
        await self._send("diff", html, live.comment(meta))

    async def live_status(self, event: dict[str, Any]) -> None:
        data = dict(event["meta"])
        if self.epoch and data.get("epoch") != self.epoch:
            # The bridge started over; the next heartbeat tells the page, which resyncs.
            self.synced = False
        self.meta_state = data

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            # The bridge's epoch, not ours: a page on an old epoch learns it must resync.
            meta = dict(self.meta_state, kind="heartbeat", seq=self.seq)
            meta.setdefault("epoch", self.epoch)
            await self.send(text_data=live.comment(meta))


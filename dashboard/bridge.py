"""The bridge: Clarity's live feed in, rendered widgets out to the channel layer.

One bridge runs per deployment. It follows the upstream through `integrations.clarity`
(feed + merge), coalesces changes per entity over a short window so that rendering cost follows
the number of changed entities rather than the number of diffs, publishes each changed widget to
its entity's group, answers consumers' snapshot requests, and persists what must outlive a
restart (the MBU structure, current statuses, status history, alerts, a queue sample a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig
from integrations.clarity.errors import ClarityError
from integrations.clarity.live import (
    ClarityClientSubscriptionApi,
    FeedEvent,
    FeedMessage,
    LiveFeed,
    default_plan,
)
from integrations.clarity.merge import ApplyStatus, EntityKey, parse_timestamp
from integrations.genesys.client import GenesysClient

from . import (
    actions,
    ccai_sessions,
    genesys,
    integration_alerts,
    live,
    mbu,
    onecloud,
    snapshot_transport,
    sparklines,
    store,
)
from .live import BRIDGE_CHANNEL, STATUS_GROUP, LiveState
from .rule_notifications import CrossingWatch, tiles_of

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.05
SAMPLE_SECONDS = 60.0
# Admins edit threshold rules in another process: the bridge looks for changes this often.
THRESHOLD_RELOAD_SECONDS = 10.0
ALERT_EXPIRY_SECONDS = 60.0
# How often queues are checked against the threshold rules that notify an agent.
RULE_NOTIFY_SECONDS = 5.0
# How often the other platforms' alerts are worked out (their APIs are asked less often).
INTEGRATIONS_SECONDS = 15.0


class Bridge:
    def __init__(self, config: ClarityConfig, *, layer: BaseChannelLayer | None = None,
                 state: LiveState | None = None, build: str = "",
                 feed_options: dict[str, Any] | None = None) -> None:
        self.config = config
        self.layer = layer or get_channel_layer()
        self.snapshot_sender = snapshot_transport.Sender(self.layer)
        self.upstream_clock: datetime | None = None
        self.state = state or LiveState(build=build)
        self.feed: LiveFeed | None = None
        self.feed_options = feed_options or {}
        self._dirty: set[EntityKey] = set()
        self._wake = asyncio.Event()
        # What changed since the last persist, by id: read from the picture once per second
        # at persist time, not on every diff.
        self._pending_agents: set[int] = set()
        self._pending_alerts: set[int] = set()
        self.published = 0
        self.updates = 0
        self.crossings = CrossingWatch()
        self.own_alerts = integration_alerts.OwnAlerts()
        self.started = datetime.now(tz=UTC)
        self._genesys: GenesysClient | None = None
        self._genesys_checked = 0.0
        # CCAI metadata files that could not be read, until they change (name -> mtime).
        self._ccai_refused: dict[str, float] = {}
        # Chat probes under way, by entry point: one at a time each.
        self._probing: dict[int, asyncio.Task[Any]] = {}
        # Notifications under way (held so that they are not collected mid-send).
        self._notifying: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ running
    async def run(self) -> None:
        async with ClarityClient(self.config) as client:
            structure = await client.mbu()
            await sync_to_async(mbu.sync_mbu)(structure)
            self.state.acks.update(await sync_to_async(store.load_acknowledgements)())
            self.state.names = _names(structure)
            self.state.labels = await self.fetch_labels(client)
            self.state.thresholds = await sync_to_async(store.load_thresholds)()
            await self.refresh_sparklines()
            self.feed = LiveFeed(self.config.hub_url, client.tokens,
                                 ClarityClientSubscriptionApi(client), default_plan(structure),
                                 on_message=self._on_message, on_event=self._on_event,
                                 **self.feed_options)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.feed.run(), name="bridge-feed")
                tasks.create_task(self._publish_loop(), name="bridge-publish")
                tasks.create_task(self._serve_snapshots(), name="bridge-snapshots")
                tasks.create_task(self._persist_loop(), name="bridge-persist")
                tasks.create_task(self._status_loop(), name="bridge-status")

    # ------------------------------------------------------------------ feed side
    def _on_message(self, message: FeedMessage) -> None:
        if message.restart in ("reconnect", "resync") and message.is_snapshot:
            # The stream restarted: pages take a fresh snapshot instead of trusting diffs.
            self.state.new_epoch()
        result = self.state.picture.apply(message)
        self.updates += 1
        # The upstream's clock (a simulator may run it faster): what alert ages count in.
        try:
            stamp = parse_timestamp(str(message.payload.get("timestamp") or ""))
        except ValueError:
            stamp = None
        if stamp is not None and (self.upstream_clock is None or stamp > self.upstream_clock):
            self.upstream_clock = stamp
        self.state.upstream_ok = True
        self.state.last_update = time.time()
        if result is None or result.status is ApplyStatus.GAP:
            # A message the merge refused (logged and counted there) or one that left a gap:
            # that stream's picture cannot be trusted until a fresh snapshot of it.
            if self.feed is not None:
                self.feed.resync(message.subscription_id, "malformed message" if result is None
                                 else "gap in the merged picture")
            return
        self._dirty.update(result.changed)
        for key in result.changed:
            if key[0] == "agent":
                self._pending_agents.add(int(key[1]))
            elif key[0] == "alert":
                self._pending_alerts.add(int(key[1]))
        self._wake.set()

    def _on_event(self, event: FeedEvent) -> None:
        if event.kind in ("disconnected", "stall", "connect_failed", "unauthorized"):
            if self.state.upstream_ok:
                self.state.upstream_ok = False
                self.state.upstream_since = time.time()
            log.warning("Clarity feed: %s %s", event.kind, event.detail)
        elif event.kind == "connected":
            log.info("Clarity feed connected")

    # ------------------------------------------------------------------ publishing
    async def _publish_loop(self) -> None:
        while True:
            await self._wake.wait()
            # Coalesce: a burst of diffs for one entity becomes one render.
            await asyncio.sleep(COALESCE_SECONDS)
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            try:
                await self.publish(dirty)
            except Exception:
                await self._layer_failed("publishing", dirty)

    async def publish(self, keys: Iterable[EntityKey]) -> int:
        """Render each changed widget once and send them all, with their groups, as one batch:
        one channel-layer message per window, whatever the number of pages (each process's
        consumers.Fanout hands every page the widgets of its groups). Returns how many."""
        fragments: list[list[Any]] = []
        # With an agent, its panel when an agent page shows it (LiveState.widget_keys).
        for key in self.state.widget_keys(keys):
            group = self.state.route(key)
            if group is None:
                continue
            html = self.state.render(key, oob=True)
            if not html:
                continue
            # A page that has never seen an alert has no element to replace: the consumer
            # adds it to the list instead.
            html_new = self.state.render(key, oob=False) if key[0] == "alert" else None
            fragments.append([group, live.wire_key(key), self.state.version(key), html,
                              html_new])
        if fragments:
            # `at`: for the workers' fan-out latency histogram (dashboard.metrics).
            await self.layer.group_send(live.FRAGMENTS_GROUP, {
                "type": "live.batch", "epoch": self.state.epoch, "fragments": fragments,
                "at": time.time()})
        self.published += len(fragments)
        return len(fragments)

    async def _layer_failed(self, doing: str, keys: Iterable[EntityKey] = ()) -> None:
        """The channel layer failed (Redis restarting): what was not published is published
        again later, and a new epoch makes every page take a fresh snapshot once the layer is
        back, since it may have missed messages meanwhile."""
        log.exception("%s to the channel layer failed; trying again in 1 s", doing)
        self.state.new_epoch()
        self._dirty.update(keys)
        await asyncio.sleep(1.0)
        self._wake.set()

    async def _serve_snapshots(self) -> None:
        """Consumers ask for a snapshot of their groups; answer on their own channel. The
        acknowledge view reports acknowledgements here too (it may run in another process)."""
        while True:
            try:
                request = await self.layer.receive(BRIDGE_CHANNEL)
            except Exception:
                await self._layer_failed("reading requests")
                continue
            kind = request.get("type")
            try:
                if kind == "snapshot.request":
                    reply = await self.snapshot(request["groups"])
                    await self.layer.send(request["reply_to"], reply)
                elif kind == "health.request":
                    await self.layer.send(request["reply_to"], self.health())
                elif kind == "alert.acknowledged":
                    await self.acknowledged(int(request["alert_id"]), str(request["by"]),
                                            str(request["at"]))
            except ChannelFull:
                # The page's worker has too many replies waiting: the page asks again
                # (LiveConsumer.snapshot_retry_seconds).
                log.warning("%s refused: the page's worker has a full channel", kind)
            except Exception:
                # A consumer that went away, or a bad request, must not stop the bridge.
                log.exception("%s failed", kind)

    def health(self) -> dict[str, Any]:
        """For /healthz/ and /metrics/ (dashboard.health), which any worker may serve."""
        state = self.state
        return {"type": "health.reply", "upstream_ok": state.upstream_ok,
                "since": None if state.upstream_ok else live.iso_time(state.upstream_since),
                "age": round(time.time() - state.last_update, 1) if state.last_update else None,
                "epoch": state.epoch, "updates": self.updates, "published": self.published,
                "malformed": state.picture.malformed}

    async def acknowledged(self, alert_id: int, by: str, at: str) -> None:
        """Every page showing the alert shows it acknowledged, now and in later renders."""
        key = self.state.acknowledge(alert_id, by, at)
        await self.publish([key])

    async def snapshot(self, groups: Iterable[str]) -> dict[str, Any]:
        html, versions = self.state.snapshot(groups)
        # Read before storing the HTML: the epoch may change while it is stored.
        reply = {"type": "live.snapshot", "epoch": self.state.epoch, "versions": versions,
                 "meta": self.state.meta("snapshot", 0)}
        return {**reply, **await self.snapshot_sender.pack(html)}

    async def _status_loop(self) -> None:
        """Every consumer's heartbeat carries the bridge's epoch and the upstream's health."""
        while True:
            seen = (self.state.epoch, self.state.upstream_ok)
            try:
                await self.layer.group_send(STATUS_GROUP, {
                    "type": "live.status", "meta": self.state.meta("heartbeat", 0)})
            except Exception:
                await self._layer_failed("sending the status")
                continue
            # Quick after a change (a new epoch, the upstream lost), otherwise every 5 s.
            for _ in range(50):
                await asyncio.sleep(0.1)
                if (self.state.epoch, self.state.upstream_ok) != seen:
                    break

    # ------------------------------------------------------------------ persistence
    async def _persist_loop(self) -> None:
        next_sample = time.monotonic() + SAMPLE_SECONDS
        # Less frequent upkeep: (every so many seconds, what, what it is for the log).
        jobs: list[tuple[float, Callable[[], Awaitable[int]], str]] = [
            (THRESHOLD_RELOAD_SECONDS, self.reload_thresholds, "reloading the threshold rules"),
            (ALERT_EXPIRY_SECONDS, self.expire_alerts, "expiring old alerts"),
            (RULE_NOTIFY_SECONDS, self.notify_crossings, "notifying threshold crossings"),
            (INTEGRATIONS_SECONDS, self.check_integrations, "checking the other platforms"),
            (ccai_sessions.INGEST_SECONDS, self.ingest_ccai, "reading CCAI session metadata"),
        ]
        due = [time.monotonic() + every for every, _, _ in jobs]
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.persist(sample=time.monotonic() >= next_sample)
            except Exception:
                log.exception("persisting the live picture failed")
            if time.monotonic() >= next_sample:
                next_sample = time.monotonic() + SAMPLE_SECONDS
            for index, (every, job, doing) in enumerate(jobs):
                if time.monotonic() >= due[index]:
                    due[index] = time.monotonic() + every
                    try:
                        await job()
                    except Exception:
                        log.exception("%s failed", doing)

    async def expire_alerts(self) -> int:
        """Alerts cleared over settings.ALERT_KEEP_HOURS ago (by the upstream's clock) leave
        the live picture, and pages that show one delete it: a wallboard that runs for weeks
        would otherwise keep every alert since it started (the database keeps them for the
        alerts page). Returns how many."""
        now = self.upstream_clock or datetime.now(tz=UTC)
        expired = self.state.expire_alerts(now - timedelta(hours=settings.ALERT_KEEP_HOURS))
        if expired:
            await self.layer.group_send(live.FRAGMENTS_GROUP, {
                "type": "live.batch", "epoch": self.state.epoch, "at": time.time(),
                "fragments": [live.delete_fragment(key, group, self.state.version(key))
                              for key, group in expired]})
        return len(expired)

    async def persist(self, *, sample: bool = False) -> None:
        """Store what changed since the last call: only the agents and alerts that changed
        are read from the picture (at 500 changes/s, copying every agent each second on the
        event loop delayed every page; docs/benchmarks.md), and they are written in one
        thread hop."""
        picture = self.state.picture.picture
        agent_ids, self._pending_agents = self._pending_agents, set()
        alert_ids, self._pending_alerts = self._pending_alerts, set()
        statuses: dict[int, Any] = {}
        history: dict[int, list[Any]] = {}
        for agent_id in agent_ids:
            item = picture.get(("agent", agent_id))
            if item is None:
                continue
            statuses[agent_id] = item.get("currentStatus") or {}
            if item.get("statusHistory"):
                history[agent_id] = item["statusHistory"]
        alerts = [item for item in (picture.get(("alert", a)) for a in alert_ids)
                  if item is not None]
        if statuses or alerts:
            try:
                await sync_to_async(_save_changes)(statuses, history, alerts)
            except BaseException:
                # Not stored: try them again at the next persist rather than lose them.
                self._pending_agents |= agent_ids
                self._pending_alerts |= alert_ids
                raise
        if sample:
            now = datetime.now(tz=UTC)
            rows = [(qid, modality, now, bag) for qid, item in picture.queues().items()
                    for modality, bag in (item.get("metrics") or {}).items()
                    if modality != "agnostic"]
            await sync_to_async(store.save_queue_samples)(rows)
            await self.refresh_sparklines(publish=True)

    # ------------------------------------------------------------------ what tiles draw on
    async def fetch_labels(self, client: ClarityClient) -> dict[str, str]:
        """Clarity's labels for settings.CLARITY_LOCALE, stored for the other processes' first
        renders. Without them (an unknown locale, an older server) the dashboard still runs:
        the labels stored last time, else its own."""
        locale = settings.CLARITY_LOCALE
        try:
            strings = await client.localization(locale)
        except ClarityError as exc:
            log.warning("Clarity's %s labels could not be fetched (%s); using the stored or "
                        "the built-in ones", locale, exc)
            return await sync_to_async(store.load_labels)(locale)
        await sync_to_async(store.save_labels)(locale, strings)
        return strings

    def _queue_keys(self) -> list[EntityKey]:
        return [key for key in self.state.picture.picture.entity_keys() if key[0] == "queue"]

    def _republish(self, keys: list[EntityKey]) -> None:
        """Re-render widgets the upstream did not change, through the usual publish loop."""
        if keys:
            self.state.touch(keys)
            self._dirty.update(keys)
            self._wake.set()

    async def reload_thresholds(self) -> int:
        """Take the threshold rules as admins left them; re-publish the queues whose levels
        that changes. Returns how many."""
        rules = await sync_to_async(store.load_thresholds)()
        if rules == self.state.thresholds:
            return 0
        old, self.state.thresholds = self.state.thresholds, rules
        now = datetime.now(tz=UTC)
        picture = self.state.picture.picture
        changed = []
        for key in self._queue_keys():
            item = picture.get(key, copy=False) or {}
            if (live.queue_levels(int(key[1]), item, old, now)
                    != live.queue_levels(int(key[1]), item, rules, now)):
                changed.append(key)
        self._republish(changed)
        return len(changed)

    async def notify_crossings(self) -> int:
        """Send each threshold rule's OpenMethods event for the queues that have just reached
        its critical level (dashboard.rule_notifications). The sends run in the background, so
        a slow OpenMethods does not hold the persist loop. Returns how many were started."""
        if settings.OPENMETHODS is None or not self.state.upstream_ok:
            return 0  # a stale picture is no reason to page anyone
        picture = self.state.picture.picture
        queues = [(int(key[1]), self.state.names.get(f"queue.{key[1]}", f"Queue {key[1]}"),
                   picture.get(key, copy=False) or {}) for key in self._queue_keys()]
        crossings = self.crossings.check(self.state.thresholds, tiles_of(queues),
                                         datetime.now(tz=UTC))
        for crossing in crossings:
            rule = crossing.rule
            if rule.notify_agent_id is None:
                continue
            task = asyncio.create_task(actions.notify_for_rule(
                rule.name, rule.notify_agent_id, settings.OPENMETHODS,
                event=rule.notify_event, properties=crossing.properties()))
            self._notifying.add(task)
            task.add_done_callback(self._notifying.discard)
        return len(crossings)

    async def check_integrations(self) -> int:
        """Ask the other platforms how they are (Genesys: its API every CHECK_SECONDS;
        OneCloud: start the chat probes that are due, in the background) and raise or clear
        the dashboard's own alerts about them, merged into the live picture like Clarity's.
        Returns how many alert items changed."""
        now = datetime.now(tz=UTC)
        items: list[dict[str, Any]] = []
        config = settings.GENESYS
        if config is not None:
            if time.monotonic() - self._genesys_checked >= genesys.CHECK_SECONDS:
                self._genesys_checked = time.monotonic()
                if self._genesys is None:
                    self._genesys = GenesysClient(config)
                healthy, detail = await genesys.check(self._genesys)
                await sync_to_async(genesys.save_check)(healthy, detail, now=now)
            items += await sync_to_async(genesys.alerts)(config, now=now,
                                                         watching_since=self.started)
        for row in await sync_to_async(onecloud.due)(now):
            if row.pk not in self._probing:
                self._probing[row.pk] = task = asyncio.create_task(
                    onecloud.run_probe(row, now=now))
                task.add_done_callback(self._probe_done)
        items += await sync_to_async(onecloud.alerts)(now)
        message = self.own_alerts.message(items, now)
        if message is None:
            return 0
        result = self.state.picture.picture.apply(message)
        self._dirty.update(result.changed)
        self._pending_alerts.update(int(key[1]) for key in result.changed if key[0] == "alert")
        self._wake.set()
        return len(result.changed)

    async def ingest_ccai(self) -> int:
        """Read the CCAI session metadata files that are new or changed in CCAI_STORAGE_DIR;
        returns how many were stored."""
        if not settings.CCAI_STORAGE_DIR:
            return 0
        done = await sync_to_async(ccai_sessions.ingest)(Path(settings.CCAI_STORAGE_DIR),
                                                         self._ccai_refused)
        return done.new + done.updated

    def _probe_done(self, task: asyncio.Task[Any]) -> None:
        for pk, running in list(self._probing.items()):
            if running is task:
                del self._probing[pk]
        if not task.cancelled() and task.exception() is not None:
            log.error("a chat probe failed", exc_info=task.exception())

    async def refresh_sparklines(self, *, publish: bool = False) -> None:
        """The last hour of samples, for the tiles' sparklines; with `publish`, every queue's
        tiles are re-published to draw the new minute."""
        since = datetime.now(tz=UTC) - sparklines.WINDOW
        self.state.sparklines = await sync_to_async(store.sparklines)(
            live.SPARKLINE_METRIC, since)
        if publish:
            self._republish(self._queue_keys())


def _save_changes(statuses: dict[int, Any], history: dict[int, list[Any]],
                  alerts: list[dict[str, Any]]) -> None:
    store.save_agent_statuses(statuses)
    for agent_id, entries in history.items():
        store.save_status_history(agent_id, entries)
    if alerts:
        store.save_alerts(alerts)


def _names(structure: Any) -> dict[str, str]:
    """What the live items do not carry: display names (queue names on tiles, teams of agents)
    and where each agent sits (`agent-team.<id>`, `agent-groups.<id>` as space-separated ids,
    `agent-unit.<id>`), which agent rows carry so the agents page can filter them."""
    names: dict[str, str] = {}
    teams = {t.id: t.name for t in structure.teams}
    for queue in structure.queues:
        names[f"queue.{queue.id}"] = queue.name or f"Queue {queue.id}"
    for agent_id, where in mbu.agent_memberships(structure).items():
        if where.team_id is None:
            continue
        names[f"team-of-agent.{agent_id}"] = teams[where.team_id] or ""
        names[f"agent-team.{agent_id}"] = str(where.team_id)
        names[f"agent-groups.{agent_id}"] = " ".join(str(g) for g in where.group_ids)
        if where.business_unit_id is not None:
            names[f"agent-unit.{agent_id}"] = str(where.business_unit_id)
    for team in structure.teams:
        names[f"team.{team.id}"] = team.name or ""
    for group in structure.groups:
        names[f"group.{group.id}"] = group.name or ""
    for unit in structure.business_units:
        names[f"businessUnit.{unit.id}"] = unit.name or ""
    return names


async def run_bridge(config: ClarityConfig, **kwargs: Any) -> None:
    bridge = Bridge(config, **kwargs)
    with contextlib.suppress(asyncio.CancelledError):
        await bridge.run()

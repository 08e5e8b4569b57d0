"""Following a Clarity server's live data: the merged picture, and checking it against REST.

`LivePicture` ties the feed to the merge: when a subscription's stream restarts under a new id
(reconnect, resync, renewal) the old id's state is forgotten before the new snapshot lands.
`watch()` runs the feed for a while (what `manage.py clarity_watch` shows) and `verify()` compares
the merged picture with what the REST metrics say, the check behind `clarity_watch --verify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import wire
from .client import ClarityClient
from .config import ClarityConfig
from .live import (
    ClarityClientSubscriptionApi,
    FeedEvent,
    FeedMessage,
    LiveFeed,
    SubscriptionSpec,
    default_plan,
)
from .merge import ApplyResult, MergeError, Picture

log = logging.getLogger(__name__)


class LivePicture:
    """The merged picture of a feed's messages, across stream restarts."""

    def __init__(self) -> None:
        self.picture = Picture()
        self._current: dict[SubscriptionSpec, str] = {}
        self.malformed = 0

    def apply(self, message: FeedMessage) -> ApplyResult | None:
        previous = self._current.get(message.spec)
        if previous is not None and previous != message.subscription_id:
            # The stream restarted under a new subscription: the new snapshot replaces it all.
            self.picture.forget(previous)
        self._current[message.spec] = message.subscription_id
        try:
            return self.picture.apply(message.payload)
        except MergeError as exc:
            # The feed already checked the framing; a bad item is logged and counted, and the
            # next diff of that subscription shows up as a gap, which the feed repairs.
            self.malformed += 1
            log.warning("Clarity: malformed %s message %s: %s", message.spec.kind,
                        message.sequence, exc)
            return None


@dataclass
class WatchSummary:
    seconds: float
    snapshots: int = 0
    diffs: int = 0
    resyncs: int = 0
    reconnects: int = 0
    renewals: int = 0
    stalls: int = 0
    malformed: int = 0
    entities: dict[str, int] = field(default_factory=dict)
    differences: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seconds": round(self.seconds, 1), "snapshots": self.snapshots, "diffs": self.diffs,
            "resyncs": self.resyncs, "reconnects": self.reconnects, "renewals": self.renewals,
            "stalls": self.stalls, "malformed": self.malformed, "entities": self.entities,
        }
        if self.differences is not None:
            out["verified"] = not self.differences
            out["differences"] = self.differences
        return out


def describe(message: FeedMessage) -> dict[str, Any]:
    """One line of `clarity_watch` output for a message."""
    kinds: dict[str, int] = {}
    for item in message.items:
        if isinstance(item, Mapping):
            if item.get("groupType"):
                kind = "group"
            elif "id" in item:
                kind = str(item.get("type") or "entity")
            else:
                kind = "aggregate"
            kinds[kind.lower()] = kinds.get(kind.lower(), 0) + 1
    return {
        "subscription": message.spec.label, "type": message.payload.get("subscriptionType"),
        "sequence": message.sequence, "snapshot": message.is_snapshot,
        "restart": message.restart, "items": kinds,
    }


async def watch(config: ClarityConfig, seconds: float, *,
                on_message: Callable[[FeedMessage], None] | None = None,
                on_event: Callable[[FeedEvent], None] | None = None,
                verify: bool = False, plan: Iterable[SubscriptionSpec] | None = None,
                feed_options: Mapping[str, Any] | None = None) -> WatchSummary:
    """Follow the live feed for `seconds`, then (optionally) verify it against REST."""
    live = LivePicture()

    def handle(message: FeedMessage) -> None:
        live.apply(message)
        if on_message is not None:
            on_message(message)

    started = time.monotonic()
    async with ClarityClient(config) as client:
        specs = list(plan) if plan is not None else default_plan(await client.mbu())
        feed = LiveFeed(config.hub_url, client.tokens, ClarityClientSubscriptionApi(client),
                        specs, on_message=handle, on_event=on_event, **(feed_options or {}))
        task = asyncio.create_task(feed.run())
        try:
            await asyncio.sleep(seconds)
            summary = WatchSummary(seconds=time.monotonic() - started)
            if verify:
                # Give a feed that is reconnecting the time to catch up before judging it.
                deadline = time.monotonic() + 30
                while not feed.is_synced() and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)  # the feed offers no event for "synced"
                summary.differences = await verify_picture(client, live.picture)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    stats = feed.stats
    summary.seconds = time.monotonic() - started
    summary.snapshots, summary.diffs, summary.resyncs = stats.snapshots, stats.diffs, stats.resyncs
    summary.reconnects, summary.renewals, summary.stalls = (stats.reconnects, stats.renewals,
                                                            stats.stalls)
    summary.malformed = live.malformed + stats.malformed
    picture = live.picture
    summary.entities = {"agents": len(picture.agents()), "queues": len(picture.queues()),
                        "groups": len(picture.groups()),
                        "aggregates": len(picture.aggregates()),
                        "alerts": len(picture.alerts())}
    return summary


# ---------------------------------------------------------------------- verification
def comparable(item: Mapping[str, Any]) -> dict[str, Any]:
    """What a live item and a REST answer must agree on: metrics (less the clock-driven ones),
    the current status, and which sessions each modality holds."""
    metrics = {
        modality: {name: value for name, value in bag.items()
                   if name.lower() not in wire.CLOCK_DRIVEN_METRICS}
        for modality, bag in (item.get("metrics") or {}).items() if isinstance(bag, Mapping)
    }
    sessions = {
        modality: sorted(session_id for s in bag.get("sessions", [])
                         if isinstance(s, Mapping)
                         and (session_id := s.get("sessionId")) is not None)
        for modality, bag in (item.get("sessions") or {}).items() if isinstance(bag, Mapping)
    }
    return {"metrics": metrics, "currentStatus": item.get("currentStatus"),
            "sessions": {m: ids for m, ids in sessions.items() if ids}}


def _differences(kind: str, live: Mapping[int, Mapping[str, Any]],
                 rest: Iterable[Any]) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    by_id = {item.get("id"): item for item in rest if isinstance(item, Mapping)}
    for entity_id, item in live.items():
        answer = by_id.get(entity_id)
        if answer is None:
            found[(kind, entity_id)] = f"{kind} {entity_id}: missing from the REST answer"
            continue
        mine, theirs = comparable(item), comparable(answer)
        if mine != theirs:
            parts = [part for part in mine if mine[part] != theirs[part]]
            found[(kind, entity_id)] = f"{kind} {entity_id}: {', '.join(parts)} differ"
    return found


async def verify_picture(client: ClarityClient, picture: Picture, *, attempts: int = 6,
                         pause: float = 0.5) -> list[str]:
    """Differences between the merged picture and REST that persist over several reads.

    The upstream keeps changing while we compare, so one read can catch an update in flight.
    A difference counts only if the same entity still differs on every one of `attempts`
    reads, each taken against the picture as it is by then (the feed keeps merging meanwhile).
    """
    suspects: dict[tuple[str, int], str] | None = None
    for attempt in range(attempts):
        agents, queues = picture.agents(), picture.queues()
        found: dict[tuple[str, int], str] = {}
        if agents:
            rest = await client.request(wire.metrics(
                "agents", "many", selection=wire.Selection.of(agent_ids=sorted(agents))))
            found.update(_differences("agent", agents, rest))
        if queues:
            rest = await client.request(wire.metrics(
                "queues", "many", selection=wire.Selection.of(queue_ids=sorted(queues))))
            found.update(_differences("queue", queues, rest))
        suspects = found if suspects is None else {k: v for k, v in found.items()
                                                   if k in suspects}
        if not suspects:
            return []
        if attempt < attempts - 1:
            await asyncio.sleep(pause)
    return sorted((suspects or {}).values())

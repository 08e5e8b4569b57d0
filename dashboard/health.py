"""What /healthz/ reports: the database, the channel layer, the bridge and the upstream.

Any worker answers for the whole deployment: it asks the bridge over the channel layer (the
bridge may run in another process, or in this one in the demo), so a probe of one worker tells
whether pages anywhere are getting current numbers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

from .live import BRIDGE_CHANNEL

# Data older than this while the upstream is "connected" means the feed is stuck.
STALE_AFTER_SECONDS = 60.0
# How long a probe waits for the bridge, and for its own message through the layer.
ANSWER_SECONDS = 2.0


async def bridge_status() -> dict[str, Any] | None:
    """The bridge's own report (Bridge.health), or None if it does not answer in time."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(BRIDGE_CHANNEL, {"type": "health.request", "reply_to": channel})
    try:
        return dict(await asyncio.wait_for(layer.receive(channel), ANSWER_SECONDS))
    except TimeoutError:
        return None


async def _layer_ok() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    await asyncio.wait_for(layer.receive(channel), ANSWER_SECONDS)


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def check() -> tuple[int, dict[str, Any]]:
    """(HTTP status, report). 503 only when this worker cannot work (no database or channel
    layer): an upstream outage is "degraded", shown on every page as stale, and restarting
    the dashboard would not cure it."""
    report: dict[str, Any] = {}
    failing = False
    for name, probe in (("database", sync_to_async(_database_ok)), ("channel_layer", _layer_ok)):
        try:
            await probe()
            report[name] = "ok"
        except Exception as exc:
            report[name] = f"failing: {type(exc).__name__}"
            failing = True
    bridge = None if failing else await bridge_status()
    degraded = False
    if bridge is None:
        report["bridge"] = "not answering"
        degraded = True
    else:
        report["bridge"] = "ok"
        report["upstream"] = "connected" if bridge.get("upstream_ok") else "down"
        report["upstream_down_since"] = bridge.get("since")
        report["last_update_age"] = bridge.get("age")
        report["epoch"] = bridge.get("epoch")
        age = bridge.get("age")
        degraded = not bridge.get("upstream_ok") or age is None or age > STALE_AFTER_SECONDS
    report["status"] = "failing" if failing else "degraded" if degraded else "ok"
    return (503 if failing else 200), report

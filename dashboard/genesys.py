"""Watching a Genesys Cloud Open Messaging integration (integrations/genesys).

Three sources make one tile:

- the webhook (`receive`, called by the view): every delivery Genesys posts is checked
  (signature, freshness, not seen before) and counted in its minute (IntegrationMinute);
  refused ones are counted too, as "rejected";
- the public API (`check`, called by the bridge every CHECK_SECONDS): the integration's own
  state (IntegrationStatus);
- the clock: during the configured opening hours, no message for `quiet_minutes` is an alert.

    receive(config, body, signature, now=...) -> Received       # sync: the database
    await check(client) -> (healthy, detail)                     # the public API
    save_check(healthy, detail, now=...)                         # sync: IntegrationStatus
    tile(config, now=..., watching_since=None) -> Tile           # sync: what the page shows
    alerts(config, now=..., watching_since=None) -> list[dict]   # the dashboard's own alerts

Replays: a delivery's body is remembered (by digest, in the cache, which Redis shares between
processes) for the webhook's freshness window, so the same signed body is taken once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum

from integrations.genesys.client import GenesysClient, GenesysConfig
from integrations.genesys.errors import GenesysError, WebhookRejected
from integrations.genesys.webhook import CLOCK_SKEW, REPLAY_WINDOW, Delivery, read_delivery

from . import integration_alerts
from .models import IntegrationMinute, IntegrationStatus

NAME = "genesys"
CHECK_SECONDS = 60.0
# The tile's history: messages per minute over the last hour (its sparkline).
HISTORY_MINUTES = 60
_SEEN = "genesys-webhook-seen:"


@dataclass(frozen=True)
class Received:
    """What the webhook answers: `status` 200 taken, else why not (`reason`)."""

    status: int
    reason: str = ""
    delivery: Delivery | None = None


def receive(config: GenesysConfig, body: bytes, signature: str | None, *,
            now: datetime) -> Received:
    try:
        delivery = read_delivery(config.signing_secret, body, signature, now=now)
    except WebhookRejected as exc:
        _count(now, rejected=1)
        return Received(exc.status or 400, exc.message)
    # cache.add is atomic (Redis SET NX): of two processes given the same body, one wins.
    if not cache.add(_SEEN + delivery.replay_key, 1, timeout=_seconds(REPLAY_WINDOW + CLOCK_SKEW)):
        _count(now, rejected=1)
        return Received(409, "this delivery was already taken (a replay)")
    _count(now, messages=1, failures=1 if delivery.failed else 0)
    status, _ = IntegrationStatus.objects.get_or_create(integration=NAME)
    # Two processes may take deliveries at once: the later time wins, whoever writes last.
    IntegrationStatus.objects.filter(pk=status.pk).filter(
        Q(last_message_at__isnull=True) | Q(last_message_at__lt=now)).update(last_message_at=now)
    return Received(200, delivery=delivery)


def _count(now: datetime, **counts: int) -> None:
    minute = now.replace(second=0, microsecond=0)
    rows = IntegrationMinute.objects.filter(integration=NAME, minute=minute)
    added = {name: F(name) + value for name, value in counts.items()}
    if rows.update(**added):
        return
    try:
        with transaction.atomic():
            IntegrationMinute.objects.create(integration=NAME, minute=minute, **counts)
    except IntegrityError:
        # Another process made the minute's row just now: add to it.
        rows.update(**added)


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


async def check(client: GenesysClient) -> tuple[bool, str]:
    """Ask the public API how the integration is; (healthy, what to show)."""
    try:
        integration = await client.integration()
    except GenesysError as exc:
        return False, f"Genesys Cloud: {exc.message}"
    if integration.healthy:
        return True, f"{integration.name or integration.id}: {integration.create_status or 'ok'}"
    problem = integration.create_error or integration.status or integration.create_status
    return False, f"{integration.name or integration.id}: {problem}"


def save_check(healthy: bool, detail: str, *, now: datetime) -> None:
    IntegrationStatus.objects.update_or_create(
        integration=NAME, defaults={"healthy": healthy, "detail": detail[:500],
                                    "checked_at": now})


@dataclass(frozen=True)
class Tile:
    """The Genesys tile: traffic, its age, failures and the integration's state."""

    per_minute: tuple[int, ...]  # oldest first, the current minute last
    failures_hour: int
    rejected_hour: int
    last_message_at: datetime | None
    last_message_age: float | None  # seconds
    healthy: bool | None
    detail: str
    checked_at: datetime | None
    open_now: bool
    quiet: bool  # open, and no message for quiet_minutes

    @property
    def level(self) -> str:
        if self.quiet or self.healthy is False:
            return "critical"
        if self.failures_hour or self.rejected_hour:
            return "warning"
        return "ok"

    @property
    def last_minute(self) -> int:
        return self.per_minute[-2] if len(self.per_minute) > 1 else 0


def tile(config: GenesysConfig, *, now: datetime,
         watching_since: datetime | None = None) -> Tile:
    """The tile at `now`. With no message ever, traffic counts as quiet only once the watcher
    (the bridge, `watching_since`) has waited quiet_minutes itself: a dashboard just started
    has not missed anything yet."""
    minute = now.replace(second=0, microsecond=0)
    start = minute - timedelta(minutes=HISTORY_MINUTES - 1)
    counts = dict(IntegrationMinute.objects.filter(
        integration=NAME, minute__gte=start).values_list("minute", "messages"))
    hour = IntegrationMinute.objects.filter(
        integration=NAME, minute__gt=minute - timedelta(hours=1)).aggregate(
        failures=Sum("failures"), rejected=Sum("rejected"))
    status = IntegrationStatus.objects.filter(integration=NAME).first()
    last = status.last_message_at if status else None
    open_now = is_open(config, now)
    reference = last or watching_since
    quiet = (open_now and reference is not None
             and now - reference >= timedelta(minutes=config.quiet_minutes))
    return Tile(
        per_minute=tuple(counts.get(start + timedelta(minutes=i), 0)
                         for i in range(HISTORY_MINUTES)),
        failures_hour=hour["failures"] or 0, rejected_hour=hour["rejected"] or 0,
        last_message_at=last,
        last_message_age=(now - last).total_seconds() if last else None,
        healthy=status.healthy if status else None, detail=status.detail if status else "",
        checked_at=status.checked_at if status else None, open_now=open_now, quiet=quiet)


def is_open(config: GenesysConfig, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    return config.hours.is_open(local.weekday(), local.time())


def alerts(config: GenesysConfig, *, now: datetime,
           watching_since: datetime | None = None) -> list[dict[str, Any]]:
    """The dashboard's own alerts for this integration, as alert items (active or cleared)."""
    shown = tile(config, now=now, watching_since=watching_since)
    # Words that stay the same while the alert lasts (a changed message is a new publish).
    last = (f"the last one came at {shown.last_message_at:%Y-%m-%d %H:%M} UTC"
            if shown.last_message_at else "none since the dashboard started watching")
    return [
        integration_alerts.item(
            NAME, "quiet", name="Genesys messaging quiet", active=shown.quiet, now=now,
            entity_name="Genesys Open Messaging", metric="minutesSinceLastMessage",
            value=(shown.last_message_age or 0) / 60, threshold=config.quiet_minutes,
            message=f"No message from Genesys Open Messaging for {config.quiet_minutes} "
                    f"minutes or more during opening hours; {last}."),
        integration_alerts.item(
            NAME, "state", name="Genesys integration error", active=shown.healthy is False,
            now=now, entity_name="Genesys Open Messaging", metric="integrationState",
            message=shown.detail or "The integration reports an error."),
    ]

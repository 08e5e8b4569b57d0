"""Probing OneCloud CX chat entry points (integrations/onecloud) on the schedules admins set.

The bridge calls `due` and runs `run_probe` for each (in the background, one at a time per
entry point); results are ChatProbe rows. The Integrations page shows a tile per entry point
(`tiles`), and an entry point whose last probe failed raises one of the dashboard's own alerts
(`alerts`), cleared by its next accepted probe.

    due(now) -> list[ChatEntryPoint]                      # sync: enabled and due
    await run_probe(entry, now=...) -> ChatProbe          # probes, stores the result
    tiles(now) -> list[EntryTile]                         # sync
    alerts(now) -> list[dict]                             # sync: alert items
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import Count, OuterRef, Q, Subquery

from integrations.onecloud.client import EntryPoint, probe
from integrations.onecloud.errors import OneCloudConfigError

from . import integration_alerts
from .models import ChatEntryPoint, ChatProbe

NAME = "onecloud"
# Probes kept per entry point (the tile's day of history needs fewer at any schedule).
KEEP_PROBES = 2000


def due(now: datetime) -> list[ChatEntryPoint]:
    """Enabled entry points never probed, or whose schedule says it is time again."""
    latest = ChatProbe.objects.filter(entry_point=OuterRef("pk")).order_by("-started_at")
    rows = ChatEntryPoint.objects.filter(enabled=True).annotate(
        last=Subquery(latest.values("started_at")[:1]))
    return [row for row in rows
            if row.last is None or now - row.last >= timedelta(minutes=row.every_minutes)]


def entry_of(row: ChatEntryPoint) -> EntryPoint:
    return EntryPoint(base_url=row.base_url, tenant_url=row.tenant_url, app_id=row.app_id,
                      client_id=row.client_id, phone_number=row.phone_number,
                      parameters={str(k): str(v) for k, v in (row.parameters or {}).items()})


async def run_probe(row: ChatEntryPoint, *, now: datetime) -> ChatProbe:
    try:
        result = await probe(entry_of(row))
    except OneCloudConfigError as exc:
        return await _save(ChatProbe(entry_point=row, started_at=now, accepted=False,
                                     cause=f"the entry point's settings: {exc.message}"))
    return await _save(ChatProbe(
        entry_point=row, started_at=now, accepted=result.accepted, seconds=result.seconds,
        ended=result.ended, status=result.status, code=result.code, cause=result.cause[:500]))


@sync_to_async
def _save(row: ChatProbe) -> ChatProbe:
    row.save()
    old = ChatProbe.objects.filter(entry_point=row.entry_point_id).order_by(
        "-started_at").values_list("pk", flat=True)[KEEP_PROBES:]
    ChatProbe.objects.filter(pk__in=list(old)).delete()
    return row


@dataclass(frozen=True)
class EntryTile:
    entry: ChatEntryPoint
    last: ChatProbe | None
    probes_day: int
    accepted_day: int

    @property
    def level(self) -> str:
        if self.last is None:
            return "ok"
        if not self.last.accepted:
            return "critical"
        return "warning" if not self.last.ended else "ok"

    @property
    def element_id(self) -> str:
        return f"integration-onecloud-{self.entry.pk}"


def tiles(now: datetime) -> list[EntryTile]:
    day = now - timedelta(days=1)
    rows = ChatEntryPoint.objects.order_by("name").annotate(
        probes_day=Count("probes", filter=Q(probes__started_at__gte=day)),
        accepted_day=Count("probes", filter=Q(probes__started_at__gte=day,
                                              probes__accepted=True)))
    found = []
    for row in rows:
        last = row.probes.order_by("-started_at").first()
        found.append(EntryTile(row, last, row.probes_day, row.accepted_day))
    return found


def alerts(now: datetime) -> list[dict[str, Any]]:
    """One alert per enabled entry point whose last probe failed (inactive otherwise)."""
    items = []
    for shown in tiles(now):
        if not shown.entry.enabled or shown.entry.pk >= 100_000:
            continue
        failed = shown.last is not None and not shown.last.accepted
        cause = shown.last.cause if shown.last is not None else ""
        items.append(integration_alerts.item(
            NAME, "probe", index=shown.entry.pk, name=f"Chat entry point failing: "
            f"{shown.entry.name}", active=failed, now=now,
            entity_name=f"OneCloud {shown.entry.name}", metric="chatProbe",
            message=f"A test chat on {shown.entry.name} was not accepted: {cause}."))
    return items

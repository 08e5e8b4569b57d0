"""`manage.py bridge`: follow Clarity and publish to the channel layer (scale-out mode).

With REDIS_URL set, several of these may run: one is active, the others stand by under a lease
in Redis (dashboard.leader) and one takes over within seconds when the active one dies.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.bridge import run_bridge
from dashboard.clarity import clarity_config
from dashboard.leader import Lease, run_as_leader
from integrations.clarity.errors import ClarityConfigError


class Command(BaseCommand):
    help = ("Run the bridge from Clarity to the dashboard's channel layer until stopped "
            "(with REDIS_URL: the active one, or a standby)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = clarity_config()
        except ClarityConfigError as exc:
            raise CommandError(f"configuration: {exc}") from exc
        with contextlib.suppress(KeyboardInterrupt):
            if not settings.REDIS_URL:
                # One process: nobody to share the work with, so no lease.
                asyncio.run(run_bridge(config))
                return
            lease = Lease(settings.REDIS_URL, lease_seconds=settings.BRIDGE_LEASE_SECONDS)
            asyncio.run(run_as_leader(lease, lambda: run_bridge(config)))

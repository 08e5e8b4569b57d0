"""`manage.py bridge`: follow Clarity and publish to the channel layer (scale-out mode)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dashboard.bridge import run_bridge
from dashboard.clarity import clarity_config
from integrations.clarity.errors import ClarityConfigError


class Command(BaseCommand):
    help = "Run the bridge from Clarity to the dashboard's channel layer until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = clarity_config()
        except ClarityConfigError as exc:
            raise CommandError(f"configuration: {exc}") from exc
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_bridge(config))

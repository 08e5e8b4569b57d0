"""`manage.py clarity_check`: is the Clarity connection set up right? Step by step."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dashboard.clarity import clarity_config
from integrations.clarity.check import run_check
from integrations.clarity.errors import ClarityConfigError


class Command(BaseCommand):
    help = ("Authenticate against Clarity Connect, read info, profile and MBU, open the hub, "
            "subscribe and wait for a snapshot; exit non-zero naming the first step that fails.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=15.0,
                            help="seconds to wait for the subscription's snapshot")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = clarity_config()
        except ClarityConfigError as exc:
            raise CommandError(f"configuration: {exc}") from exc
        self.stdout.write(f"Checking Clarity at {config.base_url} ({config.auth} auth)")
        steps = asyncio.run(run_check(config, snapshot_timeout=options["timeout"]))
        for step in steps:
            mark = self.style.SUCCESS("ok  ") if step.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {step.name}: {step.detail}")
        failed = next((s for s in steps if not s.ok), None)
        if failed is not None:
            raise CommandError(f"step '{failed.name}' failed: {failed.detail}")
        self.stdout.write(self.style.SUCCESS("Clarity connection is working."))

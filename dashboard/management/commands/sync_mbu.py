"""`manage.py sync_mbu`: read Clarity's MBU structure and mirror it into the database."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dashboard.clarity import clarity_config
from dashboard.mbu import EmptyStructureError, sync_mbu
from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig
from integrations.clarity.errors import ClarityConfigError, ClarityError
from integrations.clarity.wire import MbuStructure


async def fetch_mbu(config: ClarityConfig) -> MbuStructure:
    async with ClarityClient(config) as client:
        return await client.mbu()


class Command(BaseCommand):
    help = (
        "Read the business units, groups, teams, queues and agents the Clarity account may see "
        "and mirror them into the database (entities no longer listed are deactivated)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--allow-empty",
            action="store_true",
            help="sync even an MBU structure with no agents, queues or teams "
            "(deactivating everything)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = clarity_config()
        except ClarityConfigError as exc:
            raise CommandError(f"configuration: {exc}") from exc
        self.stdout.write(f"Reading the MBU structure from {config.base_url}")
        try:
            # The fetch gets its own event loop; the database work below runs outside it, as
            # Django's ORM wants.
            structure = asyncio.run(fetch_mbu(config))
        except ClarityError as exc:
            raise CommandError(f"could not read the MBU structure: {exc}") from exc
        try:
            result = sync_mbu(structure, allow_empty=options["allow_empty"])
        except EmptyStructureError as exc:
            raise CommandError(str(exc)) from exc
        for kind, counts in result.items():
            self.stdout.write(f"{kind.replace('_', ' ')}: {counts}")
        if result.changed:
            self.stdout.write(self.style.SUCCESS("MBU structure synced."))
        else:
            self.stdout.write(self.style.SUCCESS("MBU structure synced: nothing changed."))

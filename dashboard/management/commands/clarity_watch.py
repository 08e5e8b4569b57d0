"""`manage.py clarity_watch`: stream Clarity's live updates as lines, then a summary."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dashboard.clarity import clarity_config
from integrations.clarity.errors import ClarityConfigError, ClarityError
from integrations.clarity.live import FeedEvent, FeedMessage
from integrations.clarity.watch import describe, watch


class Command(BaseCommand):
    help = ("Follow Clarity's live subscriptions for a while, one line per update, and end with "
            "a JSON summary; with --verify, compare the merged picture with the REST metrics "
            "and exit non-zero on any difference.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--json", action="store_true", help="JSON lines")
        parser.add_argument("--verify", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seconds"] <= 0:
            raise CommandError("--seconds must be positive")
        try:
            config = clarity_config()
        except ClarityConfigError as exc:
            raise CommandError(f"configuration: {exc}") from exc
        as_json = options["json"]

        def on_message(message: FeedMessage) -> None:
            line = describe(message)
            if as_json:
                self.stdout.write(json.dumps(line))
                return
            stamp = datetime.now().strftime("%H:%M:%S")  # the reader's local clock
            kind = "snapshot" if line["snapshot"] else "diff"
            restart = f" ({line['restart']})" if line["restart"] else ""
            items = ", ".join(f"{n} {k}" for k, n in sorted(line["items"].items())) or "nothing"
            self.stdout.write(f"{stamp} {line['subscription']} #{line['sequence']} "
                              f"{kind}{restart}: {items}")

        def on_event(event: FeedEvent) -> None:
            if as_json:
                self.stdout.write(json.dumps({"event": event.kind, "detail": event.detail}))
            else:
                self.stderr.write(f"-- {event.kind}: {event.detail}")

        try:
            summary = asyncio.run(watch(config, options["seconds"], on_message=on_message,
                                        on_event=on_event, verify=options["verify"]))
        except ClarityError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"summary": summary.as_dict()}))
        if summary.differences:
            for line in summary.differences:
                self.stderr.write(f"difference: {line}")
            sys.exit(1)

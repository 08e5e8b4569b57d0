"""`manage.py ccai_ingest [--storage DIR]`: read CCAI Platform session metadata files now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard import ccai_sessions


class Command(BaseCommand):
    help = ("Read the CCAI Platform session metadata files (ujet-metadata/call-{id}.json, "
            "chat-{id}.json) that are new or changed under the external storage folder.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--storage", default="",
                            help="the external storage folder (default: CCAI_STORAGE_DIR)")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = options["storage"] or settings.CCAI_STORAGE_DIR
        if not folder:
            raise CommandError("no folder: pass --storage or set CCAI_STORAGE_DIR")
        path = Path(folder)
        if not (path / "ujet-metadata").is_dir():
            raise CommandError(f"{path / 'ujet-metadata'} is not a folder")
        done = ccai_sessions.ingest(path)
        self.stdout.write(f"new {done.new}, updated {done.updated}, unchanged {done.unchanged}, "
                          f"refused {len(done.refused)}")
        for name in done.refused:
            self.stderr.write(f"refused: {name}")

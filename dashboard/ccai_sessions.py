"""CCAI Platform sessions, from the session metadata files CCAI pushes to external storage
(integrations/ccai/metadata.py), for search and drill-down beside Clarity's sessions.

    ingest(storage, refused) -> Ingested   # sync: read new and changed files under ujet-metadata
    search(query, limit) -> list[CcaiHit]
    get(kind, session_id) -> CcaiSession | None

The bridge ingests every INGEST_SECONDS from settings.CCAI_STORAGE_DIR (the folder the
tenant's SFTP external storage writes to); `manage.py ccai_ingest` does it by hand. A file is
read again when its modification time changes (CCAI rewrites a session's file when it
changes); a file that cannot be read is logged and skipped, and tried again when it changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Q

from integrations.ccai.errors import CcaiMetadataError
from integrations.ccai.generic_api import digits
from integrations.ccai.metadata import FOLDER, name_of, read_file

from .models import CcaiSession

log = logging.getLogger(__name__)

INGEST_SECONDS = 20.0
# Files read per pass at the most: a first pass over a large backlog is spread over passes.
BATCH = 2000


@dataclass
class Ingested:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)


def ingest(storage: Path, refused: dict[str, float] | None = None) -> Ingested:
    """`refused` (file name -> modification time) remembers the files that could not be read
    between passes, so that each is tried (and logged) again only once it changes."""
    result = Ingested()
    refused = {} if refused is None else refused
    folder = storage / FOLDER
    if not folder.is_dir():
        return result
    known = dict(CcaiSession.objects.values_list("file_name", "file_mtime"))
    for path in sorted(folder.iterdir()):
        if name_of(path) is None or not path.is_file():
            continue
        mtime = path.stat().st_mtime
        if known.get(path.name) == mtime or refused.get(path.name) == mtime:
            result.unchanged += 1
            continue
        if result.new + result.updated + len(result.refused) >= BATCH:
            break
        try:
            meta = read_file(path)
        except CcaiMetadataError as exc:
            log.warning("CCAI session metadata: %s", exc.message)
            result.refused.append(path.name)
            refused[path.name] = mtime
            continue
        refused.pop(path.name, None)
        _, created = CcaiSession.objects.update_or_create(
            kind=meta.kind, session_id=meta.session_id, defaults={
                "lang": meta.lang[:10], "session_type": meta.session_type[:100],
                "status": meta.status[:40], "created_at": meta.created_at,
                "connected_at": meta.connected_at, "ended_at": meta.ended_at,
                "wait_seconds": _seconds(meta.wait_seconds),
                "duration_seconds": _seconds(meta.duration_seconds),
                "hold_seconds": _seconds(meta.hold_seconds), "rating": meta.rating,
                "feedback": meta.feedback, "menu_path": meta.menu_path[:500],
                "agent_name": meta.agent_name[:200], "agent_email": meta.agent_email[:254],
                "end_user_phone": meta.end_user_phone[:40],
                "end_user_email": meta.end_user_email[:254], "raw": meta.raw,
                "file_name": path.name, "file_mtime": mtime})
        if created:
            result.new += 1
        else:
            result.updated += 1
    return result


def _seconds(value: int | None) -> int | None:
    return value if value is not None and 0 <= value < 2**31 else None


@dataclass(frozen=True)
class CcaiHit:
    kind: str
    session_id: int
    title: str
    detail: str
    url: str


def search(query: str, limit: int = 20) -> list[CcaiHit]:
    """Sessions whose id, customer phone or email, agent or menu path match `query`."""
    text = query.strip()
    if not text:
        return []
    match = Q(end_user_email__icontains=text) | Q(agent_name__icontains=text) | Q(
        menu_path__icontains=text)
    if text.isdigit():
        match |= Q(session_id=int(text)) if len(text) <= 18 else Q()
    number = digits(text)
    if len(number) >= 4 and len(number) >= len(text.replace(" ", "")) - 4:
        match |= Q(end_user_phone__contains=number[-7:])
    rows = CcaiSession.objects.filter(match).order_by("-ended_at")[:limit]
    return [CcaiHit(r.kind, r.session_id,
                    f"{r.get_kind_display()} {r.session_id}",
                    " · ".join(p for p in (r.session_type, r.menu_path, r.agent_name,
                                            r.end_user_phone or r.end_user_email) if p),
                    r.get_absolute_url()) for r in rows]


def get(kind: str, session_id: int) -> CcaiSession | None:
    return CcaiSession.objects.filter(kind=kind, session_id=session_id).first()

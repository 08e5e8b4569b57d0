"""Session metadata files, as CCAI Platform pushes them to external storage.

From the document: the folder `ujet-metadata`, one file per session named `call-{id}.json` or
`chat-{id}.json`, sent about 15 minutes after the session ended (and written again if it
changes). The document does not list the fields; CCAI Platform's published schema names them
(docs/integrations.md): `id`, `lang`, `call_type`/`chat_type` or `session_type`, `status`,
`created_at`, `queued_at`, `assigned_at`, `connected_at`, `ends_at` (or `ended_at`),
`wait_duration`, `call_duration`/`chat_duration`, `hold_duration` (seconds), `rating`,
`feedback`, `menu_path`, `agent_info` (`name`, `first_name`, `last_name`, `email`, or a
virtual agent's `va_alias`) and `end_user` (`phone_number`, `email`, `identifier`). Missing
fields are left empty; a file whose name and `id` disagree is refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from integrations.json_values import aware_time, object_or_empty

from .errors import CcaiMetadataError

FOLDER = "ujet-metadata"
MAX_FILE = 2 * 1024 * 1024
_NAME = re.compile(r"^(call|chat)-(\d{1,18})\.json$")

Kind = Literal["call", "chat"]


@dataclass(frozen=True)
class SessionMetadata:
    kind: Kind
    session_id: int
    lang: str
    session_type: str
    status: str
    created_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime | None
    wait_seconds: int | None
    duration_seconds: int | None
    hold_seconds: int | None
    rating: int | None
    feedback: str
    menu_path: str
    agent_name: str
    agent_email: str
    end_user_phone: str
    end_user_email: str
    raw: dict[str, Any]


def name_of(path: Path) -> tuple[Kind, int] | None:
    """(kind, session id) from a file name, or None if it is not a metadata file's name."""
    match = _NAME.match(path.name)
    if match is None:
        return None
    kind: Kind = "call" if match.group(1) == "call" else "chat"
    return kind, int(match.group(2))


def read_file(path: Path) -> SessionMetadata:
    named = name_of(path)
    if named is None:
        raise CcaiMetadataError(f"{path.name}: not a call-{{id}}.json or chat-{{id}}.json name")
    if path.stat().st_size > MAX_FILE:
        raise CcaiMetadataError(f"{path.name}: over {MAX_FILE // 1024} KiB")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CcaiMetadataError(f"{path.name}: not JSON ({exc})") from None
    return parse(named[0], named[1], data, source=path.name)


def parse(kind: Kind, session_id: int, data: Any, *, source: str = "") -> SessionMetadata:
    if not isinstance(data, dict):
        raise CcaiMetadataError(f"{source}: not a JSON object")
    if _int(data.get("id")) != session_id:
        raise CcaiMetadataError(f"{source}: its id {data.get('id')!r} is not the file name's")
    agent = object_or_empty(data.get("agent_info"))
    user = object_or_empty(data.get("end_user"))
    agent_name = _text(agent.get("name")) or " ".join(
        p for p in (_text(agent.get("first_name")), _text(agent.get("last_name"))) if p
    ) or _text(agent.get("va_alias"))
    return SessionMetadata(
        kind=kind, session_id=session_id, lang=_text(data.get("lang")),
        session_type=_text(data.get(f"{kind}_type")) or _text(data.get("session_type")),
        status=_text(data.get("status")),
        created_at=aware_time(data.get("created_at")),
        connected_at=aware_time(data.get("connected_at")),
        ended_at=aware_time(data.get("ends_at")) or aware_time(data.get("ended_at")),
        wait_seconds=_int(data.get("wait_duration")),
        duration_seconds=_int(data.get(f"{kind}_duration")),
        hold_seconds=_int(data.get("hold_duration")), rating=_int(data.get("rating")),
        feedback=_text(data.get("feedback")), menu_path=_text(data.get("menu_path")),
        agent_name=agent_name, agent_email=_text(agent.get("email")),
        end_user_phone=_text(user.get("phone_number")), end_user_email=_text(user.get("email")),
        raw=data)



def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


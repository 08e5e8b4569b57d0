"""Reading loosely typed JSON values the same way in every platform's wire module: a nested
object that may be missing or of another type, and an ISO 8601 time that must say its zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def object_or_empty(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (missing, null, or another type)."""
    return value if isinstance(value, dict) else {}


def aware_time(value: Any) -> datetime | None:
    """An ISO 8601 time with its zone ("Z" allowed); None for anything else, a time without a
    zone included (it could be any zone's)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None

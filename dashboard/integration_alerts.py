"""The dashboard's own alerts, about other platforms (a quiet messaging channel, an integration
in error): alert items like Clarity's, merged into the live picture under a subscription of
ours, so that pages list and toast them exactly as they do Clarity's.

Their ids sit in a range Clarity's do not reach in practice (FIRST_ID and up, by platform,
kind and index, still within a 32-bit integer); their entity is "integration" with the
platform's number, and every page (but an agent's) of a viewer with a scope joins those alert
groups: a channel going quiet concerns the whole floor.

    item(platform, kind, *, name, active, now, ...) -> dict     # one alert, active or not
    OwnAlerts().message(items, now) -> dict | None               # a snapshot for the merge
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .live import INTEGRATION_ENTITY, INTEGRATION_NUMBERS

SUBSCRIPTION_ID = "dashboard-integrations"
FIRST_ID = 2_100_000_000
PLATFORMS = INTEGRATION_NUMBERS
KINDS = {"quiet": 1, "state": 2, "probe": 3}
ENTITY_TYPE = INTEGRATION_ENTITY


def alert_id(platform: str, kind: str, index: int = 0) -> int:
    """`index` tells apart alerts of one kind (a OneCloud entry point's primary key)."""
    if not 0 <= index < 100_000:
        raise ValueError(f"alert index out of range: {index}")
    return FIRST_ID + PLATFORMS[platform] * 1_000_000 + KINDS[kind] * 100_000 + index


def item(platform: str, kind: str, *, name: str, active: bool, now: datetime,
         entity_name: str, metric: str, message: str, value: float | None = None,
         threshold: float | None = None, severity: str = "critical",
         index: int = 0) -> dict[str, Any]:
    return {"type": "alert", "id": alert_id(platform, kind, index), "name": name,
            "severity": severity,
            "entityType": ENTITY_TYPE, "entityId": PLATFORMS[platform],
            "entityName": entity_name, "metric": metric, "modality": "",
            "value": round(value, 1) if value is not None else None, "threshold": threshold,
            "isActive": active, "message": message}


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class OwnAlerts:
    """Turns the current items into snapshots of our subscription: an alert keeps the time
    it was raised while active, gets its clear time when it goes, and one never raised is
    left out. `message` is None when nothing changed (the picture keeps what it has)."""

    def __init__(self) -> None:
        self._raised: dict[int, str] = {}
        self._cleared: dict[int, str] = {}
        self._sequence = 0
        self._last: list[dict[str, Any]] | None = None

    def message(self, items: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
        shown: list[dict[str, Any]] = []
        for entry in items:
            key = int(entry["id"])
            if entry["isActive"]:
                self._cleared.pop(key, None)
                self._raised.setdefault(key, _iso(now))
            elif key in self._raised and key not in self._cleared:
                self._cleared[key] = _iso(now)
            if key not in self._raised:
                continue
            shown.append({**entry, "raisedTime": self._raised[key],
                          "clearedTime": self._cleared.get(key)})
        # The value (minutes quiet) moves every check; only a change of state is news.
        stable = [{k: v for k, v in entry.items() if k != "value"} for entry in shown]
        if stable == self._last or (not stable and self._last is None):
            return None
        self._last = stable
        self._sequence += 1
        return {"subscriptionId": SUBSCRIPTION_ID, "subscriptionType": "alerts",
                "sequence": self._sequence, "isSnapshot": True, "timestamp": _iso(now),
                "items": shown}

"""Threshold rules' optional action: tell an agent, through OpenMethods, when a queue reaches
the critical level by the rule (ThresholdRule.notify_agent / notify_event).

Once per crossing: a tile (queue and modality) that stays critical is not sent again; it is
again after its value has left the critical level (or the rule has stopped deciding it). Only
the rule that colours the tile can notify (`store.deciding_rule`): a more specific rule that
keeps a queue amber silences a general one, just as on the page.

The bridge calls `CrossingWatch.check` every few seconds with the live queues (the
longest-waiting time ticks without upstream changes, so a timer rather than each batch) and
sends what it returns through `dashboard.actions.notify_for_rule`. The watch lives in memory:
after a bridge restart a tile that is critical counts as a new crossing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .live import level_values
from .store import Threshold, deciding_rule, level_for


@dataclass(frozen=True)
class Crossing:
    """One tile that has just reached the critical level by a notifying rule."""

    rule: Threshold
    queue_id: int
    queue_name: str
    modality: str
    value: Any

    def properties(self) -> dict[str, str]:
        """What the PopFlow event carries as interaction data."""
        return {"queue": self.queue_name, "queueId": str(self.queue_id),
                "modality": self.modality, "metric": self.rule.metric,
                "value": str(self.value), "level": "critical", "rule": self.rule.name}


# (queue id, name, modality, metric bag): one tile of the live picture.
Tile = tuple[int, str, str, Mapping[str, Any]]


class CrossingWatch:
    """Which (rule, queue, modality) are critical now, to tell new crossings from old ones."""

    def __init__(self) -> None:
        self._critical: set[tuple[int | None, int, str]] = set()

    def check(self, rules: Sequence[Threshold], tiles: Iterable[Tile],
              now: datetime) -> list[Crossing]:
        notifying = [rule for rule in rules if rule.notifies]
        critical: set[tuple[int | None, int, str]] = set()
        crossings: list[Crossing] = []
        for queue_id, name, modality, bag in tiles if notifying else ():
            values = level_values(bag, now)
            for rule in notifying:
                if rule.metric not in values:
                    continue
                if deciding_rule(rules, queue_id, modality, rule.metric) != rule:
                    continue
                value = values[rule.metric]
                if level_for((rule,), queue_id, modality, rule.metric, value) != "critical":
                    continue
                key = (rule.rule_id, queue_id, modality)
                critical.add(key)
                if key not in self._critical:
                    crossings.append(Crossing(rule, queue_id, name, modality, value))
        self._critical = critical
        return crossings


def tiles_of(items: Iterable[tuple[int, str, Mapping[str, Any]]]) -> list[Tile]:
    """Every tile of the given queues (id, name, live item): one per modality, as the
    overview shows them."""
    tiles: list[Tile] = []
    for queue_id, name, item in items:
        for modality, bag in (item.get("metrics") or {}).items():
            if modality != "agnostic" and isinstance(bag, Mapping):
                tiles.append((queue_id, name, modality, bag))
    return tiles

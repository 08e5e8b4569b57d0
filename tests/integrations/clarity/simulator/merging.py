"""A reference merge of the contract's snapshot/diff rules, for checking what the hub sends.

Written from docs (clarity-contract.md, "Snapshot, diffs and sequence"), independently of the
simulator's diff code, so a misreading on either side shows up as a failed comparison.
"""

from __future__ import annotations

import copy
from typing import Any

Json = dict[str, Any]
LIVE_SESSION_FIELDS = ("queuedMs", "activeMs")


def item_key(item: Json) -> tuple[Any, ...]:
    if "groupId" in item:
        return ("group", item.get("groupType"), item["groupId"])
    if "id" in item:
        return (str(item.get("type", "")).lower(), item["id"])
    return ("aggregate", tuple(item.get("entityIds", [])))


def merge_item(state: Json, diff: Json) -> None:
    for key, value in diff.items():
        if key == "metrics":
            for modality, values in value.items():
                state.setdefault("metrics", {}).setdefault(modality, {}).update(values)
        elif key == "sessions":
            for modality, part in value.items():
                bag = state.setdefault("sessions", {}).setdefault(modality, {"sessions": []})
                by_id = {s["sessionId"]: s for s in bag.get("sessions", [])}
                for s in part.get("addedSessions", []) + part.get("sessions", []):
                    by_id[s["sessionId"]] = s
                for s in part.get("removedSessions", []):
                    by_id.pop(s["sessionId"], None)
                bag["sessions"] = sorted(by_id.values(), key=lambda s: s["sessionId"])
        elif key == "statusHistory":
            state.setdefault("statusHistory", []).extend(value)
        elif key in ("addedBreakdowns", "breakdowns", "removedBreakdowns"):
            by_queue = {b["queueId"]: b for b in state.get("breakdowns", [])}
            for b in value:
                if key == "removedBreakdowns":
                    by_queue.pop(b["queueId"], None)
                else:
                    by_queue[b["queueId"]] = b
            state["breakdowns"] = [by_queue[q] for q in sorted(by_queue)]
        else:  # identity fields, name, and currentStatus, which is replaced whole
            state[key] = value


class Picture:
    """What a client holds for one subscription after merging its messages in order."""

    def __init__(self) -> None:
        self.items: dict[tuple[Any, ...], Json] = {}
        self.sequence = 0
        self.snapshots = 0
        self.diffs = 0

    def apply(self, message: Json) -> None:
        if message["sequence"] != self.sequence + 1:
            raise AssertionError(f"sequence gap: {self.sequence} -> {message['sequence']}")
        self.sequence = message["sequence"]
        if message["isSnapshot"]:
            self.snapshots += 1
            self.items = {item_key(i): copy.deepcopy(i) for i in message["items"]}
            return
        self.diffs += 1
        for diff in message["items"]:
            key = item_key(diff)
            if key not in self.items or diff.get("type") == "alert":
                self.items[key] = copy.deepcopy(diff)
            else:
                merge_item(self.items[key], copy.deepcopy(diff))


def without_live_fields(item: Json) -> Json:
    """Session durations tick with the clock and are only refreshed on a real change."""
    item = copy.deepcopy(item)
    for bag in item.get("sessions", {}).values():
        for s in bag.get("sessions", []):
            for name in LIVE_SESSION_FIELDS:
                s.pop(name, None)
    return item

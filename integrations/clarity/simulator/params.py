"""Reading the query strings and bodies that metric and subscription requests share.

The seed names entities by `agentIds`, `queueIds`, `teamIds`, `groupIds` and `businessUnitIds`,
modalities by name or by modality id, and filters properties case-insensitively. Both the REST
metric routes and the subscription routes read requests through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import MODALITY_IDS, Agent, ContactCenter
from .render import View, lower_set


class BadRequest(Exception):
    """The request is malformed: answered 400 with this message."""


class Unauthorized(Exception):
    """The caller may not see what it asked for, or named nothing: answered 401."""


MODALITY_BY_KEY: dict[str, str] = {
    **{name.lower(): name for name in MODALITY_IDS},
    **{str(i): name for name, i in MODALITY_IDS.items()},
    "av": "audio", "audiovideo": "audio", "im": "instantMessage",
}


def _get(query: Mapping[str, str], name: str) -> str | None:
    """Query parameter names are matched case-insensitively, as ASP.NET binds them."""
    wanted = name.lower()
    for key, value in query.items():
        if key.lower() == wanted:
            return value
    return None


def parse_ids(query: Mapping[str, str], name: str) -> list[int]:
    raw = _get(query, name)
    if raw is None or not raw.strip():
        return []
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            raise BadRequest(f"{name} must be a comma-separated list of integers") from None
    return ids


def parse_bool(query: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = _get(query, name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise BadRequest(f"{name} must be true or false")


def parse_modalities(query: Mapping[str, str]) -> frozenset[str] | None:
    raw = _get(query, "modalities")
    if raw is None or not raw.strip():
        return None
    out = set()
    for part in raw.split(","):
        key = part.strip().lower()
        if not key:
            continue
        if key not in MODALITY_BY_KEY:
            raise BadRequest(f"unknown modality '{part.strip()}'")
        out.add(MODALITY_BY_KEY[key])
    return frozenset(out)


def _names(body: Mapping[str, Any], *keys: str) -> frozenset[str] | None:
    """A property list from the body; the seed spells some keys two ways."""
    lowered = {str(k).lower(): v for k, v in body.items()}
    for key in keys:
        value = lowered.get(key.lower())
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise BadRequest(f"{key} must be a list of names")
        return lower_set(value)
    return None


def view_from(query: Mapping[str, str], body: Mapping[str, Any] | None,
              parts: frozenset[str] = frozenset({"metrics", "sessions", "status"})) -> View:
    body = body or {}
    return View(
        parts=parts,
        modalities=parse_modalities(query),
        metric_properties=_names(body, "metricProperties"),
        status_properties=_names(body, "statusProperties"),
        session_properties=_names(body, "sessionProperties", "sessionPropertyType"),
        include_breakdowns=parse_bool(query, "includeBreakdowns"),
        include_status_history=parse_bool(query, "includeStatusHistory"),
    )


@dataclass(frozen=True)
class Selection:
    """Which entities a request names, by kind of id."""

    entity: str                      # agent | queue
    entity_ids: tuple[int, ...]
    team_ids: tuple[int, ...]
    group_ids: tuple[int, ...]
    business_unit_ids: tuple[int, ...]

    @property
    def empty(self) -> bool:
        return not (self.entity_ids or self.team_ids or self.group_ids
                    or self.business_unit_ids)


def selection(query: Mapping[str, str], entity: str) -> Selection:
    own = "agentIds" if entity == "agent" else "queueIds"
    return Selection(entity, tuple(parse_ids(query, own)), tuple(parse_ids(query, "teamIds")),
                     tuple(parse_ids(query, "groupIds")),
                     tuple(parse_ids(query, "businessUnitIds")))


def _members(cc: ContactCenter, entity: str, kind: str, container_id: int) -> list[int]:
    """Agents or queues inside a team, group or business unit (unknown ids: 401 upstream)."""
    if kind == "team":
        team = cc.teams.get(container_id)
        if team is None:
            raise Unauthorized(f"team {container_id} is not accessible")
        return list(team.agent_ids if entity == "agent" else team.queue_ids)
    if kind == "group":
        group = cc.groups.get(container_id)
        if group is None:
            raise Unauthorized(f"group {container_id} is not accessible")
        out: list[int] = []
        for tid in group.team_ids:
            for member in _members(cc, entity, "team", tid):
                if member not in out:
                    out.append(member)
        return out
    bu = cc.business_units.get(container_id)
    if bu is None:
        raise Unauthorized(f"business unit {container_id} is not accessible")
    if entity == "queue":
        return list(bu.queue_ids)
    return [a for tid in bu.team_ids for a in cc.teams[tid].agent_ids]


def _check_visible(cc: ContactCenter, viewer: Agent, entity: str, ids: list[int]) -> None:
    if entity == "agent":
        allowed = cc.visible_agent_ids(viewer)
        known = cc.agents
    else:
        allowed = cc.visible_queue_ids(viewer)
        known = cc.queues  # type: ignore[assignment]
    for i in ids:
        if i not in known or i not in allowed:
            raise Unauthorized(f"{entity} {i} is not accessible")


def resolve(cc: ContactCenter, viewer: Agent, sel: Selection) -> list[int]:
    """Every entity the selection names, in order, each checked against the viewer's MBU."""
    if sel.empty:
        raise Unauthorized("no entity id was specified")
    ids: list[int] = list(dict.fromkeys(sel.entity_ids))
    for kind, containers in (("team", sel.team_ids), ("group", sel.group_ids),
                             ("businessUnit", sel.business_unit_ids)):
        for cid in containers:
            for member in _members(cc, sel.entity, kind, cid):
                if member not in ids:
                    ids.append(member)
    _check_visible(cc, viewer, sel.entity, ids)
    return ids


def groupings(cc: ContactCenter, viewer: Agent,
              sel: Selection) -> tuple[str, list[tuple[int, list[int]]]]:
    """groupBy: by team, else group, else business unit (the seed's priority order).

    Explicit entity ids, when given too, narrow each group to those entities.
    """
    for kind, containers in (("team", sel.team_ids), ("group", sel.group_ids),
                             ("businessUnit", sel.business_unit_ids)):
        if containers:
            groups = []
            for cid in containers:
                members = _members(cc, sel.entity, kind, cid)
                if sel.entity_ids:
                    members = [m for m in members if m in sel.entity_ids]
                _check_visible(cc, viewer, sel.entity, members)
                groups.append((cid, members))
            return kind, groups
    raise Unauthorized("groupBy needs teamIds, groupIds or businessUnitIds")

"""The contact centre's structure: syncing it from Clarity's MBU, and who may see what of it.

`sync_mbu` mirrors an `MbuStructure` into the BusinessUnit, Group, Team, Queue and Agent
tables. `visibility_for` answers which of those a dashboard user may see; the answer is in
Clarity ids, the ids the live picture, hub messages and channel groups use.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Q

from dashboard.models import (
    Agent,
    BusinessUnit,
    Group,
    Queue,
    SupervisorScope,
    Team,
    Wallboard,
)
from integrations.clarity.wire import MbuStructure

# ---------------------------------------------------------------------------------------------
# Sync
# ---------------------------------------------------------------------------------------------


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    deactivated: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.deactivated} deactivated"


@dataclass
class SyncResult:
    """What one sync changed, per kind of entity. An entity counts as updated when any of its
    fields or memberships changed (or it came back after being deactivated)."""

    business_units: KindCounts = field(default_factory=KindCounts)
    groups: KindCounts = field(default_factory=KindCounts)
    teams: KindCounts = field(default_factory=KindCounts)
    queues: KindCounts = field(default_factory=KindCounts)
    agents: KindCounts = field(default_factory=KindCounts)

    KINDS = ("business_units", "groups", "teams", "queues", "agents")

    def items(self) -> list[tuple[str, KindCounts]]:
        return [(kind, getattr(self, kind)) for kind in self.KINDS]

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated or c.deactivated for _, c in self.items())

    def __str__(self) -> str:
        return "; ".join(f"{kind.replace('_', ' ')}: {counts}" for kind, counts in self.items())


class EmptyStructureError(ValueError):
    """The MBU structure lists no agents, queues or teams at all.

    Syncing it would mark every known entity inactive, which is what a misconfigured account
    (one with no MBU rights) looks like rather than a contact centre that closed overnight."""


@dataclass
class _Upserted:
    pks: dict[int, int]  # clarity id -> primary key, for every entity in the structure
    created: set[int]
    updated: set[int]
    deactivated: int

    def counts(self) -> KindCounts:
        return KindCounts(len(self.created), len(self.updated), self.deactivated)


# The MBU tables: each has clarity_id and active.
MbuModel = TypeVar("MbuModel", BusinessUnit, Group, Team, Queue, Agent)


def _upsert(model: type[MbuModel], wanted: Mapping[int, Mapping[str, Any]]) -> _Upserted:
    """Make the table hold exactly `wanted` (clarity id -> field values) as its active rows.

    Rows missing from `wanted` are deactivated, never deleted: status history and alerts
    point at them. A handful of queries whatever the size."""
    existing = {obj.clarity_id: obj for obj in model.objects.all()}
    to_create: list[MbuModel] = []
    to_update: list[MbuModel] = []
    dirty_fields: set[str] = set()
    updated: set[int] = set()
    for clarity_id, values in wanted.items():
        obj = existing.get(clarity_id)
        if obj is None:
            to_create.append(model(clarity_id=clarity_id, active=True, **values))
            continue
        target = {**values, "active": True}  # seen again: back from deactivation
        dirty = [name for name, value in target.items() if getattr(obj, name) != value]
        if dirty:
            for name in dirty:
                setattr(obj, name, target[name])
            to_update.append(obj)
            dirty_fields.update(dirty)
            updated.add(clarity_id)
    gone = [obj for cid, obj in existing.items() if cid not in wanted and obj.active]
    for obj in gone:
        obj.active = False

    model.objects.bulk_create(to_create)
    if to_update:
        model.objects.bulk_update(to_update, sorted(dirty_fields))
    if gone:
        model.objects.bulk_update(gone, ["active"])
    # Read back rather than trust bulk_create to fill in primary keys: not every backend does.
    # The whole table, not `clarity_id__in`: no limit on the number of query parameters.
    pks = {
        cid: pk for cid, pk in model.objects.values_list("clarity_id", "pk") if cid in wanted
    }
    return _Upserted(pks, {o.clarity_id for o in to_create}, updated, len(gone))


def _sync_links(
    through: type[models.Model], left: str, right: str, wanted: Mapping[int, set[int]]
) -> set[int]:
    """Make the many-to-many links of each `left` pk in `wanted` exactly the given `right` pks.

    Works on the through table directly so that the whole sync is a few queries, not a few
    per entity. Returns the `left` pks whose links changed."""
    current: dict[int, set[int]] = defaultdict(set)
    for l_pk, r_pk in through._default_manager.values_list(left, right):
        if l_pk in wanted:
            current[l_pk].add(r_pk)
    to_add = [
        through(**{left: l_pk, right: r_pk})
        for l_pk, rights in wanted.items()
        for r_pk in sorted(rights - current[l_pk])
    ]
    changed = {l_pk for l_pk, rights in wanted.items() if rights != current[l_pk]}
    stale = [
        Q(**{left: l_pk, f"{right}__in": sorted(current[l_pk] - wanted[l_pk])})
        for l_pk in sorted(changed)
        if current[l_pk] - wanted[l_pk]
    ]
    if to_add:
        through._default_manager.bulk_create(to_add)
    if stale:
        through._default_manager.filter(reduce(operator.or_, stale)).delete()
    return changed


def _name(name: str | None, kind: str, clarity_id: int) -> str:
    # The seed allows a missing name; the admin and the dashboard still need something to show.
    text = (name or "").strip()[:200]  # the models' max_length
    return text or f"{kind} {clarity_id}"


@transaction.atomic
def sync_mbu(structure: MbuStructure, *, allow_empty: bool = False) -> SyncResult:
    """Mirror Clarity's MBU structure into the database, in one transaction.

    Idempotent: a second run with the same structure changes nothing. Memberships are read from
    both sides of each relation, since the MBU states most of them twice (`team.queueIds` and
    `queue.teamIds`) and a server may fill in only one; ids of entities the structure does not
    list are ignored. Raises EmptyStructureError for a structure with no agents, queues or
    teams, unless `allow_empty`."""
    if not allow_empty and not (structure.agents or structure.queues or structure.teams):
        raise EmptyStructureError(
            "the MBU structure lists no agents, queues or teams; refusing to deactivate "
            "everything (does the Clarity account have supervisor rights?)"
        )
    bus = {b.id: b for b in structure.business_units}
    groups = {g.id: g for g in structure.groups}
    teams = {t.id: t for t in structure.teams}
    queues = {q.id: q for q in structure.queues}
    agents = {a.id: a for a in structure.agents}

    # The other side of each one-to-many relation, for servers that only state it there.
    bu_of_team = {t: b.id for b in bus.values() for t in b.team_ids}
    bu_of_queue = {q: b.id for b in bus.values() for q in b.queue_ids}
    team_of_agent = {a: t.id for t in teams.values() for a in t.agent_ids}

    def pick(stated: int | None, fallback: int | None, known: Mapping[int, Any]) -> int | None:
        if stated is not None and stated in known:
            return stated
        return fallback if fallback is not None and fallback in known else None

    bu_rows = _upsert(
        BusinessUnit, {i: {"name": _name(b.name, "Business unit", i)} for i, b in bus.items()}
    )
    group_rows = _upsert(Group, {i: {"name": _name(g.name, "Group", i)} for i, g in groups.items()})

    def bu_pk(clarity_id: int | None) -> int | None:
        return None if clarity_id is None else bu_rows.pks[clarity_id]

    team_rows = _upsert(
        Team,
        {
            i: {
                "name": _name(t.name, "Team", i),
                "business_unit_id": bu_pk(pick(t.business_unit_id, bu_of_team.get(i), bus)),
            }
            for i, t in teams.items()
        },
    )
    queue_rows = _upsert(
        Queue,
        {
            i: {
                "name": _name(q.name, "Queue", i),
                "business_unit_id": bu_pk(pick(q.business_unit_id, bu_of_queue.get(i), bus)),
            }
            for i, q in queues.items()
        },
    )

    def agent_values(i: int) -> dict[str, Any]:
        a = agents[i]
        team = pick(a.team_id, team_of_agent.get(i), teams)
        return {
            "name": _name(a.name, "Agent", i),
            "team_id": None if team is None else team_rows.pks[team],
            "can_record": bool(a.can_record),
            "can_silent_join": bool(a.can_silent_join),
            "can_whisper_join": bool(a.can_whisper_join),
        }

    agent_rows = _upsert(Agent, {i: agent_values(i) for i in agents})

    # Many-to-many memberships, from both sides.
    team_groups: dict[int, set[int]] = {i: set(t.group_ids) for i, t in teams.items()}
    for g in groups.values():
        for t in g.team_ids:
            if t in team_groups:
                team_groups[t].add(g.id)
    queue_teams: dict[int, set[int]] = {i: set(q.team_ids) for i, q in queues.items()}
    for team in teams.values():
        for q in team.queue_ids:
            if q in queue_teams:
                queue_teams[q].add(team.id)

    changed_teams = _sync_links(
        Team.groups.through,
        "team_id",
        "group_id",
        {
            team_rows.pks[t]: {group_rows.pks[g] for g in gs if g in groups}
            for t, gs in team_groups.items()
        },
    )
    changed_queues = _sync_links(
        Queue.teams.through,
        "queue_id",
        "team_id",
        {
            queue_rows.pks[q]: {team_rows.pks[t] for t in ts if t in teams}
            for q, ts in queue_teams.items()
        },
    )
    # A changed membership is an update of the entity, unless the entity is new.
    for rows, changed_pks in ((team_rows, changed_teams), (queue_rows, changed_queues)):
        by_pk = {pk: cid for cid, pk in rows.pks.items()}
        rows.updated |= {by_pk[pk] for pk in changed_pks} - rows.created

    return SyncResult(
        business_units=bu_rows.counts(),
        groups=group_rows.counts(),
        teams=team_rows.counts(),
        queues=queue_rows.counts(),
        agents=agent_rows.counts(),
    )


@dataclass(frozen=True)
class Membership:
    """Where an agent sits in the structure, as Clarity ids: its team, and through the team
    its groups and business unit (an agent belongs to groups and units only via its team)."""

    team_id: int | None = None
    group_ids: tuple[int, ...] = ()
    business_unit_id: int | None = None


def agent_memberships(structure: MbuStructure) -> dict[int, Membership]:
    """Each agent's team, groups and business unit, read from both sides of each relation the
    way `sync_mbu` reads them, so that the bridge's live rows and the rows the pages render
    from the database put an agent in the same groups. Ids of entities the structure does
    not list are ignored."""
    teams = {t.id: t for t in structure.teams}
    groups = {g.id for g in structure.groups}
    units = {b.id for b in structure.business_units}
    team_of_agent = {a: t.id for t in structure.teams for a in t.agent_ids}
    unit_of_team = {t: b.id for b in structure.business_units for t in b.team_ids}
    groups_of_team: dict[int, set[int]] = {i: set(t.group_ids) & groups for i, t in teams.items()}
    for g in structure.groups:
        for t in g.team_ids:
            if t in groups_of_team:
                groups_of_team[t].add(g.id)

    def unit_of(team_id: int) -> int | None:
        stated = teams[team_id].business_unit_id
        if stated is not None and stated in units:
            return stated
        return unit_of_team.get(team_id)

    found: dict[int, Membership] = {}
    for agent in structure.agents:
        team_id = agent.team_id if agent.team_id in teams else team_of_agent.get(agent.id)
        if team_id is None:
            found[agent.id] = Membership()
            continue
        found[agent.id] = Membership(team_id, tuple(sorted(groups_of_team[team_id])),
                                     unit_of(team_id))
    return found


def stored_memberships(agents: Iterable[Agent]) -> dict[int, Membership]:
    """`agent_memberships` as the database has it (what the last sync stored), by agent
    Clarity id: active groups only, as a new sync would list them. Two queries."""
    agents = list(agents)
    team_pks = {a.team_id for a in agents if a.team_id is not None}
    teams = {
        pk: (cid, unit)
        for pk, cid, unit in Team.objects.filter(pk__in=team_pks).values_list(
            "pk", "clarity_id", "business_unit__clarity_id"
        )
    }
    groups: dict[int, list[int]] = defaultdict(list)
    links = Team.groups.through.objects.filter(team__in=team_pks, group__active=True)
    for team_pk, group_id in links.values_list("team_id", "group__clarity_id"):
        groups[team_pk].append(group_id)
    found: dict[int, Membership] = {}
    for agent in agents:
        if agent.team_id not in teams:
            found[agent.clarity_id] = Membership()
            continue
        team_id, unit_id = teams[agent.team_id]
        found[agent.clarity_id] = Membership(team_id, tuple(sorted(groups[agent.team_id])),
                                             unit_id)
    return found


# ---------------------------------------------------------------------------------------------
# Visibility
# ---------------------------------------------------------------------------------------------

_EMPTY: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Visibility:
    """What one viewer may see, as Clarity ids of active entities.

    For a superuser `everything` is True and the sets list every active entity known at the
    time; use the `sees_*` methods to test an id, so that entities the bridge learns of before
    the next MBU sync are not hidden from superusers."""

    agent_ids: frozenset[int] = _EMPTY
    queue_ids: frozenset[int] = _EMPTY
    team_ids: frozenset[int] = _EMPTY
    group_ids: frozenset[int] = _EMPTY
    business_unit_ids: frozenset[int] = _EMPTY
    everything: bool = False

    def sees_agent(self, clarity_id: int) -> bool:
        return self.everything or clarity_id in self.agent_ids

    @property
    def sees_anything(self) -> bool:
        """False for a viewer with no scope (or a revoked wallboard): such a viewer hears of
        nothing, the dashboard's own alerts about other platforms included."""
        return self.everything or any((self.agent_ids, self.queue_ids, self.team_ids,
                                       self.group_ids, self.business_unit_ids))

    def sees_queue(self, clarity_id: int) -> bool:
        return self.everything or clarity_id in self.queue_ids

    def sees_team(self, clarity_id: int) -> bool:
        return self.everything or clarity_id in self.team_ids

    def sees_group(self, clarity_id: int) -> bool:
        return self.everything or clarity_id in self.group_ids

    def sees_business_unit(self, clarity_id: int) -> bool:
        return self.everything or clarity_id in self.business_unit_ids

    def sees(self, entity_type: str, clarity_id: int | None) -> bool:
        """By the contract's entity type names ("agent", "queue", "team", "group",
        "businessUnit"), as alerts carry them. Unknown types are for superusers only."""
        if self.everything:
            return True
        ids = {
            "agent": self.agent_ids,
            "queue": self.queue_ids,
            "team": self.team_ids,
            "group": self.group_ids,
            "businessUnit": self.business_unit_ids,
        }.get(entity_type)
        return ids is not None and clarity_id in ids

    @property
    def is_empty(self) -> bool:
        return not self.everything and not (
            self.agent_ids or self.queue_ids or self.team_ids or self.group_ids
            or self.business_unit_ids
        )


NOTHING = Visibility()


def _ids(rows: Iterable[Any]) -> frozenset[int]:
    return frozenset(rows)


def visibility_for(user: Any) -> Visibility:
    """What `user` may see: a superuser everything; a user with a SupervisorScope the teams
    assigned directly, the teams of the assigned groups and business units, their agents, the
    queues those teams serve or the assigned business units own, and the groups and business
    units around them; anyone else (no scope, inactive, anonymous) nothing. Six queries."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return Visibility(
            agent_ids=_ids(Agent.objects.filter(active=True).values_list("clarity_id", flat=True)),
            queue_ids=_ids(Queue.objects.filter(active=True).values_list("clarity_id", flat=True)),
            team_ids=_ids(Team.objects.filter(active=True).values_list("clarity_id", flat=True)),
            group_ids=_ids(Group.objects.filter(active=True).values_list("clarity_id", flat=True)),
            business_unit_ids=_ids(
                BusinessUnit.objects.filter(active=True).values_list("clarity_id", flat=True)
            ),
            everything=True,
        )
    scope = SupervisorScope.objects.filter(user=user).first()
    if scope is None:
        return NOTHING

    # Subqueries rather than joins: no duplicate rows, one round trip each.
    scope_groups = scope.groups.filter(active=True).values("pk")
    scope_bus = scope.business_units.filter(active=True).values("pk")
    team_rows = list(
        Team.objects.filter(active=True)
        .filter(
            Q(pk__in=scope.teams.values("pk"))
            | Q(pk__in=Team.groups.through.objects.filter(group__in=scope_groups).values("team_id"))
            | Q(business_unit__in=scope_bus)
        )
        .values_list("pk", "clarity_id", "business_unit_id")
    )
    team_pks = [pk for pk, _, _ in team_rows]
    agent_ids = Agent.objects.filter(active=True, team__in=team_pks).values_list(
        "clarity_id", flat=True
    )
    queue_ids = (
        Queue.objects.filter(active=True)
        .filter(
            Q(pk__in=Queue.teams.through.objects.filter(team__in=team_pks).values("queue_id"))
            | Q(business_unit__in=scope_bus)
        )
        .values_list("clarity_id", flat=True)
    )
    group_ids = (
        Group.objects.filter(active=True)
        .filter(
            Q(pk__in=scope_groups)
            | Q(pk__in=Team.groups.through.objects.filter(team__in=team_pks).values("group_id"))
        )
        .values_list("clarity_id", flat=True)
    )
    team_bu_pks = {bu for _, _, bu in team_rows if bu is not None}
    bu_ids = (
        BusinessUnit.objects.filter(active=True)
        .filter(Q(pk__in=scope_bus) | Q(pk__in=team_bu_pks))
        .values_list("clarity_id", flat=True)
    )
    return Visibility(
        agent_ids=_ids(agent_ids),
        queue_ids=_ids(queue_ids),
        team_ids=_ids(cid for _, cid, _ in team_rows),
        group_ids=_ids(group_ids),
        business_unit_ids=_ids(bu_ids),
    )


def visibility_for_wallboard(wallboard: Wallboard) -> Visibility:
    """What a wallboard shows: its queues and teams and the teams' agents; nothing else (no
    groups or business units), and nothing at all once revoked."""
    if wallboard.is_revoked:
        return NOTHING
    team_rows = list(wallboard.teams.filter(active=True).values_list("pk", "clarity_id"))
    agent_ids = Agent.objects.filter(active=True, team__in=[pk for pk, _ in team_rows])
    return Visibility(
        agent_ids=_ids(agent_ids.values_list("clarity_id", flat=True)),
        queue_ids=_ids(wallboard.queues.filter(active=True).values_list("clarity_id", flat=True)),
        team_ids=_ids(cid for _, cid in team_rows),
    )

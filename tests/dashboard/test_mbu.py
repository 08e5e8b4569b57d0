"""The MBU sync, visibility, and `manage.py sync_mbu` against the simulator."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.management import CommandError, call_command

from dashboard.mbu import (
    NOTHING,
    EmptyStructureError,
    Visibility,
    sync_mbu,
    visibility_for,
    visibility_for_wallboard,
)
from dashboard.models import (
    Agent,
    BusinessUnit,
    Group,
    Queue,
    StatusPeriod,
    SupervisorScope,
    Team,
    Wallboard,
)
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread
from integrations.clarity.wire import MbuStructure

# Shaped like the seed's Get MBU Structure response, spellings included ("Agent", "Business
# Unti"). Two business units; team 4 (Business) also serves queue 2 (Consumer), so that
# "queues served by a team" and "queues of a business unit" differ.
MBU_JSON: dict[str, Any] = {
    "agents": [
        {"type": "Agent", "id": 11, "name": "Ada Lovelace", "teamId": 1,
         "canSilentJoin": True, "canWhisperJoin": True, "canRecord": True},
        {"type": "Agent", "id": 12, "name": "Ben Okafor", "teamId": 1,
         "canSilentJoin": False, "canWhisperJoin": False, "canRecord": False},
        {"type": "Agent", "id": 21, "name": "Cy Tran", "teamId": 2,
         "canSilentJoin": True, "canWhisperJoin": False, "canRecord": False},
        {"type": "Agent", "id": 31, "name": "Di Moreau", "teamId": 3,
         "canSilentJoin": False, "canWhisperJoin": False, "canRecord": True},
        {"type": "Agent", "id": 32, "name": "Ed Kowalski", "teamId": 3,
         "canSilentJoin": False, "canWhisperJoin": False, "canRecord": False},
        {"type": "Agent", "id": 41, "name": "Flo Nakamura", "teamId": 4,
         "canSilentJoin": False, "canWhisperJoin": False, "canRecord": False},
    ],
    "queues": [
        {"type": "Queue", "id": 1, "name": "Sales", "businessUnitId": 1, "teamIds": [1]},
        {"type": "Queue", "id": 2, "name": "Support", "businessUnitId": 1, "teamIds": [1, 4]},
        {"type": "Queue", "id": 3, "name": "Billing", "businessUnitId": 1, "teamIds": [2]},
        {"type": "Queue", "id": 4, "name": "Enterprise", "businessUnitId": 2, "teamIds": [3]},
        {"type": "Queue", "id": 5, "name": "Partners", "businessUnitId": 2, "teamIds": [4]},
        # Served by no team yet: visible through its business unit only.
        {"type": "Queue", "id": 6, "name": "Escalations", "businessUnitId": 2},
    ],
    "teams": [
        {"type": "Team", "id": 1, "name": "Falcons", "businessUnitId": 1, "groupIds": [1],
         "agentIds": [11, 12], "queueIds": [1, 2]},
        {"type": "Team", "id": 2, "name": "Owls", "businessUnitId": 1, "groupIds": [2],
         "agentIds": [21], "queueIds": [3]},
        {"type": "Team", "id": 3, "name": "Hawks", "businessUnitId": 2, "groupIds": [1],
         "agentIds": [31, 32], "queueIds": [4]},
        {"type": "Team", "id": 4, "name": "Ravens", "businessUnitId": 2,
         "agentIds": [41], "queueIds": [2, 5]},
    ],
    "groups": [
        {"type": "Group", "id": 1, "name": "Tier 1", "teamIds": [1, 3]},
        {"type": "Group", "id": 2, "name": "Specialists", "teamIds": [2]},
    ],
    "businessUnits": [
        {"type": "Business Unti", "id": 1, "name": "Consumer", "teamIds": [1, 2],
         "queueIds": [1, 2, 3]},
        {"type": "Business Unti", "id": 2, "name": "Business", "teamIds": [3, 4],
         "queueIds": [4, 5, 6]},
    ],
}


def mbu_json() -> dict[str, Any]:
    """A copy of MBU_JSON to modify."""
    return copy.deepcopy(MBU_JSON)


def structure(data: dict[str, Any] | None = None) -> MbuStructure:
    return MbuStructure.from_json(mbu_json() if data is None else data)


def synced() -> None:
    """The database as the first sync of MBU_JSON leaves it (for other test modules)."""
    sync_mbu(structure())


def _item(data: dict[str, Any], section: str, clarity_id: int) -> dict[str, Any]:
    return next(item for item in data[section] if item["id"] == clarity_id)


def _clarity_ids(qs: Any) -> set[int]:
    return set(qs.values_list("clarity_id", flat=True))


def _counts(result: Any) -> dict[str, tuple[int, int, int]]:
    return {kind: (c.created, c.updated, c.deactivated) for kind, c in result.items()}


# -- sync ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_first_sync_creates_everything_with_memberships() -> None:
    result = sync_mbu(structure())

    assert _counts(result) == {
        "business_units": (2, 0, 0),
        "groups": (2, 0, 0),
        "teams": (4, 0, 0),
        "queues": (6, 0, 0),
        "agents": (6, 0, 0),
    }
    assert result.changed
    falcons = Team.objects.get(clarity_id=1)
    assert falcons.name == "Falcons" and falcons.business_unit.name == "Consumer"
    assert _clarity_ids(falcons.groups.all()) == {1}
    assert _clarity_ids(Team.objects.get(clarity_id=4).groups.all()) == set()
    support = Queue.objects.get(clarity_id=2)
    assert support.business_unit.clarity_id == 1
    assert _clarity_ids(support.teams.all()) == {1, 4}
    ada = Agent.objects.get(clarity_id=11)
    assert ada.team == falcons and ada.active
    assert (ada.can_record, ada.can_silent_join, ada.can_whisper_join) == (True, True, True)
    assert not Agent.objects.get(clarity_id=12).can_record
    assert _clarity_ids(Group.objects.get(clarity_id=1).teams.all()) == {1, 3}
    assert all(bu.active for bu in BusinessUnit.objects.all())


@pytest.mark.django_db
def test_second_sync_of_the_same_structure_changes_nothing(
    django_assert_max_num_queries: Any,
) -> None:
    sync_mbu(structure())
    before = list(Agent.objects.values()) + list(Queue.teams.through.objects.values())

    with django_assert_max_num_queries(20):
        result = sync_mbu(structure())

    assert not result.changed
    assert all(c == (0, 0, 0) for c in _counts(result).values())
    assert list(Agent.objects.values()) + list(Queue.teams.through.objects.values()) == before
    assert "0 created, 0 updated, 0 deactivated" in str(result)


@pytest.mark.django_db
def test_sync_updates_names_and_moves_agents_between_teams() -> None:
    sync_mbu(structure())
    data = mbu_json()
    _item(data, "queues", 1)["name"] = "Sales (new)"
    _item(data, "agents", 12)["teamId"] = 2
    _item(data, "agents", 12)["canRecord"] = True
    _item(data, "teams", 1)["agentIds"] = [11]
    _item(data, "teams", 2)["agentIds"] = [21, 12]
    _item(data, "groups", 2)["name"] = "Experts"

    result = sync_mbu(structure(data))

    assert _counts(result) == {
        "business_units": (0, 0, 0),
        "groups": (0, 1, 0),
        "teams": (0, 0, 0),
        "queues": (0, 1, 0),
        "agents": (0, 1, 0),
    }
    assert Queue.objects.get(clarity_id=1).name == "Sales (new)"
    assert Group.objects.get(clarity_id=2).name == "Experts"
    ben = Agent.objects.get(clarity_id=12)
    assert ben.team.clarity_id == 2 and ben.can_record


@pytest.mark.django_db
def test_sync_deactivates_what_is_gone_and_keeps_its_history() -> None:
    sync_mbu(structure())
    flo = Agent.objects.get(clarity_id=41)
    StatusPeriod.objects.create(agent=flo, status="available", started_at="2025-01-01T08:00Z")
    data = mbu_json()
    data["agents"] = [a for a in data["agents"] if a["id"] != 41]
    data["teams"] = [t for t in data["teams"] if t["id"] != 4]
    data["queues"] = [q for q in data["queues"] if q["id"] != 5]
    _item(data, "queues", 2)["teamIds"] = [1]
    _item(data, "businessUnits", 2)["teamIds"] = [3]
    _item(data, "businessUnits", 2)["queueIds"] = [4, 6]

    result = sync_mbu(structure(data))

    counts = _counts(result)
    assert counts["agents"] == (0, 0, 1)
    assert counts["teams"] == (0, 0, 1)
    # Queue 2 lost team 4 from its teams: an update. Queue 5 is gone.
    assert counts["queues"] == (0, 1, 1)
    assert _clarity_ids(Agent.objects.filter(active=False)) == {41}
    assert _clarity_ids(Team.objects.filter(active=False)) == {4}
    assert _clarity_ids(Queue.objects.filter(active=False)) == {5}
    assert _clarity_ids(Queue.objects.get(clarity_id=2).teams.all()) == {1}
    # Never deleted: history still points at the agent.
    assert StatusPeriod.objects.filter(agent__clarity_id=41).count() == 1

    # And back again: reactivated, counted as updates.
    result = sync_mbu(structure())
    assert _counts(result)["agents"] == (0, 1, 0)
    assert _counts(result)["teams"] == (0, 1, 0)
    assert not Agent.objects.filter(active=False).exists()


@pytest.mark.django_db
def test_memberships_stated_on_one_side_only_are_linked() -> None:
    data = mbu_json()
    # Only the group says team 4 is in it; only team 2 says it serves queue 5; only the team
    # lists agent 41; only the business unit lists team 3.
    _item(data, "groups", 2)["teamIds"] = [2, 4]
    _item(data, "teams", 2)["queueIds"] = [3, 5]
    del _item(data, "agents", 41)["teamId"]
    del _item(data, "teams", 3)["businessUnitId"]

    sync_mbu(structure(data))

    assert _clarity_ids(Team.objects.get(clarity_id=4).groups.all()) == {2}
    assert _clarity_ids(Queue.objects.get(clarity_id=5).teams.all()) == {2, 4}
    assert Agent.objects.get(clarity_id=41).team.clarity_id == 4
    assert Team.objects.get(clarity_id=3).business_unit.clarity_id == 2


@pytest.mark.django_db
def test_ids_of_entities_not_in_the_structure_are_ignored() -> None:
    data = mbu_json()
    _item(data, "queues", 1)["teamIds"] = [1, 99]
    _item(data, "agents", 11)["teamId"] = 99
    del _item(data, "agents", 12)["name"]

    sync_mbu(structure(data))

    assert _clarity_ids(Queue.objects.get(clarity_id=1).teams.all()) == {1}
    # Team 99 is unknown, but team 1 lists agent 11.
    assert Agent.objects.get(clarity_id=11).team.clarity_id == 1
    assert Agent.objects.get(clarity_id=12).name == "Agent 12"


@pytest.mark.django_db
def test_an_empty_structure_is_refused_unless_allowed() -> None:
    sync_mbu(structure())

    with pytest.raises(EmptyStructureError):
        sync_mbu(MbuStructure.from_json({}))
    assert not Agent.objects.filter(active=False).exists()

    result = sync_mbu(MbuStructure.from_json({}), allow_empty=True)
    assert result.agents.deactivated == 6
    assert not Agent.objects.filter(active=True).exists()


# -- visibility ---------------------------------------------------------------------------------


@pytest.fixture
def scoped(db: None) -> Iterator[Any]:
    """A factory of users with a SupervisorScope over the given Clarity ids."""
    sync_mbu(structure())

    def make(*, teams: tuple[int, ...] = (), groups: tuple[int, ...] = (),
             business_units: tuple[int, ...] = ()) -> User:
        user = User.objects.create_user(f"sup{User.objects.count()}")
        scope = SupervisorScope.objects.create(user=user)
        scope.teams.set(Team.objects.filter(clarity_id__in=teams))
        scope.groups.set(Group.objects.filter(clarity_id__in=groups))
        scope.business_units.set(BusinessUnit.objects.filter(clarity_id__in=business_units))
        return user

    yield make


def _as_tuple(v: Visibility) -> tuple[set[int], ...]:
    return (set(v.agent_ids), set(v.queue_ids), set(v.team_ids), set(v.group_ids),
            set(v.business_unit_ids))


@pytest.mark.django_db
def test_a_superuser_sees_everything() -> None:
    sync_mbu(structure())
    admin = User.objects.create_superuser("root")

    v = visibility_for(admin)

    assert v.everything
    assert _as_tuple(v) == ({11, 12, 21, 31, 32, 41}, {1, 2, 3, 4, 5, 6}, {1, 2, 3, 4}, {1, 2},
                            {1, 2})
    assert v.sees_agent(999) and v.sees("alert-kind-we-do-not-know", 1)


def test_a_user_scoped_to_one_team_sees_that_team(scoped: Any,
                                                 django_assert_max_num_queries: Any) -> None:
    user = scoped(teams=(2,))

    with django_assert_max_num_queries(6):
        v = visibility_for(user)

    assert not v.everything
    assert _as_tuple(v) == ({21}, {3}, {2}, {2}, {1})
    assert v.sees_agent(21) and not v.sees_agent(11)
    assert v.sees("queue", 3) and not v.sees("queue", 1) and v.sees("businessUnit", 1)
    assert not v.sees("somethingElse", 21)


def test_a_user_scoped_to_a_group_sees_its_teams(scoped: Any) -> None:
    v = visibility_for(scoped(groups=(1,)))

    assert _as_tuple(v) == ({11, 12, 31, 32}, {1, 2, 4}, {1, 3}, {1}, {1, 2})


def test_a_user_scoped_to_a_business_unit_sees_its_teams_and_queues(scoped: Any) -> None:
    v = visibility_for(scoped(business_units=(2,)))

    # Queue 2 belongs to the other business unit but is served by team 4; queue 6 is served by
    # no team but belongs to the business unit.
    assert _as_tuple(v) == ({31, 32, 41}, {2, 4, 5, 6}, {3, 4}, {1}, {2})


def test_scopes_add_up(scoped: Any) -> None:
    v = visibility_for(scoped(teams=(2,), business_units=(2,)))

    assert set(v.team_ids) == {2, 3, 4} and set(v.agent_ids) == {21, 31, 32, 41}


def test_a_user_without_a_scope_sees_nothing(scoped: Any) -> None:
    plain = User.objects.create_user("plain")

    assert visibility_for(plain) == NOTHING
    assert visibility_for(plain).is_empty
    assert visibility_for(AnonymousUser()) == NOTHING
    assert not NOTHING.sees_queue(1)


def test_an_inactive_user_sees_nothing(scoped: Any) -> None:
    user = scoped(teams=(1,))
    user.is_active = False

    assert visibility_for(user) == NOTHING


def test_deactivated_entities_are_not_visible(scoped: Any) -> None:
    user = scoped(teams=(1, 4))
    data = mbu_json()
    data["agents"] = [a for a in data["agents"] if a["id"] != 41]
    data["teams"] = [t for t in data["teams"] if t["id"] != 4]
    sync_mbu(structure(data))

    v = visibility_for(user)

    assert set(v.team_ids) == {1} and set(v.agent_ids) == {11, 12}


@pytest.mark.django_db
def test_a_wallboard_sees_its_queues_and_teams_only() -> None:
    sync_mbu(structure())
    board = Wallboard.objects.create(name="Floor 2")
    board.queues.set(Queue.objects.filter(clarity_id__in=[1, 5]))
    board.teams.set(Team.objects.filter(clarity_id=3))

    v = visibility_for_wallboard(board)

    assert _as_tuple(v) == ({31, 32}, {1, 5}, {3}, set(), set())
    assert not v.everything

    board.revoked_at = board.created_at
    assert visibility_for_wallboard(board) == NOTHING


# -- manage.py sync_mbu -------------------------------------------------------------------------


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorThread]:
    sim = SimulatorThread(SimulatorConfig(port=0)).start()
    try:
        for name, value in {"CLARITY_URL": sim.url, "CLARITY_AUTH": "basic",
                            "CLARITY_USERNAME": "supervisor", "CLARITY_PASSWORD": "demo"}.items():
            monkeypatch.setenv(name, value)
        yield sim
    finally:
        sim.stop()


@pytest.mark.django_db
def test_sync_mbu_command_against_the_simulator(simulator: SimulatorThread,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    call_command("sync_mbu")

    out = capsys.readouterr().out
    assert "queues: 8 created, 0 updated, 0 deactivated" in out
    assert "MBU structure synced." in out
    assert Queue.objects.filter(active=True).count() == 8
    assert BusinessUnit.objects.count() == 2 and Group.objects.count() == 3
    assert Team.objects.count() == 6
    assert Agent.objects.count() > 60
    # Supervisors belong to no team (teamId -1 in the simulator); every agent does.
    assert Agent.objects.filter(team__isnull=False).count() >= 60
    assert Queue.teams.through.objects.exists()

    call_command("sync_mbu")
    assert "nothing changed" in capsys.readouterr().out


@pytest.mark.django_db
def test_sync_mbu_command_reports_clarity_errors(simulator: SimulatorThread,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARITY_PASSWORD", "wrong")

    with pytest.raises(CommandError, match="could not read the MBU structure"):
        call_command("sync_mbu")
    assert not Agent.objects.exists()


@pytest.mark.django_db
def test_sync_mbu_command_reports_a_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARITY_AUTH", "kerberos")

    with pytest.raises(CommandError, match="configuration"):
        call_command("sync_mbu")

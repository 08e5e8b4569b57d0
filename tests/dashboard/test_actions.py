"""Supervisor actions end to end: dashboard.actions -> ClarityClient -> the real simulator.

Every effect is read back from the simulator's own model (`sim.call`), not through the client
under test. The only thing between the client and the simulator is `Wire`, a real httpx
transport that notes each request (and can hold one back), so that tests can say how many
calls reached Clarity; nothing is faked.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.apps import apps as django_apps
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.contrib.auth.models import Group as Role
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from dashboard import actions
from dashboard.clarity import close_web_client, web_client
from dashboard.mbu import sync_mbu
from dashboard.models import Agent, AuditEntry, SupervisorScope, Team
from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig, RetryPolicy
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

pytestmark = pytest.mark.django_db(transaction=True)

roles_migration = importlib.import_module("dashboard.migrations.0004_roles")

FAST_RETRY = RetryPolicy(attempts=3, base=0.001, cap=0.005)
VIEW = {"view_agent", "view_queue", "view_team", "view_group", "view_businessunit",
        "view_alert", "view_statusperiod", "view_queuesample"}
ACT = {"change_agent_status", "suspend_agent", "record_agent", "annotate_session"}
LIVE = ("Active", "AfterCall")
WRITE_ROUTE = re.compile(r"/set\w+$")


# ---------------------------------------------------------------------------------------------
# The simulator, the client, the structure and the people
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the only changes are the ones the tests make."""
    with SimulatorThread(SimulatorConfig(port=0, seed=53, speed=1e-6)) as s:
        yield s


@pytest.fixture(autouse=True)
def _clean(sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A fresh repeated-click guard per test: it is per process, and tests must not see each
    # other's clicks.
    monkeypatch.setattr(actions, "_guard", actions._RepeatGuard())
    yield
    sim.call(sim.sim.clear_faults)


class Wire(httpx.AsyncHTTPTransport):
    """The real network, with a note of every API (v2) request; `hold(fragment)` keeps requests
    whose path contains `fragment` waiting until `release()`."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []
        self._held = ""
        self._gate = asyncio.Event()
        self.waiting = asyncio.Event()

    def hold(self, fragment: str) -> None:
        self._held = fragment
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/webapi/api/v2/"):  # not the token service's discovery
            self.requests.append((request.method, path.removeprefix("/webapi/api")))
        if self._held and self._held in path:
            self.waiting.set()
            await self._gate.wait()
        return await super().handle_async_request(request)

    def writes(self) -> list[tuple[str, str]]:
        # The session writes travel as GETs with a body, as the seed documents them.
        return [r for r in self.requests if r[0] == "POST" or WRITE_ROUTE.search(r[1])]


def sim_config(sim: SimulatorThread, **overrides: Any) -> ClarityConfig:
    return replace(ClarityConfig(retry=FAST_RETRY).with_url(sim.url), **overrides)


@pytest.fixture
async def wire() -> Wire:
    return Wire()


@pytest.fixture
async def client(sim: SimulatorThread, wire: Wire) -> AsyncIterator[ClarityClient]:
    async with ClarityClient(sim_config(sim), transport=wire) as c:
        yield c


@pytest.fixture
async def structure(sim: SimulatorThread) -> None:
    """The MBU structure in the database (scopes are computed from it) and the roles."""
    async with ClarityClient(sim_config(sim)) as setup:
        mbu = await setup.mbu()
    await sync_to_async(sync_mbu)(mbu)
    # Transactional tests empty the tables after each test, the migration's groups included:
    # put them back the way the migration makes them.
    await sync_to_async(roles_migration.create_roles)(django_apps, None)


def _team_of(agent_id: int) -> int:
    team = Agent.objects.get(clarity_id=agent_id).team
    assert team is not None
    return team.clarity_id


def _make_user(name: str, role: str | None = None, team_ids: tuple[int, ...] = (),
               *, superuser: bool = False) -> User:
    if superuser:
        return User.objects.create_superuser(name, password="x")
    user = User.objects.create_user(name, password="x")
    if role:
        user.groups.add(Role.objects.get(name=role))
    if team_ids:
        scope = SupervisorScope.objects.create(user=user)
        scope.teams.set(Team.objects.filter(clarity_id__in=team_ids))
    return user


async def make_user(name: str, role: str | None = None, *, agent: int | None = None,
                    outside: int | None = None, superuser: bool = False) -> User:
    """A user with `role`, scoped to the team of `agent`, or to any team but the one of
    `outside`."""

    def build() -> User:
        teams: tuple[int, ...] = ()
        if agent is not None:
            teams = (_team_of(agent),)
        elif outside is not None:
            other = Team.objects.exclude(clarity_id=_team_of(outside)).filter(agents__isnull=False)
            teams = (other.first().clarity_id,)  # type: ignore[union-attr]
        return _make_user(name, role, teams, superuser=superuser)

    return await sync_to_async(build)()


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("pk"))


async def audit() -> list[AuditEntry]:
    return await sync_to_async(entries)()


# -- reading the simulator's own state ---------------------------------------------------------


def on_sim(sim: SimulatorThread, fn: Callable[[Any], Any]) -> Any:
    return sim.call(lambda: fn(sim.sim.cc))


def agent_state(sim: SimulatorThread, agent_id: int) -> tuple[str, int | None, bool]:
    return on_sim(sim, lambda cc: (cc.agents[agent_id].status, cc.agents[agent_id].reason_code_id,
                                   cc.agents[agent_id].suspended))


def idle_agent(sim: SimulatorThread, *, skip: tuple[int, ...] = ()) -> int:
    """An agent in a team, with no session and no offer: their status is theirs to change."""

    def pick(cc: Any) -> int:
        for a in sorted(cc.agents.values(), key=lambda a: a.id):
            if (a.role == "agent" and not a.session_ids and a.offer_session_id is None
                    and a.id not in skip):
                return a.id
        raise AssertionError("no idle agent")

    return on_sim(sim, pick)


def live_session(sim: SimulatorThread, *, recordable: bool | None = None,
                 skip: tuple[int, ...] = ()) -> tuple[int, int]:
    """(session id, its agent id) of a live session with one agent on it."""

    def pick(cc: Any) -> tuple[int, int]:
        for s in sorted(cc.sessions.values(), key=lambda s: s.id):
            agents = {p.agent_id for p in s.participations if p.status in ("Accepted", "AfterCall")}
            if (s.status in LIVE and len(agents) == 1 and s.agent_id in agents
                    and s.id not in skip and not s.is_recording
                    and (recordable is None or s.can_be_recorded == recordable)):
                return s.id, s.agent_id
        raise AssertionError("no such session")

    return on_sim(sim, pick)


# ---------------------------------------------------------------------------------------------
# The actions do what they say, upstream
# ---------------------------------------------------------------------------------------------


async def test_a_supervisor_puts_an_agent_on_break_with_a_reason_and_back(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    away = await actions.change_agent_status(boss, agent_id, client, status_id=3,
                                             reason_code_id=2)

    assert away.ok and away.result == "ok" and away.upstream_status == 204
    assert "accepted" in away.message
    assert agent_state(sim, agent_id)[:2] == ("unavailable", 2)
    assert wire.writes() == [("POST", f"/v2/agentStatus/update/{agent_id}")]

    back = await actions.change_agent_status(boss, agent_id, client, status_id=10)
    assert back.ok
    assert agent_state(sim, agent_id)[:2] == ("beRightBack", None)

    first, second = await audit()
    assert (first.user_id, first.username, first.action, first.target_type, first.target_id,
            first.agent_clarity_id) == (boss.pk, "boss", "agent.status", "agent", agent_id,
                                        agent_id)
    assert first.params == {"agent_status_id": 3, "reason_code_id": 2}
    assert (first.outcome, first.upstream_status, first.message) == ("ok", 204, away.message)
    assert first.duration_ms >= 0 and first.created_at is not None
    assert away.audit_id == first.pk and back.audit_id == second.pk
    assert second.params == {"agent_status_id": 10, "reason_code_id": None}


async def test_suspending_and_lifting_it_change_the_agent_upstream(
        sim: SimulatorThread, client: ClarityClient, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    on = await actions.set_agent_suspended(boss, agent_id, client, suspended=True)
    assert on.ok and on.upstream_status == 204
    assert agent_state(sim, agent_id)[2] is True

    off = await actions.set_agent_suspended(boss, agent_id, client, suspended=False)
    assert off.ok and off.message != on.message
    assert agent_state(sim, agent_id)[2] is False

    assert [(e.action, e.params, e.outcome) for e in await audit()] == [
        ("agent.suspend", {"suspended": True}, "ok"),
        ("agent.suspend", {"suspended": False}, "ok"),
    ]


async def test_recording_starts_and_stops_and_reports_each_session(
        sim: SimulatorThread, client: ClarityClient, structure: None) -> None:
    session_id, agent_id = live_session(sim, recordable=True)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    def recording(sid: int) -> bool:
        return on_sim(sim, lambda cc: cc.sessions[sid].is_recording)

    started = await actions.set_agent_recording(boss, agent_id, client, start=True)

    assert started.upstream_status == 200
    by_id = {d.session_id: d for d in started.details}
    assert session_id in by_id
    for detail in started.details:
        # The simulator's portal refuses about one request in fifty; whatever the answer says
        # is what the session is.
        assert detail.result in ("recorded", "failed")
        assert recording(detail.session_id) is (detail.result == "recorded")
        assert detail.label
    assert started.ok is all(d.result == "recorded" for d in started.details)
    if by_id[session_id].result == "recorded":
        assert "Recording started for" in started.message

    stopped = await actions.set_agent_recording(boss, agent_id, client, start=False)
    for detail in stopped.details:
        assert detail.result in ("stopped", "failed")
        assert recording(detail.session_id) is (detail.result == "failed")

    first, second = await audit()
    assert (first.action, first.params, first.upstream_status) == (
        "agent.recording", {"action": "start"}, 200)
    assert f"session {session_id}: " in first.detail
    assert second.params == {"action": "stop"}


async def test_a_session_that_may_not_be_recorded_is_reported_denied(
        sim: SimulatorThread, client: ClarityClient, structure: None) -> None:
    session_id, agent_id = live_session(sim, recordable=False)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    outcome = await actions.set_agent_recording(boss, agent_id, client, start=True)

    assert [(d.session_id, d.result) for d in outcome.details] == [(session_id, "denied")]
    assert outcome.result == "failed" and "1 denied" in outcome.message
    assert on_sim(sim, lambda cc: cc.sessions[session_id].is_recording) is False
    (entry,) = await audit()
    assert entry.outcome == "failed" and entry.upstream_status == 200
    assert entry.detail == f"session {session_id}: denied"


async def test_recording_an_agent_without_sessions_says_there_was_nothing_to_record(
        sim: SimulatorThread, client: ClarityClient, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    outcome = await actions.set_agent_recording(boss, agent_id, client, start=True)

    assert outcome.ok and outcome.details == () and "nothing to record" in outcome.message


async def test_call_notes_and_a_disposition_are_saved_on_the_session(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    session_id, agent_id = live_session(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    disposition, sub = on_sim(sim, lambda cc: next(
        (d.id, d.subs[1][0]) for d in cc.dispositions.values() if len(d.subs) > 1))

    notes = await actions.save_call_notes(boss, session_id, client, note="Customer asked twice")
    saved = await actions.save_disposition(boss, session_id, client, disposition_id=disposition,
                                           sub_disposition_id=sub)

    assert notes.ok and notes.upstream_status == 204 and notes.message == "Call notes saved."
    assert saved.ok and saved.message == "Disposition saved."
    state = on_sim(sim, lambda cc: (cc.sessions[session_id].call_note,
                                    cc.sessions[session_id].disposition_id,
                                    cc.sessions[session_id].sub_disposition_id))
    assert state == ("Customer asked twice", disposition, sub)
    # Whose session it is comes from Clarity, then the write.
    assert wire.requests[0] == ("GET", f"/v2/sessions/{session_id}")
    assert wire.writes() == [("GET", f"/v2/sessions/{session_id}/setcallnotes"),
                             ("GET", f"/v2/sessions/{session_id}/setdispositions")]
    first, second = await audit()
    assert (first.action, first.target_type, first.target_id, first.agent_clarity_id,
            first.params) == ("session.notes", "session", session_id, agent_id,
                              {"note": "Customer asked twice"})
    assert second.params == {"disposition_id": disposition, "sub_disposition_id": sub}


async def test_a_supervisor_may_annotate_a_call_transferred_to_their_team(
        sim: SimulatorThread, client: ClarityClient, structure: None) -> None:
    def transferred(cc: Any) -> tuple[int, int, int] | None:
        for s in sorted(cc.sessions.values(), key=lambda s: s.id):
            if (s.status in LIVE and s.primary_agent_id not in (None, s.agent_id)
                    and cc.agents[s.agent_id].team_id != cc.agents[s.primary_agent_id].team_id):
                return s.id, s.agent_id, s.primary_agent_id
        return None

    # Run the model forward (a simulated minute at a time, at most three hours) until a live
    # call has been transferred across teams: the traffic model transfers some calls.
    found = on_sim(sim, transferred)
    for _ in range(180):
        if found is not None:
            break
        on_sim(sim, lambda cc: cc.advance(60.0))
        found = on_sim(sim, transferred)
    assert found is not None, "no call was transferred across teams in three simulated hours"
    session_id, first_agent, now_with = found
    boss = await make_user("boss", "Supervisor", agent=now_with)

    outcome = await actions.save_call_notes(boss, session_id, client, note="transferred")

    assert outcome.ok
    assert on_sim(sim, lambda cc: cc.sessions[session_id].call_note) == "transferred"
    (entry,) = await audit()
    assert entry.agent_clarity_id == first_agent


# ---------------------------------------------------------------------------------------------
# Clarity's failures, as a supervisor reads them
# ---------------------------------------------------------------------------------------------


async def test_a_status_clarity_does_not_let_anyone_set_is_a_400_and_changes_nothing(
        sim: SimulatorThread, client: ClarityClient, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    before = agent_state(sim, agent_id)

    outcome = await actions.change_agent_status(boss, agent_id, client, status_id=2)  # inCall

    assert outcome.result == "failed" and not outcome.ok and outcome.upstream_status == 400
    assert "refused" in outcome.message and "Traceback" not in outcome.message
    assert agent_state(sim, agent_id) == before
    (entry,) = await audit()
    assert (entry.outcome, entry.upstream_status, entry.message) == ("failed", 400,
                                                                     outcome.message)
    assert "cannot be set" in entry.detail  # Clarity's own words, for admins


async def test_a_sub_disposition_of_another_disposition_is_a_400(
        sim: SimulatorThread, client: ClarityClient, structure: None) -> None:
    session_id, agent_id = live_session(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    first, other_sub = on_sim(sim, lambda cc: (
        min(cc.dispositions), cc.dispositions[max(cc.dispositions)].subs[0][0]))
    before = on_sim(sim, lambda cc: cc.sessions[session_id].disposition_id)

    outcome = await actions.save_disposition(boss, session_id, client, disposition_id=first,
                                             sub_disposition_id=other_sub)

    assert (outcome.result, outcome.upstream_status) == ("failed", 400)
    assert on_sim(sim, lambda cc: cc.sessions[session_id].disposition_id) == before


async def test_an_agent_outside_the_clarity_accounts_rights_is_a_401(
        sim: SimulatorThread, wire: Wire, structure: None) -> None:
    # The dashboard's own rules let a superuser act on anyone; the Clarity account (a team
    # lead's here) may only act on its own team, and Clarity says so.
    outside = on_sim(sim, lambda cc: next(a.id for a in sorted(cc.agents.values(),
                                                               key=lambda a: a.id)
                                          if a.team_id == 2 and a.role == "agent"))
    root = await make_user("root", superuser=True)
    before = agent_state(sim, outside)

    async with ClarityClient(sim_config(sim, username="lead1"), transport=wire) as lead:
        outcome = await actions.set_agent_suspended(root, outside, lead, suspended=True)

    assert (outcome.result, outcome.upstream_status) == ("failed", 401)
    assert "does not let" in outcome.message
    assert agent_state(sim, outside) == before


async def test_clarity_not_answering_is_said_so_without_a_status(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    root = await make_user("root", superuser=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the call: nothing listens there
    config = sim_config(sim, url=f"http://127.0.0.1:{port}", token="a.b.c", auth="token")

    async with ClarityClient(config) as gone:
        outcome = await actions.change_agent_status(root, agent_id, gone, status_id=10)

    assert (outcome.result, outcome.upstream_status) == ("failed", None)
    assert "did not answer" in outcome.message
    (entry,) = await audit()
    assert entry.outcome == "failed" and entry.upstream_status is None and entry.detail


async def test_refused_credentials_say_the_dashboard_could_not_sign_in(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    root = await make_user("root", superuser=True)

    async with ClarityClient(sim_config(sim, password="wrong")) as refused:
        outcome = await actions.change_agent_status(root, agent_id, refused, status_id=10)

    assert (outcome.result, outcome.upstream_status) == ("failed", 401)
    assert "could not sign in" in outcome.message


async def test_an_unknown_session_fails_before_anything_is_written(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    root = await make_user("root", superuser=True)

    outcome = await actions.save_call_notes(root, 987654, client, note="x")

    # Clarity answers 500 for a session it does not have (seed, Session by ID).
    assert (outcome.result, outcome.upstream_status) == ("failed", 500)
    assert "could not return this session" in outcome.message
    assert wire.writes() == []


ACTION_CALLS: dict[str, tuple[str, Callable[..., Any]]] = {
    "agent.status": (r"/agentStatus/update/", lambda u, a, s, c: actions.change_agent_status(
        u, a, c, status_id=3, reason_code_id=1)),
    "agent.suspend": (r"/agentStatus/update/", lambda u, a, s, c: actions.set_agent_suspended(
        u, a, c, suspended=True)),
    "agent.recording": (r"/startRecordingSessions/", lambda u, a, s, c:
                        actions.set_agent_recording(u, a, c, start=True)),
    "session.notes": (r"/setcallnotes$", lambda u, a, s, c: actions.save_call_notes(
        u, s, c, note="n")),
    "session.disposition": (r"/setdispositions$", lambda u, a, s, c: actions.save_disposition(
        u, s, c, disposition_id=1)),
}


@pytest.mark.parametrize(("status", "words"), [(400, "refused"), (401, "does not let"),
                                               (500, "internal error")])
@pytest.mark.parametrize("action", list(ACTION_CALLS))
async def test_each_action_maps_clarity_errors_to_a_message(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None,
        action: str, status: int, words: str) -> None:
    session_id, agent_id = live_session(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    route, call = ACTION_CALLS[action]
    sim.call(sim.sim.fail_route, route, status=status)
    before = on_sim(sim, lambda cc: (cc.agents[agent_id].status, cc.agents[agent_id].suspended,
                                     cc.sessions[session_id].call_note,
                                     cc.sessions[session_id].is_recording))

    outcome = await call(boss, agent_id, session_id, client)

    assert (outcome.result, outcome.upstream_status) == ("failed", status)
    assert words in outcome.message
    assert len(wire.writes()) == 1  # an action is never retried
    assert on_sim(sim, lambda cc: (cc.agents[agent_id].status, cc.agents[agent_id].suspended,
                                   cc.sessions[session_id].call_note,
                                   cc.sessions[session_id].is_recording)) == before
    (entry,) = await audit()
    assert (entry.action, entry.outcome, entry.upstream_status) == (action, "failed", status)
    assert entry.agent_clarity_id == agent_id


# ---------------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(ACTION_CALLS))
async def test_a_viewer_is_denied_every_action_and_clarity_is_not_asked(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None,
        action: str) -> None:
    session_id, agent_id = live_session(sim)
    viewer = await make_user("watcher", "Viewer", agent=agent_id)

    outcome = await ACTION_CALLS[action][1](viewer, agent_id, session_id, client)

    assert (outcome.result, outcome.upstream_status) == ("denied", None)
    assert outcome.message == "Your role does not allow this action."
    assert wire.requests == []
    (entry,) = await audit()
    assert (entry.username, entry.action, entry.outcome, entry.upstream_status) == (
        "watcher", action, "denied", None)


@pytest.mark.parametrize("action", list(ACTION_CALLS))
async def test_a_logged_out_user_is_denied_and_audited_without_a_name(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None,
        action: str) -> None:
    session_id, agent_id = live_session(sim)

    outcome = await ACTION_CALLS[action][1](AnonymousUser(), agent_id, session_id, client)

    assert outcome.result == "denied" and "signed out" in outcome.message
    assert wire.requests == []
    (entry,) = await audit()
    assert (entry.user_id, entry.username, entry.outcome) == (None, "", "denied")


@pytest.mark.parametrize("action", ["agent.status", "agent.suspend", "agent.recording"])
async def test_a_supervisor_outside_the_agents_team_is_denied_before_clarity(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None,
        action: str) -> None:
    session_id, agent_id = live_session(sim)
    elsewhere = await make_user("elsewhere", "Supervisor", outside=agent_id)
    before = agent_state(sim, agent_id)

    outcome = await ACTION_CALLS[action][1](elsewhere, agent_id, session_id, client)

    assert outcome.result == "denied"
    assert outcome.message == "This agent is not in the teams you supervise."
    assert wire.requests == []
    assert agent_state(sim, agent_id) == before


@pytest.mark.parametrize("action", ["session.notes", "session.disposition"])
async def test_a_supervisor_outside_the_sessions_team_reads_it_but_writes_nothing(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None,
        action: str) -> None:
    session_id, agent_id = live_session(sim)
    elsewhere = await make_user("elsewhere", "Supervisor", outside=agent_id)
    before = on_sim(sim, lambda cc: (cc.sessions[session_id].call_note,
                                     cc.sessions[session_id].disposition_id))

    outcome = await ACTION_CALLS[action][1](elsewhere, agent_id, session_id, client)

    assert outcome.result == "denied"
    assert outcome.message == "This session's agent is not in the teams you supervise."
    assert wire.requests == [("GET", f"/v2/sessions/{session_id}")] and wire.writes() == []
    assert on_sim(sim, lambda cc: (cc.sessions[session_id].call_note,
                                   cc.sessions[session_id].disposition_id)) == before
    (entry,) = await audit()
    assert (entry.outcome, entry.agent_clarity_id) == ("denied", agent_id)


async def test_an_inactive_supervisor_is_denied(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    boss.is_active = False
    await sync_to_async(boss.save)()

    outcome = await actions.set_agent_suspended(boss, agent_id, client, suspended=True)

    assert outcome.result == "denied" and wire.requests == []


async def test_an_invalid_status_choice_is_refused_without_asking_clarity(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    with_reason = await actions.change_agent_status(boss, agent_id, client, status_id=1,
                                                    reason_code_id=2)
    unknown = await actions.change_agent_status(boss, agent_id, client, status_id=13)

    assert with_reason.result == "failed" and "reason only goes with" in with_reason.message
    assert unknown.result == "failed" and unknown.message == "Choose a status from the list."
    assert wire.requests == []
    assert [e.outcome for e in await audit()] == ["failed", "failed"]


# ---------------------------------------------------------------------------------------------
# Repeated clicks
# ---------------------------------------------------------------------------------------------


async def test_two_identical_clicks_at_once_reach_clarity_once(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    results = await asyncio.gather(*(
        actions.change_agent_status(boss, agent_id, client, status_id=3, reason_code_id=4)
        for _ in range(2)))

    assert sorted(r.result for r in results) == ["ignored", "ok"]
    assert wire.writes() == [("POST", f"/v2/agentStatus/update/{agent_id}")]
    assert agent_state(sim, agent_id)[:2] == ("unavailable", 4)
    ignored = next(e for e in await audit() if e.outcome == "ignored")
    assert (ignored.upstream_status, ignored.params) == (None, {"agent_status_id": 3,
                                                                "reason_code_id": 4})
    assert len(await audit()) == 2


async def test_a_click_while_the_first_is_still_with_clarity_is_ignored(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    session_id, agent_id = live_session(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    wire.hold("/setcallnotes")
    first = asyncio.create_task(actions.save_call_notes(boss, session_id, client, note="a"))
    await asyncio.wait_for(wire.waiting.wait(), 10)

    # Bounded: were it not ignored, it would wait behind the held request.
    second = await asyncio.wait_for(
        actions.save_call_notes(boss, session_id, client, note="a"), 5)
    other_target = await actions.set_agent_suspended(boss, agent_id, client, suspended=False)
    wire.release()

    assert second.result == "ignored" and "ignored" in second.message
    assert other_target.ok
    assert (await first).ok
    assert wire.writes().count(("GET", f"/v2/sessions/{session_id}/setcallnotes")) == 1


async def test_the_same_click_right_after_a_success_is_ignored_but_not_after_a_failure(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "_guard", actions._RepeatGuard(window=0.5))
    session_id, agent_id = live_session(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)

    async def notes(text: str) -> str:
        return (await actions.save_call_notes(boss, session_id, client, note=text)).result

    assert await notes("a") == "ok"
    assert await notes("a") == "ignored"
    assert await notes("b") == "ok"  # not the same request
    await asyncio.sleep(0.6)
    assert await notes("a") == "ok"  # the window is over

    sim.call(sim.sim.fail_route, r"/setcallnotes$", status=500, count=1)
    assert await notes("c") == "failed"
    assert await notes("c") == "ok"  # a retry after a failure goes through
    assert on_sim(sim, lambda cc: cc.sessions[session_id].call_note) == "c"
    assert [e.outcome for e in await audit()] == ["ok", "ignored", "ok", "ok", "failed", "ok"]


async def test_a_request_cancelled_mid_call_is_audited_once_and_frees_the_guard(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    wire.hold("/agentStatus/update/")
    task = asyncio.create_task(actions.set_agent_suspended(boss, agent_id, client,
                                                           suspended=True))
    await asyncio.wait_for(wire.waiting.wait(), 10)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (entry,) = await audit()
    assert entry.outcome == "failed" and "interrupted" in entry.message

    wire.release()
    again = await actions.set_agent_suspended(boss, agent_id, client, suspended=True)
    assert again.ok and agent_state(sim, agent_id)[2] is True
    assert len(await audit()) == 2


# ---------------------------------------------------------------------------------------------
# The status form's choices
# ---------------------------------------------------------------------------------------------


async def test_status_choices_come_from_clarity_with_the_away_reasons(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = await make_user("boss", "Supervisor", agent=agent_id)
    reasons = on_sim(sim, lambda cc: dict(__import__(
        "integrations.clarity.simulator.model", fromlist=["REASON_CODES"]).REASON_CODES))

    found = await actions.status_choices(boss, agent_id, client)

    assert found.ok and found.upstream_status == 200
    assert wire.requests == [("GET", f"/v2/agentStatus/list/{agent_id}")]
    assert {c.reason_code_id: c.reason_code_name for c in found.reasons} == reasons
    assert all(c.status_id == 3 and c.status == "unavailable" for c in found.reasons)
    plain = {c.status_id: c for c in found.statuses}
    assert plain[1].label == "Available" and 2 not in plain
    on_break = next(c for c in found.reasons if c.reason_code_id == 1)
    assert on_break.label == "Away: On Break" and on_break.value == "3:1"
    assert actions.parse_status_value(on_break.value) == (3, 1)
    assert actions.parse_status_value(plain[1].value) == (1, None)
    with pytest.raises(ValueError, match="not a status choice"):
        actions.parse_status_value("3:x")
    # A choice, sent back as the form would, is one Clarity accepts.
    status_id, reason = actions.parse_status_value(on_break.value)
    assert (await actions.change_agent_status(boss, agent_id, client, status_id=status_id,
                                              reason_code_id=reason)).ok
    assert agent_state(sim, agent_id)[:2] == ("unavailable", 1)
    assert len(await audit()) == 1  # reading the choices is not an action


async def test_status_choices_are_refused_like_the_action(
        sim: SimulatorThread, client: ClarityClient, wire: Wire, structure: None) -> None:
    agent_id = idle_agent(sim)
    viewer = await make_user("watcher", "Viewer", agent=agent_id)
    elsewhere = await make_user("elsewhere", "Supervisor", outside=agent_id)

    assert (await actions.status_choices(viewer, agent_id, client)).result == "denied"
    assert (await actions.status_choices(elsewhere, agent_id, client)).result == "denied"
    assert (await actions.status_choices(AnonymousUser(), agent_id, client)).result == "denied"
    assert wire.requests == []

    sim.call(sim.sim.fail_route, r"/agentStatus/list/", status=500)
    root = await make_user("root", superuser=True)
    failed = await actions.status_choices(root, agent_id, client)
    assert (failed.result, failed.upstream_status, failed.choices) == ("failed", 500, ())
    assert await audit() == []


# ---------------------------------------------------------------------------------------------
# The roles and the audit log
# ---------------------------------------------------------------------------------------------


def _state_apps() -> Any:
    return MigrationLoader(connection).project_state(("dashboard", "0004_roles")).apps


def _codenames(group: str) -> set[str]:
    return set(Role.objects.get(name=group).permissions.values_list("codename", flat=True))


def test_the_roles_migration_creates_the_groups_and_their_permissions() -> None:
    # As on a fresh database: no groups, and none of the action permissions yet.
    Role.objects.filter(name__in=["Viewer", "Supervisor", "Admin"]).delete()
    Permission.objects.filter(codename__in=ACT).delete()

    roles_migration.create_roles(_state_apps(), None)

    assert _codenames("Viewer") == VIEW
    assert _codenames("Supervisor") == VIEW | ACT
    everything = set(Permission.objects.filter(content_type__app_label="dashboard")
                     .values_list("codename", flat=True))
    assert _codenames("Admin") == everything
    assert ACT | {"view_auditentry", "change_wallboard", "add_thresholdrule"} <= everything
    # The audit log is read-only for everyone but superusers.
    assert not {"add_auditentry", "change_auditentry", "delete_auditentry"} & everything

    # Running it again (a re-applied migration) changes nothing; reversing removes the roles.
    roles_migration.create_roles(_state_apps(), None)
    assert _codenames("Supervisor") == VIEW | ACT
    roles_migration.remove_roles(_state_apps(), None)
    assert not Role.objects.filter(name__in=["Viewer", "Supervisor", "Admin"]).exists()


def test_the_roles_grant_what_has_perm_checks() -> None:
    roles_migration.create_roles(django_apps, None)
    viewer = _make_user("v", "Viewer")
    supervisor = _make_user("s", "Supervisor")
    admin = _make_user("a", "Admin")
    nobody = _make_user("n")

    for perm in (actions.PERM_STATUS, actions.PERM_SUSPEND, actions.PERM_RECORD,
                 actions.PERM_ANNOTATE):
        assert not viewer.has_perm(perm) and not nobody.has_perm(perm)
        assert User.objects.get(pk=supervisor.pk).has_perm(perm)
        assert User.objects.get(pk=admin.pk).has_perm(perm)
    assert User.objects.get(pk=viewer.pk).has_perm("dashboard.view_agent")
    assert not User.objects.get(pk=supervisor.pk).has_perm("dashboard.view_auditentry")
    assert User.objects.get(pk=admin.pk).has_perm("dashboard.view_auditentry")
    assert User.objects.get(pk=admin.pk).has_perm("dashboard.change_wallboard")


def test_an_audit_entry_keeps_the_name_when_the_user_is_deleted() -> None:
    user = _make_user("gone")
    entry = AuditEntry.objects.create(user=user, username="gone", action="agent.suspend",
                                      target_type="agent", target_id=7, outcome="ok",
                                      upstream_status=204, duration_ms=12)
    user.delete()
    entry.refresh_from_db()

    assert entry.user_id is None and entry.username == "gone"
    assert str(entry).endswith("gone agent.suspend agent 7: ok")


# ---------------------------------------------------------------------------------------------
# The web processes' client
# ---------------------------------------------------------------------------------------------


async def test_web_client_is_one_client_per_loop_pointed_at_the_configured_clarity(
        sim: SimulatorThread, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLARITY_URL", raising=False)
    monkeypatch.delenv("CLARITY_AUTH", raising=False)
    settings.CLARITY_SIMULATOR_URL = sim.url
    try:
        first = await web_client()
        assert await web_client() is first
        assert first.config.url == sim.url
        assert (await first.profile()).name
    finally:
        await close_web_client()
    again = await web_client()
    await close_web_client()
    assert again is not first

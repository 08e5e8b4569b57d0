"""The action endpoints end to end: Django's test client -> the views -> dashboard.actions ->
`web_client()` -> the real simulator.

Every effect is read back from the simulator's own model (`sim.call`), never through the
dashboard. "Nothing reached Clarity" is checked with a tripwire: a fault rule on every API
route that would count (and answer) any request that got through.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import User
from django.test import Client

from dashboard import actions
from dashboard.mbu import sync_mbu
from dashboard.models import Agent, AuditEntry, SupervisorScope, Team
from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig
from integrations.clarity.simulator.model import REASON_CODES
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

pytestmark = pytest.mark.django_db

roles_migration = importlib.import_module("dashboard.migrations.0004_roles")
LIVE = ("Active", "AfterCall")
HTMX = {"HTTP_HX_REQUEST": "true"}


# ---------------------------------------------------------------------------------------------
# The simulator, the structure and the people
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the only changes are the ones the tests make."""
    with SimulatorThread(SimulatorConfig(port=0, seed=57, speed=1e-6)) as s:
        yield s


@pytest.fixture(autouse=True)
def _clarity(sim: SimulatorThread, settings: Any, monkeypatch: pytest.MonkeyPatch,
             ) -> Iterator[None]:
    # The views' web_client() finds the simulator the way the demo points it there.
    for name in ("CLARITY_URL", "CLARITY_AUTH", "CLARITY_USERNAME", "CLARITY_PASSWORD",
                 "CLARITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings.CLARITY_SIMULATOR_URL = sim.url
    # A fresh repeated-click guard per test: it is per process.
    monkeypatch.setattr(actions, "_guard", actions._RepeatGuard())
    yield
    sim.call(sim.sim.clear_faults)


@pytest.fixture
def structure(sim: SimulatorThread) -> None:
    async def fetch() -> Any:
        config = ClarityConfig.from_env({}).with_url(sim.url)
        async with ClarityClient(config) as client:
            return await client.mbu()

    sync_mbu(asyncio.run(fetch()))
    # Transactional tests elsewhere empty the tables, the migration's roles included.
    roles_migration.create_roles(django_apps, None)


def make_user(name: str, role: str | None = None, *, agent: int | None = None,
              outside: int | None = None) -> User:
    """A user with `role`, scoped to the team of `agent`, or to another team than `outside`'s."""
    user = User.objects.create_user(name, password="x")
    if role:
        user.groups.add(Role.objects.get(name=role))
    team = None
    if agent is not None:
        team = Agent.objects.get(clarity_id=agent).team
    elif outside is not None:
        mine = Agent.objects.get(clarity_id=outside).team
        team = Team.objects.exclude(pk=mine.pk).filter(agents__isnull=False).first()
    if team is not None:
        SupervisorScope.objects.create(user=user).teams.add(team)
    return user


def signed_in(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def audit() -> list[tuple[str, str, str, int | None]]:
    return [(e.username, e.action, e.outcome, e.upstream_status)
            for e in AuditEntry.objects.order_by("pk")]


# -- the simulator's own state ----------------------------------------------------------------


def on_sim(sim: SimulatorThread, fn: Callable[[Any], Any]) -> Any:
    return sim.call(lambda: fn(sim.sim.cc))


def agent_state(sim: SimulatorThread, agent_id: int) -> tuple[str, int | None, bool]:
    return on_sim(sim, lambda cc: (cc.agents[agent_id].status, cc.agents[agent_id].reason_code_id,
                                   cc.agents[agent_id].suspended))


def idle_agent(sim: SimulatorThread) -> int:
    """An agent with no session and no offer: their status is theirs to change."""
    return on_sim(sim, lambda cc: next(
        a.id for a in sorted(cc.agents.values(), key=lambda a: a.id)
        if a.role == "agent" and not a.session_ids and a.offer_session_id is None))


def live_session(sim: SimulatorThread, *, recordable: bool | None = None) -> tuple[int, int]:
    """(session id, agent id) of a live, unrecorded session with one agent on it."""

    def pick(cc: Any) -> tuple[int, int]:
        for s in sorted(cc.sessions.values(), key=lambda s: s.id):
            agents = {p.agent_id for p in s.participations if p.status in ("Accepted", "AfterCall")}
            if (s.status in LIVE and agents == {s.agent_id} and not s.is_recording
                    and (recordable is None or s.can_be_recorded == recordable)):
                return s.id, s.agent_id
        raise AssertionError("no such session")

    return on_sim(sim, pick)


class Tripwire:
    """Answers 599 to every Clarity API request, and counts them."""

    BUDGET = 10_000

    def __init__(self, sim: SimulatorThread) -> None:
        self.sim = sim
        sim.call(sim.sim.fail_route, r"^/webapi/api/", status=599, count=self.BUDGET)

    @property
    def requests(self) -> int:
        rule = self.sim.call(lambda: self.sim.sim.fail_rules[-1])
        return self.BUDGET - rule.remaining


# ---------------------------------------------------------------------------------------------
# Each endpoint does what it says, upstream
# ---------------------------------------------------------------------------------------------


def test_a_supervisor_puts_an_agent_on_break_with_a_reason_and_sees_it_pending(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))
    reason = (2, REASON_CODES[2])

    response = boss.post(f"/agents/{agent_id}/status", {"value": f"3:{reason[0]}"}, **HTMX)

    assert response.status_code == 200 and response["X-Action-Result"] == "ok"
    html = response.content.decode()
    assert 'role="status"' in html and "Clarity accepted the status change" in html
    assert agent_state(sim, agent_id)[:2] == ("unavailable", reason[0])
    # The pending marker goes into the panel's slot, waiting for status "3:<reason>".
    marker = re.search(rf'<div id="agent-pending-{agent_id}"[^>]*>.*?</div>', html, re.S)
    assert marker is not None
    assert 'hx-swap-oob="true"' in marker.group(0)
    assert f'data-expect-value="3:{reason[0]}"' in marker.group(0)
    assert f"Pending: Away: {reason[1]}" in marker.group(0)
    assert audit() == [("boss", "agent.status", "ok", 204)]
    entry = AuditEntry.objects.get()
    assert entry.params == {"agent_status_id": 3, "reason_code_id": reason[0]}

    # The separate fields work as well as the form's combined value.
    back = boss.post(f"/agents/{agent_id}/status", {"agent_status_id": "10"}, **HTMX)
    assert back.status_code == 200
    assert agent_state(sim, agent_id)[:2] == ("beRightBack", None)
    assert 'data-expect-value="10"' in back.content.decode()


def test_a_plain_form_post_goes_back_to_the_agent_page_with_a_message(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))

    response = boss.post(f"/agents/{agent_id}/suspend",
                         {"suspended": "true", "next": f"/agents/{agent_id}/"})

    assert response.status_code == 302 and response["Location"] == f"/agents/{agent_id}/"
    assert agent_state(sim, agent_id)[2] is True
    page = boss.get(response["Location"]).content.decode()
    assert "Clarity accepted the suspension" in page
    # A `next` off the site is not followed.
    away = boss.post(f"/agents/{agent_id}/suspend",
                     {"suspended": "false", "next": "https://evil.example/"})
    assert away["Location"] == f"/agents/{agent_id}/"
    assert agent_state(sim, agent_id)[2] is False


def test_suspending_and_lifting_it_answer_with_what_the_panel_will_show(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))

    on = boss.post(f"/agents/{agent_id}/suspend", {"suspended": "true"}, **HTMX)
    assert on.status_code == 200 and agent_state(sim, agent_id)[2] is True
    assert 'data-expect-key="suspended" data-expect-value="true"' in on.content.decode()

    off = boss.post(f"/agents/{agent_id}/suspend", {"suspended": "false"}, **HTMX)
    assert off.status_code == 200 and agent_state(sim, agent_id)[2] is False
    assert 'data-expect-value="false"' in off.content.decode()
    assert audit() == [("boss", "agent.suspend", "ok", 204)] * 2


def test_recording_starts_and_stops_and_lists_each_session(
        sim: SimulatorThread, structure: None) -> None:
    session_id, agent_id = live_session(sim, recordable=True)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))

    def recording() -> bool:
        return on_sim(sim, lambda cc: cc.sessions[session_id].is_recording)

    started = boss.post(f"/agents/{agent_id}/recording", {"action": "start"}, **HTMX)

    html = started.content.decode()
    item = re.search(rf'<li class="recording-result recording-result--(\w+)">'
                     rf'<a href="/sessions/{session_id}/">', html)
    assert item is not None
    # The simulator's portal refuses about one request in fifty: the answer says which.
    assert recording() is (item.group(1) == "recorded")
    if item.group(1) == "recorded":
        assert started.status_code == 200 and "Recording started" in html
        assert 'data-expect-key="recording" data-expect-value="true"' in html

    stopped = boss.post(f"/agents/{agent_id}/recording", {"action": "stop"}, **HTMX)
    assert stopped.status_code == 200
    assert recording() is False or "recording-result--failed" in stopped.content.decode()
    assert [a for _, a, _, _ in audit()] == ["agent.recording"] * 2


def test_a_session_that_may_not_be_recorded_is_listed_as_denied(
        sim: SimulatorThread, structure: None) -> None:
    session_id, agent_id = live_session(sim, recordable=False)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))

    response = boss.post(f"/agents/{agent_id}/recording", {"action": "start"}, **HTMX)

    # Clarity answered (200); the action did not do what was asked: said, not hidden.
    assert response.status_code == 200 and response["X-Action-Result"] == "failed"
    html = response.content.decode()
    assert 'role="alert"' in html and "1 denied" in html
    assert f'recording-result--denied"><a href="/sessions/{session_id}/">' in html
    assert "agent-pending-" not in html, "nothing to wait for"
    assert on_sim(sim, lambda cc: cc.sessions[session_id].is_recording) is False


def test_call_notes_and_a_disposition_are_saved_on_the_session(
        sim: SimulatorThread, structure: None) -> None:
    session_id, agent_id = live_session(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))
    disposition, sub = on_sim(sim, lambda cc: next(
        (d.id, d.subs[0][0]) for d in cc.dispositions.values() if d.subs))

    notes = boss.post(f"/sessions/{session_id}/notes", {"note": "Asked for a callback"},
                      **HTMX)
    saved = boss.post(f"/sessions/{session_id}/disposition",
                      {"disposition_id": str(disposition), "sub_disposition_id": str(sub),
                       "next": f"/sessions/{session_id}/"})

    assert notes.status_code == 200 and "Call notes saved." in notes.content.decode()
    assert saved.status_code == 302 and saved["Location"] == f"/sessions/{session_id}/"
    assert on_sim(sim, lambda cc: (cc.sessions[session_id].call_note,
                                   cc.sessions[session_id].disposition_id,
                                   cc.sessions[session_id].sub_disposition_id)) == (
        "Asked for a callback", disposition, sub)
    assert audit() == [("boss", "session.notes", "ok", 204),
                       ("boss", "session.disposition", "ok", 204)]


def test_a_double_click_reaches_clarity_once(sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))

    first = boss.post(f"/agents/{agent_id}/status", {"value": "10"}, **HTMX)
    second = boss.post(f"/agents/{agent_id}/status", {"value": "10"}, **HTMX)

    assert first["X-Action-Result"] == "ok"
    assert second.status_code == 200 and second["X-Action-Result"] == "ignored"
    assert "repeated click was ignored" in second.content.decode()
    assert "agent-pending-" not in second.content.decode()
    assert audit() == [("boss", "agent.status", "ok", 204),
                       ("boss", "agent.status", "ignored", None)]


# ---------------------------------------------------------------------------------------------
# Clarity's failures
# ---------------------------------------------------------------------------------------------


def test_a_status_clarity_refuses_is_a_409_and_changes_nothing(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))
    before = agent_state(sim, agent_id)

    response = boss.post(f"/agents/{agent_id}/status", {"value": "2"}, **HTMX)  # in call

    assert response.status_code == 409 and response["X-Action-Result"] == "failed"
    html = response.content.decode()
    assert 'role="alert"' in html and "refused" in html and "Traceback" not in html
    assert "agent-pending-" not in html
    assert agent_state(sim, agent_id) == before
    assert audit() == [("boss", "agent.status", "failed", 400)]


def test_a_clarity_error_is_a_502_with_a_sentence(sim: SimulatorThread,
                                                    structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))
    sim.call(sim.sim.fail_route, r"/agentStatus/update/", status=500)

    response = boss.post(f"/agents/{agent_id}/suspend", {"suspended": "true"}, **HTMX)

    assert response.status_code == 502
    assert "internal error" in response.content.decode()
    assert agent_state(sim, agent_id)[2] is False
    assert audit() == [("boss", "agent.suspend", "failed", 500)]
    # Without JavaScript: back to the page, with the same sentence.
    plain = boss.post(f"/agents/{agent_id}/suspend", {"suspended": "true"}, follow=True)
    assert plain.redirect_chain == [(f"/agents/{agent_id}/", 302)]
    assert "internal error" in plain.content.decode()


# ---------------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------------


ENDPOINTS: dict[str, Callable[[int, int], tuple[str, dict[str, str]]]] = {
    "agent.status": lambda a, s: (f"/agents/{a}/status", {"value": "10"}),
    "agent.suspend": lambda a, s: (f"/agents/{a}/suspend", {"suspended": "true"}),
    "agent.recording": lambda a, s: (f"/agents/{a}/recording", {"action": "start"}),
    "session.notes": lambda a, s: (f"/sessions/{s}/notes", {"note": "n"}),
    "session.disposition": lambda a, s: (f"/sessions/{s}/disposition", {"disposition_id": "1"}),
}


@pytest.mark.parametrize("action", list(ENDPOINTS))
def test_a_viewer_is_refused_every_action_and_clarity_is_not_asked(
        sim: SimulatorThread, structure: None, action: str) -> None:
    session_id, agent_id = live_session(sim)
    viewer = signed_in(make_user("watcher", "Viewer", agent=agent_id))
    url, data = ENDPOINTS[action](agent_id, session_id)
    wire = Tripwire(sim)

    response = viewer.post(url, data, **HTMX)
    plain = viewer.post(url, data)

    assert response.status_code == 403 and response["X-Action-Result"] == "denied"
    assert "Your role does not allow this action." in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert plain.status_code == 403 and "Your role does not allow" in plain.content.decode()
    assert wire.requests == 0
    assert audit() == [("watcher", action, "denied", None)] * 2


@pytest.mark.parametrize("action", ["agent.status", "agent.suspend", "agent.recording"])
def test_a_supervisor_outside_the_agents_team_is_refused(
        sim: SimulatorThread, structure: None, action: str) -> None:
    session_id, agent_id = live_session(sim)
    elsewhere = signed_in(make_user("elsewhere", "Supervisor", outside=agent_id))
    url, data = ENDPOINTS[action](agent_id, session_id)
    before = agent_state(sim, agent_id)
    wire = Tripwire(sim)

    response = elsewhere.post(url, data, **HTMX)

    assert response.status_code == 403
    assert "not in the teams you supervise" in response.content.decode()
    assert wire.requests == 0 and agent_state(sim, agent_id) == before
    assert audit() == [("elsewhere", action, "denied", None)]


def test_a_supervisor_outside_the_team_may_not_annotate_its_sessions(
        sim: SimulatorThread, structure: None) -> None:
    session_id, agent_id = live_session(sim)
    elsewhere = signed_in(make_user("elsewhere", "Supervisor", outside=agent_id))

    response = elsewhere.post(f"/sessions/{session_id}/notes", {"note": "mine"}, **HTMX)

    # Whose session it is comes from Clarity (a read); nothing is written.
    assert response.status_code == 403
    assert "This session&#x27;s agent is not in the teams" in response.content.decode()
    assert on_sim(sim, lambda cc: cc.sessions[session_id].call_note) != "mine"
    assert audit() == [("elsewhere", "session.notes", "denied", None)]


@pytest.mark.parametrize("action", list(ENDPOINTS))
def test_a_logged_out_user_is_sent_to_the_login_page(
        sim: SimulatorThread, structure: None, action: str) -> None:
    session_id, agent_id = live_session(sim)
    url, data = ENDPOINTS[action](agent_id, session_id)
    wire = Tripwire(sim)

    plain = Client().post(url, data)
    htmx = Client().post(url, data, **HTMX)

    assert plain.status_code == 302 and plain["Location"].startswith("/login/?next=/")
    assert url not in plain["Location"], "back to the page, not to a POST-only URL"
    # htmx would swap the login page into the result region: it is told instead.
    assert htmx.status_code == 403 and "signed out" in htmx.content.decode()
    assert 'href="/login/?next=' in htmx.content.decode()
    assert wire.requests == 0 and audit() == []


def test_csrf_is_enforced(sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    user = make_user("boss", "Supervisor", agent=agent_id)
    browser = signed_in(user, enforce_csrf_checks=True)
    before = agent_state(sim, agent_id)

    forged = browser.post(f"/agents/{agent_id}/suspend", {"suspended": "true"}, **HTMX)

    assert forged.status_code == 403 and agent_state(sim, agent_id) == before
    assert audit() == []
    # The page's token (base.html sends it as X-CSRFToken on every htmx request) is accepted.
    page = browser.get(f"/agents/{agent_id}/").content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token is not None
    done = browser.post(f"/agents/{agent_id}/suspend", {"suspended": "true"},
                        HTTP_X_CSRFTOKEN=token.group(1), **HTMX)
    assert done.status_code == 200 and agent_state(sim, agent_id)[2] is True
    browser.post(f"/agents/{agent_id}/suspend", {"suspended": "false"},
                 HTTP_X_CSRFTOKEN=token.group(1), **HTMX)


@pytest.mark.parametrize(("url", "data", "words"), [
    ("/agents/{a}/status", {"value": "away"}, "Choose a status"),
    ("/agents/{a}/status", {"value": "3:x"}, "Choose a status"),
    ("/agents/{a}/status", {"value": "99"}, "Choose a status"),
    ("/agents/{a}/status", {}, "Choose a status"),
    ("/agents/{a}/status", {"agent_status_id": "1", "reason_code_id": "2"}, "only goes with"),
    ("/agents/{a}/status", {"agent_status_id": "-3"}, "Choose a status"),
    ("/agents/{a}/suspend", {"suspended": "maybe"}, "suspended=true"),
    ("/agents/{a}/suspend", {}, "suspended=true"),
    ("/agents/{a}/recording", {"action": "pause"}, "action=start"),
    ("/sessions/{s}/notes", {}, "notes are missing"),
    ("/sessions/{s}/notes", {"note": "x" * 4001}, "at most 4000"),
    ("/sessions/{s}/disposition", {"disposition_id": "one"}, "Choose a disposition"),
    ("/sessions/{s}/disposition", {"sub_disposition_id": "1"}, "Choose a disposition"),
])
def test_bad_input_is_a_400_and_nothing_is_sent_or_audited(
        sim: SimulatorThread, structure: None, url: str, data: dict[str, str],
        words: str) -> None:
    session_id, agent_id = live_session(sim)
    boss = signed_in(make_user("boss", "Supervisor", agent=agent_id))
    wire = Tripwire(sim)
    url = url.format(a=agent_id, s=session_id)

    htmx = boss.post(url, data, **HTMX)
    plain = boss.post(url, data)

    assert htmx.status_code == 400 and words in htmx.content.decode()
    assert 'role="alert"' in htmx.content.decode()
    assert plain.status_code == 400 and words in plain.content.decode()
    assert "<h1>" in plain.content.decode(), "a page of its own, with a way back"
    assert wire.requests == 0 and audit() == []


@pytest.mark.parametrize("url", ["/agents/1/status", "/agents/1/suspend", "/agents/1/recording",
                                 "/sessions/1/notes", "/sessions/1/disposition"])
def test_the_endpoints_take_posts_only(url: str, structure: None) -> None:
    root = signed_in(User.objects.create_superuser("root", password="x"))
    assert root.get(url).status_code == 405

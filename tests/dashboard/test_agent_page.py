"""The agent page: its first render from the database, its live panel (dashboard.agent_page,
LiveState) and its socket, which carries that agent's panel and nothing else."""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps as django_apps
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import User
from django.test import Client

from dashboard import agent_page, live
from dashboard.agent_page import Period
from dashboard.bridge import Bridge
from dashboard.mbu import Visibility
from dashboard.models import Agent, StatusPeriod, SupervisorScope, Team
from integrations.clarity.simulator.server import SimulatorThread

from .bridge_harness import (
    communicator_for,
    frozen_simulator,
    messages_until_quiet,
    running_bridge,
    set_status,
    split,
)

roles_migration = importlib.import_module("dashboard.migrations.0004_roles")

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """A time on NOW's day, `hours` after midnight (negative: the day before)."""
    return datetime(2026, 11, 22, tzinfo=UTC) + timedelta(hours=hours)


# ---------------------------------------------------------------------------------------------
# The view model
# ---------------------------------------------------------------------------------------------


def test_the_timeline_shows_todays_periods_in_order_up_to_now() -> None:
    periods = [
        Period("available", "", at(9), at(12)),
        Period("unavailable", "At Lunch", at(12), at(13)),
        Period("loggedOut", "", at(-2), at(9)),  # began yesterday: clipped at midnight
        Period("inCall", "", at(13), None),      # the current one runs to now
        Period("available", "", at(-5), at(-3)),  # yesterday only: not today's
    ]

    tl = agent_page.timeline(periods, now=NOW)

    assert [(s["status"], s["start"], s["end"]) for s in tl["segments"]] == [
        ("loggedOut", at(0), at(9)), ("available", at(9), at(12)),
        ("unavailable", at(12), at(13)), ("inCall", at(13), NOW)]
    # The bar runs from midnight to now: 15 hours over 1000 units.
    assert [(s["x"], s["width"]) for s in tl["segments"]] == [
        ("0", "600"), ("600", "200"), ("800", "66.67"), ("866.67", "133.33")]
    assert tl["segments"][-1]["current"] and tl["segments"][-1]["duration"] == "2:00:00"
    assert tl["segments"][2]["reason"] == "At Lunch" and tl["segments"][2]["group"] == "away"
    # The legend: each status with its total, the longest first, each with an icon.
    assert [(entry["status"], entry["total"]) for entry in tl["legend"]] == [
        ("loggedOut", "9:00:00"), ("available", "3:00:00"), ("inCall", "2:00:00"),
        ("unavailable", "1:00:00")]
    assert all(entry["icon"] for entry in tl["legend"])


def test_no_period_today_is_an_empty_timeline() -> None:
    assert agent_page.timeline([Period("available", "", at(-5), at(-3))],
                               now=NOW)["segments"] == []


def test_the_current_status_closes_the_stored_open_period() -> None:
    # The database may still hold the previous status as open (the bridge writes it later).
    stored = [Period("available", "", at(9), None), Period("ringing", "", at(8), at(9))]
    current = {"agentStatus": "unavailable", "reasonCodeName": "On Break",
               "startTime": at(10).isoformat(), "isSuspended": True}

    periods = agent_page.with_current(stored, current)

    assert periods == [Period("available", "", at(9), at(10)),
                       Period("ringing", "", at(8), at(9)),
                       Period("unavailable", "On Break", at(10), None, True)]


def test_the_panel_says_what_a_pending_action_waits_for() -> None:
    item = {
        "name": "Ann Lee",
        "currentStatus": {"agentStatus": "unavailable", "agentStatusId": 3,
                          "reasonCodeName": "At Lunch", "reasonCodeId": 2,
                          "startTime": at(14).isoformat(), "isSuspended": True},
        "sessions": {"audio": {"sessions": [
            {"sessionId": 901, "queueId": 4, "customerName": "Kofi", "isRecording": True,
             "sessionStatus": "Active", "startTimeStamp": at(14.5).isoformat()}]}},
        "metrics": {"audio": {"answeredCount": 4, "averageHandleTime": 95000},
                    "instantMessage": {"answeredCount": 1},
                    "agnostic": {"availableTime": {"total": 3_600_000, "count": 2}}},
    }

    panel = agent_page.panel(7, item, {"queue.4": "Sales"}, now=NOW)

    assert panel["id"] == "agent-panel-7"
    assert (panel["state_status"], panel["state_suspended"], panel["state_recording"]) == (
        "3:2", "true", "true")
    # Modalities as columns (in Clarity's names' order: audio, instantMessage), metrics as rows.
    assert [m["label"] for m in panel["modalities"]] == ["Voice", "Chat"]
    rows = {r["metric"]: r["values"] for r in panel["metric_rows"]}
    assert rows["answeredCount"] == ["4", "1"]
    assert rows["averageHandleTime"] == ["1:35", "—"]
    assert panel["state_times"] == [{"metric": "availableTime", "label": "Available",
                                     "value": "1:00:00"}]
    assert panel["row"]["sessions"][0]["queue"] == "Sales"
    # A plain status has no reason; without an id the name gives it.
    assert agent_page.status_value({"agentStatus": "beRightBack"}) == "10"
    assert agent_page.status_value({"agentStatusId": 1, "reasonCodeId": 4}) == "1"


def test_live_state_renders_a_panel_only_for_agents_whose_page_was_opened() -> None:
    state = live.LiveState()
    state.picture.picture.apply({
        "subscriptionId": "s-1", "subscriptionType": "agents", "sequence": 1,
        "isSnapshot": True, "timestamp": "2026-11-22T14:00:01Z", "items": [{
            "type": "agent", "id": 7, "name": "Ann Lee",
            "currentStatus": {"agentStatus": "available", "agentStatusId": 1,
                              "startTime": "2026-11-22T14:00:00Z"}}]})
    agent = ("agent", 7)

    assert list(state.widget_keys([agent])) == [agent]
    keys = state.keys_for([live.group_name((live.PANEL, 7))])

    assert keys == [(live.PANEL, 7)]
    assert list(state.widget_keys([agent])) == [agent, (live.PANEL, 7)]
    assert state.route((live.PANEL, 7)) == "agent-panel.7"
    assert state.version((live.PANEL, 7)) == state.version(agent) > 0
    html = state.render((live.PANEL, 7))
    assert html.startswith('<section id="agent-panel-7"') and 'hx-swap-oob="true"' in html
    assert 'data-state-status="1"' in html and "Ann Lee" not in html.split(">")[0]
    # The agents page's groups never include a panel; the agent page's only its agent's.
    vis = Visibility(agent_ids=frozenset({7, 8}))
    assert not any(g.startswith("agent-panel") for g in live.groups_for(vis, "agents"))
    assert live.groups_for(vis, "agent", agent_id=7) == ["agent-panel.7", "alerts.agent.7"]
    assert live.groups_for(vis, "agent", agent_id=9) == []


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with frozen_simulator(seed=51) as s:
        yield s


@pytest.fixture
def clarity(sim: SimulatorThread, settings: Any, monkeypatch: pytest.MonkeyPatch,
            ) -> Iterator[SimulatorThread]:
    """The views' web_client() at the simulator, as the demo points it."""
    for name in ("CLARITY_URL", "CLARITY_AUTH", "CLARITY_USERNAME", "CLARITY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings.CLARITY_SIMULATOR_URL = sim.url
    yield sim
    sim.call(sim.sim.clear_faults)


@pytest.fixture
def centre() -> dict[str, Any]:
    roles_migration.create_roles(django_apps, None)
    falcons = Team.objects.create(clarity_id=1, name="Team Falcons")
    otters = Team.objects.create(clarity_id=2, name="Team Otters")
    ann = Agent.objects.create(clarity_id=3, name="Ann Lee", team=falcons,
                               status="unavailable", reason_code="At Lunch",
                               status_since=at(14), is_suspended=True)
    bob = Agent.objects.create(clarity_id=12, name="Bob Roe", team=otters, status="available")
    return {"falcons": falcons, "otters": otters, "ann": ann, "bob": bob}


def user(name: str, role: str | None, teams: list[Team]) -> User:
    person = User.objects.create_user(name, password="x")
    if role:
        person.groups.add(Role.objects.get(name=role))
    SupervisorScope.objects.create(user=person).teams.set(teams)
    return person


def page_of(person: User, path: str) -> Any:
    client = Client()
    client.force_login(person)
    return client.get(path)


@pytest.mark.django_db
def test_the_page_needs_a_login_and_hides_agents_out_of_scope(centre: dict[str, Any]) -> None:
    response = Client().get("/agents/3/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/agents/3/"
    viewer = user("viewer", "Viewer", [centre["falcons"]])
    assert page_of(viewer, "/agents/12/").status_code == 404  # Bob is an Otter
    assert page_of(viewer, "/agents/999/").status_code == 404  # no such agent: the same
    assert page_of(viewer, "/agents/3/").status_code == 200


@pytest.mark.django_db
def test_the_first_render_shows_the_stored_status_and_todays_history(
        centre: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    ann = centre["ann"]
    StatusPeriod.objects.create(agent=ann, status="available", started_at=at(9), ended_at=at(14))
    StatusPeriod.objects.create(agent=ann, status="afterCall", started_at=at(-3),
                                ended_at=at(-2))  # yesterday
    viewer = user("viewer", "Viewer", [centre["falcons"]])

    html = page_of(viewer, "/agents/3/").content.decode()

    assert "<h1>Ann Lee</h1>" in html and "Team Falcons" in html
    assert 'ws-connect="/ws/live/agent/3/"' in html
    panel = re.search(r'<section id="agent-panel-3"[^>]*>', html)
    assert panel is not None and "hx-swap-oob" not in panel.group(0)
    assert 'data-state-suspended="true"' in panel.group(0)
    assert "Away" in html and "(At Lunch)" in html and "Suspended" in html
    assert f'data-since="{at(14).isoformat()}"' in html
    assert 'id="agent-pending-3"' in html
    # Today's history: the stored period and the current status, not yesterday's.
    periods = re.findall(r'<li class="status-(\w+)"><time datetime="([^"]+)"', html)
    assert periods == [("available", at(9).isoformat()), ("unavailable", at(14).isoformat())]
    assert "2 status periods today" in html
    # A Viewer sees, and is offered no action.
    assert "agent-actions" not in html and "/agents/3/status" not in html
    assert 'id="alerts-list"' in html


@pytest.mark.django_db
def test_a_supervisor_gets_the_actions_with_clarity_s_statuses(
        centre: dict[str, Any], clarity: SimulatorThread) -> None:
    boss = user("boss", "Supervisor", [centre["falcons"]])

    html = page_of(boss, "/agents/3/").content.decode()

    assert 'hx-post="/agents/3/status"' in html and 'action="/agents/3/status"' in html
    # The simulator's List Agent Statuses for the agent: plain statuses and away reasons.
    options = dict(re.findall(r'<option value="([\d:]+)">([^<]+)</option>', html))
    assert options["1"] == "Available" and options["3:2"] == "Away: At Lunch"
    assert "2" not in options, "in call is not a status one can choose"
    assert 'data-confirm="Change the status of Ann Lee to “{choice}”?"' in html
    for url, field, value in (("suspend", "suspended", "true"), ("suspend", "suspended", "false"),
                              ("recording", "action", "start"),
                              ("recording", "action", "stop")):
        assert re.search(rf'hx-post="/agents/3/{url}".*?name="{field}" value="{value}"', html,
                         re.S)
    assert html.count('hx-disabled-elt="find button"') == 5
    assert 'id="confirm-dialog"' in html and "dashboard/actions.js" in html
    assert 'id="agent-action-result"' in html


@pytest.mark.django_db
def test_when_clarity_cannot_list_the_statuses_the_form_offers_to_try_again(
        centre: dict[str, Any], clarity: SimulatorThread) -> None:
    boss = user("boss", "Supervisor", [centre["falcons"]])
    clarity.call(clarity.sim.fail_route, r"/agentStatus/list/", status=500)

    html = page_of(boss, "/agents/3/").content.decode()

    assert 'hx-post="/agents/3/status"' not in html
    assert 'hx-get="/agents/3/status-form"' in html and 'role="alert"' in html
    # The page itself is fine: the panel and the other actions are there.
    assert 'id="agent-panel-3"' in html and 'hx-post="/agents/3/suspend"' in html

    clarity.call(clarity.sim.clear_faults)
    again = page_of(boss, "/agents/3/status-form")
    assert again.status_code == 200 and 'hx-post="/agents/3/status"' in again.content.decode()
    assert page_of(boss, "/agents/12/status-form").status_code == 404


# ---------------------------------------------------------------------------------------------
# The page's socket
# ---------------------------------------------------------------------------------------------


@pytest.fixture
async def bridge(sim: SimulatorThread) -> AsyncIterator[Bridge]:
    async with running_bridge(sim, build="test-build") as running:
        yield running


@pytest.mark.django_db(transaction=True)
async def test_the_agent_socket_carries_that_agents_panel_and_its_changes(
        sim: SimulatorThread, bridge: Bridge) -> None:
    boss = await sync_to_async(User.objects.create_superuser)("boss", password="x")
    agent_page_socket = communicator_for("/ws/live/agent/3/", boss)
    agents_page_socket = communicator_for("/ws/live/agents/", boss)
    assert (await agent_page_socket.connect())[0] and (await agents_page_socket.connect())[0]

    meta, snapshot = split(await agent_page_socket.receive_from(timeout=5))
    assert meta["kind"] == "snapshot"
    assert '<section id="agent-panel-3"' in snapshot and 'hx-swap-oob="true"' in snapshot
    assert 'id="agent-3"' not in snapshot and 'id="agent-panel-4"' not in snapshot
    await agents_page_socket.receive_from(timeout=5)  # its snapshot

    started = time.monotonic()
    await set_status(sim, 3, 3, 2)
    panel_messages = [html for _, html in await messages_until_quiet(agent_page_socket, 1.5)]
    row_messages = [html for _, html in await messages_until_quiet(agents_page_socket, 0.5)]

    changed = [m for m in panel_messages if 'id="agent-panel-3"' in m]
    assert changed and time.monotonic() - started < 3.5
    assert 'data-state-status="3:2"' in changed[-1] and "At Lunch" in changed[-1]
    # The agents page gets the row, never the panel.
    assert any('id="agent-3"' in m for m in row_messages)
    assert not any("agent-panel" in m for m in row_messages)
    for communicator in (agent_page_socket, agents_page_socket):
        await communicator.disconnect()
    await set_status(sim, 3, 1)


@pytest.mark.django_db(transaction=True)
async def test_the_agent_socket_refuses_an_agent_out_of_scope(bridge: Bridge) -> None:
    def lead() -> User:
        person = User.objects.create_user("lead", password="x")
        SupervisorScope.objects.create(user=person).teams.add(Team.objects.get(clarity_id=1))
        return person

    person = await sync_to_async(lead)()
    outside = await sync_to_async(lambda: Agent.objects.filter(team__clarity_id=2)
                                  .order_by("clarity_id").first().clarity_id)()
    refused = communicator_for(f"/ws/live/agent/{outside}/", person)
    connected, code = await refused.connect()
    assert not connected and code == 4404
    bare = communicator_for("/ws/live/agent/", person)
    connected, code = await bare.connect()
    assert not connected and code == 4404

"""The agents page's first render: every row in scope, filtered, sorted and counted as asked.

The browser filters the same rows again as they change (static/dashboard/agents.js, covered
by tests/e2e/test_agents_page.py); here is what the server paints first, what a page without
JavaScript gets, and the data attributes agents.js works on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard import live, mbu
from dashboard.agents_grid import AgentFilters, sort_rows, status_counts
from dashboard.bridge import _names
from dashboard.models import Agent, BusinessUnit, Group, SupervisorScope, Team
from integrations.clarity.wire import MbuStructure

pytestmark = pytest.mark.django_db


@pytest.fixture
def centre() -> dict[str, Any]:
    consumer = BusinessUnit.objects.create(clarity_id=1, name="Consumer")
    business = BusinessUnit.objects.create(clarity_id=2, name="Business")
    tier1 = Group.objects.create(clarity_id=5, name="Tier 1")
    night = Group.objects.create(clarity_id=6, name="Night Shift")
    falcons = Team.objects.create(clarity_id=1, name="Team Falcons", business_unit=consumer)
    falcons.groups.set([tier1, night])
    otters = Team.objects.create(clarity_id=2, name="Team Otters", business_unit=business)
    otters.groups.set([tier1])
    def agent(cid: int, name: str, team: Team, status: str, since: int, **kw: Any) -> Agent:
        return Agent.objects.create(clarity_id=cid, name=name, team=team, status=status,
                                    status_since=datetime(2026, 11, 22, 10, since, tzinfo=UTC),
                                    **kw)

    return {
        "falcons": falcons, "otters": otters, "tier1": tier1, "night": night,
        "ann": agent(11, "Ann Lee", falcons, "inCall", 30),
        "bob": agent(12, "Bob Roe", otters, "unavailable", 10, reason_code="On Break"),
        "cy": agent(13, "cy Park", falcons, "available", 20),
        "dee": agent(14, "Dee Ng", otters, "available", 40),
    }


def _login(client: Client, *, teams: list[Team] | None = None) -> None:
    model = get_user_model()
    if teams is None:
        user = model.objects.create_superuser("boss", password="pw-12345-long")
    else:
        user = model.objects.create_user("lead", password="pw-12345-long")
        SupervisorScope.objects.create(user=user).teams.set(teams)
    client.force_login(user)


def _page(client: Client, **query: Any) -> str:
    response = client.get("/agents/", query)
    assert response.status_code == 200
    return response.content.decode()


def _row(html: str, agent_id: int) -> str:
    """The opening tag of an agent's row."""
    found = re.search(rf'<tr id="agent-{agent_id}"[^>]*>', html)
    assert found, f"no row for agent {agent_id}"
    return found.group(0)


def _visible(html: str) -> list[int]:
    """Ids of the rows shown, in page order."""
    return [int(m.group(1)) for m in re.finditer(r'<tr id="agent-(\d+)"([^>]*)>', html)
            if " hidden" not in m.group(2)]


def _counts(html: str) -> dict[str, int]:
    box = html[html.index('id="agent-counts"'):]
    box = box[:box.index("</div>")]
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'data-count-status="(\w*)".*?class="status-count__n">(\d+)<', box)}


def test_rows_carry_what_the_browser_filters_and_sorts_on(client: Client,
                                                           centre: dict[str, Any]) -> None:
    _login(client)
    html = _page(client)
    ann = _row(html, 11)
    assert 'data-status="inCall"' in ann and 'data-name="Ann Lee"' in ann
    assert 'data-team="1"' in ann and 'data-groups="5 6"' in ann and 'data-unit="1"' in ann
    assert 'data-status-since="2026-11-22T10:30:00+00:00"' in ann
    # Not data-since: live.js would replace the whole row's text with a ticking timer.
    assert "data-since" not in ann.replace("data-status-since", "")
    bob = _row(html, 12)
    assert 'data-team="2"' in bob and 'data-groups="5"' in bob and 'data-unit="2"' in bob
    assert '<script src="/static/dashboard/agents.js" defer></script>' in html
    assert 'id="agent-rows"' in html and 'id="agent-counts"' in html


def test_the_page_and_the_bridge_put_an_agent_in_the_same_groups(
        client: Client, centre: dict[str, Any]) -> None:
    # A structure that states some memberships only on one side, as the MBU may: the
    # agent's team only in team.agentIds, a group only in group.teamIds, the unit only in
    # businessUnit.teamIds.
    structure = MbuStructure.from_json({
        "agents": [{"type": "agent", "id": 11, "name": "Ann Lee"},
                   {"type": "agent", "id": 12, "name": "Bob Roe", "teamId": 2}],
        "teams": [{"type": "team", "id": 1, "name": "Team Falcons", "agentIds": [11],
                   "groupIds": [5]},
                  {"type": "team", "id": 2, "name": "Team Otters", "businessUnitId": 2}],
        "groups": [{"type": "group", "id": 5, "name": "Tier 1", "teamIds": [2]},
                   {"type": "group", "id": 6, "name": "Night Shift", "teamIds": [1]}],
        "businessUnits": [{"type": "businessUnit", "id": 1, "name": "Consumer",
                           "teamIds": [1]},
                          {"type": "businessUnit", "id": 2, "name": "Business"}],
        "queues": [{"type": "queue", "id": 1, "name": "Sales", "teamIds": [1]}],
    })
    mbu.sync_mbu(structure)
    from_structure = mbu.agent_memberships(structure)
    assert from_structure[11] == mbu.Membership(1, (5, 6), 1)
    assert from_structure[12] == mbu.Membership(2, (5,), 2)
    stored = mbu.stored_memberships(Agent.objects.filter(clarity_id__in=[11, 12]))
    assert stored == {11: from_structure[11], 12: from_structure[12]}

    names = _names(structure)
    _login(client)
    page = _page(client)
    for agent_id in (11, 12):
        pushed = live.render_widget(("agent", agent_id), {
            "name": "x", "currentStatus": {"agentStatus": "available"}}, names, oob=True)
        attrs = re.compile(r'data-(?:team|groups|unit)="[^"]*"')
        assert attrs.findall(_row(pushed, agent_id)) == attrs.findall(_row(page, agent_id))


def test_without_filters_every_row_shows_sorted_by_status_and_counted(
        client: Client, centre: dict[str, Any]) -> None:
    _login(client)
    html = _page(client)
    # Available (by name, case-insensitive), then in call, then away.
    assert _visible(html) == [13, 14, 11, 12]
    assert _counts(html) == {"": 4, "available": 2, "inCall": 1, "unavailable": 1}
    assert 'data-count-status="" aria-pressed="true"' in html
    assert 'id="agent-empty" class="agent-empty muted" hidden' in html


@pytest.mark.parametrize(("query", "shown"), [
    ({"team": "2"}, [14, 12]),
    ({"group": "6"}, [13, 11]),
    ({"group": "5"}, [13, 14, 11, 12]),
    ({"unit": "2"}, [14, 12]),
    ({"status": "available"}, [13, 14]),
    ({"team": "1", "status": "available"}, [13]),
    ({"unit": "1", "status": "unavailable"}, []),
])
def test_the_server_filters_by_team_group_unit_and_status(
        client: Client, centre: dict[str, Any], query: dict[str, str], shown: list[int]) -> None:
    _login(client)
    html = _page(client, **query)
    assert _visible(html) == shown
    # Filtered-out rows are still there, hidden: the socket keeps them current, and the
    # browser can widen the filter without asking the server.
    for agent_id in (11, 12, 13, 14):
        _row(html, agent_id)
    assert ('id="agent-empty" class="agent-empty muted" hidden' in html) == bool(shown)
    for name, value in query.items():
        assert re.search(rf'<select id="\w+-filter" name="{name}">.*?<option value="{value}"'
                         r'[^>]* selected>', html, re.S), f"{name}={value} is not selected"


def test_counts_follow_the_place_filters_but_not_the_status_filter(
        client: Client, centre: dict[str, Any]) -> None:
    _login(client)
    html = _page(client, team="2", status="available")
    assert _counts(html) == {"": 2, "available": 1, "unavailable": 1}
    assert re.search(r'data-count-status="available" aria-pressed="true"', html)
    assert 'data-count-status="" aria-pressed="false"' in html
    # A status nobody is in still shows when it is the one asked for, at 0.
    assert _counts(_page(client, status="atLunch")) == {"": 4, "available": 2, "inCall": 1,
                                                         "unavailable": 1, "atLunch": 0}


def test_a_count_button_filters_without_javascript(client: Client,
                                                   centre: dict[str, Any]) -> None:
    # The count buttons submit the filter form with their own status after the select's.
    _login(client)
    response = client.get("/agents/?team=&status=&status=inCall")
    assert _visible(response.content.decode()) == [11]
    html = response.content.decode()
    assert 'type="submit" form="agent-filters" name="status" value="inCall"' in html


@pytest.mark.parametrize(("sort", "order"), [
    ("name", [11, 12, 13, 14]),
    ("time", [12, 13, 11, 14]),
    ("status", [13, 14, 11, 12]),
    ("nonsense", [13, 14, 11, 12]),
])
def test_the_server_sorts_by_name_time_in_state_or_status(
        client: Client, centre: dict[str, Any], sort: str, order: list[int]) -> None:
    _login(client)
    assert _visible(_page(client, sort=sort)) == order


def test_bad_filter_values_are_ignored(client: Client, centre: dict[str, Any]) -> None:
    _login(client)
    html = _page(client, team="1 OR 1=1", group="x", unit="-1", status="<script>")
    assert _visible(html) == [13, 14, 11, 12]
    assert "<script>" not in html and "&lt;script&gt;" not in html


def test_scope_still_applies_whatever_the_filters(client: Client,
                                                  centre: dict[str, Any]) -> None:
    _login(client, teams=[centre["falcons"]])
    html = _page(client)
    assert _visible(html) == [13, 11]
    assert 'id="agent-12"' not in html and 'id="agent-14"' not in html
    assert "Team Otters" not in html and ">Business<" not in html
    assert ">Tier 1<" in html and ">Consumer<" in html
    # A team out of scope is no filter at all (the select could not show it): the rows are
    # still only the ones in scope.
    other = _page(client, team="2")
    assert _visible(other) == [13, 11] and 'id="agent-12"' not in other
    assert _counts(other) == {"": 2, "available": 1, "inCall": 1}


def test_filters_and_counts_on_rows_as_the_bridge_renders_them() -> None:
    rows = [live.agent_row(i, {"name": n, "currentStatus": {"agentStatus": s,
                                                             "startTime": t}},
                           team_id=team, group_ids=groups, unit_id=unit)
            for i, n, s, t, team, groups, unit in (
                (1, "Zed", "available", "2026-11-22T10:00:00Z", 1, [5], 1),
                (2, "amy", "available", None, 2, [5, 6], 1),
                (3, "Bo", "ringOnNoAnswer", "2026-11-22T09:00:00Z", 2, [6], 2),
                (4, "Cat", "somethingNew", "2026-11-22T09:30:00Z", 1, [], None))]
    assert [r["agent_id"] for r in sort_rows(rows, "name")] == [2, 3, 4, 1]
    assert [r["agent_id"] for r in sort_rows(rows, "time")] == [3, 4, 1, 2]
    assert [r["agent_id"] for r in sort_rows(rows, "status")] == [2, 1, 3, 4]
    f = AgentFilters.from_query({"group": "6"})
    assert [r["agent_id"] for r in rows if f.shows(r)] == [2, 3]
    total, counts = status_counts(rows, AgentFilters.from_query({"unit": "1"}))
    assert total == 2 and [(c.status, c.count) for c in counts] == [("available", 2)]
    total, counts = status_counts(rows, AgentFilters())
    assert [(c.status, c.label, c.count) for c in counts][-1] == ("somethingNew",
                                                                  "somethingNew", 1)

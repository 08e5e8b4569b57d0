"""The live pages' first render: placeholders from the database, in the viewer's scope."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard import store
from dashboard.models import Agent, BusinessUnit, Queue, SupervisorScope, Team, Wallboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def centre() -> dict[str, Any]:
    unit = BusinessUnit.objects.create(clarity_id=1, name="Consumer")
    falcons = Team.objects.create(clarity_id=1, name="Team Falcons", business_unit=unit)
    otters = Team.objects.create(clarity_id=2, name="Team Otters", business_unit=unit)
    sales = Queue.objects.create(clarity_id=1, name="Sales", business_unit=unit)
    sales.teams.add(falcons)
    support = Queue.objects.create(clarity_id=2, name="Support", business_unit=unit)
    support.teams.add(otters)
    ann = Agent.objects.create(clarity_id=11, name="Ann Lee", team=falcons, status="inCall")
    bob = Agent.objects.create(clarity_id=12, name="Bob Roe", team=otters,
                               status="unavailable", reason_code="On Break")
    return {"falcons": falcons, "otters": otters, "sales": sales, "support": support,
            "ann": ann, "bob": bob}


def _login(client: Client, *, superuser: bool = False, teams: list[Team] | None = None) -> Any:
    model = get_user_model()
    user = (model.objects.create_superuser("boss", password="pw-12345-long") if superuser
            else model.objects.create_user("lead", password="pw-12345-long"))
    if teams is not None:
        SupervisorScope.objects.create(user=user).teams.set(teams)
    client.force_login(user)
    return user


def test_pages_need_a_login(client: Client) -> None:
    for path in ("/", "/agents/", "/alerts/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_overview_has_a_placeholder_per_visible_queue(client: Client,
                                                          centre: dict[str, Any]) -> None:
    _login(client, teams=[centre["falcons"]])
    html = client.get("/").content.decode()
    assert 'id="queue-1"' in html and "Sales" in html
    assert 'id="queue-2"' not in html, "Support is served by a team outside the scope"
    assert 'ws-connect="/ws/live/overview/"' in html
    assert 'id="alerts-list"' in html and 'id="totals-agent-team-1"' in html


def test_the_agent_grid_shows_persisted_status_in_scope(client: Client,
                                                        centre: dict[str, Any]) -> None:
    _login(client, superuser=True)
    html = client.get("/agents/").content.decode()
    assert 'id="agent-11"' in html and "In call" in html
    assert 'id="agent-12"' in html and "On Break" in html
    filtered = client.get("/agents/", {"team": "2"}).content.decode()
    # Filtered-out rows stay on the page, hidden, so the socket can keep them current.
    assert re.search(r'<tr id="agent-12"(?![^>]* hidden)[^>]*>', filtered)
    assert re.search(r'<tr id="agent-11"[^>]* hidden[^>]*>', filtered)


def test_a_wallboard_needs_no_login_and_a_revoked_one_is_gone(client: Client,
                                                              centre: dict[str, Any]) -> None:
    board = Wallboard.objects.create(name="Floor TV", pages=["overview", "agents"],
                                     theme="light", font_scale=1.5)
    board.queues.add(centre["sales"])
    board.teams.add(centre["falcons"])
    response = client.get(board.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-theme="light"' in html and 'id="queue-1"' in html and 'id="agent-11"' in html
    assert f'ws-connect="/ws/wallboard/{board.token}/"' in html
    assert 'id="agent-12"' not in html and "Support" not in html
    assert "/admin/" not in html, "a wallboard shows nothing else"
    store.revoke_wallboard(board)
    assert client.get(board.get_absolute_url()).status_code == 404
    assert client.get("/wallboard/not-a-token/").status_code == 404

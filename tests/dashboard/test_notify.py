"""Notifying an agent through OpenMethods: dashboard.actions.notify_agent and notify_for_rule,
the agent page's form and its endpoint, against the local OpenMethods fake over real sockets.
Whatever reached OpenMethods is read back from the fake's own list of events."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.apps import apps as django_apps
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import User
from django.test import Client

from dashboard import actions
from dashboard.models import (
    Agent,
    AuditEntry,
    BusinessUnit,
    OpenMethodsLogin,
    SupervisorScope,
    Team,
)
from integrations.fake_server import FakeServerThread
from integrations.openmethods.client import OpenMethodsConfig
from integrations.openmethods.fake import DEMO_API_KEY, FakeOpenMethods

pytestmark = pytest.mark.django_db(transaction=True)

roles_migration = importlib.import_module("dashboard.migrations.0004_roles")
openmethods_migration = importlib.import_module("dashboard.migrations.0005_openmethods")


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenMethods, OpenMethodsConfig]]:
    state = FakeOpenMethods()
    with FakeServerThread(state.app(), name="fake-openmethods") as server:
        yield state, OpenMethodsConfig(api_key=DEMO_API_KEY, base_url=server.url,
                                       crm_id="acme.crm")


@pytest.fixture(autouse=True)
def _people(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "_guard", actions._RepeatGuard())
    # Transactional tests empty the tables, the migrations' groups included: as migrated.
    roles_migration.create_roles(django_apps, None)
    openmethods_migration.grant_notify(django_apps, None)
    unit = BusinessUnit.objects.create(clarity_id=1, name="Unit")
    ours = Team.objects.create(clarity_id=10, name="Ours", business_unit=unit)
    theirs = Team.objects.create(clarity_id=20, name="Theirs", business_unit=unit)
    mapped = Agent.objects.create(clarity_id=5, name="Jo Smith", team=ours)
    OpenMethodsLogin.objects.create(agent=mapped, cti_login="JSmith", crm_login="J.Smith")
    Agent.objects.create(clarity_id=6, name="Unmapped", team=ours)
    other = Agent.objects.create(clarity_id=7, name="Elsewhere", team=theirs)
    OpenMethodsLogin.objects.create(agent=other, cti_login="Else")
    for name, role in (("sup", "Supervisor"), ("viewer", "Viewer")):
        user = User.objects.create_user(name, password="x")
        user.groups.add(Role.objects.get(name=role))
        SupervisorScope.objects.create(user=user).teams.set([ours])


def _user(name: str) -> User:
    return User.objects.get(username=name)


def _events(fake: tuple[FakeOpenMethods, OpenMethodsConfig]) -> list[dict[str, Any]]:
    return list(fake[0].events)


async def _audit() -> list[AuditEntry]:
    return await sync_to_async(lambda: list(AuditEntry.objects.order_by("pk")))()


async def test_a_supervisor_notifies_an_agent_by_cti_and_it_is_audited(fake: Any) -> None:
    user = await sync_to_async(_user)("sup")
    outcome = await actions.notify_agent(user, 5, fake[1], route="cti", event="Supervisor Note",
                                         properties={"message": "Take the next chat"})
    assert outcome.ok, outcome.message
    [event] = _events(fake)
    assert (event["route"], event["agent_id"], event["event"]) == ("json", "JSmith",
                                                                   "Supervisor Note")
    assert event["properties"] == {"message": "Take the next chat"}
    [entry] = await _audit()
    assert (entry.action, entry.outcome, entry.username, entry.target_id, entry.upstream_status) \
        == ("agent.notify", "ok", "sup", 5, 200)
    assert entry.params == {"route": "cti", "event": "Supervisor Note",
                            "properties": {"message": "Take the next chat"}}


async def test_the_crm_route_sends_the_crm_name_in_lower_case(fake: Any) -> None:
    user = await sync_to_async(_user)("sup")
    outcome = await actions.notify_agent(user, 5, fake[1], route="crm", event="popIt",
                                         properties={})
    assert outcome.ok, outcome.message
    [event] = _events(fake)
    assert (event["route"], event["agent_id"], event["crm_id"]) == ("crm", "j.smith", "acme.crm")


@pytest.mark.parametrize("who, agent_id", [("viewer", 5), ("sup", 7)])
async def test_no_permission_or_out_of_scope_is_denied_and_nothing_is_sent(
        fake: Any, who: str, agent_id: int) -> None:
    user = await sync_to_async(_user)(who)
    outcome = await actions.notify_agent(user, agent_id, fake[1], route="cti", event="popIt",
                                         properties={})
    assert outcome.result == "denied"
    assert not _events(fake)
    [entry] = await _audit()
    assert entry.outcome == "denied"


async def test_an_agent_without_an_openmethods_name_is_a_clear_failure(fake: Any) -> None:
    user = await sync_to_async(_user)("sup")
    outcome = await actions.notify_agent(user, 6, fake[1], route="cti", event="popIt",
                                         properties={})
    assert outcome.result == "failed"
    assert "no OpenMethods name" in outcome.message
    assert not _events(fake)


async def test_a_refused_key_tells_the_admin_to_copy_the_new_one(fake: Any) -> None:
    fake[0].api_key = "regenerated"  # as if an admin re-generated it in Experience Cloud
    user = await sync_to_async(_user)("sup")
    outcome = await actions.notify_agent(user, 5, fake[1], route="cti", event="popIt",
                                         properties={})
    assert (outcome.result, outcome.upstream_status) == ("failed", 401)
    assert "API Key" in outcome.message and "OPENMETHODS_API_KEY" in outcome.message
    [entry] = await _audit()
    assert (entry.outcome, entry.upstream_status) == ("failed", 401)


async def test_without_openmethods_set_up_the_action_says_so(fake: Any) -> None:
    user = await sync_to_async(_user)("sup")
    outcome = await actions.notify_agent(user, 5, None, route="cti", event="popIt",
                                         properties={})
    assert outcome.result == "failed"
    assert "not set up" in outcome.message


async def test_a_rules_notification_is_audited_under_the_rules_name(fake: Any) -> None:
    outcome = await actions.notify_for_rule("Long waits", 5, fake[1], event="Queue Alarm",
                                            properties={"queue": "Sales"})
    assert outcome.ok, outcome.message
    [event] = _events(fake)
    assert (event["agent_id"], event["event"], event["properties"]) == (
        "JSmith", "Queue Alarm", {"queue": "Sales"})
    [entry] = await _audit()
    assert (entry.username, entry.user_id, entry.outcome) == ("rule: Long waits", None, "ok")


# -- the agent page and its endpoint ----------------------------------------------------------


@pytest.fixture
def browser(fake: Any, settings: Any) -> Client:
    settings.OPENMETHODS = fake[1]
    settings.OPENMETHODS_DEFAULT_EVENT = "Supervisor Note"
    client = Client(enforce_csrf_checks=True)
    client.force_login(_user("sup"))
    return client


def _csrf(client: Client, path: str) -> str:
    client.get(path)
    return str(client.cookies["csrftoken"].value)


def test_the_agent_page_offers_both_routes_with_the_default_event(browser: Client) -> None:
    page = browser.get("/agents/5/").content.decode()
    assert 'id="agent-notify-5"' in page
    assert 'name="route" value="cti"' in page and 'name="route" value="crm"' in page
    assert 'value="Supervisor Note"' in page


def test_the_agent_page_says_when_the_agent_has_no_openmethods_login(browser: Client) -> None:
    page = browser.get("/agents/6/").content.decode()
    assert "no OpenMethods login yet" in page
    assert 'action="/agents/6/notify"' not in page


def test_no_form_where_openmethods_is_off(browser: Client, settings: Any) -> None:
    settings.OPENMETHODS = None
    assert 'id="agent-notify-5"' not in browser.get("/agents/5/").content.decode()


def test_the_form_posts_the_event_with_its_properties(browser: Client, fake: Any) -> None:
    token = _csrf(browser, "/agents/5/")
    response = browser.post("/agents/5/notify", {
        "csrfmiddlewaretoken": token, "route": "cti", "event": "Supervisor Note",
        "properties": "message=Please take the next chat\r\n\r\npriority = high"},
        HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content
    assert response["X-Action-Result"] == "ok"
    [event] = _events(fake)
    assert event["properties"] == {"message": "Please take the next chat", "priority": "high"}


@pytest.mark.parametrize("fields, complaint", [
    ({"event": "  "}, "Name the PopFlow event"),
    ({"properties": "no equals sign"}, "Line 1 of the properties"),
    ({"properties": "jwt=stolen"}, "one of the API"),
    ({"properties": "a=1\nA=2"}, "given twice"),
    ({"route": "fax"}, "CTI or CRM"),
    ({"event": "x" * 201}, "at most 200"),
])
def test_bad_input_is_400_with_a_reason_and_nothing_is_sent_or_audited(
        browser: Client, fake: Any, fields: dict[str, str], complaint: str) -> None:
    token = _csrf(browser, "/agents/5/")
    data = {"csrfmiddlewaretoken": token, "route": "cti", "event": "popIt", **fields}
    response = browser.post("/agents/5/notify", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert complaint in response.content.decode()
    assert not _events(fake)
    assert not AuditEntry.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(browser: Client, fake: Any) -> None:
    response = browser.post("/agents/5/notify", {"route": "cti", "event": "popIt"})
    assert response.status_code == 403
    assert not _events(fake)


def test_a_refused_key_answers_409(browser: Client, fake: Any) -> None:
    httpx.post(fake[1].base_url + "/_fake/control", json={"api_key": "regenerated"})
    token = _csrf(browser, "/agents/5/")
    response = browser.post("/agents/5/notify", {"csrfmiddlewaretoken": token, "route": "cti",
                                                 "event": "popIt"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "API Key" in response.content.decode()

"""The admin, through Django's test client as a superuser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from dashboard import store
from dashboard.models import (
    Agent,
    Alert,
    AuditEntry,
    BusinessUnit,
    Group,
    OpenMethodsLogin,
    Queue,
    QueueSample,
    StatusPeriod,
    SupervisorScope,
    Team,
    ThresholdRule,
    Wallboard,
)
from tests.dashboard.test_mbu import synced

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
MBU_MODELS = [BusinessUnit, Group, Team, Queue, Agent]
BRIDGE_MODELS = [StatusPeriod, QueueSample, Alert]
ALL_MODELS = [*MBU_MODELS, *BRIDGE_MODELS, ThresholdRule, Wallboard, SupervisorScope, AuditEntry,
              OpenMethodsLogin]


def url(model: type, view: str = "changelist", *args: object) -> str:
    suffix = "/".join(str(a) for a in args)
    base = f"/admin/dashboard/{model._meta.model_name}/"
    return {"changelist": base, "add": base + "add/", "change": f"{base}{suffix}/change/",
            "delete": f"{base}{suffix}/delete/"}[view]


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    # admin_client's user gets a password; the default hasher takes most of a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def data(db: None) -> None:
    synced()
    ada = Agent.objects.get(clarity_id=11)
    ada.status, ada.status_since, ada.is_suspended = "available", T0, True
    ada.save()
    StatusPeriod.objects.create(agent=ada, status="available", started_at=T0)
    QueueSample.objects.create(queue=Queue.objects.get(clarity_id=1), modality="audio",
                               taken_at=T0, metrics={"queuedCount": 2})
    store.save_alerts([{"id": 501, "name": "Long wait", "severity": "critical",
                        "entityType": "queue", "entityId": 1, "entityName": "Sales",
                        "metric": "longestQueuedTime", "isActive": True,
                        "raisedTime": "2025-03-01T09:00:00Z"}])
    ThresholdRule.objects.create(name="Wait", metric="longestQueuedTime", warning=30,
                                 critical=60)
    board = Wallboard.objects.create(name="Floor 2")
    board.queues.set(Queue.objects.filter(clarity_id__in=[1, 2]))
    scope = SupervisorScope.objects.create(user=User.objects.create_user("sup"))
    scope.teams.set(Team.objects.filter(clarity_id=1))
    AuditEntry.objects.create(username="sup", action="agent.status", target_type="agent",
                              target_id=11, agent_clarity_id=11, outcome="ok")
    OpenMethodsLogin.objects.create(agent=ada, cti_login="AdaL", crm_login="ada.l")


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_every_changelist_loads(admin_client: Client, data: None, model: type) -> None:
    response = admin_client.get(url(model))

    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.result_count == model.objects.count() > 0
    assert len(changelist.result_list) == changelist.result_count


@pytest.mark.parametrize("model", [*MBU_MODELS, *BRIDGE_MODELS, AuditEntry],
                         ids=lambda m: m.__name__)
def test_synced_and_bridge_rows_cannot_be_added_changed_or_deleted(
    admin_client: Client, data: None, model: type
) -> None:
    obj = model.objects.order_by("pk").first()
    request = RequestFactory().get("/")
    request.user = User.objects.get(username="admin")
    model_admin = admin.site._registry[model]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.get(url(model, "delete", obj.pk)).status_code == 403
    # The change page is a read-only view: no form to save.
    page = admin_client.get(url(model, "change", obj.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(url(model, "change", obj.pk), {"name": "Edited"})
    assert response.status_code == 403


def test_the_agent_list_shows_status_team_and_suspension(admin_client: Client,
                                                        data: None) -> None:
    content = admin_client.get(url(Agent)).content.decode()

    for text in ("column-status", "column-team", "column-is_suspended", "Falcons", "available"):
        assert text in content
    filtered = admin_client.get(url(Agent), {"is_suspended__exact": "1"}).content.decode()
    assert "Ada Lovelace" in filtered and "Ben Okafor" not in filtered


def test_alerts_filter_by_acknowledgement_and_can_be_acknowledged(admin_client: Client,
                                                                 data: None) -> None:
    assert "Long wait" in admin_client.get(url(Alert), {"acknowledged": "no"}).content.decode()
    assert "Long wait" not in admin_client.get(url(Alert),
                                               {"acknowledged": "yes"}).content.decode()
    alert = Alert.objects.get(clarity_id=501)

    response = admin_client.post(url(Alert), {"action": "acknowledge",
                                              "_selected_action": [alert.pk]})

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "admin" and alert.acknowledged_at is not None
    assert "Long wait" in admin_client.get(url(Alert), {"acknowledged": "yes"}).content.decode()


def test_threshold_rules_are_editable(admin_client: Client, data: None) -> None:
    queue = Queue.objects.get(clarity_id=3)
    response = admin_client.post(url(ThresholdRule, "add"), {
        "name": "Billing SLA", "metric": "serviceLevel", "modality": "audio",
        "queue": queue.pk, "warning": "80", "critical": "60", "enabled": "on",
    })

    assert response.status_code == 302, response.content.decode()
    rule = ThresholdRule.objects.get(name="Billing SLA")
    assert rule.queue == queue and not rule.higher_is_worse

    # Levels out of order are refused by the form (ThresholdRule.clean).
    response = admin_client.post(url(ThresholdRule, "add"), {
        "name": "Backwards", "metric": "queuedCount", "warning": "10", "critical": "5",
        "higher_is_worse": "on", "enabled": "on",
    })
    assert response.status_code == 200
    assert not ThresholdRule.objects.filter(name="Backwards").exists()


def test_a_wallboard_is_created_with_pages_and_shown_with_its_link(admin_client: Client,
                                                                  data: None) -> None:
    page = admin_client.get(url(Wallboard, "add"))
    assert page.status_code == 200 and 'name="token"' not in page.content.decode()

    response = admin_client.post(url(Wallboard, "add"), {
        "name": "Lobby TV", "queues": [Queue.objects.get(clarity_id=4).pk],
        "teams": [Team.objects.get(clarity_id=3).pk], "pages": ["alerts", "overview"],
        "rotate_seconds": "20", "theme": "light", "font_scale": "1.5",
    })

    assert response.status_code == 302, response.content.decode()
    board = Wallboard.objects.get(name="Lobby TV")
    assert board.pages == ["overview", "alerts"]  # in the choices' order
    assert (board.rotate_seconds, board.theme, board.font_scale) == (20, "light", 1.5)
    assert len(board.token) >= 43
    listing = admin_client.get(url(Wallboard)).content.decode()
    assert f'href="/wallboard/{board.token}/"' in listing
    assert "overview, alerts" in listing
    change = admin_client.get(url(Wallboard, "change", board.pk)).content.decode()
    assert board.token in change and 'name="token"' not in change


def test_the_wallboard_form_refuses_bad_values(admin_client: Client, data: None) -> None:
    response = admin_client.post(url(Wallboard, "add"), {
        "name": "Bad", "pages": [], "rotate_seconds": "2", "theme": "dark", "font_scale": "9",
    })

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"pages", "rotate_seconds", "font_scale"}
    assert not Wallboard.objects.filter(name="Bad").exists()


def test_the_rotate_action_gives_a_new_url(admin_client: Client, data: None) -> None:
    board = Wallboard.objects.get(name="Floor 2")
    old = board.token

    response = admin_client.post(url(Wallboard), {"action": "rotate_token",
                                                  "_selected_action": [board.pk]})

    assert response.status_code == 302
    board.refresh_from_db()
    assert board.token != old and store.wallboard_for_token(old) is None
    assert store.wallboard_for_token(board.token) == board


def test_the_revoke_action_kills_the_url(admin_client: Client, data: None) -> None:
    board = Wallboard.objects.get(name="Floor 2")

    response = admin_client.post(url(Wallboard), {"action": "revoke",
                                                  "_selected_action": [board.pk]})

    assert response.status_code == 302
    board.refresh_from_db()
    assert board.revoked_at is not None
    assert store.wallboard_for_token(board.token) is None
    assert f"/wallboard/{board.token}/" not in admin_client.get(url(Wallboard)).content.decode()


def test_supervisor_scopes_are_editable(admin_client: Client, data: None) -> None:
    user = User.objects.create_user("newsup")
    page = admin_client.get(url(SupervisorScope, "add")).content.decode()
    assert "selectfilter" in page.lower()  # filter_horizontal widgets

    response = admin_client.post(url(SupervisorScope, "add"), {
        "user": user.pk, "teams": [Team.objects.get(clarity_id=2).pk],
        "groups": [Group.objects.get(clarity_id=1).pk],
        "business_units": [BusinessUnit.objects.get(clarity_id=2).pk],
    })

    assert response.status_code == 302, response.content.decode()
    scope = SupervisorScope.objects.get(user=user)
    assert [t.clarity_id for t in scope.teams.all()] == [2]
    assert [g.clarity_id for g in scope.groups.all()] == [1]
    assert [b.clarity_id for b in scope.business_units.all()] == [2]


def test_deactivated_entities_are_not_offered_for_new_assignments(admin_client: Client,
                                                                 data: None) -> None:
    Team.objects.filter(clarity_id=4).update(active=False)
    Queue.objects.filter(clarity_id=5).update(active=False)

    scope_form = admin_client.get(url(SupervisorScope, "add")).context["adminform"].form
    board_form = admin_client.get(url(Wallboard, "add")).context["adminform"].form

    assert "Ravens" not in {t.name for t in scope_form.fields["teams"].queryset}
    assert "Falcons" in {t.name for t in scope_form.fields["teams"].queryset}
    assert "Partners" not in {q.name for q in board_form.fields["queues"].queryset}


def test_openmethods_logins_are_entered_per_agent(admin_client: Client, data: None) -> None:
    agent = Agent.objects.exclude(clarity_id=11).first()
    assert agent is not None
    response = admin_client.post(url(OpenMethodsLogin, "add"), {
        "agent": agent.pk, "cti_login": "BGrace", "crm_login": ""})
    assert response.status_code == 302, response.content.decode()
    assert OpenMethodsLogin.objects.get(agent=agent).cti_login == "BGrace"
    # Neither name is refused with the reason.
    other = Agent.objects.exclude(openmethods__isnull=False).first()
    assert other is not None
    response = admin_client.post(url(OpenMethodsLogin, "add"), {
        "agent": other.pk, "cti_login": "", "crm_login": ""})
    assert response.status_code == 200
    assert "Give the CTI login" in response.content.decode()
    assert not OpenMethodsLogin.objects.filter(agent=other).exists()


def test_a_threshold_rule_notifies_an_agent_only_with_an_event(admin_client: Client,
                                                               data: None) -> None:
    lead = Agent.objects.get(clarity_id=11)
    base = {"name": "Wait alarm", "metric": "longestQueuedTime", "warning": "30",
            "critical": "60", "higher_is_worse": "on", "enabled": "on"}
    response = admin_client.post(url(ThresholdRule, "add"), {**base, "notify_agent": lead.pk})
    assert response.status_code == 200
    assert "Name the PopFlow event" in response.content.decode()
    response = admin_client.post(url(ThresholdRule, "add"), {
        **base, "notify_agent": lead.pk, "notify_event": "Queue Alarm"})
    assert response.status_code == 302, response.content.decode()
    rule = ThresholdRule.objects.get(name="Wait alarm")
    assert (rule.notify_agent, rule.notify_event) == (lead, "Queue Alarm")

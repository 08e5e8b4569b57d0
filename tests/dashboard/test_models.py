"""The models' own rules: defaults, validation, constraints, display."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from dashboard.models import (
    Agent,
    Alert,
    BusinessUnit,
    Group,
    Queue,
    QueueSample,
    StatusPeriod,
    SupervisorScope,
    Team,
    ThresholdRule,
    Wallboard,
    new_wallboard_token,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_new_wallboard_tokens_are_long_url_safe_and_unique() -> None:
    tokens = {new_wallboard_token() for _ in range(200)}

    assert len(tokens) == 200
    assert all(len(t) >= 43 for t in tokens)
    assert all(set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for t in tokens)


@pytest.mark.django_db
def test_a_wallboard_gets_a_token_and_sensible_defaults() -> None:
    a = Wallboard.objects.create(name="Floor 2")
    b = Wallboard.objects.create(name="Floor 1")

    assert len(a.token) >= 43 and a.token != b.token
    assert a.pages == ["overview"] and a.rotate_seconds == 30
    assert a.theme == "dark" and a.font_scale == 1.0
    assert a.revoked_at is None and not a.is_revoked
    assert a.get_absolute_url() == f"/wallboard/{a.token}/"
    assert str(a) == "Floor 2"
    assert [w.name for w in Wallboard.objects.all()] == ["Floor 1", "Floor 2"]


@pytest.mark.django_db
def test_wallboard_tokens_are_unique_in_the_database() -> None:
    a = Wallboard.objects.create(name="A")

    with pytest.raises(IntegrityError):
        Wallboard.objects.create(name="B", token=a.token)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("font_scale", 0.4),
        ("font_scale", 3.1),
        ("rotate_seconds", 4),
        ("pages", []),
        ("pages", ["overview", "weather"]),
        ("pages", ["agents", "agents"]),
        ("pages", "overview"),
        ("theme", "sepia"),
    ],
)
@pytest.mark.django_db
def test_wallboard_validation_refuses_bad_settings(field: str, value: object) -> None:
    board = Wallboard(name="Floor", **{field: value})

    with pytest.raises(ValidationError) as excinfo:
        board.full_clean()
    assert field in excinfo.value.message_dict


@pytest.mark.django_db
def test_wallboard_validation_accepts_the_limits() -> None:
    Wallboard(name="Floor", font_scale=0.5, rotate_seconds=5, pages=["alerts"]).full_clean()
    Wallboard(name="Floor", font_scale=3.0, pages=["overview", "agents", "alerts"],
              theme="light").full_clean()


@pytest.mark.parametrize(("field", "value"), [("font_scale", 5.0), ("rotate_seconds", 1)])
@pytest.mark.django_db
def test_the_database_refuses_out_of_range_wallboards_too(field: str, value: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallboard.objects.create(name="Floor", **{field: value})


@pytest.mark.django_db
def test_mbu_models_display_by_name_in_name_order() -> None:
    bu = BusinessUnit.objects.create(clarity_id=1, name="Consumer")
    group = Group.objects.create(clarity_id=1, name="Tier 1")
    Team.objects.create(clarity_id=2, name="Owls", business_unit=bu)
    team = Team.objects.create(clarity_id=1, name="Falcons", business_unit=bu)
    team.groups.add(group)
    queue = Queue.objects.create(clarity_id=1, name="Sales", business_unit=bu)
    queue.teams.add(team)
    agent = Agent.objects.create(clarity_id=11, name="Ada", team=team)

    assert [str(x) for x in (bu, group, team, queue, agent)] == [
        "Consumer", "Tier 1", "Falcons", "Sales", "Ada"]
    assert [t.name for t in Team.objects.all()] == ["Falcons", "Owls"]
    assert agent.active and agent.status == "" and agent.status_since is None
    assert Agent._meta.verbose_name == "agent"
    assert BusinessUnit._meta.verbose_name_plural == "business units"
    # SET_NULL: a team going away (it never should) does not take its agents with it.
    team.delete()
    agent.refresh_from_db()
    assert agent.team is None


@pytest.mark.django_db
def test_clarity_ids_are_unique() -> None:
    Queue.objects.create(clarity_id=1, name="Sales")

    with pytest.raises(IntegrityError):
        Queue.objects.create(clarity_id=1, name="Sales again")


@pytest.mark.django_db
def test_a_status_period_is_stored_once() -> None:
    agent = Agent.objects.create(clarity_id=11, name="Ada")
    StatusPeriod.objects.create(agent=agent, status="available", started_at=T0)
    StatusPeriod.objects.create(agent=agent, status="inCall", started_at=T0)

    with pytest.raises(IntegrityError):
        StatusPeriod.objects.create(agent=agent, status="available", started_at=T0)


@pytest.mark.django_db
def test_a_queue_sample_is_stored_once_per_queue_modality_and_time() -> None:
    queue = Queue.objects.create(clarity_id=1, name="Sales")
    QueueSample.objects.create(queue=queue, modality="audio", taken_at=T0, metrics={})
    QueueSample.objects.create(queue=queue, modality="message", taken_at=T0, metrics={})

    with pytest.raises(IntegrityError):
        QueueSample.objects.create(queue=queue, modality="audio", taken_at=T0, metrics={})


@pytest.mark.django_db
def test_alert_acknowledgement_property_and_display() -> None:
    alert = Alert.objects.create(clarity_id=501, name="Long wait", raised_at=T0)

    assert not alert.is_acknowledged and alert.is_active
    assert str(alert) == "Long wait"
    assert str(Alert(clarity_id=7, raised_at=T0)) == "Alert 7"
    alert.acknowledged_at = T0
    assert alert.is_acknowledged


@pytest.mark.parametrize(
    ("higher_is_worse", "warning", "critical", "ok"),
    [(True, 30, 60, True), (True, 60, 30, False), (False, 80, 60, True), (False, 60, 80, False),
     (True, 30, 30, True)],
)
def test_threshold_rule_levels_must_be_in_order(higher_is_worse: bool, warning: float,
                                                critical: float, ok: bool) -> None:
    rule = ThresholdRule(name="r", metric="m", warning=warning, critical=critical,
                         higher_is_worse=higher_is_worse)
    if ok:
        rule.clean()
    else:
        with pytest.raises(ValidationError, match="critical"):
            rule.clean()


@pytest.mark.django_db
def test_a_supervisor_scope_belongs_to_one_user() -> None:
    user = User.objects.create_user("sup")
    scope = SupervisorScope.objects.create(user=user)

    assert user.supervisor_scope == scope and str(scope) == "Scope of sup"
    with pytest.raises(IntegrityError):
        SupervisorScope.objects.create(user=user)

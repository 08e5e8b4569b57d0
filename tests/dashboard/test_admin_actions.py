"""The admin's actions, through Django's test client, against the real simulator.

Agent actions go through dashboard.actions: each effect is read back from the simulator's own
model (`sim.call`), and from the audit log. The admin opens its own Clarity client from
`clarity_config()`, which with no CLARITY_URL points at `settings.CLARITY_SIMULATOR_URL`: here
the test's SimulatorThread. Nothing is faked.
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import Permission, User
from django.http import HttpResponse
from django.test import Client, RequestFactory

from dashboard import actions
from dashboard.admin import (
    MAX_AGENTS_PER_ACTION,
    common_status_choices,
    csv_safe,
)
from dashboard.clarity import clarity_config
from dashboard.management.commands.sync_mbu import fetch_mbu
from dashboard.mbu import sync_mbu
from dashboard.models import Agent, AuditEntry, BusinessUnit, Queue, SupervisorScope, Team
from integrations.clarity.simulator.model import REASON_CODES, SETTABLE_STATUS_IDS
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread
from tests.dashboard.test_actions import agent_state, idle_agent, live_session, on_sim

roles_migration = importlib.import_module("dashboard.migrations.0004_roles")

AGENTS = "/admin/dashboard/agent/"
STATUS_FORM = "/admin/dashboard/agent/status/"
AUDIT = "/admin/dashboard/auditentry/"
AUDIT_EXPORT = "/admin/dashboard/auditentry/export/"
AGENT_ACTIONS = {"change_status", "suspend", "unsuspend", "start_recording", "stop_recording"}


# ---------------------------------------------------------------------------------------------
# The simulator, the structure and the people
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    # A clock that barely moves: the only changes are the ones the tests make.
    with SimulatorThread(SimulatorConfig(port=0, seed=61, speed=1e-6)) as s:
        yield s


@pytest.fixture(autouse=True)
def clarity(sim: SimulatorThread, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The admin's Clarity is the simulator; a fresh repeated-click guard per test."""
    for name in ("CLARITY_URL", "CLARITY_AUTH", "CLARITY_USERNAME", "CLARITY_PASSWORD",
                 "CLARITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings.CLARITY_SIMULATOR_URL = sim.url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr(actions, "_guard", actions._RepeatGuard())
    yield
    sim.call(sim.sim.clear_faults)


@pytest.fixture
def structure(db: None) -> None:
    """The simulator's MBU structure in the database, and the roles as the migration makes
    them (a transactional test elsewhere may have emptied the groups)."""
    sync_mbu(async_to_sync(fetch_mbu)(clarity_config()))
    roles_migration.create_roles(django_apps, None)


def person(name: str, role: str | None = None, *, teams: tuple[int, ...] = (),
           perms: tuple[str, ...] = ()) -> Client:
    """A staff user with `role`, scoped to `teams` (Clarity ids), logged in."""
    user = User.objects.create_user(name, password="x", is_staff=True)
    if role:
        user.groups.add(Role.objects.get(name=role))
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename,
                                                         content_type__app_label="dashboard"))
    if teams:
        scope = SupervisorScope.objects.create(user=user)
        scope.teams.set(Team.objects.filter(clarity_id__in=teams))
    client = Client()
    client.force_login(user)
    return client


def team_of(agent_id: int) -> int:
    team = Agent.objects.get(clarity_id=agent_id).team
    assert team is not None
    return team.clarity_id


def pk(agent_id: int) -> int:
    return Agent.objects.get(clarity_id=agent_id).pk


def run_action(client: Client, action: str, *agent_ids: int) -> HttpResponse:
    return client.post(AGENTS, {"action": action,
                                "_selected_action": [pk(a) for a in agent_ids]}, follow=True)


def shown(response: HttpResponse) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def offered_actions(client: Client, url: str = AGENTS) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["action_form"]
    if form is None:  # no action at all: Django leaves the form out
        return set()
    return {name for name, _label in form.fields["action"].choices if name}


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("pk"))


def status_form_url(*agent_ids: int) -> str:
    return STATUS_FORM + "?" + "&".join(f"agent={a}" for a in agent_ids)


# ---------------------------------------------------------------------------------------------
# Changing status: the intermediate form
# ---------------------------------------------------------------------------------------------


def test_the_status_action_leads_to_a_form_of_clarity_choices_that_changes_the_agents(
        sim: SimulatorThread, admin_client: Client, structure: None) -> None:
    first = idle_agent(sim)
    second = idle_agent(sim, skip=(first,))

    chosen = admin_client.post(AGENTS, {"action": "change_status",
                                        "_selected_action": [pk(first), pk(second)]})

    assert chosen.status_code == 302
    target = urlsplit(chosen["Location"])
    assert target.path == STATUS_FORM
    assert sorted(parse_qs(target.query)["agent"]) == sorted([str(first), str(second)])

    page = admin_client.get(chosen["Location"])
    assert page.status_code == 200
    form = page.context["form"]
    values = {value for _group, options in form.fields["status"].choices
              for value, _label in options}
    # Exactly what the simulator's List Agent Statuses offers: the settable statuses, and
    # Unavailable with each reason code.
    assert values == {str(s) for s in SETTABLE_STATUS_IDS} | {f"3:{c}" for c in REASON_CODES}
    html = page.content.decode()
    assert f"Away: {REASON_CODES[2]}" in html and 'type="radio"' in html
    assert f'href="/agents/{first}/"' in html and f'href="/agents/{second}/"' in html
    assert "csrfmiddlewaretoken" in html
    assert not entries()  # reading the choices is not an action

    applied = admin_client.post(STATUS_FORM, {"agent": [first, second], "status": "3:2"},
                                follow=True)

    assert applied.redirect_chain[-1][0] == AGENTS
    for agent_id in (first, second):
        assert agent_state(sim, agent_id)[:2] == ("unavailable", 2)
    audit = entries()
    assert sorted(e.target_id for e in audit) == sorted([first, second])
    for entry in audit:
        assert (entry.action, entry.outcome, entry.username, entry.upstream_status) == (
            "agent.status", "ok", "admin", 204)
        assert entry.params == {"agent_status_id": 3, "reason_code_id": 2}
    messages = shown(applied)
    assert [level for level, _text in messages] == ["success", "success"]
    assert any(f"#{first}" in text and "accepted" in text for _level, text in messages)


def test_a_status_the_form_did_not_offer_is_refused_and_nothing_is_sent(
        sim: SimulatorThread, admin_client: Client, structure: None) -> None:
    agent_id = idle_agent(sim)
    before = agent_state(sim, agent_id)

    for value in ("4", "3:99", "nonsense"):
        response = admin_client.post(STATUS_FORM, {"agent": [agent_id], "status": value})
        assert response.status_code == 200
        assert "status" in response.context["form"].errors

    assert agent_state(sim, agent_id) == before
    assert not entries()


def test_the_form_leaves_out_agents_outside_the_supervisors_teams(
        sim: SimulatorThread, structure: None) -> None:
    mine = idle_agent(sim)
    other = next(a.clarity_id for a in Agent.objects.exclude(team__isnull=True)
                 .exclude(team__clarity_id=team_of(mine)).order_by("clarity_id")
                 if a.clarity_id != mine)
    before = agent_state(sim, other)
    boss = person("boss", "Supervisor", teams=(team_of(mine),))

    page = boss.get(status_form_url(mine, other))

    assert page.status_code == 200
    assert [row["agent"].clarity_id for row in page.context["agents"]] == [mine]
    (left_out,) = page.context["left_out"]
    assert left_out["agent"].clarity_id == other
    assert "not in the teams you supervise" in left_out["reason"]

    applied = boss.post(STATUS_FORM, {"agent": [mine, other], "status": "10"}, follow=True)

    assert agent_state(sim, mine)[0] == "beRightBack"
    assert agent_state(sim, other) == before
    assert [(e.target_id, e.outcome) for e in entries()] == [(mine, "ok")]
    levels = dict((text.split(":")[0], level) for level, text in shown(applied))
    assert levels == {f"{Agent.objects.get(clarity_id=mine).name} (#{mine})": "success",
                      f"{Agent.objects.get(clarity_id=other).name} (#{other})": "error"}


def test_when_clarity_refuses_the_status_the_admin_says_so_and_the_audit_records_it(
        sim: SimulatorThread, admin_client: Client, structure: None) -> None:
    agent_id = idle_agent(sim)
    before = agent_state(sim, agent_id)
    sim.call(sim.sim.fail_route, rf"/v2/agentStatus/update/{agent_id}$", status=400)

    applied = admin_client.post(STATUS_FORM, {"agent": [agent_id], "status": "1"}, follow=True)

    assert agent_state(sim, agent_id) == before
    ((level, text),) = shown(applied)
    assert level == "error" and "refused this request as not valid" in text
    (entry,) = entries()
    assert (entry.outcome, entry.upstream_status) == ("failed", 400)


def test_the_form_needs_agents_and_refuses_too_many(admin_client: Client,
                                                    structure: None) -> None:
    empty = admin_client.get(STATUS_FORM, follow=True)
    assert empty.redirect_chain[-1][0] == AGENTS
    assert [level for level, _text in shown(empty)] == ["warning"]

    everyone = list(Agent.objects.values_list("clarity_id", flat=True))
    assert len(everyone) > MAX_AGENTS_PER_ACTION, "the simulator's seed has grown smaller"
    too_many = admin_client.get(status_form_url(*everyone), follow=True)
    assert too_many.redirect_chain[-1][0] == AGENTS
    ((level, text),) = shown(too_many)
    assert level == "error" and str(MAX_AGENTS_PER_ACTION) in text


def test_common_choices_are_those_every_listing_offers_in_the_first_ones_order() -> None:
    def listing(*values: str) -> actions.StatusChoices:
        choices = []
        for value in values:
            status_id, reason = actions.parse_status_value(value)
            choices.append(actions.StatusChoice(status_id, "unavailable" if status_id == 3
                                                else "available", reason, f"R{reason}"))
        return actions.StatusChoices("ok", choices=tuple(choices))

    unreadable = actions.StatusChoices("failed", "Clarity did not answer")

    common = common_status_choices([listing("1", "3", "3:1", "3:2", "10"),
                                    unreadable, listing("10", "3:2", "1")])

    assert [c.value for c in common] == ["1", "3:2", "10"]
    assert common_status_choices([unreadable]) == ()
    assert common_status_choices([]) == ()


# ---------------------------------------------------------------------------------------------
# Suspending and recording
# ---------------------------------------------------------------------------------------------


def test_suspend_and_unsuspend_change_the_agent_upstream_and_are_audited(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    boss = person("boss", "Supervisor", teams=(team_of(agent_id),))

    on = run_action(boss, "suspend", agent_id)

    assert agent_state(sim, agent_id)[2] is True
    ((level, text),) = shown(on)
    assert level == "success" and "suspension" in text

    off = run_action(boss, "unsuspend", agent_id)

    assert agent_state(sim, agent_id)[2] is False
    assert [level for level, _text in shown(off)] == ["success"]
    assert [(e.action, e.params, e.outcome, e.username) for e in entries()] == [
        ("agent.suspend", {"suspended": True}, "ok", "boss"),
        ("agent.suspend", {"suspended": False}, "ok", "boss"),
    ]


def test_an_agent_outside_the_scope_is_refused_and_the_refusal_audited(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    elsewhere = Team.objects.exclude(clarity_id=team_of(agent_id)).first()
    assert elsewhere is not None
    boss = person("boss", "Supervisor", teams=(elsewhere.clarity_id,))

    response = run_action(boss, "suspend", agent_id)

    assert agent_state(sim, agent_id)[2] is False
    ((level, text),) = shown(response)
    assert level == "error" and "not in the teams you supervise" in text
    (entry,) = entries()
    assert (entry.outcome, entry.upstream_status, entry.target_id) == ("denied", None, agent_id)


def test_recording_starts_and_stops_and_each_session_is_reported(
        sim: SimulatorThread, admin_client: Client, structure: None) -> None:
    session_id, agent_id = live_session(sim, recordable=True)

    def recording() -> bool:
        return on_sim(sim, lambda cc: cc.sessions[session_id].is_recording)

    started = run_action(admin_client, "start_recording", agent_id)

    ((level, text),) = shown(started)
    assert f"session {session_id}: " in text
    # The simulator's portal refuses about one request in fifty: whatever Clarity answered is
    # what the message, the audit and the session say.
    (entry,) = entries()
    assert entry.params == {"action": "start"} and entry.upstream_status == 200
    if recording():
        assert (level, entry.outcome) == ("success", "ok")
        assert "Recording started for" in text and f"session {session_id}: Recording" in text
    else:
        assert (level, entry.outcome) == ("error", "failed")

    stopped = run_action(admin_client, "stop_recording", agent_id)

    ((level, text),) = shown(stopped)
    assert f"session {session_id}: " in text
    assert (level == "success") is (not recording())
    assert entries()[-1].params == {"action": "stop"}


def test_a_session_that_may_not_be_recorded_shows_as_denied(
        sim: SimulatorThread, admin_client: Client, structure: None) -> None:
    session_id, agent_id = live_session(sim, recordable=False)

    response = run_action(admin_client, "start_recording", agent_id)

    ((level, text),) = shown(response)
    assert level == "error" and f"session {session_id}: Denied" in text
    assert on_sim(sim, lambda cc: cc.sessions[session_id].is_recording) is False


def test_an_agent_clarity_does_not_know_is_reported_as_a_failure(
        sim: SimulatorThread, admin_client: Client, structure: None) -> None:
    ghost = Agent.objects.create(clarity_id=987654, name="Gone Agent",
                                 team=Team.objects.first())

    response = run_action(admin_client, "suspend", ghost.clarity_id)

    ((level, text),) = shown(response)
    assert level == "error" and text.startswith("Gone Agent (#987654): ")
    (entry,) = entries()
    assert entry.outcome == "failed" and entry.upstream_status is not None
    assert entry.upstream_status >= 400


# ---------------------------------------------------------------------------------------------
# Who is offered what
# ---------------------------------------------------------------------------------------------


def test_a_viewer_is_not_offered_the_actions_and_cannot_run_them(
        sim: SimulatorThread, structure: None) -> None:
    agent_id = idle_agent(sim)
    viewer = person("watcher", "Viewer", teams=(team_of(agent_id),))
    before = agent_state(sim, agent_id)

    assert not offered_actions(viewer) & AGENT_ACTIONS
    # Posting an action anyway is no action (Django answers "no action selected").
    for action in AGENT_ACTIONS:
        run_action(viewer, action, agent_id)
    assert viewer.get(status_form_url(agent_id)).status_code == 403
    assert viewer.post(STATUS_FORM, {"agent": [agent_id], "status": "10"}).status_code == 403

    assert agent_state(sim, agent_id) == before
    assert not entries()


def test_each_action_is_offered_only_with_its_permission(structure: None) -> None:
    assert offered_actions(person("sup", "Supervisor")) == AGENT_ACTIONS
    assert offered_actions(person("admin2", "Admin")) == AGENT_ACTIONS | {"sync_from_clarity"}
    only_suspend = person("susp", perms=("view_agent", "suspend_agent"))
    assert offered_actions(only_suspend) == {"suspend", "unsuspend"}
    only_record = person("rec", perms=("view_agent", "record_agent"))
    assert offered_actions(only_record) == {"start_recording", "stop_recording"}


def test_the_agent_list_links_to_live_pages_and_shows_status_as_text(
        admin_client: Client, structure: None) -> None:
    agent = Agent.objects.order_by("clarity_id").first()
    assert agent is not None
    agent.status, agent.is_suspended = "unavailable", True
    agent.save()

    listing = admin_client.get(AGENTS).content.decode()
    assert f'href="/agents/{agent.clarity_id}/"' in listing
    assert "Away" in listing  # the label, not Clarity's name alone
    filtered = admin_client.get(AGENTS, {"status": "unavailable"})
    assert [a.pk for a in filtered.context["cl"].result_list] == [agent.pk]
    assert admin_client.get(AGENTS, {"is_suspended__exact": "1", "active__exact": "1",
                                     "team__id__exact": agent.team_id}).status_code == 200
    change = admin_client.get(f"{AGENTS}{agent.pk}/change/").content.decode()
    assert f'href="/agents/{agent.clarity_id}/"' in change


# ---------------------------------------------------------------------------------------------
# The MBU sync
# ---------------------------------------------------------------------------------------------


def test_the_sync_button_mirrors_the_mbu_structure(sim: SimulatorThread, db: None) -> None:
    roles_migration.create_roles(django_apps, None)
    admin2 = person("admin2", "Admin")
    assert not Agent.objects.exists()
    page = admin2.get("/admin/dashboard/team/").content.decode()
    assert 'action="/admin/dashboard/team/sync/"' in page

    response = admin2.post("/admin/dashboard/team/sync/", follow=True)

    assert response.redirect_chain[-1][0] == "/admin/dashboard/team/"
    ((level, text),) = shown(response)
    assert level == "success" and "created" in text
    upstream = on_sim(sim, lambda cc: (len(cc.agents), len(cc.queues)))
    assert (Agent.objects.count(), Queue.objects.count()) == upstream

    again = admin2.post("/admin/dashboard/businessunit/sync/", follow=True)
    assert shown(again) == [("success", "MBU structure synced: nothing changed.")]
    assert admin2.get("/admin/dashboard/team/sync/").status_code == 405


def test_the_sync_action_does_the_same(sim: SimulatorThread, admin_client: Client,
                                       structure: None) -> None:
    Queue.objects.update(active=False)
    unit = BusinessUnit.objects.first()
    assert unit is not None

    response = admin_client.post("/admin/dashboard/businessunit/", {
        "action": "sync_from_clarity", "_selected_action": [unit.pk]}, follow=True)

    ((level, text),) = shown(response)
    assert level == "success" and "queues: 0 created," in text
    assert not Queue.objects.filter(active=False).exists()


def test_a_failed_sync_is_reported_and_changes_nothing(sim: SimulatorThread,
                                                       admin_client: Client,
                                                       structure: None) -> None:
    Queue.objects.update(active=False)
    sim.call(sim.sim.fail_route, r"/v2/profile/mbu$", status=500)

    response = admin_client.post("/admin/dashboard/queue/sync/", follow=True)

    ((level, text),) = shown(response)
    assert level == "error" and "Could not read the MBU structure" in text
    assert not Queue.objects.filter(active=True).exists()


def test_only_those_who_may_change_the_structure_may_sync_it(structure: None) -> None:
    for name, role in (("watcher", "Viewer"), ("boss", "Supervisor")):
        client = person(name, role)
        assert client.post("/admin/dashboard/agent/sync/").status_code == 403
        assert "/sync/" not in client.get("/admin/dashboard/agent/").content.decode()
        assert "sync_from_clarity" not in offered_actions(client)


# ---------------------------------------------------------------------------------------------
# The audit log
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def audit_log(structure: None) -> list[AuditEntry]:
    boss = User.objects.create_user("boss")
    agent = Agent.objects.order_by("clarity_id").first()
    assert agent is not None
    return [
        AuditEntry.objects.create(user=boss, username="boss", action="agent.status",
                                  target_type="agent", target_id=agent.clarity_id,
                                  agent_clarity_id=agent.clarity_id, outcome="ok",
                                  upstream_status=204, params={"agent_status_id": 10},
                                  message="Accepted."),
        AuditEntry.objects.create(username="=HYPERLINK(\"http://evil\")", action="session.notes",
                                  target_type="session", target_id=424242,
                                  agent_clarity_id=agent.clarity_id, outcome="failed",
                                  upstream_status=500, params={"note": "+SUM(A1:A9)"},
                                  message="-2+3", detail="@cmd|' /C calc'!A0"),
        AuditEntry.objects.create(username="carol", action="agent.suspend", target_type="agent",
                                  target_id=99, outcome="denied", message="Refused."),
    ]


def read_csv(response: Any) -> list[list[str]]:
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_audit_log_is_read_only_even_for_superusers(admin_client: Client,
                                                       audit_log: list[AuditEntry]) -> None:
    entry = audit_log[0]
    model_admin = admin.site._registry[AuditEntry]
    request = RequestFactory().get("/")
    request.user = User.objects.get(username="admin")

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    assert admin_client.get(f"{AUDIT}add/").status_code == 403
    assert admin_client.post(f"{AUDIT}{entry.pk}/change/",
                             {"outcome": "failed"}).status_code == 403
    assert admin_client.post(f"{AUDIT}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in offered_actions(admin_client, AUDIT)
    # Posted anyway, it is no action ("no action selected").
    admin_client.post(AUDIT, {"action": "delete_selected", "_selected_action": [entry.pk],
                              "post": "yes"})
    entry.refresh_from_db()
    assert entry.outcome == "ok" and AuditEntry.objects.count() == 3
    page = admin_client.get(f"{AUDIT}{entry.pk}/change/").content.decode()
    assert 'name="_save"' not in page and "Accepted." in page


def test_the_audit_log_is_viewable_with_view_auditentry_only(audit_log: list[AuditEntry]) -> None:
    auditor = person("auditor", perms=("view_auditentry",))
    assert auditor.get(AUDIT).status_code == 200
    assert auditor.get(AUDIT_EXPORT).status_code == 200
    viewer = person("watcher", "Viewer")
    assert viewer.get(AUDIT).status_code == 403
    assert viewer.get(AUDIT_EXPORT).status_code == 403


def test_the_audit_log_filters_searches_and_links_agents_and_sessions(
        admin_client: Client, audit_log: list[AuditEntry]) -> None:
    ok, failed, denied = audit_log

    def listed(**params: str) -> list[int]:
        response = admin_client.get(AUDIT, params)
        assert response.status_code == 200
        return sorted(e.pk for e in response.context["cl"].result_list)

    assert listed(outcome__exact="failed") == [failed.pk]
    assert listed(action__exact="agent.suspend") == [denied.pk]
    assert listed(user__id__exact=str(ok.user_id)) == [ok.pk]
    assert listed(q="carol") == [denied.pk]
    assert listed(q="424242") == [failed.pk]
    assert listed(q="99") == [denied.pk]
    day = ok.created_at
    assert len(listed(created_at__year=str(day.year), created_at__month=str(day.month))) == 3
    page = admin_client.get(AUDIT).content.decode()
    assert 'href="/sessions/424242/"' in page
    assert f'href="/agents/{ok.target_id}/"' in page
    assert Agent.objects.get(clarity_id=ok.agent_clarity_id).name in page
    assert f'href="{AUDIT_EXPORT}?' in page


def test_the_csv_export_has_a_header_and_neutralises_formulas(
        admin_client: Client, audit_log: list[AuditEntry]) -> None:
    ok = audit_log[0]

    rows = read_csv(admin_client.get(AUDIT_EXPORT))

    header, *body = rows
    assert header[:7] == ["time", "user", "action", "target_type", "target_id", "agent_id",
                          "outcome"]
    by_target = {row[header.index("target_id")]: dict(zip(header, row, strict=True))
                 for row in body}
    assert set(by_target) == {str(ok.target_id), "424242", "99"}
    evil = by_target["424242"]
    assert evil["user"] == "'=HYPERLINK(\"http://evil\")"
    assert evil["message"] == "'-2+3"
    assert evil["detail"] == "'@cmd|' /C calc'!A0"
    assert evil["params"] == '{"note": "+SUM(A1:A9)"}'  # JSON starts with "{": harmless
    assert (evil["outcome"], evil["upstream_status"]) == ("failed", "500")
    plain = by_target[str(ok.target_id)]
    assert (plain["user"], plain["message"], plain["duration_ms"]) == ("boss", "Accepted.", "0")


def test_the_export_follows_the_changelists_filters_and_the_action_the_selection(
        admin_client: Client, audit_log: list[AuditEntry]) -> None:
    ok, failed, _denied = audit_log

    filtered = read_csv(admin_client.get(AUDIT_EXPORT, {"outcome__exact": "denied"}))
    assert [row[4] for row in filtered[1:]] == ["99"]
    searched = read_csv(admin_client.get(AUDIT_EXPORT, {"q": "boss"}))
    assert [row[4] for row in searched[1:]] == [str(ok.target_id)]

    selected = read_csv(admin_client.post(AUDIT, {"action": "export_csv",
                                                  "_selected_action": [ok.pk, failed.pk]}))
    assert len(selected) == 3 and selected[0][0] == "time"
    assert sorted(row[4] for row in selected[1:]) == sorted([str(ok.target_id), "424242"])


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (5, 5), (None, None),
])
def test_csv_cells_that_a_spreadsheet_would_run_become_text(value: Any, expected: Any) -> None:
    assert csv_safe(value) == expected

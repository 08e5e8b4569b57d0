"""The admin: where threshold rules, wallboards and supervisor scopes are edited, where what
the MBU sync and the bridge write can be looked at (but not changed: Clarity owns it), where
admins act on agents, and where the audit log is read and exported.

Agent actions go through `dashboard.actions`, exactly as the pages' do, so the permission and
scope checks, the repeated-click guard and the audit entry are the same whichever way a
supervisor acts. The admin is synchronous: each request opens its own Clarity client inside
`async_to_sync` (dashboard.clarity explains why the web processes' shared client is not for
this) and closes it before answering.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboard import actions, onecloud, store
from dashboard.clarity import clarity_config
from dashboard.live import STATUS_ICON_DEFAULT, STATUS_ICONS, STATUS_LABELS
from dashboard.management.commands.sync_mbu import fetch_mbu
from dashboard.mbu import EmptyStructureError, SyncResult, sync_mbu
from dashboard.models import (
    WALLBOARD_PAGE_CHOICES,
    Agent,
    Alert,
    AuditEntry,
    BusinessUnit,
    CcaiSession,
    ChatEntryPoint,
    ChatProbe,
    ClarityLabels,
    CrmAccount,
    CrmRecord,
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
from integrations.clarity.client import ClarityClient
from integrations.clarity.errors import ClarityConfigError, ClarityError

# Each selected agent costs at least one Clarity call, made one after the other while the
# request waits: past this, an action is more likely a slip of "select all" than meant.
MAX_AGENTS_PER_ACTION = 50

# How each action outcome is shown (dashboard.actions.Outcome.result).
OUTCOME_LEVELS = {
    actions.OK: messages.SUCCESS,
    actions.IGNORED: messages.WARNING,
    actions.DENIED: messages.ERROR,
    actions.FAILED: messages.ERROR,
}

# The MBU sync writes all of these; whoever starts it must be allowed to change them all.
MBU_SYNC_PERMISSIONS = tuple(
    f"dashboard.change_{name}" for name in ("businessunit", "group", "team", "queue", "agent")
)


def agent_page_url(agent_id: int) -> str:
    # Spelt out, as the live pages' own links are: /agents/<id>/ is keyed by Clarity's id.
    return f"/agents/{agent_id}/"


def session_page_url(session_id: int) -> str:
    return f"/sessions/{session_id}/"


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status)) if status else ""


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows someone else writes (the MBU sync, the bridge): viewable, never edited here,
    since the next sync or update would silently undo the edit."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# -- the MBU structure --------------------------------------------------------------------------


def sync_mbu_from_clarity() -> SyncResult:
    """What `manage.py sync_mbu` does, for the admin: read the MBU structure from Clarity
    (its own client and event loop) and mirror it, outside that loop, as the ORM wants.
    Raises ClarityConfigError, ClarityError or EmptyStructureError."""
    structure = async_to_sync(fetch_mbu)(clarity_config())
    return sync_mbu(structure)


if TYPE_CHECKING:
    # What the mixin is mixed into (the stubs' ModelAdmin is generic; the runtime one is not).
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class MbuSyncMixin(_ModelAdmin):
    """A "Sync from Clarity now" button on the changelist (a POST to `sync/`) and the same as
    an admin action, for the models the MBU sync writes."""

    change_list_template = "admin/dashboard/mbu_change_list.html"

    def has_sync_mbu_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(MBU_SYNC_PERMISSIONS)

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        own = [
            path(
                "sync/",
                self.admin_site.admin_view(self.sync_view),
                name=f"{opts.app_label}_{opts.model_name}_sync",
            )
        ]
        # Before the inherited ones: "<path:object_id>/" would take "sync/" otherwise.
        return own + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {**(extra_context or {}),
                         "can_sync_mbu": self.has_sync_mbu_permission(request)}
        return super().changelist_view(request, extra_context)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_sync_mbu_permission(request):
            raise PermissionDenied
        self.sync_now(request)
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    @admin.action(description=gettext_lazy("Sync the MBU structure from Clarity now"),
                  permissions=["sync_mbu"])
    def sync_from_clarity(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The whole structure is synced whatever is selected: the sync is all or nothing.
        self.sync_now(request)

    def sync_now(self, request: HttpRequest) -> None:
        try:
            result = sync_mbu_from_clarity()
        except ClarityConfigError as exc:
            self.message_user(
                request, _("The connection to Clarity is not set up: %(error)s") % {"error": exc},
                messages.ERROR)
        except ClarityError as exc:
            self.message_user(
                request, _("Could not read the MBU structure from Clarity: %(error)s")
                % {"error": exc}, messages.ERROR)
        except EmptyStructureError as exc:
            self.message_user(
                request, _("Not synced: %(error)s") % {"error": exc}, messages.ERROR)
        else:
            text = (_("MBU structure synced: %(counts)s.") % {"counts": result}
                    if result.changed else _("MBU structure synced: nothing changed."))
            self.message_user(request, text, messages.SUCCESS)


@admin.register(BusinessUnit)
class BusinessUnitAdmin(MbuSyncMixin, ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "active")
    list_filter = ("active",)
    search_fields = ("name", "clarity_id")
    actions = ("sync_from_clarity",)


@admin.register(Group)
class GroupAdmin(MbuSyncMixin, ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "active")
    list_filter = ("active",)
    search_fields = ("name", "clarity_id")
    actions = ("sync_from_clarity",)


@admin.register(Team)
class TeamAdmin(MbuSyncMixin, ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "business_unit", "active")
    list_filter = ("active", "business_unit", "groups")
    list_select_related = ("business_unit",)
    search_fields = ("name", "clarity_id")
    actions = ("sync_from_clarity",)


@admin.register(Queue)
class QueueAdmin(MbuSyncMixin, ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "business_unit", "active")
    list_filter = ("active", "business_unit", "teams")
    list_select_related = ("business_unit",)
    search_fields = ("name", "clarity_id")
    actions = ("sync_from_clarity",)


# -- agents, and acting on them -----------------------------------------------------------------


class AgentStatusFilter(admin.SimpleListFilter):
    """The statuses agents are in now, by their labels rather than Clarity's names."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        present = set(Agent.objects.exclude(status="").values_list("status", flat=True))
        known = [s for s in STATUS_LABELS if s in present]
        return [(s, status_label(s)) for s in [*known, *sorted(present - set(known))]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Agent]) -> QuerySet[Agent]:
        if self.value():
            return queryset.filter(status=self.value())
        return queryset


AgentAction = Callable[[Any, int, ClarityClient], Awaitable[actions.Outcome]]


def run_on_agents(user: Any, agents: Sequence[Agent],
                  act: AgentAction) -> list[tuple[Agent, actions.Outcome]]:
    """Run one action for each agent in turn, with one Clarity client opened for the lot.
    Raises ClarityConfigError before anything is asked when Clarity is not configured."""
    config = clarity_config()

    async def run() -> list[tuple[Agent, actions.Outcome]]:
        async with ClarityClient(config) as client:
            return [(agent, await act(user, agent.clarity_id, client)) for agent in agents]

    return async_to_sync(run)()


def status_choices_for(user: Any, agents: Sequence[Agent]
                       ) -> list[tuple[Agent, actions.StatusChoices]]:
    config = clarity_config()

    async def run() -> list[tuple[Agent, actions.StatusChoices]]:
        async with ClarityClient(config) as client:
            return [(a, await actions.status_choices(user, a.clarity_id, client)) for a in agents]

    return async_to_sync(run)()


def common_status_choices(listed: Iterable[actions.StatusChoices]
                          ) -> tuple[actions.StatusChoice, ...]:
    """The choices every one of the listings offers, in the first listing's order: what can
    be asked of all the selected agents at once. Only listings that were read count."""
    readable = [choices for choices in listed if choices.ok]
    if not readable:
        return ()
    shared = set.intersection(*({c.value for c in choices.choices} for choices in readable))
    return tuple(c for c in readable[0].choices if c.value in shared)


def agent_label(agent: Agent) -> str:
    return f"{agent.name} (#{agent.clarity_id})"


def outcome_text(agent: Agent, outcome: actions.Outcome) -> str:
    text = _("%(agent)s: %(message)s") % {"agent": agent_label(agent), "message": outcome.message}
    if outcome.details:
        sessions = "; ".join(
            _("session %(id)s: %(result)s") % {"id": d.session_id, "result": d.label}
            for d in outcome.details
        )
        text = f"{text} ({sessions})"
    return text


class StatusForm(forms.Form):
    """The intermediate form of the "change status" action: the statuses the selected agents
    can all be put in, as Clarity lists them, the away reasons grouped apart."""

    status = forms.ChoiceField(label=gettext_lazy("New status"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, choices: Sequence[actions.StatusChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain = [(c.value, c.label) for c in choices if c.reason_code_id is None]
        reasons = [(c.value, c.label) for c in choices if c.reason_code_id is not None]
        grouped: list[Any] = []
        if plain:
            grouped.append((_("Statuses"), plain))
        if reasons:
            grouped.append((_("Away, with a reason"), reasons))
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)  # noqa: S101 - declared so above
        status.choices = grouped


@admin.register(Agent)
class AgentAdmin(MbuSyncMixin, ReadOnlyAdmin):
    list_display = (
        "name",
        "clarity_id",
        "team",
        "live_status",
        "reason_code",
        "status_since",
        "is_suspended",
        "active",
        "live_page",
    )
    list_filter = (AgentStatusFilter, "is_suspended", "active", "team")
    list_select_related = ("team",)
    search_fields = ("name", "clarity_id")
    readonly_fields = ("live_page",)
    actions = (
        "change_status",
        "suspend",
        "unsuspend",
        "start_recording",
        "stop_recording",
        "sync_from_clarity",
    )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def live_status(self, obj: Agent) -> str:
        # As the bridge last saved it; an icon beside the label, never colour alone.
        if not obj.status:
            return "—"
        return format_html("{} {}", STATUS_ICONS.get(obj.status, STATUS_ICON_DEFAULT),
                           status_label(obj.status))

    @admin.display(description=gettext_lazy("live page"))
    def live_page(self, obj: Agent) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}" aria-label="{}">{}</a>', agent_page_url(obj.clarity_id),
                           _("Live page of %(agent)s") % {"agent": obj.name}, _("Live page"))

    # Who may run each action: the same permissions dashboard.actions checks, so that an action
    # a user may not run is not even offered.
    def has_change_agent_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(actions.PERM_STATUS)

    def has_suspend_agent_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(actions.PERM_SUSPEND)

    def has_record_agent_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(actions.PERM_RECORD)

    def get_urls(self) -> list[URLPattern]:
        own = [path("status/", self.admin_site.admin_view(self.status_view),
                     name="dashboard_agent_status")]
        return own + super().get_urls()

    def _selected(self, request: HttpRequest, queryset: QuerySet[Agent]) -> list[Agent] | None:
        agents = list(queryset.select_related("team").order_by("name", "clarity_id"))
        if len(agents) > MAX_AGENTS_PER_ACTION:
            self.message_user(request, _("Select at most %(max)d agents at a time.")
                              % {"max": MAX_AGENTS_PER_ACTION}, messages.ERROR)
            return None
        return agents

    def _act(self, request: HttpRequest, agents: Sequence[Agent], act: AgentAction) -> None:
        try:
            results = run_on_agents(request.user, agents, act)
        except ClarityConfigError as exc:
            self.message_user(request, _("The connection to Clarity is not set up: %(error)s")
                              % {"error": exc}, messages.ERROR)
            return
        for agent, outcome in results:
            self.message_user(request, outcome_text(agent, outcome),
                              OUTCOME_LEVELS[outcome.result])

    def _act_on_selection(self, request: HttpRequest, queryset: QuerySet[Agent],
                          act: AgentAction) -> None:
        agents = self._selected(request, queryset)
        if agents is not None:
            self._act(request, agents, act)

    @admin.action(description=gettext_lazy("Change status…"),
                  permissions=["change_agent_status"])
    def change_status(self, request: HttpRequest, queryset: QuerySet[Agent]
                      ) -> HttpResponse | None:
        agents = self._selected(request, queryset)
        if agents is None:
            return None
        # The form is a page of its own (GET shows it, POST applies it), so that it can be
        # reloaded and linked to; the selection travels as Clarity ids.
        query = urlencode([("agent", a.clarity_id) for a in agents])
        return HttpResponseRedirect(f"{reverse('admin:dashboard_agent_status')}?{query}")

    @admin.action(description=gettext_lazy("Suspend (no new sessions offered)"),
                  permissions=["suspend_agent"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        async def act(user: Any, agent_id: int, client: ClarityClient) -> actions.Outcome:
            return await actions.set_agent_suspended(user, agent_id, client, suspended=True)

        self._act_on_selection(request, queryset, act)

    @admin.action(description=gettext_lazy("Lift the suspension"), permissions=["suspend_agent"])
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        async def act(user: Any, agent_id: int, client: ClarityClient) -> actions.Outcome:
            return await actions.set_agent_suspended(user, agent_id, client, suspended=False)

        self._act_on_selection(request, queryset, act)

    @admin.action(description=gettext_lazy("Start recording their sessions"),
                  permissions=["record_agent"])
    def start_recording(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        async def act(user: Any, agent_id: int, client: ClarityClient) -> actions.Outcome:
            return await actions.set_agent_recording(user, agent_id, client, start=True)

        self._act_on_selection(request, queryset, act)

    @admin.action(description=gettext_lazy("Stop recording their sessions"),
                  permissions=["record_agent"])
    def stop_recording(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        async def act(user: Any, agent_id: int, client: ClarityClient) -> actions.Outcome:
            return await actions.set_agent_recording(user, agent_id, client, start=False)

        self._act_on_selection(request, queryset, act)

    def status_view(self, request: HttpRequest) -> HttpResponse:
        """The "change status" form for the agents in `?agent=`: the statuses Clarity lists
        for all of them; agents whose list could not be read are named, with why, and left
        alone."""
        if not self.has_change_agent_status_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:dashboard_agent_changelist")
        source = request.POST if request.method == "POST" else request.GET
        ids = {int(v) for v in source.getlist("agent") if v.isdigit()}
        agents = self._selected(request, Agent.objects.filter(clarity_id__in=ids))
        if agents is None:
            return HttpResponseRedirect(changelist)
        if not agents:
            self.message_user(request, _("Select the agents whose status to change."),
                              messages.WARNING)
            return HttpResponseRedirect(changelist)
        try:
            listed = status_choices_for(request.user, agents)
        except ClarityConfigError as exc:
            self.message_user(request, _("The connection to Clarity is not set up: %(error)s")
                              % {"error": exc}, messages.ERROR)
            return HttpResponseRedirect(changelist)
        offered = [agent for agent, choices in listed if choices.ok]
        left_out = [(agent, choices.message) for agent, choices in listed if not choices.ok]
        choices = common_status_choices(c for _agent, c in listed)
        form = StatusForm(request.POST if request.method == "POST" else None, choices=choices)

        if request.method == "POST" and form.is_valid():
            status_id, reason_code_id = actions.parse_status_value(form.cleaned_data["status"])

            async def act(user: Any, agent_id: int, client: ClarityClient) -> actions.Outcome:
                return await actions.change_agent_status(
                    user, agent_id, client, status_id=status_id, reason_code_id=reason_code_id)

            self._act(request, offered, act)
            for agent, reason in left_out:
                self.message_user(request, _("%(agent)s: not changed. %(reason)s")
                                  % {"agent": agent_label(agent), "reason": reason},
                                  messages.ERROR)
            return HttpResponseRedirect(changelist)

        context = {
            **self.admin_site.each_context(request),
            "title": _("Change the status of agents"),
            "opts": self.model._meta,
            "form": form,
            "agents": [
                {"agent": a, "url": agent_page_url(a.clarity_id),
                 "status": status_label(a.status)}
                for a in offered
            ],
            "left_out": [{"agent": a, "reason": reason} for a, reason in left_out],
            "selected_ids": sorted(a.clarity_id for a in agents),
            "several": len(offered) > 1,
            "changelist_url": changelist,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/dashboard/agent/change_status.html", context)


# -- what the bridge writes ---------------------------------------------------------------------


@admin.register(StatusPeriod)
class StatusPeriodAdmin(ReadOnlyAdmin):
    list_display = ("agent", "agent_page", "status", "reason_code", "started_at", "ended_at",
                    "is_suspended")
    list_filter = ("status", "is_suspended", ("ended_at", admin.EmptyFieldListFilter),
                   "agent__team")
    list_select_related = ("agent",)
    search_fields = ("agent__name", "agent__clarity_id")
    date_hierarchy = "started_at"

    @admin.display(description=gettext_lazy("live page"))
    def agent_page(self, obj: StatusPeriod) -> str:
        return format_html('<a href="{}" aria-label="{}">{}</a>',
                           agent_page_url(obj.agent.clarity_id),
                           _("Live page of %(agent)s") % {"agent": obj.agent.name},
                           _("Live page"))


@admin.register(QueueSample)
class QueueSampleAdmin(ReadOnlyAdmin):
    list_display = ("queue", "modality", "taken_at")
    list_filter = ("modality", "queue")
    list_select_related = ("queue",)
    date_hierarchy = "taken_at"


@admin.register(ClarityLabels)
class ClarityLabelsAdmin(ReadOnlyAdmin):
    list_display = ("locale", "fetched_at")


class AcknowledgedFilter(admin.SimpleListFilter):
    title = gettext_lazy("acknowledged")
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        return queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "severity",
        "entity_type",
        "entity_name",
        "metric",
        "value",
        "threshold",
        "is_active",
        "raised_at",
        "cleared_at",
        "acknowledged_by",
        "acknowledged_at",
    )
    list_filter = ("is_active", "severity", AcknowledgedFilter, "entity_type")
    list_select_related = ("acknowledged_by",)
    search_fields = ("name", "entity_name", "metric", "message")
    date_hierarchy = "raised_at"
    actions = ("acknowledge",)

    # Acknowledging is the one thing an admin may do to an alert; anyone who can see alerts
    # here may, as on the dashboard.
    @admin.action(description=gettext_lazy("Acknowledge the selected alerts"),
                  permissions=["view"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        for clarity_id in queryset.values_list("clarity_id", flat=True):
            store.acknowledge_alert(clarity_id, request.user)
        self.message_user(request, _("Acknowledged."), messages.SUCCESS)


# -- the audit log --------------------------------------------------------------------------------

# A cell starting with one of these is a formula to a spreadsheet (CSV injection): a quote in
# front makes it text. Tab and carriage return are on OWASP's list too.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

AUDIT_CSV_HEADER = (
    "time", "user", "action", "target_type", "target_id", "agent_id", "outcome",
    "upstream_status", "duration_ms", "params", "message", "detail",
)


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return "'" + value
    return value


def audit_csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[list[Any]]:
    yield list(AUDIT_CSV_HEADER)
    for e in entries.iterator(chunk_size=1000):
        row = [
            e.created_at.isoformat(), e.username, e.action, e.target_type, e.target_id,
            e.agent_clarity_id, e.outcome, e.upstream_status, e.duration_ms,
            json.dumps(e.params, sort_keys=True, ensure_ascii=False), e.message, e.detail,
        ]
        yield [csv_safe(cell) for cell in row]


class _Echo:
    """A file for csv.writer that hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def audit_csv_response(entries: QuerySet[AuditEntry]) -> StreamingHttpResponse:
    """The entries as a CSV download, written row by row as the database yields them."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in audit_csv_rows(entries)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Read-only for everyone, superusers included: an audit log that can be edited proves
    nothing. Viewable with `view_auditentry`; exportable as CSV (the selection, or the
    changelist as filtered)."""

    change_list_template = "admin/dashboard/auditentry/change_list.html"
    list_display = (
        "created_at",
        "username",
        "action",
        "target",
        "agent",
        "outcome",
        "upstream_status",
        "duration_ms",
        "message",
    )
    list_filter = ("outcome", "action", "target_type", ("user", admin.RelatedOnlyFieldListFilter))
    search_fields = ("username", "=target_id", "=agent_clarity_id")
    date_hierarchy = "created_at"
    readonly_fields = ("target", "agent")
    actions = ("export_csv",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        # The agent's name, for the listing, in the same query.
        names = Agent.objects.filter(clarity_id=OuterRef("agent_clarity_id")).values("name")[:1]
        return super().get_queryset(request).annotate(agent_name=Subquery(names))

    @admin.display(description=gettext_lazy("target"), ordering="target_id")
    def target(self, obj: AuditEntry) -> str:
        if obj.target_type == "session":
            return format_html('<a href="{}">{}</a>', session_page_url(obj.target_id),
                               _("Session %(id)s") % {"id": obj.target_id})
        if obj.target_type == "agent":
            same = obj.agent_clarity_id == obj.target_id
            name = getattr(obj, "agent_name", None) if same else None
            return format_html('<a href="{}">{}</a>', agent_page_url(obj.target_id),
                               name or _("Agent %(id)s") % {"id": obj.target_id})
        return f"{obj.target_type} {obj.target_id}"

    @admin.display(description=gettext_lazy("agent"), ordering="agent_clarity_id")
    def agent(self, obj: AuditEntry) -> str:
        if obj.agent_clarity_id is None:
            return "—"
        name = getattr(obj, "agent_name", None) or _("Agent %(id)s") % {
            "id": obj.agent_clarity_id}
        return format_html('<a href="{}">{}</a>', agent_page_url(obj.agent_clarity_id), name)

    def get_urls(self) -> list[URLPattern]:
        own = [path("export/", self.admin_site.admin_view(self.export_view),
                    name="dashboard_auditentry_export")]
        return own + super().get_urls()

    @admin.action(description=gettext_lazy("Export the selected entries as CSV"),
                  permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEntry]
                   ) -> StreamingHttpResponse:
        return audit_csv_response(queryset.order_by("created_at", "pk"))

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """Every entry the changelist shows with the same filters, search and date (the query
        string is the changelist's), not just the page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:dashboard_auditentry_changelist"))
        return audit_csv_response(changelist.get_queryset(request))


# -- what admins configure ----------------------------------------------------------------------


@admin.register(ThresholdRule)
class ThresholdRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "metric",
        "modality",
        "queue",
        "warning",
        "critical",
        "higher_is_worse",
        "enabled",
    )
    list_editable = ("enabled",)
    list_filter = ("enabled", "metric", "modality", "queue")
    list_select_related = ("queue",)
    search_fields = ("name", "metric")
    autocomplete_fields = ("notify_agent",)
    fieldsets = (
        (None, {"fields": ("name", "metric", "modality", "queue", "warning", "critical",
                           "higher_is_worse", "enabled")}),
        (gettext_lazy("Optional action: notify an agent through OpenMethods"), {
            "fields": ("notify_agent", "notify_event"),
            "description": gettext_lazy(
                "When a queue reaches the critical level by this rule, the bridge sends this "
                "PopFlow event to the agent's OpenMethods client, once per crossing (again "
                "only after the value has left the critical level). Needs the agent's "
                "OpenMethods login and OPENMETHODS_API_KEY; each send is in the audit log."),
        }),
    )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "queue":
            kwargs["queryset"] = Queue.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ChatEntryPoint)
class ChatEntryPointAdmin(admin.ModelAdmin):
    """OneCloud chat entry points the bridge probes (docs/integrations.md)."""

    list_display = ("name", "tenant_url", "app_id", "every_minutes", "enabled", "last_probe")
    list_editable = ("enabled",)
    search_fields = ("name", "tenant_url", "app_id")
    actions = ("probe_now",)

    @admin.display(description=gettext_lazy("last probe"))
    def last_probe(self, obj: ChatEntryPoint) -> str:
        last = obj.probes.order_by("-started_at").first()
        if last is None:
            return "—"
        when = timezone.localtime(last.started_at).strftime("%Y-%m-%d %H:%M")
        if last.accepted:
            return _("%(when)s: accepted in %(seconds).2f s") % {"when": when,
                                                                 "seconds": last.seconds or 0}
        return _("%(when)s: failed (%(cause)s)") % {"when": when, "cause": last.cause}

    @admin.action(description=gettext_lazy("Probe now"))
    def probe_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # Each probe is one chat on the tenant, started and ended: a handful at a time.
        for row in list(queryset[:10]):
            result = async_to_sync(onecloud.run_probe)(row, now=timezone.now())
            if result.accepted:
                self.message_user(request, _("%(name)s: accepted in %(seconds).2f s") % {
                    "name": row.name, "seconds": result.seconds or 0}, messages.SUCCESS)
            else:
                self.message_user(request, _("%(name)s: failed (%(cause)s)") % {
                    "name": row.name, "cause": result.cause}, messages.ERROR)


@admin.register(ChatProbe)
class ChatProbeAdmin(ReadOnlyAdmin):
    list_display = ("entry_point", "started_at", "accepted", "seconds", "ended", "code",
                    "cause")
    list_filter = ("accepted", "entry_point")
    list_select_related = ("entry_point",)
    date_hierarchy = "started_at"


@admin.register(CrmAccount)
class CrmAccountAdmin(admin.ModelAdmin):
    """The Custom CRM's accounts (CCAI Platform creates them through the Generic API)."""

    list_display = ("__str__", "phone", "email", "custom_user_id", "created_at")
    search_fields = ("name", "phone", "email", "custom_user_id")
    readonly_fields = ("phone_digits",)


@admin.register(CrmRecord)
class CrmRecordAdmin(admin.ModelAdmin):
    list_display = ("__str__", "account", "status", "source_type", "menu", "rating",
                    "created_at")
    list_filter = ("status", "source_type")
    list_select_related = ("account",)
    search_fields = ("subject", "description", "account__name")
    raw_id_fields = ("account",)


@admin.register(CcaiSession)
class CcaiSessionAdmin(ReadOnlyAdmin):
    """Read from CCAI's session metadata files: changed only by a newer file."""

    list_display = ("__str__", "session_type", "status", "agent_name", "end_user_phone",
                    "ended_at")
    list_filter = ("kind", "status")
    search_fields = ("session_id", "agent_name", "end_user_phone", "end_user_email")
    date_hierarchy = "ended_at"


@admin.register(OpenMethodsLogin)
class OpenMethodsLoginAdmin(admin.ModelAdmin):
    """How OpenMethods Connect names each agent (docs/integrations.md): entered here, since
    Clarity does not know these names."""

    list_display = ("agent", "cti_login", "crm_login")
    list_select_related = ("agent",)
    search_fields = ("agent__name", "cti_login", "crm_login")
    autocomplete_fields = ("agent",)


class WallboardForm(forms.ModelForm):
    # Tick boxes rather than raw JSON; the page order is the order of the choices.
    pages = forms.MultipleChoiceField(
        choices=WALLBOARD_PAGE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The pages to rotate through."),
    )

    class Meta:
        model = Wallboard
        fields = ("name", "queues", "teams", "pages", "rotate_seconds", "theme", "font_scale")

    def clean_pages(self) -> list[str]:
        chosen = set(self.cleaned_data["pages"])
        return [page for page, _label in WALLBOARD_PAGE_CHOICES if page in chosen]


@admin.register(Wallboard)
class WallboardAdmin(admin.ModelAdmin):
    form = WallboardForm
    list_display = ("name", "page_list", "rotate_seconds", "theme", "is_live", "open_link")
    list_filter = ("theme", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name",)
    filter_horizontal = ("queues", "teams")
    readonly_fields = ("token", "open_link", "created_at", "revoked_at")
    actions = ("rotate_token", "revoke")

    @admin.display(description=gettext_lazy("pages"))
    def page_list(self, obj: Wallboard) -> str:
        return ", ".join(obj.pages or [])

    @admin.display(description=gettext_lazy("live"), boolean=True)
    def is_live(self, obj: Wallboard) -> bool:
        return not obj.is_revoked

    @admin.display(description=gettext_lazy("URL"))
    def open_link(self, obj: Wallboard) -> str:
        if obj.pk is None or obj.is_revoked:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            obj.get_absolute_url(), _("open"),
        )

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in ("queues", "teams"):
            kwargs["queryset"] = db_field.related_model.objects.filter(active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.action(description=gettext_lazy("Rotate token (the old URL stops working)"),
                  permissions=["change"])
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[Wallboard]) -> None:
        for wallboard in queryset:
            store.rotate_wallboard_token(wallboard)
        self.message_user(request, _("New URL for %(count)d wallboard(s).")
                          % {"count": queryset.count()}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Revoke (the URL stops working)"),
                  permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Wallboard]) -> None:
        for wallboard in queryset:
            store.revoke_wallboard(wallboard)
        self.message_user(request, _("Revoked %(count)d wallboard(s).")
                          % {"count": queryset.count()}, messages.SUCCESS)


@admin.register(SupervisorScope)
class SupervisorScopeAdmin(admin.ModelAdmin):
    list_display = ("user",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)
    filter_horizontal = ("teams", "groups", "business_units")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in ("teams", "groups", "business_units"):
            kwargs["queryset"] = db_field.related_model.objects.filter(active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

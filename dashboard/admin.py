"""The admin: where threshold rules, wallboards and supervisor scopes are edited, and where
what the MBU sync and the bridge write can be looked at (but not changed: Clarity owns it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from dashboard import store
from dashboard.models import (
    WALLBOARD_PAGE_CHOICES,
    Agent,
    Alert,
    BusinessUnit,
    ClarityLabels,
    Group,
    Queue,
    QueueSample,
    StatusPeriod,
    SupervisorScope,
    Team,
    ThresholdRule,
    Wallboard,
)


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


@admin.register(BusinessUnit)
class BusinessUnitAdmin(ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "active")
    list_filter = ("active",)
    search_fields = ("name", "clarity_id")


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "active")
    list_filter = ("active",)
    search_fields = ("name", "clarity_id")


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "business_unit", "active")
    list_filter = ("active", "business_unit", "groups")
    list_select_related = ("business_unit",)
    search_fields = ("name", "clarity_id")


@admin.register(Queue)
class QueueAdmin(ReadOnlyAdmin):
    list_display = ("name", "clarity_id", "business_unit", "active")
    list_filter = ("active", "business_unit", "teams")
    list_select_related = ("business_unit",)
    search_fields = ("name", "clarity_id")


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "clarity_id",
        "team",
        "status",
        "reason_code",
        "status_since",
        "is_suspended",
        "active",
    )
    list_filter = ("active", "status", "is_suspended", "team")
    list_select_related = ("team",)
    search_fields = ("name", "clarity_id")


# -- what the bridge writes ---------------------------------------------------------------------


@admin.register(StatusPeriod)
class StatusPeriodAdmin(ReadOnlyAdmin):
    list_display = ("agent", "status", "reason_code", "started_at", "ended_at", "is_suspended")
    list_filter = ("status", "is_suspended")
    list_select_related = ("agent",)
    search_fields = ("agent__name", "agent__clarity_id")
    date_hierarchy = "started_at"


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
    title = "acknowledged"
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

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
    @admin.action(description="Acknowledge the selected alerts", permissions=["view"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        for clarity_id in queryset.values_list("clarity_id", flat=True):
            store.acknowledge_alert(clarity_id, request.user)
        self.message_user(request, "Acknowledged.", messages.SUCCESS)


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

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "queue":
            kwargs["queryset"] = Queue.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class WallboardForm(forms.ModelForm):
    # Tick boxes rather than raw JSON; the page order is the order of the choices.
    pages = forms.MultipleChoiceField(
        choices=WALLBOARD_PAGE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="The pages to rotate through.",
    )

    class Meta:
        model = Wallboard
        fields = ("name", "queues", "teams", "pages", "rotate_seconds", "theme", "font_scale")

    def clean_pages(self) -> list[str]:
        chosen = set(self.cleaned_data["pages"])
        return [page for page, _ in WALLBOARD_PAGE_CHOICES if page in chosen]


@admin.register(Wallboard)
class WallboardAdmin(admin.ModelAdmin):
    form = WallboardForm
    list_display = ("name", "page_list", "rotate_seconds", "theme", "is_live", "open_link")
    list_filter = ("theme", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name",)
    filter_horizontal = ("queues", "teams")
    readonly_fields = ("token", "open_link", "created_at", "revoked_at")
    actions = ("rotate_token", "revoke")

    @admin.display(description="pages")
    def page_list(self, obj: Wallboard) -> str:
        return ", ".join(obj.pages or [])

    @admin.display(description="live", boolean=True)
    def is_live(self, obj: Wallboard) -> bool:
        return not obj.is_revoked

    @admin.display(description="URL")
    def open_link(self, obj: Wallboard) -> str:
        if obj.pk is None or obj.is_revoked:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">open</a>',
            obj.get_absolute_url(),
        )

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in ("queues", "teams"):
            kwargs["queryset"] = db_field.related_model.objects.filter(active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.action(description="Rotate token (the old URL stops working)", permissions=["change"])
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[Wallboard]) -> None:
        for wallboard in queryset:
            store.rotate_wallboard_token(wallboard)
        self.message_user(
            request, f"New URL for {queryset.count()} wallboard(s).", messages.SUCCESS
        )

    @admin.action(description="Revoke (the URL stops working)", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Wallboard]) -> None:
        for wallboard in queryset:
            store.revoke_wallboard(wallboard)
        self.message_user(request, f"Revoked {queryset.count()} wallboard(s).", messages.SUCCESS)


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

"""What the dashboard keeps in its database: what must outlive a restart of the bridge.

The live picture itself lives in memory (the bridge); these tables hold the contact centre's
structure (from Clarity's MBU), the last known status of every agent, status history, alerts,
a minute-by-minute sample of queue metrics, and what admins configure (threshold rules,
wallboards, supervisor scopes), and the audit log of supervisor actions (dashboard.actions).

Rows mirrored from Clarity are keyed by `clarity_id`, the id upstream uses everywhere (hub
messages, REST routes, the live picture), and are never deleted: when a sync no longer sees one
it is marked inactive, because status history and alerts still point at it.

Models hold data and validation only; what changes them lives in `dashboard.mbu` (the MBU
sync, visibility) and `dashboard.store` (what the bridge persists, wallboard tokens, alerts).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from integrations.clarity.wire import MODALITIES

MODALITY_CHOICES = [(m, m) for m in MODALITIES]

# The length of what `secrets.token_urlsafe(32)` returns: 32 random bytes, base64url, no padding.
WALLBOARD_TOKEN_LENGTH = 43
WALLBOARD_PAGES = ("overview", "agents", "alerts")
WALLBOARD_PAGE_CHOICES = [(p, p.capitalize()) for p in WALLBOARD_PAGES]
MIN_ROTATE_SECONDS = 5
MIN_FONT_SCALE = 0.5
MAX_FONT_SCALE = 3.0


def new_wallboard_token() -> str:
    """A fresh secret for a wallboard URL: 256 bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def default_wallboard_pages() -> list[str]:
    return ["overview"]


def validate_wallboard_pages(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one page.")
    unknown = [p for p in value if p not in WALLBOARD_PAGES]
    if unknown:
        raise ValidationError(
            "Unknown page(s): %(unknown)s. Pages are %(known)s.",
            params={"unknown": ", ".join(map(str, unknown)), "known": ", ".join(WALLBOARD_PAGES)},
        )
    if len(set(value)) != len(value):
        raise ValidationError("Each page may appear only once.")


# ---------------------------------------------------------------------------------------------
# The contact centre's structure, mirrored from Clarity's MBU by dashboard.mbu.sync_mbu
# ---------------------------------------------------------------------------------------------


class BusinessUnit(models.Model):
    clarity_id = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True, help_text="False once Clarity no longer lists it.")

    class Meta:
        ordering = ("name",)
        verbose_name = "business unit"
        verbose_name_plural = "business units"

    def __str__(self) -> str:
        return self.name


class Group(models.Model):
    clarity_id = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True, help_text="False once Clarity no longer lists it.")

    class Meta:
        ordering = ("name",)
        verbose_name = "group"
        verbose_name_plural = "groups"

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    clarity_id = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    business_unit = models.ForeignKey(
        BusinessUnit, models.SET_NULL, null=True, blank=True, related_name="teams"
    )
    groups = models.ManyToManyField(Group, blank=True, related_name="teams")
    active = models.BooleanField(default=True, help_text="False once Clarity no longer lists it.")

    class Meta:
        ordering = ("name",)
        verbose_name = "team"
        verbose_name_plural = "teams"

    def __str__(self) -> str:
        return self.name


class Queue(models.Model):
    clarity_id = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    business_unit = models.ForeignKey(
        BusinessUnit, models.SET_NULL, null=True, blank=True, related_name="queues"
    )
    # The teams whose agents serve the queue.
    teams = models.ManyToManyField(Team, blank=True, related_name="queues")
    active = models.BooleanField(default=True, help_text="False once Clarity no longer lists it.")

    class Meta:
        ordering = ("name",)
        verbose_name = "queue"
        verbose_name_plural = "queues"

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    clarity_id = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    team = models.ForeignKey(Team, models.SET_NULL, null=True, blank=True, related_name="agents")
    can_record = models.BooleanField(default=False)
    can_silent_join = models.BooleanField(default=False)
    can_whisper_join = models.BooleanField(default=False)
    # The current status as Clarity names it, camel case ("available", "inCall"); written by
    # the bridge (dashboard.store.save_agent_statuses), blank until it first sees the agent.
    status = models.CharField(max_length=40, blank=True)
    reason_code = models.CharField(max_length=200, blank=True)
    status_since = models.DateTimeField(null=True, blank=True)
    is_suspended = models.BooleanField(default=False)
    active = models.BooleanField(default=True, help_text="False once Clarity no longer lists it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "agent"
        verbose_name_plural = "agents"
        # What a supervisor may do to an agent (dashboard.actions), granted through the roles
        # (the groups the 0004_roles migration creates). Sessions are not stored, and whose
        # session it is decides the scope, so annotating a session is a right on the agent.
        permissions = (
            ("change_agent_status", "Can change an agent's status"),
            ("suspend_agent", "Can suspend and unsuspend an agent"),
            ("record_agent", "Can start and stop recording an agent's sessions"),
            ("annotate_session", "Can save call notes and dispositions on an agent's sessions"),
            ("notify_agent", "Can send an OpenMethods PopFlow event to an agent"),
        )

    def __str__(self) -> str:
        return self.name


class OpenMethodsLogin(models.Model):
    """How OpenMethods Connect names an agent (integrations/openmethods): the CTI login, for an
    agent logged in to the CTI, and the CRM user, for one whose OpenMethods client is loaded in
    the CRM without a CTI login. Entered by an admin; Clarity does not know these names."""

    agent = models.OneToOneField(Agent, models.CASCADE, related_name="openmethods")
    cti_login = models.CharField(
        "CTI login", max_length=200, blank=True,
        help_text="Exactly as the CTI spells it: OpenMethods compares it with case.")
    crm_login = models.CharField(
        "CRM user name", max_length=200, blank=True,
        help_text="The CRM login user name; sent in lower case, as OpenMethods asks.")

    class Meta:
        verbose_name = "OpenMethods login"
        verbose_name_plural = "OpenMethods logins"

    def __str__(self) -> str:
        return self.cti_login or self.crm_login

    def clean(self) -> None:
        if not self.cti_login and not self.crm_login:
            raise ValidationError("Give the CTI login, the CRM user name, or both.")


# ---------------------------------------------------------------------------------------------
# What the bridge persists (dashboard.store)
# ---------------------------------------------------------------------------------------------


class StatusPeriod(models.Model):
    """One entry of an agent's status history: a status from `started_at` to `ended_at`
    (null while it is the current one)."""

    agent = models.ForeignKey(Agent, models.CASCADE, related_name="status_periods")
    status = models.CharField(max_length=40)
    reason_code = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    is_suspended = models.BooleanField(default=False)

    class Meta:
        ordering = ("agent", "-started_at")
        verbose_name = "status period"
        verbose_name_plural = "status periods"
        constraints = (
            # The hub resends the whole 24 h history: this is what makes saving it idempotent.
            models.UniqueConstraint(
                fields=["agent", "started_at", "status"], name="status_period_unique"
            ),
        )
        indexes = (
            models.Index(fields=["agent", "-started_at"], name="status_period_agent_recent"),
        )

    def __str__(self) -> str:
        return f"{self.agent}: {self.status} from {self.started_at:%Y-%m-%d %H:%M:%S}"


class Alert(models.Model):
    SEVERITY_CHOICES = (("info", "Info"), ("warning", "Warning"), ("critical", "Critical"))

    clarity_id = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, default="warning")
    # "agent", "queue", "team", "group" or "businessUnit", as the contract spells them.
    entity_type = models.CharField(max_length=40, blank=True)
    entity_id = models.IntegerField(null=True, blank=True)
    entity_name = models.CharField(max_length=200, blank=True)
    metric = models.CharField(max_length=100, blank=True)
    modality = models.CharField(max_length=40, blank=True)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    # Ours, not Clarity's: who on the dashboard acknowledged it (dashboard.store).
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="acknowledged_alerts",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-raised_at",)
        verbose_name = "alert"
        verbose_name_plural = "alerts"
        indexes = (models.Index(fields=["is_active", "-raised_at"], name="alert_active_recent"),)

    def __str__(self) -> str:
        return self.name or f"Alert {self.clarity_id}"

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class QueueSample(models.Model):
    """A queue's metrics for one modality, once a minute, for the last 24 hours: what the
    sparklines draw. `metrics` is the metric bag as Clarity sent it."""

    queue = models.ForeignKey(Queue, models.CASCADE, related_name="samples")
    modality = models.CharField(max_length=40)
    taken_at = models.DateTimeField(help_text="The minute the sample stands for (UTC).")
    metrics = models.JSONField(default=dict)

    class Meta:
        ordering = ("queue", "modality", "taken_at")
        verbose_name = "queue sample"
        verbose_name_plural = "queue samples"
        constraints = (
            models.UniqueConstraint(
                fields=["queue", "modality", "taken_at"], name="queue_sample_unique"
            ),
        )
        indexes = (
            models.Index(fields=["queue", "taken_at"], name="queue_sample_queue_time"),
            # Pruning deletes by age across every queue.
            models.Index(fields=["taken_at"], name="queue_sample_time"),
        )

    def __str__(self) -> str:
        return f"{self.queue} {self.modality} at {self.taken_at:%Y-%m-%d %H:%M}"


class ClarityLabels(models.Model):
    """Clarity's localization resource for one locale (metric, modality and status labels), as
    the bridge last fetched it; kept here so that every dashboard process renders first page
    loads with the same labels the bridge pushes."""

    locale = models.CharField(max_length=20, unique=True, help_text='As Clarity names it: "en-us".')
    strings = models.JSONField(default=dict)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("locale",)
        verbose_name = "Clarity labels"
        verbose_name_plural = "Clarity labels"

    def __str__(self) -> str:
        return f"Clarity labels ({self.locale})"


# ---------------------------------------------------------------------------------------------
# Other platforms' traffic and health (docs/integrations.md)
# ---------------------------------------------------------------------------------------------


class IntegrationMinute(models.Model):
    """One minute of a monitored integration's traffic: deliveries taken, failures among them
    (failed delivery receipts), and deliveries refused (bad signature, replay, malformed).
    Written by dashboard.genesys from the webhook, in whichever web process got it."""

    integration = models.CharField(max_length=40)
    minute = models.DateTimeField(help_text="The minute the counts stand for (UTC).")
    messages = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("integration", "minute"),
                                               name="integration_minute_unique"),)
        ordering = ("integration", "-minute")

    def __str__(self) -> str:
        return f"{self.integration} {self.minute:%Y-%m-%d %H:%M}"


class IntegrationStatus(models.Model):
    """A monitored integration as last seen: its last message (from the webhook) and what the
    platform's API said of it (the bridge asks every minute)."""

    integration = models.CharField(max_length=40, unique=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    healthy = models.BooleanField(null=True, help_text="Blank: not checked yet.")
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "integration statuses"

    def __str__(self) -> str:
        return self.integration


class ChatEntryPoint(models.Model):
    """A OneCloud CX chat scenario entry that the bridge probes on a schedule: it starts a chat
    there, times its acceptance and ends it (dashboard.onecloud). Use a test scenario entry:
    each probe is a real chat request on the tenant."""

    name = models.CharField(max_length=200)
    base_url = models.URLField(
        "API address", help_text="The tenant's address, e.g. https://tenant.cx.onecloud.com "
                                 "(the API is under /clientweb/api/v2/).")
    tenant_url = models.CharField(
        "tenant URL", max_length=200,
        help_text="The contact center's domain, shown at the top right of the Contact Center "
                  "Administrator application, e.g. yourcompany.brightpattern.com.")
    app_id = models.CharField("appId", max_length=128,
                              help_text="The Messaging/Chat scenario entry's identifier.")
    client_id = models.CharField("clientId", max_length=128, default="dashboard-probe",
                                 help_text="Identifies this probe as a client application.")
    phone_number = models.CharField(max_length=40, blank=True,
                                    help_text="Sent as phone_number with each chat request.")
    parameters = models.JSONField(default=dict, blank=True,
                                  help_text='Sent as the chat\'s parameters, e.g. '
                                            '{"first_name": "Probe"}.')
    every_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="How often to probe.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "chat entry point (OneCloud)"
        verbose_name_plural = "chat entry points (OneCloud)"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.parameters, dict) or not all(
                isinstance(v, str) for v in self.parameters.values()):
            raise ValidationError({"parameters": "A JSON object of text values."})


class ChatProbe(models.Model):
    """One probe of a chat entry point, as it went."""

    entry_point = models.ForeignKey(ChatEntryPoint, models.CASCADE, related_name="probes")
    started_at = models.DateTimeField()
    accepted = models.BooleanField()
    seconds = models.FloatField(null=True, blank=True,
                                help_text="How long the chat request took to be accepted.")
    ended = models.BooleanField(default=False, help_text="The test chat was ended cleanly.")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    code = models.CharField("error code", max_length=10, blank=True)
    cause = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ("-started_at",)
        indexes = (models.Index(fields=("entry_point", "-started_at")),)

    def __str__(self) -> str:
        return f"{self.entry_point} {self.started_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------------------------------------
# The dashboard as a CCAI Platform Custom CRM (dashboard.ccai_crm, docs/integrations.md)
# ---------------------------------------------------------------------------------------------


class CrmAccount(models.Model):
    """An account (contact, customer) that CCAI Platform found or created through the Generic
    API."""

    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # The phone's digits, for lookups in whatever format CCAI sends.
    phone_digits = models.CharField(max_length=40, blank=True, db_index=True)
    email = models.EmailField(blank=True, db_index=True)
    custom_user_id = models.CharField(max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "CRM account (CCAI)"
        verbose_name_plural = "CRM accounts (CCAI)"

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"Account {self.pk}"


class CrmRecord(models.Model):
    """A record (case, ticket) of an account, created and updated by CCAI Platform."""

    account = models.ForeignKey(CrmAccount, models.CASCADE, related_name="records")
    subject = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=40, default="open")
    phone = models.CharField(max_length=40, blank=True)
    source_type = models.CharField(max_length=20, blank=True, help_text="PHONE or CHAT.")
    menu = models.CharField(max_length=300, blank=True)
    direction = models.CharField(max_length=20, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    feedback = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "CRM record (CCAI)"
        verbose_name_plural = "CRM records (CCAI)"

    def __str__(self) -> str:
        return self.subject or f"Record {self.pk}"


class CrmComment(models.Model):
    record = models.ForeignKey(CrmRecord, models.CASCADE, related_name="comments")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at",)

    def __str__(self) -> str:
        return self.body[:60]


class CrmAttachment(models.Model):
    """A file CCAI Platform uploaded to a record (a recording, a transcript, metadata)."""

    record = models.ForeignKey(CrmRecord, models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    size = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at",)

    def __str__(self) -> str:
        return self.name


class CcaiOAuthGrant(models.Model):
    """What the OAuth 2.0 authorization code flow gave CCAI Platform (dashboard.ccai_oauth):
    a short-lived code, then access and refresh tokens. Only their SHA-256 digests are kept."""

    code_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    redirect_uri = models.CharField(max_length=500)
    access_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    refresh_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    expires_at = models.DateTimeField(help_text="When the code, then the access token, expires.")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "CCAI OAuth grant"

    def __str__(self) -> str:
        return f"Grant {self.pk} ({self.created_at:%Y-%m-%d})"


class CcaiSession(models.Model):
    """A CCAI Platform call or chat, from its session metadata file in external storage."""

    KIND_CHOICES = (("call", "Call"), ("chat", "Chat"))

    kind = models.CharField(max_length=4, choices=KIND_CHOICES)
    session_id = models.BigIntegerField()
    lang = models.CharField(max_length=10, blank=True)
    session_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(null=True, blank=True)
    rating = models.SmallIntegerField(null=True, blank=True)
    feedback = models.TextField(blank=True)
    menu_path = models.CharField(max_length=500, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    agent_email = models.CharField(max_length=254, blank=True)
    end_user_phone = models.CharField(max_length=40, blank=True)
    end_user_email = models.CharField(max_length=254, blank=True)
    raw = models.JSONField(default=dict)
    file_name = models.CharField(max_length=100)
    file_mtime = models.FloatField(default=0, help_text="The file's time when last read.")
    ingested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("kind", "session_id"),
                                               name="ccai_session_unique"),)
        ordering = ("-ended_at",)
        verbose_name = "CCAI session"
        verbose_name_plural = "CCAI sessions"

    def __str__(self) -> str:
        return f"{self.kind}-{self.session_id}"

    def get_absolute_url(self) -> str:
        return f"/ccai/sessions/{self.kind}-{self.session_id}/"


# ---------------------------------------------------------------------------------------------
# What admins configure
# ---------------------------------------------------------------------------------------------


class ThresholdRule(models.Model):
    """When a metric's value turns a tile amber or red.

    Several rules may apply to the same metric; `dashboard.store.level_for` uses the most
    specific enabled one: queue and modality, then queue, then modality, then neither."""

    name = models.CharField(max_length=200)
    metric = models.CharField(
        max_length=100,
        help_text='As Clarity names it: "longestQueuedTime", "serviceLevel"...',
    )
    modality = models.CharField(
        max_length=40, blank=True, choices=MODALITY_CHOICES, help_text="Blank: any modality."
    )
    queue = models.ForeignKey(
        Queue,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="threshold_rules",
        help_text="Blank: every queue.",
    )
    warning = models.FloatField()
    critical = models.FloatField()
    higher_is_worse = models.BooleanField(
        default=True,
        help_text="Untick where low values are bad (the service level).",
    )
    enabled = models.BooleanField(default=True)
    # The optional action: when a queue's value reaches the critical level by this rule, send
    # an OpenMethods PopFlow event to an agent (a team lead, say). Once per crossing.
    notify_agent = models.ForeignKey(
        Agent,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="OpenMethods: tell this agent when a queue reaches the critical level. Needs "
                  "the agent's OpenMethods login and OPENMETHODS_API_KEY.",
    )
    notify_event = models.CharField(
        max_length=200,
        blank=True,
        help_text="The PopFlow event to send, exactly as published (case and spaces count).",
    )

    class Meta:
        ordering = ("metric", "name")
        verbose_name = "threshold rule"
        verbose_name_plural = "threshold rules"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A critical level that is reached before the warning one would never show amber.
        if self.warning is None or self.critical is None:
            return
        if self.higher_is_worse and self.critical < self.warning:
            raise ValidationError(
                {"critical": "When higher is worse, critical must be at least the warning level."}
            )
        if not self.higher_is_worse and self.critical > self.warning:
            raise ValidationError(
                {"critical": "When lower is worse, critical must be at most the warning level."}
            )
        if self.notify_agent_id is not None and not self.notify_event:
            raise ValidationError({"notify_event": "Name the PopFlow event to send."})
        if self.notify_event and self.notify_agent_id is None:
            raise ValidationError({"notify_agent": "Choose whom to send the event to."})


class Wallboard(models.Model):
    """A TV screen's view: some queues and teams, shown at `/wallboard/<token>/` without login.

    The token is the only credential, so it is long, random, compared in constant time
    (`dashboard.store.wallboard_for_token`), and can be rotated or revoked."""

    THEME_CHOICES = (("dark", "Dark"), ("light", "Light"))

    name = models.CharField(max_length=200)
    token = models.CharField(
        max_length=64, unique=True, default=new_wallboard_token, editable=False
    )
    queues = models.ManyToManyField(Queue, blank=True, related_name="wallboards")
    teams = models.ManyToManyField(Team, blank=True, related_name="wallboards")
    pages = models.JSONField(
        default=default_wallboard_pages,
        validators=[validate_wallboard_pages],
        help_text="Pages to rotate through: overview, agents, alerts.",
    )
    rotate_seconds = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(MIN_ROTATE_SECONDS)],
        help_text="How long each page stays on screen.",
    )
    theme = models.CharField(max_length=10, choices=THEME_CHOICES, default="dark")
    font_scale = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(MIN_FONT_SCALE), MaxValueValidator(MAX_FONT_SCALE)],
        help_text="1.0 is normal; larger for screens seen from across the room.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("name",)
        verbose_name = "wallboard"
        verbose_name_plural = "wallboards"
        constraints = (
            models.CheckConstraint(
                condition=models.Q(rotate_seconds__gte=MIN_ROTATE_SECONDS),
                name="wallboard_rotate_seconds_min",
            ),
            models.CheckConstraint(
                condition=models.Q(font_scale__gte=MIN_FONT_SCALE)
                & models.Q(font_scale__lte=MAX_FONT_SCALE),
                name="wallboard_font_scale_range",
            ),
        )

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        # Spelt out rather than reversed: the wallboard view's URL is part of the contract
        # with the TVs already pointed at it, whatever the URLconf calls it.
        return f"/wallboard/{self.token}/"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class SupervisorScope(models.Model):
    """What a (non-superuser) supervisor may see: these teams, the teams of these groups and
    business units, and everything in them (dashboard.mbu.visibility_for)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="supervisor_scope"
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="supervisor_scopes")
    groups = models.ManyToManyField(Group, blank=True, related_name="supervisor_scopes")
    business_units = models.ManyToManyField(
        BusinessUnit, blank=True, related_name="supervisor_scopes"
    )

    class Meta:
        verbose_name = "supervisor scope"
        verbose_name_plural = "supervisor scopes"

    def __str__(self) -> str:
        return f"Scope of {self.user}"


# ---------------------------------------------------------------------------------------------
# The audit log of supervisor actions (written by dashboard.actions only)
# ---------------------------------------------------------------------------------------------


class AuditEntry(models.Model):
    """One supervisor action as it was asked for and as it ended: who, when, what, on which
    agent or session, and what Clarity answered.

    Append-only: the only default permission is "view", so nobody but a superuser can add,
    change or delete entries through the admin."""

    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"
    IGNORED = "ignored"
    OUTCOME_CHOICES = (
        (OK, "OK"),
        (DENIED, "Denied"),
        (FAILED, "Failed"),
        (IGNORED, "Ignored (repeated click)"),
    )
    ACTION_CHOICES = (
        ("agent.status", "Change status"),
        ("agent.suspend", "Suspend or unsuspend"),
        ("agent.recording", "Start or stop recording"),
        ("session.notes", "Save call notes"),
        ("session.disposition", "Save disposition"),
        ("agent.notify", "Notify (OpenMethods PopFlow event)"),
    )
    TARGET_CHOICES = (("agent", "Agent"), ("session", "Session"))

    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    # Copied, so that the entry still says who it was once the user is deleted.
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=ACTION_CHOICES)
    target_type = models.CharField(max_length=20, choices=TARGET_CHOICES)
    # Clarity's id of the agent or session.
    target_id = models.BigIntegerField()
    # The agent the action was about: the target itself, or the session's agent once known,
    # so that everything done to one agent can be listed together.
    agent_clarity_id = models.PositiveIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="What was asked.")
    outcome = models.CharField(max_length=10, choices=OUTCOME_CHOICES)
    upstream_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Clarity's HTTP status; blank when Clarity was not asked."
    )
    duration_ms = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="What the supervisor was told.")
    detail = models.TextField(
        blank=True, help_text="For admins: Clarity's own message, or the result per session."
    )

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        default_permissions = ("view",)
        indexes = (
            models.Index(fields=["-created_at"], name="audit_recent"),
            models.Index(fields=["user", "-created_at"], name="audit_user_recent"),
            models.Index(fields=["action", "-created_at"], name="audit_action_recent"),
            models.Index(fields=["outcome", "-created_at"], name="audit_outcome_recent"),
            models.Index(fields=["agent_clarity_id", "-created_at"], name="audit_agent_recent"),
        )

    def __str__(self) -> str:
        who = self.username or "anonymous"
        return (
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {who} {self.action} "
            f"{self.target_type} {self.target_id}: {self.outcome}"
        )

"""Supervisor actions: one async function per action, permission- and scope-checked, audited.

The pages (HTMX views) and the Django admin call these; nothing else talks to Clarity on a
supervisor's behalf. Each action

1. checks the user: signed in, the action's permission (`user.has_perm`, granted by the roles
   of the 0004_roles migration; superusers have all), and the scope: the agent must be one
   `dashboard.mbu.visibility_for(user)` sees. Nothing reaches Clarity before this passes;
2. ignores a repeated click: the same user asking the same thing of the same target while the
   first request is in flight, or within `REPEAT_WINDOW` seconds after it succeeded, gets an
   "ignored" outcome and Clarity is not called. The guard is in-process: with several daphne
   processes each has its own, and what stops a double click there is the browser
   (`hx-disabled-elt` on the form's button) -- keep both;
3. calls Clarity once (actions are never retried: a duplicate could act twice), and maps its
   errors to sentences a supervisor understands, never a stack trace;
4. writes exactly one AuditEntry (who, when, what, target, outcome, Clarity's HTTP status,
   duration), through `sync_to_async`: nothing here blocks the event loop.

A successful outcome means Clarity accepted the change, not that the page shows it: the page
shows it as pending until the change comes back through the live feed (architecture.md).

Interface (every function is a coroutine; `user` is a Django user or AnonymousUser, possibly
still lazy as `request.user` is; `client` a ClarityClient, in a web process `await
dashboard.clarity.web_client()`)::

    change_agent_status(user, agent_id, client, *, status_id, reason_code_id=None) -> Outcome
    set_agent_suspended(user, agent_id, client, *, suspended) -> Outcome
    set_agent_recording(user, agent_id, client, *, start) -> Outcome   # details per session
    save_call_notes(user, session_id, client, *, note) -> Outcome
    save_disposition(user, session_id, client, *, disposition_id,
                     sub_disposition_id=None) -> Outcome
    status_choices(user, agent_id, client) -> StatusChoices            # for the status form
    notify_agent(user, agent_id, config, *, route, event, properties) -> Outcome  # OpenMethods
    notify_for_rule(rule_name, agent_id, config, *, event, properties) -> Outcome
    parse_status_value(value) -> (status_id, reason_code_id)           # StatusChoice.value back

`Outcome.result` is "ok", "denied", "failed" or "ignored" (`Outcome.ok` for the first);
`Outcome.message` is the sentence to show, already translated into the active language;
`Outcome.details` lists, for recording, each session as "recorded", "stopped", "denied" or
"failed". A view might answer denied with 403 and failed with 502; ignored is harmless.

Sessions: Clarity's session routes carry no agent, so a session action first reads the session
from Clarity (Session by ID) to learn whose it is; the user must see its responding agent or an
agent who was primary on it later (a transfer), so a supervisor can annotate a call that moved
to their team. That read happens after the permission check and the repeated-click guard.

Notifying an agent goes to OpenMethods Connect (dashboard.notify), not Clarity: `config` is
settings.OPENMETHODS (None when the integration is off). A threshold rule's notification has
no user: it is audited under the name "rule: <rule name>", with no permission check (an admin
set the rule up).

Upstream status in the audit: Clarity's HTTP status for failures; for successes the status the
seed documents for the route (204, or 200 for recording): the client returns bodies, not
statuses, and any answer outside 2xx raises. Null when Clarity was not asked (denied, ignored,
invalid input) or did not answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from integrations.clarity import wire
from integrations.clarity.client import ClarityClient
from integrations.clarity.errors import (
    ClarityAuthError,
    ClarityBadRequest,
    ClarityConfigError,
    ClarityError,
    ClarityNotFound,
    ClarityServerError,
    ClarityUnauthorized,
    ClarityUnavailable,
)
from integrations.clarity.wire import RecordingStatus, SessionById
from integrations.openmethods.client import OpenMethodsConfig, Route
from integrations.openmethods.errors import OpenMethodsError

from . import notify
from .live import STATUS_LABELS
from .mbu import visibility_for
from .models import AuditEntry

log = logging.getLogger(__name__)

# A Django user (or AnonymousUser); typed loosely because request.user is a lazy object.
User = Any
Result = Literal["ok", "denied", "failed", "ignored"]
RecordingResult = Literal["recorded", "stopped", "denied", "failed"]

OK: Result = "ok"
DENIED: Result = "denied"
FAILED: Result = "failed"
IGNORED: Result = "ignored"

# The permissions (Agent.Meta.permissions), as has_perm names them.
PERM_STATUS = "dashboard.change_agent_status"
PERM_SUSPEND = "dashboard.suspend_agent"
PERM_RECORD = "dashboard.record_agent"
PERM_ANNOTATE = "dashboard.annotate_session"
PERM_NOTIFY = "dashboard.notify_agent"

# The audit log's names of the actions (AuditEntry.ACTION_CHOICES).
ACTION_STATUS = "agent.status"
ACTION_SUSPEND = "agent.suspend"
ACTION_RECORDING = "agent.recording"
ACTION_NOTES = "session.notes"
ACTION_DISPOSITION = "session.disposition"
ACTION_NOTIFY = "agent.notify"

# Seconds after a success during which the same request again counts as a repeated click.
REPEAT_WINDOW = 2.0

RECORDING_LABELS = {
    "recorded": gettext_lazy("Recording"),
    "stopped": gettext_lazy("Not recording"),
    "denied": gettext_lazy("Denied"),
    "failed": gettext_lazy("Failed"),
}


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRecording:
    """What a start or stop recording request did to one of the agent's sessions."""

    session_id: int
    result: RecordingResult
    is_recording: bool | None = None

    @property
    def label(self) -> str:
        return str(RECORDING_LABELS[self.result])


@dataclass(frozen=True)
class Outcome:
    """How an action ended. `message` is what to tell the supervisor (translated);
    `audit_id` is the AuditEntry written for it."""

    result: Result
    message: str
    upstream_status: int | None = None
    details: tuple[SessionRecording, ...] = ()
    audit_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.result == OK


@dataclass(frozen=True)
class StatusChoice:
    """One status the agent can be put in, as Clarity's List Agent Statuses gives it: a plain
    status, or Unavailable (away) with one of its reason codes."""

    status_id: int
    status: str
    reason_code_id: int | None = None
    reason_code_name: str | None = None

    @property
    def value(self) -> str:
        """One form value for both fields ("1", "3:2"); `parse_status_value` reads it back."""
        if self.reason_code_id is None:
            return str(self.status_id)
        return f"{self.status_id}:{self.reason_code_id}"

    @property
    def label(self) -> str:
        name = str(STATUS_LABELS.get(self.status, self.status))
        if self.reason_code_id is None:
            return name
        return f"{name}: {self.reason_code_name or self.reason_code_id}"


@dataclass(frozen=True)
class StatusChoices:
    """The status form's choices for one agent, or why there are none."""

    result: Result
    message: str = ""
    choices: tuple[StatusChoice, ...] = ()
    upstream_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.result == OK

    @property
    def statuses(self) -> tuple[StatusChoice, ...]:
        """The statuses without a reason code (Unavailable among them, when Clarity lists it
        bare)."""
        return tuple(c for c in self.choices if c.reason_code_id is None)

    @property
    def reasons(self) -> tuple[StatusChoice, ...]:
        """Unavailable with each away reason code."""
        return tuple(c for c in self.choices if c.reason_code_id is not None)


def parse_status_value(value: str) -> tuple[int, int | None]:
    """`StatusChoice.value` back into (status id, reason code id); ValueError if malformed."""
    status, sep, reason = str(value).strip().partition(":")
    if not status.isdigit() or (sep and not reason.isdigit()):
        raise ValueError(f"not a status choice: {value!r}")
    return int(status), int(reason) if sep else None


# ---------------------------------------------------------------------------------------------
# The actions
# ---------------------------------------------------------------------------------------------


async def change_agent_status(
    user: User,
    agent_id: int,
    client: ClarityClient,
    *,
    status_id: int,
    reason_code_id: int | None = None,
) -> Outcome:
    """Set the agent's status; a reason code goes only with Unavailable (3)."""
    params = {"agent_status_id": status_id, "reason_code_id": reason_code_id}
    invalid = _invalid_status(status_id, reason_code_id)

    async def perform() -> _Done:
        await client.update_agent_status(agent_id, status_id, reason_code_id)
        return _Done(OK, _("Clarity accepted the status change; it shows here once the live "
                           "feed confirms it."), 204)

    spec = _Spec(ACTION_STATUS, PERM_STATUS, "agent", agent_id, params)
    return await _run(user, spec, perform, agent_id=agent_id, invalid=invalid)


async def set_agent_suspended(
    user: User, agent_id: int, client: ClarityClient, *, suspended: bool
) -> Outcome:
    """Suspend the agent (no new sessions are offered) or lift the suspension."""
    params = {"suspended": bool(suspended)}

    async def perform() -> _Done:
        await client.set_suspended(agent_id, bool(suspended))
        message = (
            _("Clarity accepted the suspension; it shows here once the live feed confirms it.")
            if suspended
            else _("Clarity accepted lifting the suspension; it shows here once the live feed "
                   "confirms it.")
        )
        return _Done(OK, message, 204)

    spec = _Spec(ACTION_SUSPEND, PERM_SUSPEND, "agent", agent_id, params)
    return await _run(user, spec, perform, agent_id=agent_id)


async def set_agent_recording(
    user: User, agent_id: int, client: ClarityClient, *, start: bool
) -> Outcome:
    """Start or stop recording every session the agent takes part in. The outcome is "ok" when
    every session did what was asked (or there was none), "failed" when any was denied or
    failed; `details` says which."""
    params = {"action": "start" if start else "stop"}

    async def perform() -> _Done:
        call = client.start_recording if start else client.stop_recording
        details = tuple(_recording_result(s, start=start) for s in await call(agent_id))
        done = sum(1 for d in details if d.result in ("recorded", "stopped"))
        denied = sum(1 for d in details if d.result == "denied")
        failed = len(details) - done - denied
        summary = "; ".join(f"session {d.session_id}: {d.result}" for d in details)
        if not details:
            return _Done(OK, _("The agent has no active session, so there was nothing to "
                               "record.") if start else
                         _("The agent has no active session, so there was nothing to stop."),
                         200, details=details)
        if done == len(details):
            message = (
                ngettext("Recording started for %(count)d session.",
                         "Recording started for %(count)d sessions.", done)
                if start else
                ngettext("Recording stopped for %(count)d session.",
                         "Recording stopped for %(count)d sessions.", done)
            ) % {"count": done}
            return _Done(OK, message, 200, details=details, detail=summary)
        message = _(
            "%(done)d of %(total)d sessions done: %(denied)d denied, %(failed)d failed."
        ) % {"done": done, "total": len(details), "denied": denied, "failed": failed}
        return _Done(FAILED, message, 200, details=details, detail=summary)

    spec = _Spec(ACTION_RECORDING, PERM_RECORD, "agent", agent_id, params)
    return await _run(user, spec, perform, agent_id=agent_id)


async def save_call_notes(
    user: User, session_id: int, client: ClarityClient, *, note: str
) -> Outcome:
    """Save the session's call notes (replacing what was there; "" clears them)."""
    params = {"note": note}
    invalid = None if isinstance(note, str) else _("Notes must be text.")

    async def perform() -> _Done:
        await client.set_call_notes(session_id, note)
        return _Done(OK, _("Call notes saved."), 204)

    spec = _Spec(ACTION_NOTES, PERM_ANNOTATE, "session", session_id, params)
    return await _run(user, spec, perform, session_of=_session_agents(client, session_id),
                      invalid=invalid)


async def save_disposition(
    user: User,
    session_id: int,
    client: ClarityClient,
    *,
    disposition_id: int,
    sub_disposition_id: int | None = None,
) -> Outcome:
    """Save the session's disposition (and sub-disposition, which must belong to it)."""
    params = {"disposition_id": disposition_id, "sub_disposition_id": sub_disposition_id}
    invalid = None
    if not _positive(disposition_id) or (
        sub_disposition_id is not None and not _positive(sub_disposition_id)
    ):
        invalid = _("Choose a disposition.")

    async def perform() -> _Done:
        await client.set_dispositions(session_id, disposition_id, sub_disposition_id)
        return _Done(OK, _("Disposition saved."), 204)

    spec = _Spec(ACTION_DISPOSITION, PERM_ANNOTATE, "session", session_id, params)
    return await _run(user, spec, perform, session_of=_session_agents(client, session_id),
                      invalid=invalid)


async def notify_agent(
    user: User,
    agent_id: int,
    config: OpenMethodsConfig | None,
    *,
    route: Route,
    event: str,
    properties: dict[str, str],
) -> Outcome:
    """Send an OpenMethods PopFlow event with `properties` to the agent, by `route`."""
    params = {"route": route, "event": event, "properties": properties}
    spec = _Spec(ACTION_NOTIFY, PERM_NOTIFY, "agent", agent_id, params)
    return await _run(user, spec, _notify(agent_id, config, route, event, properties),
                      agent_id=agent_id)


async def notify_for_rule(
    rule_name: str,
    agent_id: int,
    config: OpenMethodsConfig | None,
    *,
    event: str,
    properties: dict[str, str],
) -> Outcome:
    """A threshold rule's notification: the CTI route when the agent has a CTI login, else
    CRM. Audited under the rule's name; never raises for an OpenMethods failure."""
    started = time.monotonic()
    logins = await sync_to_async(notify.logins_for)(agent_id)
    route: Route = (notify.routes(config, logins) or ("cti",))[0]
    done = await _notify(agent_id, config, route, event, properties)()
    actor = _Actor(username=f"rule: {rule_name}"[:150], signed_in=True, permitted=True,
                   in_scope=True)
    spec = _Spec(ACTION_NOTIFY, PERM_NOTIFY, "agent", agent_id,
                 {"route": route, "event": event, "properties": properties})
    duration = round((time.monotonic() - started) * 1000)
    entry = await sync_to_async(_write_audit)(actor, spec, done.result, done.message,
                                              done.upstream_status, duration, done.detail,
                                              agent_id)
    return Outcome(done.result, done.message, done.upstream_status, (), entry.pk)


def _notify(agent_id: int, config: OpenMethodsConfig | None, route: Route, event: str,
            properties: dict[str, str]) -> Callable[[], Awaitable[_Done]]:
    async def perform() -> _Done:
        if config is None:
            return _Done(FAILED, _("OpenMethods is not set up on this dashboard. Ask an "
                                   "administrator."), None)
        logins = await sync_to_async(notify.logins_for)(agent_id)
        if logins is None or route not in notify.routes(config, logins):
            return _Done(FAILED, _("This agent has no OpenMethods name for that route. An "
                                   "administrator can add it on the agent in the admin."), None)
        try:
            sent = await notify.send(config, logins, route, event, properties)
        except OpenMethodsError as exc:
            log.warning("%s %s: %s", ACTION_NOTIFY, agent_id, exc)
            return _Done(FAILED, notify.failure_message(exc), exc.status, detail=str(exc))
        return _Done(OK, _("OpenMethods accepted the event “%(event)s”; it pops up on the "
                           "agent's screen if their client is running.") % {"event": event},
                     sent.status, detail=sent.route)

    return perform


async def status_choices(user: User, agent_id: int, client: ClarityClient) -> StatusChoices:
    """The statuses the agent can be put in, from Clarity's List Agent Statuses, for a user who
    may change this agent's status. A read: checked like the action, not audited."""
    actor = await sync_to_async(_actor)(user, PERM_STATUS, agent_id)
    refusal = _refusal(actor, session=False)
    if refusal is not None:
        return StatusChoices(DENIED, refusal)
    try:
        listed = await client.list_agent_statuses(agent_id)
    except ClarityError as exc:
        log.warning("status choices for agent %s: %s", agent_id, exc)
        return StatusChoices(FAILED, _failure_message(exc, lookup=True), upstream_status=exc.status)
    choices: list[StatusChoice] = []
    for item in listed:
        if item.agent_status_id is None:
            continue
        choice = StatusChoice(item.agent_status_id, item.agent_status or "unknown",
                              item.reason_code_id, item.reason_code_name)
        if choice not in choices:
            choices.append(choice)
    return StatusChoices(OK, "", tuple(choices), 200)


# ---------------------------------------------------------------------------------------------
# What every action shares
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    action: str
    perm: str
    target_type: str
    target_id: int
    params: dict[str, Any]


@dataclass(frozen=True)
class _Done:
    result: Result
    message: str
    upstream_status: int | None
    details: tuple[SessionRecording, ...] = ()
    detail: str = ""
    # Whose action it was (Clarity agent id), when known: the audit log files it under them.
    agent: int | None = None


@dataclass(frozen=True)
class _Actor:
    """The user as checked once, in a worker thread (has_perm and the scope read the
    database, and request.user may still be lazy)."""

    pk: Any = None
    username: str = ""
    signed_in: bool = False
    permitted: bool = False
    in_scope: bool = False


def _actor(user: User, perm: str, agent_id: int | None) -> _Actor:
    if user is None or not user.is_authenticated:
        return _Actor()
    permitted = bool(user.has_perm(perm))
    in_scope = permitted and (agent_id is None or visibility_for(user).sees_agent(agent_id))
    return _Actor(user.pk, user.get_username(), True, permitted, in_scope)


def _sees_any(user: User, agent_ids: tuple[int, ...]) -> bool:
    vis = visibility_for(user)
    return vis.everything or any(vis.sees_agent(a) for a in agent_ids)


def _refusal(actor: _Actor, *, session: bool) -> str | None:
    if not actor.signed_in:
        return _("You are signed out. Sign in again to act.")
    if not actor.permitted:
        return _("Your role does not allow this action.")
    if not actor.in_scope:
        return _out_of_scope(session)
    return None


def _out_of_scope(session: bool) -> str:
    if session:
        return _("This session's agent is not in the teams you supervise.")
    return _("This agent is not in the teams you supervise.")


class _RepeatGuard:
    """Which requests are in flight or just succeeded, per process. A lock rather than the
    event loop's single thread: admin actions may run on loops in other threads."""

    def __init__(self, window: float = REPEAT_WINDOW) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._in_flight: set[Hashable] = set()
        self._succeeded: dict[Hashable, float] = {}

    def claim(self, key: Hashable) -> bool:
        now = time.monotonic()
        with self._lock:
            self._succeeded = {k: t for k, t in self._succeeded.items() if now - t < self.window}
            if key in self._in_flight or key in self._succeeded:
                return False
            self._in_flight.add(key)
            return True

    def release(self, key: Hashable, *, succeeded: bool) -> None:
        with self._lock:
            self._in_flight.discard(key)
            if succeeded:
                self._succeeded[key] = time.monotonic()


_guard = _RepeatGuard()


def _session_agents(
    client: ClarityClient, session_id: int
) -> Callable[[], Awaitable[tuple[int, ...]]]:
    async def find() -> tuple[int, ...]:
        session: SessionById = await client.session(session_id)
        ids = [session.agent_id] + [p.agent_id for p in session.agents if p.is_primary_agent]
        return tuple(dict.fromkeys(i for i in ids if i is not None))

    return find


async def _run(
    user: User,
    spec: _Spec,
    perform: Callable[[], Awaitable[_Done]],
    *,
    agent_id: int | None = None,
    session_of: Callable[[], Awaitable[tuple[int, ...]]] | None = None,
    invalid: str | None = None,
) -> Outcome:
    started = time.monotonic()
    actor = await sync_to_async(_actor)(user, spec.perm, agent_id)

    async def finish(result: Result, message: str, upstream: int | None = None,
                     details: tuple[SessionRecording, ...] = (), detail: str = "",
                     agent: int | None = agent_id) -> Outcome:
        duration = round((time.monotonic() - started) * 1000)
        entry = await sync_to_async(_write_audit)(actor, spec, result, message, upstream,
                                                  duration, detail, agent)
        return Outcome(result, message, upstream, details, entry.pk)

    refusal = _refusal(actor, session=session_of is not None)
    if refusal is not None:
        return await finish(DENIED, refusal)
    if invalid is not None:
        return await finish(FAILED, invalid)
    key = (actor.pk, spec.action, spec.target_type, spec.target_id,
           json.dumps(spec.params, sort_keys=True, default=str))
    if not _guard.claim(key):
        return await finish(IGNORED, _("This was already sent; the repeated click was ignored."))

    async def attempt() -> _Done:
        agent = agent_id
        if session_of is not None:
            try:
                agents = await session_of()
            except ClarityError as exc:
                log.warning("%s %s: reading the session: %s", spec.action, spec.target_id, exc)
                return _Done(FAILED, _failure_message(exc, lookup=True), exc.status,
                             detail=str(exc))
            agent = agents[0] if agents else None
            if not await sync_to_async(_sees_any)(user, agents):
                return _Done(DENIED, _out_of_scope(True), None, agent=agent)
        try:
            done = await perform()
        except ClarityError as exc:
            log.warning("%s %s: %s", spec.action, spec.target_id, exc)
            return _Done(FAILED, _failure_message(exc), exc.status, detail=str(exc), agent=agent)
        return replace(done, agent=agent)

    succeeded = False
    try:
        done = await attempt()
        succeeded = done.result == OK
    except asyncio.CancelledError:
        # The request went away mid-call (the browser closed); Clarity may have acted, so the
        # audit still says so.
        await asyncio.shield(finish(FAILED, _("The request was interrupted before Clarity "
                                              "answered; the change may have been made.")))
        raise
    finally:
        _guard.release(key, succeeded=succeeded)
    # Written once, outside the try: a cancellation while it is being written must not add a
    # second entry (the worker thread finishes the first one regardless).
    return await finish(done.result, done.message, done.upstream_status, done.details,
                        done.detail, done.agent)


def _write_audit(actor: _Actor, spec: _Spec, result: Result, message: str,
                 upstream: int | None, duration_ms: int, detail: str,
                 agent: int | None) -> AuditEntry:
    return AuditEntry.objects.create(
        user_id=actor.pk, username=actor.username, action=spec.action,
        target_type=spec.target_type, target_id=spec.target_id, agent_clarity_id=agent,
        params=spec.params, outcome=result, upstream_status=upstream,
        duration_ms=max(0, duration_ms), message=str(message), detail=detail,
    )


def _failure_message(exc: ClarityError, *, lookup: bool = False) -> str:
    """What to tell a supervisor about a Clarity error; `lookup` for a read made before the
    action itself (nothing was changed then)."""
    if isinstance(exc, ClarityConfigError):
        return _("The dashboard's connection to Clarity is not set up. Ask an administrator.")
    if isinstance(exc, ClarityAuthError):
        return _("The dashboard could not sign in to Clarity, so nothing was changed. Ask an "
                 "administrator to check the Clarity account.")
    if isinstance(exc, ClarityUnauthorized):
        return _("Clarity does not let the dashboard's account do this for this agent or "
                 "session, so nothing was changed.")
    if isinstance(exc, ClarityBadRequest):
        return _("Clarity refused this request as not valid (for example a status that cannot "
                 "be set by hand), so nothing was changed.")
    if isinstance(exc, ClarityNotFound):
        return _("Clarity does not know this agent or session (any more), so nothing was "
                 "changed.")
    if isinstance(exc, ClarityServerError):
        if lookup:
            return _("Clarity could not return this session or agent (it may have ended, or "
                     "Clarity had an error), so nothing was changed. Try again in a moment.")
        return _("Clarity had an internal error, so the change may not have been made. Watch "
                 "the live status, then try again if needed.")
    if isinstance(exc, ClarityUnavailable):
        if lookup:
            return _("Clarity did not answer, so nothing was changed. Try again in a moment.")
        return _("Clarity did not answer in time. The change may or may not have been made: "
                 "watch the live status before trying again.")
    return _("Clarity answered something the dashboard does not understand. The change may "
             "have been made: watch the live status.")


def _invalid_status(status_id: Any, reason_code_id: Any) -> str | None:
    if not _positive(status_id) or status_id not in wire.AGENT_STATUS_IDS:
        return _("Choose a status from the list.")
    if reason_code_id is not None:
        if not _positive(reason_code_id):
            return _("Choose a reason from the list.")
        if status_id != wire.UNAVAILABLE:
            return _("A reason only goes with the Away (unavailable) status.")
    return None


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _recording_result(status: RecordingStatus, *, start: bool) -> SessionRecording:
    # A session whose recording is prohibited counts as denied when asked to start; asked to
    # stop, it simply is not recording.
    if status.request_denied or (start and status.can_be_recorded is False):
        result: RecordingResult = "denied"
    elif status.request_failed:
        result = "failed"
    elif start:
        result = "recorded" if status.is_recording else "failed"
    else:
        result = "failed" if status.is_recording else "stopped"
    return SessionRecording(status.session_id, result, status.is_recording)

"""The session drill-down: one Clarity session, read on demand, as the page shows it.

The live picture holds no IVR path, event history, transcript or customer history, so the page
reads the session straight from Clarity (Session by ID with every include flag) when it is
opened, and its transcript again every few seconds while an IM session is active.

    lookup(client, visibility, session_id) -> Lookup     # fetch, scope check, error mapping
    build(session, transcript, now=...) -> SessionView    # the page's view model, no I/O
    may_view(visibility, session) -> bool

Sections Clarity does not return (null or absent: the seed says "Can be null" for each, and a
server older than the include flags sends none) stay None in the view model and the page says
"Not provided by Clarity"; an empty list is a section Clarity returned with nothing in it.

Scope: a viewer sees a session when they see its responding agent or an agent who is primary
on it now (after a transfer), the same rule the session actions apply (dashboard.actions). A
session no agent has touched yet (queued, ringing nobody) has no agent to judge by: it is
visible to whoever sees the queue it waits in, as the queue's tiles already count it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.clarity.client import ClarityClient
from integrations.clarity.errors import (
    ClarityAuthError,
    ClarityConfigError,
    ClarityError,
    ClarityNotFound,
    ClarityServerError,
    ClarityUnauthorized,
    ClarityUnavailable,
)
from integrations.clarity.wire import (
    AgentParticipation,
    SelectedDisposition,
    SessionBase,
    SessionById,
    TranscriptMessage,
)

from .live import MODALITY_LABELS
from .mbu import Visibility

log = logging.getLogger(__name__)

# Seed (Session by ID): three customer history records unless a limit is given, at most 50.
# Ten is a screenful and keeps the request small.
HISTORY_LIMIT = 10
# Seconds between transcript polls while an IM session is active.
TRANSCRIPT_POLL_SECONDS = 2

# Seed, Model Session: statuses after which nothing happens to the session any more.
FINAL_STATUSES = frozenset({"Completed", "Transferred", "CompletedAfterHours", "Abandoned"})
WAITING_STATUSES = frozenset({"Queued", "ReEnqueued", "NotifyingAgent"})

SESSION_STATUS_LABELS = {
    "New": gettext_lazy("New"), "Queued": gettext_lazy("Queued"),
    "Active": gettext_lazy("Active"), "Completed": gettext_lazy("Completed"),
    "Connected": gettext_lazy("Connected"), "Terminating": gettext_lazy("Terminating"),
    "Abandoned": gettext_lazy("Abandoned"), "CallingCustomer": gettext_lazy("Calling customer"),
    "Transferred": gettext_lazy("Transferred"), "AfterCall": gettext_lazy("After call"),
    "NotifyingAgent": gettext_lazy("Offering to an agent"),
    "CompletedAfterHours": gettext_lazy("Completed after hours"),
    "DirectInboundDial": gettext_lazy("Direct inbound"),
    "DirectOutboundDial": gettext_lazy("Direct outbound"),
    "ReEnqueued": gettext_lazy("Queued again"), "ActiveImOnly": gettext_lazy("Active (chat)"),
}
SESSION_TYPE_LABELS = {
    "Queued": gettext_lazy("Queued"), "Direct Inbound": gettext_lazy("Direct inbound"),
    "Direct Outbound": gettext_lazy("Direct outbound"),
}
# Seed, Agent Participation: agentParticipationTypeId and its name.
PARTICIPATION_TYPE_LABELS = {
    1: gettext_lazy("Agent"), 4: gettext_lazy("Consult"), 5: gettext_lazy("Transfer agent"),
    6: gettext_lazy("Contact"), 7: gettext_lazy("Whisper join"), 8: gettext_lazy("Silent join"),
    9: gettext_lazy("Invited"), 10: gettext_lazy("Barge-in"),
}
PARTICIPATION_TYPE_IDS = {"Agent": 1, "Consult": 4, "TransferAgent": 5, "Contact": 6,
                          "WhisperJoin": 7, "SilentJoin": 8, "Invite": 9, "BargeIn": 10}
PARTICIPATION_STATUS_LABELS = {
    "Offering": gettext_lazy("Offered"), "Accepted": gettext_lazy("Connected"),
    "AfterCall": gettext_lazy("After call"),
}
# How a supervisor takes part, by participation type id: the page flags these.
JOIN_KINDS = {7: "whisper", 8: "silent", 10: "barge"}
MODALITY_UNKNOWN = gettext_lazy("Unknown")
# Sorts before any real time (aware, so it compares with Clarity's times).
_EARLIEST = datetime.min.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# The view model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    """How long something lasted. While it still runs `since` is its start (ISO 8601) and the
    page ticks it (live.js ticks every [data-since]); `text` is the value at render time."""

    text: str
    since: str | None = None


@dataclass(frozen=True)
class Participant:
    agent_id: int | None
    name: str
    kind: str                 # participation type, translated
    status: str               # participation status, translated
    is_primary: bool
    join: str | None          # "whisper", "silent", "barge" for a supervisor joining
    joined_at: datetime | None
    time_on: Duration | None  # connected for, or ringing for (offers)
    after_call_at: datetime | None
    initiated_by: str | None


@dataclass(frozen=True)
class IvrStep:
    number: int
    name: str
    result: str | None
    note: str | None
    duration: str | None


@dataclass(frozen=True)
class IvrPath:
    call_flow: str
    steps: tuple[IvrStep, ...]


@dataclass(frozen=True)
class Event:
    at: datetime | None
    offset: str | None        # since the session started, "+1:05"
    text: str
    by: str | None


@dataclass(frozen=True)
class TranscriptLine:
    at: datetime | None
    sender: str
    receiver: str
    text: str
    from_agent: bool


@dataclass(frozen=True)
class HistoryItem:
    session_id: int
    started: datetime | None
    modality: str
    queue: str
    agent: str


@dataclass(frozen=True)
class DispositionChoice:
    disposition_id: int
    name: str
    subs: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class SessionView:
    """Everything the drill-down shows. Tuples that may be None are the optional sections:
    None when Clarity did not return them, () when it returned them empty."""

    session_id: int
    status: str | None
    status_label: str
    active: bool
    modality: str
    modality_label: str
    is_im: bool
    session_type: str | None
    # who
    customer_name: str | None
    customer_id: str | None
    customer_contact: str | None
    customer_contact_is_sip: bool
    agent_id: int | None
    agent_name: str | None
    primary_agent_id: int | None
    primary_agent_name: str | None
    # where
    queue_id: int | None
    queue_name: str | None
    call_flow: str | None
    # when and how long
    started: datetime | None
    answered: datetime | None
    ended: datetime | None
    total: Duration | None
    waiting: Duration | None
    talking: Duration | None
    on_hold: Duration | None
    recording: Duration | None
    # flags
    is_recording: bool | None
    can_be_recorded: bool | None
    is_on_hold: bool | None
    is_whisper_joined: bool | None
    is_silent_joined: bool | None
    is_barged: bool
    can_be_whisper_joined: bool | None
    can_be_silent_joined: bool | None
    # sections
    participants: tuple[Participant, ...]
    offers: tuple[Participant, ...]
    ivr: tuple[IvrPath, ...] | None
    events: tuple[Event, ...] | None
    transcript: tuple[TranscriptLine, ...] | None
    im_prompts: tuple[tuple[str, str], ...] | None
    history: tuple[HistoryItem, ...] | None
    history_limit: int
    dispositions: tuple[DispositionChoice, ...] | None
    disposition: tuple[int | None, str] | None
    sub_disposition: tuple[int | None, str] | None
    extra_items: tuple[tuple[str, str], ...] | None
    call_note: str | None
    after_call_seconds: int | None
    manual_after_call: bool | None
    hold_alert_seconds: int | None
    screen_pop_url: str | None

    @property
    def polls_transcript(self) -> bool:
        """The transcript section asks for updates while an IM session goes on."""
        return self.is_im and self.active

    @property
    def transcript_count(self) -> int:
        return len(self.transcript or ())


# ---------------------------------------------------------------------------------------------
# Building it
# ---------------------------------------------------------------------------------------------


def elapsed(ms: float | None) -> str:
    """m:ss under an hour, h:mm:ss from an hour on: what live.js shows while it ticks."""
    total = max(0, int((ms or 0) // 1000))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _ms_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


def _running(start: datetime | None, now: datetime) -> Duration | None:
    if start is None:
        return None
    return Duration(elapsed(_ms_between(start, now)), start.isoformat())


def _fixed(ms: float | None) -> Duration | None:
    return None if ms is None else Duration(elapsed(ms))


def is_active(session: SessionById) -> bool:
    """Still going: neither flagged ended, nor in a final status, nor given an end time."""
    if session.session_has_ended or session.end_time is not None:
        return False
    return session.session_status not in FINAL_STATUSES


def agent_ids(session: SessionById) -> tuple[int, ...]:
    """Whose session it is, for the scope: the responding agent, then any primary agent."""
    ids = [session.agent_id] + [p.agent_id for p in session.agents if p.is_primary_agent]
    return tuple(dict.fromkeys(i for i in ids if i is not None))


def may_view(visibility: Visibility, session: SessionById) -> bool:
    if visibility.everything:
        return True
    agents = agent_ids(session)
    if agents:
        return any(visibility.sees_agent(a) for a in agents)
    return session.queue_id is not None and visibility.sees_queue(session.queue_id)


def _type_id(p: AgentParticipation) -> int | None:
    if p.participation_type_id is not None:
        return p.participation_type_id
    return PARTICIPATION_TYPE_IDS.get(p.participation_type or "")


def _participant(p: AgentParticipation, now: datetime, *, active: bool,
                 offer: bool = False) -> Participant:
    type_id = _type_id(p)
    kind = PARTICIPATION_TYPE_LABELS.get(type_id or -1, p.participation_type or _("Unknown"))
    status = PARTICIPATION_STATUS_LABELS.get(p.participation_status or "",
                                             p.participation_status or "")
    if offer:
        # Ringing since the offer (or the allocation, when Clarity gives no offer time).
        time_on = _running(p.offered_time or p.allocated_time, now) if active else None
    elif p.participation_status == "AfterCall" or not active:
        time_on = _fixed(p.active_ms)
    else:
        time_on = _running(p.accepted_time, now) or _fixed(p.active_ms)
    return Participant(
        agent_id=p.agent_id, name=p.agent_name or _("Unknown"), kind=str(kind),
        status=str(status), is_primary=bool(p.is_primary_agent),
        join=JOIN_KINDS.get(type_id or -1), joined_at=p.accepted_time or p.offered_time,
        time_on=time_on, after_call_at=p.after_call_start_time,
        initiated_by=p.initiating_agent_name,
    )


def _ivr(session: SessionById) -> tuple[IvrPath, ...] | None:
    if session.ivr_data is None:
        return None
    paths = []
    for data in session.ivr_data:
        steps = tuple(
            IvrStep(number, node.node_name or _("Unnamed step"), node.selected_result,
                    node.node_note,
                    # seed: "Duration of the node", an integer without a unit; the other
                    # durations in the document are milliseconds, and so are the simulator's.
                    None if node.duration is None else _("%(seconds)s s") % {
                        "seconds": f"{node.duration / 1000:.1f}"})
            for number, node in enumerate(data.nodes, start=1))
        paths.append(IvrPath(data.call_flow_name or session.call_flow_name or "", steps))
    return tuple(paths)


def _events(session: SessionById) -> tuple[Event, ...] | None:
    if session.session_event_history is None:
        return None
    start = session.start_time
    # Oldest first; events without a time keep their place at the end.
    ordered = sorted(enumerate(session.session_event_history),
                     key=lambda pair: (pair[1].last_updated is None,
                                       pair[1].last_updated or _EARLIEST, pair[0]))
    out = []
    for _index, event in ordered:
        offset = None
        if start is not None and event.last_updated is not None:
            offset = "+" + elapsed(_ms_between(start, event.last_updated))
        out.append(Event(event.last_updated, offset, event.event_text or "", event.updated_by))
    return tuple(out)


def _transcript(messages: Iterable[TranscriptMessage] | None) -> tuple[TranscriptLine, ...] | None:
    if messages is None:
        return None
    lines = [TranscriptLine(m.time_stamp, m.from_ or "", m.to or "", m.message or "",
                            bool(m.from_agent))
             for m in messages]
    # Clarity lists them in order; a stable sort by time only guards against a server that
    # does not.
    lines.sort(key=lambda line: (line.at is None, line.at or _EARLIEST))
    return tuple(lines)


def _history(session: SessionById) -> tuple[HistoryItem, ...] | None:
    if session.customer_history is None:
        return None
    items = []
    for past in session.customer_history:
        if past.session_id == session.session_id:
            continue
        items.append(_history_item(past))
    # Most recent first; records without a start time last.
    items.sort(key=lambda i: i.started or _EARLIEST, reverse=True)
    return tuple(items)


def _history_item(past: SessionBase) -> HistoryItem:
    return HistoryItem(
        session_id=past.session_id, started=past.start_time,
        modality=str(MODALITY_LABELS.get(past.modality, MODALITY_UNKNOWN)),
        queue=past.queue_name or "", agent=past.agent_name or "")


def _dispositions(session: SessionById) -> tuple[DispositionChoice, ...] | None:
    if session.call_dispositions is None:
        return None
    return tuple(
        DispositionChoice(d.disposition_id, d.disposition or str(d.disposition_id),
                          tuple((s.sub_disposition_id, s.sub_disposition
                                 or str(s.sub_disposition_id)) for s in d.sub_dispositions))
        for d in session.call_dispositions)


def _selected(value: SelectedDisposition | None,
              choices: tuple[DispositionChoice, ...] | None,
              *, sub: bool = False) -> tuple[int | None, str] | None:
    if value is None or (value.id is None and not value.name):
        return None
    name = value.name
    if not name and choices:
        # Only the id came back: the choices know its name.
        names = ({sid: sname for c in choices for sid, sname in c.subs} if sub
                 else {c.disposition_id: c.name for c in choices})
        name = names.get(value.id) if value.id is not None else None
    return value.id, name or str(value.id)


def _safe_url(url: str | None) -> str | None:
    # Clarity's screen pop is a link to a CRM page; anything but http(s) is not followed.
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def build(session: SessionById, transcript: Iterable[TranscriptMessage] | None = None,
          *, now: datetime) -> SessionView:
    """The view model of `session`. `transcript` is the IM transcript when read separately
    (Get IM Transcript History); otherwise the session's own current transcript is used."""
    active = is_active(session)
    primary = next((p for p in session.agents if p.is_primary_agent), None)
    contact = session.customer_phone
    started, answered, ended = session.start_time, session.answered_time, session.end_time

    if active:
        total = _running(started, now) or _fixed(session.session_duration_ms)
        waiting = None
        if session.session_status in WAITING_STATUSES and session.queued_ms:
            waiting = _running(now - timedelta(milliseconds=session.queued_ms), now)
        talking = _running(session.active_time, now) if session.active_time else None
        on_hold = _running(session.hold_start_time, now) if session.is_on_hold else None
        recording = (_running(session.recording_start_time, now)
                     if session.is_recording else None)
    else:
        total = _fixed(session.session_duration_ms)
        if total is None and started is not None and ended is not None:
            total = _fixed(_ms_between(started, ended))
        waiting = None
        talking = _fixed(session.active_ms) if session.active_ms else None
        on_hold = recording = None

    dispositions = _dispositions(session)
    aftercall = session.aftercall_options
    return SessionView(
        session_id=session.session_id,
        status=session.session_status,
        status_label=str(SESSION_STATUS_LABELS.get(session.session_status or "",
                                                   session.session_status or _("Unknown"))),
        active=active,
        modality=session.modality,
        modality_label=str(MODALITY_LABELS.get(session.modality, MODALITY_UNKNOWN)),
        is_im=session.modality == "instantMessage",
        session_type=(str(SESSION_TYPE_LABELS.get(session.session_type, session.session_type))
                      if session.session_type else None),
        customer_name=session.customer_name,
        customer_id=session.customer_id,
        customer_contact=contact,
        customer_contact_is_sip=bool(contact and contact.lower().startswith("sip:")),
        agent_id=session.agent_id,
        agent_name=session.agent_name,
        primary_agent_id=primary.agent_id if primary else None,
        primary_agent_name=primary.agent_name if primary else None,
        # seed: -1 and -2 stand for direct inbound and outbound sessions, not queues.
        queue_id=session.queue_id if session.queue_id and session.queue_id > 0 else None,
        queue_name=session.queue_name,
        call_flow=session.call_flow_name,
        started=started,
        answered=answered,
        ended=ended,
        total=total,
        waiting=waiting,
        talking=talking,
        on_hold=on_hold,
        recording=recording,
        is_recording=session.is_recording,
        can_be_recorded=session.can_be_recorded,
        is_on_hold=session.is_on_hold,
        is_whisper_joined=session.is_whisper_joined,
        is_silent_joined=session.is_silent_joined,
        is_barged=any(_type_id(p) == 10 for p in session.agents),
        can_be_whisper_joined=session.can_be_whisper_joined,
        can_be_silent_joined=session.can_be_silent_joined,
        participants=tuple(_participant(p, now, active=active) for p in session.agents),
        offers=tuple(_participant(p, now, active=active, offer=True) for p in session.offers),
        ivr=_ivr(session),
        events=_events(session),
        transcript=_transcript(session.transcript if transcript is None else transcript),
        im_prompts=(None if session.im_prompts is None else tuple(
            (p.prompt_name or "", p.prompt_value or "") for p in session.im_prompts)),
        history=_history(session),
        history_limit=HISTORY_LIMIT,
        dispositions=dispositions,
        disposition=_selected(session.selected_call_disposition, dispositions),
        sub_disposition=_selected(session.selected_call_sub_disposition, dispositions, sub=True),
        extra_items=(None if session.extra_items is None else tuple(
            (item.key or "", item.value or "") for item in session.extra_items)),
        call_note=session.call_note,
        after_call_seconds=aftercall.after_call_time_seconds if aftercall else None,
        manual_after_call=aftercall.is_manual_after_call_enabled if aftercall else None,
        hold_alert_seconds=session.hold_timer_threshold,
        screen_pop_url=_safe_url(session.screen_pop_url),
    )


# ---------------------------------------------------------------------------------------------
# Reading it from Clarity
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """A session read for a viewer: the session (and its IM transcript), or why not, with the
    HTTP status the page answers."""

    session: SessionById | None = None
    transcript: tuple[TranscriptMessage, ...] | None = None
    status: int = 200
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.session is not None


async def lookup(client: ClarityClient, visibility: Visibility, session_id: int, *,
                 full: bool = True) -> Lookup:
    """Read the session (`full`: every section, for the page; otherwise just what the
    transcript poll needs), check the viewer's scope, then read an IM session's transcript."""
    try:
        if full:
            session = await client.session(session_id, include_all=True,
                                           customer_history_limit=HISTORY_LIMIT)
        else:
            session = await client.session(session_id, include_current_transcript=True)
    except ClarityError as exc:
        log.warning("session %s: %s", session_id, exc)
        return Lookup(status=_error_status(exc), error=error_message(exc))
    if not may_view(visibility, session):
        # The same answer as for a session that does not exist: nothing says it does.
        return Lookup(status=404, error=not_found_message())
    return Lookup(session, await _transcript_of(client, session))


async def _transcript_of(client: ClarityClient,
                         session: SessionById) -> tuple[TranscriptMessage, ...] | None:
    """An IM session's whole conversation (Get IM Transcript History); when that read fails,
    the current transcript the session came with, which may be shorter."""
    if session.modality != "instantMessage":
        return session.transcript
    try:
        return await client.transcript(session.session_id)
    except ClarityError as exc:
        log.warning("transcript of session %s: %s", session.session_id, exc)
        return session.transcript


def not_found_message() -> str:
    return _("There is no such session among the ones you supervise.")


def _error_status(exc: ClarityError) -> int:
    # Clarity's 404 (and 401, a session its account may not see) is a missing page here;
    # anything else is Clarity failing, a bad gateway from the dashboard's point of view.
    if isinstance(exc, ClarityNotFound | ClarityUnauthorized):
        return 404
    return 502


def error_message(exc: ClarityError) -> str:
    """What to tell a supervisor when Clarity could not give the session."""
    if isinstance(exc, ClarityConfigError):
        return _("The dashboard's connection to Clarity is not set up. Ask an administrator.")
    if isinstance(exc, ClarityAuthError):
        return _("The dashboard could not sign in to Clarity. Ask an administrator to check "
                 "the Clarity account.")
    if isinstance(exc, ClarityNotFound):
        return _("Clarity does not know this session.")
    if isinstance(exc, ClarityUnauthorized):
        return _("Clarity does not let the dashboard's account see this session.")
    if isinstance(exc, ClarityServerError):
        # seed: Session by ID answers 500 for a session it does not have, too.
        return _("Clarity could not return this session: it may not exist (any more), or "
                 "Clarity had an error. Try again in a moment.")
    if isinstance(exc, ClarityUnavailable):
        return _("Clarity did not answer. Try again in a moment.")
    return _("Clarity answered something the dashboard does not understand, so the session "
             "cannot be shown.")

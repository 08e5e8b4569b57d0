"""Search for agents and queues through Clarity's Search method, within the viewer's scope.

    run(client, visibility, query) -> SearchResults

Clarity searches what the dashboard's account may see, which is usually more than one
supervisor may: every hit is checked against the viewer's scope (dashboard.mbu) before it is
shown, and Clarity's own summary ("found 3 agent(s)") is not shown since it counts the others
too. Queries shorter than `MIN_QUERY` characters ask nothing of Clarity: a single letter
matches half the centre and the box asks again with every keystroke.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _

from integrations.clarity import wire
from integrations.clarity.client import ClarityClient
from integrations.clarity.errors import ClarityError, ClarityUnavailable
from integrations.clarity.wire import AgentSearch, QueueSearch

from .ccai_sessions import CcaiHit
from .live import STATUS_ICON_DEFAULT, STATUS_ICONS, STATUS_LABELS
from .mbu import Visibility

log = logging.getLogger(__name__)

MIN_QUERY = 2
# Longer than any name, address or number the seed lists as searched; the query goes in the
# URL path, so it is capped.
MAX_QUERY = 100


@dataclass(frozen=True)
class AgentHit:
    agent_id: int
    name: str
    detail: str           # login or SIP address, to tell two Sams apart
    status: str           # the status code, for the icon's class
    status_label: str
    status_icon: str

    @property
    def url(self) -> str:
        return f"/agents/{self.agent_id}/"


@dataclass(frozen=True)
class QueueHit:
    queue_id: int
    name: str
    is_open: bool | None
    agents_available: int | None
    agents_online: int | None
    estimated_wait: int | None

    @property
    def url(self) -> str:
        # The overview's tiles for the queue (templates/dashboard/_queue_tiles.html).
        return f"/#queue-{self.queue_id}"


@dataclass(frozen=True)
class SearchResults:
    query: str
    agents: tuple[AgentHit, ...] = ()
    queues: tuple[QueueHit, ...] = ()
    searched: bool = False   # False: the query was too short and Clarity was not asked
    error: str = ""
    # CCAI Platform sessions (dashboard.ccai_sessions), for viewers who may see them.
    ccai: tuple[CcaiHit, ...] = ()

    @property
    def count(self) -> int:
        return len(self.agents) + len(self.queues) + len(self.ccai)


def clean(query: str | None) -> str:
    """The query as sent: trimmed, inner whitespace collapsed, at most MAX_QUERY characters."""
    return " ".join((query or "").split())[:MAX_QUERY]


async def run(client: ClarityClient, visibility: Visibility, query: str | None) -> SearchResults:
    q = clean(query)
    if len(q) < MIN_QUERY:
        return SearchResults(q)
    try:
        found = await client.search(q)
    except ClarityError as exc:
        log.warning("search: %s", exc)  # the route only: the query may name a customer
        if isinstance(exc, ClarityUnavailable):
            message = _("Clarity did not answer, so nothing could be searched. Try again in a "
                        "moment.")
        else:
            message = _("Clarity could not search just now. Try again in a moment.")
        return SearchResults(q, searched=True, error=message)
    agents = tuple(_agent(a) for a in found.agents if visibility.sees_agent(a.agent_id))
    queues = tuple(_queue(x) for x in found.queues if visibility.sees_queue(x.queue_id))
    return SearchResults(q, tuple(sorted(agents, key=lambda h: h.name.lower())),
                         tuple(sorted(queues, key=lambda h: h.name.lower())), searched=True)


def _agent(a: AgentSearch) -> AgentHit:
    full = " ".join(part for part in (a.first_name, a.last_name) if part)
    name = a.public_name or full or a.login_name or _("Agent %(id)s") % {"id": a.agent_id}
    if full and full != name:
        name = f"{name} ({full})"
    code = wire.AGENT_STATUS_IDS.get(a.status, "unknown") if a.status is not None else "unknown"
    return AgentHit(
        agent_id=a.agent_id, name=name, detail=a.login_name or a.sip_address or "",
        status=code, status_label=str(STATUS_LABELS.get(code, code)),
        status_icon=STATUS_ICONS.get(code, STATUS_ICON_DEFAULT))


def _queue(q: QueueSearch) -> QueueHit:
    return QueueHit(q.queue_id, q.queue_name or _("Queue %(id)s") % {"id": q.queue_id},
                    q.is_open, q.agents_available, q.agents_online, q.estimated_wait_time)

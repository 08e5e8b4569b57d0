"""A contact-center traffic model: the state behind the simulated Clarity Connect server.

It is a discrete-event simulation on a simulated clock. Contacts arrive per queue and modality
following a daily profile, go through an IVR call flow, wait with a limited patience, are offered
to the longest-idle eligible agent, ring (and sometimes time out: RONA), are answered, put on hold,
transferred, finished with after-call work, a disposition and notes. Agents move between
available, ringing, in call, after call, away (with reason codes) and logged out.

Everything is reproducible from the seed: the same seed and the same calls give the same centre.
The model knows nothing about HTTP or JSON; `render.py` turns it into the wire format.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .catalogue import AGENT_AGNOSTIC_METRICS, MODALITIES

DAY = 86_400.0

STATUS_IDS: dict[str, int] = {
    "available": 1, "inCall": 2, "unavailable": 3, "unknown": 4, "afterCall": 5,
    "loggedOut": 6, "offPhoneActivity": 7, "ringOnNoAnswer": 8, "busy": 9,
    "beRightBack": 10, "directCall": 11, "inactive": 12, "inImCall": 14,
    "directInboundDial": 15, "directOutboundDial": 16, "atLunch": 17, "offWork": 18,
    "conferenceCall": 19, "ringing": 20,
}
STATUS_NAMES: dict[int, str] = {v: k for k, v in STATUS_IDS.items()}

REASON_CODES: dict[int, str] = {
    1: "On Break", 2: "At Lunch", 3: "Meeting", 4: "Training", 5: "Coaching", 6: "Personal",
    7: "System Issue",
}
# Statuses a person (or a supervisor through the API) may choose; the rest are set by the
# system as sessions come and go, and so are refused by Update Agent Status.
SETTABLE_STATUS_IDS: tuple[int, ...] = (1, 3, 6, 7, 9, 10, 17, 18)

MODALITY_IDS: dict[str, int] = {"instantMessage": 1, "audio": 2, "message": 3}
MODALITY_WIRE: dict[str, str] = {
    "instantMessage": "InstantMessage", "audio": "AudioVideo", "message": "Message",
}
SESSION_STATUS_FOR_MODALITY: dict[str, str] = {
    "audio": "inCall", "instantMessage": "inImCall", "message": "busy",
}
# Sessions in these statuses are over; everything else is live.
FINAL_SESSION_STATUSES = frozenset({"Completed", "Abandoned", "Transferred", "CompletedAfterHours"})
WAITING_SESSION_STATUSES = frozenset({"Queued", "NotifyingAgent", "ReEnqueued"})

OFFER_TIMEOUT = 15.0          # seconds of ringing before RONA
RONA_PENALTY = (5.0, 12.0)    # how long an agent stays in ringOnNoAnswer
DAY_PROFILE = (               # arrival multiplier per hour of the day (UTC), a 24/7 centre
    0.6, 0.55, 0.55, 0.55, 0.6, 0.7, 0.8, 0.9, 1.05, 1.2, 1.3, 1.25,
    1.15, 1.2, 1.25, 1.2, 1.1, 1.0, 0.95, 0.9, 0.8, 0.75, 0.7, 0.65,
)

FIRST_NAMES = (
    "Amelia", "Benjamin", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiroshi", "Isabel",
    "Jonah", "Keisha", "Lars", "Maya", "Nikolai", "Olivia", "Pedro", "Quinn", "Rosa", "Samir",
    "Tessa", "Umar", "Valeria", "Wei", "Ximena", "Yusuf", "Zoe", "Aaron", "Bianca", "Carlos",
    "Dana", "Emil", "Fatima", "Gabriel", "Hannah", "Ivan", "Julia", "Kofi", "Leila", "Marco",
    "Nadia", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Uma", "Victor", "Wanda", "Yara",
)
LAST_NAMES = (
    "Anderson", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes",
    "Ito", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinlan",
    "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmermann",
    "Baker", "Costa", "Diaz", "Evans", "Ferrari", "Gomez", "Horvat", "Ivanova", "Jones",
    "Klein", "Lindqvist", "Murphy", "Novak", "Oliveira", "Park", "Reyes", "Silva", "Torres",
)
QUEUE_NAMES = (
    "Sales", "Support", "Billing", "Technical", "Retention", "Priority Support", "Orders",
    "Returns", "Accounts", "Onboarding", "Claims", "Renewals", "Partners", "Escalations",
)
TEAM_NAMES = (
    "Falcons", "Otters", "Comets", "Pioneers", "Harbor", "Summit", "Aurora", "Beacon",
    "Cedar", "Delta", "Ember", "Fjord", "Granite", "Horizon", "Iris", "Juniper",
)
GROUP_NAMES = ("Tier 1", "Tier 2", "Specialists", "Night Shift", "Bilingual", "Escalation")
BUSINESS_UNIT_NAMES = ("Consumer", "Business", "Public Sector", "Wholesale")
DISPOSITIONS: dict[str, tuple[str, ...]] = {
    "Accounts": ("Password Change", "Address Update", "Close Account"),
    "Billing": ("Refund", "Payment Plan", "Invoice Question"),
    "Orders": ("New Order", "Order Status", "Cancellation"),
    "Technical": ("Resolved", "Escalated", "Field Visit Booked"),
    "General": ("Information Given", "Callback Promised", "Wrong Number"),
}
CALL_NOTES = (
    "Customer verified; issue resolved on first contact.",
    "Explained the charges line by line; customer satisfied.",
    "Escalated to tier 2 with full notes.",
    "Customer asked for a callback tomorrow morning.",
    "Reset credentials and confirmed login works.",
    "Shipped replacement; tracking number sent by email.",
)
IM_CUSTOMER_LINES = (
    "Hi, I need help with my account.", "I was charged twice this month.",
    "My order hasn't arrived yet.", "Can you check the status please?",
    "Thanks, that worked!", "Is there anything else I need to do?", "Okay, one moment.",
)
IM_AGENT_LINES = (
    "Hello! I'm happy to help.", "Let me look into that for you.",
    "Could you confirm your account number?", "I've updated that now.",
    "Is there anything else I can help with?", "Thanks for contacting us, have a great day!",
)


@dataclass
class BusinessUnit:
    id: int
    name: str
    team_ids: list[int] = field(default_factory=list)
    queue_ids: list[int] = field(default_factory=list)


@dataclass
class Group:
    id: int
    name: str
    team_ids: list[int] = field(default_factory=list)


@dataclass
class Team:
    id: int
    name: str
    business_unit_id: int
    group_ids: list[int] = field(default_factory=list)
    agent_ids: list[int] = field(default_factory=list)
    queue_ids: list[int] = field(default_factory=list)


@dataclass
class CallFlow:
    id: int
    name: str
    # (node name, note template, mean seconds, possible results)
    nodes: list[tuple[str, str, float, tuple[str, ...]]]


@dataclass
class Queue:
    id: int
    name: str
    business_unit_id: int
    team_ids: list[int]
    modalities: tuple[str, ...]
    sla_seconds: int
    patience_mean: float           # seconds a customer waits on average before hanging up
    handle_mean: dict[str, float]  # talk seconds by modality
    after_call_mean: float
    call_flow: CallFlow
    can_be_recorded: bool
    record_all: bool
    base_rate: dict[str, float]    # arrivals per second at profile 1.0, by modality
    is_open: bool = True
    waiting: dict[str, list[int]] = field(default_factory=dict)  # session ids, oldest first
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class StatusPeriod:
    status: str
    reason_code_id: int | None
    start: float
    end: float
    suspended: bool


@dataclass
class Stat:
    total: float = 0.0
    count: int = 0


@dataclass
class Agent:
    id: int
    first_name: str
    last_name: str
    login_name: str
    team_id: int
    role: str                     # agent | teamLead | supervisor
    modalities: tuple[str, ...]
    routable: bool = True
    can_silent_join: bool = False
    can_whisper_join: bool = False
    can_record: bool = False
    locale: str = "en-us"
    # Teams, groups and business units whose agents this person may see (beyond themselves).
    scope_team_ids: frozenset[int] = frozenset()
    scope_queue_ids: frozenset[int] = frozenset()
    sees_all: bool = False          # the centre-wide supervisor
    status: str = "loggedOut"
    reason_code_id: int | None = None
    status_start: float = 0.0
    suspended: bool = False
    manual_status: bool = False   # set through the API: the model won't move it on its own
    idle_since: float = 0.0
    next_break_at: float = 0.0
    lunch_taken: bool = False
    shift_end_at: float = 0.0
    login_start: float = 0.0
    status_history: list[StatusPeriod] = field(default_factory=list)
    session_ids: list[int] = field(default_factory=list)   # live sessions as primary agent
    offer_session_id: int | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    stats: dict[str, Stat] = field(default_factory=dict)
    breakdowns: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)
    timer: int = 0                # generation of the agent's own scheduled event

    @property
    def public_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@contoso-cc.example".lower()

    @property
    def sip_address(self) -> str:
        return f"sip:{self.first_name}.{self.last_name}@contoso-cc.example".lower()

    @property
    def phone(self) -> str:
        return f"+1555010{self.id:04d}"

    @property
    def logged_in(self) -> bool:
        return self.status not in ("loggedOut", "offWork")


@dataclass
class Customer:
    id: str
    name: str
    phone: str
    session_ids: list[int] = field(default_factory=list)


@dataclass
class Participation:
    agent_id: int
    type_id: int               # 1 Agent, 4 Consult, 5 TransferAgent, 7 WhisperJoin, 8 SilentJoin
    status: str                # Offering | Accepted | AfterCall | RONA | Ended
    allocated: float
    offered: float | None = None
    accepted: float | None = None
    after_call_start: float | None = None
    ended: float | None = None
    is_primary: bool = False
    initiating_agent_id: int | None = None
    queue_id: int | None = None
    talk_ms: float = 0.0


PARTICIPATION_TYPES = {
    1: "Agent", 4: "Consult", 5: "TransferAgent", 6: "Contact", 7: "WhisperJoin",
    8: "SilentJoin", 9: "Invite", 10: "BargeIn",
}


@dataclass
class Session:
    id: int
    modality: str
    queue_id: int
    first_queue_id: int
    customer_id: str
    call_flow_id: int
    start: float
    status: str = "New"
    agent_id: int | None = None            # responding (first answering) agent
    primary_agent_id: int | None = None    # current primary agent
    enqueued: float | None = None
    answered: float | None = None
    active_since: float | None = None
    ended: float | None = None
    queued_ms: float = 0.0                 # total time spent queued so far (all queues)
    hold_start: float | None = None
    hold_total: float = 0.0
    is_recording: bool = False
    recording_start: float | None = None
    can_be_recorded: bool = True
    silent_joined: bool = False
    whisper_joined: bool = False
    participations: list[Participation] = field(default_factory=list)
    ivr: list[dict[str, Any]] = field(default_factory=list)
    im_prompts: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[float, str, str]] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    extra_items: dict[str, tuple[int, str, bool]] = field(default_factory=dict)
    call_note: str | None = None
    disposition_id: int | None = None
    sub_disposition_id: int | None = None
    transfers: int = 0
    deadline_gen: int = 0                  # generation of the abandonment timer
    gruu: str = ""

    @property
    def has_ended(self) -> bool:
        return self.status in FINAL_SESSION_STATUSES


@dataclass
class Alert:
    id: int
    rule: str
    name: str
    severity: str
    entity_type: str
    entity_id: int
    entity_name: str
    metric: str
    modality: str | None
    value: float
    threshold: float
    raised: float
    message: str
    cleared: float | None = None

    @property
    def is_active(self) -> bool:
        return self.cleared is None


@dataclass(frozen=True)
class Disposition:
    id: int
    name: str
    business_unit_id: int
    subs: tuple[tuple[int, str], ...]


class ModelError(Exception):
    """A request the model refuses (the REST layer turns it into a 400)."""


class ContactCenter:
    """The whole simulated contact center. Not thread-safe: drive it from one event loop."""

    def __init__(self, *, seed: int = 7, agents: int = 60, queues: int = 8,
                 start: float = 0.0, load: float = 1.0, warmup: float = 900.0) -> None:
        if agents < 2:
            raise ValueError("the simulator needs at least 2 agents")
        if not 1 <= queues <= len(QUEUE_NAMES):
            raise ValueError(f"queues must be between 1 and {len(QUEUE_NAMES)}")
        self.seed = seed
        self.rng = random.Random(seed)
        # The clock starts `warmup` seconds early and runs up to `start` below.
        self.now = start - warmup
        self.load = load
        self.business_units: dict[int, BusinessUnit] = {}
        self.groups: dict[int, Group] = {}
        self.teams: dict[int, Team] = {}
        self.queues: dict[int, Queue] = {}
        self.agents: dict[int, Agent] = {}
        self.call_flows: dict[int, CallFlow] = {}
        self.customers: dict[str, Customer] = {}
        self.sessions: dict[int, Session] = {}
        self.dispositions: dict[int, Disposition] = {}
        self.alerts: dict[int, Alert] = {}
        self._active_alerts: dict[tuple[str, str, int, str | None], int] = {}
        self._session_ids = itertools.count(80_001)
        self._alert_ids = itertools.count(501)
        self._event_ids = itertools.count(186_001)
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._heap_seq = itertools.count()
        self._day = self._day_index(self.now)
        self._abandon_log: dict[int, list[float]] = {}
        # What changed since the last `take_changes()`: ("agent", id) / ("queue", id) keys,
        # and alert ids. The server turns these into subscription diffs.
        self.dirty: set[tuple[str, int]] = set()
        self.live_dirty: set[tuple[str, int]] = set()
        self.dirty_alerts: set[int] = set()
        self.finished_sessions: list[int] = []
        self.max_finished_sessions = 20_000
        self._build(agents, queues)
        self._start_traffic()
        # Warm up so that a fresh simulator already has people on calls and queues moving.
        if warmup > 0:
            self.advance(warmup)
        self.take_changes()

    # ----------------------------------------------------------------- building the centre
    def _build(self, n_agents: int, n_queues: int) -> None:
        rng = self.rng
        n_teams = max(2, min(len(TEAM_NAMES), round(n_agents / 10)))
        n_bus = 1 if n_teams < 4 else 2
        n_groups = min(3, n_teams)
        for b in range(n_bus):
            self.business_units[b + 1] = BusinessUnit(b + 1, BUSINESS_UNIT_NAMES[b])
        for g in range(n_groups):
            self.groups[g + 1] = Group(g + 1, GROUP_NAMES[g])
        for t in range(n_teams):
            bu = t % n_bus + 1
            groups = [t % n_groups + 1]
            if n_groups > 1 and t % 4 == 0:
                groups.append((t + 1) % n_groups + 1)
            team = Team(t + 1, f"Team {TEAM_NAMES[t]}", bu, groups)
            self.teams[team.id] = team
            self.business_units[bu].team_ids.append(team.id)
            for g in groups:
                self.groups[g].team_ids.append(team.id)

        for q in range(n_queues):
            bu = q % n_bus + 1
            bu_teams = self.business_units[bu].team_ids
            serving = sorted({bu_teams[q // n_bus % len(bu_teams)],
                              bu_teams[(q // n_bus + 1) % len(bu_teams)]})
            modalities = ["audio"]
            if q % 3 != 2:
                modalities.append("instantMessage")
            if q % 3 == 1 or q % 4 == 2:
                modalities.append("message")
            flow = CallFlow(q + 1, f"{QUEUE_NAMES[q]} Call Flow", [
                ("Welcome", "Played greeting for {queue}.", 3.0, ("",)),
                ("Language Menu", "Caller selected {result}.", 4.0, ("English", "Spanish")),
                ("Main Menu", "Caller pressed {result}.", 6.0, ("1", "2", "3")),
                ("Account Lookup", "Account {result}.", 4.0, ("found", "not found")),
                ("Route", "Set Queue to {queue}.", 1.0, ("",)),
            ])
            self.call_flows[flow.id] = flow
            queue = Queue(
                id=q + 1, name=QUEUE_NAMES[q], business_unit_id=bu, team_ids=serving,
                modalities=tuple(modalities), sla_seconds=rng.choice((20, 30, 30, 45)),
                patience_mean=rng.uniform(100, 220),
                handle_mean={"audio": rng.uniform(150, 260),
                             "instantMessage": rng.uniform(240, 420),
                             "message": rng.uniform(300, 600)},
                after_call_mean=rng.uniform(15, 40), call_flow=flow,
                can_be_recorded=QUEUE_NAMES[q] != "Billing",
                record_all=QUEUE_NAMES[q] in ("Retention", "Priority Support"),
                base_rate={},
            )
            queue.waiting = {m: [] for m in queue.modalities}
            self.queues[queue.id] = queue
            self.business_units[bu].queue_ids.append(queue.id)
            for t in serving:
                self.teams[t].queue_ids.append(queue.id)
        # Every team serves at least one queue of its business unit.
        for team in self.teams.values():
            if not team.queue_ids:
                bu_queues = self.business_units[team.business_unit_id].queue_ids
                if not bu_queues:
                    bu_queues = list(self.queues)
                queue = self.queues[bu_queues[team.id % len(bu_queues)]]
                queue.team_ids.append(team.id)
                team.queue_ids.append(queue.id)

        names = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
        rng.shuffle(names)
        for i in range(n_agents):
            team_id = i % n_teams + 1
            mods = ["audio"]
            if rng.random() < 0.75:
                mods.append("instantMessage")
            if rng.random() < 0.5:
                mods.append("message")
            first, last = names[i]
            agent = Agent(id=i + 1, first_name=first, last_name=last,
                          login_name=f"agent{i + 1}", team_id=team_id, role="agent",
                          modalities=tuple(mods))
            self._add_agent(agent)
        next_id = itertools.count(1001)
        for team in self.teams.values():
            first, last = names[n_agents + team.id]
            lead = Agent(id=next(next_id), first_name=first, last_name=last,
                         login_name=f"lead{team.id}", team_id=team.id, role="teamLead",
                         modalities=MODALITIES, routable=False, can_silent_join=True,
                         can_whisper_join=True, can_record=True,
                         scope_team_ids=frozenset({team.id}),
                         scope_queue_ids=frozenset(team.queue_ids))
            self._add_agent(lead)
        every_team = frozenset(self.teams)
        first, last = names[n_agents + n_teams + 1]
        self._add_agent(Agent(id=2001, first_name=first, last_name=last,
                              login_name="supervisor", team_id=-1, role="supervisor",
                              modalities=MODALITIES, routable=False, can_silent_join=True,
                              can_whisper_join=True, can_record=True,
                              scope_team_ids=every_team, scope_queue_ids=frozenset(self.queues),
                              sees_all=True))
        for unit in self.business_units.values():
            first, last = names[n_agents + n_teams + 1 + unit.id]
            self._add_agent(Agent(
                id=2001 + unit.id, first_name=first, last_name=last,
                login_name=f"supervisor{unit.id}", team_id=-1, role="supervisor",
                modalities=MODALITIES, routable=False, can_silent_join=True,
                can_whisper_join=True, can_record=True,
                scope_team_ids=frozenset(unit.team_ids),
                scope_queue_ids=frozenset(unit.queue_ids)))

        customer_names = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
        rng.shuffle(customer_names)
        for first, last in customer_names[:400]:
            name = f"{first} {last}"
            if rng.random() < 0.2:
                phone = f"sip:{first}.{last}@customer.example".lower()
            else:
                phone = f"+1{rng.randint(2012000000, 9899999999)}"
            self.customers[name] = Customer(name, name, phone)
        self._customer_list = list(self.customers.values())

        disp_ids = itertools.count(1)
        sub_ids = itertools.count(1)
        for unit in self.business_units.values():
            for name, subs in DISPOSITIONS.items():
                d = Disposition(next(disp_ids), name, unit.id,
                                tuple((next(sub_ids), sub) for sub in subs))
                self.dispositions[d.id] = d

        # Arrival rates: enough work to keep the routable agents about 80 % busy at the daily
        # peak, shared between queues by a random weight and between modalities by what each
        # queue offers.
        routable = sum(1 for a in self.agents.values() if a.routable)
        busy_at_peak = routable * 0.85 / max(DAY_PROFILE)
        share = {"audio": 0.6, "instantMessage": 0.25, "message": 0.15}
        weights = {q.id: rng.uniform(0.6, 1.4) for q in self.queues.values()}
        total_w = sum(weights.values())
        for queue in self.queues.values():
            offered = sum(share[m] for m in queue.modalities)
            for mod in queue.modalities:
                work = queue.handle_mean[mod] + queue.after_call_mean
                busy = busy_at_peak * weights[queue.id] / total_w * share[mod] / offered
                queue.base_rate[mod] = busy / work
        for queue in self.queues.values():
            queue.metrics = {m: {} for m in queue.modalities}

    def _add_agent(self, agent: Agent) -> None:
        self.agents[agent.id] = agent
        if agent.team_id in self.teams:
            self.teams[agent.team_id].agent_ids.append(agent.id)
        agent.metrics = {m: {} for m in MODALITIES}
        agent.stats = {m.name: Stat() for m in AGENT_AGNOSTIC_METRICS}

    def _start_traffic(self) -> None:
        rng = self.rng
        for agent in self.agents.values():
            agent.status_start = self.now - rng.uniform(0, 600)
            if not agent.routable:
                agent.status = "offPhoneActivity"
                continue
            if rng.random() < 0.08:
                agent.status = "loggedOut"
                self._agent_timer(agent, rng.uniform(120, 2400), self._login)
                continue
            agent.status = "available"
            agent.idle_since = agent.status_start
            agent.next_break_at = self.now + rng.uniform(600, 7200)
            agent.shift_end_at = self.now + rng.uniform(3 * 3600, 9 * 3600)
            agent.login_start = agent.status_start
        for queue in self.queues.values():
            for mod in queue.modalities:
                self._schedule_arrival(queue, mod)
        self._schedule(self.now + 1.0, self._tick)

    # ----------------------------------------------------------------- the event engine
    def _schedule(self, when: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (when, next(self._heap_seq), fn))

    def _agent_timer(self, agent: Agent, delay: float,
                     fn: Callable[[Agent], None]) -> None:
        """One pending timer per agent (break end, RONA end, login...); a new one replaces it."""
        agent.timer += 1
        gen = agent.timer

        def fire() -> None:
            if agent.timer == gen:
                fn(agent)

        self._schedule(self.now + delay, fire)

    def advance(self, seconds: float) -> None:
        """Run the simulation forward by `seconds` of simulated time."""
        if seconds < 0:
            raise ValueError("time only runs forward")
        target = self.now + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, fn = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            fn()
        self.now = target

    def take_changes(self) -> tuple[set[tuple[str, int]], set[int]]:
        """What changed since the last call (entities, alert ids), clock refreshes included."""
        dirty, alerts = self.dirty | self.live_dirty, self.dirty_alerts
        self.dirty, self.live_dirty, self.dirty_alerts = set(), set(), set()
        return dirty, alerts

    @staticmethod
    def _day_index(t: float) -> int:
        return int(t // DAY)

    def _tick(self) -> None:
        self._schedule(self.now + 1.0, self._tick)
        day = self._day_index(self.now)
        if day != self._day:
            self._day = day
            self._new_day()
        # Live metrics (the age of the oldest waiting contact) move with the clock; kept apart
        # from real changes so that "what changed" stays meaningful.
        for queue in self.queues.values():
            if any(queue.waiting.values()):
                self.live_dirty.add(("queue", queue.id))
        if int(self.now) % 5 == 0:
            self._evaluate_alerts()
        for agent in self.agents.values():
            if (agent.routable and not agent.manual_status and agent.status == "available"
                    and not agent.session_ids and agent.offer_session_id is None):
                self._maybe_leave(agent)

    def _new_day(self) -> None:
        for agent in self.agents.values():
            agent.metrics = {m: {} for m in MODALITIES}
            agent.stats = {m.name: Stat() for m in AGENT_AGNOSTIC_METRICS}
            agent.breakdowns = {}
            agent.lunch_taken = False
            self.dirty.add(("agent", agent.id))
        for queue in self.queues.values():
            queue.metrics = {m: {} for m in queue.modalities}
            self.dirty.add(("queue", queue.id))
        self._abandon_log.clear()

    # ----------------------------------------------------------------- metrics bookkeeping
    def _count(self, bag: dict[str, dict[str, float]], modality: str, name: str,
               value: float = 1.0) -> None:
        metrics = bag.setdefault(modality, {})
        metrics[name] = metrics.get(name, 0) + value

    def _max(self, bag: dict[str, dict[str, float]], modality: str, name: str,
             value: float) -> None:
        metrics = bag.setdefault(modality, {})
        metrics[name] = max(metrics.get(name, 0), value)

    def _agent_count(self, agent: Agent, queue_id: int | None, modality: str, name: str,
                     value: float = 1.0) -> None:
        self._count(agent.metrics, modality, name, value)
        if queue_id is not None and queue_id in self.queues:
            self._count(agent.breakdowns.setdefault(queue_id, {}), modality, name, value)
        self.dirty.add(("agent", agent.id))

    def _queue_count(self, queue_id: int, modality: str, name: str, value: float = 1.0) -> None:
        queue = self.queues[queue_id]
        self._count(queue.metrics, modality, name, value)
        self.dirty.add(("queue", queue_id))

    # ----------------------------------------------------------------- agent states
    def _set_status(self, agent: Agent, status: str, reason_code_id: int | None = None) -> None:
        if status == agent.status and reason_code_id == agent.reason_code_id:
            return
        now = self.now
        elapsed = max(0.0, now - agent.status_start)
        agent.status_history.append(StatusPeriod(agent.status, agent.reason_code_id,
                                                 agent.status_start, now, agent.suspended))
        cutoff = now - DAY
        while agent.status_history and agent.status_history[0].end < cutoff:
            agent.status_history.pop(0)
        stat = {
            "available": "availableTime", "unavailable": "awayTime", "beRightBack": "awayTime",
            "atLunch": "awayTime", "offPhoneActivity": "awayTime", "afterCall": "afterCallTime",
            "inCall": "inCallTime", "inImCall": "inCallTime", "busy": "inCallTime",
            "ringing": "ringingTime", "ringOnNoAnswer": "ringingTime",
            "directInboundDial": "directInboundTime", "directCall": "directInboundTime",
            "directOutboundDial": "directOutboundTime",
        }.get(agent.status)
        # A period that began yesterday only counts from midnight.
        counted = min(elapsed, now - self._day * DAY)
        if stat:
            agent.stats[stat].total += counted * 1000
            agent.stats[stat].count += 1
        was_logged_in = agent.logged_in
        agent.status = status
        agent.reason_code_id = reason_code_id if status == "unavailable" else None
        agent.status_start = now
        if was_logged_in and not agent.logged_in:
            logged_in = min(now - agent.login_start, now - self._day * DAY)
            agent.stats["loggedInTime"].total += logged_in * 1000
            agent.stats["loggedInTime"].count += 1
        elif not was_logged_in and agent.logged_in:
            agent.login_start = now
        if status == "available":
            agent.idle_since = now
        self.dirty.add(("agent", agent.id))
        team = self.teams.get(agent.team_id)
        if team:
            for qid in team.queue_ids:
                self.dirty.add(("queue", qid))

    def _system_status(self, agent: Agent, status: str) -> None:
        """A status change caused by a session; a status chosen through the API wins."""
        if not agent.manual_status:
            self._set_status(agent, status)

    def _become_idle(self, agent: Agent) -> None:
        if agent.manual_status:
            self._dispatch()
            return
        self._set_status(agent, "available")
        if not self._maybe_leave(agent):
            self._dispatch()

    def _maybe_leave(self, agent: Agent) -> bool:
        """Breaks, lunch and the end of a shift start when an agent is idle."""
        rng = self.rng
        if self.now >= agent.shift_end_at:
            self._set_status(agent, "loggedOut")
            self._agent_timer(agent, rng.uniform(1800, 9000), self._login)
            return True
        if self.now < agent.next_break_at:
            return False
        if not agent.lunch_taken and rng.random() < 0.35:
            reason, duration = 2, rng.uniform(1800, 2700)
            agent.lunch_taken = True
        else:
            reason, low, high = rng.choices(
                [(1, 600, 900), (3, 1200, 2400), (4, 1800, 3600), (5, 900, 1500),
                 (6, 300, 600), (7, 180, 480)],
                weights=[60, 10, 8, 8, 10, 4])[0]
            duration = rng.uniform(low, high)
        self._set_status(agent, "unavailable", reason)
        agent.next_break_at = self.now + duration + rng.uniform(5400, 9000)
        self._agent_timer(agent, duration, self._back_from_away)
        return True

    def _back_from_away(self, agent: Agent) -> None:
        if agent.manual_status:
            return
        self._set_status(agent, "available")
        self._dispatch()

    def _login(self, agent: Agent) -> None:
        if agent.manual_status:
            return
        agent.shift_end_at = self.now + self.rng.uniform(4 * 3600, 9 * 3600)
        agent.next_break_at = self.now + self.rng.uniform(1800, 5400)
        agent.lunch_taken = False
        self._set_status(agent, "available")
        self._dispatch()

    # ----------------------------------------------------------------- traffic
    def _arrival_rate(self, queue: Queue, modality: str, when: float) -> float:
        hour = int((when % DAY) // 3600)
        return queue.base_rate[modality] * DAY_PROFILE[hour] * self.load

    def _schedule_arrival(self, queue: Queue, modality: str) -> None:
        rate = self._arrival_rate(queue, modality, self.now)
        if rate <= 0:
            self._schedule(self.now + 60, lambda: self._schedule_arrival(queue, modality))
            return
        gap = self.rng.expovariate(rate)

        def arrive() -> None:
            self._arrive(queue, modality)
            self._schedule_arrival(queue, modality)

        self._schedule(self.now + gap, arrive)

    def _event(self, session: Session, text: str, by: str = "APP-01") -> None:
        session.events.append((self.now, text, by))

    def _extra_item_id(self) -> int:
        return next(self._event_ids)

    def _arrive(self, queue: Queue, modality: str) -> None:
        rng = self.rng
        customer = self._customer_list[int(rng.paretovariate(1.1) * 7) % len(self._customer_list)]
        session = Session(id=next(self._session_ids), modality=modality, queue_id=queue.id,
                          first_queue_id=queue.id, customer_id=customer.id,
                          call_flow_id=queue.call_flow.id, start=self.now,
                          can_be_recorded=queue.can_be_recorded)
        session.gruu = (f"sip:app-0{session.id % 3 + 1}.contoso-cc.example@contoso-cc.example;"
                        f"gruu;opaque=srvr:connect:{session.id:x}")
        self.sessions[session.id] = session
        customer.session_ids.append(session.id)
        self._event(session, "Session created.")
        self._event(session, "Session status changed to New.")
        session.extra_items = {
            "CallerPhoneNumber": (self._extra_item_id(), customer.phone, False),
            "IsCallAfterHours": (self._extra_item_id(), "False", False),
            "Priority": (self._extra_item_id(), rng.choice(("Normal", "Normal", "High")), True),
        }
        if modality == "message":
            self._enqueue(session, queue)
            return
        if modality == "instantMessage":
            session.im_prompts = [
                ("CustomerName", f"Welcome {customer.name} to the Contact Center!"),
                ("Topic", rng.choice(("Billing", "Orders", "Technical", "Account"))),
            ]
            self._event(session, "Session entered attendant (IM bot).")
            self._schedule(self.now + rng.uniform(2, 6), lambda: self._enqueue(session, queue))
            return
        self._event(session, "Session entered attendant (IVR).")
        flow = queue.call_flow
        t = 0.0
        nodes = []
        for name, note, mean, results in flow.nodes:
            result = rng.choice(results)
            duration = mean * rng.uniform(0.5, 1.5)
            nodes.append({"id": self._extra_item_id(), "nodeName": name,
                          "nodeNote": note.format(queue=queue.name, result=result),
                          "selectedResult": result or None,
                          "duration": int(duration * 1000)})
            t += duration
        session.ivr = [{"id": session.id + 1_000_000, "callFlowName": flow.name,
                        "nodes": nodes}]
        self._schedule(self.now + t, lambda: self._enqueue(session, queue))

    def _enqueue(self, session: Session, queue: Queue, *, transfer: bool = False) -> None:
        if session.has_ended:
            return
        session.queue_id = queue.id
        session.status = "ReEnqueued" if transfer else "Queued"
        session.enqueued = self.now
        queue.waiting[session.modality].append(session.id)
        self._queue_count(queue.id, session.modality, "enteredCount")
        self._event(session, f"Session has been assigned to queue: {queue.name}")
        self._event(session, f"Session status changed to {session.status}.")
        if session.modality != "message":
            session.deadline_gen += 1
            gen = session.deadline_gen
            patience = self.rng.expovariate(1.0 / queue.patience_mean)
            self._schedule(self.now + patience, lambda: self._abandon(session, gen))
        if not self._dispatch(only=session):
            self._event(session, "No agents immediately available, queueing.", "APP-02")

    def _eligible(self, agent: Agent, queue: Queue, modality: str) -> bool:
        return (agent.routable and agent.status == "available" and not agent.suspended
                and not agent.session_ids and agent.offer_session_id is None
                and modality in agent.modalities and agent.team_id in queue.team_ids)

    def _dispatch(self, only: Session | None = None) -> bool:
        """Offer waiting contacts, oldest first, to the longest-idle eligible agents."""
        offered = False
        if only is not None:
            candidates = [only]
        else:
            candidates = [self.sessions[sid] for q in self.queues.values()
                          for ids in q.waiting.values() for sid in ids]
            candidates.sort(key=lambda s: s.enqueued or 0)
        for session in candidates:
            if session.status not in ("Queued", "ReEnqueued"):
                continue
            queue = self.queues[session.queue_id]
            agents = [a for tid in queue.team_ids for a in
                      (self.agents[i] for i in self.teams[tid].agent_ids)
                      if self._eligible(a, queue, session.modality)]
            if not agents:
                continue
            agent = min(agents, key=lambda a: (a.idle_since, a.id))
            self._offer(session, agent)
            offered = True
        return offered

    def _offer(self, session: Session, agent: Agent) -> None:
        rng = self.rng
        session.status = "NotifyingAgent"
        transfer = session.transfers > 0
        part = Participation(agent.id, 5 if transfer else 1, "Offering", self.now,
                             offered=self.now,
                             initiating_agent_id=session.primary_agent_id if transfer else None)
        session.participations.append(part)
        agent.offer_session_id = session.id
        self._set_status(agent, "ringing")
        self._agent_count(agent, session.queue_id, session.modality, "offeredCount")
        self.dirty.add(("queue", session.queue_id))
        self._event(session, f"Session offered to agent {agent.public_name}.")
        gen = session.deadline_gen
        if rng.random() < 0.93:
            self._schedule(self.now + rng.uniform(2, 8),
                           lambda: self._answer(session, agent, part, gen))
        else:
            self._schedule(self.now + OFFER_TIMEOUT,
                           lambda: self._rona(session, agent, part, gen))

    def _offer_is_current(self, session: Session, agent: Agent, part: Participation,
                          gen: int) -> bool:
        return (part.status == "Offering" and session.deadline_gen == gen
                and agent.offer_session_id == session.id and not session.has_ended)

    def _cancel_offer(self, session: Session, agent: Agent, part: Participation) -> None:
        part.status = "Ended"
        part.ended = self.now
        agent.offer_session_id = None
        if agent.status == "ringing":
            self._become_idle(agent)

    def _rona(self, session: Session, agent: Agent, part: Participation, gen: int) -> None:
        if not self._offer_is_current(session, agent, part, gen):
            return
        part.status = "RONA"
        part.ended = self.now
        agent.offer_session_id = None
        session.status = "ReEnqueued" if session.transfers else "Queued"
        self._agent_count(agent, session.queue_id, session.modality, "ronaCount")
        self._queue_count(session.queue_id, session.modality, "ronaCount")
        self._event(session, f"Agent {agent.public_name} did not answer (RONA).")
        if not agent.manual_status:
            self._set_status(agent, "ringOnNoAnswer")
            self._agent_timer(agent, self.rng.uniform(*RONA_PENALTY), self._become_idle)
        self._dispatch()

    def _answer(self, session: Session, agent: Agent, part: Participation, gen: int) -> None:
        if not self._offer_is_current(session, agent, part, gen):
            return
        rng = self.rng
        queue = self.queues[session.queue_id]
        now = self.now
        queue.waiting[session.modality].remove(session.id)
        session.deadline_gen += 1     # the customer no longer abandons
        wait = now - (session.enqueued or now)
        session.queued_ms += wait * 1000
        session.status = "Active"
        if session.answered is None:
            session.answered = now
            session.agent_id = agent.id
        session.active_since = now
        session.primary_agent_id = agent.id
        for other in session.participations:
            if other.is_primary and other is not part:
                other.is_primary = False
        part.status = "Accepted"
        part.accepted = now
        part.is_primary = True
        part.queue_id = queue.id
        agent.offer_session_id = None
        agent.session_ids.append(session.id)
        self._system_status(agent, SESSION_STATUS_FOR_MODALITY[session.modality])
        mod = session.modality
        self._agent_count(agent, queue.id, mod, "answeredCount")
        self._agent_count(agent, queue.id, mod, "takenCount")
        self._queue_count(queue.id, mod, "answeredCount")
        within = wait <= queue.sla_seconds
        self._queue_count(queue.id, mod, "answeredBeforeSLACount" if within
                          else "answeredAfterSLACount")
        self._queue_count(queue.id, mod, "totalWaitTime", wait * 1000)
        self._max(queue.metrics, mod, "longestWaitTime", wait * 1000)
        self._event(session, f"Agent {agent.public_name} accepted the session.")
        self._event(session, "Session status changed to Active.")
        if session.can_be_recorded and queue.record_all and not session.is_recording:
            self._start_recording(session)
        if mod == "audio" and rng.random() < 0.03:
            self._schedule(now + rng.uniform(10, 60), lambda: self._supervisor_join(session))
        talk = rng.lognormvariate(math.log(queue.handle_mean[mod]) - 0.18, 0.6)
        talk = min(talk, queue.handle_mean[mod] * 6)
        hold = 0.0
        if mod == "audio" and rng.random() < 0.25:
            hold = rng.uniform(10, 60)
            hold_at = now + talk * rng.uniform(0.3, 0.6)
            self._schedule(hold_at, lambda: self._hold(session, agent, True))
            self._schedule(hold_at + hold, lambda: self._hold(session, agent, False))
        if mod == "instantMessage":
            self._im_exchange(session, agent, now + talk + hold)
        self._schedule(now + talk + hold, lambda: self._end_talk(session, agent, part))

    def _supervisor_join(self, session: Session) -> None:
        if session.status != "Active" or session.silent_joined or session.whisper_joined:
            return
        primary = self.agents.get(session.primary_agent_id or -1)
        team = self.teams.get(primary.team_id) if primary else None
        leads = [a for a in self.agents.values()
                 if a.role == "teamLead" and team and a.team_id == team.id]
        if not leads:
            return
        whisper = self.rng.random() < 0.3
        session.participations.append(Participation(
            leads[0].id, 7 if whisper else 8, "Accepted", self.now, offered=self.now,
            accepted=self.now))
        if whisper:
            session.whisper_joined = True
        else:
            session.silent_joined = True
        self._event(session, f"{leads[0].public_name} joined ("
                             f"{'whisper' if whisper else 'silent'}).")
        self._touch_session(session)

    def _end_joins(self, session: Session) -> None:
        """Supervisors who joined leave when the session leaves its agent."""
        for part in session.participations:
            if part.type_id in (7, 8) and part.status == "Accepted":
                part.status = "Ended"
                part.ended = self.now
        session.silent_joined = session.whisper_joined = False

    def _touch_session(self, session: Session) -> None:
        """A session's visible fields changed: its agent and queue must be re-rendered."""
        if session.primary_agent_id is not None:
            self.dirty.add(("agent", session.primary_agent_id))
        self.dirty.add(("queue", session.queue_id))

    def _hold(self, session: Session, agent: Agent, start: bool) -> None:
        if session.status != "Active" or session.primary_agent_id != agent.id:
            return
        if start and session.hold_start is None:
            session.hold_start = self.now
            self._agent_count(agent, session.queue_id, session.modality, "heldCount")
            self._event(session, "Session placed on hold.")
        elif not start and session.hold_start is not None:
            held = self.now - session.hold_start
            session.hold_total += held
            session.hold_start = None
            self._agent_count(agent, None, session.modality, "totalHoldTime", held * 1000)
            self._max(agent.metrics, session.modality, "longestHoldTime", held * 1000)
            self._event(session, "Session resumed from hold.")
        self._touch_session(session)

    def _im_exchange(self, session: Session, agent: Agent, until: float) -> None:
        customer = self.customers[session.customer_id]
        t = self.now
        from_agent = True
        while True:
            t += self.rng.uniform(3, 12)
            if t >= until:
                break
            line = self.rng.choice(IM_AGENT_LINES if from_agent else IM_CUSTOMER_LINES)
            sender, receiver = ((agent.public_name, customer.name) if from_agent
                                else (customer.name, agent.public_name))

            def post(sender: str = sender, receiver: str = receiver, line: str = line,
                     from_agent: bool = from_agent) -> None:
                if session.has_ended:
                    return
                session.transcript.append({
                    "id": self._extra_item_id(), "time": self.now, "to": receiver,
                    "from": sender, "message": line, "fromAgent": from_agent})
                self._touch_session(session)

            self._schedule(t, post)
            from_agent = not from_agent

    def _end_talk(self, session: Session, agent: Agent, part: Participation) -> None:
        if part.status != "Accepted" or session.has_ended:
            return
        rng = self.rng
        if session.hold_start is not None:
            self._hold(session, agent, False)
        queue = self.queues[session.queue_id]
        part.status = "AfterCall"
        part.after_call_start = self.now
        talk_ms = (self.now - (part.accepted or self.now) - session.hold_total) * 1000
        part.talk_ms = max(0.0, talk_ms)
        session.hold_total = 0.0
        others = [q for q in self.queues.values() if q.id != queue.id
                  and q.business_unit_id == queue.business_unit_id
                  and session.modality in q.modalities]
        if (session.modality == "audio" and session.transfers < 2 and others
                and rng.random() < 0.06):
            target = rng.choice(others)
            session.transfers += 1
            part.is_primary = False
            self._agent_count(agent, queue.id, session.modality, "transferredCount")
            self._queue_count(queue.id, session.modality, "transferredCount")
            self._event(session, f"Session transferred to queue: {target.name}")
            self._end_joins(session)
            self._stop_recording(session)
            agent.session_ids.remove(session.id)
            self._finish_part(session, agent, part, queue, acw=False)
            self._enqueue(session, target, transfer=True)
            return
        session.status = "AfterCall"
        self._event(session, "Customer hung up." if rng.random() < 0.6
                    else "Agent ended the session.")
        self._event(session, "Session status changed to AfterCall.")
        self._stop_recording(session)
        self._system_status(agent, "afterCall")
        self._touch_session(session)
        acw = rng.lognormvariate(math.log(queue.after_call_mean) - 0.1, 0.45)
        self._schedule(self.now + acw, lambda: self._end_after_call(session, agent, part))

    def _finish_part(self, session: Session, agent: Agent, part: Participation, queue: Queue,
                     *, acw: bool) -> None:
        """Book an agent's finished part of a session into the agent's and queue's metrics."""
        now = self.now
        mod = session.modality
        talk_ms = part.talk_ms
        acw_ms = (now - (part.after_call_start or now)) * 1000 if acw else 0.0
        handle_ms = (now - (part.accepted or now)) * 1000
        part.status = "Ended"
        part.ended = now
        self._agent_count(agent, queue.id, mod, "completedCount")
        self._agent_count(agent, queue.id, mod, "totalHandleTime", handle_ms)
        self._max(agent.metrics, mod, "longestHandleTime", handle_ms)
        self._agent_count(agent, None, mod, "totalTalkTime", talk_ms)
        self._max(agent.metrics, mod, "longestTalkTime", talk_ms)
        if acw:
            self._agent_count(agent, None, mod, "totalAfterCallTime", acw_ms)
            self._max(agent.metrics, mod, "longestAfterCallTime", acw_ms)
        if mod == "message":
            self._agent_count(agent, None, mod, "closedTodayMessageCount")
        self._queue_count(queue.id, mod, "completedCount")
        self._queue_count(queue.id, mod, "totalHandleTime", handle_ms)
        if acw:
            agent.session_ids.remove(session.id)
        self._become_idle_later(agent)

    def _become_idle_later(self, agent: Agent) -> None:
        # After a transfer the agent wraps up briefly before taking the next contact.
        if agent.session_ids:
            return
        if agent.status in ("afterCall", "inCall", "inImCall", "busy") or agent.manual_status:
            self._become_idle(agent)

    def _end_after_call(self, session: Session, agent: Agent, part: Participation) -> None:
        if part.status != "AfterCall":
            return
        rng = self.rng
        queue = self.queues[session.queue_id]
        if session.disposition_id is None and rng.random() < 0.85:
            options = [d for d in self.dispositions.values()
                       if d.business_unit_id == queue.business_unit_id]
            disposition = rng.choice(options)
            session.disposition_id = disposition.id
            session.sub_disposition_id = rng.choice(disposition.subs)[0]
        if session.call_note is None and rng.random() < 0.5:
            session.call_note = rng.choice(CALL_NOTES)
        session.status = "Completed"
        session.ended = self.now
        self._event(session, "Session status changed to Completed.")
        self._event(session, "Session terminating.")
        self._end_joins(session)
        self._finish_part(session, agent, part, queue, acw=True)
        self._session_finished(session)

    def _abandon(self, session: Session, gen: int) -> None:
        if session.deadline_gen != gen or session.status not in WAITING_SESSION_STATUSES:
            return
        queue = self.queues[session.queue_id]
        for part in session.participations:
            if part.status == "Offering":
                agent = self.agents[part.agent_id]
                self._cancel_offer(session, agent, part)
        queue.waiting[session.modality].remove(session.id)
        self._end_joins(session)
        wait = self.now - (session.enqueued or self.now)
        session.queued_ms += wait * 1000
        session.status = "Abandoned"
        session.ended = self.now
        mod = session.modality
        self._queue_count(queue.id, mod, "abandonedCount")
        self._queue_count(queue.id, mod, "abandonedBeforeSLACount"
                          if wait <= queue.sla_seconds else "abandonedAfterSLACount")
        self._queue_count(queue.id, mod, "totalAbandonTime", wait * 1000)
        self._max(queue.metrics, mod, "longestWaitTime", wait * 1000)
        self._abandon_log.setdefault(queue.id, []).append(self.now)
        self._event(session, "Customer hung up.")
        self._event(session, "Session status changed to Abandoned.")
        self._event(session, "Session terminating.")
        self._session_finished(session)

    def _session_finished(self, session: Session) -> None:
        self._touch_session(session)
        self.finished_sessions.append(session.id)
        while len(self.finished_sessions) > self.max_finished_sessions:
            old = self.sessions.pop(self.finished_sessions.pop(0), None)
            if old is not None:
                customer = self.customers[old.customer_id]
                if old.id in customer.session_ids:
                    customer.session_ids.remove(old.id)

    def _start_recording(self, session: Session) -> None:
        session.is_recording = True
        session.recording_start = self.now
        self._event(session, "Recording started.")
        self._touch_session(session)

    def _stop_recording(self, session: Session) -> None:
        if session.is_recording:
            session.is_recording = False
            session.recording_start = None
            self._event(session, "Recording stopped.")
            self._touch_session(session)

    # ----------------------------------------------------------------- alerts
    def _raise_or_clear(self, rule: str, entity_type: str, entity_id: int,
                        modality: str | None, active: bool, *, name: str, severity: str,
                        metric: str, value: float, threshold: float, message: str) -> None:
        key = (rule, entity_type, entity_id, modality)
        current = self._active_alerts.get(key)
        if active and current is None:
            entity = (self.queues[entity_id] if entity_type == "queue"
                      else self.agents[entity_id])
            alert = Alert(next(self._alert_ids), rule, name, severity, entity_type, entity_id,
                          entity.name if isinstance(entity, Queue) else entity.public_name,
                          metric, modality, value, threshold, self.now, message)
            self.alerts[alert.id] = alert
            self._active_alerts[key] = alert.id
            self.dirty_alerts.add(alert.id)
        elif not active and current is not None:
            alert = self.alerts[current]
            alert.cleared = self.now
            alert.value = value
            del self._active_alerts[key]
            self.dirty_alerts.add(alert.id)
        # Keep the cleared history bounded: a wallboard left on for weeks must not grow it.
        if len(self.alerts) > 500:
            for aid in sorted(self.alerts)[: len(self.alerts) - 500]:
                if not self.alerts[aid].is_active:
                    del self.alerts[aid]

    def _evaluate_alerts(self) -> None:
        now = self.now
        for queue in self.queues.values():
            for mod, ids in queue.waiting.items():
                oldest = (now - (self.sessions[ids[0]].enqueued or now)) * 1000 if ids else 0.0
                for rule, limit, severity in (("wait-warning", 60_000, "warning"),
                                              ("wait-critical", 120_000, "critical")):
                    self._raise_or_clear(
                        rule, "queue", queue.id, mod, oldest > limit,
                        name=f"Longest wait over {limit // 1000} s", severity=severity,
                        metric="longestQueuedTime", value=round(oldest), threshold=limit,
                        message=f"{queue.name}: a {mod} contact has waited "
                                f"{oldest / 1000:.0f} s (limit {limit // 1000} s).")
            log = self._abandon_log.get(queue.id, [])
            while log and log[0] < now - 300:
                log.pop(0)
            key = ("abandon-burst", "queue", queue.id, None)
            active = len(log) >= 3 or (key in self._active_alerts and len(log) >= 2)
            self._raise_or_clear(
                "abandon-burst", "queue", queue.id, None, active,
                name="Abandonment burst", severity="critical", metric="abandonedCount",
                value=len(log), threshold=3,
                message=f"{queue.name}: {len(log)} contacts abandoned in the last 5 minutes.")
        for agent in self.agents.values():
            away = (now - agent.status_start) * 1000 if agent.status == "unavailable" else 0.0
            self._raise_or_clear(
                "away-long", "agent", agent.id, None, away > 20 * 60_000,
                name="Away over 20 min", severity="warning", metric="awayTime",
                value=round(away), threshold=20 * 60_000,
                message=f"{agent.public_name} has been away for {away / 60_000:.0f} min.")

    # ----------------------------------------------------------------- authorization (MBU)
    def visible_agent_ids(self, viewer: Agent) -> set[int]:
        if viewer.sees_all:
            return set(self.agents)
        ids = {viewer.id}
        for tid in viewer.scope_team_ids:
            ids.update(self.teams[tid].agent_ids)
        return ids

    def visible_queue_ids(self, viewer: Agent) -> set[int]:
        return set(viewer.scope_queue_ids)

    def can_see_session(self, viewer: Agent, session: Session) -> bool:
        agents = self.visible_agent_ids(viewer)
        return (session.primary_agent_id in agents or session.agent_id in agents
                or session.queue_id in viewer.scope_queue_ids
                or any(p.agent_id in agents and p.accepted is not None
                       for p in session.participations))

    # ----------------------------------------------------------------- actions (the API)
    def agent_by_login(self, login: str) -> Agent | None:
        """The seed's matching rule: the full login, or the part after `domain\\`."""
        wanted = login.lower()
        for agent in self.agents.values():
            name = agent.login_name.lower()
            if wanted in (name, name.split("\\")[-1]) or wanted.split("\\")[-1] == name:
                return agent
        return None

    def update_status(self, agent_id: int, status_id: int | None, reason_code_id: int | None,
                      suspended: bool | None) -> None:
        agent = self.agents[agent_id]
        if status_id is None and reason_code_id is not None:
            status_id = STATUS_IDS["unavailable"]
        if status_id is not None:
            if status_id not in SETTABLE_STATUS_IDS:
                raise ModelError(f"agentStatusId {status_id} cannot be set")
            if reason_code_id is not None and status_id != STATUS_IDS["unavailable"]:
                raise ModelError("reasonCodeId is only valid with agentStatusId 3 (Unavailable)")
            if reason_code_id is not None and reason_code_id not in REASON_CODES:
                raise ModelError(f"unknown reasonCodeId {reason_code_id}")
            status = STATUS_NAMES[status_id]
            agent.timer += 1            # cancels a pending break end, login or RONA penalty
            if agent.offer_session_id is not None and status != "available":
                session = self.sessions[agent.offer_session_id]
                for part in session.participations:
                    if part.status == "Offering" and part.agent_id == agent.id:
                        part.status = "Ended"
                        part.ended = self.now
                session.status = "ReEnqueued" if session.transfers else "Queued"
                agent.offer_session_id = None
            if status == "available" and not agent.routable:
                agent.manual_status = True
            else:
                agent.manual_status = status != "available"
            if status == "available" and agent.session_ids:
                # Back to the system's idea of the state: the session decides.
                session = self.sessions[agent.session_ids[0]]
                status = ("afterCall" if session.status == "AfterCall"
                          else SESSION_STATUS_FOR_MODALITY[session.modality])
            if status in ("loggedOut", "offWork") and agent.logged_in:
                agent.shift_end_at = self.now
            elif not agent.logged_in and status not in ("loggedOut", "offWork"):
                agent.shift_end_at = self.now + 8 * 3600
            self._set_status(agent, status, reason_code_id)
            self._dispatch()
        elif suspended is not None:
            if agent.suspended != suspended:
                agent.suspended = suspended
                self.dirty.add(("agent", agent.id))
                team = self.teams.get(agent.team_id)
                for qid in team.queue_ids if team else ():
                    self.dirty.add(("queue", qid))
                if not suspended:
                    self._dispatch()
        else:
            raise ModelError("the body names neither agentStatusId nor isSuspended")

    def recording(self, requester: Agent, agent_id: int, start: bool) -> list[dict[str, Any]]:
        """Start or stop recording every live session the agent takes part in."""
        results = []
        visible = self.visible_agent_ids(requester)
        for session in list(self.sessions.values()):
            if session.has_ended or session.status not in ("Active", "AfterCall"):
                continue
            if not any(p.agent_id == agent_id and p.status in ("Accepted", "AfterCall")
                       for p in session.participations):
                continue
            denied = session.primary_agent_id not in visible or not requester.can_record
            failed = False
            if not denied and session.can_be_recorded:
                # The portal sometimes refuses; the seed reports that per session.
                failed = self.rng.random() < 0.02
                if not failed:
                    if start and not session.is_recording:
                        self._start_recording(session)
                    elif not start:
                        self._stop_recording(session)
            results.append({"sessionId": session.id, "isRecording": session.is_recording,
                            "canBeRecorded": session.can_be_recorded,
                            "requestDenied": denied, "requestFailed": failed})
        return results

    def set_call_note(self, session: Session, note: str) -> None:
        session.call_note = note
        self._event(session, "Call notes saved.", "API")
        self._touch_session(session)

    def set_disposition(self, session: Session, disposition_id: int,
                        sub_disposition_id: int | None) -> None:
        disposition = self.dispositions.get(disposition_id)
        if disposition is None:
            raise ModelError(f"unknown dispositionId {disposition_id}")
        if sub_disposition_id is not None and sub_disposition_id not in dict(disposition.subs):
            raise ModelError(f"subDispositionId {sub_disposition_id} does not belong to "
                             f"dispositionId {disposition_id}")
        session.disposition_id = disposition_id
        session.sub_disposition_id = sub_disposition_id
        self._event(session, "Disposition saved.", "API")
        self._touch_session(session)

    def set_extra_item(self, session: Session, item_id: int | None, name: str | None,
                       value: str) -> None:
        if name is None:
            for key, (iid, _, _searchable) in session.extra_items.items():
                if iid == item_id:
                    name = key
                    break
            else:
                raise ModelError(f"unknown extraItemId {item_id}")
        old = session.extra_items.get(name)
        session.extra_items[name] = (old[0] if old else self._extra_item_id(), value,
                                     old[2] if old else False)
        self._touch_session(session)

    def end_sessions(self, session_ids: list[int]) -> None:
        """Unregister: end the live sessions named (the agent's client went away)."""
        for sid in session_ids:
            session = self.sessions.get(sid)
            if session is None or session.has_ended:
                continue
            for part in session.participations:
                if part.status == "Accepted" and part.is_primary:
                    self._end_talk(session, self.agents[part.agent_id], part)

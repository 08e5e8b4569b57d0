"""The simulator's metric catalogue: every metric it serves, where, and how it is computed.

The names follow the vendor document (ronaCount, answeredCount, takenCount, ...); where the
document only hints at a metric ("longest wait", "service level") the name is ours and is listed
in docs/clarity-simulator-metrics.md. The localization dictionary and the aggregation rules are both
derived from this table, so a metric cannot exist in one place and be missing in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Entity = Literal["agent", "queue"]
# How a metric combines over several entities (aggregateBy / groupBy):
#   sum   - added up;  max - the largest;  ratio - recomputed from two summed metrics;
#   stat  - a {total, average, count} object: totals and counts added, average recomputed;
#   earliest - the earliest of several timestamps (null ones ignored).
Aggregation = Literal["sum", "max", "ratio", "stat", "earliest"]

MODALITIES: tuple[str, ...] = ("audio", "instantMessage", "message")
AGNOSTIC = "agnostic"


@dataclass(frozen=True)
class Metric:
    name: str
    entity: Entity
    label: str
    description: str
    computed: str
    aggregation: Aggregation = "sum"
    # For ratio metrics: numerator and denominator metric names and a scale factor.
    ratio: tuple[str, str, float] | None = None
    agnostic: bool = False
    # Live metrics depend on the clock (the age of the oldest waiting contact); they are
    # refreshed once per simulated second instead of on every change.
    live: bool = False
    unit: Literal["count", "ms", "s", "percent", "timestamp"] = "count"


def _m(*args: object, **kwargs: object) -> Metric:
    return Metric(*args, **kwargs)  # type: ignore[arg-type]


AGENT_METRICS: tuple[Metric, ...] = (
    _m("offeredCount", "agent", "Offered", "Sessions offered to the agent today",
       "Offers (ringing) made to the agent today, answered or not."),
    _m("answeredCount", "agent", "Answered", "Sessions the agent answered today",
       "Offers the agent accepted today."),
    _m("takenCount", "agent", "Taken", "Sessions the agent became primary agent on today",
       "Answered sessions plus sessions transferred to the agent (TransferAgent) today."),
    _m("ronaCount", "agent", "RONA", "Ring on no answer today",
       "Offers that timed out without an answer (RONA) today."),
    _m("transferredCount", "agent", "Transferred", "Sessions the agent transferred away today",
       "Sessions the agent handed to another queue today."),
    _m("completedCount", "agent", "Completed", "Sessions the agent finished handling today",
       "Sessions whose after-call work the agent finished, or that the agent transferred "
       "away, today."),
    _m("currentlyActiveCount", "agent", "Active now", "Sessions the agent is on now",
       "Sessions where the agent is the primary agent and the session is active, on hold "
       "or in after-call work."),
    _m("heldCount", "agent", "Holds", "Times the agent put a customer on hold today",
       "Hold periods started today."),
    _m("totalHandleTime", "agent", "Handle time", "Total handle time today (ms)",
       "Sum over completed sessions of talk + hold + after-call time.", unit="ms"),
    _m("averageHandleTime", "agent", "Avg handle time", "Average handle time today (ms)",
       "totalHandleTime / completedCount.", aggregation="ratio",
       ratio=("totalHandleTime", "completedCount", 1.0), unit="ms"),
    _m("longestHandleTime", "agent", "Longest handle time", "Longest handle time today (ms)",
       "Largest handle time of a session completed today.", aggregation="max", unit="ms"),
    _m("totalTalkTime", "agent", "Talk time", "Total talk time today (ms)",
       "Sum of connected time (active minus holds) of sessions completed today.", unit="ms"),
    _m("longestTalkTime", "agent", "Longest talk time", "Longest talk time today (ms)",
       "Largest talk time of a session completed today.", aggregation="max", unit="ms"),
    _m("totalHoldTime", "agent", "Hold time", "Total hold time today (ms)",
       "Sum of hold periods ended today.", unit="ms"),
    _m("longestHoldTime", "agent", "Longest hold", "Longest hold today (ms)",
       "Largest single hold period ended today.", aggregation="max", unit="ms"),
    _m("totalAfterCallTime", "agent", "After-call time", "Total after-call time today (ms)",
       "Sum of after-call work periods ended today.", unit="ms"),
    _m("longestAfterCallTime", "agent", "Longest after-call", "Longest after-call time (ms)",
       "Largest after-call work period ended today.", aggregation="max", unit="ms"),
    _m("directInboundCallCount", "agent", "Direct inbound", "Direct inbound calls today",
       "Direct (non-queued) inbound calls today. The simulator routes every contact through "
       "a queue, so this stays 0."),
    _m("directOutboundCallCount", "agent", "Direct outbound", "Direct outbound calls today",
       "Direct outbound calls the agent made today. The simulator models no direct calls, so "
       "this stays 0."),
    _m("closedTodayMessageCount", "agent", "Messages closed", "Messages closed today",
       "Message-modality sessions the agent completed today (message modality only)."),
)

AGENT_AGNOSTIC_METRICS: tuple[Metric, ...] = (
    _m("availableTime", "agent", "Available time", "Time available today",
       "Completed periods in the available state today: total and average ms, count of "
       "periods.", aggregation="stat", agnostic=True, unit="ms"),
    _m("awayTime", "agent", "Away time", "Time away today",
       "Completed periods in the unavailable (away) state today, any reason code.",
       aggregation="stat", agnostic=True, unit="ms"),
    _m("afterCallTime", "agent", "After-call time", "Time in after-call work today",
       "Completed periods in the afterCall state today.", aggregation="stat", agnostic=True,
       unit="ms"),
    _m("inCallTime", "agent", "In-call time", "Time on sessions today",
       "Completed periods in inCall, inImCall or busy (message) states today.",
       aggregation="stat", agnostic=True, unit="ms"),
    _m("ringingTime", "agent", "Ringing time", "Time ringing today",
       "Completed periods in the ringing state today.", aggregation="stat", agnostic=True,
       unit="ms"),
    _m("directInboundTime", "agent", "Direct inbound time", "Time on direct inbound calls",
       "Completed directInboundDial/directCall periods today (0 in the simulator).",
       aggregation="stat", agnostic=True, unit="ms"),
    _m("directOutboundTime", "agent", "Direct outbound time", "Time on direct outbound calls",
       "Completed directOutboundDial periods today (0 in the simulator).",
       aggregation="stat", agnostic=True, unit="ms"),
    _m("loggedInTime", "agent", "Logged-in time", "Time logged in today",
       "Completed periods in any state but loggedOut today.", aggregation="stat",
       agnostic=True, unit="ms"),
)

QUEUE_METRICS: tuple[Metric, ...] = (
    _m("enteredCount", "queue", "Entered", "Contacts that entered the queue today",
       "Sessions enqueued today (a transfer into the queue counts once more)."),
    _m("queuedCount", "queue", "Waiting", "Contacts waiting now",
       "Sessions currently in Queued or NotifyingAgent state in this queue."),
    _m("longestQueuedTime", "queue", "Longest wait", "Longest current wait (ms)",
       "Age of the oldest waiting session now; 0 when none waits. Refreshed every second.",
       aggregation="max", live=True, unit="ms"),
    _m("longestQueuedStartTime", "queue", "Oldest waiting since",
       "When the oldest waiting contact entered the queue",
       "Enqueue timestamp of the oldest waiting session, null when none; lets a page tick "
       "the longest wait itself.", aggregation="earliest", unit="timestamp"),
    _m("answeredCount", "queue", "Answered", "Contacts answered today",
       "Sessions of this queue answered by an agent today."),
    _m("answeredBeforeSLACount", "queue", "Answered in SLA",
       "Contacts answered within the service level threshold today",
       "Answered sessions whose wait was at most the queue's SLA threshold."),
    _m("answeredAfterSLACount", "queue", "Answered after SLA",
       "Contacts answered after the service level threshold today",
       "Answered sessions whose wait exceeded the queue's SLA threshold."),
    _m("abandonedCount", "queue", "Abandoned", "Contacts abandoned today",
       "Sessions whose customer hung up while queued today."),
    _m("abandonedBeforeSLACount", "queue", "Abandoned in SLA",
       "Contacts abandoned within the service level threshold today",
       "Abandoned sessions whose wait was at most the SLA threshold."),
    _m("abandonedAfterSLACount", "queue", "Abandoned after SLA",
       "Contacts abandoned after the service level threshold today",
       "Abandoned sessions whose wait exceeded the SLA threshold."),
    _m("serviceLevel", "queue", "Service level", "Service level today (%)",
       "100 * answeredBeforeSLACount / (answeredCount + abandonedAfterSLACount); 100 when "
       "nothing was answered or abandoned after SLA yet.", aggregation="ratio",
       ratio=("answeredBeforeSLACount", "serviceLevelBase", 100.0), unit="percent"),
    _m("serviceLevelBase", "queue", "Service level base",
       "Contacts counted by the service level today",
       "answeredCount + abandonedAfterSLACount."),
    _m("serviceLevelThreshold", "queue", "SLA threshold", "Service level threshold (s)",
       "The queue's configured SLA threshold in seconds.", aggregation="max", unit="s"),
    _m("totalWaitTime", "queue", "Wait time", "Total wait of answered contacts today (ms)",
       "Sum of queued time of sessions answered today.", unit="ms"),
    _m("averageWaitTime", "queue", "Avg wait", "Average wait of answered contacts (ms)",
       "totalWaitTime / answeredCount.", aggregation="ratio",
       ratio=("totalWaitTime", "answeredCount", 1.0), unit="ms"),
    _m("longestWaitTime", "queue", "Longest wait today", "Longest wait today (ms)",
       "Largest queued time of a session answered or abandoned today.", aggregation="max",
       unit="ms"),
    _m("totalAbandonTime", "queue", "Abandon wait", "Total wait of abandoned contacts (ms)",
       "Sum of queued time of sessions abandoned today.", unit="ms"),
    _m("averageAbandonTime", "queue", "Avg abandon wait", "Average wait before abandoning (ms)",
       "totalAbandonTime / abandonedCount.", aggregation="ratio",
       ratio=("totalAbandonTime", "abandonedCount", 1.0), unit="ms"),
    _m("currentlyActiveCount", "queue", "Active now", "Contacts with an agent now",
       "Sessions of this queue that are active, on hold or in after-call work now."),
    _m("ronaCount", "queue", "RONA", "Ring on no answer today",
       "Offers of this queue's sessions that timed out today."),
    _m("transferredCount", "queue", "Transferred out", "Contacts transferred out today",
       "Sessions transferred from this queue to another today."),
    _m("completedCount", "queue", "Completed", "Contacts handled to the end today",
       "Agents' finished parts of this queue's sessions today (a transferred contact counts "
       "in each queue that handled it)."),
    _m("totalHandleTime", "queue", "Handle time", "Total handle time today (ms)",
       "Sum of the handle time of the parts counted by completedCount.", unit="ms"),
    _m("averageHandleTime", "queue", "Avg handle time", "Average handle time (ms)",
       "totalHandleTime / completedCount.", aggregation="ratio",
       ratio=("totalHandleTime", "completedCount", 1.0), unit="ms"),
    _m("agentsOnline", "queue", "Agents online", "Agents logged in for the queue",
       "Agents of the queue's teams that are logged in and enabled for the modality."),
    _m("agentsAvailable", "queue", "Agents available", "Agents ready for the queue",
       "Agents of the queue's teams that are available, not suspended, for the modality."),
    _m("agentsOnSessions", "queue", "Agents busy", "Agents on a session",
       "Agents of the queue's teams that are ringing, on a session or in after-call work."),
    _m("agentsAway", "queue", "Agents away", "Agents away",
       "Agents of the queue's teams in the unavailable (away) state."),
    _m("estimatedWaitTime", "queue", "Estimated wait", "Estimated wait for a new contact (s)",
       "ceil((queuedCount + 1) * average handle time / max(1, agentsOnline - agentsAway)) "
       "seconds, using the queue's configured handle time until one is measured today.",
       aggregation="max", unit="s"),
)


def all_metrics() -> tuple[Metric, ...]:
    return AGENT_METRICS + AGENT_AGNOSTIC_METRICS + QUEUE_METRICS


def metrics_for(entity: Entity) -> tuple[Metric, ...]:
    if entity == "agent":
        return AGENT_METRICS + AGENT_AGNOSTIC_METRICS
    return QUEUE_METRICS


def metric_names() -> list[str]:
    """Every distinct metric name, sorted (agent and queue metrics share some names)."""
    return sorted({m.name for m in all_metrics()})

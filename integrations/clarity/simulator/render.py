"""The simulator's wire format: the model rendered as the vendor document's JSON objects.

Written from the seed's Request & Response Dictionary. The REST routes and the hub's
subscriptions both render through here, so a snapshot pushed over the hub and a REST answer for
the same entity at the same moment are the same JSON. (The Django-side client has its own,
independent reading of the document; see docs/clarity-simulator.md.)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .catalogue import AGENT_AGNOSTIC_METRICS, AGENT_METRICS, AGNOSTIC, QUEUE_METRICS, Metric
from .model import (
    FINAL_SESSION_STATUSES,
    MODALITY_IDS,
    MODALITY_WIRE,
    PARTICIPATION_TYPES,
    REASON_CODES,
    SETTABLE_STATUS_IDS,
    STATUS_IDS,
    STATUS_NAMES,
    WAITING_SESSION_STATUSES,
    Agent,
    Alert,
    ContactCenter,
    Queue,
    Session,
)

Json = dict[str, Any]


def iso(t: float | None) -> str | None:
    """A JSON timestamp the way the seed shows them: UTC, milliseconds, trailing zeros cut."""
    if t is None:
        return None
    text = datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return text.rstrip("0").rstrip(".") + "Z"


def ms(seconds: float) -> int:
    return round(seconds * 1000)


# --------------------------------------------------------------------------- views (filters)
SESSION_FIELDS = (
    "sessionType", "queueId", "customerName", "agentId", "isRecording", "canBeRecorded",
    "isSilentJoined", "isWhisperJoined", "sessionStatus", "queuedMs", "activeMs",
    "canBeSilentJoined", "canBeWhisperJoined",
)
STATUS_FIELDS = ("agentStatus", "agentStatusId", "reasonCodeName", "reasonCodeId", "startTime",
                 "endTime", "isSuspended")
# Subscription requests name status fields the .NET way (UtcStartTime, UtcEndTime).
STATUS_ALIASES = {"utcstarttime": "starttime", "utcendtime": "endtime"}


@dataclass(frozen=True)
class View:
    """What a caller asked to see: which parts, modalities and properties."""

    parts: frozenset[str] = frozenset({"metrics", "sessions", "status"})
    modalities: frozenset[str] | None = None
    metric_properties: frozenset[str] | None = None      # lower case
    status_properties: frozenset[str] | None = None      # lower case
    session_properties: frozenset[str] | None = None     # lower case
    include_breakdowns: bool = False
    include_status_history: bool = False

    def wants_metric(self, name: str) -> bool:
        return self.metric_properties is None or name.lower() in self.metric_properties

    def wants_modality(self, modality: str) -> bool:
        return (modality == AGNOSTIC or self.modalities is None
                or modality in self.modalities)


def lower_set(names: Iterable[Any] | None) -> frozenset[str] | None:
    if names is None:
        return None
    out = set()
    for name in names:
        key = str(name).lower()
        out.add(STATUS_ALIASES.get(key, key))
    return frozenset(out)


# --------------------------------------------------------------------------- metrics
def _round(metric: Metric, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if metric.unit == "percent":
        return round(value, 1)
    if metric.unit in ("ms", "s", "count") and metric.aggregation != "ratio":
        return round(value)
    return round(value, 1)


def _ratio(metric: Metric, values: dict[str, Any]) -> float:
    if metric.ratio is None:
        raise ValueError(f"{metric.name} is not a ratio metric")
    num, den, scale = metric.ratio
    if not values.get(den):
        return 100.0 if metric.unit == "percent" else 0.0
    return values.get(num, 0) * scale / values[den]


# Metric bags computed once per flush rather than once per subscription: at 500 agents an
# agent sits in the totals, its team, its groups and its unit, and recomputing its bag for each
# made a flush take 0.4-0.8 s at 500 changes/s (docs/benchmarks.md). Only valid while the model
# does not change, so only ever set around synchronous rendering (Subscriptions.flush).
_bag_memo: dict[tuple[str, int], dict[str, Json]] | None = None


@contextlib.contextmanager
def bags_memoized() -> Iterator[None]:
    """Within the block, each agent's and queue's metric bag is computed once. The model must
    not change inside it (no await)."""
    global _bag_memo
    outer = _bag_memo
    if outer is None:
        _bag_memo = {}
    try:
        yield
    finally:
        _bag_memo = outer


def agent_metric_bag(cc: ContactCenter, agent: Agent) -> dict[str, Json]:
    """Every agent metric, unfiltered: {modality: {name: value}} plus the agnostic bag.
    Callers must not change the result (it may be shared, see bags_memoized)."""
    if _bag_memo is None:
        return _agent_metric_bag(cc, agent)
    bag = _bag_memo.get(("agent", agent.id))
    if bag is None:
        bag = _bag_memo[("agent", agent.id)] = _agent_metric_bag(cc, agent)
    return bag


def _agent_metric_bag(cc: ContactCenter, agent: Agent) -> dict[str, Json]:
    live = _live_sessions(cc, agent)
    bag: dict[str, Json] = {}
    for mod in agent.modalities:
        stored = agent.metrics.get(mod, {})
        values: Json = {}
        for metric in AGENT_METRICS:
            if metric.name == "closedTodayMessageCount" and mod != "message":
                continue
            if metric.name == "currentlyActiveCount":
                values[metric.name] = sum(1 for s in live if s.modality == mod)
            elif metric.aggregation == "ratio":
                continue
            else:
                values[metric.name] = stored.get(metric.name, 0)
        for metric in AGENT_METRICS:
            if metric.aggregation == "ratio":
                values[metric.name] = _ratio(metric, values)
        bag[mod] = {k: _round(_metric(k, "agent"), v) for k, v in values.items()}
    bag[AGNOSTIC] = {m.name: _stat(agent.stats[m.name].total, agent.stats[m.name].count)
                     for m in AGENT_AGNOSTIC_METRICS}
    return bag


def _stat(total: float, count: int) -> Json:
    return {"total": round(total), "average": round(total / count, 1) if count else 0,
            "count": count}


_METRICS_BY_KEY: dict[tuple[str, str], Metric] = {
    (m.entity, m.name): m for m in AGENT_METRICS + AGENT_AGNOSTIC_METRICS + QUEUE_METRICS}


def _metric(name: str, entity: str) -> Metric:
    return _METRICS_BY_KEY[(entity, name)]


def queue_metric_bag(cc: ContactCenter, queue: Queue) -> dict[str, Json]:
    """Every queue metric, unfiltered (may be shared: callers must not change it)."""
    if _bag_memo is None:
        return _queue_metric_bag(cc, queue)
    bag = _bag_memo.get(("queue", queue.id))
    if bag is None:
        bag = _bag_memo[("queue", queue.id)] = _queue_metric_bag(cc, queue)
    return bag


def _queue_metric_bag(cc: ContactCenter, queue: Queue) -> dict[str, Json]:
    now = cc.now
    team_agents = [cc.agents[i] for t in queue.team_ids for i in cc.teams[t].agent_ids]
    bag: dict[str, Json] = {}
    for mod in queue.modalities:
        stored = queue.metrics.get(mod, {})
        waiting = queue.waiting.get(mod, [])
        oldest = cc.sessions[waiting[0]].enqueued if waiting else None
        enabled = [a for a in team_agents if a.routable and mod in a.modalities]
        online = [a for a in enabled if a.logged_in]
        values: Json = {}
        for metric in QUEUE_METRICS:
            if metric.aggregation != "ratio":
                values[metric.name] = stored.get(metric.name, 0)
        values["queuedCount"] = len(waiting)
        values["longestQueuedTime"] = ms(now - oldest) if oldest is not None else 0
        values["longestQueuedStartTime"] = iso(oldest)
        values["serviceLevelBase"] = (values["answeredCount"]
                                      + values["abandonedAfterSLACount"])
        values["serviceLevelThreshold"] = queue.sla_seconds
        values["currentlyActiveCount"] = sum(
            1 for a in team_agents for sid in a.session_ids
            if cc.sessions[sid].queue_id == queue.id and cc.sessions[sid].modality == mod)
        values["agentsOnline"] = len(online)
        values["agentsAvailable"] = sum(
            1 for a in online if a.status == "available" and not a.suspended
            and not a.session_ids and a.offer_session_id is None)
        values["agentsOnSessions"] = sum(
            1 for a in online if a.session_ids or a.offer_session_id is not None)
        values["agentsAway"] = sum(1 for a in online if a.status == "unavailable")
        for metric in QUEUE_METRICS:
            if metric.aggregation == "ratio":
                values[metric.name] = _ratio(metric, values)
        handle = (values["totalHandleTime"] / values["completedCount"] / 1000
                  if values["completedCount"] else queue.handle_mean[mod] + queue.after_call_mean)
        staffed = max(1, values["agentsOnline"] - values["agentsAway"])
        values["estimatedWaitTime"] = math.ceil((len(waiting) + 1) * handle / staffed) \
            if values["agentsAvailable"] == 0 or waiting else 0
        bag[mod] = {k: _round(_metric(k, "queue"), v) for k, v in values.items()}
    return bag


def combine_bags(entity: str, bags: list[dict[str, Json]]) -> dict[str, Json]:
    """Aggregate metric bags the catalogue's way (sum, max, ratio, stat, earliest)."""
    metrics = AGENT_METRICS + AGENT_AGNOSTIC_METRICS if entity == "agent" else QUEUE_METRICS
    out: dict[str, Json] = {}
    modalities = []
    for bag in bags:
        for mod in bag:
            if mod not in modalities:
                modalities.append(mod)
    for mod in modalities:
        present = [b[mod] for b in bags if mod in b]
        values: Json = {}
        for metric in metrics:
            vals = [p[metric.name] for p in present if metric.name in p]
            if not vals or metric.aggregation == "ratio":
                continue
            if metric.aggregation == "sum":
                values[metric.name] = sum(vals)
            elif metric.aggregation == "max":
                values[metric.name] = max(vals)
            elif metric.aggregation == "earliest":
                stamps = [v for v in vals if v]
                values[metric.name] = min(stamps) if stamps else None
            elif metric.aggregation == "stat":
                total = sum(v["total"] for v in vals)
                count = sum(v["count"] for v in vals)
                values[metric.name] = _stat(total, count)
        for metric in metrics:
            if metric.aggregation == "ratio" and metric.name in present[0]:
                values[metric.name] = _round(metric, _ratio(metric, values))
        out[mod] = values
    return out


def filter_bag(bag: dict[str, Json], view: View) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for mod, values in bag.items():
        if not view.wants_modality(mod):
            continue
        kept = {k: v for k, v in values.items() if view.wants_metric(k)}
        if kept:
            out[mod] = kept
    return out


# --------------------------------------------------------------------------- sessions
def _live_sessions(cc: ContactCenter, agent: Agent) -> list[Session]:
    return [cc.sessions[sid] for sid in agent.session_ids if sid in cc.sessions]


def _queue_name(cc: ContactCenter, queue_id: int) -> str:
    if queue_id == -1:
        return "Direct Inbound"
    if queue_id == -2:
        return "Direct Outbound"
    queue = cc.queues.get(queue_id)
    return queue.name if queue else "Unknown"


def _agent_name(cc: ContactCenter, agent_id: int | None) -> str:
    if agent_id is None:
        return "None"
    agent = cc.agents.get(agent_id)
    return agent.public_name if agent else "Unknown"


def queued_ms(cc: ContactCenter, s: Session) -> int:
    if s.status in WAITING_SESSION_STATUSES and s.enqueued is not None:
        return ms(cc.now - s.enqueued)
    return 0


def active_ms(cc: ContactCenter, s: Session) -> int:
    if s.active_since is None:
        return 0
    end = s.ended if s.ended is not None else cc.now
    return ms(end - s.active_since)


def session_model(cc: ContactCenter, s: Session, view: View | None = None) -> Json:
    """The seed's Session Model: a session inside a realtime item's session bag."""
    primary = s.primary_agent_id
    joined = s.silent_joined or s.whisper_joined
    data: Json = {
        "sessionType": "Queued", "queueId": s.queue_id,
        "customerName": cc.customers[s.customer_id].name,
        "agentId": primary if primary is not None else s.agent_id,
        "isRecording": s.is_recording, "canBeRecorded": s.can_be_recorded,
        "isSilentJoined": s.silent_joined, "isWhisperJoined": s.whisper_joined,
        "sessionStatus": s.status, "queuedMs": queued_ms(cc, s), "activeMs": active_ms(cc, s),
        "canBeSilentJoined": not joined, "canBeWhisperJoined": not joined,
    }
    if view is not None and view.session_properties is not None:
        data = {k: v for k, v in data.items() if k.lower() in view.session_properties}
    # The id and the timestamps a page needs to tick durations itself always come along.
    return {"sessionId": s.id, **data, "modality": MODALITY_WIRE[s.modality],
            "startTimeStamp": iso(s.start), "answeredTimeStamp": iso(s.answered)}


def session_bag(cc: ContactCenter, sessions: list[Session], modalities: Iterable[str],
                view: View) -> dict[str, Json]:
    bag: dict[str, Json] = {}
    for mod in modalities:
        if not view.wants_modality(mod):
            continue
        items = [session_model(cc, s, view) for s in sessions if s.modality == mod]
        bag[mod] = {"sessions": sorted(items, key=lambda i: i["sessionId"])}
    return bag


def session_base(cc: ContactCenter, s: Session) -> Json:
    customer = cc.customers[s.customer_id]
    flow = cc.call_flows.get(s.call_flow_id)
    return {
        "sessionId": s.id, "sessionType": "Queued", "queueName": _queue_name(cc, s.first_queue_id),
        "queueId": s.first_queue_id, "customerId": customer.id, "customerName": customer.name,
        "customerPhone": customer.phone, "agentId": s.agent_id,
        "agentName": _agent_name(cc, s.agent_id), "modalityId": MODALITY_IDS[s.modality],
        "modality": MODALITY_WIRE[s.modality], "startTimeStamp": iso(s.start),
        "callFlowId": s.call_flow_id, "callFlowName": flow.name if flow else None,
    }


def _participation(cc: ContactCenter, p: Any, now: float) -> Json:
    return {
        "agentId": p.agent_id, "agentName": _agent_name(cc, p.agent_id),
        "agentParticipationTypeId": p.type_id,
        "agentParticipationType": PARTICIPATION_TYPES[p.type_id],
        "agentParticipationStatusId": {"Offering": 2, "Accepted": 3, "AfterCall": 4}.get(
            p.status, 0),
        "agentParticipationStatus": p.status, "allocatedTimeStamp": iso(p.allocated),
        "offeredTimeStamp": iso(p.offered), "acceptedTimeStamp": iso(p.accepted),
        "afterCallStartTimeStamp": iso(p.after_call_start), "isPrimaryAgent": p.is_primary,
        "primaryAgentStartTimeStamp": iso(p.accepted) if p.is_primary else None,
        "initiatingAgentId": p.initiating_agent_id,
        "initiatingAgentName": (_agent_name(cc, p.initiating_agent_id)
                                if p.initiating_agent_id is not None else None),
        "activeMs": ms(now - p.accepted) if p.accepted else 0,
    }


def _listing(items: list[Any]) -> Json:
    return {"items": items, "count": len(items)}


def model_session(cc: ContactCenter, s: Session) -> Json:
    """The seed's Model Session: Session Base plus the live fields (sessions by agent/id)."""
    joined = s.silent_joined or s.whisper_joined
    disposition = cc.dispositions.get(s.disposition_id or -1)
    sub = dict(disposition.subs).get(s.sub_disposition_id or -1) if disposition else None
    primary = s.primary_agent_id
    data = session_base(cc, s)
    data.update({
        "isRecording": s.is_recording, "canBeRecorded": s.can_be_recorded,
        "isSilentJoined": s.silent_joined, "isWhisperJoined": s.whisper_joined,
        "sessionStatus": s.status, "queuedMs": queued_ms(cc, s), "activeMs": active_ms(cc, s),
        "canBeSilentJoined": not joined, "canBeWhisperJoined": not joined,
        "isOnHold": s.hold_start is not None, "holdStartTime": iso(s.hold_start),
        "recordingStartTime": iso(s.recording_start),
        "answeredTimeStamp": iso(s.answered), "activeTimeStamp": iso(s.active_since),
        "endTimeStamp": iso(s.ended),
        "sessionDurationMs": ms((s.ended if s.ended is not None else cc.now) - s.start),
        "sessionHasEnded": s.status in FINAL_SESSION_STATUSES,
        "agents": _listing([_participation(cc, p, cc.now) for p in s.participations
                            if p.status in ("Accepted", "AfterCall")]),
        "offers": _listing([_participation(cc, p, cc.now) for p in s.participations
                            if p.status == "Offering"]),
        "screenPopUrl": f"https://crm.contoso-cc.example/customers/{s.customer_id}".replace(
            " ", "%20"),
        "callNote": s.call_note,
        "selectedCallDisposition": ({"callDispositionId": disposition.id,
                                     "name": disposition.name} if disposition else None),
        "selectedCallSubDisposition": ({"callSubDispositionId": s.sub_disposition_id,
                                        "name": sub} if sub else None),
        "primaryAgentId": primary,
    })
    return data


def transcript_items(s: Session) -> list[Json]:
    return [{"timeStamp": iso(m["time"]), "to": m["to"], "from": m["from"],
             "message": m["message"], "fromAgent": m["fromAgent"], "type": "imMessage",
             "id": m["id"]} for m in s.transcript]


def session_by_id(cc: ContactCenter, s: Session, flags: dict[str, bool],
                  history_limit: int) -> Json:
    data = model_session(cc, s)
    queue = cc.queues.get(s.queue_id)
    data["customerHistory"] = (_listing(customer_history(cc, s)[:history_limit])
                               if flags.get("includeCustomerHistory") else None)
    data["aftercallOptions"] = ({"isManualAfterCallEnabled": True,
                                 "afterCalltimeSeconds": round(queue.after_call_mean)
                                 if queue else 30, "id": 0}
                                if flags.get("includeAftercallOptions") else None)
    data["holdTimerThreshold"] = 60 if flags.get("includeHoldTimerThreshold") else None
    data["imPrompts"] = (_listing([{"promptName": n, "promptValue": v, "type": "imPrompt",
                                    "id": s.id * 10 + i}
                                   for i, (n, v) in enumerate(s.im_prompts)])
                         if flags.get("includeImPrompts") else None)
    data["ivrData"] = (_listing([{"callFlowName": d["callFlowName"], "ivrNodes": _listing([
        {**node, "type": "ivrNode"} for node in d["nodes"]]), "type": "ivrData", "id": d["id"]}
        for d in s.ivr]) if flags.get("includeIvrData") else None)
    if flags.get("includeDispositions"):
        options = [d for d in cc.dispositions.values()
                   if queue is None or d.business_unit_id == queue.business_unit_id]
        data["callDispositions"] = _listing([{
            "dispositionId": d.id, "disposition": d.name, "businessUnitId": d.business_unit_id,
            "subDispositions": _listing([{"subDispositionId": sid, "subDisposition": name,
                                          "id": sid} for sid, name in d.subs]),
            "type": "callDisposition", "id": d.id} for d in options])
    else:
        data["callDispositions"] = None
    data["transcript"] = (_listing(transcript_items(s))
                          if flags.get("includeCurrentTranscript") else None)
    data["extraItems"] = (_listing([{"extraItemId": iid, "key": key, "value": value,
                                     "type": "extraItem", "id": iid, "isSearchable": searchable}
                                    for key, (iid, value, searchable) in s.extra_items.items()])
                          if flags.get("includeExtraItems") else None)
    data["sessionEventHistory"] = (_listing([
        {"eventText": text, "lastUpdated": iso(t), "updatedBy": by, "id": s.id * 100 + i}
        for i, (t, text, by) in enumerate(s.events)])
        if flags.get("includeSessionEventHistory") else None)
    data["sessionMessages"] = _listing([])
    return data


def customer_history(cc: ContactCenter, s: Session, start: float | None = None,
                     end: float | None = None) -> list[Json]:
    """The customer's other sessions, most recent first, within [start, end]."""
    customer = cc.customers[s.customer_id]
    sessions = [cc.sessions[sid] for sid in customer.session_ids
                if sid != s.id and sid in cc.sessions]
    sessions = [x for x in sessions if (start is None or x.start >= start)
                and (end is None or x.start <= end)]
    sessions.sort(key=lambda x: x.start, reverse=True)
    return [session_base(cc, x) for x in sessions]


# --------------------------------------------------------------------------- agents & queues
def agent_status(agent: Agent) -> Json:
    """The seed's Connect Agent Status object (camel-cased status names)."""
    return {
        "agentStatus": agent.status, "agentStatusId": STATUS_IDS[agent.status],
        "reasonCodeName": REASON_CODES.get(agent.reason_code_id or -1),
        "reasonCodeId": agent.reason_code_id, "startTime": iso(agent.status_start),
        "isSuspended": agent.suspended,
    }


def _filter_status(status: Json, view: View) -> Json:
    if view.status_properties is None:
        return status
    return {k: v for k, v in status.items() if k.lower() in view.status_properties}


def status_history(agent: Agent, now: float) -> list[Json]:
    return [{"agentStatus": p.status, "agentStatusId": STATUS_IDS[p.status],
             "reasonCodeName": REASON_CODES.get(p.reason_code_id or -1),
             "startTime": iso(p.start), "endTime": iso(p.end), "isSuspended": p.suspended}
            for p in agent.status_history if p.end >= now - 86_400]


def breakdowns(cc: ContactCenter, agent: Agent, view: View) -> list[Json]:
    out = []
    for queue_id in sorted(agent.breakdowns):
        bag = {mod: {k: round(v) for k, v in values.items()}
               for mod, values in agent.breakdowns[queue_id].items()}
        metrics = filter_bag(bag, view)
        out.append({"queueId": queue_id, "queueName": _queue_name(cc, queue_id),
                    "metrics": metrics})
    return out


def realtime_agent(cc: ContactCenter, agent: Agent, view: View) -> Json:
    item: Json = {"type": "agent", "id": agent.id, "name": agent.public_name}
    if "metrics" in view.parts:
        item["metrics"] = filter_bag(agent_metric_bag(cc, agent), view)
    if "sessions" in view.parts:
        item["sessions"] = session_bag(cc, _agent_bag_sessions(cc, agent), agent.modalities,
                                       view)
    if "status" in view.parts:
        item["currentStatus"] = _filter_status(agent_status(agent), view)
        if view.include_status_history:
            # startTime stays whatever the filter says: it identifies an entry, and diffs
            # append entries by it.
            item["statusHistory"] = [{**_filter_status(h, view), "startTime": h["startTime"]}
                                     for h in status_history(agent, cc.now)]
    if view.include_breakdowns and "metrics" in view.parts:
        item["breakdowns"] = breakdowns(cc, agent, view)
    return item


def _agent_bag_sessions(cc: ContactCenter, agent: Agent) -> list[Session]:
    sessions = _live_sessions(cc, agent)
    if agent.offer_session_id is not None and agent.offer_session_id in cc.sessions:
        sessions.append(cc.sessions[agent.offer_session_id])
    return sessions


def _queue_sessions(cc: ContactCenter, queue: Queue) -> list[Session]:
    waiting = [cc.sessions[sid] for ids in queue.waiting.values() for sid in ids]
    team_agents = {i for t in queue.team_ids for i in cc.teams[t].agent_ids}
    active = [cc.sessions[sid] for aid in team_agents for sid in cc.agents[aid].session_ids
              if cc.sessions[sid].queue_id == queue.id]
    return waiting + active


def realtime_queue(cc: ContactCenter, queue: Queue, view: View) -> Json:
    item: Json = {"type": "queue", "id": queue.id, "name": queue.name}
    if "metrics" in view.parts:
        item["metrics"] = filter_bag(queue_metric_bag(cc, queue), view)
    if "sessions" in view.parts:
        item["sessions"] = session_bag(cc, _queue_sessions(cc, queue), queue.modalities, view)
    return item


def aggregate(cc: ContactCenter, entity: str, ids: list[int], view: View) -> Json:
    """The seed's Aggregate Metric Data Response over agents or queues."""
    item: Json = {"entityIds": list(ids), "type": entity}
    if entity == "agent":
        agents = [cc.agents[i] for i in ids]
        bags = [agent_metric_bag(cc, a) for a in agents]
        sessions = [s for a in agents for s in _agent_bag_sessions(cc, a)]
        modalities = sorted({m for a in agents for m in a.modalities})
    else:
        queues = [cc.queues[i] for i in ids]
        bags = [queue_metric_bag(cc, q) for q in queues]
        sessions = [s for q in queues for s in _queue_sessions(cc, q)]
        modalities = sorted({m for q in queues for m in q.modalities})
    if ids and "metrics" in view.parts:
        item["metrics"] = filter_bag(combine_bags(entity, bags), view)
    if ids and "sessions" in view.parts:
        seen: dict[int, Session] = {s.id: s for s in sessions}
        item["sessions"] = session_bag(cc, list(seen.values()), modalities, view)
    return item


def group_item(cc: ContactCenter, entity: str, group_type: str, group_id: int,
               ids: list[int], view: View) -> Json:
    item = aggregate(cc, entity, ids, view)
    return {"groupType": group_type, "groupId": group_id, **item}


# --------------------------------------------------------------------------- profile & MBU
def profile(cc: ContactCenter, agent: Agent) -> Json:
    return {
        "type": "agent", "id": agent.id, "teamId": agent.team_id,
        "name": agent.public_name, "emailAddress": agent.email, "localeKey": agent.locale,
        "enabledModalities": ["audio", "instantMessage", "message"],
        "isDirectProxyEnabled": False, "isFederatedDeployment": False,
        "canMarkSelfAsSuspended": agent.role != "agent", "useSilverlightAgentConsole": False,
        "hideRecordButton": False, "attendantSipUri": "sip:Connect.Attendant@contoso-cc.example",
        "domain": "contoso-cc.example", "hideRecordingButton": not agent.can_record,
        "discoveryXFrameUrlOverride": "", "discoveryUserUrlOverride": "",
        "agentGRUU": f"{agent.sip_address};opaque=user:epid:{agent.id:08x};gruu",
        "proxyDirectCalls": False,
        "hiddenQueues": _listing([{"queueId": -1, "queueName": "Direct Inbound"},
                                  {"queueId": -2, "queueName": "Direct Outbound"}]),
    }


def mbu(cc: ContactCenter, viewer: Agent) -> Json:
    """The MBU structure the viewer may see; empty arrays are left out, as the seed says."""
    agent_ids = cc.visible_agent_ids(viewer)
    queue_ids = cc.visible_queue_ids(viewer)
    team_ids = set(viewer.scope_team_ids) | ({viewer.team_id} if viewer.team_id in cc.teams
                                             else set())
    group_ids = {g.id for g in cc.groups.values() if set(g.team_ids) & team_ids}
    bu_ids = {cc.teams[t].business_unit_id for t in team_ids}

    def nonempty(d: Json) -> Json:
        return {k: v for k, v in d.items() if v != []}

    out = {
        "agents": [{"type": "agent", "id": a.id, "name": a.public_name, "teamId": a.team_id,
                    "canSilentJoin": a.can_silent_join, "canWhisperJoin": a.can_whisper_join,
                    "canRecord": a.can_record}
                   for a in sorted((cc.agents[i] for i in agent_ids), key=lambda a: a.id)],
        "queues": [nonempty({"type": "queue", "id": q.id, "name": q.name,
                             "businessUnitId": q.business_unit_id,
                             "teamIds": sorted(q.team_ids)})
                   for q in sorted((cc.queues[i] for i in queue_ids), key=lambda q: q.id)],
        "teams": [nonempty({"type": "team", "id": t.id, "name": t.name,
                            "businessUnitId": t.business_unit_id,
                            "groupIds": sorted(t.group_ids),
                            # An agent sees its own team, but not who else is on it.
                            "agentIds": sorted(set(t.agent_ids) & agent_ids),
                            "queueIds": sorted(t.queue_ids)})
                  for t in sorted((cc.teams[i] for i in team_ids), key=lambda t: t.id)],
        "groups": [nonempty({"type": "group", "id": g.id, "name": g.name,
                             "teamIds": sorted(g.team_ids)})
                   for g in sorted((cc.groups[i] for i in group_ids), key=lambda g: g.id)],
        "businessUnits": [nonempty({"type": "businessUnit", "id": b.id, "name": b.name,
                                    "teamIds": sorted(b.team_ids),
                                    "queueIds": sorted(b.queue_ids)})
                          for b in sorted((cc.business_units[i] for i in bu_ids),
                                          key=lambda b: b.id)],
    }
    return {k: v for k, v in out.items() if v}


def status_choices(agent: Agent) -> Json:
    items: list[Json] = []
    for status_id in SETTABLE_STATUS_IDS:
        name = STATUS_NAMES[status_id]
        items.append({"agentStatus": name, "agentStatusId": status_id})
        if status_id == STATUS_IDS["unavailable"]:
            items.extend({"agentStatus": name, "agentStatusId": status_id,
                          "reasonCodeName": reason, "reasonCodeId": code}
                         for code, reason in REASON_CODES.items())
    return _listing(items)


def search(cc: ContactCenter, viewer: Agent, query: str) -> Json:
    q = query.lower()
    agents = []
    for agent_id in sorted(cc.visible_agent_ids(viewer)):
        a = cc.agents[agent_id]
        fields = (a.first_name, a.last_name, a.email, a.login_name, a.public_name, a.phone,
                  a.sip_address)
        if any(q in f.lower() for f in fields):
            agents.append({
                "agentId": a.id, "firstName": a.first_name, "lastName": a.last_name,
                "publicName": a.public_name, "loginName": a.login_name,
                "sipAddress": a.sip_address, "emailAddress": a.email, "phoneNumber": a.phone,
                "status": STATUS_IDS[a.status],
                "callsAnswered": round(sum(a.metrics.get(m, {}).get("answeredCount", 0)
                                           for m in a.metrics)),
                "ronas": round(sum(a.metrics.get(m, {}).get("ronaCount", 0) for m in a.metrics)),
                "type": "agentSearch", "id": a.id, "name": a.public_name})
    queues = []
    for queue_id in sorted(cc.visible_queue_ids(viewer)):
        queue = cc.queues[queue_id]
        if q not in queue.name.lower():
            continue
        bag = queue_metric_bag(cc, queue)
        queues.append({
            "queueId": queue.id, "queueName": queue.name, "isOpen": queue.is_open,
            "agentsOnline": max(v["agentsOnline"] for v in bag.values()),
            "agentsAvailable": max(v["agentsAvailable"] for v in bag.values()),
            "estimatedWaitTime": max(v["estimatedWaitTime"] for v in bag.values()),
            "callsToday": sum(v["enteredCount"] for v in bag.values()),
            "type": "queueSearch", "id": queue.id, "name": queue.name})
    return {"agentsFound": agents, "queuesFound": queues,
            "message": f"Query '{query}' found {len(agents)} agent(s) and "
                       f"{len(queues)} queue(s)."}


def alert(a: Alert) -> Json:
    return {"type": "alert", "id": a.id, "name": a.name, "severity": a.severity,
            "entityType": a.entity_type, "entityId": a.entity_id, "entityName": a.entity_name,
            "metric": a.metric, "modality": a.modality, "value": a.value,
            "threshold": a.threshold, "isActive": a.is_active, "raisedTime": iso(a.raised),
            "clearedTime": iso(a.cleared), "message": a.message}

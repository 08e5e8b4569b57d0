"""The traffic model's invariants, checked over long accelerated runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from integrations.clarity.simulator import render
from integrations.clarity.simulator.model import (
    FINAL_SESSION_STATUSES,
    MODALITIES,
    WAITING_SESSION_STATUSES,
    ContactCenter,
    ModelError,
)

# 04:00 UTC on an ordinary day, so a run of up to 20 hours stays within one day's counters.
MORNING = datetime(2026, 3, 2, 4, 0, tzinfo=UTC).timestamp()
ROUTED = (1, 5)  # participation types that are real offers: Agent, TransferAgent


@pytest.fixture(scope="module")
def long_run() -> ContactCenter:
    """Ten busy hours, then six without arrivals so that every contact can finish."""
    cc = ContactCenter(seed=11, start=MORNING, warmup=0)
    for _ in range(10):
        cc.advance(3600)
        _assert_no_negative_metrics(cc)
    cc.load = 0.0
    cc.advance(6 * 3600)
    return cc


def _assert_no_negative_metrics(cc: ContactCenter) -> None:
    for agent in cc.agents.values():
        for mod, values in render.agent_metric_bag(cc, agent).items():
            for name, value in values.items():
                number = value["total"] if isinstance(value, dict) else value
                assert number >= 0, (agent.id, mod, name, value)
    for queue in cc.queues.values():
        for mod, values in render.queue_metric_bag(cc, queue).items():
            for name, value in values.items():
                if not isinstance(value, str) and value is not None:
                    assert value >= 0, (queue.id, mod, name, value)


def test_the_run_has_real_traffic(long_run: ContactCenter) -> None:
    statuses = Counter(s.status for s in long_run.sessions.values())
    assert statuses["Completed"] > 1000
    assert statuses["Abandoned"] > 0
    assert any(s.transfers for s in long_run.sessions.values())
    assert any(p.status == "RONA" for s in long_run.sessions.values() for p in s.participations)
    assert long_run.alerts, "an afternoon of traffic raises at least one alert"


def test_every_session_ends_in_a_final_state(long_run: ContactCenter) -> None:
    unfinished = [s for s in long_run.sessions.values() if s.status not in FINAL_SESSION_STATUSES]
    assert unfinished == []
    for s in long_run.sessions.values():
        assert s.ended is not None and s.ended >= s.start
        if s.status == "Completed":
            assert s.answered is not None and s.start <= s.answered <= s.ended
        if s.status == "Abandoned":
            assert all(p.status != "Accepted" for p in s.participations)
    for agent in long_run.agents.values():
        assert agent.session_ids == [] and agent.offer_session_id is None
    for queue in long_run.queues.values():
        assert all(ids == [] for ids in queue.waiting.values())


def test_queue_metrics_agree_with_the_sessions_behind_them(long_run: ContactCenter) -> None:
    cc = long_run
    for queue in cc.queues.values():
        bag = render.queue_metric_bag(cc, queue)
        for mod in queue.modalities:
            m = bag[mod]
            accepted = [p for s in cc.sessions.values() if s.modality == mod
                        for p in s.participations
                        if p.type_id in ROUTED and p.accepted is not None
                        and p.queue_id == queue.id]
            abandoned = [s for s in cc.sessions.values() if s.modality == mod
                         and s.status == "Abandoned" and s.queue_id == queue.id]
            assert m["answeredCount"] == len(accepted)
            assert m["abandonedCount"] == len(abandoned)
            # Every time a contact entered the queue it was answered or abandoned there.
            assert m["enteredCount"] == m["answeredCount"] + m["abandonedCount"]
            assert m["answeredBeforeSLACount"] + m["answeredAfterSLACount"] == m["answeredCount"]
            assert (m["abandonedBeforeSLACount"] + m["abandonedAfterSLACount"]
                    == m["abandonedCount"])
            assert m["completedCount"] == m["answeredCount"]
            base = m["answeredCount"] + m["abandonedAfterSLACount"]
            expected_sl = 100 * m["answeredBeforeSLACount"] / base if base else 100.0
            assert m["serviceLevel"] == pytest.approx(expected_sl, abs=0.05)
            assert m["queuedCount"] == 0 and m["longestQueuedTime"] == 0


def test_agent_metrics_agree_with_the_sessions_behind_them(long_run: ContactCenter) -> None:
    cc = long_run
    parts = [(s, p) for s in cc.sessions.values() for p in s.participations
             if p.type_id in ROUTED]
    for agent in cc.agents.values():
        if not agent.routable:
            continue
        bag = render.agent_metric_bag(cc, agent)
        for mod in agent.modalities:
            mine = [(s, p) for s, p in parts if p.agent_id == agent.id and s.modality == mod]
            m = bag[mod]
            assert m["offeredCount"] == len(mine)
            assert m["answeredCount"] == sum(1 for _, p in mine if p.accepted is not None)
            assert m["ronaCount"] == sum(1 for _, p in mine if p.status == "RONA")
            assert m["completedCount"] == sum(1 for _, p in mine
                                              if p.accepted is not None and p.status == "Ended")
            assert m["currentlyActiveCount"] == 0
            handles = [(p.ended - p.accepted) * 1000 for _, p in mine
                       if p.accepted is not None and p.ended is not None]
            assert m["totalHandleTime"] == pytest.approx(sum(handles), abs=1 + len(handles))
            if handles:
                assert m["longestHandleTime"] == pytest.approx(max(handles), abs=1)
        for mod in MODALITIES:
            if mod not in agent.modalities:
                assert not any(p.agent_id == agent.id and s.modality == mod for s, p in parts)


def test_agent_time_stats_cover_the_status_history(long_run: ContactCenter) -> None:
    agent = next(a for a in long_run.agents.values() if a.routable)
    periods = [p for p in agent.status_history if p.status == "available"]
    stat = agent.stats["availableTime"]
    # The history keeps 24 h and the run is 16 h, so it holds every period of the day.
    assert stat.count == len(periods)
    assert stat.total == pytest.approx(sum((p.end - p.start) * 1000 for p in periods), rel=1e-6)


def test_agents_take_breaks_with_reason_codes_and_come_back() -> None:
    cc = ContactCenter(seed=3, start=MORNING, warmup=0)
    reasons = Counter()
    for _ in range(8 * 60):
        cc.advance(60)
        reasons.update(a.reason_code_id for a in cc.agents.values() if a.status == "unavailable")
    assert {1, 2} <= set(reasons), "breaks and lunches happen in a working day"
    history = [p for a in cc.agents.values() for p in a.status_history]
    assert any(p.status == "unavailable" and p.reason_code_id for p in history)
    assert {"available", "ringing", "inCall", "afterCall"} <= {p.status for p in history}


def test_the_same_seed_gives_the_same_center_whatever_the_step_size() -> None:
    a = ContactCenter(seed=5, start=MORNING)
    b = ContactCenter(seed=5, start=MORNING)
    a.advance(1800)
    for _ in range(180):
        b.advance(10)
    assert [x.public_name for x in a.agents.values()] == [x.public_name for x in b.agents.values()]
    assert sorted(a.sessions) == sorted(b.sessions)
    assert [s.status for s in a.sessions.values()] == [s.status for s in b.sessions.values()]
    other = ContactCenter(seed=6, start=MORNING)
    assert ([x.public_name for x in a.agents.values()]
            != [x.public_name for x in other.agents.values()])


def test_something_changes_nearly_every_second_at_the_default_size() -> None:
    cc = ContactCenter(seed=7, start=MORNING + 6 * 3600)
    quiet = run = longest = 0
    for _ in range(300):
        cc.advance(1.0)
        # Real changes only: the tick's refresh of clock-driven metrics is kept apart.
        if cc.dirty:
            run = 0
        else:
            quiet += 1
            run += 1
            longest = max(longest, run)
        cc.take_changes()
    assert quiet <= 75, f"{quiet} of 300 seconds had no change"
    assert longest <= 8, f"{longest} quiet seconds in a row"


def test_waiting_lists_hold_exactly_the_waiting_sessions() -> None:
    cc = ContactCenter(seed=9, start=MORNING + 5 * 3600, load=2.5)
    for _ in range(30):
        cc.advance(20)
        waiting = {(s.queue_id, s.modality, s.id) for s in cc.sessions.values()
                   if s.status in WAITING_SESSION_STATUSES}
        listed = {(q.id, mod, sid) for q in cc.queues.values()
                  for mod, ids in q.waiting.items() for sid in ids}
        assert waiting == listed
        for agent in cc.agents.values():
            if agent.offer_session_id is not None and not agent.manual_status:
                assert agent.status == "ringing"


def test_status_update_changes_the_agent_and_rejects_the_seeds_bad_bodies() -> None:
    cc = ContactCenter(seed=7, start=MORNING + 6 * 3600)
    agent = next(a for a in cc.agents.values() if a.routable and a.logged_in)
    cc.update_status(agent.id, 3, 1, None)
    assert (agent.status, agent.reason_code_id) == ("unavailable", 1)
    cc.advance(3600)
    assert agent.status == "unavailable", "a status set through the API sticks"
    assert agent.offer_session_id is None and not agent.session_ids
    cc.update_status(agent.id, None, None, True)
    assert agent.suspended
    cc.update_status(agent.id, 1, None, None)
    cc.advance(600)
    assert agent.offer_session_id is None and not agent.session_ids, "suspended: no offers"
    with pytest.raises(ModelError):
        cc.update_status(agent.id, 1, 2, None)      # reason code without Unavailable
    with pytest.raises(ModelError):
        cc.update_status(agent.id, 2, None, None)   # inCall is the system's to set
    with pytest.raises(ModelError):
        cc.update_status(agent.id, None, None, None)
    cc.update_status(agent.id, None, 4, None)       # a reason code alone means Unavailable
    assert (agent.status, agent.reason_code_id) == ("unavailable", 4)


def test_recording_needs_permission_and_respects_prohibited_queues() -> None:
    cc = ContactCenter(seed=7, start=MORNING + 6 * 3600)
    supervisor = cc.agent_by_login("supervisor")
    plain = cc.agent_by_login("agent1")
    assert supervisor is not None and plain is not None
    for _ in range(60):
        live = [s for s in cc.sessions.values() if s.status == "Active" and s.can_be_recorded
                and not s.is_recording]
        if live:
            break
        cc.advance(10)
    session = live[0]
    agent_id = session.primary_agent_id
    assert agent_id is not None
    denied = cc.recording(plain, agent_id, start=True)
    assert denied and all(r["requestDenied"] for r in denied)
    results = cc.recording(supervisor, agent_id, start=True)
    mine = next(r for r in results if r["sessionId"] == session.id)
    assert mine["requestDenied"] is False
    assert mine["isRecording"] is not mine["requestFailed"]
    assert session.is_recording is mine["isRecording"]


def test_mbu_visibility_follows_roles() -> None:
    cc = ContactCenter(seed=7, start=MORNING)
    agent1 = cc.agent_by_login("agent1")
    lead1 = cc.agent_by_login("lead1")
    supervisor = cc.agent_by_login("supervisor")
    supervisor1 = cc.agent_by_login("supervisor1")
    assert None not in (agent1, lead1, supervisor, supervisor1)
    assert cc.visible_agent_ids(agent1) == {agent1.id}  # type: ignore[union-attr]
    assert cc.visible_agent_ids(lead1) == set(cc.teams[1].agent_ids)  # type: ignore[union-attr]
    assert cc.visible_agent_ids(supervisor) == set(cc.agents)  # type: ignore[arg-type]
    bu1_agents = {a for t in cc.business_units[1].team_ids for a in cc.teams[t].agent_ids}
    assert cc.visible_agent_ids(supervisor1) == bu1_agents | {supervisor1.id}  # type: ignore
    assert cc.visible_queue_ids(supervisor1) == set(cc.business_units[1].queue_ids)  # type: ignore
    assert cc.agent_by_login("CONTOSO\\agent1") is agent1


def test_alerts_are_raised_and_cleared_by_rules() -> None:
    cc = ContactCenter(seed=4, start=MORNING + 6 * 3600, load=3.0)
    cc.advance(2 * 3600)
    rules = {a.rule for a in cc.alerts.values()}
    assert "wait-warning" in rules
    cleared = [a for a in cc.alerts.values() if not a.is_active]
    assert cleared, "overload comes and goes, so some alerts clear"
    assert all(a.cleared is not None and a.cleared >= a.raised for a in cleared)
    active_keys = [(a.rule, a.entity_type, a.entity_id, a.modality)
                   for a in cc.alerts.values() if a.is_active]
    assert len(active_keys) == len(set(active_keys)), "one active alert per rule and entity"

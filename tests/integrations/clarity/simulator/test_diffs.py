"""Snapshot + diffs merged by the contract's rules equal a fresh snapshot, for every kind."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.clarity.simulator import render
from integrations.clarity.simulator.model import ContactCenter
from integrations.clarity.simulator.render import View
from integrations.clarity.simulator.subscriptions import diff_item

from .merging import Picture, item_key, without_live_fields

BUSY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()
FULL = View(include_breakdowns=True, include_status_history=True)


def _renderers(cc: ContactCenter, view: View) -> dict:
    """Every item a subscription could hold, with the model keys that make it change."""
    out = {}
    for a in cc.agents.values():
        out[("agent", a.id)] = ({("agent", a.id)},
                                lambda a=a: render.realtime_agent(cc, a, view))
    for q in cc.queues.values():
        out[("queue", q.id)] = ({("queue", q.id)},
                                lambda q=q: render.realtime_queue(cc, q, view))
    out[("aggregate",)] = ({("queue", q) for q in cc.queues},
                           lambda: render.aggregate(cc, "queue", sorted(cc.queues), view))
    for t in cc.teams.values():
        out[("group", t.id)] = ({("agent", a) for a in t.agent_ids},
                                lambda t=t: render.group_item(cc, "agent", "team", t.id,
                                                              t.agent_ids, view))
    return out


def _render_all(cc: ContactCenter, view: View) -> list[dict]:
    return [fn() for _, fn in _renderers(cc, view).values()]


def _replay(cc: ContactCenter, steps: list[float], view: View) -> tuple[Picture, list[dict]]:
    """Drive the model, sending only the dirty entities' diffs, as the server does."""
    renderers = _renderers(cc, view)
    picture = Picture()
    last = {key: fn() for key, (_, fn) in renderers.items()}
    picture.apply({"sequence": 1, "isSnapshot": True, "items": list(last.values())})
    cc.take_changes()
    sequence = 1
    for step in steps:
        cc.advance(step)
        dirty, _ = cc.take_changes()
        changed = []
        for key, (depends, fn) in renderers.items():
            if depends & dirty:
                item = fn()
                diff = diff_item(last[key], item)
                last[key] = item
                if diff is not None:
                    changed.append(diff)
        if changed:
            sequence += 1
            picture.apply({"sequence": sequence, "isSnapshot": False, "items": changed})
    return picture, _render_all(cc, view)


def _assert_converged(picture: Picture, fresh: list[dict]) -> None:
    assert picture.diffs > 0
    for item in fresh:
        assert without_live_fields(picture.items[item_key(item)]) == without_live_fields(item)


def test_merged_diffs_equal_a_fresh_snapshot_after_an_hour() -> None:
    cc = ContactCenter(seed=7, start=BUSY)
    picture, fresh = _replay(cc, [0.1] * 300 + [1.0] * 1800, FULL)
    _assert_converged(picture, fresh)


def test_filtered_views_converge_too() -> None:
    cc = ContactCenter(seed=8, start=BUSY)
    view = View(modalities=frozenset({"audio"}),
                metric_properties=frozenset({"answeredcount", "queuedcount", "availabletime"}),
                status_properties=frozenset({"agentstatus", "reasoncodename"}),
                session_properties=frozenset({"sessionstatus"}),
                include_status_history=True)
    picture, fresh = _replay(cc, [2.0] * 600, view)
    _assert_converged(picture, fresh)
    agent = next(i for i in fresh if i.get("type") == "agent" and "id" in i)
    assert set(agent["metrics"]) <= {"audio", "agnostic"}
    assert set(agent["currentStatus"]) == {"agentStatus", "reasonCodeName"}
    assert set(agent["statusHistory"][0]) == {"agentStatus", "reasonCodeName", "startTime"}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000),
       steps=st.lists(st.floats(0.05, 60.0), min_size=1, max_size=20))
def test_any_sequence_of_steps_converges(seed: int, steps: list[float]) -> None:
    cc = ContactCenter(seed=seed, start=BUSY, agents=20, queues=4, load=2.0)
    picture, fresh = _replay(cc, [*steps, 5.0, 5.0], FULL)
    for item in fresh:
        assert without_live_fields(picture.items[item_key(item)]) == without_live_fields(item)


def test_a_diff_carries_only_what_changed() -> None:
    cc = ContactCenter(seed=7, start=BUSY)
    agent = next(a for a in cc.agents.values() if a.routable and a.status == "available")
    before = render.realtime_agent(cc, agent, FULL)
    cc.update_status(agent.id, 3, 1, None)
    after = render.realtime_agent(cc, agent, FULL)
    diff = diff_item(before, after)
    assert diff is not None
    assert diff["type"] == "agent" and diff["id"] == agent.id
    assert diff["currentStatus"]["agentStatus"] == "unavailable"
    assert diff["currentStatus"]["reasonCodeName"] == "On Break"
    assert diff["statusHistory"][-1]["agentStatus"] == "available"
    assert "sessions" not in diff and "name" not in diff
    assert set(diff["metrics"]) == {"agnostic"}
    assert diff_item(after, after) is None


def test_memoized_bags_render_the_same_items_and_are_forgotten_after_the_block() -> None:
    cc = ContactCenter(seed=11, start=BUSY, agents=40, queues=4, load=2.0)
    teams = {t: cc.teams[t].agent_ids for t in cc.teams}
    queue_ids = sorted(cc.queues)

    def everything() -> list[render.Json]:
        items = [render.aggregate(cc, "agent", sorted(cc.agents), FULL),
                 render.aggregate(cc, "queue", queue_ids, FULL)]
        items += [render.group_item(cc, "agent", "team", t, ids, FULL)
                  for t, ids in teams.items()]
        return items

    plain = everything()
    with render.bags_memoized():
        memoized = everything()
        agent = next(a for a in cc.agents.values() if a.routable)
        shared = render.agent_metric_bag(cc, agent)
        assert render.agent_metric_bag(cc, agent) is shared, "computed once in the block"
    assert memoized == plain
    # Outside the block the model moves on and bags follow it.
    cc.advance(600)
    assert render.agent_metric_bag(cc, agent) is not shared
    assert everything() != plain, "ten busy minutes later the totals differ"

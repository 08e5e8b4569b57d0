"""The live widgets: which group each travels in, and their HTML."""

from __future__ import annotations

import json

from dashboard import live
from dashboard.mbu import Visibility

QUEUE_ITEM = {
    "type": "queue", "id": 3, "name": "Support",
    "metrics": {"audio": {"queuedCount": 4, "longestQueuedTime": 65000,
                          "longestQueuedStartTime": "2026-11-22T10:00:00Z", "serviceLevel": 82.4,
                          "answeredCount": 120, "abandonedCount": 7, "agentsAvailable": 2,
                          "agentsOnline": 11, "estimatedWaitTime": 90},
                "instantMessage": {"queuedCount": 0, "serviceLevel": 100.0}},
}
AGENT_ITEM = {
    "type": "agent", "id": 41, "name": "Rob T.",
    "metrics": {"audio": {"answeredCount": 5, "ronaCount": 1},
                "instantMessage": {"answeredCount": 2, "ronaCount": 0},
                "agnostic": {"availableTime": {"total": 1, "average": 1, "count": 1}}},
    "currentStatus": {"agentStatus": "unavailable", "reasonCodeName": "On Break",
                      "startTime": "2026-11-22T10:01:00Z", "isSuspended": True},
    "sessions": {"audio": {"sessions": [{"sessionId": 9, "customerName": "Ann", "queueId": 3,
                                         "isRecording": True,
                                         "answeredTimeStamp": "2026-11-22T10:00:30Z"}]}},
}


def test_each_widget_travels_in_its_entitys_group() -> None:
    assert live.group_name(("agent", 41)) == "agent.41"
    assert live.group_name(("queue", 3)) == "queue.3"
    assert live.group_name(("group", "agent", "team", 2)) == "totals.team.2"
    assert live.group_name(("aggregate", "s-1")) is None
    assert live.alert_group("Queue", 3) == "alerts.queue.3"


def test_a_page_joins_only_the_groups_of_what_its_viewer_sees() -> None:
    vis = Visibility(agent_ids=frozenset({1, 2}), queue_ids=frozenset({3}),
                     team_ids=frozenset({1}))
    overview = live.groups_for(vis, "overview")
    assert "queue.3" in overview and "totals.team.1" in overview
    assert not any(g.startswith("agent.") for g in overview)
    agents = live.groups_for(vis, "agents")
    assert {"agent.1", "agent.2"} <= set(agents) and "queue.3" not in agents
    assert "alerts.queue.3" in agents and "alerts.agent.2" in agents
    assert live.groups_for(Visibility(), "alerts") == []


def test_queue_tiles_render_with_stable_ids_for_first_render_and_swap() -> None:
    swap = live.render_widget(("queue", 3), QUEUE_ITEM, {"queue.3": "Support"}, oob=True)
    first = live.render_widget(("queue", 3), QUEUE_ITEM, {}, oob=False)
    for html in (swap, first):
        assert 'id="queue-3"' in html and 'id="queue-3-audio"' in html
        assert 'id="queue-3-instantMessage"' in html
        assert 'data-since="2026-11-22T10:00:00Z"' in html
        assert ">82%<" in html and ">4<" in html
    assert 'hx-swap-oob="true"' in swap and "hx-swap-oob" not in first


def test_an_agent_row_tells_status_by_label_and_icon_not_colour_alone() -> None:
    html = live.render_widget(("agent", 41), AGENT_ITEM, {"team-of-agent.41": "Falcons"},
                              oob=True)
    assert 'id="agent-41"' in html and "Falcons" in html
    assert "Away" in html and "On Break" in html and "Suspended" in html
    assert 'class="status-icon"' in html
    assert 'href="/sessions/9/"' in html and "REC" in html
    row = live.agent_row(41, AGENT_ITEM)
    assert row["answered"] == 7 and row["rona"] == 1


def test_meta_is_a_leading_comment_with_the_protocol_fields() -> None:
    text = live.meta("diff", epoch="e1", seq=5, upstream_ok=False,
                     since="2026-11-22T10:00:00+00:00", age=1.5, build="b1")
    assert text.startswith("<!--live ") and text.endswith("-->")
    data = json.loads(text[len("<!--live "):-3])
    assert data == {"kind": "diff", "epoch": "e1", "seq": 5, "age": 1.5, "upstream": "down",
                    "since": "2026-11-22T10:00:00+00:00", "build": "b1"}


def test_the_message_header_cannot_end_its_comment_or_open_markup() -> None:
    header = live.comment({"kind": "heartbeat", "build": "x--><script>&amp;"})
    body = header.removeprefix("<!--live ").removesuffix("-->")
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body)["build"] == "x--><script>&amp;"

"""The overview's queue tiles: levels from threshold rules, a sparkline of the last hour and
Clarity's own metric labels, in the first render and through the bridge."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from dashboard import live, store
from dashboard.models import BusinessUnit, ClarityLabels, Queue, QueueSample, ThresholdRule
from dashboard.store import Threshold
from integrations.clarity.simulator.localization import dictionary
from integrations.clarity.simulator.server import SimulatorThread

from .bridge_harness import (
    frozen_simulator,
    open_page,
    receive_until,
    running_bridge,
    split,
    superuser,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
BAG = {"queuedCount": 4, "longestQueuedTime": 65000,
       "longestQueuedStartTime": "2026-11-22T09:58:55Z", "serviceLevel": 82.4,
       "answeredCount": 120, "abandonedCount": 7, "agentsAvailable": 2, "agentsOnline": 11,
       "estimatedWaitTime": 90}
ITEM = {"name": "Support", "metrics": {"audio": BAG, "instantMessage": {"queuedCount": 0,
                                                                        "serviceLevel": 100.0}}}
EN_US = dictionary("en-us") or {}


def _tile(tiles: list[dict[str, Any]], modality: str) -> dict[str, Any]:
    return next(t for t in tiles if t["modality"] == modality)


def _levels(tile: dict[str, Any]) -> dict[str, str]:
    return {name: m["level"] for name, m in tile["metrics"].items()}


def _article(html: str, tile_id: str) -> str:
    """One tile's <article> out of a queue widget."""
    match = re.search(rf'<article id="{tile_id}".*?</article>', html, re.S)
    assert match, f"no tile {tile_id}"
    return match.group(0)


# ------------------------------------------------------------------ levels from rules
def test_without_rules_every_metric_is_ok() -> None:
    tiles = live.queue_tiles(3, ITEM, now=NOW)
    assert {lvl for t in tiles for lvl in _levels(t).values()} == {"ok"}
    assert all(t["level"] == "ok" for t in tiles)


def test_rules_colour_each_metric_by_queue_and_modality() -> None:
    rules = [
        Threshold("queuedCount", warning=3, critical=10),
        # Lower is worse for the service level; this one only for queue 3's voice.
        Threshold("serviceLevel", warning=90, critical=80, higher_is_worse=False, queue_id=3,
                  modality="audio"),
        Threshold("abandonedCount", warning=5, critical=7, queue_id=4),  # another queue
        Threshold("estimatedWaitTime", warning=60, critical=120),
    ]
    tiles = live.queue_tiles(3, ITEM, rules=rules, now=NOW)
    audio, chat = _tile(tiles, "audio"), _tile(tiles, "instantMessage")
    assert _levels(audio) == {
        "queuedCount": "warning", "longestQueuedTime": "ok", "serviceLevel": "warning",
        "answeredCount": "ok", "abandonedCount": "ok", "agentsAvailable": "ok",
        "agentsOnline": "ok", "estimatedWaitTime": "warning"}
    assert audio["level"] == "warning"
    assert set(_levels(chat).values()) == {"ok"}, "chat's service level rule is for voice only"
    critical = live.queue_tiles(3, ITEM, rules=[*rules, Threshold("abandonedCount", 5, 7)],
                                now=NOW)
    assert _tile(critical, "audio")["metrics"]["abandonedCount"]["level"] == "critical"
    assert _tile(critical, "audio")["level"] == "critical", "a tile takes its worst level"


def test_the_longest_wait_level_follows_the_clock_not_the_last_update() -> None:
    # The update said 1 s, but the oldest contact has been waiting since 09:58:55 (65 s ago).
    bag = dict(BAG, longestQueuedTime=1000)
    rule = [Threshold("longestQueuedTime", warning=60_000, critical=120_000)]
    tiles = live.queue_tiles(3, {"metrics": {"audio": bag}}, rules=rule, now=NOW)
    assert tiles[0]["metrics"]["longestQueuedTime"]["level"] == "warning"
    assert tiles[0]["longest_text"] == "1:05", "as live.js ticks it, not the stale 1 s"
    later = live.queue_tiles(3, {"metrics": {"audio": bag}}, rules=rule,
                             now=NOW + timedelta(minutes=1))
    assert later[0]["metrics"]["longestQueuedTime"]["level"] == "critical"


def test_a_level_is_told_by_shape_and_words_not_colour_alone() -> None:
    rules = [Threshold("queuedCount", warning=3, critical=4),
             Threshold("abandonedCount", warning=5, critical=100)]
    html = live.render_widget(("queue", 3), ITEM, {}, oob=True, rules=rules)
    audio = _article(html, "queue-3-audio")
    assert 'class="tile tile--critical"' in audio
    # The tile's badge says it in words; each metric's mark has the word for screen readers.
    heading = re.search(r'<h3 class="tile-modality">(.*?)</h3>', audio, re.S)
    assert heading and "Critical" in re.sub(r"<[^>]+>", "", heading.group(1))
    waiting = re.search(r'<div class="metric level-critical">(.*?)</div>', audio, re.S)
    assert waiting and '<span class="visually-hidden">Critical</span>' in waiting.group(1)
    assert 'class="level-icon"' in waiting.group(1) and 'aria-hidden="true"' in waiting.group(1)
    abandoned = re.search(r'<div class="metric level-warning">(.*?)</div>', audio, re.S)
    assert abandoned and '<span class="visually-hidden">Warning</span>' in abandoned.group(1)
    chat = _article(html, "queue-3-instantMessage")
    assert "tile--ok" in chat and "level-mark" not in chat
    assert "style=" not in html, "pages are meant for a strict CSP"


def test_the_bridge_compares_levels_to_know_which_queues_to_republish() -> None:
    before = live.queue_levels(3, ITEM, [], NOW)
    same = live.queue_levels(3, ITEM, [Threshold("queuedCount", 50, 60)], NOW)
    other = live.queue_levels(3, ITEM, [Threshold("queuedCount", 1, 2)], NOW)
    assert before == same and before != other


# ------------------------------------------------------------------ sparklines in tiles
def test_a_tile_draws_the_last_hour_with_the_current_value_as_last_point() -> None:
    now = datetime.now(tz=UTC)  # what the bridge renders at
    history = {(3, "audio"): [(now - timedelta(minutes=3), 0.0),
                              (now - timedelta(minutes=2), 7.0),
                              (now - timedelta(minutes=1), 5.0)]}
    html = live.render_widget(("queue", 3), ITEM, {}, oob=False, history=history)
    audio = _article(html, "queue-3-audio")
    assert 'aria-label="Waiting, last hour: min 0, max 7, now 4"' in audio
    assert '<path class="sparkline-line" d="M' in audio
    # No history yet (a fresh install): the current value alone is still drawn.
    chat = _article(html, "queue-3-instantMessage")
    assert 'aria-label="Waiting, last hour: min 0, max 0, now 0"' in chat
    assert '<path class="sparkline-line"' in chat


# ------------------------------------------------------------------ Clarity's labels
def test_label_prefers_claritys_text_and_falls_back_to_ours() -> None:
    assert live.label({"agentStatus.inCall": "In Call"}, "agentStatus.inCall", "x") == "In Call"
    assert live.label({"agentStatus.inCall": " "}, "agentStatus.inCall", "In call") == "In call"
    assert live.label({}, "agentStatus.busy", "Busy") == "Busy"
    assert live.label(None, "audio", "Voice") == "Voice"


def test_tiles_use_claritys_short_labels_with_the_description_as_tooltip() -> None:
    html = live.render_widget(("queue", 3), ITEM, {}, oob=False, labels=EN_US)
    audio = _article(html, "queue-3-audio")
    assert f'title="{EN_US["estimatedWaitTimeDescription"]}">' in audio
    assert ">Est. wait</dt>" in audio, "the short label, not 'Estimated wait'"
    # Two rows, each with Clarity's own short label (one joined label read awkwardly).
    assert ">Agents avail.</dt>" in audio and ">Agents online</dt>" in audio
    assert '<h3 class="tile-modality">Audio' in audio
    assert '<h3 class="tile-modality">Instant Message' in _article(html, "queue-3-instantMessage")
    french = live.render_widget(("queue", 3), ITEM, {}, oob=False, labels=dictionary("fr-fr"))
    assert ">Att. estimée</dt>" in french and "Messagerie instantanée" in french


def test_a_label_clarity_lacks_falls_back_to_the_dashboards_own() -> None:
    labels = {"queuedCountShort": "In queue", "audio": "Phone"}
    html = live.render_widget(("queue", 3), ITEM, {}, oob=False, labels=labels)
    assert ">In queue</dt>" in html and '<h3 class="tile-modality">Phone' in html
    assert ">Estimated wait</dt>" in html and '<h3 class="tile-modality">Chat' in html
    assert "title=" not in html, "no description, no empty tooltip"
    assert 'aria-label="In queue' not in html, "the sparkline names the metric in full"


# ------------------------------------------------------------------ the store
@pytest.mark.django_db
def test_labels_are_stored_per_locale_and_replaced_on_the_next_fetch() -> None:
    assert store.load_labels("en-us") == {}
    store.save_labels("EN-US", {"audio": "Audio"})
    store.save_labels("en-us", {"audio": "Voice call"})
    store.save_labels("fr-fr", {"audio": "Audio (fr)"})
    assert store.load_labels("en-us") == {"audio": "Voice call"}
    assert store.load_labels("FR-FR") == {"audio": "Audio (fr)"}
    assert ClarityLabels.objects.count() == 2


@pytest.fixture
def queues() -> dict[str, Queue]:
    unit = BusinessUnit.objects.create(clarity_id=1, name="Consumer")
    return {"sales": Queue.objects.create(clarity_id=1, name="Sales", business_unit=unit),
            "support": Queue.objects.create(clarity_id=2, name="Support", business_unit=unit)}


def _sample(queue: Queue, modality: str, minutes_ago: int, **metrics: Any) -> None:
    taken = (timezone.now() - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    QueueSample.objects.create(queue=queue, modality=modality, taken_at=taken, metrics=metrics)


@pytest.mark.django_db
def test_sparklines_and_latest_metrics_come_from_the_samples(queues: dict[str, Queue]) -> None:
    _sample(queues["sales"], "audio", 90, queuedCount=50)  # older than the hour
    _sample(queues["sales"], "audio", 3, queuedCount=1)
    _sample(queues["sales"], "audio", 2, serviceLevel=80)  # no queuedCount: a gap
    _sample(queues["sales"], "audio", 1, queuedCount=6)
    _sample(queues["support"], "message", 1, queuedCount=2, abandonedCount=1)
    since = timezone.now() - timedelta(hours=1)
    found = store.sparklines("queuedCount", since)
    assert [v for _, v in found[(1, "audio")]] == [1.0, 6.0]
    assert [v for _, v in found[(2, "message")]] == [2.0]
    assert set(store.sparklines("queuedCount", since, queue_ids=[2])) == {(2, "message")}
    latest = store.latest_queue_metrics([1, 2], since)
    assert latest == {1: {"audio": {"queuedCount": 6}},
                      2: {"message": {"queuedCount": 2, "abandonedCount": 1}}}


@pytest.mark.django_db
def test_the_first_render_uses_the_rules_labels_and_samples_the_bridge_uses(
        client: Client, queues: dict[str, Queue]) -> None:
    for minutes_ago, waiting in ((3, 1), (2, 3), (1, 5)):
        _sample(queues["sales"], "audio", minutes_ago, queuedCount=waiting, serviceLevel=70)
    _sample(queues["support"], "audio", 120, queuedCount=9)  # the bridge is long gone there
    ThresholdRule.objects.create(name="Too many waiting", metric="queuedCount", warning=2,
                                 critical=5, queue=queues["sales"])
    ThresholdRule.objects.create(name="SL", metric="serviceLevel", warning=80, critical=60,
                                 higher_is_worse=False)
    ThresholdRule.objects.create(name="Off", metric="serviceLevel", warning=100, critical=100,
                                 higher_is_worse=False, enabled=False)
    store.save_labels("en-us", EN_US)
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-12345"))
    html = client.get("/").content.decode()
    sales = _article(html, "queue-1-audio")
    assert "tile--critical" in sales
    assert re.search(r'<div class="metric level-critical"><dt[^>]*>.*?Waiting</dt>', sales, re.S)
    assert re.search(r'<div class="metric level-warning"><dt[^>]*>.*?Service level</dt>', sales,
                     re.S), "the disabled rule is ignored"
    assert 'data-metric="queuedCount">5</dd>' in sales
    assert 'aria-label="Waiting, last hour: min 1, max 5, now 5"' in sales
    assert ">Est. wait</dt>" in sales and '<h3 class="tile-modality">Audio' in sales
    support = html[html.index('id="queue-2"'):]
    assert "queue-2-audio" not in support and "Waiting for live data" in support
    assert "style=" not in html


# ------------------------------------------------------------------ through the bridge
@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the changes are the ones the tests make."""
    with frozen_simulator(seed=51) as s:
        yield s


async def _overview_page() -> WebsocketCommunicator:
    return await open_page("/ws/live/overview/", await superuser())


@pytest.mark.django_db(transaction=True)
async def test_the_bridge_labels_tiles_with_the_simulators_localization(
        sim: SimulatorThread, settings: Any) -> None:
    settings.CLARITY_LOCALE = "fr-fr"
    async with running_bridge(sim, build="test-build") as bridge:
        assert bridge.state.labels == dictionary("fr-fr")
        # Pushed HTML is ASCII with character references (LiveState.render): read it as text.
        html = unescape(bridge.state.render(("queue", 1)))
        assert ">Att. estimée</dt>" in html and "Messagerie instantanée" in html, html
        # Kept for the other processes' first renders.
        stored = await sync_to_async(store.load_labels)("fr-fr")
        assert stored["estimatedWaitTimeShort"] == "Att. estimée"
        # Exposed for other widgets (the agents page's statuses).
        assert live.label(bridge.state.labels, "agentStatus.inCall", "In call") == "En appel"


@pytest.mark.django_db(transaction=True)
async def test_a_locale_clarity_lacks_does_not_stop_the_bridge(
        sim: SimulatorThread, settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.CLARITY_LOCALE = "xx-xx"
    with caplog.at_level(logging.WARNING, logger="dashboard.bridge"):
        async with running_bridge(sim, build="test-build") as bridge:
            assert bridge.state.labels == {}
            html = bridge.state.render(("queue", 1))
            assert ">Estimated wait</dt>" in html and '<h3 class="tile-modality">Voice' in html
    assert any("xx-xx" in r.getMessage() for r in caplog.records)
    # Labels fetched before are better than none: the bridge falls back to the stored ones.
    await sync_to_async(store.save_labels)("xx-xx", {"estimatedWaitTimeShort": "Wait (old)"})
    async with running_bridge(sim, build="test-build") as bridge:
        assert ">Wait (old)</dt>" in bridge.state.render(("queue", 1))


@pytest.mark.django_db(transaction=True)
async def test_a_rule_an_admin_adds_reaches_open_pages(sim: SimulatorThread) -> None:
    async with running_bridge(sim, build="test-build") as bridge:
        page = await _overview_page()
        _, snapshot = split(await page.receive_from(timeout=5))
        assert 'id="queue-1"' in snapshot and "tile--critical" not in snapshot
        assert await bridge.reload_thresholds() == 0, "no rules yet, nothing to re-publish"

        def add_rule() -> None:
            ThresholdRule.objects.create(name="Any wait", metric="queuedCount", warning=0,
                                         critical=0, queue=Queue.objects.get(clarity_id=1))

        await sync_to_async(add_rule)()
        assert await bridge.reload_thresholds() == 1, "only queue 1's levels changed"
        meta, html = await receive_until(page, 'id="queue-1"')
        assert meta["kind"] == "diff"
        assert "tile--critical" in html and '<span class="level-mark__text">Critical</span>' in html
        assert await bridge.reload_thresholds() == 0, "the same rules again: nothing new"
        await sync_to_async(ThresholdRule.objects.all().delete)()
        assert await bridge.reload_thresholds() == 1
        _, html = await receive_until(page, 'id="queue-1"')
        assert "tile--critical" not in html
        await page.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_each_minutes_sample_redraws_the_sparklines(sim: SimulatorThread) -> None:
    async with running_bridge(sim, build="test-build") as bridge:
        page = await _overview_page()
        await page.receive_from(timeout=5)  # the snapshot
        assert bridge.state.sparklines == {}
        await bridge.persist(sample=True)
        stored = bridge.state.sparklines
        modalities = {m for q, m in stored if q == 1}
        assert modalities and all(len(points) == 1 for points in stored.values())
        _, html = await receive_until(page, 'id="queue-1"')
        assert 'class="sparkline"' in html and "Waiting, last hour" in html
        await page.disconnect()

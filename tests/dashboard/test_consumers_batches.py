"""The batch path of the page socket (LiveConsumer.live_batch): which fragments of a batch the
bridge publishes reach a page, and in which form.

The test plays the bridge on the channel layer: it answers the page's snapshot request on
live.BRIDGE_CHANNEL with the versions the page starts from, then publishes batches to
live.FRAGMENTS_GROUP as Bridge.publish does. It reads what the page finally receives over a
short time, not how many messages that takes (the consumer may merge them)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from dashboard import live, metrics
from dashboard.consumers import CLOSE_TOO_SLOW, LiveConsumer, fanout_for
from dashboard.models import Agent, BusinessUnit, Queue, SupervisorScope, Team

from .bridge_harness import messages_during, open_page, split, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

EPOCH = "epoch-1"


def _key(alert_id: int) -> str:
    return json.dumps(["alert", alert_id])


def _fragment(group: str, alert_id: int, version: int) -> list[Any]:
    """An alert's fragment as Bridge.publish sends it: [group, key, version, the item to swap
    in where the page has it, the item to add to a page that does not]."""
    return [group, _key(alert_id), version,
            f'<li id="alert-{alert_id}" hx-swap-oob="true">oob v{version}</li>',
            f'<li id="alert-{alert_id}">new v{version}</li>']


def _added(alert_id: int, version: int) -> str:
    """What a page that has never seen the alert gets: the item, added to the list."""
    return (f'<div hx-swap-oob="afterbegin:{live.ALERTS_CONTAINER}">'
            f'<li id="alert-{alert_id}">new v{version}</li></div>')


def _swapped(alert_id: int, version: int) -> str:
    return f'<li id="alert-{alert_id}" hx-swap-oob="true">oob v{version}</li>'


@pytest.fixture
def lead() -> Any:
    """A supervisor of Team Falcons: Sales (served by Falcons) and Ann are in scope; Support
    (served by Otters) is not."""
    unit = BusinessUnit.objects.create(clarity_id=1, name="Consumer")
    falcons = Team.objects.create(clarity_id=1, name="Team Falcons", business_unit=unit)
    otters = Team.objects.create(clarity_id=2, name="Team Otters", business_unit=unit)
    Queue.objects.create(clarity_id=1, name="Sales", business_unit=unit).teams.add(falcons)
    Queue.objects.create(clarity_id=2, name="Support", business_unit=unit).teams.add(otters)
    Agent.objects.create(clarity_id=11, name="Ann Lee", team=falcons)
    Agent.objects.create(clarity_id=12, name="Bob Roe", team=otters)
    user = get_user_model().objects.create_user("lead", password="x")
    SupervisorScope.objects.create(user=user).teams.add(falcons)
    return user


async def _alerts_page(layer: Any, user: Any, versions: dict[str, int],
                       ) -> WebsocketCommunicator:
    """The alerts page's socket, synced to a snapshot with `versions` (the bridge's part:
    answer the page's snapshot request)."""
    page = await open_page("/ws/live/alerts/", user)
    request = await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=5)
    assert request["type"] == "snapshot.request"
    # The page follows the alerts of what its viewer may see, and nothing else.
    assert "alerts.queue.1" in request["groups"] and "alerts.agent.11" in request["groups"]
    assert "alerts.queue.2" not in request["groups"] and "queue.1" not in request["groups"]
    meta = live.meta_fields("snapshot", epoch=EPOCH, seq=0, upstream_ok=True, since=None,
                            age=0.0, build="test-build")
    await layer.send(request["reply_to"], {
        "type": "live.snapshot", "epoch": EPOCH, "versions": versions, "meta": meta,
        "html": _swapped(901, versions[_key(901)])})
    meta, html = split(await page.receive_from(timeout=5))
    assert meta["kind"] == "snapshot" and _swapped(901, versions[_key(901)]) in html
    return page


async def _publish(layer: Any, fragments: list[list[Any]]) -> None:
    await layer.group_send(live.FRAGMENTS_GROUP, {
        "type": "live.batch", "epoch": EPOCH, "fragments": fragments})


async def _received(page: WebsocketCommunicator, seconds: float = 1.5) -> str:
    """All the HTML the page gets in the next `seconds`, as one string."""
    return "".join(html for _, html in await messages_during(page, seconds))


async def test_a_batch_adds_new_alerts_swaps_known_ones_and_drops_old_or_foreign_ones(
        layer: Any, lead: Any) -> None:
    # The snapshot the page starts from: alert 901 at version 3, alert 903 at version 5.
    page = await _alerts_page(layer, lead, {_key(901): 3, _key(903): 5})

    await _publish(layer, [
        _fragment("alerts.queue.1", 902, 1),   # never seen: added to the list
        _fragment("alerts.queue.1", 901, 4),   # known, newer: swapped in place
        _fragment("alerts.queue.1", 903, 4),   # older than the page's: dropped
        _fragment("alerts.queue.1", 903, 5),   # the page's own version: dropped
        _fragment("alerts.queue.2", 904, 1),   # Support's: out of the lead's scope
        ["queue.1", json.dumps(["queue", 1]), 9,  # a tile: not on the alerts page
         '<article id="queue-1" hx-swap-oob="true">tile</article>', None],
    ])
    first = await _received(page)

    assert _added(902, 1) in first
    assert _swapped(902, 1) not in first, "the page has no alert-902 to replace"
    assert _swapped(901, 4) in first
    assert "<li id=\"alert-901\">new" not in first, "the page has alert-901 already"
    assert "alert-903" not in first
    assert "alert-904" not in first and "queue-1" not in first

    await _publish(layer, [
        _fragment("alerts.queue.1", 902, 2),   # seen since the last batch: swapped now
        _fragment("alerts.agent.11", 905, 1),  # never seen, Ann's: added
        _fragment("alerts.queue.1", 901, 4),   # the version the page got last time: dropped
        _fragment("alerts.queue.2", 904, 2),
    ])
    second = await _received(page)

    assert _swapped(902, 2) in second and _added(902, 2) not in second
    assert _added(905, 1) in second and _swapped(905, 1) not in second
    assert "alert-901" not in second and "alert-904" not in second
    await page.disconnect()


async def test_an_expired_alert_is_deleted_where_shown_and_its_version_forgotten(
        layer: Any, lead: Any) -> None:
    page = await _alerts_page(layer, lead, {_key(901): 3})
    delete_901 = live.delete_fragment(("alert", 901), "alerts.queue.1", 4)
    await _publish(layer, [
        delete_901,
        live.delete_fragment(("alert", 906), "alerts.queue.1", 2),  # never shown here
        live.delete_fragment(("alert", 904), "alerts.queue.2", 2),  # out of scope
    ])
    got = await _received(page)
    assert got == '<li id="alert-901" hx-swap-oob="delete"></li>'
    # The same delete again: the page no longer has it, so nothing is sent.
    await _publish(layer, [delete_901])
    assert await _received(page, 1.0) == ""
    # Raised again upstream (a newer version): added to the list like a new one.
    await _publish(layer, [_fragment("alerts.queue.1", 901, 5)])
    assert _added(901, 5) in await _received(page)
    await page.disconnect()


# ---------------------------------------------------------------------------------------------
# Pages that do not keep up (acknowledgements, docs/browser-protocol.md) and junk from pages
# ---------------------------------------------------------------------------------------------


def _count(counter: Any, **labels: str) -> float:
    return float((counter.labels(**labels) if labels else counter)._value.get())


async def _ack(page: WebsocketCommunicator, seq: int) -> None:
    await page.send_to(text_data=json.dumps({"type": "ack", "seq": seq}))


async def test_a_page_that_does_not_acknowledge_gets_no_more_diffs_until_it_catches_up(
        layer: Any, lead: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "max_unacked", 3)
    dropped = _count(metrics.DROPPED)
    page = await _alerts_page(layer, lead, {_key(901): 3})  # seq 1, not acknowledged
    for version in range(4, 10):
        await _publish(layer, [_fragment("alerts.queue.1", 901, version)])
    seen = await messages_during(page, 1.0)
    # Two diffs (seq 2 and 3), then nothing: three messages are out unacknowledged.
    assert [meta["seq"] for meta, _ in seen] == [2, 3]
    assert _count(metrics.DROPPED) - dropped == 4
    # The page reads what it was sent and says so: it gets the latest state as a snapshot.
    await _ack(page, 3)
    request = await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=5)
    assert request["type"] == "snapshot.request"
    meta = live.meta_fields("snapshot", epoch=EPOCH, seq=0, upstream_ok=True, since=None,
                            age=0.0, build="test-build")
    await layer.send(request["reply_to"], {
        "type": "live.snapshot", "epoch": EPOCH, "versions": {_key(901): 9}, "meta": meta,
        "html": _swapped(901, 9)})
    meta, html = split(await page.receive_from(timeout=5))
    assert (meta["kind"], meta["seq"]) == ("snapshot", 4)
    assert _swapped(901, 9) in html
    # And diffs again after it.
    await _publish(layer, [_fragment("alerts.queue.1", 901, 10)])
    assert _swapped(901, 10) in await _received(page, 1.0)
    await page.disconnect()


async def test_a_page_that_acknowledges_gets_every_diff(
        layer: Any, lead: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "max_unacked", 3)
    page = await _alerts_page(layer, lead, {_key(901): 3})
    [consumer] = fanout_for(layer).consumers

    async def acknowledge(seq: int) -> None:
        # The consumer reads the ack in its own task; the batches come through the fan-out's.
        # Wait until the ack is read, as the page's once-a-second acks would be.
        await _ack(page, seq)
        await wait_until("the ack read", lambda: _true(consumer.acked == seq), within=5)

    await acknowledge(1)
    seqs = []
    for version in range(4, 12):
        await _publish(layer, [_fragment("alerts.queue.1", 901, version)])
        meta, _ = split(await page.receive_from(timeout=5))
        seqs.append(meta["seq"])
        await acknowledge(meta["seq"])
    assert seqs == list(range(2, 10))
    await page.disconnect()


async def test_a_page_that_stays_behind_is_closed_with_try_again_later(
        layer: Any, lead: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "max_unacked", 2)
    monkeypatch.setattr(LiveConsumer, "behind_close_seconds", 0.3)
    closed = _count(metrics.SLOW_CLOSED)
    page = await _alerts_page(layer, lead, {_key(901): 3})
    await _publish(layer, [_fragment("alerts.queue.1", 901, 4)])  # seq 2: sent
    await _publish(layer, [_fragment("alerts.queue.1", 901, 5)])  # behind from here
    await asyncio.sleep(0.5)
    await _publish(layer, [_fragment("alerts.queue.1", 901, 6)])
    assert split(await page.receive_from(timeout=5))[0]["seq"] == 2
    assert await page.receive_output(timeout=5) == {"type": "websocket.close",
                                                          "code": CLOSE_TOO_SLOW}
    assert _count(metrics.SLOW_CLOSED) - closed == 1


async def test_junk_from_a_page_is_counted_and_ignored_and_the_page_keeps_its_updates(
        layer: Any, lead: Any) -> None:
    page = await _alerts_page(layer, lead, {_key(901): 3})
    reasons = ("binary", "too large", "not json", "unknown type", "bad ack")
    before = {reason: _count(metrics.IGNORED_FRAMES, reason=reason) for reason in reasons}
    await page.send_to(bytes_data=b"\x00\x01")
    await page.send_to(text_data=json.dumps({"type": "resync", "pad": "x" * 5000}))
    await page.send_to(text_data="{not json")
    await page.send_to(text_data=json.dumps({"type": "subscribe", "group": "queue.2"}))
    await page.send_to(text_data=json.dumps(["resync"]))
    for seq in (99, -1, "1", True, None, 1.0):
        await page.send_to(text_data=json.dumps({"type": "ack", "seq": seq}))
    await _publish(layer, [_fragment("alerts.queue.1", 901, 4),
                           _fragment("alerts.queue.2", 904, 1)])
    received = await _received(page, 1.0)
    assert _swapped(901, 4) in received and "alert-904" not in received
    after = {reason: _count(metrics.IGNORED_FRAMES, reason=reason) for reason in reasons}
    assert {r: after[r] - before[r] for r in reasons} == {
        "binary": 1, "too large": 1, "not json": 1, "unknown type": 2, "bad ack": 6}
    # Nothing asked the bridge for anything (the oversized "resync" was not read).
    assert await _nothing_for_the_bridge(layer)
    await page.disconnect()


async def _true(value: bool) -> bool:
    return value


async def _nothing_for_the_bridge(layer: Any) -> bool:
    try:
        request = await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=0.3)
    except TimeoutError:
        return True
    raise AssertionError(f"the bridge was asked: {request}")


# ---------------------------------------------------------------------------------------------
# A long-lived socket's viewer, checked again
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def quick_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "heartbeat_seconds", 0.1)
    monkeypatch.setattr(LiveConsumer, "recheck_seconds", 0.2)


async def test_a_disabled_users_socket_is_closed(layer: Any, lead: Any,
                                                 quick_checks: None) -> None:
    page = await _alerts_page(layer, lead, {_key(901): 3})
    await messages_during(page, 0.5)  # heartbeats; still open
    await sync_to_async(type(lead).objects.filter(pk=lead.pk).update)(is_active=False)
    while True:
        output = await page.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == 4401


async def test_a_changed_scope_is_followed_with_a_new_snapshot(layer: Any, lead: Any,
                                                               quick_checks: None) -> None:
    page = await _alerts_page(layer, lead, {_key(901): 3})
    # An admin moves the lead from Team Falcons to Team Otters.
    scope = await sync_to_async(SupervisorScope.objects.get)(user=lead)
    otters = await sync_to_async(Team.objects.get)(name="Team Otters")
    await sync_to_async(scope.teams.set)([otters])
    request = await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=5)
    assert request["type"] == "snapshot.request"
    assert "alerts.queue.2" in request["groups"] and "alerts.queue.1" not in request["groups"]
    # Until that snapshot comes, nothing; then Support's alerts, not Sales' any more.
    meta = live.meta_fields("snapshot", epoch=EPOCH, seq=0, upstream_ok=True, since=None,
                            age=0.0, build="test-build")
    await layer.send(request["reply_to"], {
        "type": "live.snapshot", "epoch": EPOCH, "versions": {}, "meta": meta, "html": ""})
    while split(await page.receive_from(timeout=5))[0]["kind"] != "snapshot":
        pass  # heartbeats
    await _publish(layer, [_fragment("alerts.queue.1", 905, 1),
                           _fragment("alerts.queue.2", 906, 1)])
    received = await _received(page, 1.0)
    assert "alert-906" in received and "alert-905" not in received
    await page.disconnect()

"""dashboard.snapshot_transport: over Redis a snapshot's HTML is stored once in the shared
cache and fetched once per worker; with the in-memory layer it travels inline. And a page
whose snapshot reply never comes asks again (LiveConsumer.snapshot_retry_seconds)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from django.core.cache import cache

from dashboard import live
from dashboard.consumers import LiveConsumer
from dashboard.snapshot_transport import Receiver, Sender

from .bridge_harness import open_page, split, superuser

HTML = '<section id="queue-1" hx-swap-oob="true">' + "x" * 500_000 + "</section>"


async def test_in_one_process_the_html_travels_inline() -> None:
    packed = await Sender(InMemoryChannelLayer()).pack(HTML)
    assert packed == {"html": HTML}
    assert await Receiver().unpack(packed) is HTML


async def test_over_redis_the_html_is_stored_once_and_fetched_once_per_worker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Only constructed: the layer decides the mode, the cache (LocMem in tests) carries it.
    sender = Sender(RedisChannelLayer(hosts=["redis://127.0.0.1:1"]))
    stores: list[str] = []
    real_aset = cache.aset

    async def counting_aset(key: str, *args: Any, **kwargs: Any) -> None:
        stores.append(key)
        await real_aset(key, *args, **kwargs)

    monkeypatch.setattr(cache, "aset", counting_aset)
    replies = [await sender.pack(HTML) for _ in range(50)]
    assert all(reply == replies[0] for reply in replies)
    assert set(replies[0]) == {"html_digest"} and len(stores) == 1
    other = await sender.pack(HTML.replace("x", "y", 1))
    assert other != replies[0] and len(stores) == 2

    fetches: list[str] = []
    real_aget = cache.aget

    async def counting_aget(key: str, *args: Any, **kwargs: Any) -> Any:
        fetches.append(key)
        await asyncio.sleep(0.05)  # the pages of a worker ask while the first fetch is out
        return await real_aget(key, *args, **kwargs)

    monkeypatch.setattr(cache, "aget", counting_aget)
    worker = Receiver()
    got = await asyncio.gather(*(worker.unpack(reply) for reply in replies))
    assert all(html == HTML for html in got) and len(fetches) == 1
    assert await worker.unpack(other) == HTML.replace("x", "y", 1) and len(fetches) == 2
    # Another worker fetches for itself.
    assert await Receiver().unpack(replies[0]) == HTML and len(fetches) == 3
    # Gone from the cache (expired): None, and the page asks for a snapshot again.
    assert await Receiver().unpack({"html_digest": "0" * 64}) is None


@pytest.mark.django_db(transaction=True)
async def test_a_page_whose_snapshot_never_comes_asks_again(
        layer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "heartbeat_seconds", 0.2)
    monkeypatch.setattr(LiveConsumer, "snapshot_retry_seconds", 0.5)
    page = await open_page("/ws/live/overview/", await superuser())
    try:
        first = await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=5)
        assert first["type"] == "snapshot.request"
        # No answer (refused, lost): the page asks again, with the same groups.
        again = await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=5)
        assert again["type"] == "snapshot.request" and again["groups"] == first["groups"]
        assert again["reply_to"] == first["reply_to"]
        meta = live.meta_fields("snapshot", epoch="e-1", seq=0, upstream_ok=True, since=None,
                                age=0.0, build="test-build")
        await layer.send(again["reply_to"], {"type": "live.snapshot", "epoch": "e-1",
                                              "versions": {}, "meta": meta,
                                              **await Sender(layer).pack(HTML)})
        while True:
            header, html = split(await page.receive_from(timeout=5))
            if header["kind"] == "snapshot":
                break
        assert html == HTML
        # Synced: no more requests.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=1.5)
    finally:
        await page.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_page_connects_while_the_bridges_channel_is_full_and_asks_again_later(
        layer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LiveConsumer, "heartbeat_seconds", 0.2)
    monkeypatch.setattr(LiveConsumer, "snapshot_retry_seconds", 0.5)
    capacity = layer.get_capacity(live.BRIDGE_CHANNEL)
    assert capacity >= 1000, "every page of a process may ask at once"
    for _ in range(capacity):
        await layer.send(live.BRIDGE_CHANNEL, {"type": "filler"})
    page = await open_page("/ws/live/overview/", await superuser())
    try:
        await layer.flush()
        request = await asyncio.wait_for(layer.receive(live.BRIDGE_CHANNEL), timeout=5)
        assert request["type"] == "snapshot.request"
    finally:
        await page.disconnect()

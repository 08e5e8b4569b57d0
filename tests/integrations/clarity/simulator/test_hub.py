"""The simulator's subscriptions over its SignalR hub, with signalrcore 1.0.2 and pysignalr."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pysignalr.client import SignalRClient
from signalrcore.hub_connection_builder import HubConnectionBuilder

from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

from .conftest import fetch_token
from .merging import Picture, item_key, without_live_fields

API = "/webapi/api/v2"


def _token(sim: SimulatorThread, login: str = "supervisor") -> str:
    response = fetch_token(sim.url, login)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def busy() -> Iterator[SimulatorThread]:
    """Twenty simulated seconds per second, so diffs and alerts come quickly."""
    with SimulatorThread(SimulatorConfig(port=0, seed=21, speed=20.0, load=2.0,
                                                   ping_interval=1.0)) as sim:
        yield sim


@pytest.fixture(scope="module")
def frozen() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the only changes are the ones a test makes."""
    with SimulatorThread(SimulatorConfig(port=0, seed=22, speed=1e-6, ping_interval=1.0)) as sim:
        yield sim


class Client:
    """signalrcore, configured the way the bridge must (automatic reconnect keeps it pinging).

    Its stop() returns only once the server sends something, so the fixtures ping every
    second instead of every 15.
    """

    def __init__(self, sim: SimulatorThread, login: str = "supervisor") -> None:
        self.sim = sim
        self.token = _token(sim, login)
        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.hub = (HubConnectionBuilder()
                    .with_url(sim.sim.hub_url, options={"access_token_factory": lambda: self.token})
                    .with_automatic_reconnect({"type": "raw", "keep_alive_interval": 10,
                                               "reconnect_interval": 1, "max_attempts": 30})
                    .build())
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.hub.on_open(self.opened.set)
        self.hub.on_close(self.closed.set)
        self.hub.on("subscriptionUpdate", lambda args: self.messages.put(("sub", args[0])))
        self.hub.on("alertUpdate", lambda args: self.messages.put(("alert", args[0])))

    def start(self) -> Client:
        self.hub.start()
        assert self.opened.wait(10), "the hub never opened"
        return self

    def connection_id(self) -> str:
        result: queue.Queue[str] = queue.Queue()
        self.hub.send("GetConnectionId", [], on_invocation=lambda m: result.put(m.result))
        return result.get(timeout=10)

    def subscribe(self, path: str, query: str = "", **body: Any) -> httpx.Response:
        return httpx.post(f"{self.sim.url}{API}/subscriptions/{path}?{query}",
                          json={"connectionId": self.connection_id(), **body},
                          headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    def collect(self, seconds: float) -> list[dict[str, Any]]:
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.messages.get(timeout=left)[1])
            except queue.Empty:
                break
        return out

    def stop(self) -> None:
        self.hub.stop()


def _api(sim: SimulatorThread, method: str, path: str, token: str, **kwargs: Any,
         ) -> httpx.Response:
    return httpx.request(method, f"{sim.url}{API}/{path}",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10, **kwargs)


def test_every_subscription_kind_gets_a_snapshot_then_diffs_without_gaps(
        busy: SimulatorThread) -> None:
    client = Client(busy).start()
    try:
        kinds = {
            "agents": "teamIds=1,2&includeStatusHistory=true&includeBreakdowns=true",
            "agents/aggregateBy": "businessUnitIds=1",
            "agents/groupBy": "teamIds=1,2,3",
            "queues": "businessUnitIds=1,2",
            "queues/aggregateBy": "queueIds=1,2,3",
            "queues/groupBy": "groupIds=1,2",
            "alerts": "",
        }
        ids = {}
        for path, query in kinds.items():
            response = client.subscribe(path, query)
            assert response.status_code == 200, (path, response.text)
            ids[response.json()["subscriptionId"]] = path
        messages = client.collect(6)
    finally:
        client.stop()
    pictures: dict[str, Picture] = {}
    for message in messages:
        assert set(message) == {"subscriptionId", "subscriptionType", "sequence", "isSnapshot",
                                "timestamp", "items"}
        # Picture.apply fails on any gap and on a diff before the snapshot.
        pictures.setdefault(message["subscriptionId"], Picture()).apply(message)
    assert set(pictures) == set(ids)
    for sid, picture in pictures.items():
        assert picture.snapshots == 1, ids[sid]
        if ids[sid] != "alerts":
            assert picture.diffs >= 1, f"{ids[sid]} got no diff in 6 s at 20x"
    types = {m["subscriptionId"]: m["subscriptionType"] for m in messages}
    assert sorted(types.values()) == sorted(["agents", "agentsAggregate", "agentsGroup",
                                             "queues", "queuesAggregate", "queuesGroup",
                                             "alerts"])
    group_items = next(p for s, p in pictures.items() if ids[s] == "agents/groupBy").items
    assert {k[1:] for k in group_items} == {("team", 1), ("team", 2), ("team", 3)}


def test_a_status_change_arrives_as_a_diff_and_a_resnapshot_matches_the_merge(
        frozen: SimulatorThread) -> None:
    client = Client(frozen).start()
    try:
        response = client.subscribe("agents", "teamIds=2&includeStatusHistory=true")
        assert response.status_code == 200
        sid = response.json()["subscriptionId"]
        picture = Picture()
        for message in client.collect(1.0):
            picture.apply(message)
        assert picture.snapshots == 1
        # The simulator starts at the wall-clock time of day, so at a busy hour team 2 may have
        # nobody available: any agent who is not already on a break will do.
        statuses = {k[1]: picture.items[k]["currentStatus"]["agentStatus"] for k in picture.items}
        agent_id = min(statuses, key=lambda a: (statuses[a] != "available",
                                                statuses[a] == "unavailable", a))
        before = statuses[agent_id]
        assert before != "unavailable", statuses
        started = time.monotonic()
        update = _api(frozen, "POST", f"agentStatus/update/{agent_id}", client.token,
                      json={"agentStatusId": 3, "reasonCodeId": 2})
        assert update.status_code == 204, update.text
        diff = client.messages.get(timeout=2)[1]
        assert time.monotonic() - started < 2
        picture.apply(diff)
        assert diff["isSnapshot"] is False
        (item,) = [i for i in diff["items"] if i["id"] == agent_id]
        assert item["currentStatus"]["agentStatus"] == "unavailable"
        assert item["currentStatus"]["reasonCodeName"] == "At Lunch"
        assert item["statusHistory"][-1]["agentStatus"] == before
        # Updating the subscription sends a fresh snapshot, which must equal the merge.
        again = _api(frozen, "POST", f"subscriptions/{sid}", client.token,
                     params={"teamIds": "2", "includeStatusHistory": "true"}, json={})
        assert again.status_code == 204, again.text
        snapshot = client.messages.get(timeout=2)[1]
        assert snapshot["isSnapshot"] is True
        assert snapshot["sequence"] == picture.sequence + 1
        fresh = {item_key(i): without_live_fields(i) for i in snapshot["items"]}
        merged = {k: without_live_fields(v) for k, v in picture.items.items()}
        assert fresh == merged
    finally:
        client.stop()


def test_pysignalr_subscribes_and_sees_a_suspension_as_a_diff(frozen: SimulatorThread) -> None:
    token = _token(frozen)

    async def scenario() -> list[dict[str, Any]]:
        client = SignalRClient(frozen.sim.hub_url, access_token_factory=lambda: token,
                               headers={"Authorization": f"Bearer {token}"})
        loop = asyncio.get_running_loop()
        connection_id: asyncio.Future[str] = loop.create_future()
        updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def on_result(message: Any) -> None:
            connection_id.set_result(message.result)

        async def on_open() -> None:
            await client.send("GetConnectionId", [], on_invocation=on_result)

        async def on_update(arguments: Any) -> None:
            await updates.put(arguments[0])

        client.on_open(on_open)
        client.on("subscriptionUpdate", on_update)
        task = asyncio.create_task(client.run())
        try:
            cid = await asyncio.wait_for(connection_id, 10)
            async with httpx.AsyncClient(base_url=frozen.url + API,
                                         headers={"Authorization": f"Bearer {token}"}) as http:
                response = await http.post("/subscriptions/agents?agentIds=5",
                                           json={"connectionId": cid})
                assert response.status_code == 200
                snapshot = await asyncio.wait_for(updates.get(), 5)
                response = await http.post("/agentStatus/update/5",
                                           json={"isSuspended": True})
                assert response.status_code == 204
                diff = await asyncio.wait_for(updates.get(), 5)
                await http.post("/agentStatus/update/5", json={"isSuspended": False})
            return [snapshot, diff]
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    snapshot, diff = asyncio.run(scenario())
    assert snapshot["isSnapshot"] and snapshot["sequence"] == 1
    assert snapshot["items"][0]["currentStatus"]["isSuspended"] is False
    assert diff["sequence"] == 2 and not diff["isSnapshot"]
    assert diff["items"] == [{"type": "agent", "id": 5,
                              "currentStatus": {**snapshot["items"][0]["currentStatus"],
                                                "isSuspended": True}}]


def test_subscription_requests_are_checked(frozen: SimulatorThread) -> None:
    client = Client(frozen, "lead1").start()
    try:
        cid = client.connection_id()
        headers = {"Authorization": f"Bearer {client.token}"}

        def post(path: str, body: dict[str, Any]) -> httpx.Response:
            return httpx.post(f"{frozen.url}{API}/subscriptions/{path}", json=body,
                              headers=headers, timeout=10)

        assert post("agents?teamIds=1", {}).status_code == 400            # no connectionId
        assert post("agents?teamIds=1", {"connectionId": "nope"}).status_code == 400
        assert post("agents", {"connectionId": cid}).status_code == 401   # no entity id
        assert post("agents?teamIds=2", {"connectionId": cid}).status_code == 401  # not theirs
        assert post("queues?queueIds=999", {"connectionId": cid}).status_code == 401
        ok = post("agents?teamIds=1", {"connectionId": cid})
        assert ok.status_code == 200
        sid = ok.json()["subscriptionId"]
        other = _token(frozen, "supervisor")
        foreign = httpx.delete(f"{frozen.url}{API}/subscriptions/{sid}",
                               headers={"Authorization": f"Bearer {other}"})
        assert foreign.status_code == 401
        assert httpx.post(f"{frozen.url}{API}/subscriptions/unknown", json={},
                          headers=headers).status_code == 404
        assert httpx.delete(f"{frozen.url}{API}/subscriptions/{sid}",
                            headers=headers).status_code == 204
        assert httpx.delete(f"{frozen.url}{API}/subscriptions/{sid}",
                            headers=headers).status_code == 404
    finally:
        client.stop()


def test_subscriptions_end_with_their_connection(frozen: SimulatorThread) -> None:
    before = frozen.call(lambda: len(frozen.sim.subscriptions))
    client = Client(frozen).start()
    assert client.subscribe("queues", "queueIds=1").status_code == 200
    assert frozen.call(lambda: len(frozen.sim.subscriptions)) == before + 1
    client.stop()
    deadline = time.monotonic() + 5
    while frozen.call(lambda: len(frozen.sim.subscriptions)) != before:
        assert time.monotonic() < deadline, "the subscription outlived its connection"
        time.sleep(0.05)


def test_alerts_are_pushed_with_the_contract_fields(busy: SimulatorThread) -> None:
    # Push the centre into overload so that waits grow past the alert thresholds.
    busy.call(lambda: setattr(busy.sim.cc, "load", 6.0))
    try:
        busy.call(busy.sim.jump, 900)
        client = Client(busy).start()
        try:
            assert client.subscribe("alerts").status_code == 200
            messages = client.collect(2)
        finally:
            client.stop()
    finally:
        busy.call(lambda: setattr(busy.sim.cc, "load", 2.0))
    snapshot = messages[0]
    assert snapshot["subscriptionType"] == "alerts" and snapshot["isSnapshot"]
    assert snapshot["items"], "15 minutes of overload raise alerts"
    alert = snapshot["items"][0]
    assert set(alert) == {"type", "id", "name", "severity", "entityType", "entityId",
                          "entityName", "metric", "modality", "value", "threshold",
                          "isActive", "raisedTime", "clearedTime", "message"}
    assert alert["type"] == "alert" and alert["severity"] in ("warning", "critical")

"""Every fault control, through the Python API and through the HTTP control endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from integrations.clarity.simulator.server import CONTROL_PATH, SimulatorConfig, SimulatorThread

from .conftest import fetch_token
from .test_hub import API, Client


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    config = SimulatorConfig(port=0, seed=31, speed=10.0, control=True, ping_interval=1.0)
    with SimulatorThread(config) as running:
        yield running


def _token(sim: SimulatorThread) -> str:
    return fetch_token(sim.url, "supervisor").json()["access_token"]


def _profile(sim: SimulatorThread, token: str) -> httpx.Response:
    return httpx.get(f"{sim.url}{API}/profile", headers={"Authorization": f"Bearer {token}"},
                     timeout=10)


def _control(sim: SimulatorThread, **body: Any) -> httpx.Response:
    return httpx.post(sim.url + CONTROL_PATH, json=body, timeout=10)


def _negotiate(sim: SimulatorThread, token: str) -> int:
    return httpx.post(sim.sim.hub_url + "/negotiate",
                      headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def test_the_control_endpoint_is_off_unless_asked_for() -> None:
    with SimulatorThread(SimulatorConfig(port=0)) as plain:
        assert httpx.post(plain.url + CONTROL_PATH, json={"action": "drop"}).status_code == 404


def test_control_rejects_bad_input(sim: SimulatorThread) -> None:
    assert httpx.post(sim.url + CONTROL_PATH, content=b"{nope").status_code == 400
    assert _control(sim, action="explode").status_code == 400
    assert _control(sim, action="refuse").status_code == 400          # no seconds
    assert _control(sim, action="refuse", seconds=-1).status_code == 400
    assert _control(sim, action="fail_route", pattern="(").status_code == 400
    status = httpx.get(sim.url + CONTROL_PATH).json()
    assert status["agents"] > 60 and status["speed"] == 10.0


@pytest.mark.parametrize("over_http", [False, True])
def test_drop_cuts_every_hub_connection_and_its_subscriptions(sim: SimulatorThread,
                                                              over_http: bool) -> None:
    client = Client(sim).start()
    reopened = threading.Event()
    client.hub.on_reconnect(reopened.set)
    try:
        assert client.subscribe("queues", "queueIds=1").status_code == 200
        assert sim.call(lambda: len(sim.sim.subscriptions)) == 1
        if over_http:
            assert _control(sim, action="drop").json() == {"ok": True, "result": 1}
        else:
            assert sim.call(sim.sim.drop_hub_connections) == 1
        assert reopened.wait(15), "signalrcore did not reconnect after the drop"
        assert sim.call(lambda: len(sim.sim.subscriptions)) == 0
    finally:
        client.stop()


@pytest.mark.parametrize("over_http", [False, True])
def test_refuse_answers_503_for_a_while(sim: SimulatorThread, over_http: bool) -> None:
    token = _token(sim)
    assert _negotiate(sim, token) == 200
    if over_http:
        assert _control(sim, action="refuse", seconds=1.5).status_code == 200
    else:
        sim.call(sim.sim.refuse_connections, 1.5)
    assert _negotiate(sim, token) == 503
    assert _profile(sim, token).status_code == 200, "REST keeps working"
    time.sleep(1.7)
    assert _negotiate(sim, token) == 200


@pytest.mark.parametrize("over_http", [False, True])
def test_expire_tokens_makes_every_token_stale_and_closes_hub_connections(
        sim: SimulatorThread, over_http: bool) -> None:
    client = Client(sim).start()
    try:
        old = client.token
        if over_http:
            assert _control(sim, action="expire_tokens").json()["result"] == 1
        else:
            assert sim.call(sim.sim.expire_tokens) == 1
        # Closed with a Close message; signalrcore's reconnect reuses the stale token and
        # is refused, so no connection comes back.
        assert sim.call(lambda: len(sim.sim.hub.connections)) == 0
        refused = _profile(sim, old)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].endswith(
            '/webauth/token,grant_type="urn:connect.auth:windows"')
        assert _negotiate(sim, old) == 401
        fresh = _token(sim)
        assert _profile(sim, fresh).status_code == 200
        assert _negotiate(sim, fresh) == 200
    finally:
        client.stop()


def test_expire_tokens_can_leave_open_connections_alone(sim: SimulatorThread) -> None:
    client = Client(sim).start()
    try:
        assert _control(sim, action="expire_tokens", close_hub=False).json()["result"] == 0
        assert client.connection_id(), "the open connection still answers"
        assert _profile(sim, client.token).status_code == 401
    finally:
        client.stop()


@pytest.mark.parametrize("over_http", [False, True])
def test_stall_holds_pushes_then_delivers_them_in_order(sim: SimulatorThread,
                                                        over_http: bool) -> None:
    client = Client(sim).start()
    try:
        assert client.subscribe("agents", "businessUnitIds=1,2").status_code == 200
        assert client.collect(1.0), "snapshot and diffs flow before the stall"
        if over_http:
            assert _control(sim, action="stall", seconds=2).status_code == 200
        else:
            sim.call(sim.sim.stall_pushes, 2)
        client.collect(0.2)  # whatever was already on the wire
        assert client.collect(1.5) == [], "nothing arrives during a stall"
        after = client.collect(2.5)
        assert len(after) >= 2, "what was held arrives afterwards"
        sequences = [m["sequence"] for m in after]
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    finally:
        client.stop()


@pytest.mark.parametrize("over_http", [False, True])
def test_fail_route_answers_500_for_a_count_or_a_time(sim: SimulatorThread,
                                                      over_http: bool) -> None:
    token = _token(sim)
    if over_http:
        assert _control(sim, action="fail_route", pattern=r"/v2/profile$",
                        count=2).status_code == 200
    else:
        sim.call(sim.sim.fail_route, r"/v2/profile$", count=2)
    failed = _profile(sim, token)
    assert failed.status_code == 500 and failed.json() == {"message": "An error has occurred."}
    assert _profile(sim, token).status_code == 500
    assert _profile(sim, token).status_code == 200
    sim.call(sim.sim.fail_route, r"/v2/profile", seconds=0.5, status=503)
    assert _profile(sim, token).status_code == 503
    other = httpx.get(f"{sim.url}{API}/profile/mbu", headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 503, "the pattern is a regular expression on the path"
    time.sleep(0.6)
    assert _profile(sim, token).status_code == 200
    sim.call(sim.sim.fail_route, r"/v2/profile")
    assert _control(sim, action="clear").status_code == 200
    assert _profile(sim, token).status_code == 200


@pytest.mark.parametrize("over_http", [False, True])
def test_jump_runs_the_clock_forward(sim: SimulatorThread, over_http: bool) -> None:
    before = sim.call(lambda: (sim.sim.cc.now, len(sim.sim.cc.sessions)))
    if over_http:
        assert _control(sim, action="jump", seconds=3600).status_code == 200
    else:
        sim.call(sim.sim.jump, 3600)
    now, sessions = sim.call(lambda: (sim.sim.cc.now, len(sim.sim.cc.sessions)))
    assert now - before[0] >= 3600
    assert sessions > before[1] + 50, "an hour of traffic happened"


@pytest.mark.parametrize("over_http", [False, True])
def test_pause_holds_the_simulated_clock_until_it_ends_or_is_cleared(sim: SimulatorThread,
                                                                     over_http: bool) -> None:
    def now() -> float:
        return float(sim.call(lambda: sim.sim.cc.now))

    if over_http:
        assert _control(sim, action="pause", seconds=1.5).status_code == 200
    else:
        sim.call(sim.sim.pause, 1.5)
    held = now()
    time.sleep(0.5)
    assert now() == held, "the clock moved while paused"
    assert _profile(sim, _token(sim)).status_code == 200, "REST keeps working"
    time.sleep(1.3)
    moving = now()
    assert moving > held + 1, "the pause ended: the clock runs again"
    assert _control(sim, action="pause", seconds=60).status_code == 200
    time.sleep(0.3)
    paused = now()
    assert _control(sim, action="clear").status_code == 200
    time.sleep(0.5)
    assert now() > paused + 2

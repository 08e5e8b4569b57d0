"""`clarity_check` and `clarity_watch` against the real simulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command

from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorThread]:
    config = SimulatorConfig(port=0, seed=41, speed=60.0, ping_interval=2.0)
    with SimulatorThread(config) as sim:
        for name, value in {"CLARITY_URL": sim.url, "CLARITY_AUTH": "basic",
                            "CLARITY_USERNAME": "supervisor", "CLARITY_PASSWORD": "demo"}.items():
            monkeypatch.setenv(name, value)
        yield sim


def test_clarity_check_reports_every_step(simulator: SimulatorThread,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    call_command("clarity_check")
    out = capsys.readouterr().out
    for step in ("authenticate", "info", "profile", "MBU structure", "hub",
                 "subscription snapshot"):
        assert f"ok   {step}:" in out
    assert "8 queues" in out and "Clarity connection is working." in out


def test_clarity_check_names_the_first_failing_step(simulator: SimulatorThread,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLARITY_PASSWORD", "wrong")
    with pytest.raises(CommandError, match="step 'authenticate' failed"):
        call_command("clarity_check")
    assert "wrong" not in capsys.readouterr().out
    monkeypatch.setenv("CLARITY_PASSWORD", "demo")
    simulator.call(simulator.sim.refuse_connections, 30)
    with pytest.raises(CommandError, match="step 'hub' failed"):
        call_command("clarity_check")
    out = capsys.readouterr().out
    assert "ok   MBU structure" in out and "FAIL hub" in out


def test_clarity_check_refuses_a_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARITY_AUTH", "kerberos")
    with pytest.raises(CommandError, match="CLARITY_AUTH"):
        call_command("clarity_check")


def test_clarity_watch_verifies_an_hour_of_traffic_through_a_drop_and_token_expiry(
        simulator: SimulatorThread, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's acceptance check: 60 s at 60x (an hour of traffic), the hub dropped and
    every token expired on the way, and the merged picture still equals REST at the end."""
    faults = [threading.Timer(15, simulator.call, (simulator.sim.drop_hub_connections,)),
              threading.Timer(35, simulator.call, (simulator.sim.expire_tokens,))]
    for timer in faults:
        timer.start()
    try:
        call_command("clarity_watch", "--seconds", "60", "--json", "--verify")
    finally:
        for timer in faults:
            timer.cancel()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = lines[-1]["summary"]
    assert summary["verified"] is True and summary["differences"] == []
    assert summary["reconnects"] >= 2, "the drop and the expiry each forced a new connection"
    assert summary["diffs"] > 500
    assert summary["entities"]["agents"] > 60 and summary["entities"]["queues"] == 8
    restarts = {line.get("restart") for line in lines if "subscription" in line}
    assert {"initial", "reconnect"} <= restarts


def test_clarity_watch_exits_non_zero_on_a_difference(simulator: SimulatorThread) -> None:
    # A picture that is fine at first, then the feed goes silent: the hub keeps the socket
    # open but writes nothing, so the picture falls behind what REST says.
    stall = threading.Timer(2, simulator.call, (simulator.sim.stall_pushes, 60))
    stall.start()
    try:
        with pytest.raises(SystemExit) as exited:
            call_command("clarity_watch", "--seconds", "6", "--verify")
    finally:
        stall.cancel()
        simulator.call(simulator.sim.clear_faults)
    assert exited.value.code == 1

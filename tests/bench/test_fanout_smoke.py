"""bench/fanout.py runs end to end: the real simulator, dashboard and clients, a few seconds.

A smoke run, not a timing test: it checks that every figure is there and makes sense (every
client got messages, every change was timed, latencies are positive and ordered), never how
fast anything was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "bench/fanout.py", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout[-3000:]  # one JSON line; progress goes to stderr
    parsed: dict[str, Any] = json.loads(lines[0])
    return parsed


def _sane_latencies(figures: dict[str, Any]) -> None:
    assert set(figures) == {"p50", "p95", "p99", "max"}
    assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]


def test_the_run_reports_what_it_ran(result: dict[str, Any]) -> None:
    assert result["bench"] == "fanout"
    assert result["command"].startswith("bench/fanout.py") and "--quick" in result["command"]
    assert (result["clients"], result["rate"], result["agents"]) == (20, 50.0, 60)
    # Four statuses round 60 agents at 50 changes/s: a slot comes back after 4.8 s.
    assert result["alias_window_s"] == 4.8 and isinstance(result["latency_aliased"], bool)
    assert result["machine"]["nproc"] >= 1 and result["machine"]["python"]


@pytest.mark.parametrize("side", ["ours", "bare"])
def test_every_client_received_messages_and_every_change_was_timed(
        result: dict[str, Any], side: str) -> None:
    figures = result[side]
    assert figures is not None, f"the {side} phase did not run"
    assert figures["clients_with_messages"] == result["clients"]
    assert figures["min_messages_per_client"] > 0
    assert figures["open_sockets_at_end"] == result["clients"]
    assert figures["frames"] > 0 and figures["changes_seen"] > 0
    assert figures["messages_per_s"] > 0 and figures["changes_delivered_per_s"] > 0
    assert 0 < figures["delivered_fraction"] <= 1.0
    assert figures["gaps"] == 0
    _sane_latencies(figures["latency_ms"])
    _sane_latencies(figures["latency_from_push_ms"])
    server = figures["server"]
    assert server["cpu_percent"] > 0 and server["rss_mib"] > 0
    assert server["cpu_us_per_message"] > 0


def test_the_driver_made_the_changes_asked_for(result: dict[str, Any]) -> None:
    driver = result["ours"]["driver"]
    assert driver["changes"] == int(result["rate"] * result["seconds"])
    assert 0 < driver["timed"] <= driver["changes"]
    # The push comes after the change: time from the push is the shorter one.
    ours = result["ours"]
    assert ours["latency_from_push_ms"]["p50"] <= ours["latency_ms"]["p50"]


def test_the_ratios_compare_ours_with_the_bare_baseline(result: dict[str, Any]) -> None:
    ratio = result["ratio"]
    for name in ("throughput", "messages", "latency_p99", "server_cpu", "capacity"):
        assert ratio[name] is not None and ratio[name] > 0, name
    assert set(result["target"]) == {"p99_ms", "throughput_ratio", "met"}


def test_the_scale_out_run_spreads_clients_over_workers_and_delivers_everything() -> None:
    # --workers 2: redis-server, a bridge, two daphne workers; two client processes, one per
    # worker. Every client gets every change, as with the demo's one process.
    done = subprocess.run([sys.executable, "bench/fanout.py", "--quick", "--workers", "2",
                           "--client-procs", "2", "--no-baseline"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["workers"] == 2
    ours = result["ours"]
    assert ours["clients_with_messages"] == result["clients"]
    assert ours["delivered_fraction"] == 1.0
    _sane_latencies(ours["latency_ms"])
    assert "scale-out: redis on" in done.stderr

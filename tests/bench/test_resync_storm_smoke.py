"""bench/resync_storm.py runs end to end on a tiny scale: every socket gets its snapshot back
after every storm, and the figures are there (never how fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_every_socket_gets_its_snapshot_back_after_each_storm() -> None:
    done = subprocess.run([sys.executable, "bench/resync_storm.py", "--clients", "30",
                           "--agents", "60", "--rounds", "2", "--workers", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "resync_storm" and result["clients"] == 30
    assert [r["round"] for r in result["rounds"]] == [1, 2]
    for figures in result["rounds"]:
        assert 0 < figures["snapshot_p50_ms"] <= figures["snapshot_p95_ms"] \
            <= figures["snapshot_max_ms"]
        assert figures["snapshots_per_s"] > 0 and figures["server_cpu_s"] > 0

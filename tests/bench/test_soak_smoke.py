"""bench/soak.py runs end to end on a short stretch: memory is sampled, and the pages end
equal to a fresh snapshot and to the upstream (never how fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_short_soak_ends_with_the_pages_equal_to_the_upstream() -> None:
    done = subprocess.run([sys.executable, "bench/soak.py", "--minutes", "0.25", "--clients",
                           "3", "--sample", "5"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "soak" and len(result["samples"]) >= 3
    assert result["agents"] > 0 and result["agents_compared_with_upstream"] > 0
    assert result["messages_to_pages"] > 0
    assert result["snapshot_vs_upstream_mismatches"] == 0
    assert result["long_connected_vs_snapshot_mismatches"] == 0

"""Structured logs from a real process: DJANGO_LOG_FORMAT=json gives one JSON object a line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import logging
log = logging.getLogger("dashboard.test")
log.warning("page %s closed", "agents", extra={"code": 1013})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("it failed")
"""


def _run(fmt: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_LOG_FORMAT"] = fmt
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", CODE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return [line for line in done.stderr.splitlines() if "dashboard.test" in line
            or line.startswith("{")]


def test_json_logs_are_one_object_a_line_with_extras_and_the_traceback() -> None:
    lines = _run("json")
    records = [json.loads(line) for line in lines]
    warning, error = [r for r in records if r["logger"] == "dashboard.test"]
    assert warning["level"] == "WARNING"
    assert warning["message"] == "page agents closed"
    assert warning["code"] == 1013
    assert warning["time"].endswith("+00:00") and isinstance(warning["pid"], int)
    assert error["level"] == "ERROR"
    assert "ZeroDivisionError" in error["exception"]


def test_text_logs_stay_readable() -> None:
    lines = _run("text")
    assert any(" WARNING dashboard.test: page agents closed" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


def test_wallboard_tokens_are_taken_out_of_log_lines() -> None:
    token = "tOkEn_" + "x" * 37
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    code = ("import logging; logging.getLogger('django.request').warning("
            f"'Too Many Requests: %s', '/ws/wallboard/{token}/')")
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "Too Many Requests: /ws/wallboard/…/" in done.stderr
    assert token not in done.stderr

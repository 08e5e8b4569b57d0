"""PostgreSQL beside SQLite (DATABASE_URL): the migrations and the database-heavy tests run
again, in a child pytest, against a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# The modules whose code talks to the database the most: the store (bulk writes, upserts,
# sparklines), the models' constraints, scopes (subqueries), search, supervisor actions.
ON_POSTGRES = ["tests/dashboard/test_store.py", "tests/dashboard/test_models.py",
               "tests/dashboard/test_mbu.py", "tests/dashboard/test_search.py",
               "tests/dashboard/test_actions.py"]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_"))}
    env["DATABASE_URL"] = url
    return env


def test_the_migrations_apply_to_postgresql(postgres: PostgresServer) -> None:
    done = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT,
                          env=_env(postgres.url), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                            "from django.db import connection; print(connection.vendor)"],
                           cwd=ROOT, env=_env(postgres.url), capture_output=True, text=True,
                           timeout=60)
    # (the shell may print a line of its own first)
    assert check.stdout.strip().splitlines()[-1] == "postgresql", check.stdout + check.stderr


def test_the_database_tests_pass_on_postgresql(postgres: PostgresServer) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", *ON_POSTGRES], cwd=ROOT,
                          env=_env(postgres.url), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout

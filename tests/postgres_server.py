"""A real PostgreSQL server for the tests that need one: Debian's binaries, its own data
directory and port, trust authentication on loopback only, stopped afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.redis_server import free_port, terminate


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(
        f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        # Installed by `make test` (make redis); a missing server fails, never skips.
        pytest.fail(f"{name} is missing: apt-get install postgresql (`make redis` does it)")
    return found


class PostgresServer:
    def __init__(self) -> None:
        # Its own directory straight under the temporary directory: as root the server runs
        # as `postgres`, which could not enter a test's private tmp_path.
        self.directory = Path(tempfile.mkdtemp(prefix="dashboard-postgres-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgres://dash@127.0.0.1:{self.port}/dash"

    def start(self) -> PostgresServer:
        data = self.directory / "data"
        if self.prefix:
            shutil.chown(self.directory, "postgres")
        subprocess.run([*self.prefix, _binary("initdb"), "-D", str(data), "-U", "dash",
                        "-A", "trust", "--no-sync"], check=True, capture_output=True)
        log = (self.directory / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [*self.prefix, _binary("postgres"), "-D", str(data), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", str(self.directory), "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while subprocess.run([*self.prefix, _binary("pg_isready"), "-h", "127.0.0.1", "-p",
                              str(self.port)], capture_output=True).returncode != 0:
            assert self.process.poll() is None, (self.directory / "postgres.log").read_text()
            assert time.monotonic() < deadline, "postgres did not start within 30 s"
            time.sleep(0.2)
        subprocess.run([*self.prefix, _binary("createdb"), "-h", "127.0.0.1", "-p",
                        str(self.port), "-U", "dash", "dash"], check=True, capture_output=True)
        return self

    def stop(self) -> None:
        terminate(self.process, wait=20)  # runuser passes it on: a "smart" shutdown
        self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)

"""Shared fixtures for the simulator's tests over real sockets.

`simulator` is one whole server (REST, token service, hub, clock) in a background thread, per
test module: tests that change its state use agents no other test in the module relies on.
`token(login)` gets a bearer token the way a client does: HTTP Basic `login:demo` against the
token endpoint, with the default client id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from integrations.clarity.simulator.auth import GRANT_TYPE, TOKEN_PATH
from integrations.clarity.simulator.server import (
    DEFAULT_CLIENT_ID,
    SimulatorConfig,
    SimulatorThread,
)

PASSWORD = "demo"
# Short enough that a token outliving a test module is unlikely to go unnoticed, long enough
# that none expires inside one; `token` fetches a new one before that.
TOKEN_TTL = 120

TokenFactory = Callable[[str], str]


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    config = SimulatorConfig(port=0, seed=7, speed=1.0, token_ttl=TOKEN_TTL)
    with SimulatorThread(config) as running:
        yield running


def fetch_token(base_url: str, login: str, *, password: str = PASSWORD,
                client_id: str = DEFAULT_CLIENT_ID) -> httpx.Response:
    return httpx.post(base_url + TOKEN_PATH, auth=(login, password),
                      data={"grant_type": GRANT_TYPE, "client_id": client_id},
                      headers={"Accept": "application/json"}, timeout=10)


@pytest.fixture(scope="module")
def token(simulator: SimulatorThread) -> TokenFactory:
    """`token("supervisor")` -> an access token for that login (cached until near expiry)."""
    cache: dict[str, tuple[str, float]] = {}

    def get(login: str) -> str:
        cached = cache.get(login)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        response = fetch_token(simulator.url, login)
        assert response.status_code == 200, response.text
        body = response.json()
        cache[login] = (body["access_token"], time.monotonic() + body["expires_in"] - 20)
        return body["access_token"]

    return get

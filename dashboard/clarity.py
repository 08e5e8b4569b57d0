"""Where the dashboard finds its Clarity server, and the web processes' client of it.

The bridge keeps its own client (and subscription). Views and admin actions that act on
Clarity (dashboard.actions) share one ClarityClient per event loop, made on first use:
`await web_client()`. Its token is renewed by the client itself.

A ClarityClient belongs to the event loop it was first used on (its connections and locks do),
hence one per loop rather than one per process. Under daphne every request runs on the one
long-lived loop (sync views reach it through async_to_sync), so that is one client per process.
Sync code elsewhere (the test client, a WSGI server, a management command) gets a new loop per
async_to_sync call; the client made for such a loop is dropped once the loop is closed, without
a graceful close, since nothing can run on a closed loop. Such callers may rather open their own
`async with ClarityClient(clarity_config())`.

Daphne has no lifespan hook, so nothing closes the client at shutdown; the operating system
closes its sockets, and the token only ever lived in memory. `close_web_client()` closes the
current loop's client for callers that can (tests, a lifespan-capable server).
"""

from __future__ import annotations

import asyncio
import threading

from django.conf import settings

from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig

# `manage.py clarity_simulator` listens here by default; the demo starts it here too.
SIMULATOR_URL = "http://127.0.0.1:8100"

_clients: dict[asyncio.AbstractEventLoop, ClarityClient] = {}
_clients_lock = threading.Lock()


def clarity_config() -> ClarityConfig:
    """The configuration from the environment; with no CLARITY_URL, the embedded simulator."""
    config = ClarityConfig.from_env()
    if config.uses_simulator:
        config = config.with_url(getattr(settings, "CLARITY_SIMULATOR_URL", SIMULATOR_URL))
    return config


async def web_client() -> ClarityClient:
    """The client for the running event loop, made from `clarity_config()` on first use."""
    loop = asyncio.get_running_loop()
    with _clients_lock:
        # Loops that are gone keep nothing alive here.
        for closed in [other for other in _clients if other.is_closed()]:
            del _clients[closed]
        client = _clients.get(loop)
        if client is None:
            client = _clients[loop] = ClarityClient(clarity_config())
    return client


async def close_web_client() -> None:
    """Close the running loop's client, if it has one; the next `web_client()` makes anew."""
    with _clients_lock:
        client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()

"""Run a fake platform's aiohttp application on its own event loop in a background thread.

The fakes under `integrations/<platform>/fake.py` stand in for platforms that cannot be reached
here; tests and `manage.py demo` start them with this. They listen on loopback only.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class FakeServerThread:
    """`FakeServerThread(app).start()` serves `app` on 127.0.0.1 (`port=0`: any free port) until
    `stop()` (or `with FakeServerThread(app) as server:`); `url` is its address."""

    def __init__(self, app: web.Application, *, port: int = 0, name: str = "fake") -> None:
        self.app = app
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        if self._runner is not None:
            self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        # aiohttp keeps the listening socket private; port 0 needs the one the OS chose.
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]

    def start(self) -> FakeServerThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"{self._thread.name} failed to start") from self._error
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(15)

    def __enter__(self) -> FakeServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def control_body(request: web.Request) -> dict[str, Any] | web.Response:
    """A fake's control request's JSON object, or the 400 answer saying it is not one."""
    try:
        body = await request.json()
    except ValueError:
        return web.Response(status=400, text="The body must be JSON.")
    if not isinstance(body, dict):
        return web.Response(status=400, text="The body must be a JSON object.")
    return body

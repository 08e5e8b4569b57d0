"""The simulated Clarity Connect server: REST, token service, SignalR hub and fault controls.

One aiohttp application on one event loop. A clock task advances the traffic model every
`tick` seconds (times `speed`) and flushes subscription diffs, so what a subscriber sees trails
a change by at most one tick (the contract's 100 ms coalescing window).

Use it from asyncio (`Simulator.start()` / `stop()`), from threaded code and tests
(`SimulatorThread`), or from the command line (`manage.py clarity_simulator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from . import rest
from .auth import AGENT_KEY, TOKEN_PATH, TokenService, bearer_token, token_handler
from .model import Agent, ContactCenter, ModelError
from .params import BadRequest, Unauthorized
from .signalr import HubConnection, SignalRHub
from .subscriptions import NotFound, Subscriptions

log = logging.getLogger(__name__)

DEFAULT_CLIENT_ID = "0224C392-3845-4AC0-B1A0-D63706181BA7"
API_PREFIX = "/webapi/api"
CONTROL_PATH = "/_simulator/control"
T = TypeVar("T")


@dataclass
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8100
    seed: int = 7
    agents: int = 60
    queues: int = 8
    speed: float = 1.0
    password: str = "demo"  # noqa: S105 - the simulator's documented demo password
    client_id: str = DEFAULT_CLIENT_ID
    # The signing key is random per run unless given, so nothing outside can forge tokens.
    jwt_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token_ttl: int = 3600
    hub_path: str = "/webapi/hubs/subscriptions"
    control: bool = False
    tick: float = 0.1
    ping_interval: float = 15.0
    client_timeout: float = 30.0
    load: float = 1.0
    warmup: float = 900.0

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.agents < 2:
            raise ValueError("agents must be at least 2")
        if self.token_ttl < 1:
            raise ValueError("token_ttl must be at least 1 second")


@dataclass
class FailRule:
    pattern: re.Pattern[str]
    status: int
    until: float | None
    remaining: int | None
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return bool(self.pattern.search(path))


class Simulator:
    """One simulated Clarity Connect server."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        c = self.config
        self.cc = ContactCenter(seed=c.seed, agents=c.agents, queues=c.queues,
                                start=time.time(), load=c.load, warmup=c.warmup)
        self._port = c.port
        self.tokens = TokenService(self.cc, key=c.jwt_key, client_id=c.client_id,
                                   password=c.password, ttl=c.token_ttl,
                                   issuer=lambda: self.base_url + TOKEN_PATH)
        self.hub = SignalRHub(authenticate=self._hub_principal,
                              challenge=lambda _token: self.tokens.challenge(),
                              ping_interval=c.ping_interval, client_timeout=c.client_timeout,
                              on_disconnect=self._on_disconnect)
        self.hub.method("GetConnectionId")(self._get_connection_id)
        self.subscriptions = Subscriptions(self.cc, self.hub)
        self.fail_rules: list[FailRule] = []
        self.app = self._make_app()
        self._runner: web.AppRunner | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self.flushes = 0
        self._paused_until = 0.0  # loop time

    # ------------------------------------------------------------------ addresses
    @property
    def base_url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    @property
    def hub_url(self) -> str:
        return self.base_url + self.config.hub_path

    # ------------------------------------------------------------------ the app
    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024 * 1024)
        app.router.add_post(TOKEN_PATH, token_handler(self.tokens))  # type: ignore[arg-type]
        self.hub.add_routes(app, self.config.hub_path)
        rest.add_routes(app, self)
        if self.config.control:
            app.router.add_post(CONTROL_PATH, self._control)
            app.router.add_get(CONTROL_PATH, self._status)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                          ) -> web.StreamResponse:
        rule = self._failing(request.method, request.path)
        if rule is not None:
            return web.json_response({"message": "An error has occurred."}, status=rule.status)
        if not request.path.lower().startswith(API_PREFIX):
            return await handler(request)
        token = bearer_token(request)
        agent = self.tokens.verify(token) if token else None
        if agent is None:
            return web.Response(status=401,
                                headers={"WWW-Authenticate": self.tokens.challenge()})
        request[AGENT_KEY] = agent
        try:
            response = await handler(request)
        except BadRequest as exc:
            response = web.json_response({"message": str(exc)}, status=400)
        except ModelError as exc:
            response = web.json_response({"message": str(exc)}, status=400)
        except Unauthorized as exc:
            response = web.json_response({"message": str(exc) or "Authorization has been "
                                          "denied for this request."}, status=401)
        except NotFound as exc:
            response = web.json_response({"message": str(exc)}, status=404)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = web.json_response({"message": "An error has occurred."}, status=500)
        if ("gzip" in request.headers.get("Accept-Encoding", "").lower()
                and isinstance(response, web.Response) and response.body):
            response.enable_compression(web.ContentCoding.gzip)
        return response

    def _failing(self, method: str, path: str) -> FailRule | None:
        now = time.monotonic()
        self.fail_rules = [r for r in self.fail_rules
                           if (r.until is None or r.until > now)
                           and (r.remaining is None or r.remaining > 0)]
        for rule in self.fail_rules:
            if rule.matches(method, path):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule
        return None

    # ------------------------------------------------------------------ the hub side
    def _hub_principal(self, token: str | None) -> Agent | None:
        return self.tokens.verify(token) if token else None

    def _get_connection_id(self, connection: HubConnection) -> str:
        return connection.connection_id

    def _on_disconnect(self, connection: HubConnection) -> None:
        dropped = self.subscriptions.drop_connection(connection.connection_id)
        if dropped:
            log.info("connection %s closed; %d subscriptions dropped",
                     connection.connection_id, dropped)

    # ------------------------------------------------------------------ running
    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self._port = server.sockets[0].getsockname()[1]
        self._clock_task = asyncio.create_task(self._clock())
        log.info("Clarity simulator listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
            self._clock_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.config.tick)
            now = loop.time()
            if now >= self._paused_until:
                self.cc.advance((now - last) * self.config.speed)
            last = now
            await self.flush()

    async def flush(self) -> int:
        dirty, alerts = self.cc.take_changes()
        self.flushes += 1
        try:
            return await self.subscriptions.flush(dirty, alerts)
        except Exception:
            # One bad render must not stop the clock: log it and carry on with the next tick.
            log.exception("subscription flush failed")
            return 0

    # ------------------------------------------------------------------ fault controls
    async def drop_hub_connections(self) -> int:
        """Every hub connection drops as if the network went away (no Close message)."""
        return await self.hub.drop_all()

    def refuse_connections(self, seconds: float) -> None:
        """The hub answers 503 to negotiate and WebSocket requests for `seconds`."""
        self.hub.refuse_for(seconds)

    async def expire_tokens(self, close_hub: bool = True) -> int:
        """Every token issued so far stops working now; with close_hub, hub connections that
        were opened with one are closed (as ASP.NET does with CloseOnAuthenticationExpiration)."""
        self.tokens.expire_all()
        if not close_hub:
            return 0
        return await self.hub.close_where(
            lambda c: c.token is None or self.tokens.verify(c.token) is None,
            "Connection closed with an error. The access token has expired.")

    def stall_pushes(self, seconds: float) -> None:
        """Nothing is written to hub sockets for `seconds`; held messages follow afterwards."""
        self.hub.stall_for(seconds)

    def fail_route(self, pattern: str, *, status: int = 500, seconds: float | None = None,
                   count: int | None = None, method: str | None = None) -> None:
        """Requests whose path matches the regex `pattern` answer `status` for `seconds` or
        `count` requests (forever when neither is given, until `clear_faults`)."""
        until = time.monotonic() + seconds if seconds is not None else None
        self.fail_rules.append(FailRule(re.compile(pattern, re.IGNORECASE), status, until,
                                        count, method))

    def pause(self, seconds: float) -> None:
        """The simulated clock stands still for `seconds` (REST, the hub and what API calls
        change keep working): what the upstream says holds still, for comparing it with a
        client's picture without a race."""
        self._paused_until = asyncio.get_running_loop().time() + seconds

    def clear_faults(self) -> None:
        self.fail_rules.clear()
        self.hub.refuse_for(0)
        self.hub.stall_for(0)
        self._paused_until = 0.0

    async def jump(self, seconds: float) -> None:
        """Run the simulated clock forward by `seconds` at once, then push what changed."""
        if seconds < 0:
            raise ValueError("time only runs forward")
        self.cc.advance(seconds)
        await self.flush()

    # ------------------------------------------------------------------ control endpoint
    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({
            "now": self.cc.now, "speed": self.config.speed,
            "connections": len(self.hub.connections), "subscriptions": len(self.subscriptions),
            "agents": len(self.cc.agents), "queues": len(self.cc.queues),
            "sessions": len(self.cc.sessions), "failRules": len(self.fail_rules),
        })

    async def _control(self, request: web.Request) -> web.Response:
        """POST {"action": ..., ...}: the fault controls over HTTP, for out-of-process tests."""
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"message": "the body must be JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("action"), str):
            return web.json_response({"message": "the body needs an action"}, status=400)
        action = body["action"]
        try:
            result: Any = None
            if action == "drop":
                result = await self.drop_hub_connections()
            elif action == "refuse":
                self.refuse_connections(_number(body, "seconds"))
            elif action == "expire_tokens":
                result = await self.expire_tokens(bool(body.get("close_hub", True)))
            elif action == "stall":
                self.stall_pushes(_number(body, "seconds"))
            elif action == "fail_route":
                pattern = body.get("pattern")
                if not isinstance(pattern, str) or not pattern:
                    raise ValueError("pattern must be a non-empty regular expression")
                self.fail_route(pattern, status=int(body.get("status", 500)),
                                seconds=_number(body, "seconds") if "seconds" in body else None,
                                count=int(body["count"]) if "count" in body else None,
                                method=body.get("method"))
            elif action == "clear":
                self.clear_faults()
            elif action == "pause":
                self.pause(_number(body, "seconds"))
            elif action == "jump":
                await self.jump(_number(body, "seconds"))
            else:
                return web.json_response({"message": f"unknown action '{action}'"}, status=400)
        except (ValueError, TypeError, re.error) as exc:
            return web.json_response({"message": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": result})


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return float(value)


class SimulatorThread:
    """A simulator on its own event loop in a background thread (tests, threaded clients)."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig(port=0)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="clarity-simulator", daemon=True)
        self.sim: Simulator

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.sim = Simulator(self.config)
            self._loop.run_until_complete(self.sim.start())
        except BaseException as exc:  # surfaced to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.sim.stop())
        self._loop.close()

    def start(self) -> SimulatorThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError("the simulator failed to start") from self._error
        return self

    @property
    def url(self) -> str:
        return self.sim.base_url

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30, **kwargs: Any) -> Any:
        """Run `fn` (a plain or coroutine function) on the simulator's loop; return its result."""
        async def run() -> Any:
            result = fn(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(config: SimulatorConfig, ready: Callable[[Simulator], None] | None = None) -> None:
    """Run a simulator until cancelled (the management command's main loop)."""
    sim = Simulator(config)
    await sim.start()
    if ready is not None:
        ready(sim)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()

"""A step-by-step check of a Clarity connection, for people installing against a real server.

Each step says what it found or why it failed; the first failure stops the check, since every
later step needs the earlier ones (no token, no hub; no hub, no subscription).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import wire
from .client import ClarityClient
from .config import ClarityConfig
from .errors import ClarityError
from .live import HubTransport, TransportError, TransportHandlers, default_transport_factory


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str


class _Failed(Exception):
    pass


async def run_check(config: ClarityConfig, *, snapshot_timeout: float = 15.0,
                    transport_factory: Callable[[], HubTransport] = default_transport_factory,
                    ) -> list[Step]:
    """Run every step until one fails; return the steps taken."""
    steps: list[Step] = []

    async def step(name: str, action: Callable[[], Any]) -> Any:
        try:
            result = await action()
        except (ClarityError, TransportError, TimeoutError, OSError, ValueError) as exc:
            steps.append(Step(name, False, _reason(exc)))
            raise _Failed(name) from exc
        detail, value = result
        steps.append(Step(name, True, detail))
        return value

    async with ClarityClient(config) as client:
        transport: HubTransport | None = None
        try:
            async def authenticate() -> tuple[str, str]:
                token = await client.tokens.token()
                tokens = client.tokens
                expires = (datetime.fromtimestamp(tokens.expires_at, tz=UTC).isoformat(
                    timespec="seconds") if tokens.expires_at else "no expiry")
                source = tokens.token_url or "a configured token"
                return (f"{config.auth} login accepted by {source}; agent "
                        f"{tokens.agent_id or '?'}, token valid until {expires}", token)

            token = await step("authenticate", authenticate)

            async def info() -> tuple[str, None]:
                found = await client.info()
                versions = ", ".join(v.version for v in found.api_versions) or "none listed"
                return f"Connect {found.connect_version}; API versions {versions}", None

            await step("info", info)

            async def profile() -> tuple[str, None]:
                me = await client.profile()
                return f"logged in as {me.name or '?'} (agent {me.id}, team {me.team_id})", None

            await step("profile", profile)

            async def mbu() -> tuple[str, wire.MbuStructure]:
                found = await client.mbu()
                return (f"{len(found.agents)} agents, {len(found.queues)} queues, "
                        f"{len(found.teams)} teams, {len(found.groups)} groups, "
                        f"{len(found.business_units)} business units visible", found)

            structure = await step("MBU structure", mbu)

            loop = asyncio.get_running_loop()
            inbox: asyncio.Queue[tuple[str, list[Any]]] = asyncio.Queue(maxsize=1000)

            def on_message(target: str, args: list[Any]) -> None:
                # Runs on the SignalR library's thread: hand over, never block it.
                with contextlib.suppress(RuntimeError, asyncio.QueueFull):
                    loop.call_soon_threadsafe(inbox.put_nowait, (target, args))

            handlers = TransportHandlers(on_message=on_message, on_open=lambda _r: None,
                                         on_close=lambda _e: None)

            async def hub() -> tuple[str, str]:
                nonlocal transport
                transport = transport_factory()
                await transport.start(config.hub_url, token, handlers)
                async with asyncio.timeout(10):
                    connection_id = await transport.invoke(wire.HUB_GET_CONNECTION_ID, [])
                if not isinstance(connection_id, str) or not connection_id:
                    raise TransportError(f"GetConnectionId answered {connection_id!r}")
                return f"connected to {config.hub_url}; connection id {connection_id}", \
                    connection_id

            connection_id = await step("hub", hub)

            async def subscribe() -> tuple[str, None]:
                queue_ids = [q.id for q in structure.queues]
                if queue_ids:
                    sid = await client.subscribe_queues(connection_id, queue_ids=queue_ids)
                    what = f"{len(queue_ids)} queues"
                else:
                    sid = await client.subscribe_alerts(connection_id)
                    what = "alerts"
                started = time.monotonic()
                async with asyncio.timeout(snapshot_timeout):
                    while True:
                        _target, args = await inbox.get()
                        message = args[0] if args and isinstance(args[0], dict) else {}
                        if message.get("subscriptionId") == sid and message.get("isSnapshot"):
                            break
                items = message.get("items")
                count = len(items) if isinstance(items, list) else 0
                return (f"subscribed to {what}; snapshot of {count} items after "
                        f"{time.monotonic() - started:.2f} s", None)

            await step("subscription snapshot", subscribe)
        except _Failed:
            pass
        finally:
            if transport is not None:
                await transport.stop(5.0)
    return steps


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text

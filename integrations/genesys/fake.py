"""A local Genesys Cloud for one Open Messaging integration: the login service, the public API
route that describes the integration, and the outbound notification webhook's traffic.

Written apart from the client and the webhook reader (no shared code): `POST /oauth/token`
takes the OAuth client by HTTP Basic with `grant_type=client_credentials`;
`GET /api/v2/conversations/messaging/integrations/open/{id}` wants its bearer token; while
`traffic_per_minute` is above zero, outbound messages (now and then a failed delivery receipt)
are posted to the integration's webhook address, signed with its Secret Token
(`X-Hub-Signature-256: sha256=<base64 HMAC-SHA256>`).

`POST /_fake/control` changes it: `traffic_per_minute`, `status`, `create_status`,
`create_error`, `secret` (sign with another secret from now on), `revoke_tokens`, and
`send` (post one delivery now, with the given fields over a default outbound message);
`GET /_fake/state` says how many deliveries were posted and how the webhook answered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from integrations.fake_server import control_body

DEMO_CLIENT_ID = "demo-genesys-client"
DEMO_CLIENT_SECRET = "demo-genesys-secret"  # noqa: S105 - the fake's documented demo secret
DEMO_INTEGRATION_ID = "6d9a2f4c-3b1e-4c55-9a1e-2f0b7c1d8e90"


@dataclass
class FakeGenesys:
    webhook_url: str = ""
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    integration_id: str = DEMO_INTEGRATION_ID
    secret: str = DEMO_CLIENT_SECRET  # the integration's Secret Token: the seed pastes the
    # OAuth client's secret there
    traffic_per_minute: float = 0.0
    status: str = "Active"
    create_status: str = "Completed"
    create_error: str = ""
    token_ttl: int = 86399
    tokens: set[str] = field(default_factory=set)
    posted: int = 0
    answers: dict[int, int] = field(default_factory=dict)
    _sender: asyncio.Task[None] | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/api/v2/conversations/messaging/integrations/open/{id}",
                           self._integration)
        app.router.add_post("/_fake/control", self._control)
        app.router.add_get("/_fake/state", self._state)
        app.on_startup.append(self._start_sender)
        app.on_cleanup.append(self._stop_sender)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(
            f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = await request.post()
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": "invalid_client",
                                      "description": "client not found"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "bearer",
                                  "expires_in": self.token_ttl})

    async def _integration(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return web.json_response({"status": 401, "code": "bad.credentials",
                                      "message": "Invalid login credentials."}, status=401)
        if request.match_info["id"] != self.integration_id:
            return web.json_response({"status": 404, "code": "not.found",
                                      "message": "The requested integration was not found."},
                                     status=404)
        error = ({"code": "integration.error", "message": self.create_error}
                 if self.create_error else None)
        return web.json_response({
            "id": self.integration_id, "name": "Demo Open Messaging",
            "outboundNotificationWebhookUrl": self.webhook_url,
            "status": self.status, "createStatus": self.create_status, "createError": error,
            "dateCreated": "2026-01-05T09:00:00.000Z",
            "selfUri": f"/api/v2/conversations/messaging/integrations/open/"
                       f"{self.integration_id}"})

    async def _control(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        if isinstance(body, web.Response):
            return body
        for name in ("status", "create_status", "create_error", "secret", "webhook_url"):
            if name in body:
                setattr(self, name, str(body[name]))
        if "traffic_per_minute" in body:
            self.traffic_per_minute = max(0.0, float(body["traffic_per_minute"]))
        if body.get("revoke_tokens"):
            self.tokens.clear()
        answer = None
        if isinstance(body.get("send"), dict):
            answer = await self.post(self.delivery(**body["send"]))
        return web.json_response({"ok": True, "answer": answer})

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response({"posted": self.posted,
                                  "answers": {str(k): v for k, v in self.answers.items()}})

    def delivery(self, **fields: Any) -> dict[str, Any]:
        """A default outbound text message, with `fields` over it."""
        message: dict[str, Any] = {
            "id": uuid.uuid4().hex, "type": "Text", "direction": "Outbound",
            "text": "Thanks for your message, an agent will be with you shortly.",
            "channel": {"id": self.integration_id, "platform": "Open", "type": "Private",
                        "messageId": uuid.uuid4().hex,
                        "time": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
                        "to": {"id": "customer-42"}, "from": {"id": self.integration_id}}}
        message.update(fields)
        return message

    async def post(self, message: dict[str, Any], *, secret: str | None = None) -> int | None:
        """Post one delivery to the webhook; the status it answered (None: no answer)."""
        if not self.webhook_url:
            return None
        body = json.dumps(message).encode()
        digest = hmac.new((secret or self.secret).encode(), body, hashlib.sha256).digest()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": "sha256=" + base64.b64encode(digest).decode()}
        self.posted += 1
        try:
            async with aiohttp.ClientSession() as session, session.post(
                    self.webhook_url, data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=10)) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            return None
        self.answers[status] = self.answers.get(status, 0) + 1
        return status

    async def _start_sender(self, app: web.Application) -> None:
        self._sender = asyncio.create_task(self._send_traffic())

    async def _stop_sender(self, app: web.Application) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    async def _send_traffic(self) -> None:
        rng = secrets.SystemRandom()
        while True:
            rate = self.traffic_per_minute
            await asyncio.sleep(60.0 / rate * rng.uniform(0.5, 1.5) if rate > 0 else 1.0)
            if self.traffic_per_minute <= 0:
                continue
            failed = rng.random() < 0.05
            message = (self.delivery(type="Receipt", status="Failed", reasons=[
                {"code": "RecipientOptedOut", "message": "The customer opted out."}])
                if failed else self.delivery())
            await self.post(message)

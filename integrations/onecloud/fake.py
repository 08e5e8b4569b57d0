"""A local OneCloud CX tenant answering the Mobile/Web Messaging API v2 as the document says.

Written from the document, apart from the client: every request under
`/clientweb/api/v2/` is checked for `tenantUrl` (1000), the Authorization header and its
scheme and parameters (2000-2004, in that order), and a known scenario entry (5006); a body
that is not JSON is 5003. `POST chats` starts a chat (answering its `chat_id`), `POST
chats/{id}/events` with `chat_session_end` ends it (5005 for an unknown chat).

`POST /_fake/control`: `delay` (seconds before a chat request is answered), `fail_code` (answer
every chat request with that documented error code; null to stop), `entries` (the scenario
entries that exist). `GET /_fake/state`: chats started, ended and still open.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from integrations.fake_server import control_body

DEMO_TENANT = "demo.brightpattern.com"
DEMO_APP_ID = "TestChat"
# Status codes as the document's sample errors suggest; the codes are the document's.
_ERRORS = {
    "1000": (400, "Missing or invalid tenantUrl"),
    "2000": (401, "Authorization header is missing"),
    "2001": (401, "Authorization parameter format is incorrect"),
    "2002": (401, "Authorization scheme is incorrect"),
    "2003": (401, "Authorization parameter is missing: appId"),
    "2004": (401, "Authorization parameter is missing: clientId"),
    "5000": (504, "Timeout - chat server takes too long to respond"),
    "5001": (503, "No server is available to accept chat connection"),
    "5003": (400, "Error decoding JSON request body: {detail}"),
    "5005": (404, "Chat session is not found"),
    "5006": (404, "Mobile Launch Point (application) is not found"),
    "5500": (500, "Internal server error"),
    "5603": (400, "Too many parameters"),
}
_AUTH = re.compile(r'^(\S+)\s+(.*)$')
_PARAM = re.compile(r'\s*(\w+)="([^"]*)"\s*')


def _error(code: str, **detail: str) -> web.Response:
    status, message = _ERRORS[code]
    return web.json_response({"error_code": int(code), "error_message": message.format(
        detail=detail.get("detail", ""))}, status=status)


@dataclass
class FakeOneCloud:
    tenant: str = DEMO_TENANT
    entries: set[str] = field(default_factory=lambda: {DEMO_APP_ID})
    delay: float = 0.0
    fail_code: str | None = None
    started: int = 0
    open_chats: set[str] = field(default_factory=set)
    ended: int = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/clientweb/api/v2/chats", self._request_chat)
        app.router.add_post("/clientweb/api/v2/chats/{chat_id}/events", self._events)
        app.router.add_post("/_fake/control", self._control)
        app.router.add_get("/_fake/state", self._state)
        return app

    def _refusal(self, request: web.Request) -> web.Response | None:
        if request.query.get("tenantUrl") != self.tenant:
            return _error("1000")
        header = request.headers.get("Authorization")
        if not header:
            return _error("2000")
        match = _AUTH.match(header)
        if match is None:
            return _error("2001")
        scheme, rest = match.groups()
        if scheme != "MOBILE-API-140-327-PLAIN":
            return _error("2002")
        params: dict[str, str] = {}
        for part in rest.split(","):
            found = _PARAM.fullmatch(part)
            if found is None:
                return _error("2001")
            params[found.group(1)] = found.group(2)
        if not params.get("appId"):
            return _error("2003")
        if not params.get("clientId"):
            return _error("2004")
        if params["appId"] not in self.entries:
            return _error("5006")
        return None

    async def _body(self, request: web.Request,
                    ) -> tuple[dict[str, Any] | None, web.Response | None]:
        try:
            body = json.loads(await request.text())
        except ValueError as exc:
            return None, _error("5003", detail=str(exc))
        if not isinstance(body, dict):
            return None, _error("5003", detail="not an object")
        return body, None

    async def _request_chat(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        body, problem = await self._body(request)
        if problem is not None or body is None:
            return problem or _error("5003")
        parameters = body.get("parameters") or {}
        if isinstance(parameters, dict) and len(parameters) > 50:
            return _error("5603")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_code is not None:
            return _error(self.fail_code)
        chat_id = uuid.uuid4().hex
        self.started += 1
        self.open_chats.add(chat_id)
        return web.json_response({"chat_id": chat_id,
                                  "phone_number": str(body.get("phone_number") or "")})

    async def _events(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        body, problem = await self._body(request)
        if problem is not None or body is None:
            return problem or _error("5003")
        chat_id = request.match_info["chat_id"]
        if chat_id not in self.open_chats:
            return _error("5005")
        events = body.get("events")
        if isinstance(events, list) and any(
                isinstance(e, dict) and e.get("event") == "chat_session_end" for e in events):
            self.open_chats.discard(chat_id)
            self.ended += 1
        return web.json_response({})

    async def _control(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        if isinstance(body, web.Response):
            return body
        if "delay" in body:
            self.delay = max(0.0, float(body["delay"]))
        if "fail_code" in body:
            code = body["fail_code"]
            if code is not None and str(code) not in _ERRORS:
                return web.Response(status=400, text=f"fail_code: one of {sorted(_ERRORS)}")
            self.fail_code = str(code) if code is not None else None
        if isinstance(body.get("entries"), list):
            self.entries = {str(e) for e in body["entries"]}
        return web.json_response({"ok": True})

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response({"started": self.started, "ended": self.ended,
                                  "open": len(self.open_chats)})

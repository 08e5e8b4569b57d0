"""A local OpenMethods Connect API, answering as `openmethods-connect-api.txt` says.

Written from the document, not from the client (they share no code): the four sendmessage
routes, GET and POST each; parameters looked up without regard to case, since the document's
table and samples spell them both ways (`agentId` / `agentid`); 401 for a wrong API key; on
success the JSON answer (`v1/CTI`), the string `"Result:OK"` (`CTI`) or the self-closing page
(`bc/CTI`). Where the document is silent the fake chooses, and docs/integrations.md says so:
the CRM route answers like `v1/CTI`; a missing parameter or a body that is not a JSON object
gets 400 with a line of text.

Every accepted event is kept (newest last, at most `KEEP`) and listed at `GET /_fake/events`
(without the key); `POST /_fake/control` changes the key (`{"api_key": ...}`, as if it were
re-generated), makes every send fail with a status (`{"fail_status": 503}`, `null` to stop) or
forgets the events (`{"clear": true}`).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from integrations.fake_server import control_body

KEEP = 500
# The key the fake accepts unless told otherwise (the demo configures the dashboard with it).
DEMO_API_KEY = "demo-openmethods-api-key"

_BC_OK = ("<body> Result:OK <br>This Browser will close in a second... </body> "
          "<script type='text/javascript'> setTimeout(function(){window.open('','_parent',''); "
          "window.close(); }, 100); </script>")
_BC_ERROR = ("<body> Error Message : <b></b> : {error} <br>This Browser will close in 2 "
             "seconds... </body> <script type='text/javascript'> setTimeout(function()"
             "{{window.open('','_parent',''); window.close(); }}, 2000); </script>")


@dataclass
class FakeOpenMethods:
    """The fake's state: the API key it accepts and the events it was sent."""

    api_key: str = DEMO_API_KEY
    fail_status: int | None = None
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEEP))

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        for path, kind in (("/api/sendmessage/CRM", "crm"), ("/api/sendmessage/v1/CTI", "json"),
                           ("/api/sendmessage/CTI", "string"), ("/api/sendmessage/bc/CTI", "bc")):
            handler = self._handler(kind)
            app.router.add_route("GET", path, handler)
            app.router.add_route("POST", path, handler)
        app.router.add_get("/_fake/events", self._events)
        app.router.add_post("/_fake/control", self._control)
        return app

    def _handler(self, kind: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._send(request, kind)
        return handle

    async def _send(self, request: web.Request, kind: str) -> web.StreamResponse:
        if request.method == "POST":
            try:
                body = json.loads(await request.text())
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return web.Response(status=400, text="The body must be a JSON object.")
            given = {str(k): v for k, v in body.items()}
        else:
            given = dict(request.query)
        lowered = {k.lower(): k for k in given}
        required = ["agentid", "jwt", "event"] + (["crmid"] if kind == "crm" else [])
        missing = [name for name in required if name not in lowered]
        if missing:
            return web.Response(status=400, text=f"Missing parameter: {missing[0]}")
        if any(not isinstance(given[lowered[name]], str) for name in required):
            return web.Response(status=400, text="Parameters must be strings.")
        if given[lowered["jwt"]] != self.api_key:
            if kind == "bc":
                return web.Response(status=401, content_type="text/html", text=_BC_ERROR.format(
                    error="IDX12729: Unable to decode the header '[PII is hidden]' as Base64Url "
                          "encoded string."))
            return web.Response(status=401, text="Unauthorized")
        if self.fail_status is not None:
            return web.Response(status=self.fail_status, text="Simulated failure")
        own = {lowered[name] for name in required}
        self.events.append({
            "route": kind, "method": request.method, "time": time.time(),
            "agent_id": given[lowered["agentid"]], "event": given[lowered["event"]],
            "crm_id": given[lowered["crmid"]] if kind == "crm" else None,
            "properties": {k: v for k, v in given.items() if k not in own},
        })
        if kind == "string":
            return web.json_response("Result:OK")
        if kind == "bc":
            return web.Response(content_type="text/html", text=_BC_OK)
        return web.json_response({"result": "Success", "message": "OK"})

    async def _events(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.events))

    async def _control(self, request: web.Request) -> web.Response:
        body = await control_body(request)
        if isinstance(body, web.Response):
            return body
        if "api_key" in body:
            self.api_key = str(body["api_key"])
        if "fail_status" in body:
            status = body["fail_status"]
            if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
                return web.Response(status=400, text="fail_status: an HTTP error status or null")
            self.fail_status = status
        if body.get("clear"):
            self.events.clear()
        return web.json_response({"ok": True})

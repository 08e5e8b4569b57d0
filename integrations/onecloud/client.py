"""The OneCloud CX Mobile/Web Messaging API v2, as far as probing a chat entry point needs it.

From the document (`onecloud-mobile-web-messaging-api-v2.txt`):

- every route is under `https://<tenant host>/clientweb/api/v2/`, with the query parameter
  `tenantUrl` (the contact center's domain), the header
  `Authorization: MOBILE-API-140-327-PLAIN appId="<scenario entry>", clientId="<client>"`,
  and `User-Agent: MobileClient` for anything that is not a browser;
- a chat is requested with `POST chats` and a JSON body (`phone_number`, `parameters`);
- an error answers `{"error_code": ..., "error_message": ...}`; ERROR_CAUSES maps every code
  the document lists to what it means for whoever runs the probe.

Not in the document, from the same API's v1 conventions (docs/integrations.md): the request's
answer carries the new chat's `chat_id`, and a chat is ended by posting the event
`chat_session_end` to `chats/<chat_id>/events`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .errors import OneCloudConfigError, OneCloudRefused, OneCloudUnavailable

PREFIX = "/clientweb/api/v2/"
SCHEME = "MOBILE-API-140-327-PLAIN"
USER_AGENT = "MobileClient"
# The document's error codes, each with what it means for the entry point being probed.
ERROR_CAUSES = {
    "1000": "the tenant URL is missing or wrong (tenantUrl: the domain shown at the top right "
            "of the Contact Center Administrator application)",
    "2000": "the request carried no Authorization header",
    "2001": "the Authorization header is not in the expected format",
    "2002": "the Authorization scheme is not MOBILE-API-140-327-PLAIN",
    "2003": "the Authorization header has no appId (the scenario entry's identifier)",
    "2004": "the Authorization header has no clientId",
    "3000": "the application unique id is missing or invalid",
    "5000": "the chat server took too long to answer",
    "5001": "no chat server is available to accept the chat",
    "5003": "the chat server could not decode the request's JSON",
    "5004": "the chat server disconnected",
    "5005": "the chat session was not found (it may have ended already)",
    "5006": "the scenario entry (Mobile Launch Point) was not found: check the appId",
    "5500": "the chat server had an internal error",
    "5501": "an upload was over the size limit",
    "5502": "a file was not found",
    "5509": "too many concurrent poll requests for the same session",
    "5511": "no events",
    "5558": "a file operation failed",
    "5955": "an unspecified server error",
    "5601": "no case is set for this session",
    "5602": "the CRM server answered with an error",
    "5603": "too many parameters in the request",
}
_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


@dataclass(frozen=True)
class EntryPoint:
    """One chat scenario entry to probe."""

    base_url: str  # https://tenant.cx.onecloud.com
    tenant_url: str  # yourcompany.brightpattern.com
    app_id: str
    client_id: str
    phone_number: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    timeout: float = 15.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            raise OneCloudConfigError(f"the API address must be an http(s) URL, not "
                                      f"{self.base_url!r}")
        if parts.scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
            raise OneCloudConfigError("the API address must use https (http only on loopback)")
        for name in ("app_id", "client_id"):
            if not _ID.match(getattr(self, name)):
                # Quotes or commas would break the Authorization header's syntax.
                raise OneCloudConfigError(f"{name} must be 1 to 128 letters, digits or ._:@-")
        if not self.tenant_url.strip():
            raise OneCloudConfigError("the tenant URL is required")


@dataclass(frozen=True)
class ProbeResult:
    """How one probe went: `accepted` with the time the request took, or why not."""

    accepted: bool
    seconds: float | None
    chat_id: str = ""
    ended: bool = False
    status: int | None = None
    code: str = ""
    cause: str = ""


def authorization(entry: EntryPoint) -> str:
    return f'{SCHEME} appId="{entry.app_id}", clientId="{entry.client_id}"'


class OneCloudClient:
    """Talks to one entry point's tenant; `transport` is for tests (httpx.MockTransport)."""

    def __init__(self, entry: EntryPoint, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.entry = entry
        self._http = httpx.AsyncClient(
            base_url=entry.base_url.rstrip("/") + PREFIX, timeout=entry.timeout,
            transport=transport, follow_redirects=False,
            params={"tenantUrl": entry.tenant_url},
            headers={"Authorization": authorization(entry), "User-Agent": USER_AGENT,
                     "Content-Type": "application/json; charset=UTF-8"})

    async def __aenter__(self) -> OneCloudClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def request_chat(self) -> str:
        """Start a chat; its chat_id."""
        body: dict[str, Any] = {"phone_number": self.entry.phone_number,
                                "parameters": dict(self.entry.parameters)}
        data = await self._call("POST", "chats", body)
        chat_id = data.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise OneCloudRefused("the chat request's answer has no chat_id", status=200)
        return chat_id

    async def end_chat(self, chat_id: str) -> None:
        await self._call("POST", f"chats/{quote(chat_id, safe='')}/events",
                         {"events": [{"event": "chat_session_end"}]})

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.TimeoutException as exc:
            raise OneCloudUnavailable(f"no answer in {self.entry.timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise OneCloudUnavailable(f"could not connect: {type(exc).__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if not 200 <= response.status_code < 300:
            if isinstance(data, dict) and "error_code" in data:
                code = str(data.get("error_code"))
                cause = ERROR_CAUSES.get(code, str(data.get("error_message") or "unknown"))
                raise OneCloudRefused(cause, status=response.status_code, code=code)
            raise OneCloudRefused(f"HTTP {response.status_code} without an error body",
                                  status=response.status_code)
        return data if isinstance(data, dict) else {}


async def probe(entry: EntryPoint, *, transport: httpx.AsyncBaseTransport | None = None,
                clock: Any = time.monotonic) -> ProbeResult:
    """Start a chat on `entry`, time its acceptance, end it. Never raises for the API's own
    failures: they are the result."""
    async with OneCloudClient(entry, transport=transport) as client:
        started = clock()
        try:
            chat_id = await client.request_chat()
        except (OneCloudRefused, OneCloudUnavailable) as exc:
            return ProbeResult(False, None, status=exc.status, code=exc.code or "",
                               cause=exc.message)
        seconds = clock() - started
        try:
            await client.end_chat(chat_id)
        except (OneCloudRefused, OneCloudUnavailable) as exc:
            # Accepted, but left open: say so (an open test chat ties up the scenario).
            return ProbeResult(True, seconds, chat_id, ended=False, status=exc.status,
                               code=exc.code or "", cause=f"ending the chat: {exc.message}")
        return ProbeResult(True, seconds, chat_id, ended=True, status=200)

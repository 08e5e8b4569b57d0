"""The OpenMethods Connect API client: one call, "send this PopFlow event to this agent".

From the document (`openmethods-connect-api.txt`):

- Routes on https://connect.openmethodscloud.com: `/api/sendmessage/v1/CTI` (a logged-in CTI
  agent; answers JSON `{"result": "Success", "message": "OK"}`), `/api/sendmessage/CTI` (the
  same, answering the string `"Result:OK"`) and `/api/sendmessage/CRM` (an agent whose client
  is loaded but not logged in to the CTI, named by the CRM instance). The `bc/CTI` route is for
  a browser window that closes itself and is not used here.
- POST with a JSON body is preferred (the key stays out of URLs and logs); GET with query
  parameters is supported because the document supports it.
- Parameters: `agentId` (CTI login: case sensitive; CRM login: all lower case), `jwt` (the API
  key), `crmId` (CRM route only), `event` (case and length sensitive, spaces included: sent
  exactly as typed), and any further properties as interaction data. The POST sample spells
  the body's keys in lower case (`agentid`, `crmid`), the GET sample in camel case; each form
  is sent as its own sample shows.
- 401 means the API key is wrong: regenerate it in Experience Cloud.
- connect.openmethods.com is end of life: refused here, before anything is sent.

The document does not say what the CRM route answers; either success form is accepted there.
Nothing is retried: a repeated event would pop twice on the agent's screen.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from .errors import (
    OpenMethodsBadRequest,
    OpenMethodsConfigError,
    OpenMethodsError,
    OpenMethodsLegacyHost,
    OpenMethodsRejected,
    OpenMethodsUnauthorized,
    OpenMethodsUnavailable,
)

DEFAULT_URL = "https://connect.openmethodscloud.com"
LEGACY_HOST = "connect.openmethods.com"
LEGACY_ADVICE = (
    "connect.openmethods.com is a legacy end-of-life address: use connect.openmethodscloud.com "
    "instead (in this setting and in every PopFlow that names the old one), and re-generate the "
    "API key (Experience Cloud > System Settings > API Key > Re-generate), since the old key "
    "goes with the old address."
)
REGENERATE_ADVICE = (
    "OpenMethods refused the API key (401). Check OPENMETHODS_API_KEY; if it was re-generated, "
    "copy the new one from Experience Cloud > System Settings > API Key."
)

Route = Literal["cti", "crm"]
CtiAnswer = Literal["json", "string"]
Method = Literal["POST", "GET"]

CTI_JSON_PATH = "/api/sendmessage/v1/CTI"
CTI_STRING_PATH = "/api/sendmessage/CTI"
CRM_PATH = "/api/sendmessage/CRM"
# The document's required parameters, which a supervisor's property may not shadow (compared
# without case: the two samples spell them differently).
RESERVED = frozenset({"agentid", "jwt", "crmid", "event"})
MAX_PROPERTIES = 20
MAX_NAME = 64
MAX_VALUE = 1000
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_STRING_OK = "Result:OK"


@dataclass(frozen=True)
class OpenMethodsConfig:
    """Where and how to send. `crm_id` is needed only for the CRM route."""

    api_key: str
    base_url: str = DEFAULT_URL
    crm_id: str = ""
    cti_answer: CtiAnswer = "json"
    method: Method = "POST"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.api_key.strip():
            raise OpenMethodsConfigError("OPENMETHODS_API_KEY is empty")
        parts = urlsplit(self.base_url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise OpenMethodsConfigError(
                f"OPENMETHODS_URL must be an http(s) address, not {self.base_url!r}")
        if host == LEGACY_HOST:
            raise OpenMethodsLegacyHost(LEGACY_ADVICE)
        if parts.scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
            # The key travels in every request.
            raise OpenMethodsConfigError("OPENMETHODS_URL must use https (http only on loopback)")
        if self.cti_answer not in ("json", "string"):
            raise OpenMethodsConfigError("OPENMETHODS_CTI_ANSWER must be json or string")
        if self.method not in ("POST", "GET"):
            raise OpenMethodsConfigError("OPENMETHODS_METHOD must be POST or GET")
        if not 0 < self.timeout <= 120:
            raise OpenMethodsConfigError("OPENMETHODS_TIMEOUT must be between 0 and 120 seconds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OpenMethodsConfig | None:
        """The configuration from OPENMETHODS_* variables; None (integration off) when
        OPENMETHODS_API_KEY is unset or empty."""
        env = os.environ if environ is None else environ
        key = env.get("OPENMETHODS_API_KEY", "")
        if not key:
            return None
        timeout_text = env.get("OPENMETHODS_TIMEOUT", "10")
        try:
            timeout = float(timeout_text)
        except ValueError:
            raise OpenMethodsConfigError(
                f"OPENMETHODS_TIMEOUT must be a number of seconds, not {timeout_text!r}") from None
        answer = env.get("OPENMETHODS_CTI_ANSWER", "json").strip().lower()
        method = env.get("OPENMETHODS_METHOD", "POST").strip().upper()
        return cls(api_key=key, base_url=env.get("OPENMETHODS_URL", "") or DEFAULT_URL,
                   crm_id=env.get("OPENMETHODS_CRM_ID", "").strip(),
                   cti_answer=answer,  # type: ignore[arg-type]  # checked in __post_init__
                   method=method,  # type: ignore[arg-type]
                   timeout=timeout)


@dataclass(frozen=True)
class Sent:
    """OpenMethods accepted the event."""

    route: str
    status: int
    message: str


def check_properties(properties: Mapping[str, str]) -> dict[str, str]:
    """The properties as they will be sent; OpenMethodsBadRequest naming the first bad one."""
    if len(properties) > MAX_PROPERTIES:
        raise OpenMethodsBadRequest(f"at most {MAX_PROPERTIES} properties")
    checked: dict[str, str] = {}
    for name, value in properties.items():
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME:
            raise OpenMethodsBadRequest(
                f"property name {name!r}: letters, digits, '_', '.' or '-', at most {MAX_NAME}")
        if name.lower() in RESERVED:
            raise OpenMethodsBadRequest(f"property name {name!r} is one of the API's own")
        if name.lower() in {n.lower() for n in checked}:
            raise OpenMethodsBadRequest(f"property name {name!r} is given twice")
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise OpenMethodsBadRequest(
                f"property {name!r}: text of at most {MAX_VALUE} characters")
        checked[name] = value
    return checked


class OpenMethodsClient:
    """Sends PopFlow events. Use as `async with OpenMethodsClient(config) as client:`, or call
    `aclose()`. `transport` is for tests (httpx.MockTransport)."""

    def __init__(self, config: OpenMethodsConfig, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.AsyncClient(base_url=config.base_url.rstrip("/"),
                                       timeout=config.timeout, transport=transport,
                                       follow_redirects=False)

    async def __aenter__(self) -> OpenMethodsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send_cti(self, login: str, event: str,
                       properties: Mapping[str, str] | None = None) -> Sent:
        """Send `event` to the agent logged in to the CTI as `login` (case sensitive)."""
        path = CTI_JSON_PATH if self.config.cti_answer == "json" else CTI_STRING_PATH
        return await self._send(path, _required(login, "CTI login"), event, None, properties)

    async def send_crm(self, login: str, event: str,
                       properties: Mapping[str, str] | None = None) -> Sent:
        """Send `event` to the agent whose client is loaded under CRM user `login` (sent in
        lower case, as the document asks) in the configured CRM instance."""
        if not self.config.crm_id:
            raise OpenMethodsConfigError("OPENMETHODS_CRM_ID is not set: the CRM route needs it")
        return await self._send(CRM_PATH, _required(login, "CRM login").lower(), event,
                                self.config.crm_id, properties)

    async def _send(self, path: str, agent: str, event: str, crm_id: str | None,
                    properties: Mapping[str, str] | None) -> Sent:
        if not isinstance(event, str) or not event.strip():
            raise OpenMethodsBadRequest("an event name is required")
        extra = check_properties(properties or {})
        method = self.config.method
        route = f"{method} {path}"
        try:
            if method == "POST":
                body: dict[str, str] = {"agentid": agent, "jwt": self.config.api_key}
                if crm_id is not None:
                    body["crmid"] = crm_id
                body["event"] = event
                response = await self._http.post(path, json={**body, **extra})
            else:
                query: dict[str, str] = {"agentId": agent, "jwt": self.config.api_key}
                if crm_id is not None:
                    query["crmId"] = crm_id
                query["event"] = event
                response = await self._http.get(path, params={**query, **extra})
        except httpx.TimeoutException as exc:
            raise OpenMethodsUnavailable(f"no answer in {self.config.timeout:g} s",
                                         route=route) from exc
        except httpx.TransportError as exc:
            raise OpenMethodsUnavailable(f"could not connect: {type(exc).__name__}",
                                         route=route) from exc
        return _read(response, route, path)


def _required(login: str, what: str) -> str:
    if not isinstance(login, str) or not login.strip():
        raise OpenMethodsBadRequest(f"the agent's {what} is required")
    return login


def _read(response: httpx.Response, route: str, path: str) -> Sent:
    status = response.status_code
    text = response.text
    if status == 401:
        raise OpenMethodsUnauthorized(REGENERATE_ADVICE, status=status, route=route)
    if not 200 <= status < 300:
        raise OpenMethodsRejected(_excerpt(text) or response.reason_phrase, status=status,
                                  route=route)
    parsed: Any
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text.strip()
    wants_json, wants_string = path == CTI_JSON_PATH, path == CTI_STRING_PATH
    if isinstance(parsed, dict) and not wants_string:
        if str(parsed.get("result", "")).lower() == "success":
            return Sent(route, status, str(parsed.get("message", "")))
        raise OpenMethodsRejected(
            f"answered {parsed.get('result')!r}: {_excerpt(str(parsed.get('message', '')))}",
            status=status, route=route)
    if isinstance(parsed, str) and not wants_json and parsed.strip() == _STRING_OK:
        return Sent(route, status, parsed.strip())
    raise OpenMethodsRejected(f"unexpected answer: {_excerpt(text)!r}", status=status,
                              route=route)


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


__all__ = [
    "DEFAULT_URL", "LEGACY_ADVICE", "REGENERATE_ADVICE", "OpenMethodsClient", "OpenMethodsConfig",
    "OpenMethodsError", "Sent", "check_properties",
]

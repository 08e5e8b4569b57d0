"""Genesys Cloud's public API, as far as watching an Open Messaging integration needs it.

- OAuth client credentials (the seed: an OAuth client with the Client Credentials grant):
  `POST https://login.<region>/oauth/token` with the client id and secret as HTTP Basic and
  `grant_type=client_credentials`; the answer's `access_token` is a bearer token for
  `expires_in` seconds. It is renewed a minute early, and once on a 401.
- The integration (the seed: its id is in the address of its configuration page):
  `GET https://api.<region>/api/v2/conversations/messaging/integrations/open/<id>`, of which
  `name`, `createStatus` (Initiated, Completed, Error), `createError`, `status` and
  `outboundNotificationWebhookUrl` are read; anything else is ignored.

`GENESYS_REGION` is the organization's region domain ("mypurecloud.com", "mypurecloud.de",
"usw2.pure.cloud"...); `GENESYS_LOGIN_URL` and `GENESYS_API_URL` override the two addresses
(tests and the demo point them at the fake).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as clock
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from .errors import GenesysApiError, GenesysAuthError, GenesysConfigError, GenesysUnavailable

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a route, not a secret
INTEGRATION_PATH = "/api/v2/conversations/messaging/integrations/open/{id}"
# Renew this long before the token says it expires.
TOKEN_MARGIN = 60.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_REGION = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}$")
_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


@dataclass(frozen=True)
class OpeningHours:
    """When traffic is expected: on `days` (0 = Monday) from `start` to `end`, local time of
    the dashboard's TIME_ZONE (the caller converts)."""

    start: clock = clock(8, 0)
    end: clock = clock(18, 0)
    days: frozenset[int] = frozenset(range(5))

    def is_open(self, weekday: int, at: clock) -> bool:
        return weekday in self.days and self.start <= at < self.end

    @classmethod
    def parse(cls, hours: str, days: str) -> OpeningHours:
        match = _HOURS.match(hours.strip())
        if match is None:
            raise GenesysConfigError(f"GENESYS_OPENING_HOURS must look like 08:00-18:00, "
                                     f"not {hours!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
            raise GenesysConfigError(f"GENESYS_OPENING_HOURS: {hours!r} is not a range in a day")
        chosen: set[int] = set()
        for part in days.lower().replace(" ", "").split(","):
            first, _, last = part.partition("-")
            if first not in DAYS or (last and last not in DAYS):
                raise GenesysConfigError(f"GENESYS_OPENING_DAYS must list days like mon-fri or "
                                         f"mon,wed,sat, not {days!r}")
            a, b = DAYS.index(first), DAYS.index(last or first)
            chosen.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        return cls(clock(h1, m1), clock(h2, m2), frozenset(chosen))


@dataclass(frozen=True)
class GenesysConfig:
    client_id: str
    client_secret: str = field(repr=False)
    integration_id: str
    login_url: str
    api_url: str
    # The integration's Secret Token, which signs the webhook deliveries. The seed has the
    # OAuth client's secret pasted there, hence that default.
    webhook_secret: str = field(repr=False, default="")
    hours: OpeningHours = OpeningHours()
    quiet_minutes: int = 15
    timeout: float = 10.0

    @property
    def signing_secret(self) -> str:
        return self.webhook_secret or self.client_secret

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GenesysConfig | None:
        """From GENESYS_* variables; None (off) when GENESYS_CLIENT_ID is unset or empty."""
        env = os.environ if environ is None else environ
        client_id = env.get("GENESYS_CLIENT_ID", "").strip()
        if not client_id:
            return None
        secret = env.get("GENESYS_CLIENT_SECRET", "")
        integration = env.get("GENESYS_INTEGRATION_ID", "").strip()
        if not secret:
            raise GenesysConfigError("GENESYS_CLIENT_SECRET is required with GENESYS_CLIENT_ID")
        if not integration:
            raise GenesysConfigError("GENESYS_INTEGRATION_ID is required (copy it from the "
                                     "address of the integration's configuration page)")
        region = env.get("GENESYS_REGION", "mypurecloud.com").strip().lower()
        if not _REGION.match(region):
            raise GenesysConfigError(f"GENESYS_REGION must be a domain like mypurecloud.com, "
                                     f"not {region!r}")
        login = _url(env.get("GENESYS_LOGIN_URL", "") or f"https://login.{region}",
                     "GENESYS_LOGIN_URL")
        api = _url(env.get("GENESYS_API_URL", "") or f"https://api.{region}", "GENESYS_API_URL")
        quiet = env.get("GENESYS_QUIET_MINUTES", "15")
        if not quiet.isdigit() or not 1 <= int(quiet) <= 24 * 60:
            raise GenesysConfigError(f"GENESYS_QUIET_MINUTES must be 1 to 1440, not {quiet!r}")
        hours = OpeningHours.parse(env.get("GENESYS_OPENING_HOURS", "08:00-18:00"),
                                   env.get("GENESYS_OPENING_DAYS", "mon-fri"))
        return cls(client_id, secret, integration, login, api,
                   env.get("GENESYS_WEBHOOK_SECRET", ""), hours, int(quiet))


def _url(value: str, name: str) -> str:
    parts = urlsplit(value.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise GenesysConfigError(f"{name} must be an http(s) address, not {value!r}")
    if parts.scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
        raise GenesysConfigError(f"{name} must use https (http only on loopback)")
    return value.strip().rstrip("/")


@dataclass(frozen=True)
class OpenIntegration:
    """What the public API says of the integration."""

    id: str
    name: str
    create_status: str
    create_error: str
    status: str
    webhook_url: str

    @property
    def healthy(self) -> bool:
        return (self.create_status in ("", "Completed") and not self.create_error
                and self.status.lower() not in ("inactive", "error", "disabled"))


class GenesysClient:
    """`async with GenesysClient(config) as client: await client.integration()`."""

    def __init__(self, config: GenesysConfig, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.AsyncClient(timeout=config.timeout, transport=transport,
                                       follow_redirects=False)
        self._token = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> GenesysClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def token(self, *, renew: bool = False) -> str:
        async with self._lock:
            if renew or not self._token or time.monotonic() >= self._expires:
                self._token, lifetime = await self._fetch_token()
                self._expires = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN)
            return self._token

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self._send("POST", self.config.login_url + TOKEN_PATH,
                                    data={"grant_type": "client_credentials"},
                                    auth=(self.config.client_id, self.config.client_secret))
        if response.status_code in (400, 401):
            raise GenesysAuthError(
                "Genesys Cloud refused the OAuth client: check GENESYS_CLIENT_ID and "
                "GENESYS_CLIENT_SECRET, and that the client has the Client Credentials grant",
                status=response.status_code)
        body = _json(response)
        token, lifetime = body.get("access_token"), body.get("expires_in", 0)
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise GenesysAuthError(f"unexpected answer from the login service "
                                   f"({response.status_code})", status=response.status_code)
        return token, float(lifetime) if isinstance(lifetime, int | float) else 0.0

    async def integration(self) -> OpenIntegration:
        url = self.config.api_url + INTEGRATION_PATH.format(
            id=quote(self.config.integration_id, safe=""))
        response = await self._send("GET", url, headers=await self._auth())
        if response.status_code == 401:  # revoked or expired early: once more, anew
            response = await self._send("GET", url, headers=await self._auth(renew=True))
        if response.status_code != 200:
            raise GenesysApiError(_api_problem(response), status=response.status_code)
        body = _json(response)
        return OpenIntegration(
            id=str(body.get("id") or self.config.integration_id),
            name=str(body.get("name") or ""),
            create_status=str(body.get("createStatus") or ""),
            create_error=_error_text(body.get("createError")),
            status=str(body.get("status") or ""),
            webhook_url=str(body.get("outboundNotificationWebhookUrl") or ""))

    async def _auth(self, *, renew: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(renew=renew)}"}

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise GenesysUnavailable(f"no answer in {self.config.timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise GenesysUnavailable(f"could not connect: {type(exc).__name__}") from exc


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("message") or value.get("code") or "")
    return str(value or "")


def _api_problem(response: httpx.Response) -> str:
    message = str(_json(response).get("message") or response.reason_phrase)
    if response.status_code == 403:
        return (f"the OAuth client may not read the integration ({message}): give it the "
                f"roles the seed lists (integrationServer, Developer, User and the messaging "
                f"permissions)")
    if response.status_code == 404:
        return "no Open Messaging integration with that id (check GENESYS_INTEGRATION_ID)"
    return message

"""Bearer tokens for the Connect Web API.

The token service is not configured: as the seed says, an unauthenticated API call answers 401
with `WWW-Authenticate: {token_url},grant_type="urn:connect.auth:windows"`, and the client POSTs
its form there, authenticated with Windows credentials (NTLM on a real server, HTTP Basic on the
simulator) or not at all when a pre-issued token is configured.

One renewal at a time: an asyncio.Lock guards fetching, and callers that queued behind it find the
fresh token and share it, so that twenty requests refused together cost one renewal. Tokens are
renewed before they expire (read from the JWT's `exp`), and once more after a 401.

Tokens and passwords are never logged, and never put in an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from . import wire
from .config import ClarityConfig
from .errors import (
    ClarityAuthError,
    ClarityBadRequest,
    ClarityError,
    ClarityInvalidClientId,
    ClarityProtocolError,
    ClarityServerError,
    ClarityUnauthorized,
    ClarityUnavailable,
)

log = logging.getLogger(__name__)

# Renew when less than this share of the lifetime is left, or this many seconds, whichever is
# larger, but never earlier than half-way through (a 60 s token would otherwise always be "due").
RENEW_FRACTION = 0.1
RENEW_MIN_SECONDS = 60.0
_ALGORITHMS = ["HS256"]  # seed: tokens are signed HS256; never accept another algorithm


@dataclass(frozen=True)
class TokenInfo:
    """What we know about a token, without the token itself (safe to log or show).

    `expires_at` is on our clock; `lifetime` is measured without mixing clocks (the service's
    `expires_in`, or `exp - nbf`), so that a skewed local clock cannot make a fresh token look
    due for renewal at once."""

    agent_id: str | None
    expires_at: float | None
    lifetime: float | None
    obtained_at: float

    def renew_at(self) -> float | None:
        """When to renew: before `expires_at` by max(10 % of the lifetime, 60 s), but never
        earlier than half-way through the lifetime."""
        if self.expires_at is None:
            return None
        lifetime = self.lifetime if self.lifetime is not None else 0.0
        margin = min(max(RENEW_FRACTION * lifetime, RENEW_MIN_SECONDS), lifetime / 2)
        return max(self.expires_at - margin, self.obtained_at + lifetime / 2)


def read_claims(token: str, key: str | None) -> dict[str, Any]:
    """The JWT's claims. The algorithm is pinned to HS256 whether or not the signature is checked,
    so a token claiming `none` (or anything else) is refused. The signature is only verified when
    a shared key is configured (CLARITY_JWT_KEY); expiry is not checked here: the caller wants
    to read `exp`, not to have an expired token rejected (the server is the judge of that)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise ClarityProtocolError("the access token is not a JWT") from None
    if header.get("alg") not in _ALGORITHMS:
        raise ClarityProtocolError(
            f"the access token is signed {header.get('alg')!r}, expected HS256"
        )
    options: jwt.types.Options = {
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
        "verify_iss": False,
    }
    try:
        if key:
            return jwt.decode(token, key, algorithms=_ALGORITHMS, options=options)
        return jwt.decode(
            token, algorithms=_ALGORITHMS, options={**options, "verify_signature": False}
        )
    except jwt.InvalidSignatureError:
        raise ClarityAuthError(
            "the access token's signature does not verify with CLARITY_JWT_KEY"
        ) from None
    except jwt.PyJWTError as exc:
        raise ClarityProtocolError(
            f"the access token cannot be decoded: {type(exc).__name__}"
        ) from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class TokenProvider:
    """Gets, caches and renews the bearer token (see the module docstring).

    `http` is the client's own AsyncClient (same TLS settings, same transport in tests);
    `sleep` and `rng` are injectable for tests of the retry delays.
    """

    def __init__(
        self,
        config: ClarityConfig,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._info: TokenInfo | None = None
        self._token_url: str | None = None
        self._renewals = 0
        if config.auth == "token":
            assert config.token is not None  # noqa: S101 - ClarityConfig guarantees it
            self._install(config.token, expires_in=None)

    # -- public ------------------------------------------------------------------------------

    @property
    def renewals(self) -> int:
        """Tokens obtained from the token service so far (the first one included)."""
        return self._renewals

    @property
    def expires_at(self) -> float | None:
        """Epoch seconds at which the current token expires, None if unknown or no token yet."""
        return self._info.expires_at if self._info else None

    @property
    def agent_id(self) -> str | None:
        """The `connect_agent_id` claim of the current token: who we are to the API."""
        return self._info.agent_id if self._info else None

    @property
    def token_url(self) -> str | None:
        """The token service address, once discovered."""
        return self._token_url

    @property
    def info(self) -> TokenInfo | None:
        return self._info

    async def token(self) -> str:
        """A token to send now: the cached one, or a fresh one when it is due for renewal."""
        current = self._token
        if current is not None and not self._due():
            return current
        async with self._lock:
            # Someone else may have renewed while we waited for the lock.
            if self._token is not None and not self._due():
                return self._token
            return await self._renew_locked(proactive=self._token is not None)

    async def invalidate(self, token: str) -> str:
        """`token` was refused with a 401: renew it, unless another caller already did (then share
        theirs). Returns the token to retry with."""
        if self._config.auth == "token":
            raise ClarityUnauthorized(
                "the configured CLARITY_TOKEN was refused (expired or revoked); "
                "there is nothing to renew it with",
                status=401,
            )
        async with self._lock:
            if self._token is not None and self._token != token:
                return self._token
            self._token = None
            self._info = None
            return await self._renew_locked(proactive=False)

    # -- internals ---------------------------------------------------------------------------

    def _due(self) -> bool:
        if self._config.auth == "token" or self._info is None:
            return False
        renew_at = self._info.renew_at()
        return renew_at is not None and self._clock() >= renew_at

    async def _renew_locked(self, *, proactive: bool) -> str:
        if self._config.auth == "token":
            assert self._token is not None  # noqa: S101 - installed in __init__
            return self._token
        try:
            token, expires_in = await self._fetch()
        except ClarityError as exc:
            still_valid = (
                proactive
                and self._token is not None
                and self._info is not None
                and (self._info.expires_at is None or self._clock() < self._info.expires_at)
            )
            if still_valid and isinstance(exc, (ClarityUnavailable, ClarityServerError)):
                # Renewing early failed but the token still works: keep using it, try again on
                # the next call rather than failing this one.
                log.warning("Clarity token renewal failed (%s); keeping the current token", exc)
                assert self._token is not None  # noqa: S101 - checked in still_valid
                return self._token
            raise
        self._install(token, expires_in=expires_in)
        self._renewals += 1
        info = self._info
        assert info is not None  # noqa: S101 - set by _install
        remaining = None if info.expires_at is None else round(info.expires_at - self._clock())
        log.info(
            "Clarity token obtained for agent %s (expires in %s s)",
            info.agent_id or "?",
            remaining if remaining is not None else "?",
        )
        return token

    def _install(self, token: str, *, expires_in: float | None) -> None:
        now = self._clock()
        try:
            claims = read_claims(token, self._config.jwt_key)
        except ClarityProtocolError:
            if self._config.auth != "token":
                raise
            # A pre-issued token we cannot read: use it as is, the server will judge it.
            claims = {}
        exp = _number(claims.get("exp"))
        nbf = _number(claims.get("nbf"))
        lifetime: float | None = None
        if expires_in is not None and expires_in > 0:
            # The service's `expires_in` is relative to now on *our* clock, so it is immune to
            # clock skew; `exp` is on the server's. Trust whichever ends first.
            lifetime = expires_in
            exp = now + expires_in if exp is None else min(exp, now + expires_in)
        elif exp is not None:
            lifetime = exp - nbf if nbf is not None else exp - now
        agent = claims.get("connect_agent_id")
        self._token = token
        self._info = TokenInfo(
            agent_id=None if agent is None else str(agent),
            expires_at=exp,
            lifetime=None if lifetime is None else max(0.0, lifetime),
            obtained_at=now,
        )

    async def _fetch(self) -> tuple[str, float | None]:
        url = self._token_url or await self._discover()
        try:
            return await self._request_token(url)
        except ClarityUnavailable:
            # The service may have moved: ask the API again where it is, once.
            fresh = await self._discover()
            if fresh == url:
                raise
            return await self._request_token(fresh)

    async def _with_retries(
        self, route: str, send: Callable[[], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        """Getting a token is idempotent: retry 5xx and network errors like any GET."""
        policy = self._config.retry
        for attempt in range(policy.attempts):
            last = attempt == policy.attempts - 1
            try:
                response = await send()
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if last:
                    raise ClarityUnavailable(
                        f"no answer ({type(exc).__name__})", route=route
                    ) from None
            else:
                if response.status_code < 500 or last:
                    return response
            await self._sleep(self._rng.uniform(0, policy.ceiling(attempt)))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _discover(self) -> str:
        """GET the API's info without a token; the 401 names the token service."""
        info_url = self._config.rest_root + "/info"
        route = f"GET {wire.API_ROOT}/info"
        response = await self._with_retries(route, lambda: self._http.get(info_url))
        challenges = response.headers.get_list("www-authenticate")
        if response.status_code != 401 or not challenges:
            raise ClarityProtocolError(
                "expected a 401 with a WWW-Authenticate challenge naming the token service",
                status=response.status_code,
                route=route,
            )
        for challenge in challenges:
            url = wire.token_url_from_challenge(challenge, self._config.base_url)
            if url:
                self._check_token_url(url, route)
                self._token_url = url
                log.info("Clarity token service discovered at %s", url)
                return url
        raise ClarityProtocolError(
            "the WWW-Authenticate challenge names no token service", status=401, route=route
        )

    def _check_token_url(self, url: str, route: str) -> None:
        # Credentials go to this address: an https API must not send us to plain http.
        if urlsplit(self._config.base_url).scheme == "https" and urlsplit(url).scheme != "https":
            raise ClarityProtocolError(
                "the API is https but names an http token service; refusing to send credentials",
                status=401,
                route=route,
            )

    async def _request_token(self, url: str) -> tuple[str, float | None]:
        cfg = self._config
        route = f"POST {urlsplit(url).path or '/'}"
        auth: httpx.Auth
        if cfg.auth == "ntlm":
            from httpx_ntlm import HttpNtlmAuth  # imported here: only real servers need it

            auth = HttpNtlmAuth(cfg.username, cfg.password)
        else:
            auth = httpx.BasicAuth(cfg.username or "", cfg.password or "")
        form = {"grant_type": wire.GRANT_TYPE, "client_id": cfg.client_id}
        headers = {"Accept": "application/json", "Cache-Control": "no-cache"}
        response = await self._with_retries(
            route, lambda: self._http.post(url, data=form, headers=headers, auth=auth)
        )
        status = response.status_code
        if status == 401:
            raise ClarityAuthError(f"bad credentials for {cfg.username}", status=401, route=route)
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if status == 400:
            if isinstance(body, dict) and str(body.get("error", "")).lower() == "invalid_clientid":
                raise ClarityInvalidClientId(
                    f"client id {cfg.client_id} is not valid (CLARITY_CLIENT_ID)",
                    status=400,
                    route=route,
                )
            raise ClarityBadRequest(
                wire.error_message(body) or "the token request was refused", status=400, route=route
            )
        if status >= 500:
            raise ClarityServerError(
                wire.error_message(body) or response.reason_phrase, status=status, route=route
            )
        if status != 200:
            raise ClarityError(
                wire.error_message(body) or response.reason_phrase, status=status, route=route
            )
        if not isinstance(body, dict):
            raise ClarityProtocolError("the token response is not a JSON object", route=route)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ClarityProtocolError("the token response has no access_token", route=route)
        token_type = body.get("token_type")
        if token_type is not None and str(token_type).lower() != "bearer":
            raise ClarityProtocolError(
                f"token_type is {token_type!r}, expected bearer", route=route
            )
        return token, _number(body.get("expires_in"))

    def __repr__(self) -> str:
        return (
            f"TokenProvider(auth={self._config.auth!r}, agent_id={self.agent_id!r}, "
            f"expires_at={self.expires_at!r}, renewals={self._renewals}, token=***)"
        )


__all__ = ["TokenInfo", "TokenProvider", "read_claims"]

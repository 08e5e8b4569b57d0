"""TokenProvider: discovery, the token request, expiry arithmetic, one renewal at a time.

A scripted server (httpx.MockTransport) stands in for the token service, so that timing and
failures are under the test's control; the simulator-backed end-to-end cases are in
test_client.py."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import jwt
import pytest

from integrations.clarity import wire
from integrations.clarity.config import ClarityConfig, RetryPolicy
from integrations.clarity.errors import (
    ClarityAuthError,
    ClarityBadRequest,
    ClarityInvalidClientId,
    ClarityProtocolError,
    ClarityServerError,
    ClarityUnauthorized,
    ClarityUnavailable,
)
from integrations.clarity.tokens import TokenInfo, TokenProvider, read_claims

BASE = "https://connect.example.com"
TOKEN_URL = "https://auth.example.com/webauth/token"
KEY = "tokens-test-key-" + "0123456789abcdef" * 4
# The seed's own example token (agent 5, signed with a key we do not have).
SEED_JWT = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJjb25uZWN0X2FnZW50X2lkIjoiNSIsImlzcyI6Imh0dHBzOi8vND"
    "AuY2NkZXYyMDE1LmludGVybmFsL3dlYmF1dGgvdG9rZW4iLCJhdWQiOiIwNDQ0QzM5Mi0zODQ1LTRBQzAtQjFBMC1ENj"
    "M3MDYxODBCQTkiLCJleHAiOjE0NzI4NDIyNzgsIm5iZiI6MTQ3Mjg0MTk3OH0.YiLosagjS-002SWXX7ZzeEhvW6zDpJF"
    "b3qx-qrtTxIM"
)


def make_token(agent: str = "15", ttl: float = 3600, now: float | None = None, **extra: Any) -> str:
    issued = time.time() if now is None else now
    claims = {"connect_agent_id": agent, "exp": int(issued + ttl), "nbf": int(issued), **extra}
    return jwt.encode(claims, KEY, algorithm="HS256")


def config(**overrides: Any) -> ClarityConfig:
    base = ClarityConfig(
        url=BASE,
        auth="basic",
        username="svc-dashboard",
        password="correct horse",
        retry=RetryPolicy(attempts=3, base=0.0, cap=0.0),
    )
    return replace(base, **overrides)


class TokenService:
    """The API's challenge plus a token service whose answers the test scripts."""

    def __init__(self, challenge: str | None = None) -> None:
        self.challenge = challenge or f'{TOKEN_URL},grant_type="urn:connect.auth:windows"'
        self.posts: list[httpx.Request] = []
        self.infos = 0
        self.answer: Callable[[httpx.Request], httpx.Response] = self.ok
        self.ttl = 3600.0
        self.now: float | None = None
        self.delay = 0.0

    def ok(self, request: httpx.Request) -> httpx.Response:
        token = make_token(str(len(self.posts)), self.ttl, self.now)
        return httpx.Response(
            200, json={"access_token": token, "token_type": "bearer", "expires_in": self.ttl - 1}
        )

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webapi/api/info":
            self.infos += 1
            assert "authorization" not in request.headers  # discovery is unauthenticated
            return httpx.Response(401, headers={"WWW-Authenticate": self.challenge})
        self.posts.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer(request)


def provider(
    service: TokenService, cfg: ClarityConfig | None = None, clock: Callable[[], float] = time.time
) -> tuple[TokenProvider, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(service))

    async def no_sleep(delay: float) -> None:
        return None

    return TokenProvider(cfg or config(), http, clock=clock, sleep=no_sleep), http


# -- renewal arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime", "margin"),
    [
        (36000.0, 3600.0),  # 10 %
        (3600.0, 360.0),  # 10 %
        (300.0, 60.0),  # at least 60 s
        (60.0, 30.0),  # but at most half the lifetime
        (10.0, 5.0),
    ],
)
def test_renew_margin(lifetime: float, margin: float) -> None:
    info = TokenInfo(
        agent_id="1", expires_at=1000.0 + lifetime, lifetime=lifetime, obtained_at=1000.0
    )
    assert info.renew_at() == pytest.approx(1000.0 + lifetime - margin)


def test_renewal_never_due_before_half_the_lifetime() -> None:
    # A local clock running ahead makes `exp` look close; the lifetime is measured skew-free.
    info = TokenInfo(agent_id="1", expires_at=1100.0, lifetime=3600.0, obtained_at=1000.0)
    assert info.renew_at() == 1000.0 + 1800.0
    assert TokenInfo(None, None, None, 0.0).renew_at() is None


# -- reading the JWT ----------------------------------------------------------------------------


def test_reads_the_seeds_example_token() -> None:
    claims = read_claims(SEED_JWT, None)
    assert claims["connect_agent_id"] == "5"
    assert claims["exp"] == 1472842278 and claims["nbf"] == 1472841978
    # Signed with the seed author's key, not ours: verification must fail when asked for.
    with pytest.raises(ClarityAuthError, match="signature"):
        read_claims(SEED_JWT, KEY)


def test_verifies_with_the_shared_key() -> None:
    assert read_claims(make_token("9"), KEY)["connect_agent_id"] == "9"


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"connect_agent_id": "1"}, None, algorithm="none"),
        jwt.encode({"connect_agent_id": "1"}, KEY, algorithm="HS384"),
        "not-a-jwt",
    ],
)
def test_other_algorithms_and_garbage_are_refused(token: str) -> None:
    with pytest.raises(ClarityProtocolError):
        read_claims(token, None)


# -- discovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "challenge",
    [
        f'{TOKEN_URL},grant_type="urn:connect.auth:windows"',
        f'"{TOKEN_URL}",grant_type="urn:connect.auth:windows"',
        f'Bearer realm="{TOKEN_URL}", grant_type="urn:connect.auth:windows"',
        TOKEN_URL,
    ],
)
async def test_discovers_the_token_service_from_the_challenge(challenge: str) -> None:
    service = TokenService(challenge)
    tokens, http = provider(service)
    async with http:
        await tokens.token()
    assert tokens.token_url == TOKEN_URL
    assert str(service.posts[0].url) == TOKEN_URL


async def test_relative_challenge_is_resolved_against_the_server() -> None:
    service = TokenService('/webauth/token,grant_type="urn:connect.auth:windows"')
    tokens, http = provider(service)
    async with http:
        await tokens.token()
    assert tokens.token_url == f"{BASE}/webauth/token"


async def test_discovery_happens_once() -> None:
    service = TokenService()
    tokens, http = provider(service)
    async with http:
        first = await tokens.token()
        await tokens.invalidate(first)
    assert service.infos == 1 and len(service.posts) == 2


async def test_no_challenge_is_a_protocol_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"connectVersion": "4.0"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with http:
        with pytest.raises(ClarityProtocolError, match="WWW-Authenticate"):
            await TokenProvider(config(), http).token()


async def test_https_api_never_sends_credentials_to_plain_http() -> None:
    service = TokenService('http://auth.example.com/webauth/token,grant_type="x"')
    tokens, http = provider(service)
    async with http:
        with pytest.raises(ClarityProtocolError, match="http"):
            await tokens.token()
    assert service.posts == []


async def test_rediscovers_when_the_token_service_moved() -> None:
    service = TokenService()
    moved = "https://auth2.example.com/webauth/token"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            service.challenge = f"{moved},grant_type=x"
            raise httpx.ConnectError("gone", request=request)
        return service.ok(request)

    service.answer = answer
    tokens, http = provider(service)
    async with http:
        await tokens.token()
    assert tokens.token_url == moved and service.infos == 2


# -- the token request --------------------------------------------------------------------------


async def test_token_request_shape() -> None:
    service = TokenService()
    tokens, http = provider(service)
    async with http:
        token = await tokens.token()
    request = service.posts[0]
    assert request.method == "POST"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.content == (
        b"grant_type=urn%3Aconnect.auth%3Awindows&client_id=0224C392-3845-4AC0-B1A0-D63706181BA7"
    )
    expected = base64.b64encode(b"svc-dashboard:correct horse").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert tokens.agent_id == "1"  # the service numbers its tokens
    assert read_claims(token, KEY)["connect_agent_id"] == "1"
    assert tokens.renewals == 1


async def test_bad_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    service = TokenService()
    service.answer = lambda request: httpx.Response(401)
    tokens, http = provider(service)
    async with http:
        with pytest.raises(ClarityAuthError) as caught:
            await tokens.token()
    assert str(caught.value) == "POST /webauth/token -> 401: bad credentials for svc-dashboard"
    assert "correct horse" not in caplog.text + repr(caught.value)
    assert len(service.posts) == 1  # a 401 is not retried


async def test_invalid_client_id() -> None:
    service = TokenService()
    service.answer = lambda request: httpx.Response(
        400, json={"error": "invalid_clientId", "error_description": "client_id is not valid"}
    )
    tokens, http = provider(service)
    async with http:
        with pytest.raises(ClarityInvalidClientId, match="0224C392"):
            await tokens.token()


async def test_other_400_is_a_bad_request() -> None:
    service = TokenService()
    service.answer = lambda request: httpx.Response(400, json={"error": "unsupported_grant_type"})
    tokens, http = provider(service)
    async with http:
        with pytest.raises(ClarityBadRequest, match="unsupported_grant_type"):
            await tokens.token()


async def test_token_service_5xx_is_retried() -> None:
    service = TokenService()
    answers = iter([httpx.Response(503), httpx.Response(502)])
    service.answer = lambda request: next(answers, None) or service.ok(request)
    tokens, http = provider(service)
    async with http:
        await tokens.token()
    assert len(service.posts) == 3


async def test_token_service_down_for_good() -> None:
    service = TokenService()
    service.answer = lambda request: httpx.Response(500, json={"message": "db down"})
    tokens, http = provider(service)
    async with http:
        with pytest.raises(ClarityServerError, match="db down"):
            await tokens.token()
    assert len(service.posts) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "bearer"},
        {"access_token": "", "token_type": "bearer"},
        {"access_token": "x.y.z", "token_type": "mac"},
        ["not", "an", "object"],
    ],
)
async def test_malformed_token_answers(body: Any) -> None:
    service = TokenService()
    service.answer = lambda request: httpx.Response(200, json=body)
    tokens, http = provider(service)
    async with http:
        with pytest.raises(ClarityProtocolError):
            await tokens.token()


async def test_expires_in_is_trusted_over_a_skewed_exp() -> None:
    service = TokenService()
    now = 1_700_000_000.0
    token = make_token(ttl=36000, now=now + 7200)  # the server's clock is two hours ahead
    service.answer = lambda request: httpx.Response(
        200, json={"access_token": token, "token_type": "bearer", "expires_in": 600}
    )
    tokens, http = provider(service, clock=lambda: now)
    async with http:
        await tokens.token()
    assert tokens.expires_at == now + 600


# -- renewal ------------------------------------------------------------------------------------


async def test_renews_before_expiry_not_after() -> None:
    clock = [1_700_000_000.0]
    service = TokenService()
    service.now = clock[0]
    tokens, http = provider(service, clock=lambda: clock[0])
    async with http:
        first = await tokens.token()
        assert tokens.expires_at == pytest.approx(clock[0] + 3599)
        clock[0] += 3000  # 599 s left: not yet due (margin 360 s)
        assert await tokens.token() == first
        clock[0] += 300  # 299 s left: due
        assert await tokens.token() != first
    assert tokens.renewals == 2


async def test_concurrent_callers_share_one_renewal() -> None:
    service = TokenService()
    service.delay = 0.02  # keep the token request in flight while the others queue
    tokens, http = provider(service)
    async with http:
        results = await asyncio.gather(*(tokens.token() for _ in range(50)))
        assert len(set(results)) == 1 and len(service.posts) == 1

        refused = results[0]
        renewed = await asyncio.gather(*(tokens.invalidate(refused) for _ in range(20)))
        assert len(set(renewed)) == 1 and renewed[0] != refused
        assert len(service.posts) == 2
        assert tokens.renewals == 2

        # A late 401 for the old token must not throw the new one away.
        assert await tokens.invalidate(refused) == renewed[0]
        assert len(service.posts) == 2


async def test_failed_early_renewal_keeps_the_valid_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [1_700_000_000.0]
    service = TokenService()
    service.now = clock[0]
    tokens, http = provider(service, clock=lambda: clock[0])
    async with http:
        first = await tokens.token()
        service.answer = lambda request: httpx.Response(503)
        clock[0] += 3400  # due for renewal, still valid
        assert await tokens.token() == first
        assert "keeping the current token" in caplog.text
        clock[0] += 300  # expired: nothing left to fall back on
        with pytest.raises(ClarityServerError):
            await tokens.token()
        service.answer = service.ok
        assert await tokens.token() != first


async def test_network_failure_is_unavailable() -> None:
    service = TokenService()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timeout", request=request)

    service.answer = down
    tokens, http = provider(service)
    async with http:
        with pytest.raises(ClarityUnavailable):
            await tokens.token()


# -- token mode ---------------------------------------------------------------------------------


async def test_token_mode_uses_the_token_as_is() -> None:
    token = make_token("42", ttl=600)

    async def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"token mode made a request: {request.url}")

    cfg = config(auth="token", token=token)
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with http:
        tokens = TokenProvider(cfg, http)
        assert await tokens.token() == token
        assert tokens.agent_id == "42"
        assert tokens.expires_at is not None
        assert tokens.renewals == 0
        with pytest.raises(ClarityUnauthorized, match="CLARITY_TOKEN"):
            await tokens.invalidate(token)
        assert token not in repr(tokens)


def test_token_mode_checks_the_signature_when_a_key_is_set() -> None:
    cfg = config(auth="token", token=make_token(), jwt_key="some-other-key-" + "x" * 64)
    with pytest.raises(ClarityAuthError, match="signature"):
        TokenProvider(cfg, httpx.AsyncClient())


def test_grant_type_is_the_seeds() -> None:
    assert wire.GRANT_TYPE == "urn:connect.auth:windows"

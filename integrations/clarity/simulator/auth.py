"""The simulator's Connect Authentication Service: the 401 challenge and the token endpoint.

A real server authenticates the token request with Integrated Windows Authentication. The
simulator cannot speak NTLM/Negotiate, so HTTP Basic with an agent's login name and the
simulator's password stands in for it (see the contract page). Tokens are HS256 JWTs with the
seed's claims; `expire_all()` is the fault control that makes every issued token stale at once.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from aiohttp import web

from .model import Agent, ContactCenter

log = logging.getLogger(__name__)

GRANT_TYPE = "urn:connect.auth:windows"
# Where the auth middleware leaves the logged-in agent for the route handlers.
AGENT_KEY = web.RequestKey("agent", Agent)
TOKEN_PATH = "/webauth/token"  # noqa: S105 - a route, not a secret


@dataclass
class TokenService:
    cc: ContactCenter
    key: str
    client_id: str
    password: str
    ttl: int
    issuer: Callable[[], str]           # the token URL, known once the server is bound
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._serial = itertools.count(1)
        self._valid_from_serial = 1

    def challenge(self) -> str:
        return f'{self.issuer()},grant_type="{GRANT_TYPE}"'

    def issue(self, agent: Agent) -> tuple[str, int]:
        now = int(self.clock())
        claims = {
            "connect_agent_id": str(agent.id), "iss": self.issuer(), "aud": self.client_id,
            "exp": now + self.ttl, "nbf": now,
            # Not one of the seed's claims: lets `expire_all` revoke tokens issued so far.
            "jti": str(next(self._serial)),
        }
        return jwt.encode(claims, self.key, algorithm="HS256"), self.ttl

    def verify(self, token: str) -> Agent | None:
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], audience=self.client_id,
                                issuer=self.issuer(), leeway=0,
                                options={"require": ["exp", "nbf", "connect_agent_id"]})
        except jwt.PyJWTError:
            return None
        try:
            serial = int(claims.get("jti", "0"))
            agent_id = int(claims["connect_agent_id"])
        except (TypeError, ValueError):
            return None
        if serial < self._valid_from_serial:
            return None
        return self.cc.agents.get(agent_id)

    def expire_all(self) -> None:
        """Every token issued so far stops working now (the fault control)."""
        self._valid_from_serial = next(self._serial) + 1


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _unauthorized() -> web.Response:
    # Browsers would pop a login dialog on a Basic challenge; a real server answers with
    # Negotiate/NTLM here, which the simulator does not speak.
    return web.Response(status=401, headers={"WWW-Authenticate": 'Negotiate, NTLM'})


def token_handler(tokens: TokenService) -> Callable[[web.Request], object]:
    async def token(request: web.Request) -> web.Response:
        credentials = _basic_credentials(request)
        agent = tokens.cc.agent_by_login(credentials[0]) if credentials else None
        if credentials is None or agent is None or credentials[1] != tokens.password:
            log.info("token request refused: bad credentials")
            return _unauthorized()
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return web.json_response({"error": "invalid_request",
                                      "error_description": "Content-Type must be "
                                      "application/x-www-form-urlencoded"}, status=400)
        form = await request.post()
        if form.get("grant_type") != GRANT_TYPE:
            return web.json_response({"error": "unsupported_grant_type",
                                      "error_description": f"grant_type must be {GRANT_TYPE}"},
                                     status=400)
        if str(form.get("client_id", "")).upper() != tokens.client_id.upper():
            return web.json_response({"error": "invalid_clientId",
                                      "error_description": "client_id is not valid"},
                                     status=400)
        access_token, expires_in = tokens.issue(agent)
        log.info("token issued for agent %s", agent.id)
        return web.json_response({"access_token": access_token, "token_type": "bearer",
                                  "expires_in": expires_in})

    return token

"""Settings of the Clarity Connect client, read from CLARITY_* environment variables.

`CLARITY_URL` unset (or empty) means "use the embedded simulator": its address is only known once
it listens, so the caller completes the config with `with_url()`. Every bad value raises
ClarityConfigError naming the variable and what is wrong with it, never echoing a secret.
"""

from __future__ import annotations

import math
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from .errors import ClarityConfigError

AuthMode = Literal["ntlm", "basic", "token"]
AUTH_MODES: tuple[AuthMode, ...] = ("ntlm", "basic", "token")

# The seed's sample client id; the simulator accepts it by default.
DEFAULT_CLIENT_ID = "0224C392-3845-4AC0-B1A0-D63706181BA7"
# The simulator's all-seeing login and its default password (docs/clarity-simulator.md).
SIMULATOR_USERNAME = "supervisor"
SIMULATOR_PASSWORD = "demo"  # noqa: S105 - the simulator's documented demo password
# Contract page, "SignalR hub (assumption)": kept configurable.
DEFAULT_HUB_PATH = "/webapi/hubs/subscriptions"
DEFAULT_TIMEOUT = 10.0

_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# A JWT is three base64url sections; we only check the shape, never print the value.
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for idempotent calls (5xx and network errors only).

    `attempts` counts the first try: 3 means one call and at most two retries."""

    attempts: int = 3
    base: float = 0.2
    cap: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.base < 0 or self.cap < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def ceiling(self, retry: int) -> float:
        """Upper bound of the delay before retry number `retry` (0 for the first retry); the
        actual delay is drawn uniformly below it (full jitter), so that many clients hit by the
        same outage do not come back in lockstep."""
        return min(self.cap, self.base * (2**retry))


@dataclass(frozen=True)
class ClarityConfig:
    url: str | None = None
    client_id: str = DEFAULT_CLIENT_ID
    auth: AuthMode = "basic"
    username: str | None = SIMULATOR_USERNAME
    password: str | None = SIMULATOR_PASSWORD
    token: str | None = None
    hub_path: str = DEFAULT_HUB_PATH
    verify_tls: bool = True
    ca_bundle: str | None = None
    jwt_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        # Validate programmatic construction the same way as the environment, so that a config
        # built in a test or a management command cannot be subtly different.
        if self.url is not None:
            object.__setattr__(self, "url", _check_url("CLARITY_URL", self.url))
        if not _GUID.match(self.client_id):
            raise ClarityConfigError(
                f"CLARITY_CLIENT_ID must be a GUID like {DEFAULT_CLIENT_ID}, got {self.client_id!r}"
            )
        if self.auth not in AUTH_MODES:
            raise ClarityConfigError(
                f"CLARITY_AUTH must be one of {', '.join(AUTH_MODES)}, got {self.auth!r}"
            )
        if self.auth == "token":
            if not self.token:
                raise ClarityConfigError("CLARITY_TOKEN is required when CLARITY_AUTH=token")
            if not _JWT_SHAPE.match(self.token):
                raise ClarityConfigError(
                    "CLARITY_TOKEN is not a JWT (expected three dot-separated base64url parts)"
                )
        else:
            if not self.username:
                raise ClarityConfigError(
                    f"CLARITY_USERNAME is required when CLARITY_AUTH={self.auth}"
                )
            if self.password is None or self.password == "":
                raise ClarityConfigError(
                    f"CLARITY_PASSWORD is required when CLARITY_AUTH={self.auth}"
                )
            if ":" in self.username and self.auth == "basic":
                # HTTP Basic cannot carry a colon in the user name (RFC 7617).
                raise ClarityConfigError(
                    "CLARITY_USERNAME must not contain ':' with CLARITY_AUTH=basic"
                )
        if not self.hub_path.startswith("/") or any(c in self.hub_path for c in "?#"):
            raise ClarityConfigError(
                f"CLARITY_HUB_PATH must be a path starting with '/', got {self.hub_path!r}"
            )
        if len(self.hub_path) > 1 and self.hub_path.endswith("/"):
            object.__setattr__(self, "hub_path", self.hub_path.rstrip("/"))
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ClarityConfigError(
                f"CLARITY_TIMEOUT must be a positive number of seconds, got {self.timeout!r}"
            )
        if self.ca_bundle is not None:
            if not self.verify_tls:
                raise ClarityConfigError(
                    "CLARITY_CA_BUNDLE is set but CLARITY_VERIFY_TLS is false: choose one"
                )
            if not os.path.exists(self.ca_bundle):
                raise ClarityConfigError(
                    f"CLARITY_CA_BUNDLE points to {self.ca_bundle!r}, which does not exist"
                )

    # -- reading the environment -------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClarityConfig:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            if value is None:
                return None
            value = value.strip()
            return value or None

        url = get("CLARITY_URL")
        auth_raw = get("CLARITY_AUTH")
        if auth_raw is None:
            # A real server speaks Integrated Windows Authentication; the simulator Basic.
            auth: str = "ntlm" if url else "basic"
        else:
            auth = auth_raw.lower()
            if auth not in AUTH_MODES:
                raise ClarityConfigError(
                    f"CLARITY_AUTH must be one of {', '.join(AUTH_MODES)}, got {auth_raw!r}"
                )
        if url is None and auth == "ntlm":
            raise ClarityConfigError(
                "CLARITY_AUTH=ntlm needs CLARITY_URL: the embedded simulator only speaks "
                "HTTP Basic (CLARITY_AUTH=basic)"
            )

        username = get("CLARITY_USERNAME")
        password = env.get("CLARITY_PASSWORD")  # not stripped: a password may end in a space
        if password == "":
            password = None
        token = get("CLARITY_TOKEN")
        if auth != "token":
            if url is None:
                # The embedded simulator: its documented demo login unless told otherwise.
                username = username or SIMULATOR_USERNAME
                password = password if password is not None else SIMULATOR_PASSWORD
            else:
                if username is None:
                    raise ClarityConfigError(
                        f"CLARITY_USERNAME is required with CLARITY_URL set (CLARITY_AUTH={auth})"
                    )
                if password is None:
                    raise ClarityConfigError(
                        f"CLARITY_PASSWORD is required with CLARITY_URL set (CLARITY_AUTH={auth})"
                    )
        elif token is None:
            raise ClarityConfigError("CLARITY_TOKEN is required when CLARITY_AUTH=token")

        timeout_raw = get("CLARITY_TIMEOUT")
        timeout = DEFAULT_TIMEOUT
        if timeout_raw is not None:
            try:
                timeout = float(timeout_raw)
            except ValueError:
                raise ClarityConfigError(
                    f"CLARITY_TIMEOUT must be a number of seconds, got {timeout_raw!r}"
                ) from None

        return cls(
            url=url,
            client_id=get("CLARITY_CLIENT_ID") or DEFAULT_CLIENT_ID,
            auth=auth,  # type: ignore[arg-type]  # checked against AUTH_MODES above
            username=username,
            password=password,
            token=token,
            hub_path=get("CLARITY_HUB_PATH") or DEFAULT_HUB_PATH,
            verify_tls=_parse_bool("CLARITY_VERIFY_TLS", get("CLARITY_VERIFY_TLS"), default=True),
            ca_bundle=get("CLARITY_CA_BUNDLE"),
            jwt_key=get("CLARITY_JWT_KEY"),
            timeout=timeout,
        )

    # -- derived values ----------------------------------------------------------------------

    def with_url(self, url: str) -> ClarityConfig:
        """This config pointed at `url` (the embedded simulator's address, known at runtime)."""
        return replace(self, url=url)

    @property
    def uses_simulator(self) -> bool:
        """True when no CLARITY_URL was given: the embedded simulator is meant."""
        return self.url is None

    @property
    def base_url(self) -> str:
        if self.url is None:
            raise ClarityConfigError(
                "CLARITY_URL is not set and the embedded simulator's address is not known yet: "
                "complete the config with with_url()"
            )
        return self.url

    @property
    def rest_root(self) -> str:
        """The Connect Web API root URL (seed: `loadBalancedWebServicesFQDN/webapi/api`)."""
        return f"{self.base_url}/webapi/api"

    @property
    def hub_url(self) -> str:
        return f"{self.base_url}{self.hub_path}"

    def tls_verify(self) -> ssl.SSLContext | bool:
        """What httpx's `verify` should get. Building an SSLContext reads certificate files, so
        call this when constructing clients, not per request."""
        if not self.verify_tls:
            return False
        if self.ca_bundle is None:
            return True
        if os.path.isdir(self.ca_bundle):
            return ssl.create_default_context(capath=self.ca_bundle)
        return ssl.create_default_context(cafile=self.ca_bundle)

    def __repr__(self) -> str:
        # Secrets are masked: this repr ends up in logs and tracebacks.
        return (
            f"ClarityConfig(url={self.url!r}, client_id={self.client_id!r}, auth={self.auth!r}, "
            f"username={self.username!r}, password={_mask(self.password)}, "
            f"token={_mask(self.token)}, hub_path={self.hub_path!r}, "
            f"verify_tls={self.verify_tls!r}, ca_bundle={self.ca_bundle!r}, "
            f"jwt_key={_mask(self.jwt_key)}, timeout={self.timeout!r}, retry={self.retry!r})"
        )

    __str__ = __repr__


def _mask(secret: str | None) -> str:
    return "None" if secret is None else "'***'"


def _parse_bool(name: str, raw: str | None, *, default: bool) -> bool:
    if raw is None:
        return default
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ClarityConfigError(f"{name} must be true or false, got {raw!r}")


def _check_url(name: str, raw: str) -> str:
    value = raw.strip()
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ClarityConfigError(f"{name} is not a valid URL") from None
    has_credentials = parts.username is not None or parts.password is not None
    if has_credentials:
        # Never echo it: it holds a password. Credentials belong in CLARITY_USERNAME/PASSWORD.
        raise ClarityConfigError(
            f"{name} must not contain credentials; use CLARITY_USERNAME and CLARITY_PASSWORD"
        )
    if parts.scheme not in ("http", "https"):
        raise ClarityConfigError(f"{name} must be an http(s) URL, got {value!r}")
    if not parts.hostname:
        raise ClarityConfigError(f"{name} must name a host, got {value!r}")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ClarityConfigError(f"{name} must not have a query or fragment, got {value!r}")
    path = parts.path.rstrip("/")
    if path.lower().endswith(("/webapi", "/webapi/api")):
        # A common slip: the root is derived from the FQDN, so this would double the prefix.
        raise ClarityConfigError(
            f"{name} is the web services address (e.g. https://connect.example.com), "
            f"without /webapi/api; got {value!r}"
        )
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{path}"


__all__ = [
    "AUTH_MODES",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_HUB_PATH",
    "AuthMode",
    "ClarityConfig",
    "RetryPolicy",
]

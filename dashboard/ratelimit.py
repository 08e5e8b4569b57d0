"""Counting failures per client, to slow down guessing: passwords at the login form, wallboard
tokens at the wallboard page and socket.

Fixed windows in Django's cache: with REDIS_URL the cache is Redis, so every worker counts
together; without it, each process counts its own (one process, in that mode). A client is its
address; behind a proxy, the address the proxy saw (DASHBOARD_PROXY_COUNT trusted proxies put
it in X-Forwarded-For), never a header anybody could send.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    name: str
    failures: int  # allowed within one window
    window: int  # seconds

    def _key(self, who: str) -> tuple[str, int]:
        start = int(time.time()) // self.window * self.window
        return f"ratelimit:{self.name}:{who}:{start}", start

    def blocked_for(self, who: str) -> int:
        """0 if `who` may try again now, else the seconds until the window ends."""
        key, start = self._key(who)
        if (cache.get(key) or 0) < self.failures:
            return 0
        return max(1, start + self.window - int(time.time()))

    def failed(self, who: str) -> None:
        key, _ = self._key(who)
        # add() then incr(): atomic on Redis and in-process; the key lives one window.
        cache.add(key, 0, timeout=self.window + 1)
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.add(key, 1, timeout=self.window + 1)


LOGIN_PER_ADDRESS = Limit("login-address", failures=20, window=300)
LOGIN_PER_USERNAME = Limit("login-username", failures=10, window=300)
WALLBOARD_PER_ADDRESS = Limit("wallboard-address", failures=20, window=300)


def client_address(meta: dict[str, Any]) -> str:
    """The client's address from a request's META (or a socket scope's, as a dict with
    REMOTE_ADDR and HTTP_X_FORWARDED_FOR)."""
    proxies = settings.PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in
                     str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
        if len(forwarded) >= proxies:
            # Each trusted proxy appends what it saw; the last `proxies` entries are theirs.
            return forwarded[-proxies]
    return str(meta.get("REMOTE_ADDR") or "unknown")


def scope_meta(scope: dict[str, Any]) -> dict[str, str]:
    """What client_address needs, from an ASGI scope."""
    headers = dict(scope.get("headers") or [])
    client = scope.get("client") or ("unknown", 0)
    return {"REMOTE_ADDR": str(client[0]),
            "HTTP_X_FORWARDED_FOR": headers.get(b"x-forwarded-for", b"").decode("latin-1")}

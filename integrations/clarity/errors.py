"""Errors raised by the Clarity Connect client.

Every error carries the HTTP status (when there was one), the route (method and path, never the
query string: query values can name customers or carry ids we do not want in logs) and the
upstream's own message, so that a log line or an admin page can say exactly what failed.
Nothing here ever holds a token or a password.
"""

from __future__ import annotations


class ClarityError(Exception):
    """Base class: something went wrong talking to Clarity Connect (or configuring the client)."""

    def __init__(self, message: str, *, status: int | None = None, route: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.route = route

    def __str__(self) -> str:
        if self.route and self.status is not None:
            return f"{self.route} -> {self.status}: {self.message}"
        if self.route:
            return f"{self.route}: {self.message}"
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"route={self.route!r})"
        )


class ClarityConfigError(ClarityError, ValueError):
    """A CLARITY_* setting is missing or malformed. The message names the variable, never a
    secret value. Also a ValueError, so that generic settings validation catches it."""


class ClarityAuthError(ClarityError):
    """The token service refused the credentials (401 from the token service)."""


class ClarityInvalidClientId(ClarityAuthError):
    """The credentials were good but the client id was refused (400 invalid_clientId).

    A subclass of ClarityAuthError so that "could not authenticate" handlers catch both."""


class ClarityUnauthorized(ClarityError):
    """The API answered 401 even with a freshly renewed token: an MBU permission denial, or a
    token the server keeps refusing (a revoked CLARITY_TOKEN, a clock far off)."""


class ClarityBadRequest(ClarityError):
    """400 from the API: the request broke one of the seed's rules."""


class ClarityNotFound(ClarityError):
    """404 from the API."""


class ClarityServerError(ClarityError):
    """5xx from the API (after retries, for idempotent calls)."""


class ClarityUnavailable(ClarityError):
    """No answer at all: connection refused, reset or timed out (after retries)."""


class ClarityProtocolError(ClarityError):
    """The server answered something that does not match the document: not JSON, a required
    field missing, a value of the wrong type."""


__all__ = [
    "ClarityAuthError",
    "ClarityBadRequest",
    "ClarityConfigError",
    "ClarityError",
    "ClarityInvalidClientId",
    "ClarityNotFound",
    "ClarityProtocolError",
    "ClarityServerError",
    "ClarityUnauthorized",
    "ClarityUnavailable",
]

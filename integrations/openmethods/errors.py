"""Errors raised by the OpenMethods Connect client.

Each carries the HTTP status (when there was one) and the route (method and path, never the
query string or body: both carry the API key). Nothing here ever holds the key.
"""

from __future__ import annotations


class OpenMethodsError(Exception):
    """Base class: sending a PopFlow event failed (or the client is not set up to send one)."""

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


class OpenMethodsConfigError(OpenMethodsError, ValueError):
    """An OPENMETHODS_* setting is missing or malformed; the message names the variable."""


class OpenMethodsLegacyHost(OpenMethodsConfigError):
    """The configured address is connect.openmethods.com, which OpenMethods has ended."""


class OpenMethodsBadRequest(OpenMethodsError, ValueError):
    """What was asked cannot be sent as it is (no login, no event, a reserved property name);
    nothing was sent."""


class OpenMethodsUnauthorized(OpenMethodsError):
    """401: OpenMethods refused the API key (regenerated elsewhere, or mistyped)."""


class OpenMethodsRejected(OpenMethodsError):
    """OpenMethods answered, but not with the documented success."""


class OpenMethodsUnavailable(OpenMethodsError):
    """No answer: the connection failed or timed out. The event may or may not have popped."""

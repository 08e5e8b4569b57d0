"""Errors of the Genesys Cloud Open Messaging integration. None of them holds a secret."""

from __future__ import annotations


class GenesysError(Exception):
    """Base class. `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class GenesysConfigError(GenesysError, ValueError):
    """A GENESYS_* setting is missing or malformed; the message names the variable."""


class GenesysAuthError(GenesysError):
    """The login service refused the OAuth client (wrong id or secret, or no client
    credentials grant)."""


class GenesysApiError(GenesysError):
    """The public API answered with an error (403: the client's roles lack a permission,
    404: no such integration)."""


class GenesysUnavailable(GenesysError):
    """No answer from Genesys Cloud (network error or timeout)."""


class WebhookRejected(GenesysError):
    """A delivery to our webhook that is not taken: unsigned, badly signed, replayed, too old
    or malformed. `status` is what the endpoint answers."""

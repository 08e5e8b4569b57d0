"""Errors of the OneCloud messaging probe. None of them holds a secret."""

from __future__ import annotations


class OneCloudError(Exception):
    """Base class. `status` is the HTTP status, `code` the API's error_code, when known."""

    def __init__(self, message: str, *, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class OneCloudConfigError(OneCloudError, ValueError):
    """An entry point's settings cannot be used (a bad URL, no appId)."""


class OneCloudRefused(OneCloudError):
    """The API answered with its error body (or an error status without one)."""


class OneCloudUnavailable(OneCloudError):
    """No answer (network error or timeout)."""

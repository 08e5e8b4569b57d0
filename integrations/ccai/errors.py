"""Errors of the CCAI Platform Custom CRM integration. None of them holds a secret.

Their `status` is what the Generic API endpoint answers. CCAI Platform retries a call that got
400 (for up to a week, ramping down) and never retries other errors: so 400 is kept for what
may succeed later, and a request that can never succeed gets 422 (or 401, 404, 413)."""

from __future__ import annotations


class CcaiError(Exception):
    status = 500

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class CcaiConfigError(CcaiError, ValueError):
    """A CCAI_* setting is missing or malformed; the message names the variable."""


class CcaiUnauthorized(CcaiError):
    status = 401


class CcaiInvalid(CcaiError):
    """The request can never succeed as sent (not retried by CCAI)."""

    status = 422


class CcaiNotFound(CcaiError):
    status = 404


class CcaiTooLarge(CcaiError):
    status = 413


class CcaiRetryLater(CcaiError):
    """Something on our side that may work later (CCAI retries on 400)."""

    status = 400


class CcaiMetadataError(CcaiError, ValueError):
    """A session metadata file that cannot be read."""

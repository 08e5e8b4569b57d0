"""The Custom CRM's side of CCAI Platform's OAuth 2.0 authentication (authorization code).

CCAI's portal is given our Authorization URL (`/crm/ccai/oauth/authorize`), Token URL
(`/crm/ccai/oauth/token`), the client id and secret (CCAI_CRM_OAUTH_CLIENT_ID/_SECRET), and a
scope and state it passes along. An administrator signed in to the dashboard approves the
request once; CCAI gets a code at its redirect URL, trades it for an access token (an hour)
and a refresh token, and calls the Generic API with `Authorization: Bearer <token>`.

    approve(redirect_uri, user, now=...) -> str          # the code (once, 10 minutes)
    exchange(params, client, now=...) -> dict            # the token endpoint's answer
    bearer_valid(token, now=None) -> bool                # for integrations.ccai.check_auth

Codes and tokens are stored as SHA-256 digests; a code serves once; refreshing replaces both
tokens. Redirect URIs must be listed in CCAI_CRM_OAUTH_REDIRECT_URIS (no open redirect).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.ccai.errors import CcaiError, CcaiInvalid, CcaiUnauthorized
from integrations.ccai.generic_api import CcaiApiConfig

from .models import CcaiOAuthGrant

CODE_LIFETIME = timedelta(minutes=10)
ACCESS_LIFETIME = timedelta(hours=1)


class OAuthError(CcaiError):
    """An OAuth error answer: `code` is the RFC 6749 error code."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message, status=status)
        self.code = code


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def redirect_allowed(redirect_uri: str, allowed: tuple[str, ...]) -> bool:
    return any(hmac.compare_digest(redirect_uri, a) for a in allowed)


def approve(redirect_uri: str, user: Any, *, now: datetime | None = None) -> str:
    code = secrets.token_urlsafe(32)
    CcaiOAuthGrant.objects.create(code_hash=_digest(code), redirect_uri=redirect_uri,
                                  expires_at=(now or timezone.now()) + CODE_LIFETIME,
                                  approved_by=user if getattr(user, "pk", None) else None)
    return code


def client_ok(config: CcaiApiConfig, client_id: str, client_secret: str) -> bool:
    return (hmac.compare_digest(client_id.encode(), config.oauth_client_id.encode())
            and hmac.compare_digest(client_secret.encode(), config.oauth_client_secret.encode()))


def exchange(config: CcaiApiConfig, params: Mapping[str, str], client: tuple[str, str], *,
             now: datetime | None = None) -> dict[str, Any]:
    """The token endpoint: `authorization_code` or `refresh_token`."""
    now = now or timezone.now()
    if config.auth != "oauth" or not client_ok(config, *client):
        raise OAuthError("invalid_client", "unknown client or wrong secret", status=401)
    grant_type = params.get("grant_type", "")
    with transaction.atomic():
        if grant_type == "authorization_code":
            found = CcaiOAuthGrant.objects.select_for_update().filter(
                code_hash=_digest(params.get("code", "")), access_hash__isnull=True).first()
            if found is None or found.expires_at <= now:
                raise OAuthError("invalid_grant", "the code is unknown, used or expired")
            if params.get("redirect_uri") and params["redirect_uri"] != found.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri differs from the authorization")
            found.code_hash = None  # a code serves once
        elif grant_type == "refresh_token":
            found = CcaiOAuthGrant.objects.select_for_update().filter(
                refresh_hash=_digest(params.get("refresh_token", ""))).first()
            if found is None:
                raise OAuthError("invalid_grant", "the refresh token is unknown")
        else:
            raise OAuthError("unsupported_grant_type",
                             "grant_type must be authorization_code or refresh_token")
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        found.access_hash, found.refresh_hash = _digest(access), _digest(refresh)
        found.expires_at = now + ACCESS_LIFETIME
        found.save()
    return {"access_token": access, "token_type": "Bearer",
            "expires_in": int(ACCESS_LIFETIME.total_seconds()), "refresh_token": refresh}


def bearer_valid(token: str, *, now: datetime | None = None) -> bool:
    return CcaiOAuthGrant.objects.filter(access_hash=_digest(token),
                                         expires_at__gt=now or timezone.now()).exists()


def check_request(config: CcaiApiConfig, params: Mapping[str, str],
                  allowed: tuple[str, ...]) -> str:
    """The authorization request's redirect URI, once the request is checked."""
    if config.auth != "oauth":
        raise CcaiUnauthorized("OAuth is not the configured authentication (CCAI_CRM_AUTH)")
    if params.get("response_type", "code") != "code":
        raise CcaiInvalid("response_type must be code")
    if not hmac.compare_digest(params.get("client_id", "").encode(),
                               config.oauth_client_id.encode()):
        raise CcaiInvalid("unknown client_id")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_allowed(redirect_uri, allowed):
        raise CcaiInvalid("redirect_uri is not one of CCAI_CRM_OAUTH_REDIRECT_URIS")
    return redirect_uri

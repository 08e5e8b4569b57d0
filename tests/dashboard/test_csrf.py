"""Every state change needs the CSRF token: each URL of the dashboard that accepts a POST
refuses one without it, even from a logged-in superuser."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, get_resolver

from integrations.ccai.generic_api import CcaiApiConfig
from integrations.genesys.client import GenesysConfig

pytestmark = pytest.mark.django_db

# Values for the URL's parameters; which object it is does not matter: the CSRF check comes
# before the view.
ARGUMENTS = {"agent_id": 5, "session_id": 7, "alert_id": 3, "token": "x" * 43,
             "account_id": 1, "record_id": 1, "attachment_id": 1, "kind": "call"}


def _dashboard_urls() -> list[tuple[str, Any]]:
    urls = []
    for pattern in get_resolver().url_patterns:
        if not isinstance(pattern, URLPattern):
            continue  # admin: Django's own, CSRF-protected by Django
        path = str(pattern.pattern)
        for name, value in ARGUMENTS.items():
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<str:{name}>", str(value))
        urls.append(("/" + path, pattern.name))
    return urls


POSTS = ["login", "logout", "acknowledge_alert", "agent_status", "agent_suspend",
         "agent_recording", "agent_notify", "session_notes", "session_disposition"]


# Posted to by other platforms' servers, which hold no session: each authenticates what it
# posts another way (tests/dashboard/test_genesys.py: the integration's HMAC signature;
# tests/dashboard/test_ccai_crm.py: CCAI's configured authentication).
WEBHOOKS = {"genesys_webhook", "ccai_api_accounts", "ccai_api_account", "ccai_api_records",
            "ccai_api_record", "ccai_api_comments", "ccai_api_attachments", "ccai_oauth_token"}


def test_the_walk_finds_the_state_changing_urls() -> None:
    names = {name for _, name in _dashboard_urls()}
    assert set(POSTS) <= names, set(POSTS) - names


@pytest.mark.parametrize(("path", "name"), [u for u in _dashboard_urls() if u[1] not in WEBHOOKS],
                         ids=[name or path for path, name in _dashboard_urls()
                              if name not in WEBHOOKS])
def test_a_post_without_the_csrf_token_is_refused(path: str, name: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    response = client.post(path, {"status": "1", "notes": "x", "action": "start"})
    # 403 from the CSRF check; a URL that takes no POST at all may say 405 first.
    assert response.status_code in (403, 405), (path, response.status_code)
    if name in POSTS:
        assert response.status_code == 403, path
        assert b"CSRF" in response.content


def test_the_webhooks_refuse_an_unsigned_post_instead(settings: Any) -> None:
    settings.GENESYS = GenesysConfig.from_env({"GENESYS_CLIENT_ID": "c",
                                               "GENESYS_CLIENT_SECRET": "s",
                                               "GENESYS_INTEGRATION_ID": "i"})
    settings.CCAI_CRM = CcaiApiConfig("basic", username="u", password="p" * 12)
    names = {name for _, name in _dashboard_urls()}
    assert names >= WEBHOOKS
    for path, name in _dashboard_urls():
        if name in WEBHOOKS:
            response = Client(enforce_csrf_checks=True).post(path, {"x": "1"})
            assert response.status_code == 401, (path, response.status_code)

"""The Content-Security-Policy header (dashboard/csp.py) on pages, async views and admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in header.split("; ")}


def test_pages_get_a_policy_without_inline_script_or_style(client: Client) -> None:
    response = client.get("/login/")
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]


def test_async_views_get_it_too(client: Client) -> None:
    assert "script-src 'self'" in client.get("/healthz/")["Content-Security-Policy"]


def test_admin_may_use_inline_styles_but_never_inline_scripts(client: Client) -> None:
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    policy = _directives(client.get("/admin/")["Content-Security-Policy"])
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'"


def test_the_pages_have_no_inline_script(client: Client) -> None:
    # What the policy would block must not be in our own pages.
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    for path in ("/", "/agents/", "/alerts/", "/search/"):
        html = client.get(path).content.decode()
        for tag in html.split("<script")[1:]:
            assert tag.split(">", 1)[0].strip().startswith("src="), (path, tag[:80])
        assert " onclick=" not in html and " style=" not in html, path

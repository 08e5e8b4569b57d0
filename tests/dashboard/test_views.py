from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.mark.django_db
def test_healthz_without_a_bridge_is_degraded_not_failing(client: Client) -> None:
    # No bridge runs here: the worker itself is fine (database, channel layer), so 200, and
    # the report says what is missing. (With a bridge: tests/dashboard/test_health.py.)
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"database": "ok", "channel_layer": "ok",
                               "bridge": "not answering", "status": "degraded"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_head(client: Client) -> None:
    assert client.head("/healthz/").status_code == 200


def test_healthz_refuses_post(client: Client) -> None:
    assert client.post("/healthz/").status_code == 405


@pytest.mark.django_db
def test_login_page_renders(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    content = response.content.decode()
    assert content.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert 'name="username"' in content
    assert 'name="password"' in content
    # Nothing from a CDN, or anywhere else off the dashboard's own origin.
    assert "http://" not in content
    assert "https://" not in content
    assert 'src="//' not in content
    assert 'href="//' not in content


@pytest.mark.django_db
def test_login_and_logout(client: Client) -> None:
    User.objects.create_user("supervisor", password="correct horse battery staple")
    response = client.post(
        "/login/",
        {"username": "supervisor", "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert client.get("/login/").status_code == 302  # already logged in

    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/login/").status_code == 200


@pytest.mark.django_db
def test_wrong_password_is_refused(client: Client) -> None:
    User.objects.create_user("supervisor", password="correct horse battery staple")
    response = client.post("/login/", {"username": "supervisor", "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

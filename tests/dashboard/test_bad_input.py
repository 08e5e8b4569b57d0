"""HTTP input the dashboard refuses: too large, too many fields, unreadable. A clear 4xx page,
nothing changed, nothing audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    return client


def test_a_body_over_the_limit_is_refused_with_413_and_a_reason(boss: Client) -> None:
    response = boss.post("/sessions/5/notes", data="notes=" + "x" * 300_000,
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    text = response.content.decode()
    assert "larger than the dashboard accepts" in text and "256 KB" in text
    assert "Nothing was changed." in text
    assert not AuditEntry.objects.exists()


def test_too_many_fields_is_refused_with_413(boss: Client) -> None:
    body = "&".join(f"f{i}=1" for i in range(2000))
    response = boss.post("/agents/5/status", data=body,
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "fields" in response.content.decode()


def test_a_malformed_multipart_body_is_a_400(boss: Client) -> None:
    response = boss.post("/agents/5/status", data=b"--x\r\nnot a part\r\n",
                         content_type="multipart/form-data; boundary=x")
    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("form", [{"status": "abc"}, {}, {"status": "1" * 400}])
def test_an_action_with_a_bad_value_is_a_400_and_sends_nothing(boss: Client,
                                                               form: dict[str, str]) -> None:
    response = boss.post("/agents/5/status", form)
    assert response.status_code == 400
    assert not AuditEntry.objects.exists()

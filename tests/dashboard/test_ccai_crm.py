"""The dashboard as CCAI Platform's Custom CRM: the fake CCAI tenant calls the Generic API
endpoints over real sockets (Django's live server), in the documented request data formats,
with the documented authentication; hostile and malformed requests are refused with statuses
CCAI does not retry. Then the pages the lookup URLs open, the session metadata ingestion,
search and the CCAI session page."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import Client

from dashboard import ccai_sessions
from dashboard.models import CcaiSession, CrmAccount, CrmAttachment, CrmComment, CrmRecord
from integrations.ccai.fake import CcaiTenant, Endpoint, sample_session, write_metadata
from integrations.ccai.generic_api import CcaiApiConfig

USER, PASSWORD = "ccai-tenant", "a long enough password"
API = "/crm/ccai/api"


def _tenant(base: str, *, location: str = "data", **formats: Any) -> CcaiTenant:
    write = {"method": "POST", "response_location": location, **formats}
    return CcaiTenant({
        "find_account_by_id": Endpoint(base + API + "/accounts/{ACCOUNT_ID}",
                                       response_location=location),
        "find_account": Endpoint(base + API + "/accounts", parameters={
            "phone": "{PHONE_NUMBER}", "email": "{EMAIL}"}, response_location=location),
        "create_account": Endpoint(base + API + "/accounts", parameters={
            "name": "{NAME}", "phone": "{PHONE_NUMBER}", "email": "{EMAIL}"}, **write),
        "find_record": Endpoint(base + API + "/records", parameters={
            "contactId": "{ACCOUNT_ID}"}, response_location=location),
        "create_record": Endpoint(base + API + "/records", parameters={
            "contactId": "{ACCOUNT_ID}", "subject": "{TICKET_SUBJECT}",
            "description": "{TICKET_DESCRIPTION}", "phone": "{PHONE_NUMBER}",
            "sourceType": "PHONE", "menu": "{MENU_PATH}"}, **write),
        "update_record": Endpoint(base + API + "/records/{RECORD_ID}", method="PATCH",
                                  parameters={"rating": "{RATING}", "feedback": "{FEEDBACK}",
                                              "status": "closed"},
                                  response_location=location),
        "comment": Endpoint(base + API + "/records/{RECORD_ID}/comments",
                            parameters={"comment": "{COMMENT_BODY}"}, **write),
        "upload": Endpoint(base + API + "/records/{RECORD_ID}/attachments",
                           parameters={"name": "chat-{Chat_ID}.txt"}, **write),
    }, {"basic": (USER, PASSWORD)}, retries=0)


@pytest.fixture
def crm(settings: Any, live_server: Any) -> str:
    settings.CCAI_CRM = CcaiApiConfig("basic", username=USER, password=PASSWORD,
                                      response_location="data", max_upload=1024 * 1024)
    return str(live_server.url)


SESSION = {"NAME": "James Bond", "PHONE_NUMBER": "+1 222 333 4444",
           "EMAIL": "james.bond@agents.co", "TICKET_SUBJECT": "Chat 42",
           "TICKET_DESCRIPTION": "Asked about an order", "MENU_PATH": "Orders/Order info",
           "Chat_ID": "42", "COMMENT_BODY": "Chat started", "RATING": "5",
           "FEEDBACK": "the agent was great!"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("formats", [{}, {"data_format": "container", "container_name": "item"},
                                     {"data_format": "container", "container_type": "array",
                                      "container_name": "items"}],
                         ids=["property", "container-map", "container-array"])
def test_a_session_runs_every_flow_in_each_request_data_format(crm: str,
                                                               formats: dict[str, str]) -> None:
    tenant = _tenant(crm, **formats)
    values = dict(SESSION)

    async def session() -> None:
        account = await tenant.account_for(values)
        assert account
        # The next session of the same customer finds the account, here by its phone in the
        # Automatic search format.
        again = dict(SESSION, PHONE_NUMBER="*222*333*4444", EMAIL="")
        assert await tenant.account_for(again) == account
        record = await tenant.record_for(values, reuse=False)
        assert await tenant.record_for(dict(values)) == record  # found: the open record
        assert (await tenant.call("comment", values))[0] == 201
        status, stored = await tenant.call("upload", values, file=("t.txt", b"Hi\nBye\n"))
        assert status == 201 and stored["url"].endswith(f"/attachments/{stored['id']}")
        status, _ = await tenant.call("upload", values, file=("t.txt", b"again"),
                                      multipart=True)
        assert status == 201
        assert (await tenant.call("update_record", values))[0] == 200

    asyncio.run(session())
    account = CrmAccount.objects.get()
    assert (account.name, account.email, account.phone) == ("James Bond",
                                                            "james.bond@agents.co",
                                                            "+1 222 333 4444")
    record = CrmRecord.objects.get()
    assert (record.subject, record.menu, record.rating, record.status) == (
        "Chat 42", "Orders/Order info", 5, "closed")
    assert list(CrmComment.objects.values_list("body", flat=True)) == ["Chat started"]
    assert [bytes(a.data) for a in CrmAttachment.objects.order_by("pk")] == [b"Hi\nBye\n",
                                                                              b"again"]


@pytest.mark.django_db(transaction=True)
def test_find_by_id_falls_back_to_the_query_on_404(crm: str) -> None:
    tenant = _tenant(crm)
    values = dict(SESSION, ACCOUNT_ID="999999")
    account = asyncio.run(tenant.account_for(values))
    assert [name for name, _ in tenant.calls] == ["find_account_by_id", "find_account",
                                                  "create_account"]
    assert [status for _, status in tenant.calls] == [404, 404, 201]
    assert account == str(CrmAccount.objects.get().pk)


@pytest.mark.django_db(transaction=True)
def test_the_response_sits_where_the_admin_said(crm: str, settings: Any) -> None:
    settings.CCAI_CRM = CcaiApiConfig("basic", username=USER, password=PASSWORD,
                                      response_location="result.account")
    tenant = _tenant(crm, location="result.account")
    assert asyncio.run(tenant.account_for(dict(SESSION)))


def _post(crm: str, path: str, body: bytes | dict[str, Any], *,
          auth: tuple[str, str] = (USER, PASSWORD), **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(crm + API + path, content=content, auth=auth,
                      headers={"Content-Type": "application/json"}, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_refusals_use_statuses_ccai_does_not_retry(crm: str) -> None:
    account = CrmAccount.objects.create(name="A", phone="+12223334444", phone_digits="12223334444")
    record = CrmRecord.objects.create(account=account)
    cases = [
        (_post(crm, "/accounts", {"name": "x"}, auth=(USER, "wrong")), 401),
        (httpx.get(crm + API + "/accounts/1"), 401),
        (_post(crm, "/accounts", b"{not json"), 422),
        (_post(crm, "/accounts", {"items": [{"name": "a"}, {"name": "b"}]}), 422),
        (_post(crm, "/accounts", {}), 422),
        (_post(crm, "/accounts", {"name": "x" * 201}), 422),
        (_post(crm, "/records", {"subject": "no account"}), 422),
        (_post(crm, "/records", {"contactId": 999999}), 404),
        (_post(crm, f"/records/{record.pk}/comments", {"comment": ""}), 422),
        (_post(crm, "/records/999999/comments", {"comment": "x"}), 404),
        (_post(crm, f"/records/{record.pk}/attachments", {"file": "not base64!"}), 422),
        (_post(crm, f"/records/{record.pk}/attachments",
               {"file": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()}), 413),
        (httpx.patch(crm + API + f"/records/{record.pk}", content=b'{"rating": 9}',
                     auth=(USER, PASSWORD)), 422),
        (httpx.delete(crm + API + "/accounts", auth=(USER, PASSWORD)), 405),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.status_code == 401 or "error" in response.json()
    assert CrmAccount.objects.count() == 1 and not CrmAttachment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_database_that_is_down_asks_ccai_to_retry(crm: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is locked")
    monkeypatch.setattr(CrmAccount.objects, "create", down)
    response = _post(crm, "/accounts", {"name": "x"})
    assert response.status_code == 400  # the one status CCAI retries


@pytest.mark.django_db(transaction=True)
def test_the_endpoints_are_off_without_the_setting(crm: str, settings: Any) -> None:
    settings.CCAI_CRM = None
    assert _post(crm, "/accounts", {"name": "x"}).status_code == 404


# -- pages, metadata, search -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_lookup_url_opens_the_account_with_its_records_and_sessions(
        admin_client: Client, tmp_path: Path) -> None:
    account = CrmAccount.objects.create(name="James Bond", phone="+1 222 333 4444",
                                        phone_digits="12223334444", email="jb@agents.co")
    CrmRecord.objects.create(account=account, subject="Chat 42")
    write_metadata(tmp_path, "call", sample_session(
        "call", 7001, phone="+12223334444", email="other@x.co", agent="Eve Moneypenny",
        menu_path="Orders"))
    ccai_sessions.ingest(tmp_path)
    found = admin_client.get("/crm/ccai/lookup", {"ani": "2223334444"})
    assert found.status_code == 302 and found["Location"] == f"/crm/ccai/accounts/{account.pk}/"
    page = admin_client.get(found["Location"]).content.decode()
    assert "Chat 42" in page and "/ccai/sessions/call-7001/" in page
    none = admin_client.get("/crm/ccai/lookup", {"email": "nobody@x.co"}).content.decode()
    assert "No account matches" in none


@pytest.mark.django_db
def test_metadata_files_are_ingested_once_and_again_when_they_change(tmp_path: Path) -> None:
    path = write_metadata(tmp_path, "chat", sample_session(
        "chat", 55, phone="", email="q@x.co", agent="Q", menu_path="Support"))
    (tmp_path / "ujet-metadata" / "call-9.json").write_text("{broken")
    refused: dict[str, float] = {}
    first = ccai_sessions.ingest(tmp_path, refused)
    assert (first.new, first.updated, first.refused) == (1, 0, ["call-9.json"])
    # Both unchanged now: the good one stored, the broken one remembered until it changes.
    assert ccai_sessions.ingest(tmp_path, refused).unchanged == 2
    broken = tmp_path / "ujet-metadata" / "call-9.json"
    broken.write_text(json.dumps(sample_session("call", 9, phone="", email="", agent="A",
                                                menu_path="M")))
    os.utime(broken, (broken.stat().st_atime, broken.stat().st_mtime + 5))
    assert ccai_sessions.ingest(tmp_path, refused).new == 1 and not refused
    data = json.loads(path.read_text())
    data["rating"] = 2
    path.write_text(json.dumps(data))
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert ccai_sessions.ingest(tmp_path).updated == 1
    assert CcaiSession.objects.get(session_id=55).rating == 2


@pytest.mark.django_db
def test_ccai_sessions_are_found_and_shown(admin_client: Client, tmp_path: Path) -> None:
    write_metadata(tmp_path, "call", sample_session(
        "call", 7002, phone="+12223334444", email="jb@agents.co", agent="Eve Moneypenny",
        menu_path="Orders/Order info"))
    ccai_sessions.ingest(tmp_path)
    assert [h.url for h in ccai_sessions.search("333 4444")] == ["/ccai/sessions/call-7002/"]
    assert [h.url for h in ccai_sessions.search("Moneypenny")] == ["/ccai/sessions/call-7002/"]
    assert [h.url for h in ccai_sessions.search("7002")] == ["/ccai/sessions/call-7002/"]
    assert ccai_sessions.search("nothing like it") == []
    page = admin_client.get("/ccai/sessions/call-7002/").content.decode()
    assert "Eve Moneypenny" in page and "Orders/Order info" in page and "290 s" in page
    assert admin_client.get("/ccai/sessions/chat-7002/").status_code == 404


@pytest.mark.django_db
def test_a_user_without_a_role_sees_no_crm_pages(client: Client) -> None:
    client.force_login(get_user_model().objects.create_user("nobody"))
    assert client.get("/crm/ccai/lookup").status_code == 403
    assert client.get("/ccai/sessions/call-1/").status_code == 403


# -- OAuth 2.0 (authorization code) -----------------------------------------------------------

CLIENT, SECRET = "ccai-client", "a-client-secret-of-some-length"
REDIRECT = "https://tenant.ccaiplatform.com/v1/crm/oauth/callback"


@pytest.fixture
def oauth(settings: Any, live_server: Any) -> str:
    settings.CCAI_CRM = CcaiApiConfig("oauth", oauth_client_id=CLIENT,
                                      oauth_client_secret=SECRET)
    settings.CCAI_CRM_OAUTH_REDIRECT_URIS = (REDIRECT,)
    return str(live_server.url)


def _authorize(client: Client, **changes: str) -> Any:
    params = {"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
              "state": "s-1", "scope": "crm"}
    params.update(changes)
    return client.post("/crm/ccai/oauth/authorize", {**params, "decision": "approve"})


@pytest.mark.django_db(transaction=True)
def test_the_oauth_flow_gives_ccai_a_token_that_opens_the_api(oauth: str) -> None:
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("boss"))
    consent = admin.get("/crm/ccai/oauth/authorize", {
        "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "state": "s-1"})
    assert consent.status_code == 200 and "Approve" in consent.content.decode()
    approved = _authorize(admin)
    location = approved["Location"]
    assert location.startswith(REDIRECT + "?") and "state=s-1" in location
    code = location.split("code=")[1].split("&")[0]

    token = httpx.post(oauth + "/crm/ccai/oauth/token", auth=(CLIENT, SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    again = httpx.post(oauth + "/crm/ccai/oauth/token", auth=(CLIENT, SECRET), data={
        "grant_type": "authorization_code", "code": code})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    tenant = _tenant(oauth, location="")
    tenant.auth = {"bearer": token["access_token"]}
    assert asyncio.run(tenant.account_for(dict(SESSION)))
    tenant.auth = {"bearer": "made-up"}
    assert asyncio.run(tenant.call("find_account", dict(SESSION)))[0] == 401

    refreshed = httpx.post(oauth + "/crm/ccai/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": CLIENT, "client_secret": SECRET}).json()
    tenant.auth = {"bearer": refreshed["access_token"]}
    assert asyncio.run(tenant.call("find_account", dict(SESSION)))[0] == 200
    tenant.auth = {"bearer": token["access_token"]}  # replaced by the refresh
    assert asyncio.run(tenant.call("find_account", dict(SESSION)))[0] == 401


@pytest.mark.django_db(transaction=True)
def test_the_token_endpoint_refuses_a_wrong_client(oauth: str) -> None:
    response = httpx.post(oauth + "/crm/ccai/oauth/token", auth=(CLIENT, "wrong"),
                          data={"grant_type": "authorization_code", "code": "x"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.mark.django_db
@pytest.mark.parametrize("changes", [{"redirect_uri": "https://evil.example/cb"},
                                     {"client_id": "someone-else"}, {"response_type": "token"}])
def test_an_unchecked_authorization_request_redirects_nowhere(settings: Any,
                                                             changes: dict[str, str]) -> None:
    settings.CCAI_CRM = CcaiApiConfig("oauth", oauth_client_id=CLIENT,
                                      oauth_client_secret=SECRET)
    settings.CCAI_CRM_OAUTH_REDIRECT_URIS = (REDIRECT,)
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("boss"))
    response = _authorize(admin, **changes)
    assert response.status_code == 400 and "Location" not in response


@pytest.mark.django_db
def test_only_an_administrator_approves(settings: Any) -> None:
    settings.CCAI_CRM = CcaiApiConfig("oauth", oauth_client_id=CLIENT,
                                      oauth_client_secret=SECRET)
    settings.CCAI_CRM_OAUTH_REDIRECT_URIS = (REDIRECT,)
    viewer = Client()
    viewer.force_login(get_user_model().objects.create_user("viewer"))
    assert _authorize(viewer).status_code == 403

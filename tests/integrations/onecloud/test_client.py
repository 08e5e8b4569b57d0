"""The OneCloud probe against the local fake tenant over real sockets: a chat accepted, timed
and ended; every documented error code the fake can give mapped to its cause; the request's
shape (prefix, tenantUrl, Authorization scheme, User-Agent) at the HTTP boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from integrations.fake_server import FakeServerThread
from integrations.onecloud.client import ERROR_CAUSES, EntryPoint, authorization, probe
from integrations.onecloud.errors import OneCloudConfigError
from integrations.onecloud.fake import DEMO_APP_ID, DEMO_TENANT, FakeOneCloud

DOCUMENTED = ["1000", "2000", "2001", "2002", "2003", "2004", "3000", "5000", "5001", "5003",
              "5004", "5005", "5006", "5500", "5501", "5502", "5509", "5511", "5558", "5955",
              "5601", "5602", "5603"]


@pytest.fixture
def fake() -> Iterator[tuple[FakeOneCloud, str]]:
    state = FakeOneCloud()
    with FakeServerThread(state.app(), name="fake-onecloud") as server:
        yield state, server.url


def _entry(url: str, **changes: Any) -> EntryPoint:
    values: dict[str, Any] = {"base_url": url, "tenant_url": DEMO_TENANT, "app_id": DEMO_APP_ID,
                              "client_id": "probe-1", "phone_number": "3001",
                              "parameters": {"first_name": "Probe"}}
    values.update(changes)
    return EntryPoint(**values)


def test_every_documented_error_code_has_a_cause() -> None:
    assert sorted(ERROR_CAUSES) == sorted(DOCUMENTED)


async def test_a_chat_is_accepted_timed_and_ended(fake: Any) -> None:
    state, url = fake
    result = await probe(_entry(url))
    assert result.accepted and result.ended and result.chat_id
    assert result.seconds is not None and result.seconds >= 0
    assert (state.started, state.ended, len(state.open_chats)) == (1, 1, 0)


async def test_a_slow_chat_server_shows_in_the_time(fake: Any) -> None:
    state, url = fake
    state.delay = 0.3
    result = await probe(_entry(url))
    assert result.accepted and result.seconds is not None and result.seconds >= 0.3


@pytest.mark.parametrize("changes, code", [
    ({"tenant_url": "other.brightpattern.com"}, "1000"),
    ({"app_id": "NoSuchEntry"}, "5006"),
])
async def test_a_misconfigured_entry_point_is_refused_with_its_cause(
        fake: Any, changes: dict[str, Any], code: str) -> None:
    state, url = fake
    result = await probe(_entry(url, **changes))
    assert not result.accepted
    assert (result.code, result.cause) == (code, ERROR_CAUSES[code])
    assert state.started == 0


@pytest.mark.parametrize("code", ["5000", "5001", "5500", "5603"])
async def test_a_failing_chat_server_is_reported_with_the_documented_cause(
        fake: Any, code: str) -> None:
    state, url = fake
    state.fail_code = code
    result = await probe(_entry(url))
    assert not result.accepted and result.code == code and result.cause == ERROR_CAUSES[code]


async def test_nobody_listening_is_a_failed_probe() -> None:
    server = FakeServerThread(FakeOneCloud().app()).start()
    url = server.url
    server.stop()
    result = await probe(_entry(url))
    assert not result.accepted and "could not connect" in result.cause


@pytest.mark.parametrize("header, code", [
    (None, "2000"), ("garbage", "2001"), ('Bearer appId="a", clientId="b"', "2002"),
    ('MOBILE-API-140-327-PLAIN clientId="b"', "2003"),
    (f'MOBILE-API-140-327-PLAIN appId="{DEMO_APP_ID}"', "2004"),
])
def test_the_fake_checks_the_authorization_header_as_documented(
        fake: Any, header: str | None, code: str) -> None:
    _, url = fake
    headers = {"Authorization": header} if header else {}
    response = httpx.post(f"{url}/clientweb/api/v2/chats", params={"tenantUrl": DEMO_TENANT},
                          json={}, headers=headers)
    assert str(response.json()["error_code"]) == code


def test_the_fake_refuses_a_body_that_is_not_json(fake: Any) -> None:
    _, url = fake
    response = httpx.post(f"{url}/clientweb/api/v2/chats", params={"tenantUrl": DEMO_TENANT},
                          content=b"{oops", headers={
                              "Authorization": authorization(_entry(url))})
    assert str(response.json()["error_code"]) == "5003"


async def test_the_request_is_the_documents_example_shape() -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"chat_id": "c-1"} if request.url.path.endswith(
            "/chats") else {})
    entry = _entry("https://tenant.cx.onecloud.com", tenant_url="yourcompany.brightpattern.com",
                   app_id="test", client_id="123")
    result = await probe(entry, transport=httpx.MockTransport(reply))
    assert result.accepted and result.ended
    start, end = seen
    assert str(start.url) == ("https://tenant.cx.onecloud.com/clientweb/api/v2/chats"
                              "?tenantUrl=yourcompany.brightpattern.com")
    assert start.headers["Authorization"] == 'MOBILE-API-140-327-PLAIN appId="test", clientId="123"'
    assert start.headers["User-Agent"] == "MobileClient"
    assert start.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert json.loads(start.content) == {"phone_number": "3001",
                                         "parameters": {"first_name": "Probe"}}
    assert end.url.path == "/clientweb/api/v2/chats/c-1/events"
    assert json.loads(end.content) == {"events": [{"event": "chat_session_end"}]}


async def test_an_error_status_without_the_error_body_is_still_a_clear_failure() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="<html>"))
    result = await probe(_entry("https://tenant.cx.onecloud.com"), transport=transport)
    assert not result.accepted and result.status == 502 and "without an error body" in result.cause


async def test_a_chat_accepted_but_not_ended_says_so() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/chats"):
            return httpx.Response(200, json={"chat_id": "c-1"})
        return httpx.Response(404, json={"error_code": 5005, "error_message": "not found"})
    result = await probe(_entry("https://tenant.cx.onecloud.com"),
                         transport=httpx.MockTransport(reply))
    assert result.accepted and not result.ended and "ending the chat" in result.cause


@pytest.mark.parametrize("changes", [{"base_url": "http://tenant.example"},
                                     {"base_url": "tenant"}, {"app_id": 'a", x="'},
                                     {"client_id": ""}, {"tenant_url": " "}])
def test_bad_entry_points_are_refused_before_any_request(changes: dict[str, Any]) -> None:
    with pytest.raises(OneCloudConfigError):
        _entry("https://tenant.cx.onecloud.com", **changes)


@pytest.mark.parametrize("code", DOCUMENTED)
async def test_each_documented_error_body_gives_its_cause(code: str) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error_code": int(code), "error_message": "x"})
    result = await probe(_entry("https://tenant.cx.onecloud.com"),
                         transport=httpx.MockTransport(reply))
    assert not result.accepted and (result.code, result.cause) == (code, ERROR_CAUSES[code])

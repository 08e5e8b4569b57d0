"""The OpenMethods client against the local fake over real sockets, and, at the HTTP boundary
(httpx MockTransport), answers the fake never gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from integrations.fake_server import FakeServerThread
from integrations.openmethods.client import (
    MAX_PROPERTIES,
    OpenMethodsClient,
    OpenMethodsConfig,
)
from integrations.openmethods.errors import (
    OpenMethodsBadRequest,
    OpenMethodsConfigError,
    OpenMethodsLegacyHost,
    OpenMethodsRejected,
    OpenMethodsUnauthorized,
    OpenMethodsUnavailable,
)
from integrations.openmethods.fake import DEMO_API_KEY, FakeOpenMethods


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenMethods, str]]:
    state = FakeOpenMethods()
    with FakeServerThread(state.app(), name="fake-openmethods") as server:
        yield state, server.url


def _config(url: str, **changes: object) -> OpenMethodsConfig:
    return replace(OpenMethodsConfig(api_key=DEMO_API_KEY, base_url=url, crm_id="acme.crm"),
                   **changes)  # type: ignore[arg-type]


async def _control(url: str, **body: object) -> None:
    """The fake's control endpoint, as the demo and the browser tests use it."""
    async with httpx.AsyncClient() as http:
        (await http.post(url + "/_fake/control", json=body)).raise_for_status()


@pytest.mark.parametrize("answer", ["json", "string"])
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_cti_event_reaches_the_agent_with_its_properties(
        fake: tuple[FakeOpenMethods, str], answer: str, method: str) -> None:
    state, url = fake
    async with OpenMethodsClient(_config(url, cti_answer=answer, method=method)) as client:
        sent = await client.send_cti("JSmith", "Supervisor Note", {"note": "Call me", "q": "7"})
    assert sent.status == 200
    assert sent.message == ("OK" if answer == "json" else "Result:OK")
    [event] = state.events
    # The CTI login is case sensitive and the event name is sent exactly, spaces included.
    assert event["agent_id"] == "JSmith"
    assert event["event"] == "Supervisor Note"
    assert event["route"] == answer and event["method"] == method
    assert event["properties"] == {"note": "Call me", "q": "7"}


async def test_a_crm_event_goes_in_lower_case_with_the_crm_id(
        fake: tuple[FakeOpenMethods, str]) -> None:
    state, url = fake
    async with OpenMethodsClient(_config(url)) as client:
        await client.send_crm("J.Smith@Example.com", "popIt", {"case": "123"})
    [event] = state.events
    assert event == {**event, "route": "crm", "agent_id": "j.smith@example.com",
                     "crm_id": "acme.crm", "properties": {"case": "123"}}


async def test_a_regenerated_key_is_a_401_telling_the_admin_to_copy_the_new_one(
        fake: tuple[FakeOpenMethods, str]) -> None:
    state, url = fake
    await _control(url, api_key="new-key")
    async with OpenMethodsClient(_config(url)) as client:
        with pytest.raises(OpenMethodsUnauthorized) as caught:
            await client.send_cti("JSmith", "popIt")
    assert caught.value.status == 401
    assert "re-generated" in caught.value.message and "API Key" in caught.value.message
    assert DEMO_API_KEY not in str(caught.value)
    assert not state.events


async def test_a_server_error_is_rejected_with_its_status(
        fake: tuple[FakeOpenMethods, str]) -> None:
    _, url = fake
    await _control(url, fail_status=503)
    async with OpenMethodsClient(_config(url)) as client:
        with pytest.raises(OpenMethodsRejected) as caught:
            await client.send_cti("JSmith", "popIt")
    assert caught.value.status == 503
    assert caught.value.route == "POST /api/sendmessage/v1/CTI"


async def test_nobody_listening_is_unavailable() -> None:
    server = FakeServerThread(FakeOpenMethods().app()).start()
    url = server.url
    server.stop()
    async with OpenMethodsClient(_config(url)) as client:
        with pytest.raises(OpenMethodsUnavailable):
            await client.send_cti("JSmith", "popIt")


@pytest.mark.parametrize("properties, complaint", [
    ({"jwt": "x"}, "one of the API's own"),
    ({"AgentId": "x"}, "one of the API's own"),
    ({"bad name": "x"}, "letters, digits"),
    ({"n": "x" * 1001}, "at most 1000"),
    ({"a": "1", "A": "2"}, "given twice"),
    ({f"p{i}": "v" for i in range(MAX_PROPERTIES + 1)}, "at most 20 properties"),
])
async def test_bad_properties_are_refused_before_anything_is_sent(
        fake: tuple[FakeOpenMethods, str], properties: dict[str, str], complaint: str) -> None:
    state, url = fake
    async with OpenMethodsClient(_config(url)) as client:
        with pytest.raises(OpenMethodsBadRequest, match=complaint):
            await client.send_cti("JSmith", "popIt", properties)
    assert not state.events


@pytest.mark.parametrize("login, event", [("", "popIt"), ("  ", "popIt"), ("JSmith", ""),
                                          ("JSmith", "   ")])
async def test_a_missing_login_or_event_is_refused(
        fake: tuple[FakeOpenMethods, str], login: str, event: str) -> None:
    state, url = fake
    async with OpenMethodsClient(_config(url)) as client:
        with pytest.raises(OpenMethodsBadRequest):
            await client.send_cti(login, event)
    assert not state.events


async def test_the_crm_route_needs_a_crm_id(fake: tuple[FakeOpenMethods, str]) -> None:
    _, url = fake
    async with OpenMethodsClient(_config(url, crm_id="")) as client:
        with pytest.raises(OpenMethodsConfigError, match="OPENMETHODS_CRM_ID"):
            await client.send_crm("jsmith", "popIt")


# --- configuration ------------------------------------------------------------------------


def test_the_integration_is_off_without_a_key() -> None:
    assert OpenMethodsConfig.from_env({}) is None
    assert OpenMethodsConfig.from_env({"OPENMETHODS_API_KEY": ""}) is None


def test_the_configuration_defaults_to_the_current_host_and_post() -> None:
    config = OpenMethodsConfig.from_env({"OPENMETHODS_API_KEY": "k"})
    assert config is not None
    assert config.base_url == "https://connect.openmethodscloud.com"
    assert (config.method, config.cti_answer) == ("POST", "json")


@pytest.mark.parametrize("url", ["https://connect.openmethods.com",
                                 "https://CONNECT.OPENMETHODS.COM/api"])
def test_the_legacy_host_is_refused_with_the_end_of_life_advice(url: str) -> None:
    with pytest.raises(OpenMethodsLegacyHost) as caught:
        OpenMethodsConfig.from_env({"OPENMETHODS_API_KEY": "k", "OPENMETHODS_URL": url})
    assert "connect.openmethodscloud.com" in caught.value.message
    assert "re-generate" in caught.value.message


@pytest.mark.parametrize("env, variable", [
    ({"OPENMETHODS_URL": "http://openmethods.example"}, "https"),
    ({"OPENMETHODS_URL": "ftp://x"}, "OPENMETHODS_URL"),
    ({"OPENMETHODS_METHOD": "PUT"}, "OPENMETHODS_METHOD"),
    ({"OPENMETHODS_CTI_ANSWER": "xml"}, "OPENMETHODS_CTI_ANSWER"),
    ({"OPENMETHODS_TIMEOUT": "soon"}, "OPENMETHODS_TIMEOUT"),
    ({"OPENMETHODS_TIMEOUT": "0"}, "OPENMETHODS_TIMEOUT"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(OpenMethodsConfigError, match=variable):
        OpenMethodsConfig.from_env({"OPENMETHODS_API_KEY": "k", **env})


# --- answers the fake does not give (MockTransport) -----------------------------------------


def _answering(status: int, body: str, content_type: str = "application/json") -> OpenMethodsClient:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=body, headers={"content-type": content_type})
    config = OpenMethodsConfig(api_key="k", base_url="https://connect.openmethodscloud.com",
                               crm_id="c")
    return OpenMethodsClient(config, transport=httpx.MockTransport(reply))


@pytest.mark.parametrize("status, body", [
    (200, json.dumps({"result": "Failure", "message": "no such agent"})),
    (200, "<html>maintenance</html>"),
    (200, json.dumps("Result:OK")),  # the string answer where the JSON route was asked
    (302, ""),
    (404, "Not Found"),
])
async def test_anything_but_the_documented_success_is_rejected(status: int, body: str) -> None:
    async with _answering(status, body) as client:
        with pytest.raises(OpenMethodsRejected):
            await client.send_cti("JSmith", "popIt")


@pytest.mark.parametrize("body", [json.dumps("Result:OK"), "Result:OK",
                                  json.dumps({"result": "Success", "message": "OK"})])
async def test_the_crm_route_accepts_either_success_form(body: str) -> None:
    async with _answering(200, body) as client:
        sent = await client.send_crm("jsmith", "popIt")
    assert sent.route == "POST /api/sendmessage/CRM"


async def test_the_post_body_is_the_documents_sample_shape() -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": "Success", "message": "OK"})
    config = OpenMethodsConfig(api_key="k", crm_id="acme")
    async with OpenMethodsClient(config, transport=httpx.MockTransport(reply)) as client:
        await client.send_crm("JSmith", "popIt", {"prop1": "v"})
    [request] = seen
    assert str(request.url) == "https://connect.openmethodscloud.com/api/sendmessage/CRM"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"agentid": "jsmith", "jwt": "k", "crmid": "acme",
                                           "event": "popIt", "prop1": "v"}

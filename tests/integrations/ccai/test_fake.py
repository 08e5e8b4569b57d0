"""The fake CCAI tenant's own rules, from the document: parameter functions (the examples'
"keys present" table), request data formats, and retrying a 400 (only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web

from integrations.ccai.fake import CcaiTenant, Endpoint, evaluate, wrap
from integrations.fake_server import FakeServerThread

ZOHO = "=CONCAT_OR((Id:equals:{ACCOUNT_ID}), (Email:equals:{EMAIL}), (Phone:equals:{PHONE_NUMBER}))"


@pytest.mark.parametrize("values, expected", [
    ({"ACCOUNT_ID": "u-1"}, "(Id:equals:u-1)"),
    ({"ACCOUNT_ID": "u-1", "EMAIL": "james.bond@007"},
     "(Id:equals:u-1) or (Email:equals:james.bond@007)"),
    ({"PHONE_NUMBER": "+12223334444", "EMAIL": "james.bond@007"},
     "(Email:equals:james.bond@007) or (Phone:equals:+12223334444)"),
    ({}, ""),
])
def test_concat_or_joins_the_parts_whose_keys_are_present(values: dict[str, str],
                                                          expected: str) -> None:
    assert evaluate(ZOHO, values) == expected


def test_default_value_and_concat_and() -> None:
    assert evaluate("=DEFAULT_VALUE({AGENT_EMAIL}, support@example.com)", {}) == \
        "support@example.com"
    assert evaluate("=DEFAULT_VALUE({AGENT_EMAIL}, x)", {"AGENT_EMAIL": "a@b"}) == "a@b"
    assert evaluate("=CONCAT_AND({A}, {B})", {"A": "1", "B": "2"}) == "1 and 2"
    assert evaluate("Call {Call_ID}", {"Call_ID": "7"}) == "Call 7"


def test_request_data_formats() -> None:
    assert wrap({"a": 1}, Endpoint("u")) == {"a": 1}
    assert wrap({"a": 1}, Endpoint("u", data_format="container", container_name="c")) == {
        "c": {"a": 1}}
    assert wrap({"a": 1}, Endpoint("u", data_format="container", container_type="array",
                                   container_name="c")) == {"c": [{"a": 1}]}


@pytest.fixture
def flaky() -> Iterator[str]:
    answers = [400, 400, 200]

    async def handle(request: web.Request) -> web.Response:
        status = answers.pop(0) if answers else 500
        return web.json_response({"data": {"id": 5}} if status == 200 else {}, status=status)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    with FakeServerThread(app) as server:
        yield server.url


async def test_a_400_is_retried_and_the_response_location_read(flaky: str) -> None:
    tenant = CcaiTenant({"find_account": Endpoint(flaky + "/a", response_location="data")},
                        {"basic": ("u", "p")}, retry_base=0.01)
    status, found = await tenant.call("find_account", {})
    assert (status, found) == (200, {"id": 5})
    assert [s for _, s in tenant.calls] == [400, 400, 200]


async def test_other_errors_are_not_retried(flaky: str) -> None:
    tenant = CcaiTenant({"x": Endpoint(flaky + "/x")}, {"basic": ("u", "p")}, retries=0)
    assert (await tenant.call("x", {}))[0] == 400
    assert len(tenant.calls) == 1

"""The Generic API's wire format on the Custom CRM's side: authentication in each documented
mode, the request data formats, response data locations and phone number formats."""

from __future__ import annotations

import base64
import json

import pytest

from integrations.ccai.errors import CcaiConfigError, CcaiInvalid, CcaiUnauthorized
from integrations.ccai.generic_api import (
    CcaiApiConfig,
    check_auth,
    phone_matches,
    place,
    read_body,
)


class Headers(dict[str, str]):
    """Looks names up without case, as Django's request.headers does."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        for name, value in self.items():
            if name.lower() == key.lower():
                return value
        return default


def _basic(user: str, password: str) -> Headers:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return Headers({"Authorization": f"Basic {token}"})


BASIC = CcaiApiConfig("basic", username="ccai", password="correct horse battery")


def test_basic_authentication() -> None:
    check_auth(BASIC, _basic("ccai", "correct horse battery"))
    for headers in (_basic("ccai", "wrong"), _basic("other", "correct horse battery"),
                    Headers(), Headers({"Authorization": "Bearer x"})):
        with pytest.raises(CcaiUnauthorized):
            check_auth(BASIC, headers)


def test_custom_headers_must_all_match() -> None:
    config = CcaiApiConfig.from_env({"CCAI_CRM_AUTH": "header",
                                     "CCAI_CRM_HEADERS": "X-Api-Key: 0123456789abcdef; "
                                                         "X-Tenant: acme-tenant-1"})
    assert config is not None
    check_auth(config, Headers({"x-api-key": "0123456789abcdef", "X-Tenant": "acme-tenant-1"}))
    with pytest.raises(CcaiUnauthorized, match="X-Tenant"):
        check_auth(config, Headers({"X-Api-Key": "0123456789abcdef"}))


def test_oauth_wants_a_valid_bearer_token() -> None:
    config = CcaiApiConfig("oauth", oauth_client_id="c", oauth_client_secret="s" * 16)
    check_auth(config, Headers({"Authorization": "Bearer good"}), lambda t: t == "good")
    with pytest.raises(CcaiUnauthorized):
        check_auth(config, Headers({"Authorization": "Bearer bad"}), lambda t: t == "good")
    with pytest.raises(CcaiUnauthorized):
        check_auth(config, Headers({"Authorization": "Bearer good"}))


@pytest.mark.parametrize("env, variable", [
    ({"CCAI_CRM_AUTH": "magic"}, "CCAI_CRM_AUTH"),
    ({"CCAI_CRM_AUTH": "basic", "CCAI_CRM_USERNAME": "u", "CCAI_CRM_PASSWORD": "short"},
     "CCAI_CRM_PASSWORD"),
    ({"CCAI_CRM_AUTH": "header"}, "CCAI_CRM_HEADERS"),
    ({"CCAI_CRM_AUTH": "header", "CCAI_CRM_HEADERS": "no colon here"}, "CCAI_CRM_HEADERS"),
    ({"CCAI_CRM_AUTH": "oauth", "CCAI_CRM_OAUTH_CLIENT_ID": "c"}, "CCAI_CRM_OAUTH"),
    ({"CCAI_CRM_AUTH": "basic", "CCAI_CRM_USERNAME": "u", "CCAI_CRM_PASSWORD": "p" * 12,
      "CCAI_CRM_RESPONSE_LOCATION": "data..x"}, "CCAI_CRM_RESPONSE_LOCATION"),
    ({"CCAI_CRM_AUTH": "basic", "CCAI_CRM_USERNAME": "u", "CCAI_CRM_PASSWORD": "p" * 12,
      "CCAI_CRM_MAX_UPLOAD_MB": "1000"}, "CCAI_CRM_MAX_UPLOAD_MB"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(CcaiConfigError, match=variable):
        CcaiApiConfig.from_env(env)


def test_off_without_an_auth_mode() -> None:
    assert CcaiApiConfig.from_env({}) is None


FIELDS = frozenset({"name", "phone", "email"})


@pytest.mark.parametrize("body", [
    {"name": "James Bond", "phone": "+12223334444"},                       # Property
    {"account": {"name": "James Bond", "phone": "+12223334444"}},          # Container, map
    {"account": [{"name": "James Bond", "phone": "+12223334444"}]},        # Container, array
])
def test_each_request_data_format_gives_the_parameters(body: dict[str, object]) -> None:
    assert read_body(json.dumps(body).encode(), known=FIELDS) == {
        "name": "James Bond", "phone": "+12223334444"}


def test_a_single_known_parameter_is_not_taken_for_a_container() -> None:
    assert read_body(b'{"name": "Bond"}', known=FIELDS) == {"name": "Bond"}
    assert read_body(b"", known=FIELDS) == {}


@pytest.mark.parametrize("body", [b"{oops", b"[1]", b'"x"', b'{"c": [{"a": 1}, {"b": 2}]}',
                                  b'{"c": []}', b'{"c": [1]}'])
def test_malformed_bodies_are_refused_for_good(body: bytes) -> None:
    with pytest.raises(CcaiInvalid) as caught:
        read_body(body, known=FIELDS)
    assert caught.value.status == 422  # never 400: CCAI would retry it for a week


def test_the_response_goes_at_its_data_location() -> None:
    assert place({"id": 1}, "") == {"id": 1}
    assert place({"id": 1}, "data") == {"data": {"id": 1}}
    assert place({"id": 1}, "result.account") == {"result": {"account": {"id": 1}}}


@pytest.mark.parametrize("stored, query, expected", [
    ("+1 222 333 4444", "*222*333*4444", True),      # Automatic's search format
    ("+12223334444", "*222*333*4444", True),
    ("+1 222 333 4444", "*333*222*4444", False),    # groups out of order
    ("+12223334444", "2223334444", True),           # US local vs E.164
    ("(222) 333-4444", "+1 222 333 4444", True),    # US local standard vs international
    ("+12223334444", "+12223334445", False),
    ("", "2223334444", False),
    ("+12223334444", "", False),
])
def test_phones_match_in_every_documented_format(stored: str, query: str,
                                                 expected: bool) -> None:
    assert phone_matches(stored, query) is expected

"""The token service: the 401 challenge, the token request and the tokens it issues."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from integrations.clarity.simulator.auth import GRANT_TYPE, TOKEN_PATH
from integrations.clarity.simulator.server import (
    DEFAULT_CLIENT_ID,
    SimulatorConfig,
    SimulatorThread,
)

from .conftest import fetch_token

KEY = "a-test-signing-key-of-reasonable-length-0123456789"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(port=0, jwt_key=KEY, token_ttl=2)) as running:
        yield running


def test_a_call_without_a_token_names_the_token_service(sim: SimulatorThread) -> None:
    response = httpx.get(sim.url + "/webapi/api/v2/profile")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'{sim.url}{TOKEN_PATH},grant_type="{GRANT_TYPE}"')
    garbage = httpx.get(sim.url + "/webapi/api/info",
                        headers={"Authorization": "Bearer not.a.jwt"})
    assert garbage.status_code == 401


def test_a_token_carries_the_seeds_claims(sim: SimulatorThread) -> None:
    response = fetch_token(sim.url, "lead2")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 2
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    claims = jwt.decode(body["access_token"], KEY, algorithms=["HS256"],
                        audience=DEFAULT_CLIENT_ID, options={"verify_exp": False})
    lead = sim.call(lambda: sim.sim.cc.agent_by_login("lead2"))
    assert claims["connect_agent_id"] == str(lead.id)
    assert claims["iss"] == sim.url + TOKEN_PATH
    assert claims["exp"] - claims["nbf"] == 2


def test_credentials_are_checked_before_the_client_id(sim: SimulatorThread) -> None:
    assert fetch_token(sim.url, "agent3", password="wrong").status_code == 401
    assert fetch_token(sim.url, "nobody").status_code == 401
    assert fetch_token(sim.url, "agent3", password="wrong",
                       client_id="00000000-0000-0000-0000-000000000000").status_code == 401
    bad_client = fetch_token(sim.url, "agent3", client_id="00000000-0000-0000-0000-000000000000")
    assert bad_client.status_code == 400
    assert bad_client.json() == {"error": "invalid_clientId",
                                 "error_description": "client_id is not valid"}
    no_auth = httpx.post(sim.url + TOKEN_PATH,
                         data={"grant_type": GRANT_TYPE, "client_id": DEFAULT_CLIENT_ID})
    assert no_auth.status_code == 401


def test_the_token_request_must_be_the_windows_grant_as_a_form(sim: SimulatorThread) -> None:
    wrong_grant = httpx.post(sim.url + TOKEN_PATH, auth=("agent3", "demo"),
                             data={"grant_type": "password", "client_id": DEFAULT_CLIENT_ID})
    assert wrong_grant.status_code == 400
    as_json = httpx.post(sim.url + TOKEN_PATH, auth=("agent3", "demo"),
                         json={"grant_type": GRANT_TYPE, "client_id": DEFAULT_CLIENT_ID})
    assert as_json.status_code == 400


def test_a_domain_prefix_on_the_login_is_accepted(sim: SimulatorThread) -> None:
    assert fetch_token(sim.url, "CONTOSO\\agent4").status_code == 200


def test_tokens_expire_and_foreign_signatures_are_refused(sim: SimulatorThread) -> None:
    token = fetch_token(sim.url, "supervisor").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(sim.url + "/webapi/api/v2/profile", headers=headers).status_code == 200
    time.sleep(3.1)
    assert httpx.get(sim.url + "/webapi/api/v2/profile", headers=headers).status_code == 401
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience=DEFAULT_CLIENT_ID,
                        options={"verify_exp": False})
    claims.update(exp=int(time.time()) + 600, nbf=int(time.time()))
    forged = jwt.encode(claims, "some-other-key-that-is-long-enough-for-hs256", "HS256")
    assert httpx.get(sim.url + "/webapi/api/v2/profile",
                     headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert httpx.get(sim.url + "/webapi/api/v2/profile",
                     headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401


def test_tokens_are_never_logged(sim: SimulatorThread, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        token = fetch_token(sim.url, "supervisor").json()["access_token"]
        httpx.get(sim.url + "/webapi/api/v2/profile",
                  headers={"Authorization": f"Bearer {token}"})
        httpx.post(sim.url + "/webapi/api/v2/clientlogs",
                   headers={"Authorization": f"Bearer {token}"},
                   json={"message": "hello", "logLevel": "info"})
    assert caplog.records, "the simulator logs what happens"
    assert all(token not in r.getMessage() for r in caplog.records)
    assert all(token.split(".")[2] not in r.getMessage() for r in caplog.records)

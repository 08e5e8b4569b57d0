"""The Genesys client against the local fake over real sockets: OAuth client credentials, the
integration read, a revoked token renewed once, and each failure named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from typing import Any

import httpx
import pytest

from integrations.fake_server import FakeServerThread
from integrations.genesys.client import GenesysClient, GenesysConfig, OpeningHours
from integrations.genesys.errors import (
    GenesysApiError,
    GenesysAuthError,
    GenesysConfigError,
    GenesysUnavailable,
)
from integrations.genesys.fake import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_INTEGRATION_ID,
    FakeGenesys,
)


@pytest.fixture
def fake() -> Iterator[tuple[FakeGenesys, str]]:
    state = FakeGenesys()
    with FakeServerThread(state.app(), name="fake-genesys") as server:
        yield state, server.url


def _config(url: str, **env: str) -> GenesysConfig:
    config = GenesysConfig.from_env({
        "GENESYS_CLIENT_ID": DEMO_CLIENT_ID, "GENESYS_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "GENESYS_INTEGRATION_ID": DEMO_INTEGRATION_ID, "GENESYS_LOGIN_URL": url,
        "GENESYS_API_URL": url, **env})
    assert config is not None
    return config


async def _control(url: str, **body: Any) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(url + "/_fake/control", json=body)).raise_for_status()


async def test_the_integration_is_read_with_a_client_credentials_token(fake: Any) -> None:
    _, url = fake
    async with GenesysClient(_config(url)) as client:
        integration = await client.integration()
    assert (integration.id, integration.name, integration.create_status) == (
        DEMO_INTEGRATION_ID, "Demo Open Messaging", "Completed")
    assert integration.healthy


async def test_an_integration_in_error_is_not_healthy(fake: Any) -> None:
    _, url = fake
    await _control(url, create_status="Error", create_error="Webhook URL unreachable")
    async with GenesysClient(_config(url)) as client:
        integration = await client.integration()
    assert integration.create_error == "Webhook URL unreachable"
    assert not integration.healthy


async def test_a_revoked_token_is_renewed_once(fake: Any) -> None:
    state, url = fake
    async with GenesysClient(_config(url)) as client:
        await client.integration()
        await _control(url, revoke_tokens=True)
        assert (await client.integration()).name == "Demo Open Messaging"
    assert len(state.tokens) == 1


async def test_a_wrong_secret_is_an_auth_error_naming_the_variables(fake: Any) -> None:
    _, url = fake
    async with GenesysClient(_config(url, GENESYS_CLIENT_SECRET="wrong")) as client:
        with pytest.raises(GenesysAuthError, match="GENESYS_CLIENT_SECRET") as caught:
            await client.integration()
    assert "wrong" not in str(caught.value)


async def test_an_unknown_integration_is_a_404_naming_the_variable(fake: Any) -> None:
    _, url = fake
    async with GenesysClient(_config(url, GENESYS_INTEGRATION_ID="nope")) as client:
        with pytest.raises(GenesysApiError, match="GENESYS_INTEGRATION_ID") as caught:
            await client.integration()
    assert caught.value.status == 404


async def test_nobody_listening_is_unavailable() -> None:
    server = FakeServerThread(FakeGenesys().app()).start()
    url = server.url
    server.stop()
    async with GenesysClient(_config(url)) as client:
        with pytest.raises(GenesysUnavailable):
            await client.integration()


def test_off_without_a_client_id() -> None:
    assert GenesysConfig.from_env({}) is None


@pytest.mark.parametrize("env, variable", [
    ({"GENESYS_CLIENT_SECRET": ""}, "GENESYS_CLIENT_SECRET"),
    ({"GENESYS_INTEGRATION_ID": ""}, "GENESYS_INTEGRATION_ID"),
    ({"GENESYS_REGION": "not a domain"}, "GENESYS_REGION"),
    ({"GENESYS_API_URL": "http://genesys.example"}, "https"),
    ({"GENESYS_OPENING_HOURS": "8-18"}, "GENESYS_OPENING_HOURS"),
    ({"GENESYS_OPENING_HOURS": "18:00-08:00"}, "GENESYS_OPENING_HOURS"),
    ({"GENESYS_OPENING_DAYS": "weekdays"}, "GENESYS_OPENING_DAYS"),
    ({"GENESYS_QUIET_MINUTES": "0"}, "GENESYS_QUIET_MINUTES"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    base = {"GENESYS_CLIENT_ID": "c", "GENESYS_CLIENT_SECRET": "s",
            "GENESYS_INTEGRATION_ID": "i"}
    with pytest.raises(GenesysConfigError, match=variable):
        GenesysConfig.from_env({**base, **env})


def test_the_region_names_both_addresses_and_the_secret_defaults_to_the_clients() -> None:
    config = GenesysConfig.from_env({"GENESYS_CLIENT_ID": "c",
                                     "GENESYS_CLIENT_SECRET": "very-secret-value",
                                     "GENESYS_INTEGRATION_ID": "i",
                                     "GENESYS_REGION": "mypurecloud.de"})
    assert config is not None
    assert (config.login_url, config.api_url) == ("https://login.mypurecloud.de",
                                                  "https://api.mypurecloud.de")
    assert config.signing_secret == "very-secret-value"
    assert "very-secret-value" not in repr(config)


def test_opening_hours_by_day_and_time() -> None:
    hours = OpeningHours.parse("08:30-17:00", "mon-fri,sun")
    assert hours.is_open(0, time(8, 30)) and hours.is_open(6, time(16, 59))
    assert not hours.is_open(5, time(12, 0))  # Saturday
    assert not hours.is_open(2, time(17, 0)) and not hours.is_open(2, time(8, 29))
    assert OpeningHours.parse("00:00-23:59", "fri-mon").days == frozenset({4, 5, 6, 0})

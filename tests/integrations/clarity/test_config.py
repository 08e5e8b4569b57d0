"""ClarityConfig.from_env: every CLARITY_* variable, good and bad values, and secret masking."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest

from integrations.clarity.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_HUB_PATH,
    ClarityConfig,
    RetryPolicy,
)
from integrations.clarity.errors import ClarityConfigError

REMOTE = {
    "CLARITY_URL": "https://connect.example.com",
    "CLARITY_USERNAME": "CONTOSO\\svc-dashboard",
    "CLARITY_PASSWORD": "Pa55 word!",
}
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJjb25uZWN0X2FnZW50X2lkIjoiNSJ9.c2lnbmF0dXJl"


def remote(**extra: str) -> dict[str, str]:
    return {**REMOTE, **extra}


def config_error(env: dict[str, str]) -> ClarityConfigError:
    with pytest.raises(ClarityConfigError) as caught:
        ClarityConfig.from_env(env)
    return caught.value


# -- defaults: the embedded simulator -----------------------------------------------------------


def test_empty_environment_means_the_embedded_simulator() -> None:
    config = ClarityConfig.from_env({})
    assert config.url is None and config.uses_simulator
    assert config.auth == "basic"
    assert (config.username, config.password) == ("supervisor", "demo")
    assert config.client_id == DEFAULT_CLIENT_ID == "0224C392-3845-4AC0-B1A0-D63706181BA7"
    assert config.hub_path == DEFAULT_HUB_PATH == "/webapi/hubs/subscriptions"
    assert config.verify_tls is True and config.ca_bundle is None and config.jwt_key is None
    assert config.timeout == 10.0
    with pytest.raises(ClarityConfigError, match="with_url"):
        _ = config.rest_root


def test_with_url_completes_the_simulator_config() -> None:
    config = ClarityConfig.from_env({"CLARITY_URL": ""}).with_url("http://127.0.0.1:8100/")
    assert config.url == "http://127.0.0.1:8100"
    assert config.rest_root == "http://127.0.0.1:8100/webapi/api"
    assert config.hub_url == "http://127.0.0.1:8100/webapi/hubs/subscriptions"
    assert not config.uses_simulator
    with pytest.raises(ClarityConfigError, match="CLARITY_URL"):
        config.with_url("ftp://127.0.0.1")


def test_simulator_logins_can_be_chosen() -> None:
    config = ClarityConfig.from_env({"CLARITY_USERNAME": "lead1"})
    assert (config.username, config.password) == ("lead1", "demo")
    config = ClarityConfig.from_env({"CLARITY_USERNAME": "agent3", "CLARITY_PASSWORD": "pw"})
    assert (config.username, config.password) == ("agent3", "pw")


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REMOTE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLARITY_TIMEOUT", "3")
    config = ClarityConfig.from_env()
    assert config.url == "https://connect.example.com" and config.timeout == 3.0


# -- CLARITY_URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://connect.example.com", "https://connect.example.com"),
        ("https://connect.example.com/", "https://connect.example.com"),
        ("  https://Connect.Example.com:8443/  ", "https://connect.example.com:8443"),
        ("http://10.0.0.5:8100", "http://10.0.0.5:8100"),
        ("https://gateway.example.com/clarity/", "https://gateway.example.com/clarity"),
        ("http://[::1]:8100", "http://[::1]:8100"),
    ],
)
def test_url_good_values(raw: str, expected: str) -> None:
    config = ClarityConfig.from_env(remote(CLARITY_URL=raw))
    assert config.url == expected
    assert config.rest_root == f"{expected}/webapi/api"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("ftp://connect.example.com", "http"),
        ("connect.example.com", "http"),
        ("https://", "host"),
        ("https://connect.example.com/?tenant=1", "query"),
        ("https://connect.example.com/#top", "fragment"),
        ("https://connect.example.com/webapi/api", "without /webapi/api"),
        ("https://connect.example.com/webapi/", "without /webapi/api"),
        ("https://connect.example.com:99999", "not a valid URL"),
    ],
)
def test_url_bad_values(raw: str, problem: str) -> None:
    error = config_error(remote(CLARITY_URL=raw))
    assert "CLARITY_URL" in str(error)
    assert problem in str(error)


def test_url_with_credentials_is_refused_without_echoing_them() -> None:
    error = config_error(remote(CLARITY_URL="https://svc:hunter2@connect.example.com"))
    assert "CLARITY_URL" in str(error) and "credentials" in str(error)
    assert "hunter2" not in str(error) + repr(error)


# -- CLARITY_AUTH, CLARITY_USERNAME, CLARITY_PASSWORD, CLARITY_TOKEN ------------------------------


def test_auth_defaults_to_ntlm_for_a_real_server() -> None:
    config = ClarityConfig.from_env(REMOTE)
    assert config.auth == "ntlm"
    assert config.username == "CONTOSO\\svc-dashboard"
    assert config.password == "Pa55 word!"


@pytest.mark.parametrize(
    ("raw", "mode"), [("basic", "basic"), ("NTLM", "ntlm"), (" Basic ", "basic")]
)
def test_auth_good_values(raw: str, mode: str) -> None:
    assert ClarityConfig.from_env(remote(CLARITY_AUTH=raw)).auth == mode


def test_auth_bad_value() -> None:
    error = config_error(remote(CLARITY_AUTH="kerberos"))
    assert "CLARITY_AUTH" in str(error) and "kerberos" in str(error)


def test_ntlm_needs_a_real_server() -> None:
    assert "CLARITY_URL" in str(config_error({"CLARITY_AUTH": "ntlm"}))


@pytest.mark.parametrize("missing", ["CLARITY_USERNAME", "CLARITY_PASSWORD"])
@pytest.mark.parametrize("mode", ["ntlm", "basic"])
def test_credentials_required_for_a_real_server(missing: str, mode: str) -> None:
    env = remote(CLARITY_AUTH=mode)
    del env[missing]
    error = config_error(env)
    assert missing in str(error)
    assert "Pa55 word!" not in str(error)


def test_empty_password_counts_as_missing() -> None:
    assert "CLARITY_PASSWORD" in str(config_error(remote(CLARITY_PASSWORD="")))


def test_basic_username_cannot_hold_a_colon() -> None:
    error = config_error(remote(CLARITY_AUTH="basic", CLARITY_USERNAME="svc:dash"))
    assert "CLARITY_USERNAME" in str(error)


def test_token_mode() -> None:
    env = {"CLARITY_URL": "https://connect.example.com", "CLARITY_AUTH": "token"}
    assert "CLARITY_TOKEN" in str(config_error(env))
    config = ClarityConfig.from_env({**env, "CLARITY_TOKEN": f"  {JWT}\n"})
    assert config.auth == "token" and config.token == JWT
    # Token mode also works against the embedded simulator, with a token obtained elsewhere.
    assert ClarityConfig.from_env({"CLARITY_AUTH": "token", "CLARITY_TOKEN": JWT}).token == JWT


def test_token_that_is_not_a_jwt_is_refused_without_echo() -> None:
    env = {"CLARITY_URL": "https://x.example.com", "CLARITY_AUTH": "token"}
    error = config_error({**env, "CLARITY_TOKEN": "opaque-secret-value"})
    assert "CLARITY_TOKEN" in str(error)
    assert "opaque-secret-value" not in str(error) + repr(error)


# -- CLARITY_CLIENT_ID --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["0224C392-3845-4AC0-B1A0-D63706181BA7", "a08570b4-4aa1-460d-a150-904459955be4"]
)
def test_client_id_good_values(raw: str) -> None:
    assert ClarityConfig.from_env(remote(CLARITY_CLIENT_ID=raw)).client_id == raw


@pytest.mark.parametrize(
    "raw", ["abc", "0224C3923845 4AC0B1A0D63706181BA7", "{0224C392-3845-4AC0-B1A0-D63706181BA7}"]
)
def test_client_id_bad_values(raw: str) -> None:
    assert "CLARITY_CLIENT_ID" in str(config_error(remote(CLARITY_CLIENT_ID=raw)))


# -- CLARITY_HUB_PATH ---------------------------------------------------------------------------


def test_hub_path() -> None:
    config = ClarityConfig.from_env(remote(CLARITY_HUB_PATH="/signalr/connect/"))
    assert config.hub_path == "/signalr/connect"
    assert config.hub_url == "https://connect.example.com/signalr/connect"
    for bad in ("hubs/subscriptions", "/hub?x=1", "/hub#a"):
        assert "CLARITY_HUB_PATH" in str(config_error(remote(CLARITY_HUB_PATH=bad)))


# -- CLARITY_VERIFY_TLS, CLARITY_CA_BUNDLE ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("1", True),
        ("YES", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
    ],
)
def test_verify_tls_good_values(raw: str, value: bool) -> None:
    config = ClarityConfig.from_env(remote(CLARITY_VERIFY_TLS=raw))
    assert config.verify_tls is value
    assert config.tls_verify() is value


def test_verify_tls_bad_value() -> None:
    error = config_error(remote(CLARITY_VERIFY_TLS="maybe"))
    assert "CLARITY_VERIFY_TLS" in str(error) and "maybe" in str(error)


def test_ca_bundle(tmp_path: Path) -> None:
    config = ClarityConfig.from_env(remote(CLARITY_CA_BUNDLE=certifi.where()))
    assert config.ca_bundle == certifi.where()
    assert isinstance(config.tls_verify(), ssl.SSLContext)

    missing = tmp_path / "nope.pem"
    error = config_error(remote(CLARITY_CA_BUNDLE=str(missing)))
    assert "CLARITY_CA_BUNDLE" in str(error) and "does not exist" in str(error)

    error = config_error(remote(CLARITY_CA_BUNDLE=certifi.where(), CLARITY_VERIFY_TLS="false"))
    assert "CLARITY_CA_BUNDLE" in str(error) and "CLARITY_VERIFY_TLS" in str(error)


# -- CLARITY_JWT_KEY, CLARITY_TIMEOUT -----------------------------------------------------------


def test_jwt_key() -> None:
    assert ClarityConfig.from_env(remote()).jwt_key is None
    assert ClarityConfig.from_env(remote(CLARITY_JWT_KEY="k" * 40)).jwt_key == "k" * 40


@pytest.mark.parametrize(("raw", "value"), [("2.5", 2.5), ("30", 30.0), (" 1 ", 1.0)])
def test_timeout_good_values(raw: str, value: float) -> None:
    assert ClarityConfig.from_env(remote(CLARITY_TIMEOUT=raw)).timeout == value


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "inf", "nan"])
def test_timeout_bad_values(raw: str) -> None:
    assert "CLARITY_TIMEOUT" in str(config_error(remote(CLARITY_TIMEOUT=raw)))


# -- masking and retry policy -------------------------------------------------------------------


def test_repr_masks_every_secret() -> None:
    config = ClarityConfig.from_env(remote(CLARITY_JWT_KEY="jwt-shared-secret-value"))
    text = repr(config) + str(config)
    assert "Pa55 word!" not in text
    assert "jwt-shared-secret-value" not in text
    assert "password='***'" in text
    token_config = ClarityConfig.from_env(
        {"CLARITY_URL": "https://x.example.com", "CLARITY_AUTH": "token", "CLARITY_TOKEN": JWT}
    )
    assert JWT not in repr(token_config)
    assert "token='***'" in repr(token_config)


def test_config_is_frozen() -> None:
    config = ClarityConfig.from_env({})
    with pytest.raises(AttributeError):
        config.url = "https://elsewhere.example.com"  # type: ignore[misc]


def test_retry_policy_ceilings() -> None:
    policy = RetryPolicy(attempts=6, base=0.2, cap=2.0)
    assert [policy.ceiling(n) for n in range(6)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base=-1)

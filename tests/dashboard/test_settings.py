from __future__ import annotations

import importlib.util
import os
import runpy
import secrets
import subprocess
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import database_from_url

BASE_DIR = Path(settings.BASE_DIR)

# Everything dashboard/settings.py reads, so a developer's own shell cannot leak in.
SETTINGS_ENV = (
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_LOG_LEVEL",
    "DJANGO_LOG_FORMAT",
    "DATABASE_URL",
    "REDIS_URL",
    "CLARITY_URL",
)


def production_env() -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "DJANGO_ALLOWED_HOSTS": "dash.example.com",
    }


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """Execute dashboard/settings.py afresh under ``env``; the loaded settings stay put."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "dashboard" / "settings.py"))


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_passes_with_production_env() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_without_secret_key_fails_clearly() -> None:
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_debug_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_settings(monkeypatch)
    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"].startswith("django-insecure-")
    assert loaded["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert loaded["DATABASES"]["default"] == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(BASE_DIR / "db.sqlite3"),
    }
    assert loaded["CHANNEL_LAYERS"]["default"]["BACKEND"] == (
        "dashboard.channel_layers.InMemoryChannelLayer"
    )
    assert loaded["CLARITY_URL"] == ""
    assert loaded["LOG_LEVEL"] == "INFO"
    assert "SECURE_SSL_REDIRECT" not in loaded
    assert loaded["INSTALLED_APPS"][0] == "daphne"


def test_production_hardening(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_settings(monkeypatch, **production_env())
    assert loaded["DEBUG"] is False
    assert loaded["ALLOWED_HOSTS"] == ["dash.example.com"]
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 31536000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_HSTS_PRELOAD"] is True
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert loaded["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert loaded["X_FRAME_OPTIONS"] == "DENY"


def test_ssl_redirect_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_settings(monkeypatch, **production_env(), DJANGO_SECURE_SSL_REDIRECT="off")
    assert loaded["SECURE_SSL_REDIRECT"] is False


def test_production_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY must be set"):
        load_settings(monkeypatch, **env)


@pytest.mark.parametrize(
    "key",
    ["too-short-but-not-empty", "django-insecure-" + "x" * 60],
)
def test_production_rejects_weak_secret_key(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY") as excinfo:
        load_settings(monkeypatch, **{**production_env(), "DJANGO_SECRET_KEY": key})
    # A rejected key is still a secret: it must not end up in logs.
    assert key not in str(excinfo.value)


def test_production_requires_allowed_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    env = production_env()
    del env["DJANGO_ALLOWED_HOSTS"]
    with pytest.raises(ImproperlyConfigured, match="DJANGO_ALLOWED_HOSTS"):
        load_settings(monkeypatch, **env)


def test_bad_debug_value(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DJANGO_DEBUG.*'maybe'"):
        load_settings(monkeypatch, DJANGO_DEBUG="maybe")


def test_csrf_trusted_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_settings(
        monkeypatch,
        DJANGO_CSRF_TRUSTED_ORIGINS="https://dash.example.com, https://*.example.org",
    )
    assert loaded["CSRF_TRUSTED_ORIGINS"] == ["https://dash.example.com", "https://*.example.org"]


def test_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_settings(monkeypatch, DJANGO_LOG_LEVEL="warning")
    assert loaded["LOGGING"]["root"]["level"] == "WARNING"
    with pytest.raises(ImproperlyConfigured, match=r"DJANGO_LOG_LEVEL.*'loud'"):
        load_settings(monkeypatch, DJANGO_LOG_LEVEL="loud")


def test_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(monkeypatch)["LOGGING"]["handlers"]["console"]["formatter"] == "text"
    loaded = load_settings(monkeypatch, DJANGO_LOG_FORMAT="JSON")
    assert loaded["LOGGING"]["handlers"]["console"]["formatter"] == "json"
    with pytest.raises(ImproperlyConfigured, match=r"DJANGO_LOG_FORMAT.*'xml'"):
        load_settings(monkeypatch, DJANGO_LOG_FORMAT="xml")


def test_database_url_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_settings(monkeypatch, DATABASE_URL="postgres://u:p@db:5432/dash")
    assert loaded["DATABASES"]["default"]["HOST"] == "db"
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        load_settings(monkeypatch, DATABASE_URL="mysql://u:p@db/dash")


def _find_spec_without(missing: str) -> Any:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == missing else real(name, package)

    return find_spec


def test_redis_url_needs_channels_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", _find_spec_without("channels_redis"))
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL") as excinfo:
        load_settings(monkeypatch, REDIS_URL="redis://:hunter2@cache:6379/0")
    assert "hunter2" not in str(excinfo.value)


def test_redis_url_selects_redis_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        if name == "channels_redis":
            return ModuleSpec(name, loader=None)
        return real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    loaded = load_settings(monkeypatch, REDIS_URL="redis://cache:6379/0")
    layer = loaded["CHANNEL_LAYERS"]["default"]
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    [host] = layer["CONFIG"]["hosts"]
    assert host["address"] == "redis://cache:6379/0"
    # Longer than channels-redis's 5 s blocking read, or idle receives time out.
    assert host["socket_timeout"] > 5


# database_from_url on its own


def test_sqlite_relative_path_is_anchored_at_base_dir(tmp_path: Path) -> None:
    assert database_from_url("sqlite:///data/db.sqlite3", base_dir=tmp_path) == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "data" / "db.sqlite3"),
    }


def test_sqlite_relative_path_without_base_dir() -> None:
    assert database_from_url("sqlite:///db.sqlite3")["NAME"] == "db.sqlite3"


def test_sqlite_absolute_path(tmp_path: Path) -> None:
    config = database_from_url("sqlite:////var/lib/dash/db.sqlite3", base_dir=tmp_path)
    assert config["NAME"] == "/var/lib/dash/db.sqlite3"


def test_sqlite_memory(tmp_path: Path) -> None:
    assert database_from_url("sqlite:///:memory:", base_dir=tmp_path)["NAME"] == ":memory:"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/db.sqlite3"])
def test_sqlite_rejects_urls_without_a_path(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "POSTGRES"])
def test_postgres(scheme: str) -> None:
    assert database_from_url(f"{scheme}://dash:s3cret@db.internal:6543/dashboard") == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "dashboard",
        "USER": "dash",
        "PASSWORD": "s3cret",
        "HOST": "db.internal",
        "PORT": "6543",
    }


def test_postgres_decodes_percent_escapes_and_keeps_options() -> None:
    config = database_from_url("postgres://d%40sh:p%2Fw%3A@[::1]/my%20db?sslmode=require")
    assert config["USER"] == "d@sh"
    assert config["PASSWORD"] == "p/w:"
    assert config["HOST"] == "::1"
    assert config["PORT"] == ""
    assert config["NAME"] == "my db"
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_postgres_minimal() -> None:
    config = database_from_url("postgresql:///dashboard")
    assert config["NAME"] == "dashboard"
    assert config["HOST"] == config["USER"] == config["PASSWORD"] == config["PORT"] == ""
    assert "OPTIONS" not in config


@pytest.mark.parametrize(
    "url",
    ["postgres://u:hunter2@db:5432", "postgres://u:hunter2@db:5432/", "postgres://u:hunter2@db/a/b"],
)
def test_postgres_needs_one_database_name(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL") as excinfo:
        database_from_url(url)
    assert "hunter2" not in str(excinfo.value)


def test_unparsable_url() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL is not a valid URL") as excinfo:
        database_from_url("postgres://u:hunter2@[::1/dash")
    assert "hunter2" not in str(excinfo.value)


def test_bad_port() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL") as excinfo:
        database_from_url("postgres://u:hunter2@db:notaport/dash")
    assert "hunter2" not in str(excinfo.value)


@pytest.mark.parametrize(
    "url",
    ["mysql://u:hunter2@db/dash", "redis://localhost", "db.sqlite3", "", "http://x/y"],
)
def test_unknown_scheme_is_rejected(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DATABASE_URL.*unsupported scheme") as excinfo:
        database_from_url(url)
    assert "hunter2" not in str(excinfo.value)


def test_error_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="REPLICA_URL"):
        database_from_url("mysql://db/dash", name="REPLICA_URL")


def test_openmethods_is_off_unless_its_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(monkeypatch)["OPENMETHODS"] is None
    loaded = load_settings(monkeypatch, OPENMETHODS_API_KEY="k", OPENMETHODS_CRM_ID="acme")
    assert loaded["OPENMETHODS"].crm_id == "acme"
    assert loaded["OPENMETHODS"].base_url == "https://connect.openmethodscloud.com"


def test_the_legacy_openmethods_host_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"connect\.openmethodscloud\.com") as excinfo:
        load_settings(monkeypatch, OPENMETHODS_API_KEY="secret-key",
                      OPENMETHODS_URL="https://connect.openmethods.com")
    assert "secret-key" not in str(excinfo.value)


def test_genesys_is_off_unless_its_client_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(monkeypatch)["GENESYS"] is None
    with pytest.raises(ImproperlyConfigured, match="GENESYS_INTEGRATION_ID"):
        load_settings(monkeypatch, GENESYS_CLIENT_ID="c", GENESYS_CLIENT_SECRET="s")

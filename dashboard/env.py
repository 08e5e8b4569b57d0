"""Typed helpers for reading configuration from the environment.

A typo in a deployment's environment should stop the process at start-up with a
message that names the variable, not surface hours later as odd behaviour. So
every helper here raises ImproperlyConfigured on a value it cannot parse.

A variable that is unset, or set to nothing but whitespace, counts as unset and
gives the default: container tooling often passes ``NAME=`` to mean "not set".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _get(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value


def env_str(name: str, default: str) -> str:
    value = _get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}"
    )


def env_int(
    name: str,
    default: int,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = _get(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value!r}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {value!r}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _get(name)
    if value is None:
        # A copy, so that callers mutating the result cannot change the default.
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced, for use in error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        # Cannot tell where a password would be, so show nothing of it.
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def database_from_url(
    url: str,
    base_dir: Path | None = None,
    name: str = "DATABASE_URL",
) -> dict[str, Any]:
    """Turn a database URL into an entry for Django's DATABASES setting.

    Supported, deliberately few, so that no extra dependency is needed:

    - ``sqlite:///relative/path.sqlite3`` (relative to ``base_dir`` when given),
      ``sqlite:////absolute/path.sqlite3`` and ``sqlite:///:memory:``;
    - ``postgres://user:password@host:port/name`` and ``postgresql://...``, where
      query parameters (``?sslmode=require``) become connection OPTIONS.

    ``name`` is the variable the URL came from, so errors can point at it.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name} is not a valid URL ({exc}): {redact_url(url)!r}"
        ) from None

    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        # urlsplit keeps the slash that separates host from path: strip exactly
        # that one, so four slashes mean an absolute path.
        path = unquote(parts.path)[1:] if parts.path.startswith("/") else ""
        if not path or parts.netloc:
            raise ImproperlyConfigured(
                f"{name} must look like sqlite:///path/to/db.sqlite3; got {redact_url(url)!r}"
            )
        if path != ":memory:" and base_dir is not None:
            path = str(base_dir / path)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}

    if scheme in {"postgres", "postgresql"}:
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name or "/" in db_name:
            raise ImproperlyConfigured(
                f"{name} must name one database, as in "
                f"postgres://user:password@host:5432/name; got {redact_url(url)!r}"
            )
        config: dict[str, Any] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db_name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(port) if port is not None else "",
        }
        options = dict(parse_qsl(parts.query))
        if options:
            config["OPTIONS"] = options
        return config

    raise ImproperlyConfigured(
        f"{name} has an unsupported scheme {parts.scheme!r} (use sqlite:// or postgres://); "
        f"got {redact_url(url)!r}"
    )

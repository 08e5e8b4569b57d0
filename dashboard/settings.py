"""Settings for the Clarity supervisor dashboard.

One module for every environment: everything that differs between a laptop and
production comes from environment variables (see README.md). The defaults suit
local development; turning DJANGO_DEBUG off makes the unsafe defaults errors.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dashboard.env import database_from_url, env_bool, env_int, env_list, env_str, redact_url
from integrations.ccai.errors import CcaiConfigError
from integrations.ccai.generic_api import CcaiApiConfig
from integrations.genesys.client import GenesysConfig
from integrations.genesys.errors import GenesysConfigError
from integrations.openmethods.client import OpenMethodsConfig
from integrations.openmethods.errors import OpenMethodsConfigError

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", True)

# Only ever used with DEBUG on. The "django-insecure-" prefix makes Django's own
# deploy checks flag it should it leak into production anyway.
_DEV_SECRET_KEY = "django-insecure-local-development-only-never-use-this-key-in-production"  # noqa: S105

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if DEBUG:
    SECRET_KEY = SECRET_KEY or _DEV_SECRET_KEY
elif not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
        "(at least 50 random characters)"
    )
elif len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure-"):
    # The value itself is never echoed: it is a secret even when it is a bad one.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be at least 50 random characters and not the "
        f"development key when DJANGO_DEBUG is off (got {len(SECRET_KEY)} characters)"
    )

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS",
    ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [],
)
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS must list the dashboard's host names (comma separated) "
        "when DJANGO_DEBUG is off"
    )

# Origins, with scheme, allowed to POST from a different host; mostly needed
# behind a proxy that rewrites the Host header.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First, so that its ASGI runserver replaces staticfiles' WSGI one.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language picks the interface language among LANGUAGES.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.csp.content_security_policy",
]

# Everything from this origin only; no inline script anywhere (dashboard/csp.py). `data:` images:
# the sparklines and icons some browsers' form controls use.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

ROOT_URLCONF = "dashboard.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # live_build: the deploy id on <body data-build>, see BUILD_ID below.
                "dashboard.context_processors.live_build",
            ],
        },
    },
]

# ASGI only: the live dashboard needs websockets, so there is no WSGI entry point.
ASGI_APPLICATION = "dashboard.asgi.application"

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", "sqlite:///db.sqlite3"), base_dir=BASE_DIR
    ),
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # Checked here rather than at the first websocket message, so a missing
    # extra fails the deploy instead of the live updates.
    if importlib.util.find_spec("channels_redis") is None:
        raise ImproperlyConfigured(
            f"REDIS_URL is set ({redact_url(REDIS_URL)!r}) but channels-redis is not "
            "installed; install the project's 'redis' extra"
        )
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's default read timeout (5 s) is the length of channels-redis's
                # blocking receive (BZPOPMIN, 5 s): an idle receive would time out now and
                # then. Longer than that; a restarted Redis still fails fast (reset).
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15,
                           "socket_connect_timeout": 5}],
                # Every page asks the bridge for a snapshot when it connects: after a restart
                # of the workers, all of them at once (the default capacity is 100). The
                # replies to one worker's pages share one list ("specific.*"); they are small
                # (the HTML goes through the cache: dashboard/snapshot_transport.py).
                "channel_capacity": {"clarity-bridge": 10_000, "specific.*": 5_000},
            },
        },
    }
else:
    # Fine for one process; several daphne workers need REDIS_URL to share events. Pages ask
    # the bridge for snapshots all at once after a new epoch: its channel holds them all.
    CHANNEL_LAYERS = {"default": {
        "BACKEND": "dashboard.channel_layers.InMemoryChannelLayer",
        "CONFIG": {"channel_capacity": {"clarity-bridge": 10_000, "specific.*": 5_000}}}}
# How many proxies in front of the workers append to X-Forwarded-For (nginx in docs/deploy.md:
# 1). 0: the connection's address is the client's. Used to count failed logins per client.
PROXY_COUNT = env_int("DASHBOARD_PROXY_COUNT", 0, minimum=0, maximum=5)
# Rate limits count in the cache: shared by every worker with REDIS_URL.
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
     "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2}}
    if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})}
# Prometheus scrapes /metrics/ with this bearer token (or a staff user's session); empty: staff
# only. A secret: from the environment only.
METRICS_TOKEN = env_str("DASHBOARD_METRICS_TOKEN", "")
# A live page acknowledges what it has read every 5 s; one with more unacknowledged messages
# than this gets no diffs until it catches up (then a snapshot), and is closed if it stays
# behind that long (docs/browser-protocol.md). At ~20 messages/s a page, 1000 is 50 s behind.
LIVE_MAX_UNACKED = env_int("DASHBOARD_LIVE_MAX_UNACKED", 1000, minimum=10)
LIVE_BEHIND_CLOSE_SECONDS = env_int("DASHBOARD_LIVE_BEHIND_CLOSE_SECONDS", 30, minimum=1)
# Cleared alerts stay on live pages this long, then leave them (the database keeps them).
ALERT_KEEP_HOURS = env_int("DASHBOARD_ALERT_KEEP_HOURS", 24, minimum=1, maximum=24 * 30)
# With REDIS_URL, `manage.py bridge` runs as the active bridge or a standby (dashboard.leader):
# a standby takes over within this many seconds of the active one dying.
BRIDGE_LEASE_SECONDS = env_int("BRIDGE_LEASE_SECONDS", 5, minimum=1, maximum=300)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/login/"
# After logging in, the live overview.
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = LOGIN_URL

LANGUAGE_CODE = "en"
# The interface languages with a catalogue under locale/ (docs/translating.md).
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic puts the files the proxy serves (docs/deploy.md).
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# The dashboard takes small forms only (actions, notes): anything larger is refused with 413
# before a view runs (dashboard.views.bad_request). nginx allows 1 MB (docs/deploy.md).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

# Django's default too, but the dashboard is never meant to be framed.
X_FRAME_OPTIONS = "DENY"

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Load balancers probe over plain HTTP and do not follow redirects.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # TLS ends at the proxy in front of daphne; trust its word on the scheme.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The Clarity Connect instance to supervise. Empty means "use the embedded
# simulator" (integrations/clarity/simulator), which is what demos and tests run.
CLARITY_URL = env_str("CLARITY_URL", "")
# The locale of Clarity's own labels (metric, modality and status names) that the dashboard
# shows, as Clarity names it ("en-us", "fr-fr"); unknown to Clarity: the built-in labels.
CLARITY_LOCALE = env_str("CLARITY_LOCALE", "en-us").strip().lower()

# Other platforms (docs/integrations.md), each off unless its variables are set.
# OpenMethods Connect: PopFlow events to agents (OPENMETHODS_API_KEY turns it on).
try:
    OPENMETHODS = OpenMethodsConfig.from_env()
except OpenMethodsConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# The event name the agent page's form starts with (a supervisor may type another).
OPENMETHODS_DEFAULT_EVENT = env_str("OPENMETHODS_DEFAULT_EVENT", "")
# Genesys Cloud Open Messaging: an integration watched (GENESYS_CLIENT_ID turns it on).
try:
    GENESYS = GenesysConfig.from_env()
except GenesysConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# CCAI Platform Custom CRM: the Generic API endpoints answer once CCAI_CRM_AUTH is set; session
# metadata files are read from CCAI_STORAGE_DIR (its ujet-metadata folder) when set.
try:
    CCAI_CRM = CcaiApiConfig.from_env()
except CcaiConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# Where CCAI's OAuth flow may send the code back to (its redirect URL), comma-separated.
CCAI_CRM_OAUTH_REDIRECT_URIS = tuple(env_list("CCAI_CRM_OAUTH_REDIRECT_URIS", []))
CCAI_STORAGE_DIR = env_str("CCAI_STORAGE_DIR", "")
if CCAI_STORAGE_DIR and not Path(CCAI_STORAGE_DIR).is_absolute():
    raise ImproperlyConfigured(f"CCAI_STORAGE_DIR must be an absolute path, not "
                               f"{CCAI_STORAGE_DIR!r}")


def _git_commit(base_dir: Path) -> str | None:
    """The commit checked out in base_dir, read from .git without running git (a deployed
    image may have no git binary); None without a readable checkout."""
    git = base_dir / ".git"
    try:
        if git.is_file():  # a worktree: ".git" says where its git directory is
            git = (base_dir / git.read_text().partition("gitdir:")[2].strip()).resolve()
        common = git
        if (git / "commondir").is_file():  # branches of a worktree live in the main one
            common = (git / (git / "commondir").read_text().strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref:"):
            ref = head[4:].strip()
            loose = [d / ref for d in (git, common) if (d / ref).is_file()]
            if loose:
                head = loose[0].read_text().strip()
            elif (common / "packed-refs").is_file():
                packed = (common / "packed-refs").read_text()
                found = re.search(rf"^([0-9a-f]+) {re.escape(ref)}$", packed, re.MULTILINE)
                head = found.group(1) if found else ""
    except OSError:
        return None
    return head[:12] if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", head) else None


def _code_fingerprint(base_dir: Path) -> str:
    """Without git: the package version and the static files' modification times."""
    try:
        version = importlib.metadata.version("clarity-dashboard")
    except importlib.metadata.PackageNotFoundError:
        try:
            with (base_dir / "pyproject.toml").open("rb") as f:
                version = str(tomllib.load(f)["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            version = "0"
    digest = hashlib.sha256(version.encode())
    static = base_dir / "static"
    for path in sorted(static.rglob("*")):
        if path.is_file() and "node_modules" not in path.parts:
            digest.update(f"{path.relative_to(static)}:{path.stat().st_mtime_ns}\n".encode())
    return f"{version}-{digest.hexdigest()[:10]}"


# The deploy id. Pages carry it (data-build) and every socket message carries the serving
# process's; when they differ, the page reloads (docs/browser-protocol.md): wallboards pick up
# a new release by themselves. Set DASHBOARD_BUILD_ID in deployments (a release tag, an image
# digest); by default it is the git commit, else a fingerprint of the code. Computed once, at
# start, so that one process always says the same.
BUILD_ID = (
    env_str("DASHBOARD_BUILD_ID", "").strip()
    or _git_commit(BASE_DIR)
    or _code_fingerprint(BASE_DIR)
)

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_log_level = env_str("DJANGO_LOG_LEVEL", "INFO")
LOG_LEVEL = _log_level.strip().upper()
if LOG_LEVEL not in _LOG_LEVELS:
    raise ImproperlyConfigured(
        f"DJANGO_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}; got {_log_level!r}"
    )

# "text" for people, "json" (one object per line) for log collectors.
LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be text or json; got {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "dashboard.logs.JsonFormatter"},
    },
    "filters": {"redact": {"()": "dashboard.logs.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                    "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's own handlers (console only with DEBUG on, mail to
        # admins) so every record goes to the console exactly once.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # One line per HTTP request to Clarity is noise at INFO; failures are logged by the
        # client itself.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

"""Where the dashboard finds its Clarity server."""

from __future__ import annotations

from django.conf import settings

from integrations.clarity.config import ClarityConfig

# `manage.py clarity_simulator` listens here by default; the demo starts it here too.
SIMULATOR_URL = "http://127.0.0.1:8100"


def clarity_config() -> ClarityConfig:
    """The configuration from the environment; with no CLARITY_URL, the embedded simulator."""
    config = ClarityConfig.from_env()
    if config.uses_simulator:
        config = config.with_url(getattr(settings, "CLARITY_SIMULATOR_URL", SIMULATOR_URL))
    return config

"""Template context for every page rendered with a request."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def live_build(request: HttpRequest) -> dict[str, str]:
    """The deploy id as `live_build`: base.html puts it on <body data-build>, and live.js
    reloads the page when a socket message carries another one (docs/browser-protocol.md)."""
    return {"live_build": settings.BUILD_ID}

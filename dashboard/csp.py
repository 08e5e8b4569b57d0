"""Content-Security-Policy on every response: scripts and styles from our own static files only.

The pages are built for it (base.html: no inline script, no eval, no injected <style>, htmx
configured so; live.js reads data-* attributes only), so an injected `<script>` or `onclick`
cannot run even if some text slipped through escaping. Django's admin keeps a few inline
`style` attributes: under /admin/ only, inline styles (never scripts) are allowed.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware


def policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


@sync_and_async_middleware
def content_security_policy(get_response: Any) -> Any:
    """Works in both modes, so that async views (healthz, metrics, search) stay on the loop."""
    directives = dict(settings.CONTENT_SECURITY_POLICY)
    header = policy(directives)
    admin_header = policy(dict(directives, **{
        "style-src": directives.get("style-src", "'self'") + " 'unsafe-inline'"}))

    def stamp(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if "Content-Security-Policy" not in response:
            admin = request.path.startswith("/admin/")
            response["Content-Security-Policy"] = admin_header if admin else header
        return response

    if iscoroutinefunction(get_response):
        async def middleware(request: HttpRequest) -> HttpResponse:
            return stamp(request, await get_response(request))
    else:
        def middleware(request: HttpRequest) -> HttpResponse:  # type: ignore[misc]
            return stamp(request, get_response(request))
    return middleware

"""Websocket routes, mounted by dashboard.asgi."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

# Empty for now: the consumers come with the live dashboard.
websocket_urlpatterns: list[URLPattern | URLResolver] = []

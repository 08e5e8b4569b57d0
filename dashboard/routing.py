"""WebSocket routes, mounted by dashboard.asgi (behind AllowedHostsOriginValidator and auth)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from dashboard.consumers import LiveConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/live/<str:page>/", LiveConsumer.as_asgi()),
    # The agent page: one agent's panel (checked against the viewer's scope on connect).
    path("ws/live/agent/<int:agent_id>/", LiveConsumer.as_asgi(), {"page": "agent"}),
    # A wallboard authenticates with its token alone: TVs have no one to log in.
    path("ws/wallboard/<str:token>/", LiveConsumer.as_asgi(), {"page": "wallboard"}),
]

"""ASGI entry point: plain HTTP goes to Django, websockets to Channels.

Serve it with daphne (``daphne dashboard.asgi:application``), or locally with
``manage.py runserver``, which daphne turns into an ASGI server.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

# get_asgi_application() runs django.setup(). It has to come before the imports
# below: Channels' auth middleware and the consumers import models, which fails
# while the app registry is still empty.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from dashboard.daphne_close import allow_registered_close_codes  # noqa: E402
from dashboard.routing import websocket_urlpatterns  # noqa: E402

# Slow pages are told "try again later" with its registered code, 1013 (dashboard.daphne_close).
allow_registered_close_codes()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Browsers send cookies with cross-site websocket handshakes, so the
        # Origin check is what stops another site from riding a session.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

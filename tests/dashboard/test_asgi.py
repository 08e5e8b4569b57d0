from __future__ import annotations

import pytest
from channels.routing import ProtocolTypeRouter
from channels.testing import WebsocketCommunicator

from dashboard.asgi import application


def test_application_routes_http_and_websockets() -> None:
    assert isinstance(application, ProtocolTypeRouter)
    assert set(application.application_mapping) == {"http", "websocket"}


# The auth middleware may read the session from the database, hence the marker.
@pytest.mark.django_db(transaction=True)
async def test_websocket_from_a_foreign_origin_is_refused() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/live/overview/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()

"""Guessing is slowed down: failed logins per address and per username, wrong wallboard tokens
per address (page and socket), counted in the cache (dashboard.ratelimit)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, override_settings

from dashboard import ratelimit
from dashboard.models import Wallboard
from dashboard.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def boss() -> Any:
    return get_user_model().objects.create_user("boss", password="right-Password-1")


def _login(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post("/login/", {"username": username, "password": password},
                       REMOTE_ADDR=address)


def test_ten_wrong_passwords_lock_the_username_for_a_while(client: Client, boss: Any) -> None:
    for _ in range(ratelimit.LOGIN_PER_USERNAME.failures):
        assert _login(client, "boss", "wrong").status_code == 200  # the form again
    # Now even the right password is not checked, from anywhere.
    refused = _login(client, "BOSS", "right-Password-1", address="10.9.9.9")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed attempts" in refused.content.decode()
    # Another user is not affected.
    get_user_model().objects.create_user("lead", password="lead-Password-1")
    assert _login(client, "lead", "lead-Password-1").status_code == 302


def test_one_address_trying_many_usernames_is_stopped(client: Client, boss: Any) -> None:
    for number in range(ratelimit.LOGIN_PER_ADDRESS.failures):
        _login(client, f"user{number}", "wrong")
    assert _login(client, "boss", "right-Password-1").status_code == 429
    # The same user from elsewhere logs in.
    assert _login(client, "boss", "right-Password-1", address="10.0.0.2").status_code == 302


def test_a_right_password_below_the_limit_logs_in(client: Client, boss: Any) -> None:
    for _ in range(3):
        _login(client, "boss", "wrong")
    assert _login(client, "boss", "right-Password-1").status_code == 302


@pytest.mark.parametrize(("proxies", "seen_as"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_address_behind_a_proxy_is_the_one_the_proxy_saw(proxies: int,
                                                              seen_as: str) -> None:
    # A client may send its own X-Forwarded-For; only the trusted proxy's last entry counts.
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.7"}
    with override_settings(PROXY_COUNT=proxies):
        assert ratelimit.client_address(meta) == seen_as


def _board() -> Wallboard:
    return Wallboard.objects.create(name="Floor")


def test_wrong_wallboard_tokens_lock_the_address_out(client: Client) -> None:
    board = _board()
    assert client.get(board.get_absolute_url(), REMOTE_ADDR="10.0.0.5").status_code == 200
    for number in range(ratelimit.WALLBOARD_PER_ADDRESS.failures):
        guess = f"/wallboard/{'A' * 42}{number:01d}/"
        assert client.get(guess, REMOTE_ADDR="10.0.0.5").status_code == 404
    locked = client.get(board.get_absolute_url(), REMOTE_ADDR="10.0.0.5")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    # The TVs elsewhere keep their wallboard.
    assert client.get(board.get_absolute_url(), REMOTE_ADDR="10.0.0.6").status_code == 200


async def _socket(token: str, address: str) -> bool:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns),
                                         f"/ws/wallboard/{token}/")
    communicator.scope["client"] = (address, 50000)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


async def test_wrong_tokens_on_the_socket_count_too() -> None:
    board = await sync_to_async(_board)()
    for number in range(ratelimit.WALLBOARD_PER_ADDRESS.failures):
        assert not await _socket(f"{'B' * 42}{number:01d}", "10.0.0.7")
    assert not await _socket(board.token, "10.0.0.7")
    assert await _socket(board.token, "10.0.0.8")

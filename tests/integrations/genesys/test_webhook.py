"""Reading a webhook delivery: the signature (base64 or hex HMAC-SHA256 of the raw body with
the integration's secret), the freshness window, and malformed or hostile bodies. The
signatures here are made with hashlib directly, not with the module under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.genesys.errors import WebhookRejected
from integrations.genesys.webhook import MAX_BODY, read_delivery, sign

SECRET = "integration-secret"
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _body(**fields: Any) -> bytes:
    message: dict[str, Any] = {"id": "m-1", "type": "Text", "direction": "Outbound",
                               "channel": {"time": NOW.isoformat(), "from": {"id": "integ"}}}
    message.update(fields)
    return json.dumps(message).encode()


def _signed(body: bytes, *, hex_digest: bool = False, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256)
    return "sha256=" + (digest.hexdigest() if hex_digest else
                        base64.b64encode(digest.digest()).decode())


@pytest.mark.parametrize("hex_digest", [False, True])
def test_a_signed_delivery_is_read(hex_digest: bool) -> None:
    body = _body()
    delivery = read_delivery(SECRET, body, _signed(body, hex_digest=hex_digest), now=NOW)
    assert (delivery.message_id, delivery.kind, delivery.direction, delivery.from_id) == (
        "m-1", "Text", "Outbound", "integ")
    assert not delivery.failed
    assert delivery.replay_key == hashlib.sha256(body).hexdigest()


def test_sign_agrees_with_an_independent_hmac() -> None:
    assert sign(SECRET, b"{}") == _signed(b"{}")


def test_a_failed_receipt_counts_as_a_failure() -> None:
    body = _body(type="Receipt", status="Failed")
    assert read_delivery(SECRET, body, _signed(body), now=NOW).failed


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=abc", "sha256=bm90IGl0"])
def test_unsigned_or_badly_signed_is_401(header: str | None) -> None:
    with pytest.raises(WebhookRejected) as caught:
        read_delivery(SECRET, _body(), header, now=NOW)
    assert caught.value.status == 401


def test_a_body_changed_after_signing_is_401() -> None:
    header = _signed(_body())
    with pytest.raises(WebhookRejected) as caught:
        read_delivery(SECRET, _body(text="changed"), header, now=NOW)
    assert caught.value.status == 401


def test_another_secret_is_401() -> None:
    body = _body()
    with pytest.raises(WebhookRejected) as caught:
        read_delivery(SECRET, body, _signed(body, secret="other"), now=NOW)
    assert caught.value.status == 401


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', json.dumps({}).encode(),
                                  _body(id=""), _body(id=7), _body(channel={"time": "soon"}),
                                  _body(channel={"time": "2026-12-06T10:00:00"}),
                                  _body(channel="none")])
def test_malformed_signed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        read_delivery(SECRET, body, _signed(body), now=NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=2)])
def test_too_old_or_from_the_future_is_409(offset: timedelta) -> None:
    body = _body(channel={"time": (NOW + offset).isoformat()})
    with pytest.raises(WebhookRejected) as caught:
        read_delivery(SECRET, body, _signed(body), now=NOW)
    assert caught.value.status == 409


def test_an_oversized_body_is_413_before_anything_is_computed() -> None:
    body = b"x" * (MAX_BODY + 1)
    with pytest.raises(WebhookRejected) as caught:
        read_delivery(SECRET, body, _signed(body), now=NOW)
    assert caught.value.status == 413


def test_no_secret_accepts_nothing() -> None:
    body = _body()
    with pytest.raises(WebhookRejected):
        read_delivery("", body, _signed(body, secret=""), now=NOW)

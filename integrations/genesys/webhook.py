"""What Genesys Cloud posts to an Open Messaging integration's outbound notification webhook.

Each delivery is a JSON object (an outbound message, a delivery receipt or an event) signed
with the integration's Secret Token: header `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
raw body>`. Genesys' own examples encode the digest in base64; some middleware writes hex:
both are the same HMAC, so either is accepted (docs/integrations.md).

Read here: `id`, `type` ("Text", "Structured", "Receipt", "Event"...), `direction`, `status`
(a receipt's "Failed" counts as a failure), `channel.time` (when Genesys sent it) and
`channel.from.id`. A delivery is refused when

- it is unsigned or the signature does not match (401): nothing in it is read;
- it is not a JSON object, lacks an id or a parseable `channel.time` (400);
- `channel.time` is over REPLAY_WINDOW old or over CLOCK_SKEW ahead (409): a replay of an old
  signed delivery. Within the window the caller refuses the same body twice (`replay_key`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.json_values import aware_time, object_or_empty

from .errors import WebhookRejected

SIGNATURE_HEADER = "X-Hub-Signature-256"
REPLAY_WINDOW = timedelta(minutes=5)
CLOCK_SKEW = timedelta(minutes=1)
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Delivery:
    message_id: str
    kind: str
    direction: str
    status: str
    sent_at: datetime
    from_id: str
    replay_key: str

    @property
    def failed(self) -> bool:
        return self.status.lower() == "failed"


def sign(secret: str, body: bytes) -> str:
    """The header value Genesys would send for `body` (base64, as in its examples)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").strip()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return (hmac.compare_digest(given, base64.b64encode(digest).decode())
            or hmac.compare_digest(given.lower(), digest.hex()))


def read_delivery(secret: str, body: bytes, header: str | None, *,
                  now: datetime | None = None) -> Delivery:
    """The delivery, once its signature and freshness are checked; WebhookRejected otherwise."""
    if len(body) > MAX_BODY:
        raise WebhookRejected("delivery over the size limit", status=413)
    if not header:
        raise WebhookRejected(f"unsigned delivery (no {SIGNATURE_HEADER})", status=401)
    if not signature_valid(secret, body, header):
        raise WebhookRejected("the signature does not match the integration's secret",
                              status=401)
    try:
        data = json.loads(body)
    except ValueError:
        raise WebhookRejected("the body is not JSON", status=400) from None
    if not isinstance(data, dict):
        raise WebhookRejected("the body is not a JSON object", status=400)
    message_id = data.get("id")
    channel = object_or_empty(data.get("channel"))
    sent_at = aware_time(channel.get("time"))
    if not isinstance(message_id, str) or not message_id or sent_at is None:
        raise WebhookRejected("the delivery lacks an id or channel.time", status=400)
    now = now or datetime.now(tz=UTC)
    if sent_at < now - REPLAY_WINDOW or sent_at > now + CLOCK_SKEW:
        raise WebhookRejected("channel.time is outside the accepted window (a replay?)",
                              status=409)
    sender = object_or_empty(channel.get("from"))
    return Delivery(message_id=message_id, kind=_text(data.get("type")),
                    direction=_text(data.get("direction")), status=_text(data.get("status")),
                    sent_at=sent_at, from_id=_text(sender.get("id")),
                    replay_key=hashlib.sha256(body).hexdigest())



def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


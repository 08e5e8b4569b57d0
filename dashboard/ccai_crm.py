"""The dashboard as a CCAI Platform tenant's Custom CRM (integrations/ccai): what each Generic
API endpoint does with the parameters CCAI sends, and what it answers.

The parameter names read are the document's own examples (docs/integrations.md lists them
for the admin who configures the endpoints in CCAI): accounts `name`, `phone`, `email`,
`custom_user_id`; records `subject`, `description`, `status`, `phone`, `contactId`,
`sourceType`, `menu`, `direction`, `rating`, `feedback`; comments `comment`; uploads `file`
(base64 in a JSON body, or a multipart form's file) with an optional `name`.

Every function takes plain values and returns the JSON-ready object (or raises a CcaiError
with the status to answer); the views put it at the response data location.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.ccai.errors import CcaiInvalid, CcaiNotFound, CcaiRetryLater, CcaiTooLarge
from integrations.ccai.generic_api import digits, phone_matches

from .models import CcaiSession, CrmAccount, CrmAttachment, CrmComment, CrmRecord

ACCOUNT_FIELDS = frozenset({"id", "name", "phone", "email", "custom_user_id"})
RECORD_FIELDS = frozenset({"id", "subject", "description", "status", "phone", "contactId",
                           "sourceType", "menu", "direction", "rating", "feedback"})
# Phone searches look at this many of the newest candidates sharing the last digits.
CANDIDATES = 200


def _text(params: Mapping[str, Any], name: str, limit: int) -> str:
    value = params.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise CcaiInvalid(f"{name} must be text")
    text = str(value).strip()
    if len(text) > limit:
        raise CcaiInvalid(f"{name} is over {limit} characters")
    return text


def _id(value: Any, what: str) -> int:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(
        value, bool) else ""
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise CcaiNotFound(f"no {what} {value!r}")
    return int(text)


def account_json(account: CrmAccount) -> dict[str, Any]:
    return {"id": account.pk, "name": account.name, "phone": account.phone,
            "email": account.email, "custom_user_id": account.custom_user_id}


def record_json(record: CrmRecord) -> dict[str, Any]:
    return {"id": record.pk, "subject": record.subject, "description": record.description,
            "status": record.status, "contactId": record.account_id, "phone": record.phone,
            "sourceType": record.source_type, "menu": record.menu,
            "direction": record.direction, "rating": record.rating,
            "feedback": record.feedback}


def _database(call: Any) -> Any:
    """Run a database step; a database that is down is worth CCAI's retry (400)."""
    try:
        return call()
    except DatabaseError as exc:
        raise CcaiRetryLater(f"the CRM's database is not available ({type(exc).__name__})") \
            from exc


def find_accounts(params: Mapping[str, Any]) -> list[CrmAccount]:
    """Accounts matching `id`, `phone`, `email` or `custom_user_id` (any of them), newest
    first. The phone may come in any of CCAI's formats, searches with `*` included."""
    def run() -> list[CrmAccount]:
        query = Q()
        if params.get("id"):
            query |= Q(pk=_id(params["id"], "account")) if str(params["id"]).isdigit() else Q()
        email = _text(params, "email", 254)
        if email:
            query |= Q(email__iexact=email)
        cuid = _text(params, "custom_user_id", 200)
        if cuid:
            query |= Q(custom_user_id=cuid)
        found = list(CrmAccount.objects.filter(query)) if query else []
        phone = _text(params, "phone", 60)
        if phone and digits(phone):
            tail = digits(phone)[-4:]
            candidates = CrmAccount.objects.filter(phone_digits__endswith=tail)[:CANDIDATES]
            found += [a for a in candidates if phone_matches(a.phone, phone) and a not in found]
        return sorted(found, key=lambda a: a.created_at, reverse=True)
    return list(_database(run))


def find_account(params: Mapping[str, Any]) -> dict[str, Any]:
    found = find_accounts(params)
    if not found:
        raise CcaiNotFound("no account matches")
    return account_json(found[0])


def get_account(account_id: Any) -> dict[str, Any]:
    pk = _id(account_id, "account")
    account = _database(lambda: CrmAccount.objects.filter(pk=pk).first())
    if account is None:
        raise CcaiNotFound(f"no account {pk}")
    return account_json(account)


def create_account(params: Mapping[str, Any]) -> dict[str, Any]:
    values = {"name": _text(params, "name", 200), "phone": _text(params, "phone", 40),
              "email": _text(params, "email", 254),
              "custom_user_id": _text(params, "custom_user_id", 200)}
    if not any(values.values()):
        raise CcaiInvalid("an account needs a name, phone, email or custom_user_id")
    account = _database(lambda: CrmAccount.objects.create(
        phone_digits=digits(values["phone"]), **values))
    return account_json(account)


def find_record(params: Mapping[str, Any]) -> dict[str, Any]:
    """The newest open record of the account `contactId` (or `account_id`)."""
    account = params.get("contactId") or params.get("account_id")
    if not account:
        raise CcaiInvalid("contactId (the account) is required to find a record")
    pk = _id(account, "account")
    status = _text(params, "status", 40) or "open"
    record = _database(lambda: CrmRecord.objects.filter(account_id=pk, status=status).first())
    if record is None:
        raise CcaiNotFound("no record matches")
    return record_json(record)


def get_record(record_id: Any) -> CrmRecord:
    pk = _id(record_id, "record")
    record = _database(lambda: CrmRecord.objects.filter(pk=pk).first())
    if record is None:
        raise CcaiNotFound(f"no record {pk}")
    return record


def _record_values(params: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field_name, limit in (("subject", "subject", 300),
                                    ("description", "description", 100_000),
                                    ("status", "status", 40), ("phone", "phone", 40),
                                    ("sourceType", "source_type", 20), ("menu", "menu", 300),
                                    ("direction", "direction", 20),
                                    ("feedback", "feedback", 10_000)):
        if name in params:
            values[field_name] = _text(params, name, limit)
    if params.get("rating") not in (None, ""):
        rating = str(params["rating"]).strip()
        if not rating.isdigit() or not 1 <= int(rating) <= 5:
            raise CcaiInvalid("rating must be 1 to 5")
        values["rating"] = int(rating)
    return values


def create_record(params: Mapping[str, Any]) -> dict[str, Any]:
    account = params.get("contactId") or params.get("account_id")
    if not account:
        raise CcaiInvalid("contactId (the account) is required to create a record")
    pk = _id(account, "account")
    if not _database(lambda: CrmAccount.objects.filter(pk=pk).exists()):
        raise CcaiNotFound(f"no account {pk}")
    values = _record_values(params)
    record = _database(lambda: CrmRecord.objects.create(account_id=pk, **values))
    return record_json(record)


def update_record(record_id: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    record = get_record(record_id)
    values = _record_values(params)
    for name, value in values.items():
        setattr(record, name, value)
    record.updated_at = timezone.now()
    _database(record.save)
    return record_json(record)


def add_comment(record_id: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    record = get_record(params.get("id") or record_id)
    body = _text(params, "comment", 100_000)
    if not body:
        raise CcaiInvalid("comment is empty")
    comment = _database(lambda: CrmComment.objects.create(record=record, body=body))
    return {"id": comment.pk, "recordId": record.pk, "comment": comment.body}


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    data: bytes


def upload_from_json(params: Mapping[str, Any], limit: int) -> Upload:
    """The Base64 encoded form: `file` holds the data (a data: URL's prefix is allowed)."""
    text = params.get("file")
    if not isinstance(text, str) or not text:
        raise CcaiInvalid("file (base64) is missing")
    if len(text) > limit * 4 // 3 + 8:
        raise CcaiTooLarge(f"the file is over {limit // (1024 * 1024)} MiB")
    content_type = "application/octet-stream"
    if text.startswith("data:") and "," in text:
        header, text = text.split(",", 1)
        content_type = header[5:].split(";")[0] or content_type
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CcaiInvalid("file is not base64") from None
    if len(data) > limit:
        raise CcaiTooLarge(f"the file is over {limit // (1024 * 1024)} MiB")
    name = _text(params, "name", 200) or "attachment"
    return Upload(name, content_type, data)


def add_attachment(record_id: Any, upload: Upload, *, url_of: Any) -> dict[str, Any]:
    """Store the file; answers its `id` and a download `url` (both attachment types work)."""
    record = get_record(record_id)

    def store() -> CrmAttachment:
        with transaction.atomic():
            return CrmAttachment.objects.create(
                record=record, name=upload.name[:255], content_type=upload.content_type[:100],
                size=len(upload.data), data=upload.data)
    attachment = _database(store)
    return {"id": attachment.pk, "url": url_of(record.pk, attachment.pk)}


def sessions_for(account: CrmAccount) -> list[CcaiSession]:
    """CCAI sessions of the account's customer, by phone or email (newest first)."""
    query = Q()
    if account.email:
        query |= Q(end_user_email__iexact=account.email)
    tail = account.phone_digits[-4:]
    if not query and not tail:
        return []
    found = list(CcaiSession.objects.filter(query)[:50]) if query else []
    if tail:
        found += [s for s in CcaiSession.objects.filter(end_user_phone__endswith=tail)[:200]
                  if phone_matches(s.end_user_phone, account.phone) and s not in found]
    return sorted(found, key=lambda s: (s.ended_at is not None, s.ended_at), reverse=True)

"""What the action endpoints accept, read from a POST: the fields of issue 5, checked before
anything goes to Clarity.

Each reader returns plain values or raises `BadInput` with a sentence for the supervisor
(translated); the view answers 400 with it, and `dashboard.actions` is not called, so neither
Clarity nor the audit log hears of a malformed request.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from integrations.clarity import wire
from integrations.openmethods.client import Route, check_properties
from integrations.openmethods.errors import OpenMethodsBadRequest

from .actions import parse_status_value

# Clarity's ids are 32-bit integers; anything longer is not one of theirs.
MAX_ID = 2**31 - 1
# Call notes longer than this are refused here rather than by Clarity half-way.
MAX_NOTE_LENGTH = 4000
MAX_EVENT_LENGTH = 200

TRUE_VALUES = ("true", "1", "on", "yes")
FALSE_VALUES = ("false", "0", "off", "no")


class BadInput(ValueError):
    """A request the endpoint cannot act on; str() is the message for the supervisor."""


def _id(value: str | None) -> int | None:
    """A positive Clarity id from a form field; None when blank; BadInput-worthy otherwise
    (ValueError)."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise ValueError(text)
    return int(text)


def status(data: Mapping[str, str]) -> tuple[int, int | None]:
    """(status id, reason code id) from `value` ("3:1", the status form's choice) or from
    `agent_status_id` and `reason_code_id`."""
    status_id: int | None
    try:
        if (data.get("value") or "").strip():
            status_id, reason_id = parse_status_value(data["value"])
        else:
            status_id, reason_id = _id(data.get("agent_status_id")), _id(
                data.get("reason_code_id"))
    except ValueError:
        raise BadInput(_("Choose a status from the list.")) from None
    if status_id is None or status_id not in wire.AGENT_STATUS_IDS:
        raise BadInput(_("Choose a status from the list."))
    if reason_id is not None and not 0 < reason_id <= MAX_ID:
        raise BadInput(_("Choose a reason from the list."))
    if reason_id is not None and status_id != wire.UNAVAILABLE:
        raise BadInput(_("A reason only goes with the Away (unavailable) status."))
    return status_id, reason_id


def suspended(data: Mapping[str, str]) -> bool:
    value = (data.get("suspended") or "").strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise BadInput(_("Say whether to suspend the agent (suspended=true) or lift the suspension "
                     "(suspended=false)."))


def recording(data: Mapping[str, str]) -> bool:
    """True to start recording, False to stop."""
    value = (data.get("action") or "").strip().lower()
    if value in ("start", "stop"):
        return value == "start"
    raise BadInput(_("Say whether to start or stop recording (action=start or action=stop)."))


def note(data: Mapping[str, str]) -> str:
    if "note" not in data:
        raise BadInput(_("The call notes are missing (an empty note clears them)."))
    text = data["note"].replace("\r\n", "\n")
    if len(text) > MAX_NOTE_LENGTH:
        raise BadInput(_("Call notes can be at most %(max)d characters long.")
                       % {"max": MAX_NOTE_LENGTH})
    return text


def disposition(data: Mapping[str, str]) -> tuple[int, int | None]:
    try:
        disposition_id = _id(data.get("disposition_id"))
        sub_id = _id(data.get("sub_disposition_id"))
    except ValueError:
        raise BadInput(_("Choose a disposition from the list.")) from None
    if disposition_id is None:
        raise BadInput(_("Choose a disposition from the list."))
    return disposition_id, sub_id


def notification(data: Mapping[str, str]) -> tuple[Route, str, dict[str, str]]:
    """(route, event, properties) for an OpenMethods PopFlow event. The event name is kept
    exactly as typed (OpenMethods compares it with case and spaces); properties come one per
    line as `name=value`, blank lines skipped."""
    route = (data.get("route") or "cti").strip().lower()
    if route not in ("cti", "crm"):
        raise BadInput(_("Choose how to reach the agent: CTI or CRM."))
    event = data.get("event") or ""
    if not event.strip():
        raise BadInput(_("Name the PopFlow event to send."))
    if len(event) > MAX_EVENT_LENGTH:
        raise BadInput(_("An event name can be at most %(max)d characters long.")
                       % {"max": MAX_EVENT_LENGTH})
    properties: dict[str, str] = {}
    lines = (data.get("properties") or "").replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise BadInput(_("Line %(line)d of the properties is not name=value.")
                           % {"line": number})
        name = name.strip()
        if name in properties:
            raise BadInput(_("The property %(name)s is given twice.") % {"name": name})
        properties[name] = value.strip()
    try:
        check_properties(properties)
    except OpenMethodsBadRequest as exc:
        raise BadInput(_("These properties cannot be sent: %(problem)s.")
                       % {"problem": exc.message}) from None
    return ("cti" if route == "cti" else "crm"), event, properties

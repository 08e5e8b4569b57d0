"""A local CCAI Platform tenant: it calls a Custom CRM's Generic API as the document says, and
writes session metadata files to an external storage folder.

Written from the document apart from the dashboard's side (no shared code). An endpoint is
configured as in the CCAI portal: request URL, method, parameters (CCAI variables such as
`{PHONE_NUMBER}`, the functions `=DEFAULT_VALUE(a, b)`, `=CONCAT_OR(...)`, `=CONCAT_AND(...)`,
or plain text; a parameter whose value comes out empty is left out), request data format
(Property, or Container map/array with its name) and response data location. Calls answered
400 are retried (the document: for a week with an exponential ramp down; here `retries` times
with `retry_base` seconds doubling); other errors are not.

The flows, from "Custom CRM generic API: Flows": find or create the account (by ID first
when an account id is known, 404 falling back to find by query), find or create the record,
comment, update the record, upload a file (Base64 form or multipart form).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx

_VARIABLE = re.compile(r"\{([A-Za-z_]+)\}")
_FUNCTION = re.compile(r"^=(DEFAULT_VALUE|CONCAT_OR|CONCAT_AND)\((.*)\)$")


@dataclass(frozen=True)
class Endpoint:
    url: str
    method: Literal["GET", "POST", "PUT", "PATCH"] = "GET"
    parameters: dict[str, str] = field(default_factory=dict)
    data_format: Literal["property", "container"] = "property"
    container_type: Literal["map", "array"] = "map"
    container_name: str = ""
    response_location: str = ""


@dataclass
class CcaiTenant:
    """The Generic API settings of one tenant, and the calls it made."""

    endpoints: dict[str, Endpoint]
    auth: dict[str, Any]  # {"basic": (user, password)} | {"headers": {...}} | {"bearer": token}
    retries: int = 3
    retry_base: float = 0.05
    timeout: float = 10.0
    calls: list[tuple[str, int]] = field(default_factory=list)

    def _headers(self) -> dict[str, str]:
        if "basic" in self.auth:
            user, password = self.auth["basic"]
            return {"Authorization": "Basic " + base64.b64encode(
                f"{user}:{password}".encode()).decode()}
        if "headers" in self.auth:
            return dict(self.auth["headers"])
        return {"Authorization": f"Bearer {self.auth['bearer']}"}

    async def call(self, name: str, values: dict[str, str], *,
                   file: tuple[str, bytes] | None = None, multipart: bool = False,
                   ) -> tuple[int, Any]:
        """Call endpoint `name` with the session's variable `values`; (status, the object at
        the response data location, or None)."""
        endpoint = self.endpoints[name]
        params = {key: value for key, raw in endpoint.parameters.items()
                  if (value := evaluate(raw, values))}
        url = _VARIABLE.sub(lambda m: values.get(m.group(1), ""), endpoint.url)
        request: dict[str, Any] = {"headers": self._headers()}
        if endpoint.method == "GET":
            request["params"] = params
        elif file is not None and multipart:
            request["data"] = params
            request["files"] = {"file": file}
        else:
            if file is not None:
                params["file"] = base64.b64encode(file[1]).decode()
            request["json"] = wrap(params, endpoint)
        delay = self.retry_base
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            for attempt in range(self.retries + 1):
                response = await http.request(endpoint.method, url, **request)
                self.calls.append((name, response.status_code))
                if response.status_code != 400 or attempt == self.retries:
                    break
                await asyncio.sleep(delay)
                delay *= 2
        found: Any = None
        if response.is_success and response.content:
            found = response.json()
            for part in endpoint.response_location.split(".") if endpoint.response_location \
                    else ():
                found = found.get(part) if isinstance(found, dict) else None
        return response.status_code, found

    async def account_for(self, values: dict[str, str]) -> str:
        """The flow "find or create account"; the account id (also put in `values`)."""
        found = None
        if values.get("ACCOUNT_ID") and "find_account_by_id" in self.endpoints:
            status, found = await self.call("find_account_by_id", values)
            if status == 404:
                found = None
        if not found:
            _, found = await self.call("find_account", values)
        if not found:
            _, found = await self.call("create_account", values)
        account_id = str(found["id"]) if isinstance(found, dict) and "id" in found else ""
        values["ACCOUNT_ID"] = account_id
        return account_id

    async def record_for(self, values: dict[str, str], *, reuse: bool = True) -> str:
        """The flow "find or create record"; the record id (also put in `values`)."""
        found = None
        if reuse and "find_record" in self.endpoints:
            _, found = await self.call("find_record", values)
        if not found:
            _, found = await self.call("create_record", values)
        record_id = str(found["id"]) if isinstance(found, dict) and "id" in found else ""
        values["RECORD_ID"] = record_id
        return record_id


def evaluate(raw: str, values: dict[str, str]) -> str:
    """A parameter's value: variables replaced, a function applied; "" when empty."""
    match = _FUNCTION.match(raw.strip())
    if match is None:
        return _VARIABLE.sub(lambda m: values.get(m.group(1), ""), raw)
    name, args = match.groups()
    # A part whose variables are not all present drops out (the examples' "keys present").
    present = [_VARIABLE.sub(lambda m: values[m.group(1)], part.strip())
               for part in args.split(",")
               if part.strip() and all(values.get(v) for v in _VARIABLE.findall(part))]
    if name == "DEFAULT_VALUE":
        return present[0] if present else ""
    return (" or " if name == "CONCAT_OR" else " and ").join(present)


def wrap(params: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    if endpoint.data_format == "property":
        return params
    inner: Any = [params] if endpoint.container_type == "array" else params
    return {endpoint.container_name: inner}


def write_metadata(storage: Path, kind: Literal["call", "chat"], session: dict[str, Any]) -> Path:
    """Write a session metadata file where CCAI's external storage puts it."""
    folder = storage / "ujet-metadata"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{session['id']}.json"
    temporary = path.with_suffix(".part")
    temporary.write_text(json.dumps(session))
    temporary.replace(path)  # never a half-written file under the final name
    return path


def sample_session(kind: Literal["call", "chat"], session_id: int, *, phone: str,
                   email: str, agent: str, menu_path: str,
                   ended: datetime | None = None) -> dict[str, Any]:
    """A session metadata record in CCAI Platform's published shape."""
    ended = ended or datetime.now(tz=UTC)
    created = ended - timedelta(minutes=6)
    first, _, last = agent.partition(" ")
    return {
        "id": session_id, "lang": "en",
        f"{kind}_type": "Voice Inbound" if kind == "call" else "Messaging (Web)",
        "session_type": "Voice Inbound" if kind == "call" else "Messaging (Web)",
        "status": "finished", "created_at": created.isoformat(),
        "queued_at": (created + timedelta(seconds=20)).isoformat(),
        "assigned_at": (created + timedelta(seconds=65)).isoformat(),
        "connected_at": (created + timedelta(seconds=70)).isoformat(),
        "ends_at": ended.isoformat(), "updated_at": ended.isoformat(),
        "wait_duration": 50, f"{kind}_duration": 290, "hold_duration": 15, "rating": 4,
        "feedback": "Quick and friendly.", "menu_path": menu_path,
        "agent_info": {"id": 7, "name": agent, "first_name": first, "last_name": last,
                       "email": f"{first.lower()}@example.com", "agent_number": "007"},
        "end_user": {"phone_number": phone, "email": email, "identifier": email},
    }

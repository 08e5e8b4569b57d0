"""The Generic API as CCAI Platform calls it, read on the Custom CRM's side (ours).

From the document:

- **Authentication**, one of: basic (username and password), custom header (key-value
  pairs, as many as configured), OAuth 2.0 (authorization code; see `dashboard/ccai_oauth.py`
  for the Custom CRM's side of it, which ends in a bearer token).
- **Request data format** for POST/PUT/PATCH: *Property* (the parameters as a plain JSON
  object) or *Container*, nested under a name: map `{name: {...}}` or array
  `{name: [{...}]}`. GET parameters come in the query string.
- **Response data location**: where CCAI looks for the object in our JSON answer; the
  dashboard puts it at CcaiApiConfig.response_location (dotted path; empty: top level) and
  the admin enters the same in CCAI.
- **Phone number format**: Automatic (create: `+1 222 333 4444`, search: `*222*333*4444`),
  E.164, US local, US local standard, international. Phones are matched by their digits; a
  search with `*` matches numbers containing the groups in order.
- **Retry**: CCAI retries a call answered 400 and no other error (errors.py).
- The **custom lookup URL** variables: {ANI}, {CUID}, {EMAIL}, {MENU_PATH}, {MENU_ID},
  {CHANNEL}, {TYPE}; CCAI leaves out the empty ones.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import CcaiConfigError, CcaiInvalid, CcaiUnauthorized

AuthMode = Literal["basic", "header", "oauth"]
# The custom lookup URL's variables, each with the query name the admin gives it in the URL.
LOOKUP_QUERY = {"ANI": "ani", "CUID": "cuid", "EMAIL": "email", "MENU_PATH": "menu_path",
                "MENU_ID": "menu_id", "CHANNEL": "channel", "TYPE": "type"}
_LOCATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class CcaiApiConfig:
    """How CCAI authenticates to us, and where our answers put their object."""

    auth: AuthMode
    username: str = ""
    password: str = field(default="", repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    oauth_client_id: str = ""
    oauth_client_secret: str = field(default="", repr=False)
    response_location: str = ""
    max_upload: int = 10 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CcaiApiConfig | None:
        """From CCAI_CRM_* variables; None (the endpoints answer 404) without CCAI_CRM_AUTH."""
        env = os.environ if environ is None else environ
        mode = env.get("CCAI_CRM_AUTH", "").strip().lower()
        if not mode:
            return None
        location = env.get("CCAI_CRM_RESPONSE_LOCATION", "").strip()
        if location and not _LOCATION.match(location):
            raise CcaiConfigError("CCAI_CRM_RESPONSE_LOCATION must be a dotted path of names "
                                  f"(data, result.item), not {location!r}")
        size = env.get("CCAI_CRM_MAX_UPLOAD_MB", "10")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            raise CcaiConfigError(f"CCAI_CRM_MAX_UPLOAD_MB must be 1 to 100, not {size!r}")
        common: dict[str, Any] = {"response_location": location,
                                  "max_upload": int(size) * 1024 * 1024}
        if mode == "basic":
            user, password = env.get("CCAI_CRM_USERNAME", ""), env.get("CCAI_CRM_PASSWORD", "")
            if not user or len(password) < 12:
                raise CcaiConfigError("CCAI_CRM_AUTH=basic needs CCAI_CRM_USERNAME and a "
                                      "CCAI_CRM_PASSWORD of 12 characters or more")
            return cls("basic", username=user, password=password, **common)
        if mode == "header":
            pairs = _header_pairs(env.get("CCAI_CRM_HEADERS", ""))
            return cls("header", headers=pairs, **common)
        if mode == "oauth":
            client, secret = env.get("CCAI_CRM_OAUTH_CLIENT_ID", ""), env.get(
                "CCAI_CRM_OAUTH_CLIENT_SECRET", "")
            if not client or len(secret) < 16:
                raise CcaiConfigError("CCAI_CRM_AUTH=oauth needs CCAI_CRM_OAUTH_CLIENT_ID and a "
                                      "CCAI_CRM_OAUTH_CLIENT_SECRET of 16 characters or more")
            return cls("oauth", oauth_client_id=client, oauth_client_secret=secret, **common)
        raise CcaiConfigError(f"CCAI_CRM_AUTH must be basic, header or oauth, not {mode!r}")


def _header_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """`Name: value` pairs, one per line or separated by `;`."""
    pairs = []
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not re.match(r"^[A-Za-z0-9-]+$", name) or len(value) < 12:
            raise CcaiConfigError("CCAI_CRM_HEADERS must be `Name: value` pairs (values of 12 "
                                  "characters or more), separated by `;`")
        pairs.append((name, value))
    if not pairs:
        raise CcaiConfigError("CCAI_CRM_AUTH=header needs CCAI_CRM_HEADERS")
    return tuple(pairs)


def check_auth(config: CcaiApiConfig, headers: Mapping[str, str],
               bearer_valid: Any = None) -> None:
    """CcaiUnauthorized unless the request carries what `config` asks for. `headers` must look
    names up without case (Django's request.headers does); `bearer_valid(token) -> bool`
    checks an OAuth access token."""
    given = headers.get("Authorization") or ""
    if config.auth == "basic":
        expected = "Basic " + base64.b64encode(
            f"{config.username}:{config.password}".encode()).decode()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise CcaiUnauthorized("basic authentication failed")
    elif config.auth == "header":
        for name, value in config.headers:
            if not hmac.compare_digest((headers.get(name) or "").encode(), value.encode()):
                raise CcaiUnauthorized(f"header {name} missing or wrong")
    else:
        token = given.removeprefix("Bearer ").strip() if given.startswith("Bearer ") else ""
        if not token or bearer_valid is None or not bearer_valid(token):
            raise CcaiUnauthorized("a valid OAuth bearer token is required")


def read_body(body: bytes, *, known: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The request's parameters, in either request data format: a Property body as it is, a
    Container (`{name: {...}}` or `{name: [{...}]}`) unwrapped. A body with one key that is
    not a known parameter and holds an object (or a list of one) is a container."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise CcaiInvalid("the body is not JSON") from None
    if not isinstance(data, dict):
        raise CcaiInvalid("the body is not a JSON object")
    if len(data) == 1:
        (name, inner), = data.items()
        if name not in known:
            if isinstance(inner, dict):
                return inner
            if isinstance(inner, list):
                if len(inner) != 1 or not isinstance(inner[0], dict):
                    raise CcaiInvalid(f"container {name!r} must hold one object")
                return dict(inner[0])
    return data


def place(obj: Any, location: str) -> Any:
    """`obj` put at the response data location (dotted path), for CCAI to find it there."""
    for name in reversed(location.split(".")) if location else ():
        obj = {name: obj}
    return obj


def digits(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")


def phone_matches(stored: str, query: str) -> bool:
    """Whether a stored phone number is the one CCAI searches for, in any of its formats: a
    search like `*222*333*4444` (Automatic) matches numbers holding those digit groups in
    order; otherwise the digits must be equal, or equal but for a leading country code 1."""
    have = digits(stored)
    if not have:
        return False
    if "*" in query:
        groups = [digits(g) for g in query.split("*") if digits(g)]
        position = 0
        for group in groups:
            found = have.find(group, position)
            if found < 0:
                return False
            position = found + len(group)
        return bool(groups)
    want = digits(query)
    if not want:
        return False
    return have == want or have.removeprefix("1") == want.removeprefix("1")

"""Telling an agent something through OpenMethods Connect (integrations/openmethods).

A PopFlow event goes to the agent's OpenMethods client by one of two routes: the CTI route,
naming the agent by their CTI login (for an agent logged in to the CTI), or the CRM route,
naming them by CRM user in the configured CRM instance (client loaded, no CTI login). Admins
enter both names per agent (OpenMethodsLogin); a route is offered when its name is there, and
for CRM when OPENMETHODS_CRM_ID is set.

    logins_for(agent_id) -> Logins | None          # from the database (sync)
    routes(config, logins) -> tuple[Route, ...]    # the routes this agent can be reached by
    await send(config, logins, route, event, properties) -> Sent    # raises OpenMethodsError
    failure_message(exc) -> str                    # what to tell a supervisor or an admin

The supervisor action that uses this, with its permission, scope and audit, is
`dashboard.actions.notify_agent`; the threshold rules' optional action is
`dashboard.actions.notify_for_rule`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from integrations.openmethods.client import OpenMethodsClient, OpenMethodsConfig, Route, Sent
from integrations.openmethods.errors import (
    OpenMethodsBadRequest,
    OpenMethodsConfigError,
    OpenMethodsError,
    OpenMethodsLegacyHost,
    OpenMethodsRejected,
    OpenMethodsUnauthorized,
    OpenMethodsUnavailable,
)

from .models import OpenMethodsLogin

ROUTE_LABELS = {"cti": "CTI", "crm": "CRM"}


@dataclass(frozen=True)
class Logins:
    """How OpenMethods names one agent ("" where an admin gave no name)."""

    cti: str = ""
    crm: str = ""


def logins_for(agent_id: int) -> Logins | None:
    """The agent's OpenMethods names (by Clarity agent id), None when an admin gave none."""
    row = OpenMethodsLogin.objects.filter(agent__clarity_id=agent_id).first()
    if row is None or not (row.cti_login or row.crm_login):
        return None
    return Logins(row.cti_login, row.crm_login)


def routes(config: OpenMethodsConfig | None, logins: Logins | None) -> tuple[Route, ...]:
    """The routes by which the agent can be sent an event: CTI first (the usual case)."""
    if config is None or logins is None:
        return ()
    found: list[Route] = []
    if logins.cti:
        found.append("cti")
    if logins.crm and config.crm_id:
        found.append("crm")
    return tuple(found)


async def send(config: OpenMethodsConfig, logins: Logins, route: Route, event: str,
               properties: Mapping[str, str]) -> Sent:
    """Send `event` with `properties` to the agent by `route`. OpenMethodsBadRequest when the
    agent has no name for that route."""
    login = logins.cti if route == "cti" else logins.crm
    if not login:
        raise OpenMethodsBadRequest(f"no {ROUTE_LABELS.get(route, route)} name for this agent")
    async with OpenMethodsClient(config) as client:
        if route == "cti":
            return await client.send_cti(login, event, properties)
        return await client.send_crm(login, event, properties)


def failure_message(exc: OpenMethodsError) -> str:
    """A sentence for the person who asked (translated)."""
    if isinstance(exc, OpenMethodsLegacyHost):
        return _("The OpenMethods address is the legacy end-of-life one: an administrator "
                 "must switch to connect.openmethodscloud.com and re-generate the API key.")
    if isinstance(exc, OpenMethodsConfigError):
        return _("OpenMethods is not fully set up (%(problem)s). Ask an administrator.") % {
            "problem": exc.message}
    if isinstance(exc, OpenMethodsBadRequest):
        return _("This cannot be sent: %(problem)s.") % {"problem": exc.message}
    if isinstance(exc, OpenMethodsUnauthorized):
        return _("OpenMethods refused the dashboard's API key, so nothing was sent. An "
                 "administrator must copy the current key from Experience Cloud (System "
                 "Settings > API Key; re-generate it if needed) into OPENMETHODS_API_KEY.")
    if isinstance(exc, OpenMethodsUnavailable):
        return _("OpenMethods did not answer; the event may or may not have reached the "
                 "agent. Ask them before sending it again.")
    if isinstance(exc, OpenMethodsRejected):
        return _("OpenMethods did not accept the event (%(answer)s). Check that the event "
                 "name matches the published PopFlow exactly, case and spaces included.") % {
            "answer": f"{exc.status}: {exc.message}" if exc.status else exc.message}
    return _("Sending to OpenMethods failed: %(problem)s") % {"problem": exc.message}

"""The demo's stand-ins for the other platforms (docs/integrations.md), each started only where
the real one is not configured, and the dashboard pointed at it:

- OpenMethods Connect: the fake API; every agent gets OpenMethods names.
- Genesys Cloud: the fake posts a dozen signed messages a minute to the demo's webhook.
- OneCloud CX: the fake tenant, with a demo chat entry point probed every minute.
- CCAI Platform: a fake tenant runs a session every DEMO_CCAI_EVERY seconds against the demo's
  Custom CRM endpoints (find or create account and record, comments, a transcript upload, the
  record's update) and writes its session metadata file to a temporary external storage
  folder, which the bridge reads.

    fakes = DemoFakes.start(host, port, ports)   # before the MBU sync (settings are set here)
    fakes.after_sync()                            # needs the agents
    fakes.lines() -> list[str]                    # what `manage.py demo` prints
    fakes.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from aiohttp import web
from django.conf import settings
from django.core.management.base import CommandError

from integrations.ccai.fake import CcaiTenant, Endpoint, sample_session, write_metadata
from integrations.ccai.generic_api import CcaiApiConfig
from integrations.fake_server import FakeServerThread
from integrations.genesys.client import GenesysConfig
from integrations.genesys.fake import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_INTEGRATION_ID,
    FakeGenesys,
)
from integrations.onecloud.fake import DEMO_APP_ID as ONECLOUD_APP_ID
from integrations.onecloud.fake import DEMO_TENANT as ONECLOUD_TENANT
from integrations.onecloud.fake import FakeOneCloud
from integrations.openmethods.client import OpenMethodsConfig
from integrations.openmethods.fake import DEMO_API_KEY, FakeOpenMethods

from .models import Agent, ChatEntryPoint, OpenMethodsLogin

log = logging.getLogger(__name__)

DEMO_ENTRY_POINT = "Demo test chat"
DEMO_CCAI_EVERY = 20.0
CUSTOMERS = (("James Bond", "+1 222 333 4444", "james.bond@agents.co"),
             ("Vesper Lynd", "+44 20 7946 0018", "vesper@treasury.example"),
             ("Felix Leiter", "+1 555 010 0199", "felix@cia.example"))
MENUS = ("Orders/Order info", "Billing/Refunds", "Support/Account access")


@dataclass
class DemoFakes:
    servers: dict[str, FakeServerThread] = field(default_factory=dict)
    ccai_storage: Path | None = None
    _ccai: CcaiRunner | None = None

    @classmethod
    def start(cls, host: str, port: int, ports: dict[str, int]) -> DemoFakes:
        fakes = cls()
        try:
            if settings.OPENMETHODS is None:
                fakes.servers["openmethods"] = _serve(FakeOpenMethods().app(),
                                                      ports["openmethods"], "OpenMethods")
                settings.OPENMETHODS = OpenMethodsConfig(
                    api_key=DEMO_API_KEY, base_url=fakes.servers["openmethods"].url,
                    crm_id="demo-crm")
                settings.OPENMETHODS_DEFAULT_EVENT = (settings.OPENMETHODS_DEFAULT_EVENT
                                                      or "Supervisor Note")
            if settings.GENESYS is None:
                state = FakeGenesys(webhook_url=f"http://{host}:{port}/hooks/genesys/"
                                                f"open-messaging", traffic_per_minute=12)
                url = (fakes.servers.setdefault("genesys", _serve(
                    state.app(), ports["genesys"], "Genesys"))).url
                # Open all week, quiet after 3 minutes: stopping its traffic shows the alert.
                settings.GENESYS = GenesysConfig.from_env({
                    "GENESYS_CLIENT_ID": DEMO_CLIENT_ID,
                    "GENESYS_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                    "GENESYS_INTEGRATION_ID": DEMO_INTEGRATION_ID, "GENESYS_LOGIN_URL": url,
                    "GENESYS_API_URL": url, "GENESYS_OPENING_HOURS": "00:00-23:59",
                    "GENESYS_OPENING_DAYS": "mon-sun", "GENESYS_QUIET_MINUTES": "3"})
            if not ChatEntryPoint.objects.exclude(name=DEMO_ENTRY_POINT).exists():
                fakes.servers["onecloud"] = _serve(FakeOneCloud().app(), ports["onecloud"],
                                                   "OneCloud")
                ChatEntryPoint.objects.update_or_create(name=DEMO_ENTRY_POINT, defaults={
                    "base_url": fakes.servers["onecloud"].url, "tenant_url": ONECLOUD_TENANT,
                    "app_id": ONECLOUD_APP_ID, "client_id": "dashboard-probe",
                    "phone_number": "3001", "every_minutes": 1, "enabled": True,
                    "parameters": {"first_name": "Dashboard", "last_name": "Probe"}})
            if settings.CCAI_CRM is None:
                password = secrets.token_urlsafe(18)
                settings.CCAI_CRM = CcaiApiConfig("basic", username="ccai-demo",
                                                  password=password, response_location="data")
                if not settings.CCAI_STORAGE_DIR:
                    settings.CCAI_STORAGE_DIR = tempfile.mkdtemp(prefix="ccai-storage-")
                fakes.ccai_storage = Path(settings.CCAI_STORAGE_DIR)
                fakes._ccai = CcaiRunner(f"http://{host}:{port}", password,
                                         fakes.ccai_storage)
        except BaseException:
            fakes.stop()
            raise
        return fakes

    def after_sync(self) -> None:
        """What needs the agents: their OpenMethods names, the CCAI tenant's sessions."""
        if "openmethods" in self.servers:
            for agent in Agent.objects.filter(active=True, openmethods__isnull=True):
                words = agent.name.split()
                OpenMethodsLogin.objects.create(agent=agent, cti_login="".join(words),
                                                crm_login=".".join(words))
        if self._ccai is not None:
            self._ccai.start()

    def lines(self) -> list[str]:
        found = []
        if "openmethods" in self.servers:
            found.append(f"OpenMethods (fake): {self.servers['openmethods'].url}/_fake/events")
        if "genesys" in self.servers:
            found.append(f"Genesys (fake): {self.servers['genesys'].url}/_fake/state")
        if "onecloud" in self.servers:
            found.append(f"OneCloud (fake): {self.servers['onecloud'].url}/_fake/state")
        if self.ccai_storage is not None:
            found.append(f"CCAI (fake): {self.ccai_storage}")
        return found

    def stop(self) -> None:
        if self._ccai is not None:
            self._ccai.stop()
        for server in self.servers.values():
            server.stop()


def _serve(app: web.Application, port: int, name: str) -> FakeServerThread:
    try:
        return FakeServerThread(app, port=port, name=f"fake-{name.lower()}").start()
    except RuntimeError as exc:
        raise CommandError(f"the fake {name} could not start on port {port}: "
                           f"{exc.__cause__}") from exc


class CcaiRunner:
    """The fake CCAI tenant's sessions, on a thread of their own, against the demo."""

    def __init__(self, base: str, password: str, storage: Path) -> None:
        api = base + "/crm/ccai/api"

        def post(url: str, parameters: dict[str, str]) -> Endpoint:
            return Endpoint(url, method="POST", parameters=parameters, response_location="data")
        self.base = base
        self.storage = storage
        self.tenant = CcaiTenant({
            "find_account": Endpoint(api + "/accounts", response_location="data", parameters={
                "phone": "{PHONE_NUMBER}", "email": "{EMAIL}"}),
            "create_account": post(api + "/accounts", {
                "name": "{NAME}", "phone": "{PHONE_NUMBER}", "email": "{EMAIL}"}),
            "find_record": Endpoint(api + "/records", response_location="data",
                                    parameters={"contactId": "{ACCOUNT_ID}"}),
            "create_record": post(api + "/records", {
                "contactId": "{ACCOUNT_ID}", "subject": "{TICKET_SUBJECT}",
                "description": "{TICKET_DESCRIPTION}", "phone": "{PHONE_NUMBER}",
                "sourceType": "{SOURCE}", "menu": "{MENU_PATH}"}),
            "comment": post(api + "/records/{RECORD_ID}/comments",
                            {"comment": "{COMMENT_BODY}"}),
            "upload": post(api + "/records/{RECORD_ID}/attachments",
                           {"name": "chat-{Chat_ID}.txt"}),
            "update_record": Endpoint(api + "/records/{RECORD_ID}", method="PATCH",
                                      response_location="data", parameters={
                                          "rating": "{RATING}", "feedback": "{FEEDBACK}",
                                          "status": "closed"}),
        }, {"basic": ("ccai-demo", password)}, retries=2, retry_base=1.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-ccai", daemon=True)
        self._next_id = 7000 + random.randrange(1000)  # noqa: S311 - demo ids
        self._turn = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        # The dashboard starts after this thread: wait for it, then a session every so often.
        while not self._stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz/", timeout=2).status_code in (200, 503):
                    break
            self._stop.wait(1)
        while not self._stop.is_set():
            try:
                asyncio.run(self.session())
            except Exception:
                log.exception("the fake CCAI tenant's session failed")
            self._stop.wait(DEMO_CCAI_EVERY)

    async def session(self) -> None:
        # The customers in turn, calls and chats by turns: the first is James Bond's call.
        name, phone, email = CUSTOMERS[self._turn % len(CUSTOMERS)]
        kind: Literal["call", "chat"] = ("call", "chat")[self._turn % 2]
        self._turn += 1
        session_id, self._next_id = self._next_id, self._next_id + 1
        menu = random.choice(MENUS)  # noqa: S311
        values = {"NAME": name, "PHONE_NUMBER": phone, "EMAIL": email, "MENU_PATH": menu,
                  "SOURCE": "PHONE" if kind == "call" else "CHAT",
                  "TICKET_SUBJECT": f"{kind.title()} {session_id}: {menu}",
                  "TICKET_DESCRIPTION": f"Customer asked about {menu.lower()}.",
                  "Chat_ID": str(session_id), "RATING": "4",
                  "FEEDBACK": "Quick and friendly."}
        await self.tenant.account_for(values)
        await self.tenant.record_for(values, reuse=False)
        await self.tenant.call("comment", dict(values, COMMENT_BODY=f"{kind.title()} started"))
        if kind == "chat":
            await self.tenant.call("upload", values, file=(
                f"chat-{session_id}.txt", b"Customer: Hi\nAgent: Hello, how can I help?\n"))
        await self.tenant.call("update_record", values)
        write_metadata(self.storage, kind, sample_session(
            kind, session_id, phone=phone, email=email, agent="Eve Moneypenny",
            menu_path=menu))

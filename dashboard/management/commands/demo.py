"""`manage.py demo`: the simulator, the bridge and the dashboard in one process."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig
from integrations.clarity.errors import ClarityError
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


async def _fetch_mbu(config: ClarityConfig) -> Any:
    async with ClarityClient(config) as client:
        return await client.mbu()


class Command(BaseCommand):
    help = ("Start the demo: the Clarity simulator (unless CLARITY_URL is set), the bridge and "
            "the dashboard (daphne), with a demo supervisor and a demo wallboard.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8100)
        parser.add_argument("--openmethods-port", type=int, default=8101,
                            help="the fake OpenMethods Connect API's port (when "
                                 "OPENMETHODS_API_KEY is not set)")
        parser.add_argument("--onecloud-port", type=int, default=8103,
                            help="the fake OneCloud CX tenant's port (a demo chat entry point "
                                 "is probed there when none is configured)")
        parser.add_argument("--genesys-port", type=int, default=8102,
                            help="the fake Genesys Cloud's port (when GENESYS_CLIENT_ID is "
                                 "not set)")
        parser.add_argument("--speed", type=float, default=1.0,
                            help="the simulator's simulated seconds per real second")

    def handle(self, *args: Any, **options: Any) -> None:
        # daphne installs Twisted's asyncio reactor on import: import it before anything else
        # pulls Twisted in.
        from daphne.server import Server, twisted_loop

        from dashboard import mbu
        from dashboard.bridge import run_bridge
        from dashboard.models import ChatEntryPoint, Queue, Team, Wallboard
        from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

        host, port = options["host"], options["port"]
        call_command("migrate", interactive=False, verbosity=0)
        simulator = None
        try:
            config = ClarityConfig.from_env()
        except ClarityError as exc:
            raise CommandError(f"configuration: {exc}") from exc
        if config.uses_simulator:
            # No CLARITY_URL: the embedded simulator, on its own port and thread.
            try:
                # The fault controls (/_simulator/control: outages, a clock jump that raises
                # alerts) let a demo, and the browser tests, show what the dashboard does then;
                # the simulator listens on loopback only.
                simulator = SimulatorThread(SimulatorConfig(
                    host="127.0.0.1", port=options["simulator_port"],
                    speed=options["speed"], control=True)).start()
            except RuntimeError as exc:
                raise CommandError(f"the simulator could not start on port "
                                   f"{options['simulator_port']}: {exc.__cause__}") from exc
            config = config.with_url(simulator.url)
            # The pages' actions and drill-downs find Clarity through clarity_config() too.
            settings.CLARITY_SIMULATOR_URL = simulator.url
        fakes: list[FakeServerThread] = []
        try:
            openmethods_fake = genesys_fake = None
            if settings.OPENMETHODS is None:
                openmethods_fake = _start_openmethods(options["openmethods_port"])
                fakes.append(openmethods_fake)
            if settings.GENESYS is None:
                genesys_fake = _start_genesys(options["genesys_port"],
                                              f"http://{host}:{port}/hooks/genesys/open-messaging")
                fakes.append(genesys_fake)
            try:
                structure = asyncio.run(_fetch_mbu(config))
            except ClarityError as exc:
                raise CommandError(f"Clarity at {config.base_url}: {exc}") from exc
            mbu.sync_mbu(structure)
            if openmethods_fake is not None:
                _demo_openmethods_logins()
            onecloud_fake = None
            if not ChatEntryPoint.objects.exclude(name=DEMO_ENTRY_POINT).exists():
                onecloud_fake = _start_onecloud(options["onecloud_port"])
                fakes.append(onecloud_fake)
            password = secrets.token_urlsafe(9)
            user, _ = get_user_model().objects.get_or_create(username="supervisor")
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            board, _ = Wallboard.objects.get_or_create(name="Demo wallboard")
            board.queues.set(Queue.objects.filter(active=True))
            board.teams.set(Team.objects.filter(active=True))
            base = f"http://{host}:{port}"
            self.stdout.write(f"Dashboard: {base}/")
            self.stdout.write(f"Login: supervisor / {password}")
            self.stdout.write(f"Wallboard: {base}{board.get_absolute_url()}")
            if openmethods_fake is not None:
                self.stdout.write(f"OpenMethods (fake): {openmethods_fake.url}/_fake/events")
            if genesys_fake is not None:
                self.stdout.write(f"Genesys (fake): {genesys_fake.url}/_fake/state")
            if onecloud_fake is not None:
                self.stdout.write(f"OneCloud (fake): {onecloud_fake.url}/_fake/state")
            self.stdout.flush()
            application = _application()

            def ready() -> None:
                # The bridge shares daphne's loop, and so its in-memory channel layer.
                twisted_loop.create_task(run_bridge(config))

            Server(application, endpoints=[f"tcp:port={port}:interface={host}"],
                   # Daphne closes sockets after 24 h by default; pages reconnect anyway,
                   # but a wallboard has no reason to be cut off.
                   websocket_timeout=-1, ready_callable=ready, verbosity=0,
                   # A large wallboard's snapshot is over daphne's 1 MiB default
                   # (docs/deploy.md runs the workers with the same).
                   websocket_max_message_size=16 * 1024 * 1024).run()
        finally:
            for fake in fakes:
                fake.stop()
            if simulator is not None:
                simulator.stop()


def _start_openmethods(port: int) -> FakeServerThread:
    """The fake OpenMethods Connect API, and the dashboard pointed at it."""
    try:
        fake = FakeServerThread(FakeOpenMethods().app(), port=port,
                                name="fake-openmethods").start()
    except RuntimeError as exc:
        raise CommandError(f"the fake OpenMethods could not start on port {port}: "
                           f"{exc.__cause__}") from exc
    settings.OPENMETHODS = OpenMethodsConfig(api_key=DEMO_API_KEY, base_url=fake.url,
                                             crm_id="demo-crm")
    settings.OPENMETHODS_DEFAULT_EVENT = settings.OPENMETHODS_DEFAULT_EVENT or "Supervisor Note"
    return fake


def _start_genesys(port: int, webhook_url: str) -> FakeServerThread:
    """The fake Genesys Cloud, posting a dozen signed messages a minute to the dashboard's
    webhook, and the dashboard watching it (open all week; quiet after 3 minutes, so that
    stopping its traffic shows the alert soon)."""
    state = FakeGenesys(webhook_url=webhook_url, traffic_per_minute=12)
    try:
        fake = FakeServerThread(state.app(), port=port, name="fake-genesys").start()
    except RuntimeError as exc:
        raise CommandError(f"the fake Genesys could not start on port {port}: "
                           f"{exc.__cause__}") from exc
    settings.GENESYS = GenesysConfig.from_env({
        "GENESYS_CLIENT_ID": DEMO_CLIENT_ID, "GENESYS_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "GENESYS_INTEGRATION_ID": DEMO_INTEGRATION_ID, "GENESYS_LOGIN_URL": fake.url,
        "GENESYS_API_URL": fake.url, "GENESYS_OPENING_HOURS": "00:00-23:59",
        "GENESYS_OPENING_DAYS": "mon-sun", "GENESYS_QUIET_MINUTES": "3"})
    return fake


DEMO_ENTRY_POINT = "Demo test chat"


def _start_onecloud(port: int) -> FakeServerThread:
    """The fake OneCloud CX tenant, and a chat entry point on it probed every minute."""
    from dashboard.models import ChatEntryPoint

    try:
        fake = FakeServerThread(FakeOneCloud().app(), port=port, name="fake-onecloud").start()
    except RuntimeError as exc:
        raise CommandError(f"the fake OneCloud could not start on port {port}: "
                           f"{exc.__cause__}") from exc
    ChatEntryPoint.objects.update_or_create(name=DEMO_ENTRY_POINT, defaults={
        "base_url": fake.url, "tenant_url": ONECLOUD_TENANT, "app_id": ONECLOUD_APP_ID,
        "client_id": "dashboard-probe", "phone_number": "3001",
        "parameters": {"first_name": "Dashboard", "last_name": "Probe"}, "every_minutes": 1,
        "enabled": True})
    return fake


def _demo_openmethods_logins() -> None:
    """Every agent gets OpenMethods names (an admin enters them for a real deployment): a CTI
    login with capitals, to show it goes as typed, and a CRM user name."""
    from dashboard.models import Agent, OpenMethodsLogin

    for agent in Agent.objects.filter(active=True, openmethods__isnull=True):
        words = agent.name.split()
        OpenMethodsLogin.objects.create(agent=agent, cti_login="".join(words),
                                        crm_login=".".join(words))


def _application() -> Any:
    """The ASGI app, serving static files too (the demo runs without a proxy in front)."""
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from dashboard.asgi import application, django_asgi_app

    return ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_asgi_app),
                               "websocket": application.application_mapping["websocket"]})

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
        from dashboard.demo_fakes import DemoFakes
        from dashboard.models import Queue, Team, Wallboard
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
        ports = {name: options[f"{name}_port"] for name in ("openmethods", "genesys",
                                                           "onecloud")}
        fakes = DemoFakes.start(host, port, ports)
        try:
            try:
                structure = asyncio.run(_fetch_mbu(config))
            except ClarityError as exc:
                raise CommandError(f"Clarity at {config.base_url}: {exc}") from exc
            mbu.sync_mbu(structure)
            fakes.after_sync()
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
            for line in fakes.lines():
                self.stdout.write(line)
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
            fakes.stop()
            if simulator is not None:
                simulator.stop()


def _application() -> Any:
    """The ASGI app, serving static files too (the demo runs without a proxy in front)."""
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from dashboard.asgi import application, django_asgi_app

    return ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_asgi_app),
                               "websocket": application.application_mapping["websocket"]})

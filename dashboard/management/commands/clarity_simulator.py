"""`manage.py clarity_simulator`: serve a simulated Clarity Connect contact center."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.clarity.simulator.server import (
    DEFAULT_CLIENT_ID,
    Simulator,
    SimulatorConfig,
    serve,
)


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = ("Serve a simulated Clarity Connect contact center: REST API, token service and "
            "SignalR hub, driven by a reproducible traffic model.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--seed", type=int, default=7,
                            help="the same seed gives the same contact center")
        parser.add_argument("--agents", type=int, default=60)
        parser.add_argument("--queues", type=int, default=8)
        parser.add_argument("--speed", type=_positive_float, default=1.0,
                            help="simulated seconds per real second")
        parser.add_argument("--password", default="demo",
                            help="password for every login (stands in for Windows auth)")
        parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
        parser.add_argument("--token-ttl", type=int, default=3600,
                            help="token lifetime in seconds")
        parser.add_argument("--control", action="store_true",
                            help="serve the fault-control endpoint /_simulator/control")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("integrations.clarity.simulator").setLevel(logging.INFO)
        try:
            config = SimulatorConfig(
                host=options["host"], port=options["port"], seed=options["seed"],
                agents=options["agents"], queues=options["queues"], speed=options["speed"],
                password=options["password"], client_id=options["client_id"],
                token_ttl=options["token_ttl"], control=options["control"],
            )
            # A fixed key from the environment lets a client verify signatures.
            if os.environ.get("CLARITY_SIMULATOR_JWT_KEY"):
                config = replace(config, jwt_key=os.environ["CLARITY_SIMULATOR_JWT_KEY"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        def ready(sim: Simulator) -> None:
            cc = sim.cc
            self.stdout.write(f"Clarity simulator: {sim.base_url}")
            self.stdout.write(f"REST root: {sim.base_url}/webapi/api  hub: {sim.hub_url}")
            # The documented demo password is shown; one given with --password is a secret.
            shown = (f"'{config.password}'" if config.password == "demo"  # noqa: S105 - the documented demo login
                     else "as given with --password")
            self.stdout.write(f"Token service: {sim.base_url}/webauth/token "
                              f"(HTTP Basic, password {shown}, client id {config.client_id})")
            self.stdout.write(f"Logins: supervisor, supervisor1..{len(cc.business_units)}, "
                              f"lead1..{len(cc.teams)}, agent1..{config.agents}")
            if config.control:
                self.stdout.write(f"Fault control: {sim.base_url}/_simulator/control")
            self.stdout.flush()

        with contextlib.suppress(KeyboardInterrupt):
            try:
                asyncio.run(serve(config, ready))
            except OSError as exc:
                raise CommandError(f"cannot listen on {config.host}:{config.port}: {exc}")\
                    from exc

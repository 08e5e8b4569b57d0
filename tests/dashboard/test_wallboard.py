"""Wallboards for TVs: a CSP-safe page, the deploy id on pages and in every socket message, and
a socket that carries only what the board shows."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client, RequestFactory

from dashboard import settings as dashboard_settings
from dashboard.bridge import Bridge
from dashboard.consumers import LiveConsumer
from dashboard.context_processors import live_build
from dashboard.models import Agent, BusinessUnit, Queue, Team, Wallboard
from integrations.clarity.simulator.server import SimulatorThread

from .bridge_harness import (
    frozen_simulator,
    messages_during,
    open_page,
    running_bridge,
    split,
    superuser,
)

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def board(db: None) -> Wallboard:
    unit = BusinessUnit.objects.create(clarity_id=1, name="Consumer")
    falcons = Team.objects.create(clarity_id=1, name="Team Falcons", business_unit=unit)
    otters = Team.objects.create(clarity_id=2, name="Team Otters", business_unit=unit)
    sales = Queue.objects.create(clarity_id=1, name="Sales", business_unit=unit)
    Agent.objects.create(clarity_id=11, name="Ann Lee", team=falcons, status="inCall")
    Agent.objects.create(clarity_id=12, name="Bob Roe", team=otters, status="available")
    wallboard = Wallboard.objects.create(name="Floor TV", pages=["overview", "agents"],
                                         theme="dark", font_scale=1.5, rotate_seconds=20)
    wallboard.queues.add(sales)
    wallboard.teams.add(falcons, otters)
    return wallboard


def test_the_wallboard_has_no_inline_style_or_script(client: Client, board: Wallboard) -> None:
    html = client.get(board.get_absolute_url()).content.decode()
    assert "style=" not in html, "a CSP without 'unsafe-inline' blocks style attributes"
    assert "<style" not in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts), scripts
    assert all(re.search(r"<script\b[^>]*>\s*</script>", html[html.index(tag):])
               for tag in scripts), "no script has a body"
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"


def test_the_wallboard_carries_its_settings_as_data_attributes(client: Client,
                                                               board: Wallboard) -> None:
    html = client.get(board.get_absolute_url()).content.decode()
    assert re.search(r'<html [^>]*data-theme="dark"', html)
    body = re.search(r"<body\b[^>]*>", html)
    assert body is not None
    assert 'class="wallboard"' in body.group(0) and 'data-rotate="20"' in body.group(0)
    assert f'data-build="{settings.BUILD_ID}"' in body.group(0)
    socket = re.search(r'<div id="live-socket"[^>]*>', html)
    assert socket is not None
    assert f'ws-connect="/ws/wallboard/{board.token}/"' in socket.group(0)
    # live.js reads these from #live-socket (readConfig): the scale through the CSSOM, and
    # the reload once the server answers after ten minutes without data.
    assert 'data-font-scale="1.5"' in socket.group(0)
    assert 'data-reload-after="600"' in socket.group(0)
    assert "dashboard/wallboard.js" in html


def test_the_wallboard_shows_a_clock_and_the_data_age_but_no_site_navigation(
        client: Client, board: Wallboard) -> None:
    html = client.get(board.get_absolute_url()).content.decode()
    assert "data-clock" in html and "data-live-age" in html and 'id="live-status"' in html
    assert "site-nav" not in html and "Log out" not in html and "/logout/" not in html
    assert 'id="sound-toggle"' not in html, "nobody is at a TV to turn the sound on"
    # The agents page: a table per team with the team as its caption.
    assert "<caption>Team Falcons</caption>" in html and "<caption>Team Otters</caption>" in html
    assert html.index("Team Falcons") < html.index('id="agent-11"') < html.index("Team Otters")
    # New alerts still toast on a board without an alerts page: their list is there, hidden.
    assert re.search(r'<ul id="alerts-list" class="alerts" hidden>', html)


def test_every_page_rendered_with_a_request_carries_the_build(rf: RequestFactory,
                                                              client: Client,
                                                              settings: Any) -> None:
    settings.BUILD_ID = "deploy-42"
    assert live_build(rf.get("/")) == {"live_build": "deploy-42"}
    login = client.get("/login/").content.decode()
    assert re.search(r'<body\b[^>]*data-build="deploy-42"', login)


def test_the_build_id_comes_from_the_environment_else_from_the_code() -> None:
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.BUILD_ID)")
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_BUILD_ID"}
    env["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"

    def build(extra: dict[str, str]) -> str:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, **extra},
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    assert build({"DASHBOARD_BUILD_ID": "release-7"}) == "release-7"
    default = build({})
    assert default and default == settings.BUILD_ID, "computed the same way in every process"
    git = shutil.which("git")
    if git is not None and (ROOT / ".git").exists():
        head = subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True)
        assert default == head.stdout.strip()[:12]


def _fake_git(root: Path, commit: str, *, packed: bool = False) -> None:
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    if packed:
        (git / "packed-refs").write_text(f"# pack-refs with: peeled\n{commit} refs/heads/main\n")
    else:
        (git / "refs" / "heads" / "main").write_text(commit + "\n")


def test_the_default_build_is_the_checked_out_commit(tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    _fake_git(tmp_path / "loose", commit)
    assert dashboard_settings._git_commit(tmp_path / "loose") == commit[:12]
    _fake_git(tmp_path / "packed", commit, packed=True)
    assert dashboard_settings._git_commit(tmp_path / "packed") == commit[:12]
    detached = tmp_path / "detached" / ".git"
    detached.mkdir(parents=True)
    (detached / "HEAD").write_text(commit + "\n")
    assert dashboard_settings._git_commit(tmp_path / "detached") == commit[:12]
    assert dashboard_settings._git_commit(tmp_path / "nothing") is None


def test_without_git_the_build_follows_the_static_files(tmp_path: Path) -> None:
    static = tmp_path / "static" / "dashboard"
    static.mkdir(parents=True)
    script = static / "live.js"
    script.write_text("// v1")
    os.utime(script, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    first = dashboard_settings._code_fingerprint(tmp_path)
    assert first == dashboard_settings._code_fingerprint(tmp_path), "stable between processes"
    os.utime(script, ns=(1_000_000_000_000_000_000, 1_000_000_060_000_000_000))
    assert dashboard_settings._code_fingerprint(tmp_path) != first, "a redeploy changes it"


# ---------------------------------------------------------------------------------------------
# The socket: the consumer's build in every message, and only what the board shows
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with frozen_simulator(seed=53) as s:
        yield s


@pytest.fixture
async def bridge(sim: SimulatorThread) -> AsyncIterator[Bridge]:
    # The bridge may run another release than the consumer (its own process, scale-out).
    async with running_bridge(sim, build="bridge-old") as running:
        yield running


@pytest.mark.django_db(transaction=True)
async def test_every_message_carries_the_consumers_build_and_clock(
        sim: SimulatorThread, bridge: Bridge, monkeypatch: pytest.MonkeyPatch,
        settings: Any) -> None:
    settings.BUILD_ID = "deploy-42"
    monkeypatch.setattr(LiveConsumer, "heartbeat_seconds", 0.3)
    communicator = await open_page("/ws/live/agents/", await superuser())
    messages = await messages_during(communicator, 1.5)
    # A status change upstream makes a diff.
    agent_id = next(iter(sim.sim.cc.agents))
    await asyncio.to_thread(sim.call, sim.sim.cc.update_status, agent_id, 3, None, None)
    await asyncio.to_thread(sim.call, sim.sim.jump, 1)
    messages += await messages_during(communicator, 1.5)
    await communicator.disconnect()
    kinds = {meta["kind"] for meta, _ in messages}
    assert {"snapshot", "diff", "heartbeat"} <= kinds, kinds
    for meta, _ in messages:
        assert meta["build"] == "deploy-42", meta
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", meta["now"]), meta
        assert isinstance(meta["age"], int | float) and meta["age"] >= 0
    await asyncio.to_thread(sim.call, sim.sim.cc.update_status, agent_id, 1, None, None)


@pytest.mark.django_db(transaction=True)
async def test_a_wallboard_socket_carries_only_the_pages_it_shows(bridge: Bridge) -> None:
    def make(pages: list[str]) -> Wallboard:
        wallboard = Wallboard.objects.create(name="TV", pages=pages)
        wallboard.teams.add(Team.objects.get(clarity_id=1))
        wallboard.queues.add(Queue.objects.get(clarity_id=1))
        return wallboard

    for pages, shown, not_shown in ((["overview"], 'id="queue-1"', 'id="agent-'),
                                    (["agents"], 'id="agent-', 'id="queue-1"')):
        board = await sync_to_async(make)(pages)
        communicator = await open_page(f"/ws/wallboard/{board.token}/")
        meta, html = split(await communicator.receive_from(timeout=5))
        assert meta["kind"] == "snapshot"
        assert shown in html and not_shown not in html, pages
        assert "totals-" not in html, "a wallboard shows no totals table"
        await communicator.disconnect()

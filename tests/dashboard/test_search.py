"""Search (dashboard.search and /search/) against the real simulator.

`Wire` is a real httpx transport that notes each API request, so a test can say whether
Clarity was asked at all; nothing is faked.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import User
from django.test import Client

from dashboard import search
from dashboard.mbu import Visibility, sync_mbu, visibility_for
from dashboard.models import SupervisorScope, Team
from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig, RetryPolicy
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread

FAST_RETRY = RetryPolicy(attempts=2, base=0.001, cap=0.005)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(port=0, seed=53, speed=1e-6)) as s:
        yield s


class Wire(httpx.AsyncHTTPTransport):
    """The real network, with a note of every API request's path."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/webapi/api/"):
            self.paths.append(request.url.path)
        return await super().handle_async_request(request)


def config(sim: SimulatorThread) -> ClarityConfig:
    return ClarityConfig(retry=FAST_RETRY).with_url(sim.url)


def run(sim: SimulatorThread, visibility: Visibility, query: str,
        wire: Wire | None = None) -> search.SearchResults:
    async def go() -> search.SearchResults:
        async with ClarityClient(config(sim), transport=wire) as client:
            return await search.run(client, visibility, query)

    return asyncio.run(go())


def raw(sim: SimulatorThread, query: str) -> Any:
    async def go() -> Any:
        async with ClarityClient(config(sim)) as client:
            return await client.search(query)

    return asyncio.run(go())


def team_agents(sim: SimulatorThread) -> dict[int, set[int]]:
    def collect(cc: Any) -> dict[int, set[int]]:
        teams: dict[int, set[int]] = {}
        for a in cc.agents.values():
            if a.team_id in cc.teams:
                teams.setdefault(a.team_id, set()).add(a.id)
        return teams

    return dict(sim.call(lambda: collect(sim.sim.cc)))


# ---------------------------------------------------------------------------------------------
# dashboard.search
# ---------------------------------------------------------------------------------------------


def test_hits_are_limited_to_the_agents_and_queues_the_viewer_sees(sim: SimulatorThread) -> None:
    teams = team_agents(sim)
    mine = min(teams)
    queues = sim.call(lambda: {q.id: q.name for q in sim.sim.cc.queues.values()})
    my_queues = frozenset(sim.call(lambda: [q.id for q in sim.sim.cc.queues.values()
                                            if mine in q.team_ids]))
    vis = Visibility(agent_ids=frozenset(teams[mine]), queue_ids=my_queues)
    # Every agent's login is "agentN": Clarity finds agents of every team.
    everyone = {a.agent_id for a in raw(sim, "agent").agents}
    assert everyone - teams[mine], "the query must find agents outside the scope too"

    found = run(sim, vis, "agent")

    assert found.searched and not found.error
    assert {a.agent_id for a in found.agents} == everyone & teams[mine]
    assert all(a.url == f"/agents/{a.agent_id}/" and a.status_label for a in found.agents)
    assert [a.name.lower() for a in found.agents] == sorted(a.name.lower() for a in found.agents)

    # Two letters that name a queue of mine and one of someone else's.
    def shared(pair: str) -> bool:
        named = {qid for qid, name in queues.items() if pair in name.lower()}
        return bool(named & my_queues) and bool(named - my_queues)

    pair = next(("".join(p) for p in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=2)
                 if shared("".join(p))), None)
    assert pair is not None, "no two letters name queues both in and out of the scope"
    by_clarity = {q.queue_id for q in raw(sim, pair).queues}
    hits = run(sim, vis, pair).queues
    assert {q.queue_id for q in hits} == by_clarity & my_queues != by_clarity
    assert all(q.url == f"/#queue-{q.queue_id}" for q in hits)


def test_an_empty_or_short_query_does_not_ask_clarity(sim: SimulatorThread) -> None:
    wire = Wire()
    for query in ("", "   ", "a", " b "):
        found = run(sim, Visibility(everything=True), query, wire)
        assert not found.searched and found.count == 0 and not found.error
    assert not [p for p in wire.paths if "/search" in p]

    found = run(sim, Visibility(everything=True), "  sales   team ", wire)
    assert found.query == "sales team" and found.searched
    assert [p for p in wire.paths if "/search" in p] == ["/webapi/api/v2/search/sales team"]


def test_a_clarity_error_is_a_message_not_an_exception(sim: SimulatorThread) -> None:
    sim.call(sim.sim.fail_route, r"/v2/search/", status=500)
    try:
        found = run(sim, Visibility(everything=True), "agent")
    finally:
        sim.call(sim.sim.clear_faults)
    assert found.error == "Clarity could not search just now. Try again in a moment."
    assert found.count == 0


# ---------------------------------------------------------------------------------------------
# /search/ and the header's box
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def clarity(sim: SimulatorThread, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLARITY_URL", raising=False)
    monkeypatch.delenv("CLARITY_AUTH", raising=False)
    settings.CLARITY_SIMULATOR_URL = sim.url

    async def structure() -> Any:
        async with ClarityClient(config(sim)) as client:
            return await client.mbu()

    sync_mbu(asyncio.run(structure()))


def login(client: Client, team: int) -> User:
    user = User.objects.create_user("lead", password="x")
    user.groups.add(Role.objects.get(name="Viewer"))
    SupervisorScope.objects.create(user=user).teams.set(Team.objects.filter(clarity_id=team))
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_the_search_page_lists_what_the_viewer_supervises(
        client: Client, sim: SimulatorThread, clarity: None) -> None:
    teams = team_agents(sim)
    mine = min(teams)
    user = login(client, mine)
    vis = visibility_for(user)

    response = client.get("/search/", {"q": "agent"})

    assert response.status_code == 200
    html = response.content.decode()
    linked = {int(i) for i in re.findall(r'href="/agents/(\d+)/"', html)}
    assert linked and linked <= teams[mine] and all(vis.sees_agent(i) for i in linked)
    assert '<h1>Search</h1>' in html and 'value="agent"' in html
    assert '<h2 class="search-results__heading">Agents</h2>' in html
    # The page has its own box: the header's is left out.
    assert 'id="site-search-q"' not in html and 'id="search-q"' in html


@pytest.mark.django_db
def test_as_you_type_the_results_come_alone(client: Client, sim: SimulatorThread,
                                            clarity: None) -> None:
    login(client, min(team_agents(sim)))

    page_box = client.get("/search/", {"q": "agent"}, **HTMX, HTTP_HX_TARGET="search-results")
    header_box = client.get("/search/", {"q": "agent"}, **HTMX,
                            HTTP_HX_TARGET="site-search-results")
    short = client.get("/search/", {"q": "a"}, **HTMX, HTTP_HX_TARGET="site-search-results")
    empty = client.get("/search/", {"q": ""}, **HTMX, HTTP_HX_TARGET="site-search-results")

    for response in (page_box, header_box, short, empty):
        assert response.status_code == 200
        assert "<html" not in response.content.decode()
    assert "<h2" in page_box.content.decode()
    assert "<h2" not in header_box.content.decode() and "/agents/" in header_box.content.decode()
    assert "Type at least 2 characters." in short.content.decode()
    assert empty.content.decode().strip() == ""


@pytest.mark.django_db
def test_a_clarity_error_on_the_search_page_is_a_clear_message(
        client: Client, sim: SimulatorThread, clarity: None) -> None:
    login(client, min(team_agents(sim)))
    sim.call(sim.sim.fail_route, r"/v2/search/", status=500)
    try:
        page = client.get("/search/", {"q": "agent"})
        typed = client.get("/search/", {"q": "agent"}, **HTMX,
                           HTTP_HX_TARGET="site-search-results")
    finally:
        sim.call(sim.sim.clear_faults)

    assert page.status_code == 502
    assert 'role="alert"' in page.content.decode()
    assert "Clarity could not search just now" in page.content.decode()
    # htmx only swaps successful answers: the message comes with a 200.
    assert typed.status_code == 200
    assert "Clarity could not search just now" in typed.content.decode()


@pytest.mark.django_db
def test_the_header_has_a_search_box_for_signed_in_users_only(
        client: Client, sim: SimulatorThread, clarity: None) -> None:
    assert 'id="site-search-q"' not in client.get("/login/").content.decode()
    assert client.get("/search/").status_code == 302

    login(client, min(team_agents(sim)))
    html = client.get("/alerts/").content.decode()
    assert 'id="site-search-q"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert 'hx-target="#site-search-results"' in html
    assert re.search(r'<form class="site-search" role="search" method="get" action="/search/">',
                     html)

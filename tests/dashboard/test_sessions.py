"""The session drill-down (dashboard.sessions and /sessions/<id>/) against the real simulator.

What the page should show is read from the simulator's own model (`sim.call`), never through
the client under test. The views reach the simulator through `web_client()`, pointed at it by
CLARITY_SIMULATOR_URL as the demo does; nothing is faked.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from dashboard import sessions
from dashboard.mbu import Visibility, sync_mbu
from dashboard.models import SupervisorScope, Team
from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig, RetryPolicy
from integrations.clarity.simulator.server import SimulatorConfig, SimulatorThread
from integrations.clarity.wire import SessionById, TranscriptMessage

FAST_RETRY = RetryPolicy(attempts=2, base=0.001, cap=0.005)
ABSENT = "Not provided by Clarity"
# Participation types of a supervisor joining (seed: 7 WhisperJoin, 8 SilentJoin, 10 BargeIn).
JOINS = {7: "whisper", 8: "silent", 10: "barge"}
SECTIONS = ("session-summary", "session-participants", "session-ivr", "session-events",
            "session-details", "session-history")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    """A clock that barely moves: the centre stays as it was when the tests look at it."""
    with SimulatorThread(SimulatorConfig(port=0, seed=53, speed=1e-6)) as s:
        yield s


def on_sim(sim: SimulatorThread, fn: Callable[[Any], Any]) -> Any:
    return sim.call(lambda: fn(sim.sim.cc))


def config(sim: SimulatorThread) -> ClarityConfig:
    return ClarityConfig(retry=FAST_RETRY).with_url(sim.url)


def read(sim: SimulatorThread, session_id: int, **flags: Any) -> SessionById:
    async def go() -> SessionById:
        async with ClarityClient(config(sim)) as client:
            return await client.session(session_id, **flags)

    return asyncio.run(go())


def read_full(sim: SimulatorThread, session_id: int
              ) -> tuple[SessionById, tuple[TranscriptMessage, ...] | None]:
    async def go() -> tuple[SessionById, tuple[TranscriptMessage, ...] | None]:
        async with ClarityClient(config(sim)) as client:
            found = await sessions.lookup(client, Visibility(everything=True), session_id)
            assert found.ok, found.error
            assert found.session is not None
            return found.session, found.transcript

    return asyncio.run(go())


def pick(sim: SimulatorThread, test: Callable[[Any, Any], bool], what: str) -> int:
    """The first session (by id) for which test(cc, session) holds."""

    def find(cc: Any) -> int | None:
        return next((s.id for s in sorted(cc.sessions.values(), key=lambda s: s.id)
                     if test(cc, s)), None)

    # What the centre holds depends on the simulated time of day (the wall clock's): when no
    # session fits yet, run the model forward a simulated minute at a time, for up to 3 hours.
    found = on_sim(sim, find)
    for _ in range(180):
        if found is not None:
            break
        on_sim(sim, lambda cc: cc.advance(60.0))
        found = on_sim(sim, find)
    assert found is not None, f"the simulator has no {what}, even three simulated hours on"
    return int(found)


def live_call_with_history(cc: Any, s: Any) -> bool:
    # A call with an agent on it, gone through the IVR, whose customer called often enough
    # that the history limit bites.
    others = [x for x in cc.customers[s.customer_id].session_ids if x != s.id]
    return (s.modality == "audio" and s.status == "Active" and s.agent_id is not None
            and bool(s.ivr) and len(others) > sessions.HISTORY_LIMIT)


def live_chat(cc: Any, s: Any) -> bool:
    return (s.modality == "instantMessage" and s.status == "Active"
            and s.agent_id is not None and len(s.transcript) >= 2)


# ---------------------------------------------------------------------------------------------
# The view model
# ---------------------------------------------------------------------------------------------


def test_a_session_with_every_section_is_shown_as_clarity_has_it(sim: SimulatorThread) -> None:
    sid = pick(sim, live_call_with_history, "live call with a long customer history")
    session, transcript = read_full(sim, sid)
    view = sessions.build(session, transcript, now=timezone.now())

    def truth(cc: Any) -> dict[str, Any]:
        s = cc.sessions[sid]
        customer = cc.customers[s.customer_id]
        history = sorted((x for x in customer.session_ids if x != sid),
                         key=lambda x: cc.sessions[x].start, reverse=True)
        queue = cc.queues[s.queue_id]
        return {
            "customer": customer.name, "phone": customer.phone, "agent": s.agent_id,
            "queue": cc.queues[s.first_queue_id].name,
            # The flow the session entered by (a transfer moves it to a queue with another).
            "flow": cc.call_flows[s.call_flow_id].name,
            "nodes": [n["nodeName"] for n in s.ivr[0]["nodes"]],
            "results": [n["selectedResult"] for n in s.ivr[0]["nodes"]],
            "events": [text for _t, text, _by in s.events],
            "extras": [(k, v[1]) for k, v in s.extra_items.items()],
            "history": history[:sessions.HISTORY_LIMIT],
            "dispositions": sorted(d.id for d in cc.dispositions.values()
                                   if d.business_unit_id == queue.business_unit_id),
            "start": s.start,
            "participants": [(p.agent_id, p.is_primary, JOINS.get(p.type_id))
                             for p in s.participations if p.status in ("Accepted", "AfterCall")],
            "flags": (s.whisper_joined, s.silent_joined),
        }

    t = on_sim(sim, truth)
    assert view.active and view.status_label == "Active"
    assert (view.customer_name, view.customer_contact) == (t["customer"], t["phone"])
    assert view.customer_contact_is_sip is t["phone"].startswith("sip:")
    assert (view.agent_id, view.queue_name, view.call_flow) == (t["agent"], t["queue"], t["flow"])
    assert view.modality_label == "Voice" and not view.is_im
    # Durations tick from Clarity's start time while the call goes on.
    assert view.total is not None and view.total.since is not None
    assert abs(datetime.fromisoformat(view.total.since).timestamp() - t["start"]) < 0.01
    assert view.talking is not None and view.talking.since is not None
    # The agent on it, as primary, and any supervisor who joined, flagged as such.
    assert [(p.agent_id, p.is_primary, p.join) for p in view.participants] == t["participants"]
    assert view.participants[0].agent_id == t["agent"]
    assert all(p.time_on is not None and p.time_on.since for p in view.participants)
    assert (view.is_whisper_joined, view.is_silent_joined) == t["flags"]
    # The IVR node by node, the events in order, the extra items.
    assert view.ivr is not None and len(view.ivr) == 1 and view.ivr[0].call_flow == t["flow"]
    assert [s.name for s in view.ivr[0].steps] == t["nodes"]
    assert [s.result for s in view.ivr[0].steps] == t["results"]
    assert [s.number for s in view.ivr[0].steps] == list(range(1, len(t["nodes"]) + 1))
    assert view.events is not None and [e.text for e in view.events] == t["events"]
    assert all(e.offset and e.offset.startswith("+") for e in view.events)
    assert view.extra_items == tuple(t["extras"])
    # The customer's history: the most recent ones, at most the limit asked of Clarity.
    assert view.history is not None
    assert [h.session_id for h in view.history] == t["history"]
    assert len(view.history) == sessions.HISTORY_LIMIT
    assert view.dispositions is not None
    assert sorted(d.disposition_id for d in view.dispositions) == t["dispositions"]
    assert all(d.subs for d in view.dispositions)
    # A call has no chat transcript to poll.
    assert not view.polls_transcript and view.transcript == ()
    assert view.after_call_seconds is not None and view.hold_alert_seconds is not None


def test_a_chat_shows_its_whole_transcript_and_polls_while_it_goes_on(
        sim: SimulatorThread) -> None:
    sid = pick(sim, live_chat, "live chat with messages")
    session, transcript = read_full(sim, sid)
    view = sessions.build(session, transcript, now=timezone.now())

    expected = on_sim(sim, lambda cc: [(m["from"], m["message"], m["fromAgent"])
                                       for m in cc.sessions[sid].transcript])
    assert view.is_im and view.polls_transcript
    assert view.transcript is not None
    assert [(line.sender, line.text, line.from_agent) for line in view.transcript] == expected
    assert view.transcript_count == len(expected)
    assert view.im_prompts is not None and [name for name, _v in view.im_prompts] == [
        "CustomerName", "Topic"]


def test_an_ended_session_has_fixed_durations_and_shows_its_disposition(
        sim: SimulatorThread) -> None:
    sid = pick(sim, lambda cc, s: s.status == "Completed" and s.disposition_id is not None
               and s.agent_id is not None, "completed session with a disposition")
    session, transcript = read_full(sim, sid)
    view = sessions.build(session, transcript, now=timezone.now())

    def truth(cc: Any) -> tuple[int, str, float]:
        s = cc.sessions[sid]
        return s.disposition_id, cc.dispositions[s.disposition_id].name, s.ended - s.start

    disposition_id, name, seconds = on_sim(sim, truth)
    assert not view.active and view.status_label == "Completed"
    assert view.total is not None and view.total.since is None
    assert view.total.text == sessions.elapsed(seconds * 1000)
    assert view.ended is not None and not view.polls_transcript
    assert view.disposition == (disposition_id, name)


def test_sections_clarity_does_not_return_are_shown_as_absent_not_as_errors(
        sim: SimulatorThread) -> None:
    # Asked without the include flags, Clarity returns none of the optional sections: what a
    # server that ignores them (or sends null, as the seed allows) looks like.
    sid = pick(sim, live_call_with_history, "live call")
    bare = read(sim, sid)
    view = sessions.build(bare, None, now=timezone.now())

    for section in ("ivr", "events", "transcript", "im_prompts", "history", "dispositions",
                    "extra_items"):
        assert getattr(view, section) is None, section
    assert (view.after_call_seconds, view.manual_after_call, view.hold_alert_seconds) == (
        None, None, None)
    # The base fields are still all there.
    assert view.customer_name and view.queue_name and view.participants

    html = render_to_string("dashboard/session.html", {"view": view, "session_id": sid,
                                                       "can_annotate": True})
    for section in SECTIONS:
        assert f'id="{section}"' in html
    # IVR, events, history, dispositions, extra items; the after-call settings.
    assert html.count(ABSENT) >= 7
    assert "did not go through an IVR" not in html and "Traceback" not in html
    assert 'name="note"' in html and 'name="disposition_id"' not in html
    assert "did not provide the disposition choices" in html


def test_sections_clarity_returns_empty_are_shown_as_empty(sim: SimulatorThread) -> None:
    # A message (email-like) session never goes through an IVR: Clarity returns the section,
    # with nothing in it.
    sid = pick(sim, lambda cc, s: s.modality == "message" and s.agent_id is not None,
               "message session")
    session, transcript = read_full(sim, sid)
    view = sessions.build(session, transcript, now=timezone.now())

    assert view.ivr == () and view.im_prompts == ()
    html = render_to_string("dashboard/_session_ivr.html", {"view": view})
    assert "did not go through an IVR" in html and ABSENT not in html


def test_whose_session_it_is_decides_who_may_see_it(sim: SimulatorThread) -> None:
    sid = pick(sim, live_call_with_history, "live call")
    session = read(sim, sid)
    agent = session.agent_id
    assert agent is not None
    assert sessions.agent_ids(session) == (agent,)
    assert sessions.may_view(Visibility(agent_ids=frozenset({agent})), session)
    assert not sessions.may_view(Visibility(agent_ids=frozenset({agent + 1}),
                                            queue_ids=frozenset({session.queue_id or 0})),
                                 session)
    assert sessions.may_view(Visibility(everything=True), session)
    # A session waiting in a queue has no agent yet: the queue's supervisors see it.
    waiting = read(sim, pick(sim, lambda cc, s: s.status == "Queued" and s.agent_id is None,
                             "queued session"))
    assert sessions.agent_ids(waiting) == ()
    assert waiting.queue_id is not None
    assert sessions.may_view(Visibility(queue_ids=frozenset({waiting.queue_id})), waiting)
    assert not sessions.may_view(Visibility(agent_ids=frozenset({agent})), waiting)


# ---------------------------------------------------------------------------------------------
# The pages
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def clarity(sim: SimulatorThread, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """web_client() talks to the simulator, and the database knows its structure."""
    monkeypatch.delenv("CLARITY_URL", raising=False)
    monkeypatch.delenv("CLARITY_AUTH", raising=False)
    settings.CLARITY_SIMULATOR_URL = sim.url

    async def structure() -> Any:
        async with ClarityClient(config(sim)) as client:
            return await client.mbu()

    sync_mbu(asyncio.run(structure()))


def login(client: Client, role: str, *, teams: tuple[int, ...] = ()) -> User:
    user = User.objects.create_user(f"{role.lower()}-{len(teams)}", password="x")
    user.groups.add(Role.objects.get(name=role))
    SupervisorScope.objects.create(user=user).teams.set(Team.objects.filter(clarity_id__in=teams))
    client.force_login(user)
    return user


def team_of(sim: SimulatorThread, agent_id: int) -> int:
    return int(on_sim(sim, lambda cc: cc.agents[agent_id].team_id))


def other_team(sim: SimulatorThread, agent_id: int) -> int:
    mine = team_of(sim, agent_id)
    return int(on_sim(sim, lambda cc: next(a.team_id for a in cc.agents.values()
                                           if a.role == "agent" and a.team_id != mine)))


@pytest.mark.django_db
def test_a_supervisor_of_the_agent_reads_the_whole_session(
        client: Client, sim: SimulatorThread, clarity: None) -> None:
    sid = pick(sim, live_call_with_history, "live call")
    agent = int(on_sim(sim, lambda cc: cc.sessions[sid].agent_id))
    login(client, "Supervisor", teams=(team_of(sim, agent),))
    truth = on_sim(sim, lambda cc: (cc.customers[cc.sessions[sid].customer_id].name,
                                    cc.sessions[sid].ivr[0]["nodes"][0]["nodeName"],
                                    cc.sessions[sid].events[-1][1]))

    response = client.get(f"/sessions/{sid}/")

    assert response.status_code == 200
    html = response.content.decode()
    for section in (*SECTIONS, "session-actions"):
        assert f'id="{section}"' in html, section
    customer, first_node, last_event = truth
    assert customer in html and first_node in html and last_event in html
    assert ABSENT not in html
    assert f'href="/agents/{agent}/"' in html
    assert re.search(r'data-since="[^"]+"', html), "a live session's durations tick"
    # The history links to the customer's other sessions.
    assert len(re.findall(r'href="/sessions/\d+/"', html)) == sessions.HISTORY_LIMIT
    # The forms the notes and disposition endpoints read.
    assert f'hx-post="/sessions/{sid}/notes"' in html
    assert f'hx-post="/sessions/{sid}/disposition"' in html
    for name in ("note", "disposition_id", "sub_disposition_id"):
        assert f'name="{name}"' in html
    assert html.count('hx-target="#session-action-result"') == 2
    assert 'id="session-action-result"' in html
    assert 'style="' not in html and "<script>" not in html


@pytest.mark.django_db
def test_a_viewer_reads_the_session_but_gets_no_forms(
        client: Client, sim: SimulatorThread, clarity: None) -> None:
    sid = pick(sim, live_call_with_history, "live call")
    agent = int(on_sim(sim, lambda cc: cc.sessions[sid].agent_id))
    login(client, "Viewer", teams=(team_of(sim, agent),))

    response = client.get(f"/sessions/{sid}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="session-ivr"' in html
    assert 'name="note"' not in html and "/notes" not in html


@pytest.mark.django_db
def test_a_session_outside_the_scope_is_not_found(
        client: Client, sim: SimulatorThread, clarity: None) -> None:
    sid = pick(sim, live_call_with_history, "live call")
    # The simulated clock stands still meanwhile: a transfer to an agent of the other team
    # would (rightly) put the session in scope.
    sim.call(sim.sim.pause, 60)
    try:
        agent = int(on_sim(sim, lambda cc: cc.sessions[sid].agent_id))
        customer = on_sim(sim, lambda cc: cc.customers[cc.sessions[sid].customer_id].name)
        login(client, "Supervisor", teams=(other_team(sim, agent),))

        page = client.get(f"/sessions/{sid}/")
        poll = client.get(f"/sessions/{sid}/transcript/")
    finally:
        sim.call(sim.sim.clear_faults)

    assert page.status_code == 404 and poll.status_code == 404
    assert customer not in page.content.decode()
    assert "no such session among the ones you supervise" in page.content.decode()


@pytest.mark.django_db
def test_the_session_pages_need_a_login(client: Client, sim: SimulatorThread,
                                        clarity: None) -> None:
    for path in ("/sessions/1/", "/sessions/1/transcript/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_a_session_clarity_cannot_return_gives_a_clear_page(
        client: Client, sim: SimulatorThread, clarity: None) -> None:
    login(client, "Supervisor")
    # seed: Session by ID answers 500 for a session it does not have.
    unknown = client.get("/sessions/987654321/")
    assert unknown.status_code == 502
    html = unknown.content.decode()
    assert "may not exist" in html and 'role="alert"' in html and "Traceback" not in html

    sim.call(sim.sim.fail_route, r"/v2/sessions/\d+$", status=404)
    try:
        gone = client.get("/sessions/80001/")
    finally:
        sim.call(sim.sim.clear_faults)
    assert gone.status_code == 404 and "Clarity does not know this session" in gone.content.decode()


@pytest.mark.django_db
def test_an_unreachable_clarity_gives_a_clear_page(client: Client, settings: Any,
                                                   clarity: None) -> None:
    login(client, "Supervisor")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings.CLARITY_SIMULATOR_URL = f"http://127.0.0.1:{closed}"

    response = client.get("/sessions/80001/")

    assert response.status_code == 502
    assert "Clarity did not answer" in response.content.decode()


@pytest.fixture
def chat_sim() -> Iterator[SimulatorThread]:
    """A simulator of its own: this test moves its clock on."""
    with SimulatorThread(SimulatorConfig(port=0, seed=53, speed=1e-6)) as s:
        yield s


@pytest.mark.django_db
def test_the_transcript_polls_until_the_chat_ends(client: Client, chat_sim: SimulatorThread,
                                                  clarity: None, settings: Any) -> None:
    sim = chat_sim
    settings.CLARITY_SIMULATOR_URL = sim.url
    sid = pick(sim, live_chat, "live chat with messages")
    agent = int(on_sim(sim, lambda cc: cc.sessions[sid].agent_id))
    login(client, "Viewer", teams=(team_of(sim, agent),))
    count = len(on_sim(sim, lambda cc: cc.sessions[sid].transcript))

    page = client.get(f"/sessions/{sid}/").content.decode()
    poll = f'hx-get="/sessions/{sid}/transcript/?seen={count}"'
    assert poll in page and 'hx-trigger="every 2s"' in page

    # Nothing new: nothing to swap.
    assert client.get(f"/sessions/{sid}/transcript/", {"seen": count}).status_code == 204
    # The page is behind: the section comes back, still polling.
    behind = client.get(f"/sessions/{sid}/transcript/", {"seen": count - 1})
    assert behind.status_code == 200
    assert behind.content.decode().startswith('<section id="session-transcript"')
    assert poll in behind.content.decode()

    # The chat ends (the agent's client goes away, after-call work runs out).
    sim.call(lambda: sim.sim.cc.end_sessions([sid]))
    sim.call(sim.sim.jump, 900)
    assert on_sim(sim, lambda cc: cc.sessions[sid].has_ended)

    ended = client.get(f"/sessions/{sid}/transcript/", {"seen": count})
    assert ended.status_code == 200
    html = ended.content.decode()
    assert 'id="session-transcript"' in html
    assert "hx-trigger" not in html and "hx-get" not in html, "polling stops"
    assert html.count('class="transcript__line') == len(
        on_sim(sim, lambda cc: cc.sessions[sid].transcript))


def test_a_supervisor_who_joined_is_flagged_by_kind(sim: SimulatorThread) -> None:
    sid = pick(sim, lambda cc, s: s.status == "Active" and (s.whisper_joined or s.silent_joined),
               "session a team lead joined")
    session, transcript = read_full(sim, sid)
    view = sessions.build(session, transcript, now=timezone.now())
    whisper, lead = on_sim(sim, lambda cc: (cc.sessions[sid].whisper_joined, next(
        p.agent_id for p in cc.sessions[sid].participations if p.type_id in (7, 8))))

    joined = next(p for p in view.participants if p.agent_id == lead)
    assert joined.join == ("whisper" if whisper else "silent") and not joined.is_primary
    assert (view.is_whisper_joined, view.is_silent_joined) == (whisper, not whisper)
    assert view.can_be_whisper_joined is False and view.can_be_silent_joined is False
    html = render_to_string("dashboard/_session_participants.html", {"view": view})
    # Told by a word (and a mark), not by colour.
    assert ("Whisper join" if whisper else "Silent join") in html
    assert f'class="join join--{joined.join}"' in html

"""ClarityClient against the real simulator over real sockets, and (only for what the simulator
cannot produce: NTLM, malformed answers, 5xx storms, network errors, gzip by hand) against
httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import struct
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from integrations.clarity import wire
from integrations.clarity.client import ClarityClient
from integrations.clarity.config import ClarityConfig, RetryPolicy
from integrations.clarity.errors import (
    ClarityAuthError,
    ClarityError,
    ClarityInvalidClientId,
    ClarityNotFound,
    ClarityProtocolError,
    ClarityServerError,
    ClarityUnauthorized,
    ClarityUnavailable,
)
from integrations.clarity.simulator.server import SimulatorThread
from integrations.clarity.wire import (
    AggregateData,
    Alert,
    GroupData,
    ModelSession,
    Profile,
    RealtimeData,
)

from .conftest import HubConnection, sim_config

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


async def find_session(
    client: ClarityClient, sim: SimulatorThread, status: str | None = None
) -> tuple[int, ModelSession]:
    """An agent with an active session (in `status`, if given); runs the simulated clock forward
    if the center is quiet (at night on the simulated clock)."""
    mbu = await client.mbu()
    for _ in range(24):
        for agent in mbu.agents:
            sessions = await client.sessions_by_agent(agent.id)
            live = [
                s
                for s in sessions
                if not s.session_has_ended and status in (None, s.session_status)
            ]
            if live:
                return agent.id, live[0]
        sim.call(sim.sim.jump, 3600)
    raise AssertionError("no active session in a simulated day")


class Sleeps:
    """Records backoff delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


# ---------------------------------------------------------------------------------------------
# every REST method against the simulator
# ---------------------------------------------------------------------------------------------


async def test_info_profile_mbu_dashboard(clarity_client: ClarityClient) -> None:
    info = await clarity_client.info()
    assert info.supports("2")
    assert info.connect_version
    assert info.signalr_transports  # the simulator lists webSockets

    profile = await clarity_client.profile()
    # Who we are to the API is the token's connect_agent_id claim.
    assert str(profile.id) == clarity_client.tokens.agent_id
    assert profile.type == "agent"
    assert set(profile.enabled_modalities) <= {"audio", "instantMessage", "message"}

    mbu = await clarity_client.mbu()
    assert mbu.agents and mbu.queues and mbu.teams and mbu.groups and mbu.business_units
    agent_ids = {a.id for a in mbu.agents}
    queue_ids = {q.id for q in mbu.queues}
    for team in mbu.teams:
        assert set(team.agent_ids) <= agent_ids
        assert set(team.queue_ids) <= queue_ids
    assert {bu.type for bu in mbu.business_units} == {"businessUnit"}
    assert all(q.business_unit_id in {bu.id for bu in mbu.business_units} for q in mbu.queues)

    settings = await clarity_client.dashboard_settings()
    assert isinstance(settings.template_id, int)
    assert settings.definition is None or isinstance(settings.definition, dict)


async def test_sessions_by_agent_session_transcript_gruu_history(
    clarity_client: ClarityClient, clarity_sim: SimulatorThread
) -> None:
    agent_id, found = await find_session(clarity_client, clarity_sim)
    assert found.agent_id == agent_id
    assert found.modality in {"audio", "instantMessage", "message"}
    assert found.start_time is not None and found.start_time.tzinfo is not None

    bare = await clarity_client.session(found.session_id)
    assert bare.session_id == found.session_id
    # Nothing was asked for: every include section is None.
    assert bare.customer_history is None
    assert bare.session_event_history is None
    assert bare.extra_items is None

    full = await clarity_client.session(
        found.session_id, include_all=True, customer_history_limit=2
    )
    assert full.customer_history is not None and len(full.customer_history) <= 2
    assert full.session_event_history  # a live session has a history of events
    assert full.call_dispositions is not None
    assert full.extra_items is not None
    assert full.hold_timer_threshold is not None

    transcript = await clarity_client.transcript(found.session_id)
    assert all(m.time_stamp is None or m.time_stamp.tzinfo for m in transcript)

    gruu = await clarity_client.gruu(found.session_id)
    assert gruu.startswith("sip:")

    history = await clarity_client.customer_history(found.session_id)
    assert all(h.customer_id == found.customer_id for h in history)
    now = datetime.now(UTC) + timedelta(days=2)
    limited = await clarity_client.customer_history(found.session_id, end=now, limit=1)
    assert len(limited) <= 1
    since = await clarity_client.customer_history(found.session_id, start=now)
    assert since == ()


async def test_session_writes_are_kept(
    clarity_client: ClarityClient, clarity_sim: SimulatorThread
) -> None:
    _, found = await find_session(clarity_client, clarity_sim)
    sid = found.session_id

    await clarity_client.set_call_notes(sid, "Customer asked for a callback")
    await clarity_client.set_extra_item(sid, name="Subject", value="refund")
    options = await clarity_client.session(sid, include_dispositions=True)
    assert options.call_dispositions, "the session's business unit has dispositions"
    disposition = options.call_dispositions[0]
    sub = (
        disposition.sub_dispositions[0].sub_disposition_id if disposition.sub_dispositions else None
    )
    await clarity_client.set_dispositions(sid, disposition.disposition_id, sub)

    after = await clarity_client.session(sid, include_extra_items=True)
    assert after.call_note == "Customer asked for a callback"
    assert after.extra_items is not None
    assert ("Subject", "refund") in {(i.key, i.value) for i in after.extra_items}
    assert after.selected_call_disposition is not None
    assert after.selected_call_disposition.id == disposition.disposition_id


async def test_recording_start_and_stop(
    clarity_client: ClarityClient, clarity_sim: SimulatorThread
) -> None:
    agent_id, found = await find_session(clarity_client, clarity_sim)
    started = await clarity_client.start_recording(agent_id)
    assert found.session_id in {s.session_id for s in started}
    for status in started:
        if status.can_be_recorded and not (status.request_denied or status.request_failed):
            assert status.is_recording is True
    stopped = await clarity_client.stop_recording(agent_id)
    for status in stopped:
        if not (status.request_denied or status.request_failed):
            assert status.is_recording is False


async def test_unregister_ends_the_named_sessions(
    clarity_client: ClarityClient, clarity_sim: SimulatorThread
) -> None:
    agent_id, found = await find_session(clarity_client, clarity_sim, status="Active")
    await clarity_client.unregister(
        sip="sip:someone@contoso.example", session_ids=[found.session_id]
    )
    # The call is over: the session is gone from the agent, or on to after-call work.
    remaining = await clarity_client.sessions_by_agent(agent_id)
    statuses = {s.session_id: s.session_status for s in remaining}
    assert statuses.get(found.session_id) != "Active"


async def test_agent_status_update_list_and_suspend(clarity_client: ClarityClient) -> None:
    mbu = await clarity_client.mbu()
    agent_id = mbu.agents[-1].id

    choices = await clarity_client.list_agent_statuses(agent_id)
    assert any(c.agent_status == "available" and c.agent_status_id == 1 for c in choices)
    reasons = [c for c in choices if c.reason_code_id is not None]
    assert reasons and all(c.agent_status_id == wire.UNAVAILABLE for c in reasons)
    reason = reasons[0]

    await clarity_client.update_agent_status(agent_id, "Unavailable", reason.reason_code_id)
    status = await clarity_client.agent_status(agent_id)
    assert status.id == agent_id
    assert status.current_status is not None
    assert status.current_status.agent_status == "unavailable"
    assert status.current_status.reason_code_id == reason.reason_code_id
    assert status.current_status.reason_code_name == reason.reason_code_name

    await clarity_client.set_suspended(agent_id, True)
    suspended = await clarity_client.agent_status(agent_id)
    assert suspended.current_status is not None and suspended.current_status.is_suspended is True
    await clarity_client.set_suspended(agent_id, False)
    await clarity_client.update_agent_status(agent_id, 1)
    back = await clarity_client.agent_status(agent_id)
    assert back.current_status is not None
    assert back.current_status.agent_status == "available"
    assert back.current_status.is_suspended is False

    with pytest.raises(ValueError, match="reason code"):
        await clarity_client.update_agent_status(agent_id, "available", reason.reason_code_id)


async def test_agent_metrics_every_shape(clarity_client: ClarityClient) -> None:
    mbu = await clarity_client.mbu()
    team = next(t for t in mbu.teams if len(t.agent_ids) >= 2)
    a, b = team.agent_ids[:2]

    one = await clarity_client.agent_metrics(a)
    assert one.id == a and one.type == "agent" and one.metrics
    assert one.current_status is not None and one.current_status.agent_status

    status_only = await clarity_client.agent_metrics(a, part="status")
    assert status_only.metrics is None and status_only.current_status is not None
    metrics_only = await clarity_client.agent_metrics(a, part="metrics")
    assert metrics_only.metrics and metrics_only.current_status is None
    sessions_only = await clarity_client.agent_metrics(a, part="sessions")
    assert sessions_only.metrics is None and sessions_only.current_status is None

    filtered = await clarity_client.agent_metrics(
        a, metric_properties=["TakenCount"], status_properties=["agentStatus"]
    )
    assert filtered.metrics
    assert all(set(bag) == {"takenCount"} for bag in filtered.metrics.values())
    assert filtered.current_status is not None
    assert filtered.current_status.start_time is None  # filtered out

    audio = await clarity_client.agent_metrics(a, modalities=["Audio"])
    assert audio.metrics is not None and "instantMessage" not in audio.metrics

    history = await clarity_client.agent_metrics(a, include_status_history=True)
    assert history.status_history is not None
    assert all(h.start_time is not None for h in history.status_history)
    assert one.breakdowns is None  # not asked for
    broken_down = await clarity_client.agent_metrics(a, include_breakdowns=True)
    assert broken_down.breakdowns is not None
    assert all("queueId" in b for b in broken_down.breakdowns)  # keyed by queue id

    many = await clarity_client.agents_metrics([a, b])
    assert {m.id for m in many} == {a, b}
    many_status = await clarity_client.agents_metrics([a, b], part="status")
    assert all(m.metrics is None for m in many_status)

    async def taken_each() -> int:
        singles = await clarity_client.agents_metrics([a, b], metric_properties=["takenCount"])
        return sum(m.metric("audio", "takenCount", 0) for m in singles)

    # The center keeps running: compare only when nothing changed around the aggregate call.
    for _ in range(5):
        before = await taken_each()
        aggregate = await clarity_client.agents_aggregate(agent_ids=[a, b])
        if before == await taken_each():
            break
    assert set(aggregate.entity_ids) == {a, b}
    assert aggregate.metric("audio", "takenCount", 0) == before

    groups = await clarity_client.agents_group(team_ids=[team.id])
    assert [(g.group_type, g.group_id) for g in groups] == [("team", team.id)]
    assert set(groups[0].entity_ids or ()) == set(team.agent_ids)


async def test_queue_metrics_every_shape(clarity_client: ClarityClient) -> None:
    mbu = await clarity_client.mbu()
    q1, q2 = mbu.queues[0].id, mbu.queues[1].id

    one = await clarity_client.queue_metrics(q1)
    assert one.id == q1 and one.type == "queue"
    assert one.metrics and all(m in wire.MODALITIES for m in one.metrics)
    assert isinstance(one.metric(next(iter(one.metrics)), "queuedCount"), int)

    many = await clarity_client.queues_metrics([q1, q2], metric_properties=["queuedCount"])
    assert {m.id for m in many} == {q1, q2}
    assert all(set(bag) == {"queuedCount"} for m in many for bag in (m.metrics or {}).values())

    aggregate = await clarity_client.queues_aggregate(queue_ids=[q1, q2])
    assert set(aggregate.entity_ids) == {q1, q2}

    bu = mbu.business_units[0]
    groups = await clarity_client.queues_group(business_unit_ids=[bu.id])
    assert [(g.group_type, g.group_id) for g in groups] == [("businessUnit", bu.id)]


async def test_localization_specific_server_search_logs(
    clarity_client: ClarityClient, clarity_sim: SimulatorThread
) -> None:
    english = await clarity_client.localization("en-us")
    assert "answeredCount" in english
    french = await clarity_client.localization("fr-fr")
    assert french["answeredCount"] != english["answeredCount"]
    with pytest.raises(ClarityNotFound) as caught:
        await clarity_client.localization("xx-xx")
    assert caught.value.status == 404
    assert caught.value.route == "GET /webapi/api/v2/resources/dashboard/localization/xx-xx"

    server = await clarity_client.specific_server()
    assert server.startswith(clarity_sim.url)

    mbu = await clarity_client.mbu()
    agent = mbu.agents[0]
    assert agent.name
    found = await clarity_client.search(agent.name.split()[-1])
    assert agent.id in {a.agent_id for a in found.agents}
    queue = mbu.queues[0]
    assert queue.name
    found = await clarity_client.search(queue.name)
    assert queue.id in {q.queue_id for q in found.queues}

    await clarity_client.client_logs("dashboard test", log_level="info", component="tests")


async def test_batch_returns_each_status_and_body(clarity_client: ClarityClient) -> None:
    mbu = await clarity_client.mbu()
    answers = await clarity_client.batch(
        [wire.profile(), wire.agent_status(mbu.agents[0].id), wire.session(999_999_999)]
    )
    assert [a.status for a in answers] == [200, 200, 500]
    assert Profile.from_json(answers[0].body).id == int(clarity_client.tokens.agent_id or 0)
    assert wire.AgentStatus.from_json(answers[1].body).id == mbu.agents[0].id


# ---------------------------------------------------------------------------------------------
# subscriptions (with a real hub connection for the connection id)
# ---------------------------------------------------------------------------------------------


async def test_subscriptions_lifecycle(
    clarity_client: ClarityClient, clarity_sim: SimulatorThread
) -> None:
    mbu = await clarity_client.mbu()
    a, b = mbu.agents[0].id, mbu.agents[1].id
    token = await clarity_client.tokens.token()
    async with HubConnection(clarity_client.config.hub_url, token) as hub:
        conn = hub.connection_id
        assert conn

        sub = await clarity_client.subscribe_agents(
            conn, agent_ids=[a, b], include_status_history=True, metric_properties=["answeredCount"]
        )
        snapshot = wire.SubscriptionUpdate.from_json(await hub.next_update(sub))
        assert snapshot.is_snapshot and snapshot.sequence == 1
        assert snapshot.subscription_type == "agents"
        items = snapshot.parsed_items()
        assert {i.id for i in items} == {a, b}
        assert all(isinstance(i, RealtimeData) for i in items)

        await clarity_client.update_subscription(sub, conn, agent_ids=[a])
        resnap = wire.SubscriptionUpdate.from_json(await hub.next_update(sub))
        while not resnap.is_snapshot:  # diffs from before the update may still be in flight
            resnap = wire.SubscriptionUpdate.from_json(await hub.next_update(sub))
        assert {i.id for i in resnap.parsed_items()} == {a}

        await clarity_client.delete_subscription(sub, conn)
        with pytest.raises(ClarityNotFound) as caught:
            await clarity_client.delete_subscription(sub, conn)
        assert caught.value.status == 404

        team = mbu.teams[0]
        bu = mbu.business_units[0]
        kinds = {
            await clarity_client.subscribe_agents_aggregate(
                conn, team_ids=[team.id]
            ): AggregateData,
            await clarity_client.subscribe_agents_group(conn, team_ids=[team.id]): GroupData,
            await clarity_client.subscribe_queues(conn, queue_ids=[mbu.queues[0].id]): RealtimeData,
            await clarity_client.subscribe_queues_aggregate(
                conn, queue_ids=[q.id for q in mbu.queues]
            ): AggregateData,
            await clarity_client.subscribe_queues_group(
                conn, business_unit_ids=[bu.id], modalities=["audio"]
            ): GroupData,
        }
        assert len(kinds) == 5  # five distinct ids
        for sub_id, item_type in kinds.items():
            update = wire.SubscriptionUpdate.from_json(await hub.next_update(sub_id))
            assert update.is_snapshot
            assert all(isinstance(i, item_type) for i in update.parsed_items())

        alerts = await clarity_client.subscribe_alerts(conn)
        update = await hub.next_update(alerts)
        assert update["target"] == wire.HUB_ALERT_UPDATE
        parsed = wire.SubscriptionUpdate.from_json(update, alert=True)
        assert all(isinstance(i, Alert) for i in parsed.parsed_items())


async def test_subscription_errors(clarity_client: ClarityClient) -> None:
    with pytest.raises(ClarityNotFound) as caught:
        await clarity_client.update_subscription("no-such-subscription", "conn", agent_ids=[1])
    assert caught.value.status == 404
    assert caught.value.route == "POST /webapi/api/v2/subscriptions/no-such-subscription"
    assert caught.value.message
    with pytest.raises(ValueError, match="at least one id"):
        await clarity_client.subscribe_agents("conn")
    with pytest.raises(ValueError, match="connection_id"):
        await clarity_client.subscribe_alerts("")


# ---------------------------------------------------------------------------------------------
# authentication against the simulator
# ---------------------------------------------------------------------------------------------


async def test_token_service_is_discovered_from_the_challenge(
    clarity_sim: SimulatorThread,
) -> None:
    config = sim_config(clarity_sim)
    assert not any("webauth" in str(v) for v in vars(config).values())  # nothing configured
    async with ClarityClient(config) as client:
        assert client.tokens.token_url is None
        await client.profile()
        assert client.tokens.token_url == f"{clarity_sim.url}/webauth/token"
        assert client.tokens.renewals == 1
        expires_at = client.tokens.expires_at
        assert expires_at is not None and 3000 < expires_at - time.time() <= 3600


async def test_other_logins_and_domain_prefix(clarity_sim: SimulatorThread) -> None:
    async with ClarityClient(sim_config(clarity_sim, username="CONTOSO\\agent1")) as client:
        me = await client.profile()
        # An agent sees only themselves: anyone else is an MBU denial.
        others = [a.id for a in (await client.mbu()).agents if a.id != me.id]
        assert await client.agent_status(me.id)
        target = others[0] if others else me.id + 1
        with pytest.raises(ClarityUnauthorized) as caught:
            await client.agent_status(target)
        assert caught.value.status == 401
        assert caught.value.route == f"GET /webapi/api/v2/agentStatus/{target}"


async def test_bad_password_is_an_auth_error(
    clarity_sim: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = sim_config(clarity_sim, password="not-the-password")
    async with ClarityClient(config) as client:
        with pytest.raises(ClarityAuthError) as caught:
            await client.profile()
    assert type(caught.value) is ClarityAuthError
    assert caught.value.status == 401
    assert "supervisor" in str(caught.value)
    assert "not-the-password" not in str(caught.value) + repr(caught.value) + caplog.text


async def test_bad_client_id(clarity_sim: SimulatorThread) -> None:
    config = sim_config(clarity_sim, client_id="11111111-2222-3333-4444-555555555555")
    async with ClarityClient(config) as client:
        with pytest.raises(ClarityInvalidClientId) as caught:
            await client.profile()
    assert caught.value.status == 400


async def test_token_mode(clarity_sim: SimulatorThread) -> None:
    async with ClarityClient(sim_config(clarity_sim)) as issuer:
        token = await issuer.tokens.token()
    config = sim_config(clarity_sim, auth="token", token=token, username=None, password=None)
    async with ClarityClient(config) as client:
        profile = await client.profile()
        assert str(profile.id) == client.tokens.agent_id
        assert client.tokens.renewals == 0  # no request to the token service at all
        assert client.tokens.token_url is None

        clarity_sim.call(clarity_sim.sim.expire_tokens)
        with pytest.raises(ClarityUnauthorized) as caught:
            await client.profile()
        assert caught.value.status == 401
        assert caught.value.route == "GET /webapi/api/v2/profile"
        assert "CLARITY_TOKEN" in caught.value.message
        assert client.tokens.renewals == 0


async def test_expiry_mid_use_renews_exactly_once(clarity_sim: SimulatorThread) -> None:
    async with ClarityClient(sim_config(clarity_sim)) as client:
        before_token = await client.tokens.token()
        await client.profile()
        before = client.tokens.renewals
        clarity_sim.call(clarity_sim.sim.expire_tokens)
        await client.profile()
        assert client.tokens.renewals == before + 1
        assert await client.tokens.token() != before_token


async def test_concurrent_calls_after_expiry_share_one_renewal(
    clarity_sim: SimulatorThread,
) -> None:
    async with ClarityClient(sim_config(clarity_sim)) as client:
        # From cold: twenty first calls, one token request.
        await asyncio.gather(*(client.profile() for _ in range(20)))
        assert client.tokens.renewals == 1

        clarity_sim.call(clarity_sim.sim.expire_tokens)
        results = await asyncio.gather(*(client.profile() for _ in range(20)))
        assert len({p.id for p in results}) == 1
        assert client.tokens.renewals == 2


async def test_renews_before_expiry(clarity_sim: SimulatorThread) -> None:
    now = [time.time()]
    async with ClarityClient(sim_config(clarity_sim), clock=lambda: now[0]) as client:
        await client.profile()
        expires_at = client.tokens.expires_at
        assert expires_at is not None
        # 1 h token: renewal is due 360 s (10 %) before expiry, not at 400 s.
        now[0] = expires_at - 400
        await client.profile()
        assert client.tokens.renewals == 1
        now[0] = expires_at - 300
        await client.profile()
        assert client.tokens.renewals == 2


# ---------------------------------------------------------------------------------------------
# retries and errors against the simulator
# ---------------------------------------------------------------------------------------------


async def test_get_is_retried_on_5xx_until_it_succeeds(clarity_sim: SimulatorThread) -> None:
    sleeps = Sleeps()
    async with ClarityClient(sim_config(clarity_sim), sleep=sleeps) as client:
        await client.profile()  # get the token first
        clarity_sim.call(clarity_sim.sim.fail_route, r"/v2/profile$", count=2)
        profile = await client.profile()
        assert profile.id
        assert len(sleeps.delays) == 2  # two failures, third attempt succeeded


async def test_get_gives_up_after_the_attempts(clarity_sim: SimulatorThread) -> None:
    sleeps = Sleeps()
    async with ClarityClient(sim_config(clarity_sim), sleep=sleeps) as client:
        await client.profile()
        clarity_sim.call(clarity_sim.sim.fail_route, r"/v2/profile$", count=5)
        with pytest.raises(ClarityServerError) as caught:
            await client.profile()
        assert caught.value.status == 500
        assert caught.value.route == "GET /webapi/api/v2/profile"
        assert len(sleeps.delays) == 2


async def test_metrics_post_filter_is_retried(clarity_sim: SimulatorThread) -> None:
    async with ClarityClient(sim_config(clarity_sim)) as client:
        mbu = await client.mbu()
        agent = mbu.agents[0].id
        clarity_sim.call(
            clarity_sim.sim.fail_route, rf"/v2/metrics/agents/{agent}$", count=2, method="POST"
        )
        data = await client.agent_metrics(agent, metric_properties=["takenCount"])
        assert data.id == agent


async def test_post_action_is_not_retried(clarity_sim: SimulatorThread) -> None:
    async with ClarityClient(sim_config(clarity_sim)) as client:
        mbu = await client.mbu()
        agent = mbu.agents[2].id
        clarity_sim.call(clarity_sim.sim.fail_route, r"/agentStatus/update/", count=1)
        with pytest.raises(ClarityServerError) as caught:
            await client.set_suspended(agent, False)
        assert caught.value.route == f"POST /webapi/api/v2/agentStatus/update/{agent}"
        # The single failure was used up by the one attempt: a retry would have succeeded.
        await client.set_suspended(agent, False)


async def test_errors_carry_status_route_and_message(clarity_client: ClarityClient) -> None:
    # seed: a session id with no active session answers 500 (after retries: a GET).
    with pytest.raises(ClarityServerError) as caught:
        await clarity_client.session(999_999_999, include_customer_history=True)
    error = caught.value
    assert error.status == 500
    assert error.route == "GET /webapi/api/v2/sessions/999999999"  # no query string
    assert error.message
    assert str(error) == f"GET /webapi/api/v2/sessions/999999999 -> 500: {error.message}"


async def test_client_side_validation(clarity_client: ClarityClient) -> None:
    t = datetime(2016, 6, 15, 5, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        await clarity_client.search("")
    with pytest.raises(ValueError):
        await clarity_client.search("   ")
    with pytest.raises(ValueError, match="limit alone"):
        await clarity_client.customer_history(1, limit=10)
    with pytest.raises(ValueError, match="together"):
        await clarity_client.customer_history(1, start=t, end=t, limit=10)
    with pytest.raises(ValueError):
        await clarity_client.transcript(1, start=t, end=t, size=5)
    with pytest.raises(ValueError):
        await clarity_client.transcript(1, size=5)
    with pytest.raises(ValueError):
        await clarity_client.session(1, customer_history_limit=3)
    with pytest.raises(ValueError):
        await clarity_client.session(1, include_customer_history=True, customer_history_limit=51)
    with pytest.raises(ValueError):
        await clarity_client.client_logs("")
    with pytest.raises(ValueError):
        await clarity_client.set_extra_item(1, value="x")
    with pytest.raises(ValueError):
        await clarity_client.agents_metrics([])
    with pytest.raises(ValueError):
        await clarity_client.agent_metrics(1, modalities=["fax"])
    with pytest.raises(ValueError):
        await clarity_client.update_agent_status(1, "dancing")


async def test_nothing_secret_is_logged(
    clarity_sim: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = sim_config(clarity_sim, password="demo")
    async with ClarityClient(config) as client:
        await client.profile()
        clarity_sim.call(clarity_sim.sim.expire_tokens)
        await client.profile()
        token = await client.tokens.token()
        assert token not in caplog.text
        assert token not in repr(client.tokens) + repr(client)
        assert "Basic " not in caplog.text
        assert "demo" not in repr(config)


# ---------------------------------------------------------------------------------------------
# httpx.MockTransport: what the simulator cannot produce
# ---------------------------------------------------------------------------------------------

REMOTE = "https://connect.example.com"
TOKEN_URL = "https://auth.example.com/webauth/token"
KEY = "unit-test-signing-key-" + "0123456789abcdef" * 4
PROFILE = {"type": "agent", "id": 15, "teamId": 1, "name": "Peter Miller"}


def make_token(
    agent: str = "15", ttl: int = 3600, *, key: str | None = KEY, alg: str = "HS256"
) -> str:
    now = int(time.time())
    claims = {
        "connect_agent_id": agent,
        "iss": TOKEN_URL,
        "aud": "0224C392-3845-4AC0-B1A0-D63706181BA7",
        "exp": now + ttl,
        "nbf": now,
    }
    return jwt.encode(claims, key, algorithm=alg)


def remote_config(**overrides: Any) -> ClarityConfig:
    base = ClarityConfig(
        url=REMOTE,
        auth="basic",
        username="svc-dashboard",
        password="s3cret!",
        retry=RetryPolicy(attempts=3, base=0.2, cap=2.0),
    )
    return replace(base, **overrides) if overrides else base


class FakeServer:
    """A scripted Connect server: the info challenge, a token service, and API routes."""

    def __init__(self) -> None:
        self.api: dict[str, Any] = {"/webapi/api/v2/profile": PROFILE}
        self.requests: list[httpx.Request] = []
        self.token_requests = 0
        self.token = make_token()
        self.api_handler: Any = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/webauth/token":
            self.token_requests += 1
            return httpx.Response(200, json={"access_token": self.token, "token_type": "bearer"})
        if "authorization" not in request.headers:
            return httpx.Response(
                401, headers={"WWW-Authenticate": f'{TOKEN_URL},grant_type="{wire.GRANT_TYPE}"'}
            )
        if self.api_handler is not None:
            return self.api_handler(request)
        body = self.api.get(request.url.path)
        return httpx.Response(200, json=body) if body is not None else httpx.Response(404)


def mock_client(handler: Any, **kwargs: Any) -> tuple[ClarityClient, Sleeps]:
    sleeps = Sleeps()
    config = kwargs.pop("config", None) or remote_config()
    client = ClarityClient(config, transport=httpx.MockTransport(handler), sleep=sleeps, **kwargs)
    return client, sleeps


def ntlm_challenge() -> bytes:
    """A minimal NTLM type-2 (CHALLENGE) message, as a Windows server sends."""
    target = "CONTOSO".encode("utf-16-le")

    def av(kind: int, value: bytes) -> bytes:
        return struct.pack("<HH", kind, len(value)) + value

    info = av(2, target) + av(1, "CONNECT01".encode("utf-16-le")) + av(0, b"")
    flags = 0x00000001 | 0x00000004 | 0x00000200 | 0x00080000 | 0x00800000 | 0x02000000
    flags |= 0x20000000 | 0x80000000
    offset = 56
    message = b"NTLMSSP\x00" + struct.pack("<I", 2)
    message += struct.pack("<HHI", len(target), len(target), offset)
    message += struct.pack("<I", flags) + b"\x01\x23\x45\x67\x89\xab\xcd\xef" + b"\x00" * 8
    message += struct.pack("<HHI", len(info), len(info), offset + len(target))
    message += b"\x0a\x00\x63\x45\x00\x00\x00\x0f"
    return message + target + info


def ntlm_field(message: bytes, at: int) -> str:
    length, _, offset = struct.unpack("<HHI", message[at : at + 8])
    return message[offset : offset + length].decode("utf-16-le")


async def test_ntlm_handshake_three_legs() -> None:
    legs: list[str] = []
    server = FakeServer()
    inner = server.__call__

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/webauth/token":
            return inner(request)
        auth = request.headers.get("authorization")
        body = dict(httpx.QueryParams(request.content.decode()))
        assert body == {
            "grant_type": wire.GRANT_TYPE,
            "client_id": "0224C392-3845-4AC0-B1A0-D63706181BA7",
        }
        assert request.headers["accept"] == "application/json"
        if auth is None:
            legs.append("anonymous")
            return httpx.Response(401, headers={"WWW-Authenticate": "NTLM"})
        scheme, _, blob = auth.partition(" ")
        assert scheme == "NTLM"
        message = base64.b64decode(blob)
        assert message[:8] == b"NTLMSSP\x00"
        kind = struct.unpack("<I", message[8:12])[0]
        if kind == 1:
            legs.append("negotiate")
            challenge = base64.b64encode(ntlm_challenge()).decode()
            return httpx.Response(401, headers={"WWW-Authenticate": f"NTLM {challenge}"})
        assert kind == 3
        legs.append(f"authenticate {ntlm_field(message, 28)}\\{ntlm_field(message, 36)}")
        return inner(request)

    config = remote_config(auth="ntlm", username="CONTOSO\\svc-dashboard")
    client, _ = mock_client(handler, config=config)
    async with client:
        profile = await client.profile()
    assert profile.id == 15
    assert legs == ["anonymous", "negotiate", "authenticate CONTOSO\\svc-dashboard"]
    assert client.tokens.renewals == 1


async def test_network_errors_become_unavailable_after_retries() -> None:
    server = FakeServer()
    calls = {"n": 0}

    def api(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        raise httpx.ConnectError("connection refused", request=request)

    server.api_handler = api
    client, sleeps = mock_client(server)
    async with client:
        with pytest.raises(ClarityUnavailable) as caught:
            await client.profile()
        assert calls["n"] == 3
        assert len(sleeps.delays) == 2
        # Full jitter: each delay lies in [0, min(cap, base * 2^n)].
        assert 0 <= sleeps.delays[0] <= 0.2 and 0 <= sleeps.delays[1] <= 0.4
        assert caught.value.route == "GET /webapi/api/v2/profile"

        calls["n"] = 0
        with pytest.raises(ClarityUnavailable):
            await client.set_call_notes(5, "hello")
        assert calls["n"] == 1  # an action is never retried


async def test_timeouts_become_unavailable() -> None:
    server = FakeServer()

    def api(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    server.api_handler = api
    client, sleeps = mock_client(server)
    async with client:
        with pytest.raises(ClarityUnavailable, match="timed out"):
            await client.mbu()
    assert len(sleeps.delays) == 2


async def test_5xx_storm_exhausts_retries_with_backoff() -> None:
    server = FakeServer()
    server.api_handler = lambda request: httpx.Response(503, json={"message": "Service busy"})
    client, sleeps = mock_client(server, config=remote_config(retry=RetryPolicy(5, 0.5, 1.0)))
    async with client:
        with pytest.raises(ClarityServerError) as caught:
            await client.info()
    assert caught.value.status == 503
    assert caught.value.message == "Service busy"
    assert caught.value.route == "GET /webapi/api/info"
    assert len(sleeps.delays) == 4
    assert all(0 <= d <= c for d, c in zip(sleeps.delays, (0.5, 1.0, 1.0, 1.0), strict=True))


async def test_malformed_answers_are_protocol_errors() -> None:
    server = FakeServer()
    server.api_handler = lambda request: httpx.Response(200, text="<html>oops</html>")
    client, _ = mock_client(server)
    async with client:
        with pytest.raises(ClarityProtocolError) as caught:
            await client.profile()
        assert caught.value.route == "GET /webapi/api/v2/profile"

        server.api_handler = lambda request: httpx.Response(200, json={"name": "no id"})
        with pytest.raises(ClarityProtocolError, match="'id'"):
            await client.profile()

        server.api_handler = lambda request: httpx.Response(200, json={"id": "fifteen"})
        with pytest.raises(ClarityProtocolError):
            await client.profile()


async def test_gzip_answers_are_decoded() -> None:
    server = FakeServer()

    def api(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept-encoding"] == "gzip"
        assert request.headers["accept"] == "application/json"
        assert request.headers["authorization"] == f"Bearer {server.token}"
        body = gzip.compress(json.dumps(PROFILE).encode())
        return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})

    server.api_handler = api
    client, _ = mock_client(server)
    async with client:
        assert (await client.profile()).name == "Peter Miller"

        server.api_handler = lambda request: httpx.Response(
            200, content=b"not gzip at all", headers={"Content-Encoding": "gzip"}
        )
        with pytest.raises(ClarityProtocolError, match="decoded"):
            await client.profile()


async def test_401_without_challenge_is_a_denial_without_renewal() -> None:
    server = FakeServer()
    server.api_handler = lambda request: httpx.Response(401, json={"message": "Not in your MBU"})
    client, _ = mock_client(server)
    async with client:
        with pytest.raises(ClarityUnauthorized, match="Not in your MBU"):
            await client.agent_status(7)
    assert server.token_requests == 1


async def test_a_second_401_after_renewal_is_unauthorized() -> None:
    server = FakeServer()
    challenge = {"WWW-Authenticate": f'{TOKEN_URL},grant_type="{wire.GRANT_TYPE}"'}
    server.api_handler = lambda request: httpx.Response(401, headers=challenge)
    client, _ = mock_client(server)
    async with client:
        with pytest.raises(ClarityUnauthorized) as caught:
            await client.profile()
    assert caught.value.status == 401
    assert server.token_requests == 2  # the first token, one renewal, no more


async def test_redirects_are_not_followed() -> None:
    server = FakeServer()
    server.api_handler = lambda request: httpx.Response(
        302, headers={"Location": "https://evil.example.com/"}
    )
    client, _ = mock_client(server)
    async with client:
        with pytest.raises(ClarityError) as caught:
            await client.profile()
    assert caught.value.status == 302
    assert all(r.url.host != "evil.example.com" for r in server.requests)


async def test_query_strings_keep_the_seeds_commas() -> None:
    server = FakeServer()
    seen: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[{"type": "agent", "id": 41}, {"type": "agent", "id": 37}])

    server.api_handler = api
    client, _ = mock_client(server)
    async with client:
        await client.agents_metrics([41, 37])
    assert seen == [f"{REMOTE}/webapi/api/v2/metrics/agents?agentIds=41,37"]


async def test_token_signature_checked_with_the_shared_key() -> None:
    server = FakeServer()
    client, _ = mock_client(server, config=remote_config(jwt_key=KEY))
    async with client:
        assert (await client.profile()).id == 15

    server = FakeServer()
    client, _ = mock_client(
        server, config=remote_config(jwt_key="another-key-entirely-" + "0" * 64)
    )
    async with client:
        with pytest.raises(ClarityAuthError, match="signature"):
            await client.profile()


@pytest.mark.parametrize("alg", ["HS512", "none"])
async def test_tokens_signed_otherwise_than_hs256_are_refused(alg: str) -> None:
    server = FakeServer()
    server.token = make_token(alg=alg, key=KEY if alg != "none" else None)
    client, _ = mock_client(server)
    async with client:
        with pytest.raises(ClarityProtocolError, match="HS256"):
            await client.profile()


async def test_request_headers_and_bodies_on_the_wire() -> None:
    server = FakeServer()
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [], "count": 0})

    server.api_handler = api
    client, _ = mock_client(server)
    async with client:
        assert await client.start_recording(5) == ()
        await client.set_call_notes(18, "Called back")
        await client.delete_subscription("abc123", "conn-1")
    recording, notes, delete = seen
    # seed: POSTs carry Content-Type: application/json, even without a body.
    assert (recording.method, recording.content) == ("POST", b"")
    assert recording.headers["content-type"] == "application/json"
    assert (notes.method, notes.url.path) == ("GET", "/webapi/api/v2/sessions/18/setcallnotes")
    assert json.loads(notes.content) == {"note": "Called back"}
    assert delete.method == "DELETE" and json.loads(delete.content) == {"connectionId": "conn-1"}

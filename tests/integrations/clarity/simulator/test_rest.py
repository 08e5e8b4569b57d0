"""The simulator's REST API over real sockets: every route of the vendor document, its samples'
shapes and every failure rule it names (400/401/404/500), MBU authorization, gzip, ASP.NET-style
routing (case, trailing slash, 404/405), the batch endpoint and the effects of actions.

Logins: `agent1` sees only itself; `lead1` sees team 1 (and team 1's queues); `supervisor1`
sees business unit 1 (teams 1, 3, 5); `supervisor` sees everything. Tests that change state use
agents nobody else here relies on (19, 25, 31, 7) or sessions picked for that test alone.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
import jwt
import pytest

from integrations.clarity.simulator.model import REASON_CODES, ContactCenter
from integrations.clarity.simulator.server import SimulatorThread

from .conftest import TokenFactory

API = "/webapi/api"
TEAM1 = [1, 7, 13, 19, 25, 31, 37, 43, 49, 55]
SESSION_BASE_FIELDS = {"sessionId", "sessionType", "queueName", "queueId", "customerId",
                       "customerName", "customerPhone", "agentId", "agentName", "modalityId",
                       "modality", "startTimeStamp", "callFlowName", "callFlowId"}
MODEL_SESSION_FIELDS = SESSION_BASE_FIELDS | {
    "isRecording", "canBeRecorded", "isSilentJoined", "isWhisperJoined", "sessionStatus",
    "queuedMs", "activeMs", "canBeSilentJoined", "canBeWhisperJoined", "isOnHold",
    "recordingStartTime", "answeredTimeStamp", "sessionHasEnded", "agents", "offers"}


class Bearer(httpx.Auth):
    def __init__(self, get: Callable[[], str]) -> None:
        self.get = get

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = "Bearer " + self.get()
        yield request


Api = Callable[[str], httpx.Client]


@pytest.fixture(scope="module")
def api(simulator: SimulatorThread, token: TokenFactory) -> Iterator[Api]:
    """`api("lead1").get("v2/profile")`: a client on the API root, authenticated as that login."""
    clients: dict[str, httpx.Client] = {}

    def get(login: str) -> httpx.Client:
        if login not in clients:
            clients[login] = httpx.Client(base_url=simulator.url + API, timeout=15,
                                          auth=Bearer(lambda: token(login)),
                                          headers={"Accept": "application/json"})
        return clients[login]

    yield get
    for client in clients.values():
        client.close()


def on_model(simulator: SimulatorThread, fn: Callable[[ContactCenter], Any]) -> Any:
    """Read the model on the server's own loop (it is not thread-safe)."""
    return simulator.call(lambda: fn(simulator.sim.cc))


def stamp(iso_text: str) -> float:
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


def seed_format(t: float) -> str:
    """The seed's odd timestamp format: `2016-6-15 5:30:00.15`."""
    dt = datetime.fromtimestamp(t, tz=UTC)
    return (f"{dt.year}-{dt.month}-{dt.day} {dt.hour}:{dt.minute:02d}:{dt.second:02d}."
            f"{dt.microsecond // 10_000:02d}")


def iso_format(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds")


def message(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"message"}, body
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def newest_live_session(cc: ContactCenter, *, queues: set[int] | None = None,
                        exclude_agents: set[int] | frozenset[int] = frozenset(),
                        recordable: bool | None = None) -> tuple[int, int]:
    """(session id, primary agent id) of the Active session answered last: the one least
    likely to end while a test works on it."""
    candidates = [s for s in cc.sessions.values()
                  if s.status == "Active" and s.primary_agent_id is not None
                  and s.primary_agent_id not in exclude_agents
                  and (queues is None or s.queue_id in queues)
                  and (recordable is None or s.can_be_recorded == recordable)]
    assert candidates, "the simulator has no live session to test with"
    best = max(candidates, key=lambda s: s.active_since or 0)
    return best.id, best.primary_agent_id  # type: ignore[return-value]


def completed_session(cc: ContactCenter, taken: set[int] | None = None) -> int:
    """A finished session nobody else in this module uses (its fields no longer move)."""
    done = sorted(s.id for s in cc.sessions.values() if s.status == "Completed")
    assert done, "the simulator has no completed session yet"
    for sid in done:
        if taken is None or sid not in taken:
            if taken is not None:
                taken.add(sid)
            return sid
    raise AssertionError("no unused completed session left")


_TAKEN_SESSIONS: set[int] = set()


# --------------------------------------------------------------------------- authentication
def test_no_token_an_invalid_one_or_an_expired_one_gets_the_challenge(
        simulator: SimulatorThread) -> None:
    challenge = f'{simulator.url}/webauth/token,grant_type="urn:connect.auth:windows"'
    expired = jwt.encode({"connect_agent_id": "1", "iss": simulator.url + "/webauth/token",
                          "aud": simulator.sim.config.client_id, "exp": int(time.time()) - 5,
                          "nbf": int(time.time()) - 60}, simulator.sim.config.jwt_key,
                         algorithm="HS256")
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path in (("GET", "/info"), ("GET", "/v2/profile"),
                             ("POST", "/v2/agentStatus/update/1"), ("POST", "/v2/")):
            response = httpx.request(method, simulator.url + API + path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["WWW-Authenticate"] == challenge


# --------------------------------------------------------------------------- info & profile
def test_info(api: Api) -> None:
    response = api("agent1").get("/info")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"connectVersion", "apiVersions", "signalRTransports"}
    assert {"version": "2", "relativeUrl": "/v2"} in body["apiVersions"]
    assert {"version": "1.0", "relativeUrl": "/v1.0"} in body["apiVersions"]
    assert body["signalRTransports"] == ["webSockets"]
    assert [int(p) for p in body["connectVersion"].split(".")] >= [4, 1, 2]


def test_profile_is_the_logged_in_agent(api: Api) -> None:
    body = api("lead1").get("/v2/profile").json()
    assert body["type"] == "agent" and body["id"] == 1001 and body["teamId"] == 1
    for field in ("name", "emailAddress", "localeKey", "enabledModalities",
                  "isDirectProxyEnabled", "isFederatedDeployment", "canMarkSelfAsSuspended",
                  "useSilverlightAgentConsole", "hideRecordButton", "attendantSipUri", "domain",
                  "hideRecordingButton", "discoveryXFrameUrlOverride",
                  "discoveryUserUrlOverride", "agentGRUU", "proxyDirectCalls", "hiddenQueues"):
        assert field in body, field
    assert set(body["enabledModalities"]) <= {"audio", "instantMessage", "message"}
    assert body["hiddenQueues"]["count"] == len(body["hiddenQueues"]["items"])
    assert api("agent1").get("/v2/profile").json()["id"] == 1


def test_mbu_structure_follows_each_logins_scope(api: Api) -> None:
    mine = api("agent1").get("/v2/profile/mbu").json()
    assert [a["id"] for a in mine["agents"]] == [1]
    assert "queues" not in mine  # empty arrays are left out (seed)
    agent = mine["agents"][0]
    assert set(agent) == {"type", "id", "name", "teamId", "canSilentJoin", "canWhisperJoin",
                          "canRecord"}

    lead = api("lead1").get("/v2/profile/mbu").json()
    assert {a["id"] for a in lead["agents"]} == set(TEAM1) | {1001}
    assert [t["id"] for t in lead["teams"]] == [1]
    assert {q["id"] for q in lead["queues"]} == {1, 5, 7}

    bu1 = api("supervisor1").get("/v2/profile/mbu").json()
    assert [t["id"] for t in bu1["teams"]] == [1, 3, 5]
    assert [b["id"] for b in bu1["businessUnits"]] == [1]
    assert all(q["businessUnitId"] == 1 for q in bu1["queues"])

    everything = api("supervisor").get("/v2/profile/mbu").json()
    assert len(everything["teams"]) == 6 and len(everything["businessUnits"]) == 2
    assert {a["id"] for a in everything["agents"]} >= set(range(1, 61))
    team = everything["teams"][0]
    assert {"type", "id", "name", "businessUnitId", "agentIds", "queueIds"} <= set(team)


def test_dashboard_settings(api: Api) -> None:
    body = api("supervisor1").get("/v2/profile/dashboardsettings").json()
    assert set(body) == {"templateId", "templateRevision", "definition",
                         "agentConsoleTemplateId", "agentConsoleTemplateRevision",
                         "agentConsoleDefinition", "attendantEndpoint"}
    assert isinstance(body["templateId"], int) and isinstance(body["templateRevision"], int)
    assert body["agentConsoleTemplateId"] == 0 and body["agentConsoleTemplateRevision"] == 0
    widgets = body["definition"]["widgets"]
    queue_tiles = next(w for w in widgets if w["entityType"] == "queue")
    assert queue_tiles["entityIds"] == [1, 3, 5, 7]   # business unit 1's queues only


# --------------------------------------------------------------------------- routing & encoding
def test_routes_ignore_case_and_a_trailing_slash(simulator: SimulatorThread, api: Api) -> None:
    client = api("supervisor")
    expected = client.get("/v2/agentStatus/19").json()["id"]
    for path in ("/v2/agentstatus/19", "/V2/AGENTSTATUS/19/", "/v2/agentStatus/19/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.json()["id"] == expected
    response = client.get(simulator.url + "/WebAPI/Api/v2/Profile/")
    assert response.status_code == 200 and response.json()["id"] == 2001


def test_unknown_routes_are_404_and_wrong_verbs_405(api: Api) -> None:
    client = api("supervisor")
    for path in ("/v2/nothing", "/v2/agentStatus/abc", "/v2/metrics/queues/status",
                 "/v1.0/profile", "/v2/sessions/18/setextraitem"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "No HTTP resource" in message(response)
    response = client.put("/v2/profile")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert "PUT" in message(response)
    # GET on the update route is not the "by id" route with id "update".
    assert client.get("/v2/agentStatus/update/19").status_code == 405


def test_gzip_when_asked(api: Api) -> None:
    client = api("supervisor")
    zipped = client.get("/v2/profile/mbu", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.json()["agents"]
    plain = client.get("/v2/profile/mbu", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.json()["agents"]
    # The bytes on the wire really are gzip.
    with client.stream("GET", "/v2/profile", headers={"Accept-Encoding": "gzip"}) as raw:
        data = b"".join(raw.iter_raw())
    assert json.loads(gzip.decompress(data))["id"] == 2001


def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    client = api("supervisor")
    for path in ("/v2/agentStatus/update/19", "/v2/clientlogs", "/v2/",
                 "/v2/metrics/agents/19"):
        response = client.post(path, content=b"{not json",
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400, path
        message(response)


# --------------------------------------------------------------------------- sessions
def test_sessions_by_agent(simulator: SimulatorThread, api: Api) -> None:
    _, agent_id = on_model(simulator, newest_live_session)
    response = api("supervisor").get("/v2/sessions",
                                     params={"agentId": agent_id, "activeOnly": "true"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["items"]) >= 1
    for item in body["items"]:
        assert set(item) >= MODEL_SESSION_FIELDS
        assert item["agentId"] == agent_id or any(
            p["agentId"] == agent_id and p["isPrimaryAgent"] for p in item["agents"]["items"])
        assert item["sessionHasEnded"] is False
    # activeOnly defaults to true when left out.
    assert api("supervisor").get("/v2/sessions", params={"agentId": agent_id}).status_code == 200


def test_sessions_by_agent_failures(api: Api) -> None:
    supervisor = api("supervisor")
    response = supervisor.get("/v2/sessions", params={"agentId": 1, "activeOnly": "false"})
    assert response.status_code == 400
    message(response)
    assert supervisor.get("/v2/sessions", params={"activeOnly": "true"}).status_code == 400
    assert supervisor.get("/v2/sessions", params={"agentId": "x"}).status_code == 400
    # MBU: agent1 sees only itself, lead1 only team 1.
    assert api("agent1").get("/v2/sessions", params={"agentId": 1}).status_code == 200
    assert api("agent1").get("/v2/sessions", params={"agentId": 7}).status_code == 401
    assert api("lead1").get("/v2/sessions", params={"agentId": 7}).status_code == 200
    response = api("lead1").get("/v2/sessions", params={"agentId": 2})
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers   # a denial, not a challenge
    message(response)
    # An agent that does not exist is not visible either.
    assert supervisor.get("/v2/sessions", params={"agentId": 99999}).status_code == 401


ALL_FLAGS = ("includeCustomerHistory", "includeImPrompts", "includeIvrData",
             "includeDispositions", "includeCurrentTranscript", "includeExtraItems",
             "includeSessionEventHistory", "includeAftercallOptions", "includeHoldTimerThreshold")


def _customer_with_history(cc: ContactCenter) -> tuple[int, int]:
    """(session id, how many other sessions its customer has) for the busiest customer."""
    customer = max(cc.customers.values(), key=lambda c: len(c.session_ids))
    return customer.session_ids[-1], len(customer.session_ids) - 1


def test_session_by_id_with_every_include_flag(simulator: SimulatorThread, api: Api) -> None:
    session_id, history = on_model(simulator, _customer_with_history)
    assert history >= 4
    client = api("supervisor")
    params = {flag: "true" for flag in ALL_FLAGS}
    body = client.get(f"/v2/sessions/{session_id}", params=params).json()
    assert body["sessionId"] == session_id
    assert set(body) >= MODEL_SESSION_FIELDS
    # Default: three customer history records.
    assert body["customerHistory"]["count"] == 3 == len(body["customerHistory"]["items"])
    assert set(body["customerHistory"]["items"][0]) >= SESSION_BASE_FIELDS
    assert session_id not in [i["sessionId"] for i in body["customerHistory"]["items"]]
    assert set(body["aftercallOptions"]) >= {"isManualAfterCallEnabled", "afterCalltimeSeconds"}
    assert isinstance(body["holdTimerThreshold"], int)
    for listing in ("imPrompts", "ivrData", "callDispositions", "transcript", "extraItems",
                    "sessionEventHistory", "sessionMessages"):
        assert body[listing]["count"] == len(body[listing]["items"]), listing
    assert body["sessionEventHistory"]["items"][0]["eventText"] == "Session created."
    disposition = body["callDispositions"]["items"][0]
    assert {"dispositionId", "disposition", "businessUnitId", "subDispositions"} <= set(disposition)
    assert {"extraItemId", "key", "value", "isSearchable"} <= set(body["extraItems"]["items"][0])

    one = client.get(f"/v2/sessions/{session_id}",
                     params={"includeCustomerHistory": "true", "customerHistoryLimit": "1"})
    assert one.json()["customerHistory"]["count"] == 1
    many = client.get(f"/v2/sessions/{session_id}",
                      params={"includeCustomerHistory": "true", "customerHistoryLimit": "500"})
    assert min(history, 50) <= many.json()["customerHistory"]["count"] <= 50
    # Without the flags the optional parts are null; the limit alone is ignored.
    bare = client.get(f"/v2/sessions/{session_id}", params={"customerHistoryLimit": "1"}).json()
    for part in ("customerHistory", "imPrompts", "ivrData", "callDispositions", "transcript",
                 "extraItems", "sessionEventHistory", "aftercallOptions", "holdTimerThreshold"):
        assert bare[part] is None, part
    bad = client.get(f"/v2/sessions/{session_id}",
                     params={"includeCustomerHistory": "true", "customerHistoryLimit": "x"})
    assert bad.status_code == 400


def test_session_by_id_failures(simulator: SimulatorThread, api: Api) -> None:
    response = api("supervisor").get("/v2/sessions/999999999")
    assert response.status_code == 500   # the seed's rule for an unknown session id
    assert message(response) == "An error has occurred."
    # A session of business unit 2's queues, nobody of team 1 on it.
    session_id, agent_id = on_model(simulator, lambda cc: newest_live_session(
        cc, queues={2, 4, 6, 8}, exclude_agents=set(TEAM1)))
    assert api("supervisor").get(f"/v2/sessions/{session_id}").status_code == 200
    assert api("supervisor1").get(f"/v2/sessions/{session_id}").status_code == 401
    assert api("lead1").get(f"/v2/sessions/{session_id}").status_code == 401
    assert api("agent1").get(f"/v2/sessions/{session_id}").status_code == 401
    assert api(f"agent{agent_id}").get(f"/v2/sessions/{session_id}").status_code == 200
    for suffix in ("/transcript", "/gruu"):
        assert api("agent1").get(f"/v2/sessions/{session_id}{suffix}").status_code == 401
    assert api("agent1").get(
        f"/v2/sessions/customerHistory/{session_id}").status_code == 401


def test_gruu_is_a_json_string(simulator: SimulatorThread, api: Api) -> None:
    session_id, _ = on_model(simulator, newest_live_session)
    response = api("supervisor").get(f"/v2/sessions/{session_id}/gruu")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    gruu = response.json()
    assert isinstance(gruu, str) and gruu.startswith("sip:") and ";gruu" in gruu


def _im_session_with_transcript(cc: ContactCenter) -> tuple[int, list[float]]:
    """An IM session with a few messages, a finished one if possible (it no longer grows)."""
    sessions = [s for s in cc.sessions.values() if len(s.transcript) >= 4]
    assert sessions, "no IM session with a transcript yet"
    best = max(sessions, key=lambda s: (s.has_ended, len(s.transcript)))
    return best.id, [m["time"] for m in best.transcript]


def test_transcript_filters_and_its_400s(simulator: SimulatorThread, api: Api) -> None:
    session_id, times = on_model(simulator, _im_session_with_transcript)
    client = api("supervisor")
    url = f"/v2/sessions/{session_id}/transcript"
    everything = client.get(url).json()
    assert everything["count"] == len(everything["items"]) >= len(times)
    item = everything["items"][0]
    assert set(item) == {"timeStamp", "to", "from", "message", "fromAgent", "type", "id"}
    assert item["type"] == "imMessage"

    middle = (times[1] + times[2]) / 2       # between the 2nd and the 3rd message
    after = client.get(url, params={"startTimestamp": iso_format(middle)}).json()
    assert after["items"] and all(stamp(i["timeStamp"]) >= middle - 0.001
                                  for i in after["items"])
    assert after["count"] == everything["count"] - 2
    # The seed's misspelling works too, and so does the seed's timestamp format.
    assert client.get(url, params={"startTimsetamp": seed_format(middle)}).json() == after
    before = client.get(url, params={"endTimestamp": iso_format(middle)}).json()
    assert [i["id"] for i in before["items"]] == [i["id"] for i in everything["items"][:2]]
    first = client.get(url, params={"startTimestamp": iso_format(times[0] - 1), "size": 1})
    assert [i["id"] for i in first.json()["items"]] == [everything["items"][0]["id"]]
    last = client.get(url, params={"endTimestamp": iso_format(middle), "size": 1})
    assert [i["id"] for i in last.json()["items"]] == [everything["items"][1]["id"]]
    window = client.get(url, params={"startTimestamp": iso_format(times[0] - 1),
                                     "endTimestamp": iso_format(middle)}).json()
    assert window["count"] == 2

    for params in ({"startTimestamp": iso_format(middle), "endTimestamp": iso_format(middle),
                    "size": 1},
                   {"size": 2},
                   {"startTimestamp": "yesterday"}):
        response = client.get(url, params=params)
        assert response.status_code == 400, params
        message(response)


def test_customer_history_follows_the_seeds_combination_table(
        simulator: SimulatorThread, api: Api) -> None:
    session_id, history = on_model(simulator, _customer_with_history)
    client = api("supervisor")
    url = f"/v2/sessions/customerHistory/{session_id}"
    everything = client.get(url).json()        # none: all records (at most 50)
    assert everything["count"] == len(everything["items"]) == min(history, 50)
    starts = [stamp(i["startTimeStamp"]) for i in everything["items"]]
    assert starts == sorted(starts)             # oldest first, as in the seed's sample
    assert session_id not in [i["sessionId"] for i in everything["items"]]
    assert set(everything["items"][0]) >= SESSION_BASE_FIELDS
    ids = [i["sessionId"] for i in everything["items"]]
    # Boundaries halfway between records, in the seed's format and in ISO 8601.
    cut1 = (starts[0] + starts[1]) / 2
    cut2 = (starts[-2] + starts[-1]) / 2

    def get(**params: Any) -> httpx.Response:
        return client.get(url, params=params)

    assert [i["sessionId"] for i in get(start=seed_format(cut1)).json()["items"]] == ids[1:]
    assert [i["sessionId"] for i in get(start=iso_format(cut1)).json()["items"]] == ids[1:]
    assert [i["sessionId"] for i in get(end=seed_format(cut2)).json()["items"]] == ids[:-1]
    between = get(start=seed_format(cut1), end=iso_format(cut2)).json()
    assert [i["sessionId"] for i in between["items"]] == ids[1:-1]
    # start + limit: the first records from start; end + limit: the last ones before end.
    assert [i["sessionId"] for i in get(start=seed_format(cut1), limit=2).json()["items"]] \
        == ids[1:3]
    assert [i["sessionId"] for i in get(end=seed_format(cut2), limit=2).json()["items"]] \
        == ids[-3:-1]
    # Over 50 or under 0: 50 records (all of them here); 0: none.
    assert get(start=seed_format(cut1), limit=500).json()["count"] == len(ids) - 1
    assert get(start=seed_format(cut1), limit=-1).json()["count"] == len(ids) - 1
    assert get(end=seed_format(cut2), limit=0).json()["count"] == 0
    # A date alone, as in the seed's sample request (`end=2016-11-15`).
    assert get(end="2016-11-15").json()["count"] == 0

    for params in ({"start": seed_format(cut1), "end": seed_format(cut2), "limit": 10},
                   {"limit": 10},
                   {"start": "2016-13-45 99:00:00"},
                   {"end": "soon"},
                   {"start": seed_format(cut1), "limit": "ten"}):
        response = get(**params)
        assert response.status_code == 400, params
        message(response)
    assert client.get("/v2/sessions/customerHistory/999999999").status_code == 500


# --------------------------------------------------------------------------- session actions
def test_extra_items_are_saved(simulator: SimulatorThread, api: Api) -> None:
    session_id = on_model(simulator, lambda cc: completed_session(cc, _TAKEN_SESSIONS))
    client = api("supervisor")
    url = f"/v2/sessions/{session_id}/setextraitems"
    response = client.post(url, json={"extraItemName": "Subject", "extraItemValue": "test"})
    assert response.status_code == 204 and response.content == b""
    # The seed shows a GET with a body: that works too, here by id.
    items = client.get(f"/v2/sessions/{session_id}",
                       params={"includeExtraItems": "true"}).json()["extraItems"]["items"]
    subject = next(i for i in items if i["key"] == "Subject")
    assert subject["value"] == "test"
    response = client.request("GET", url, json={"extraItemId": subject["extraItemId"],
                                                "extraItemValue": "changed"})
    assert response.status_code == 204
    items = client.get(f"/v2/sessions/{session_id}",
                       params={"includeExtraItems": "true"}).json()["extraItems"]["items"]
    assert next(i for i in items if i["key"] == "Subject")["value"] == "changed"

    for body in (None, {"extraItemValue": "x"}, {"extraItemName": "Subject"},
                 {"extraItemId": None, "extraItemName": None, "extraItemValue": "x"},
                 {"extraItemId": 987654321, "extraItemValue": "x"}):
        response = client.post(url, content=b"" if body is None else json.dumps(body),
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        message(response)
    assert client.post(url, content=b"null").status_code == 400


def test_call_notes_and_dispositions_are_kept(simulator: SimulatorThread, api: Api) -> None:
    session_id = on_model(simulator, lambda cc: completed_session(cc, _TAKEN_SESSIONS))
    client = api("supervisor")
    note = "Customer asked for a written quote."
    assert client.post(f"/v2/sessions/{session_id}/setcallnotes",
                       json={"note": note}).status_code == 204
    dispositions = client.get(f"/v2/sessions/{session_id}",
                              params={"includeDispositions": "true"}).json()["callDispositions"]
    chosen = dispositions["items"][-1]
    sub = chosen["subDispositions"]["items"][0]
    response = client.post(f"/v2/sessions/{session_id}/setdispositions",
                           json={"dispositionId": chosen["dispositionId"],
                                 "subDispositionId": sub["subDispositionId"]})
    assert response.status_code == 204
    body = client.get(f"/v2/sessions/{session_id}").json()
    assert body["callNote"] == note
    assert body["selectedCallDisposition"] == {"callDispositionId": chosen["dispositionId"],
                                               "name": chosen["disposition"]}
    assert body["selectedCallSubDisposition"] == {"callSubDispositionId": sub["subDispositionId"],
                                                  "name": sub["subDisposition"]}
    # GET with a body, as the seed shows it.
    assert client.request("GET", f"/v2/sessions/{session_id}/setcallnotes",
                          json={"note": "second"}).status_code == 204
    assert client.get(f"/v2/sessions/{session_id}").json()["callNote"] == "second"

    for path, body in (("setcallnotes", None), ("setcallnotes", {}),
                       ("setcallnotes", {"note": ["x"]}),
                       ("setdispositions", None), ("setdispositions", {}),
                       ("setdispositions", {"dispositionId": 99999}),
                       ("setdispositions", {"dispositionId": chosen["dispositionId"],
                                            "subDispositionId": 99999}),
                       ("setdispositions", {"dispositionId": "four"})):
        response = client.post(f"/v2/sessions/{session_id}/{path}",
                               content=b"" if body is None else json.dumps(body))
        assert response.status_code == 400, (path, body)
        message(response)
    assert client.post("/v2/sessions/999999999/setcallnotes",
                       json={"note": "x"}).status_code == 500


def _find_recordable_session(api: Api) -> tuple[int, int]:
    """Through the API, as a client would: an agent the supervisor sees with a live,
    recordable session that is not being recorded yet."""
    client = api("supervisor")
    agent_ids = [a["id"] for a in client.get("/v2/profile/mbu").json()["agents"]
                 if a["id"] not in (19, 25, 31, 7)]
    best: tuple[str, int, int] | None = None
    for agent_id in agent_ids:
        for item in client.get("/v2/sessions", params={"agentId": agent_id}).json()["items"]:
            if (item["sessionStatus"] == "Active" and item["canBeRecorded"]
                    and not item["isRecording"]
                    and (best is None or item["answeredTimeStamp"] > best[0])):
                best = (item["answeredTimeStamp"], agent_id, item["sessionId"])
    assert best is not None, "no live recordable session"
    return best[1], best[2]


def test_recording_starts_and_stops(api: Api) -> None:
    client = api("supervisor")
    for _attempt in range(3):   # the portal refuses 2 % of requests (requestFailed)
        agent_id, session_id = _find_recordable_session(api)
        response = client.post(f"/v2/sessions/callcontrol/startRecordingSessions/{agent_id}")
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == len(body["items"])
        item = next(i for i in body["items"] if i["sessionId"] == session_id)
        assert set(item) == {"sessionId", "isRecording", "canBeRecorded", "requestDenied",
                             "requestFailed"}
        if not item["requestFailed"]:
            break
    assert item["isRecording"] is True and item["requestDenied"] is False
    session = client.get(f"/v2/sessions/{session_id}").json()
    assert session["isRecording"] is True and session["recordingStartTime"]

    response = client.post(f"/v2/sessions/callcontrol/stopRecordingSessions/{agent_id}")
    assert response.status_code == 200
    item = next(i for i in response.json()["items"] if i["sessionId"] == session_id)
    if not item["requestFailed"]:
        assert item["isRecording"] is False
        assert client.get(f"/v2/sessions/{session_id}").json()["isRecording"] is False


def test_recording_authorization(simulator: SimulatorThread, api: Api) -> None:
    for verb in ("start", "stop"):
        path = f"/v2/sessions/callcontrol/{verb}RecordingSessions"
        # agent1 may see itself but may not record; it may not see agent 7 at all.
        assert api("agent1").post(f"{path}/1").status_code == 401
        assert api("agent1").post(f"{path}/7").status_code == 401
        assert api("lead1").post(f"{path}/2").status_code == 401
        assert api("supervisor1").post(f"{path}/2").status_code == 401
        assert api("supervisor").post(f"{path}/99999").status_code == 401
        # GET is not a recording call.
        assert api("supervisor").get(f"{path}/2").status_code == 405
    # An agent on no session: 200 with an empty list (seed). The model keeps moving (leads join
    # sessions, idle agents are offered calls), so an agent found idle may have taken a session
    # by the time the request lands: then the model must show it, and another agent is tried.
    def idle_agent(cc: ContactCenter) -> int:
        busy = {p.agent_id for s in cc.sessions.values()
                if not s.has_ended and s.status in ("Active", "AfterCall")
                for p in s.participations if p.status in ("Accepted", "AfterCall")}
        idle = sorted(a.id for a in cc.agents.values() if a.id not in busy)
        logged_out = [i for i in idle if cc.agents[i].status == "loggedOut"]
        return (logged_out or idle)[0]

    for _attempt in range(5):
        agent_id = on_model(simulator, idle_agent)
        response = api("supervisor").post(
            f"/v2/sessions/callcontrol/stopRecordingSessions/{agent_id}")
        assert response.status_code == 200
        if response.json() == {"items": [], "count": 0}:
            break
        assert on_model(simulator, idle_agent) != agent_id, response.json()
    else:
        raise AssertionError("every idle agent answered with sessions")


def test_unregister_ends_the_callers_visible_sessions(simulator: SimulatorThread,
                                                      api: Api) -> None:
    assert api("supervisor").post("/v2/profile/unregister",
                                  params={"sids": "1,x"}).status_code == 400
    # agent1 cannot end a session it may not see: it is left alone.
    foreign, owner = on_model(simulator, lambda cc: newest_live_session(
        cc, queues={2, 4, 6, 8}, exclude_agents={1, 19, 25, 31, 7}))
    response = api("agent1").post("/v2/profile/unregister",
                                  params={"sip": "sip:agent1@contoso-cc.example", "gruu": "1",
                                          "sids": str(foreign)})
    assert response.status_code == 200
    assert on_model(simulator, lambda cc: cc.sessions[foreign].status) in ("Active",
                                                                         "AfterCall")
    # The session's own agent ends it.
    response = api(f"agent{owner}").post("/v2/profile/unregister",
                                         params={"sip": "x", "gruu": "y",
                                                 "sids": f"{foreign},999999999"})
    assert response.status_code == 200
    status = api("supervisor").get(f"/v2/sessions/{foreign}").json()["sessionStatus"]
    assert status != "Active"


# --------------------------------------------------------------------------- agent status
def test_agent_status_by_agent(api: Api) -> None:
    response = api("lead1").get("/v2/agentStatus/13", params={"currentOnly": "true"})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "agent" and body["id"] == 13 and body["name"]
    status = body["currentStatus"]
    assert {"agentStatus", "agentStatusId", "reasonCodeName", "reasonCodeId", "startTime",
            "isSuspended"} <= set(status)
    assert status["agentStatus"][0].islower()      # camel-cased (seed)
    assert api("lead1").get("/v2/agentStatus/13").status_code == 200  # currentOnly defaults
    response = api("lead1").get("/v2/agentStatus/13", params={"currentOnly": "false"})
    assert response.status_code == 400
    assert "currentOnly=true" in message(response)
    assert api("lead1").get("/v2/agentStatus/2").status_code == 401
    assert api("agent1").get("/v2/agentStatus/7").status_code == 401
    assert api("agent1").get("/v2/agentStatus/1").status_code == 200
    assert api("supervisor1").get("/v2/agentStatus/2").status_code == 401
    assert api("supervisor1").get("/v2/agentStatus/3").status_code == 200


def test_update_agent_status_and_see_it(api: Api) -> None:
    lead = api("lead1")
    response = lead.post("/v2/agentStatus/update/19", json={"agentStatusId": 3,
                                                            "reasonCodeId": 2})
    assert response.status_code == 204 and response.content == b""
    status = lead.get("/v2/agentStatus/19").json()["currentStatus"]
    assert status["agentStatus"] == "unavailable" and status["agentStatusId"] == 3
    assert status["reasonCodeId"] == 2 and status["reasonCodeName"] == REASON_CODES[2]
    # A reason code alone means Unavailable (seed); the seed's lower-case route works.
    assert lead.post("/v2/agentstatus/update/19", json={"reasonCodeId": 1}).status_code == 204
    status = lead.get("/v2/agentStatus/19").json()["currentStatus"]
    assert (status["agentStatusId"], status["reasonCodeId"]) == (3, 1)
    # The metrics routes show the same status.
    metrics_status = lead.get("/v2/metrics/agents/19/status").json()["currentStatus"]
    assert metrics_status["agentStatus"] == "unavailable"
    assert lead.post("/v2/agentStatus/update/19", json={"agentStatusId": 10}).status_code == 204
    assert lead.get("/v2/agentStatus/19").json()["currentStatus"]["agentStatus"] == "beRightBack"


def test_suspension(api: Api) -> None:
    supervisor = api("supervisor")
    assert supervisor.post("/v2/agentStatus/update/25",
                           json={"isSuspended": True}).status_code == 204
    assert supervisor.get("/v2/agentStatus/25").json()["currentStatus"]["isSuspended"] is True
    # An agent may not lift (or set) their own suspension: canMarkSelfAsSuspended is false.
    assert api("agent25").get("/v2/profile").json()["canMarkSelfAsSuspended"] is False
    assert api("agent25").post("/v2/agentStatus/update/25",
                               json={"isSuspended": False}).status_code == 401
    assert supervisor.get("/v2/agentStatus/25").json()["currentStatus"]["isSuspended"] is True
    assert supervisor.post("/v2/agentStatus/update/25",
                           json={"isSuspended": False}).status_code == 204
    assert supervisor.get("/v2/agentStatus/25").json()["currentStatus"]["isSuspended"] is False


def test_agents_set_their_own_status_but_not_others(api: Api) -> None:
    own = api("agent31")
    assert own.post("/v2/agentStatus/update/31", json={"agentStatusId": 7}).status_code == 204
    assert own.get("/v2/agentStatus/31").json()["currentStatus"]["agentStatus"] == \
        "offPhoneActivity"
    assert own.post("/v2/agentStatus/update/19", json={"agentStatusId": 1}).status_code == 401
    assert api("lead1").post("/v2/agentStatus/update/2",
                             json={"agentStatusId": 1}).status_code == 401
    assert api("agent7").post("/v2/agentStatus/update/7",
                              json={"isSuspended": True}).status_code == 401


def test_update_agent_status_400s(api: Api) -> None:
    lead = api("lead1")
    url = "/v2/agentStatus/update/19"
    for body in (None, "null", {}, {"agentStatusId": None, "isSuspended": None},
                 {"agentStatusId": 3, "isSuspended": False},      # both
                 {"agentStatusId": 1, "reasonCodeId": 2},          # reason without Unavailable
                 {"reasonCodeId": 2, "isSuspended": True},
                 {"agentStatusId": 3, "reasonCodeId": 99},         # unknown reason code
                 {"agentStatusId": 2},                             # InCall is the system's
                 {"agentStatusId": 99},
                 {"agentStatusId": "three"},
                 {"isSuspended": "yes"},
                 [1, 2]):
        content = b"" if body is None else body.encode() if isinstance(body, str) \
            else json.dumps(body).encode()
        response = lead.post(url, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        message(response)


def test_list_agent_statuses(api: Api) -> None:
    response = api("agent1").get("/v2/agentStatus/list/1")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["items"])
    available = {"agentStatus": "available", "agentStatusId": 1}
    assert available in body["items"]
    away = [i for i in body["items"] if i["agentStatusId"] == 3 and "reasonCodeId" in i]
    assert {i["reasonCodeId"] for i in away} == set(REASON_CODES)
    assert all(i["reasonCodeName"] == REASON_CODES[i["reasonCodeId"]] for i in away)
    assert api("agent1").get("/v2/agentStatus/list/7").status_code == 401
    assert api("lead1").get("/v2/agentStatus/list/2").status_code == 401


# --------------------------------------------------------------------------- metrics
def test_agent_by_id_and_its_parts(api: Api) -> None:
    client = api("lead1")
    full = client.get("/v2/metrics/agents/13").json()
    assert full["type"] == "agent" and full["id"] == 13 and full["name"]
    assert {"metrics", "sessions", "currentStatus"} <= set(full)
    assert "agnostic" in full["metrics"]
    assert {"ronaCount", "answeredCount", "takenCount"} <= set(full["metrics"]["audio"])
    assert {"total", "average", "count"} <= set(full["metrics"]["agnostic"]["availableTime"])
    assert "statusHistory" not in full and "breakdowns" not in full

    only_metrics = client.get("/v2/metrics/agents/13/metrics").json()
    assert "metrics" in only_metrics
    assert "currentStatus" not in only_metrics and "sessions" not in only_metrics
    only_status = client.get("/v2/metrics/agents/13/status").json()
    assert set(only_status) == {"type", "id", "name", "currentStatus"}
    only_sessions = client.get("/v2/metrics/agents/13/sessions").json()
    assert "sessions" in only_sessions and "metrics" not in only_sessions
    assert all("sessions" in bag for bag in only_sessions["sessions"].values())

    extra = client.get("/v2/metrics/agents/13",
                       params={"includeStatusHistory": "true",
                               "includeBreakdowns": "true"}).json()
    assert isinstance(extra["statusHistory"], list) and isinstance(extra["breakdowns"], list)
    assert all({"agentStatus", "startTime", "endTime"} <= set(h)
               for h in extra["statusHistory"])

    # POST: the body chooses properties, names matched without regard to case.
    filtered = client.post("/v2/metrics/agents/13",
                           json={"metricProperties": ["TakenCount"],
                                 "statusProperties": ["agentStatus"]}).json()
    assert filtered["currentStatus"].keys() == {"agentStatus"}
    assert filtered["metrics"] and all(set(v) == {"takenCount"}
                                       for v in filtered["metrics"].values())
    audio_only = client.get("/v2/metrics/agents/13", params={"modalities": "audio"}).json()
    assert set(audio_only["metrics"]) <= {"audio", "agnostic"}
    assert client.get("/v2/metrics/agents/13",
                      params={"modalities": "fax"}).status_code == 400
    assert client.post("/v2/metrics/agents/13", json=[1]).status_code == 400


def test_multiple_agents(api: Api) -> None:
    client = api("supervisor1")
    items = client.get("/v2/metrics/agents", params={"agentIds": "13,1"}).json()
    assert [i["id"] for i in items] == [13, 1]
    assert all(i["type"] == "agent" and "currentStatus" in i for i in items)
    status_only = client.get("/v2/metrics/agents/status/", params={"agentIds": "13,1"}).json()
    assert [set(i) for i in status_only] == [{"type", "id", "name", "currentStatus"}] * 2
    metrics_only = client.get("/v2/metrics/agents/metrics", params={"agentIds": "13"}).json()
    assert "metrics" in metrics_only[0] and "currentStatus" not in metrics_only[0]
    sessions_only = client.get("/v2/metrics/agents/sessions", params={"agentIds": "13"}).json()
    assert "sessions" in sessions_only[0] and "metrics" not in sessions_only[0]
    by_team = client.get("/v2/metrics/agents", params={"teamIds": "3"}).json()
    assert {i["id"] for i in by_team} == {3, 9, 15, 21, 27, 33, 39, 45, 51, 57, 1003}
    posted = client.post("/v2/metrics/agents?agentIds=13,1",
                         json={"metricProperties": ["takenCount"],
                               "statusProperties": ["agentStatus", "reasonCodeName"]}).json()
    assert all(set(i["currentStatus"]) == {"agentStatus", "reasonCodeName"} for i in posted)


def test_agent_metrics_authorization(api: Api) -> None:
    for path in ("/v2/metrics/agents", "/v2/metrics/agents/metrics",
                 "/v2/metrics/agents/aggregateBy", "/v2/metrics/agents/groupBy"):
        for method in ("GET", "POST"):
            # No entity id: 401 (seed).
            assert api("supervisor").request(method, path).status_code == 401, path
    assert api("supervisor1").get("/v2/metrics/agents/2").status_code == 401
    assert api("supervisor1").get("/v2/metrics/agents",
                                  params={"agentIds": "1,2"}).status_code == 401
    assert api("lead1").get("/v2/metrics/agents", params={"teamIds": "2"}).status_code == 401
    assert api("lead1").get("/v2/metrics/agents/aggregateBy",
                            params={"businessUnitIds": "1"}).status_code == 401
    assert api("agent1").get("/v2/metrics/agents/1").status_code == 200
    assert api("agent1").get("/v2/metrics/agents/7/status").status_code == 401
    assert api("supervisor").get("/v2/metrics/agents/99999").status_code == 401
    assert api("supervisor").get("/v2/metrics/agents",
                                 params={"agentIds": "1,x"}).status_code == 400


def test_aggregate_and_group_agents(api: Api) -> None:
    client = api("supervisor")
    aggregate = client.get("/v2/metrics/agents/aggregateBy",
                           params={"agentIds": "41,37"}).json()
    assert aggregate["entityIds"] == [41, 37] and aggregate["type"] == "agent"
    for _attempt in range(5):    # the centre keeps moving: retry until nothing moved between
        before = [client.get(f"/v2/metrics/agents/{i}/metrics").json() for i in (41, 37)]
        aggregate = client.get("/v2/metrics/agents/aggregateBy",
                               params={"agentIds": "41,37"}).json()
        after = [client.get(f"/v2/metrics/agents/{i}/metrics").json() for i in (41, 37)]
        if before == after:
            break
    assert before == after
    for name in ("offeredCount", "answeredCount", "ronaCount", "totalHandleTime"):
        assert aggregate["metrics"]["audio"][name] == sum(
            s["metrics"]["audio"][name] for s in before), name
    available = [s["metrics"]["agnostic"]["availableTime"] for s in before]
    assert aggregate["metrics"]["agnostic"]["availableTime"]["total"] == sum(
        a["total"] for a in available)
    posted = client.post("/v2/metrics/agents/aggregateBy?agentIds=41,37",
                         json={"metricProperties": ["ronaCount"]}).json()
    assert posted["entityIds"] == [41, 37]
    assert all(set(v) == {"ronaCount"} for v in posted["metrics"].values())

    groups = client.get("/v2/metrics/agents/groupBy",
                        params={"groupIds": "2,3", "teamIds": "2,3"}).json()
    # teamIds win over groupIds (seed's priority: team, group, business unit).
    assert [(g["groupType"], g["groupId"]) for g in groups] == [("team", 2), ("team", 3)]
    assert all(g["type"] == "agent" for g in groups)
    assert set(groups[0]["entityIds"]) == {2, 8, 14, 20, 26, 32, 38, 44, 50, 56, 1002}
    by_group = client.post("/v2/metrics/agents/groupBy?groupIds=1",
                           json={"metricProperties": ["ronaCount"]}).json()
    assert [(g["groupType"], g["groupId"]) for g in by_group] == [("group", 1)]
    by_bu = client.get("/v2/metrics/agents/groupBy", params={"businessUnitIds": "1,2"}).json()
    assert [(g["groupType"], g["groupId"]) for g in by_bu] == [("businessUnit", 1),
                                                              ("businessUnit", 2)]
    assert api("supervisor1").get("/v2/metrics/agents/groupBy",
                                  params={"businessUnitIds": "1,2"}).status_code == 401


def test_queue_metrics_by_symmetry(api: Api) -> None:
    client = api("lead1")
    queue = client.get("/v2/metrics/queues/5").json()
    assert queue["type"] == "queue" and queue["id"] == 5 and queue["name"]
    assert {"metrics", "sessions"} <= set(queue) and "currentStatus" not in queue
    assert {"queuedCount", "longestQueuedTime", "answeredCount"} <= set(queue["metrics"]["audio"])
    assert "metrics" not in client.get("/v2/metrics/queues/5/sessions").json()
    assert "sessions" not in client.get("/v2/metrics/queues/5/metrics").json()
    many = client.get("/v2/metrics/queues", params={"queueIds": "1,7"}).json()
    assert [q["id"] for q in many] == [1, 7]
    assert [q["id"] for q in client.get("/v2/metrics/queues/metrics",
                                        params={"teamIds": "1"}).json()] == [1, 5, 7]
    aggregate = client.post("/v2/metrics/queues/aggregateBy?queueIds=1,5",
                            json={"metricProperties": ["QueuedCount"]}).json()
    assert aggregate["entityIds"] == [1, 5] and aggregate["type"] == "queue"
    assert all(set(v) == {"queuedCount"} for v in aggregate["metrics"].values())
    groups = client.get("/v2/metrics/queues/groupBy", params={"teamIds": "1"}).json()
    assert groups[0]["groupType"] == "team" and groups[0]["entityIds"] == [1, 5, 7]
    # MBU and missing entities.
    assert client.get("/v2/metrics/queues/2").status_code == 401
    assert client.get("/v2/metrics/queues", params={"queueIds": "1,2"}).status_code == 401
    assert client.get("/v2/metrics/queues").status_code == 401
    assert client.get("/v2/metrics/queues/groupBy", params={"queueIds": "1"}).status_code == 401
    assert api("agent1").get("/v2/metrics/queues/1").status_code == 401


def test_specific_server(simulator: SimulatorThread, api: Api) -> None:
    response = api("agent1").get("/v2/metrics/specificserver")
    assert response.status_code == 200
    assert response.json() == simulator.url + "/webapi"


# --------------------------------------------------------------------------- resources & search
def test_localization(api: Api) -> None:
    client = api("agent1")
    english = client.get("/v2/resources/dashboard/localization/en-us")
    assert english.status_code == 200
    strings = english.json()
    assert {"abandonedCount", "abandonedCountDescription", "abandonedCountShort"} <= set(strings)
    french = client.get("/v2/resources/dashboard/localization/FR-FR").json()
    assert french.keys() == strings.keys() and french != strings
    response = client.get("/v2/resources/dashboard/localization/xx-yy")
    assert response.status_code == 404
    message(response)
    # Only the stated route: the seed's sample uses v1.0, which the simulator does not serve.
    assert client.get("/v1.0/resources/dashboard/localization/en-us").status_code == 404


def test_search(api: Api) -> None:
    for path in ("/v2/search/", "/v2/search", "/v2/search/%20"):
        response = api("agent1").get(path)
        assert response.status_code == 400, path
        message(response)
    mine = api("agent1").get("/v2/search/agent").json()
    assert [a["agentId"] for a in mine["agentsFound"]] == [1]
    assert mine["queuesFound"] == []
    assert mine["message"] == "Query 'agent' found 1 agent(s) and 0 queue(s)."
    found = api("supervisor").get("/v2/search/agent1").json()
    assert {a["loginName"] for a in found["agentsFound"]} >= {"agent1", "agent10"}
    first = found["agentsFound"][0]
    assert {"agentId", "firstName", "lastName", "publicName", "loginName", "sipAddress",
            "phoneNumber", "status", "callsAnswered", "ronas", "type", "id"} <= set(first)
    assert first["type"] == "agentSearch"
    queues = api("lead1").get("/v2/search/s").json()["queuesFound"]
    assert {q["queueId"] for q in queues} <= {1, 5, 7} and queues
    assert {"queueId", "queueName", "isOpen", "agentsOnline", "agentsAvailable",
            "estimatedWaitTime", "callsToday", "type", "id"} <= set(queues[0])


def test_client_logs(api: Api, token: TokenFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="integrations.clarity.simulator")
    client = api("lead1")
    response = client.post("/v2/clientlogs/", json={"message": "test", "logLevel": "verbose"})
    assert response.status_code == 200
    response = client.post("/v2/clientlogs", json={"message": "line one\nforged line",
                                                   "logLevel": "error", "sessionId": 2,
                                                   "component": "auth"})
    assert response.status_code == 200
    response = client.post("/v2/clientlogs", json={"message": "no level given"})
    assert response.status_code == 200
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len(
            [r for r in caplog.records if ".clientlogs." in r.name]) < 3:
        time.sleep(0.01)
    records = [r for r in caplog.records if ".clientlogs." in r.name]
    assert [(r.name.rsplit(".", 1)[-1], r.levelno) for r in records] == [
        ("other", logging.DEBUG), ("auth", logging.ERROR), ("other", logging.DEBUG)]
    assert "forged line" in records[1].getMessage() and "\n" not in records[1].getMessage()
    assert "1001" in records[0].getMessage()
    assert token("lead1") not in caplog.text and "Bearer" not in caplog.text

    for body in (None, {}, {"message": ""}, {"message": "   "}, {"message": None},
                 {"message": "x", "logLevel": "loud"}):
        response = client.post("/v2/clientlogs",
                               content=b"" if body is None else json.dumps(body))
        assert response.status_code == 400, body
        message(response)


# --------------------------------------------------------------------------- batch
def test_batch_like_the_seeds_example(simulator: SimulatorThread, api: Api) -> None:
    session_id = on_model(simulator, lambda cc: completed_session(cc, _TAKEN_SESSIONS))
    response = api("agent1").post("/v2/", json=[
        {"method": "POST", "relativeUrl": "../v2/subscriptions/agents/?modalities=2&agentIds=5"},
        {"method": "GET", "relativeUrl": "../v2/profile"},
        {"method": "get", "relativeUrl": "../v2/metrics/agents/7"},
        {"method": "GET", "relativeUrl": "../v2/nothing"},
        {"method": "GET", "relativeUrl": "../../../webauth/token"},
        {"method": "GET", "relativeUrl": "http://example.com/webapi/api/v2/profile"},
        {"method": "GET", "relativeUrl": "../v2/metrics/specificserver"},
    ])
    assert response.status_code == 200
    results = response.json()
    assert [r["code"] for r in results] == [400, 200, 401, 404, 400, 400, 200]
    assert all(set(r) == {"code", "body"} for r in results)
    assert "connectionId" in results[0]["body"]["message"]
    assert results[1]["body"]["id"] == 1 and results[1]["body"]["type"] == "agent"
    assert results[6]["body"] == simulator.url + "/webapi"
    # Bodies are sent; a 204 answers a null body; effects happen in order.
    results = api("supervisor").post("/v2", json=[
        {"method": "POST", "relativeUrl": f"sessions/{session_id}/setcallnotes",
         "body": {"note": "from a batch"}},
        {"method": "GET", "relativeUrl": f"/webapi/api/v2/sessions/{session_id}"},
    ]).json()
    assert results[0] == {"code": 204, "body": None}
    assert results[1]["code"] == 200 and results[1]["body"]["callNote"] == "from a batch"


def test_batch_failures(api: Api) -> None:
    client = api("supervisor")
    for body in ({"method": "GET", "relativeUrl": "../v2/profile"},
                 [{"relativeUrl": "../v2/profile"}],
                 [{"method": "GET"}],
                 [{"method": "GET", "relativeUrl": ""}],
                 ["../v2/profile"],
                 [{"method": "GET", "relativeUrl": "../v2/profile"}] * 51):
        response = client.post("/v2/", json=body)
        assert response.status_code == 400, str(body)[:60]
        message(response)
    assert client.post("/v2/", content=b"").status_code == 400
    # Fifty is fine.
    response = client.post("/v2/", json=[{"method": "GET", "relativeUrl": "../info"}] * 50)
    assert response.status_code == 200
    assert [r["code"] for r in response.json()] == [200] * 50
    # No batch inside a batch.
    nested = client.post("/v2/", json=[{"method": "POST", "relativeUrl": "../v2/",
                                        "body": [{"method": "GET", "relativeUrl": "profile"}]}])
    assert nested.json()[0]["code"] == 400


# --------------------------------------------------------------------------- subscriptions
class Hub:
    """A raw hub connection, enough to hand its connectionId to the subscription routes."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse,
                 connection_id: str) -> None:
        self.session, self.ws, self.connection_id = session, ws, connection_id

    @classmethod
    async def open(cls, simulator: SimulatorThread, access_token: str) -> Hub:
        session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {access_token}"})
        hub_url = simulator.sim.hub_url
        async with session.post(hub_url + "/negotiate?negotiateVersion=1") as response:
            negotiated = await response.json()
        ws = await session.ws_connect(hub_url.replace("http", "ws", 1)
                                      + f"?id={negotiated['connectionToken']}")
        await ws.send_str(json.dumps({"protocol": "json", "version": 1}) + "\x1e")
        assert (await ws.receive_str(timeout=5)) == "{}\x1e"
        return cls(session, ws, negotiated["connectionId"])

    async def update_for(self, subscription_id: str, *,
                         snapshot: bool = True) -> dict[str, Any]:
        """The next message for the subscription (by default the next snapshot)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            text = await self.ws.receive_str(timeout=5)
            for record in filter(None, text.split("\x1e")):
                msg = json.loads(record)
                if (msg.get("type") == 1 and msg["arguments"]
                        and msg["arguments"][0].get("subscriptionId") == subscription_id
                        and (not snapshot or msg["arguments"][0]["isSnapshot"])):
                    return msg
        raise AssertionError(f"no update for {subscription_id}")

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


async def test_subscriptions(simulator: SimulatorThread, token: TokenFactory) -> None:
    lead_token = token("lead1")
    hub = await Hub.open(simulator, lead_token)
    headers = {"Authorization": f"Bearer {lead_token}"}
    body = {"connectionId": hub.connection_id, "metricProperties": ["AnsweredCount"],
            "statusProperties": ["agentStatus", "reasonCodeName"]}
    try:
        async with httpx.AsyncClient(base_url=simulator.url + API + "/v2/subscriptions",
                                     headers=headers, timeout=15) as client:
            created = await client.post("/agents", params={"agentIds": "7,13",
                                                           "modalities": "audio",
                                                           "includeStatusHistory": "true"},
                                        json=body)
            assert created.status_code == 200
            assert created.json().keys() == {"subscriptionId"}
            subscription_id = created.json()["subscriptionId"]
            snapshot = (await hub.update_for(subscription_id))["arguments"][0]
            assert snapshot["subscriptionType"] == "agents" and snapshot["isSnapshot"] is True
            assert {i["id"] for i in snapshot["items"]} == {7, 13}

            kinds = {"/agents/aggregateBy": "agentsAggregate", "/agents/groupBy": "agentsGroup",
                     "/queues": "queues", "/queues/aggregateBy": "queuesAggregate",
                     "/queues/groupBy": "queuesGroup"}
            for path, kind in kinds.items():
                response = await client.post(path, params={"teamIds": "1"}, json=body)
                assert response.status_code == 200, path
                update = await hub.update_for(response.json()["subscriptionId"])
                assert update["arguments"][0]["subscriptionType"] == kind
            alerts = await client.post("/alerts", json={"connectionId": hub.connection_id})
            assert alerts.status_code == 200

            # 400: no body, no connectionId, a connection that is not open, not JSON.
            assert (await client.post("/agents", params={"agentIds": "7"})).status_code == 400
            assert (await client.post("/agents", params={"agentIds": "7"},
                                      json={"metricProperties": []})).status_code == 400
            assert (await client.post("/queues", params={"queueIds": "1"},
                                      json={"connectionId": "closed"})).status_code == 400
            assert (await client.post("/alerts", content=b"{")).status_code == 400
            # 401: no entity id; entities outside the caller's MBU.
            for path in ("/agents", "/agents/aggregateBy", "/agents/groupBy", "/queues",
                         "/queues/aggregateBy", "/queues/groupBy"):
                assert (await client.post(path, json=body)).status_code == 401, path
            assert (await client.post("/agents", params={"agentIds": "2"},
                                      json=body)).status_code == 401
            assert (await client.post("/queues/groupBy", params={"teamIds": "2"},
                                      json=body)).status_code == 401

            # Update (the stated route with a query string) and delete.
            updated = await client.post(f"/{subscription_id}", params={"agentIds": "19"},
                                        json={"metricProperties": ["takenCount"]})
            assert updated.status_code == 204
            again = (await hub.update_for(subscription_id))["arguments"][0]
            assert again["isSnapshot"] is True and [i["id"] for i in again["items"]] == [19]
            assert (await client.post("/no-such-id", json=body)).status_code == 404
            assert (await client.post(f"/{subscription_id}", params={"agentIds": "2"},
                                      json={})).status_code == 401
            # Somebody else's subscription is not accessible.
            other = {"Authorization": f"Bearer {token('supervisor')}"}
            assert (await client.post(f"/{subscription_id}", headers=other,
                                      json={})).status_code == 401
            assert (await client.delete(f"/{subscription_id}",
                                        headers=other)).status_code == 401
            deleted = await client.request("DELETE", f"/{subscription_id}",
                                           json={"connectionId": hub.connection_id})
            assert deleted.status_code == 204
            assert (await client.delete(f"/{subscription_id}")).status_code == 404
            # A DELETE of a literal route is Delete Subscription of that id.
            assert (await client.delete("/agents")).status_code == 404
            assert (await client.get("/agents")).status_code == 405
    finally:
        await hub.close()


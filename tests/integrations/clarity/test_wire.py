"""wire.py against the seed document's own examples.

The JSON samples below are copied from `shared/seeds/clarity-connect-web-api-v2.txt`. Where the
seed's sample is not valid JSON (typographic quotes, a missing comma, a trailing comma, `…` for
"and so on", an unquoted NOTSET), the smallest repair is made and noted; the values and their
types (strings where the seed has strings, mixed case where it mixes case) are kept as printed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from integrations.clarity import wire
from integrations.clarity.errors import ClarityProtocolError
from integrations.clarity.wire import (
    AgentStatus,
    AggregateData,
    Alert,
    ConnectAgentStatus,
    DashboardSettings,
    GroupData,
    Info,
    MbuStructure,
    ModelSession,
    Profile,
    RealtimeData,
    RecordingStatus,
    SearchResult,
    SessionBase,
    SessionById,
    SubscriptionUpdate,
    TranscriptMessage,
)


def seed(text: str) -> Any:
    return json.loads(text)


# ---------------------------------------------------------------------------------------------
# responses: the seed's samples
# ---------------------------------------------------------------------------------------------

INFO = """{
"connectVersion": "4.0.1.0",
"apiVersions": [
{"version": "1.0", "relativeUrl": "/v1.0"},
{"version": "2", "relativeUrl": "/v2"}
],
"signalRTransports": ["webSockets", "serverSentEvents", "longPolling"]
}"""


def test_info() -> None:
    info = Info.from_json(seed(INFO))
    assert info.connect_version == "4.0.1.0"
    assert [(v.version, v.relative_url) for v in info.api_versions] == [
        ("1.0", "/v1.0"),
        ("2", "/v2"),
    ]
    assert info.supports("2") and not info.supports("3")
    assert info.signalr_transports == ("webSockets", "serverSentEvents", "longPolling")


# Repaired: a comma after "agentGRUU", the hidden queue list's "…" dropped, trailing comma.
PROFILE = """{
"type": "agent",
"id": 15,
"teamId": 1,
"name": "Peter Miller",
"emailAddress": "pmiller@ccdev2015.com",
"localeKey": "en-us",
"enabledModalities": ["audio", "instantMessage", "message"],
"isDirectProxyEnabled": false,
"isFederatedDeployment": false,
"canMarkSelfAsSuspended": true,
"useSilverlightAgentConsole": false,
"hideRecordButton": false,
"attendantSipUri": "sip:Connect.41.Attendant@ccdev2015.internal",
"domain": "ccdev2015.internal",
"hideRecordingButton": false,
"discoveryXFrameUrlOverride": "",
"discoveryUserUrlOverride": "false",
"agentGRUU": "1234-ABCD-5678-EFGH",
"proxyDirectCalls": "false",
"hiddenQueues": {
"items": [{"queueId": "-1", "queueName": "Direct Inbound"}],
"count": "2"
}
}"""


def test_profile() -> None:
    profile = Profile.from_json(seed(PROFILE))
    assert (profile.id, profile.team_id, profile.name) == (15, 1, "Peter Miller")
    assert profile.enabled_modalities == ("audio", "instantMessage", "message")
    assert profile.can_mark_self_as_suspended is True
    assert profile.proxy_direct_calls is False  # "false", a string in the sample
    assert profile.discovery_user_url_override == "false"  # a string field, kept as text
    assert profile.agent_gruu == "1234-ABCD-5678-EFGH"
    assert [(q.queue_id, q.queue_name) for q in profile.hidden_queues] == [(-1, "Direct Inbound")]


def test_profile_without_team_and_unknown_fields() -> None:
    data = {**seed(PROFILE), "teamId": -1, "someFutureSetting": 7}
    profile = Profile.from_json(data)
    assert profile.team_id is None  # seed: -1 means "not assigned to a Team"
    assert profile.raw == {"someFutureSetting": 7}


def test_batch_profile_sample_has_fewer_fields() -> None:
    # The batch sample's profile stops at discoveryUserUrlOverride.
    body = {
        "type": "agent", "id": 41, "teamId": 3, "name": "Rob T.", "emailAddress": "rtorres@cc",
        "localeKey": "en-us", "enabledModalities": ["audio", "instantMessage", "message"],
        "isDirectProxyEnabled": True, "discoveryUserUrlOverride": "",
    }  # fmt: skip
    profile = Profile.from_json(body)
    assert profile.id == 41 and profile.hidden_queues == () and profile.agent_gruu is None


# Typographic quotes replaced, "…" entries dropped, "businessUnits" closing quote added.
MBU = """{
"agents": [{"type": "Agent", "id": 1234, "name": "Test", "teamId": 1234,
  "canSilentJoin": true, "canWhisperJoin": false, "canRecord": true}],
"queues": [{"type": "Queue", "id": 1234, "name": "Test", "businessUnitId": 1234,
  "teamIds": [1, 2, 3]}],
"teams": [{"type": "Team", "id": 1234, "name": "Test", "businessUnitId": 1234,
  "groupIds": [1, 2, 3], "agentIds": [1, 2, 3], "queueIds": [1, 2, 3]}],
"groups": [{"type": "Group", "id": 1234, "name": "Test", "teamIds": [1, 2, 3]}],
"businessUnits": [{"type": "Business Unti", "id": 1234, "name": "Test",
  "teamIds": [1, 2, 3], "queueIds": [1, 2, 3]}]
}"""


def test_mbu_structure_with_the_seeds_type_spellings() -> None:
    mbu = MbuStructure.from_json(seed(MBU))
    agent = mbu.agents[0]
    assert (agent.type, agent.id, agent.team_id) == ("agent", 1234, 1234)
    assert (agent.can_silent_join, agent.can_whisper_join, agent.can_record) == (True, False, True)
    assert mbu.queues[0].type == "queue" and mbu.queues[0].team_ids == (1, 2, 3)
    team = mbu.teams[0]
    assert (team.group_ids, team.agent_ids, team.queue_ids) == ((1, 2, 3),) * 3
    assert mbu.groups[0].type == "group"
    assert mbu.business_units[0].type == "businessUnit"  # "Business Unti"
    assert mbu.agent(1234) is agent and mbu.team(1234) is team and mbu.queue(5) is None


def test_mbu_empty_sections_are_left_out() -> None:
    # seed: "If empty it will not be included in the response"
    mbu = MbuStructure.from_json({"agents": [{"type": "agent", "id": 1, "name": "A"}]})
    assert len(mbu.agents) == 1
    assert mbu.queues == mbu.teams == mbu.groups == mbu.business_units == ()
    team = MbuStructure.from_json({"teams": [{"type": "team", "id": 2, "groupId": [4]}]}).teams[0]
    assert team.group_ids == (4,) and team.agent_ids == ()  # the dictionary's "groupId"


def test_mbu_refuses_an_entity_in_the_wrong_list() -> None:
    with pytest.raises(ClarityProtocolError, match="Queue"):
        MbuStructure.from_json({"agents": [{"type": "Queue", "id": 1}]})
    with pytest.raises(ClarityProtocolError, match="'id'"):
        MbuStructure.from_json({"agents": [{"type": "Agent", "name": "no id"}]})


# Typographic quotes replaced; "…" placeholders become empty objects and a string.
DASHBOARD = """{
"templateId": 1,
"templateRevision": "1",
"definition": {},
"agentConsoleTemplateId": 0,
"agentConsoleTemplateRevision": 0,
"agentConsoleDefinition": {},
"attendantEndpoint": "sip:attendant@ccdev2015.internal"
}"""


def test_dashboard_settings() -> None:
    settings = DashboardSettings.from_json(seed(DASHBOARD))
    assert settings.template_id == 1 and settings.template_revision == 1  # "1" coerced
    assert settings.definition == {} and settings.agent_console_template_id == 0


SESSIONS_BY_AGENT = """{
"items": [
{
"queueName": "Jonah Queue", "agentName": "Jonah", "customerPhone": "sip:dg@claritycon.com",
"modality": "InstantMessage", "sessionId": 66033, "sessionType": "Queued", "queueId": 3,
"customerName": "DG", "agentId": 16, "isRecording": true, "canBeRecorded": true,
"isSilentJoined": false, "isWhisperJoined": false, "sessionStatus": "Active", "queuedMs": 0,
"activeMs": 0, "canBeSilentJoined": true, "canBeWhisperJoined": true, "modalityId": 1,
"isOnHold": false, "recordingStartTime": "2016-08-31T17:41:16.967Z",
"answeredTimeStamp": "2016-08-31T17:40:45.9Z", "sessionHasEnded": false,
"startTimeStamp": "2016-08-31T17:40:38.51Z", "callFlowName": "Intro Call Flow"
},
{
"queueName": "Dan Queue", "agentName": "Jonah", "customerPhone": "sip:dq@claritycon.com",
"modality": "InstantMessage", "sessionId": 66045, "sessionType": "Queued", "queueId": 2,
"customerName": "Jonah Ruffer", "agentId": 16, "isRecording": true, "canBeRecorded": true,
"isSilentJoined": false, "isWhisperJoined": false, "sessionStatus": "After Call",
"queuedMs": 0, "activeMs": 0, "canBeSilentJoined": true, "canBeWhisperJoined": true,
"modalityId": 1, "isOnHold": false, "recordingStartTime": "2016-08-31T17:41:16.967Z",
"answeredTimeStamp": "2016-08-31T17:40:45.9Z", "sessionHasEnded": false,
"startTimeStamp": "2016-08-31T17:40:38.51Z", "callFlowName": "Intro Call Flow"
}
],
"count": 2
}"""


def test_sessions_by_agent() -> None:
    items = wire.list_items(seed(SESSIONS_BY_AGENT), "sessions")
    sessions = [ModelSession.from_json(i) for i in items]
    first = sessions[0]
    assert (first.session_id, first.agent_id, first.queue_id) == (66033, 16, 3)
    assert first.modality == "instantMessage" and first.modality_id == 1
    assert first.is_recording is True and first.session_status == "Active"
    assert first.answered_time == datetime(2016, 8, 31, 17, 40, 45, 900000, tzinfo=UTC)
    assert first.start_time == datetime(2016, 8, 31, 17, 40, 38, 510000, tzinfo=UTC)
    assert first.recording_start_time == datetime(2016, 8, 31, 17, 41, 16, 967000, tzinfo=UTC)
    assert sessions[1].session_status == "After Call"
    assert first.agents == () and first.hold_start_time is None


TRANSCRIPT = """{
"items": [{"timeStamp": "2015-07-20T20:28:09.893Z", "to": "Commander William T. Riker",
  "from": "Commander William T. Riker", "message": "1", "fromAgent": false,
  "type": "imMessage", "id": 23}],
"count": 5
}"""


def test_transcript() -> None:
    items = wire.list_items(seed(TRANSCRIPT), "transcript")
    message = TranscriptMessage.from_json(items[0])
    assert message.id == 23 and message.message == "1" and message.from_agent is False
    assert message.from_ == message.to == "Commander William T. Riker"
    assert message.time_stamp == datetime(2015, 7, 20, 20, 28, 9, 893000, tzinfo=UTC)


# The Session by ID sample; a trailing comma after the second extra item removed and the event
# history shortened to three of its nine entries.
SESSION_BY_ID = """{
"customerHistory": {"items": [{"agentId": 16, "agentName": "Jonah", "callFlowId": 1,
  "callFlowName": "Starter Quick Ivr", "customerId": "Jonah Ruffer",
  "customerName": "Jonah Ruffer", "customerPhone": "sip:jruffer@claritycon.com",
  "modality": "InstantMessage", "modalityId": 1, "sessionId": 78580, "sessionType": "Queued",
  "queueId": 3, "queueName": "Jonah Queue", "startTimeStamp": "2016-12-20T21:59:26.107Z"}],
  "count": 1},
"aftercallOptions": {"isManualAfterCallEnabled": true, "afterCalltimeSeconds": 10, "id": 0},
"holdTimerThreshold": 10,
"imPrompts": {"items": [{"promptName": "CustomerName",
  "promptValue": "Welcome Jonah Ruffer to the Call Center!", "type": "imPrompt", "id": 8}],
  "count": 1},
"ivrData": {"items": [{"callFlowName": "Starter Quick Ivr", "ivrNodes": {"items": [
  {"nodeName": "Jonah Empty Queue", "nodeNote": "Set Queue to Jonah Queue.", "duration": 0,
   "type": "ivrNode", "id": 80033}], "count": 1}, "type": "ivrData", "id": 78301}],
  "count": 1},
"callDispositions": {"items": [{"dispositionId": 4, "disposition": "Accounts",
  "businessUnitId": 1, "subDispositions": {"items": [{"subDispositionId": 8,
  "subDisposition": "Pasword Change", "id": 8}], "count": 1}, "type": "callDisposition",
  "id": 4}], "count": 1},
"transcript": {"items": [], "count": 0},
"extraItems": {"items": [
  {"extraItemId": -1, "key": "CallerPhoneNumber", "value": "13128633465;EXT=3465",
   "type": "extraItem", "id": 137957, "isSearchable": false},
  {"extraItemId": -1, "key": "IsCallAfterHours", "value": "False", "type": "extraItem",
   "id": 137958, "isSearchable": false}], "count": 2},
"sessionEventHistory": {"items": [
  {"eventText": "Session created.", "lastUpdated": "2016-12-19T19:06:03.817Z",
   "updatedBy": "APP-01", "id": 186068},
  {"eventText": "Session entered attendant (IVR).", "lastUpdated": "2016-12-19T19:06:05.31Z",
   "updatedBy": "APP-01", "id": 186070},
  {"eventText": "Session terminating.", "lastUpdated": "2016-12-19T19:06:25.743Z",
   "updatedBy": "APP-01", "id": 186076}], "count": 9},
"sessionMessages": {"items": [], "count": 0},
"activeMs": 0, "canBeRecorded": true, "canBeSilentJoined": true, "canBeWhisperJoined": true,
"isOnHold": true, "holdStartTime": "2016-12-19T19:06:15.257Z", "isRecording": false,
"isSilentJoined": false, "isWhisperJoined": false, "queuedMs": 0, "sessionHasEnded": true,
"sessionStatus": "Abandoned", "agents": {"items": [], "count": 0},
"offers": {"items": [], "count": 0}, "agentName": "Unknown", "callFlowId": 1,
"callFlowName": "Starter Quick Ivr", "customerId": "Jonah Ruffer",
"customerName": "Jonah Ruffer", "customerPhone": "sip:jruffer@claritycon.com",
"modality": "Audio", "modalityId": 2, "sessionId": 78520, "sessionType": "Queued",
"queueId": 3, "queueName": "Jonah Queue", "startTimeStamp": "2016-12-19T19:06:03.803Z"
}"""


def test_session_by_id_with_every_section() -> None:
    session = SessionById.from_json(seed(SESSION_BY_ID))
    assert session.session_id == 78520 and session.modality == "audio"  # "Audio"
    assert session.session_status == "Abandoned" and session.session_has_ended is True
    assert session.hold_start_time == datetime(2016, 12, 19, 19, 6, 15, 257000, tzinfo=UTC)
    assert session.agent_id is None and session.agent_name == "Unknown"

    assert session.customer_history is not None
    (past,) = session.customer_history
    assert isinstance(past, SessionBase) and past.session_id == 78580
    assert past.modality == "instantMessage"

    assert session.aftercall_options is not None
    assert session.aftercall_options.is_manual_after_call_enabled is True
    assert session.aftercall_options.after_call_time_seconds == 10
    assert session.hold_timer_threshold == 10
    assert session.im_prompts is not None and session.im_prompts[0].prompt_name == "CustomerName"
    assert session.ivr_data is not None
    assert session.ivr_data[0].nodes[0].node_name == "Jonah Empty Queue"
    assert session.call_dispositions is not None
    disposition = session.call_dispositions[0]
    assert (disposition.disposition_id, disposition.disposition) == (4, "Accounts")
    assert disposition.sub_dispositions[0].sub_disposition == "Pasword Change"
    assert session.transcript == ()
    assert session.extra_items is not None
    assert [i.key for i in session.extra_items] == ["CallerPhoneNumber", "IsCallAfterHours"]
    assert session.session_event_history is not None
    assert session.session_event_history[1].last_updated == datetime(
        2016, 12, 19, 19, 6, 5, 310000, tzinfo=UTC
    )
    assert session.session_messages == ()
    assert session.agents == () and session.offers == ()
    assert session.raw == {}  # every field of the sample is known


def test_session_by_id_sections_null_or_absent_are_none() -> None:
    data = seed(SESSION_BY_ID)
    for key in ("customerHistory", "imPrompts", "ivrData", "callDispositions"):
        data[key] = None
    for key in ("aftercallOptions", "holdTimerThreshold", "transcript", "extraItems",
                "sessionEventHistory", "sessionMessages"):  # fmt: skip
        del data[key]
    session = SessionById.from_json(data)
    assert session.customer_history is None and session.im_prompts is None
    assert session.ivr_data is None and session.call_dispositions is None
    assert session.aftercall_options is None and session.hold_timer_threshold is None
    assert session.transcript is None and session.extra_items is None
    assert session.session_event_history is None and session.session_messages is None


def test_session_by_id_dictionary_spellings() -> None:
    # The dictionary says aftercallConfig and imPropts where the sample says otherwise.
    data = seed(SESSION_BY_ID)
    data["aftercallConfig"] = data.pop("aftercallOptions")
    data["imPropts"] = data.pop("imPrompts")
    session = SessionById.from_json(data)
    assert session.aftercall_options is not None and session.im_prompts is not None


def test_session_participants_and_selected_disposition() -> None:
    data = {
        "sessionId": 10, "modality": "AudioVideo", "modalityId": 2,
        "agents": {"items": [{"agentId": 5, "agentName": "Bob", "agentParticipationTypeId": 1,
            "agentParticipationType": "Agent", "agentParticipationStatusId": 3,
            "agentParticipationStatus": "Accepted", "isPrimaryAgent": True,
            "acceptedTimeStamp": "2016-08-31T17:41:16.967Z", "activeMs": 55000}], "count": 1},
        "offers": {"items": [{"agentId": 7, "agentParticipationStatus": "Offering"}], "count": 1},
        "selectedCallDisposition": {"callDispositionId": 3, "name": "Accounts"},
        "selectedCallSubDisposition": {"callSubDispositionId": 1, "name": "Password Change"},
        "callNote": "Customer was locked out",
    }  # fmt: skip
    session = ModelSession.from_json(data)
    assert session.modality == "audio"
    assert session.agents[0].is_primary_agent is True and session.agents[0].active_ms == 55000
    assert session.offers[0].participation_status == "Offering"
    assert session.selected_call_disposition == wire.SelectedDisposition(3, "Accounts")
    assert session.selected_call_sub_disposition == wire.SelectedDisposition(1, "Password Change")
    assert session.call_note == "Customer was locked out"


def test_session_requires_its_id() -> None:
    with pytest.raises(ClarityProtocolError, match="sessionId"):
        ModelSession.from_json({"modality": "Audio"})


RECORDING = """{"items": [{"sessionId": 100, "isRecording": false, "canBeRecorded": true,
"requestDenied": false, "requestFailed": false}], "count": 1}"""


def test_recording_status() -> None:
    (status,) = (RecordingStatus.from_json(i) for i in wire.list_items(seed(RECORDING), "rec"))
    assert status == RecordingStatus(100, False, True, False, False)


AGENT_STATUS = """{
"type": "agent", "id": 15, "name": "Peter Miller",
"currentStatus": {"agentStatus": "unavailable", "agentStatusId": 3,
  "reasonCodeName": "In A Meeting", "reasonCodeId": 1,
  "startTime": "2016-10-14T13:59:54.993Z", "isSuspended": false}
}"""
# Repaired: the trailing comma after "agentStatusId": 4.
AGENT_STATUS_UNKNOWN = """{"type": "agent", "id": 15,
"currentStatus": {"agentStatus": "unknown", "agentStatusId": 4}}"""


def test_agent_status() -> None:
    status = AgentStatus.from_json(seed(AGENT_STATUS))
    assert (status.id, status.name) == (15, "Peter Miller")
    current = status.current_status
    assert current is not None
    assert (current.agent_status, current.agent_status_id) == ("unavailable", 3)
    assert (current.reason_code_name, current.reason_code_id) == ("In A Meeting", 1)
    assert current.start_time == datetime(2016, 10, 14, 13, 59, 54, 993000, tzinfo=UTC)
    assert current.is_suspended is False and current.end_time is None

    unknown = AgentStatus.from_json(seed(AGENT_STATUS_UNKNOWN))
    assert unknown.name is None
    assert unknown.current_status is not None
    assert unknown.current_status.agent_status == "unknown"


# Typographic quotes replaced; unquoted keys quoted; the "…" dropped.
AGENT_STATUS_LIST = """{
"items": [
{"agentStatus": "Available", "agentStatusId": 1},
{"agentStatus": "Unavailable", "agentStatusId": 3},
{"agentStatus": "Unavailable", "agentStatusId": 3, "reasonCodeName": "On Break",
 "reasonCodeId": "1"},
{"agentStatus": "Unavailable", "agentStatusId": 3, "reasonCodeName": "At Lunch",
 "reasonCodeId": "2"}
],
"count": 10
}"""


def test_list_agent_statuses_with_string_reason_codes() -> None:
    items = wire.list_items(seed(AGENT_STATUS_LIST), "statuses")
    statuses = [ConnectAgentStatus.from_json(i) for i in items]
    assert [s.agent_status for s in statuses] == ["available"] + ["unavailable"] * 3
    assert [s.reason_code_id for s in statuses] == [None, None, 1, 2]  # "1", "2" coerced
    assert statuses[3].reason_code_name == "At Lunch"


@pytest.mark.parametrize(
    ("data", "name", "status_id"),
    [
        ({"agentStatus": "ringOnNoAnswer"}, "ringOnNoAnswer", 8),
        ({"agentStatus": "RingOnNoAnswer"}, "ringOnNoAnswer", 8),
        ({"agentStatusId": 20}, "ringing", 20),
        ({"agentStatus": 14}, "inImCall", 14),  # the Status Model table types it integer
        ({"agentStatus": "somethingNew"}, "somethingNew", None),
    ],
)
def test_agent_status_spellings(data: dict[str, Any], name: str, status_id: int | None) -> None:
    status = ConnectAgentStatus.from_json(data)
    assert (status.agent_status, status.agent_status_id) == (name, status_id)


AGENT_METRICS = """{
"type": "agent",
"metrics": {"audio": {"ronaCount": 0, "answeredCount": 0, "directInboundCallCount": 0,
  "directOutboundCallCount": 0, "longestAfterCallTime": 0, "longestHandleTime": 0}},
"name": "Rob T.",
"id": 41,
"currentStatus": {"agentStatus": "ringOnNoAnswer", "startTime": "2016-10-27T19:56:02.98Z",
  "isSuspended": false}
}"""
# The POST sample for agents 41 and 37 (filtered to takenCount and agentStatus).
AGENTS_FILTERED = """[
{"type": "agent", "metrics": {"instantMessage": {"takenCount": 0}}, "name": "Rob T.", "id": 41,
 "currentStatus": {"agentStatus": "ringOnNoAnswer"}},
{"type": "agent", "metrics": {"instantMessage": {"takenCount": 0}},
 "name": "Commander William T. Riker", "id": 37, "currentStatus": {"agentStatus": "unavailable"}}
]"""


def test_realtime_data() -> None:
    data = RealtimeData.from_json(seed(AGENT_METRICS))
    assert (data.type, data.id, data.name) == ("agent", 41, "Rob T.")
    assert data.metrics == {"audio": seed(AGENT_METRICS)["metrics"]["audio"]}
    assert data.metric("audio", "AnsweredCount") == 0  # names matched without regard to case
    assert data.metric("Audio", "noSuchMetric", "n/a") == "n/a"
    assert data.current_status is not None
    assert data.current_status.start_time == datetime(2016, 10, 27, 19, 56, 2, 980000, tzinfo=UTC)
    assert data.sessions is None and data.status_history is None

    many = [RealtimeData.from_json(i) for i in seed(AGENTS_FILTERED)]
    assert [(m.id, m.metric("instantMessage", "takenCount")) for m in many] == [(41, 0), (37, 0)]
    assert many[1].current_status is not None
    assert many[1].current_status.agent_status == "unavailable"


AGGREGATE = """{"entityIds": [41, 37], "type": "agent",
"metrics": {"audio": {"ronaCount": 0}, "instantMessage": {"ronaCount": 0},
  "message": {"ronaCount": 0}}}"""
# The groupBy sample, with its "…" entries dropped and its trailing commas removed.
GROUPS = """[
{"groupType": "group", "groupId": 2, "entityIds": [], "type": "agent"},
{"groupType": "group", "groupId": 3, "entityIds": [], "type": "agent"},
{"groupType": "group", "groupId": 5, "entityIds": [49, 52], "type": "agent",
 "metrics": {
   "audio": {"ronaCount": 1, "answeredCount": 1},
   "message": {"ronaCount": 0, "currentlyActiveCount": 1},
   "agnostic": {"availableTime": {"total": 13205103, "average": 6602551.5, "count": 2},
                "directInboundTime": {"total": 0, "average": 0, "count": 0}}},
 "sessions": {"message": {"sessions": [{"sessionId": 72331, "sessionType": "queued"}]}}}
]"""


def test_aggregate_and_group_data() -> None:
    aggregate = AggregateData.from_json(seed(AGGREGATE))
    assert aggregate.entity_ids == (41, 37) and aggregate.type == "agent"
    assert aggregate.metrics is not None and set(aggregate.metrics) == set(wire.MODALITIES)

    groups = [GroupData.from_json(g) for g in seed(GROUPS)]
    assert [(g.group_type, g.group_id) for g in groups] == [
        ("group", 2),
        ("group", 3),
        ("group", 5),
    ]
    assert groups[0].entity_ids == () and groups[0].metrics is None
    last = groups[2]
    assert last.entity_ids == (49, 52)
    assert last.metric("agnostic", "availableTime") == {
        "total": 13205103,
        "average": 6602551.5,
        "count": 2,
    }
    assert last.sessions == {
        "message": {"sessions": [{"sessionId": 72331, "sessionType": "queued"}]}
    }

    with pytest.raises(ClarityProtocolError, match="entityIds"):
        AggregateData.from_json({"type": "agent", "metrics": {}})
    with pytest.raises(ClarityProtocolError, match="groupId"):
        GroupData.from_json({"groupType": "team", "type": "agent"})


def test_metric_bag_keys_are_normalised_but_unknown_ones_kept() -> None:
    data = RealtimeData.from_json(
        {"type": "Queue", "id": 3, "metrics": {"AudioVideo": {"queuedCount": 2}, "video": {}}}
    )
    assert data.type == "queue"
    assert data.metrics == {"audio": {"queuedCount": 2}, "video": {}}


BATCH = """[
{"code": 500, "body": {"message": "Failed to subscribe to agents"}},
{"code": 200, "body": {"type": "agent", "id": 41, "teamId": 3, "name": "Rob T."}}
]"""


def test_batch_response() -> None:
    answers = wire.parse_batch(seed(BATCH), 2)
    assert [a.status for a in answers] == [500, 200]
    assert wire.error_message(answers[0].body) == "Failed to subscribe to agents"
    status, body = answers[1]
    assert status == 200 and Profile.from_json(body).name == "Rob T."
    with pytest.raises(ClarityProtocolError):
        wire.parse_batch(seed(BATCH), 3)


# Typographic quotes replaced, keys quoted, NOTSET quoted, the "…" entries dropped.
SEARCH = """{
"agentsFound": [{"agentId": 53, "firstName": "Test", "lastName": "User", "publicName": "Test",
  "loginName": "test.user@domain.com", "sipAddress": "sip:test.user@domain.com",
  "emailAddress": "test.user@domain.com", "phoneNumber": "NOTSET", "status": 4,
  "callsAnswered": 0, "ronas": 0, "type": "agentSearch", "id": 53}],
"queuesFound": [{"queueId": 7, "queueName": "Test's Queue", "isOpen": true, "agentsOnline": 0,
  "agentsAvailable": 0, "estimatedWaitTime": 120, "callsToday": 0, "type": "queueSearch",
  "id": 7}],
"message": "Query 'sip' found 3 agent(s) and 2 queue(s)."
}"""


def test_search() -> None:
    result = SearchResult.from_json(seed(SEARCH))
    agent = result.agents[0]
    assert (agent.agent_id, agent.login_name, agent.status) == (53, "test.user@domain.com", 4)
    queue = result.queues[0]
    assert (queue.queue_id, queue.queue_name, queue.is_open) == (7, "Test's Queue", True)
    assert queue.estimated_wait_time == 120
    assert result.message and result.message.startswith("Query 'sip'")
    # seed: both lists "Can be null".
    empty = SearchResult.from_json({"agentsFound": None, "queuesFound": None, "message": "none"})
    assert empty.agents == () and empty.queues == ()


def test_strings_gruu_and_specific_server() -> None:
    assert wire.parse_string("https://connect.customer.com/webapi", "s") == (
        "https://connect.customer.com/webapi"
    )
    gruu = "sip:app-01.ccdev2015.internal@ccdev2015.internal;gruu;opaque=srvr:connect.40:B7Lao"
    assert wire.parse_string({"gruu": gruu}, "gruu", "gruu") == gruu
    with pytest.raises(ClarityProtocolError):
        wire.parse_string(42, "gruu", "gruu")


LOCALIZATION = """{"abandonedAfterSLACount": "Abandoned After SLA Count",
"abandonedCount": "Abandoned Count"}"""


def test_localization() -> None:
    strings = wire.parse_localization(seed(LOCALIZATION))
    assert strings["abandonedCount"] == "Abandoned Count"
    with pytest.raises(ClarityProtocolError):
        wire.parse_localization(["not", "a", "dict"])


# ---------------------------------------------------------------------------------------------
# hub messages (contract page)
# ---------------------------------------------------------------------------------------------

UPDATE = """{"subscriptionId": "s-9f2c", "subscriptionType": "agents", "sequence": 1,
"isSnapshot": true, "timestamp": "2016-10-27T19:56:02.98Z",
"items": [{"type": "agent", "id": 41, "metrics": {"audio": {"answeredCount": 3}}}]}"""
ALERT = """{"type": "alert", "id": 501, "name": "Longest wait over 120 s",
"severity": "critical", "entityType": "queue", "entityId": 3, "entityName": "Support",
"metric": "longestQueuedTime", "modality": "audio", "value": 131000, "threshold": 120000,
"isActive": true, "raisedTime": "2016-10-27T19:56:02.98Z", "clearedTime": null,
"message": "..."}"""


def test_subscription_update() -> None:
    update = SubscriptionUpdate.from_json(seed(UPDATE))
    assert (update.subscription_id, update.subscription_type) == ("s-9f2c", "agents")
    assert update.sequence == 1 and update.is_snapshot is True
    assert update.timestamp == datetime(2016, 10, 27, 19, 56, 2, 980000, tzinfo=UTC)
    assert update.items == (
        {"type": "agent", "id": 41, "metrics": {"audio": {"answeredCount": 3}}},
    )
    (item,) = update.parsed_items()
    assert isinstance(item, RealtimeData) and item.metric("audio", "answeredCount") == 3

    diff = SubscriptionUpdate.from_json(
        {**seed(UPDATE), "subscriptionType": "queuesGroup", "sequence": 2, "isSnapshot": False,
         "items": [{"groupType": "Business Unit", "groupId": 1, "metrics": {}}]}
    )  # fmt: skip
    (group,) = diff.parsed_items()
    assert isinstance(group, GroupData) and group.group_type == "businessUnit"

    for missing in ("subscriptionId", "sequence", "isSnapshot"):
        data = seed(UPDATE)
        del data[missing]
        with pytest.raises(ClarityProtocolError, match=missing):
            SubscriptionUpdate.from_json(data)


def test_alert_update() -> None:
    frame = {"subscriptionId": "a-1", "sequence": 4, "isSnapshot": False, "items": [seed(ALERT)]}
    update = SubscriptionUpdate.from_json(frame, alert=True)
    assert update.subscription_type == "alerts"
    (alert,) = update.parsed_items()
    assert isinstance(alert, Alert)
    assert (alert.id, alert.severity, alert.entity_type, alert.entity_id) == (
        501, "critical", "queue", 3,
    )  # fmt: skip
    assert alert.value == 131000 and alert.threshold == 120000 and alert.is_active is True
    assert alert.cleared_time is None and alert.modality == "audio"


def test_subscription_created() -> None:
    assert wire.parse_subscription_created({"subscriptionId": "abc123"}) == "abc123"
    with pytest.raises(ClarityProtocolError):
        wire.parse_subscription_created({})


# ---------------------------------------------------------------------------------------------
# values: timestamps, modalities, entity types, challenges
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("2016-10-27T19:56:02.9Z", 900000),
        ("2016-10-27T19:56:02.98Z", 980000),
        ("2016-10-27T19:56:02.503Z", 503000),
        ("2016-10-27T19:56:02.5034Z", 503400),
        ("2016-10-27T19:56:02.50345Z", 503450),
        ("2016-10-27T19:56:02.503456Z", 503456),
        ("2016-10-27T19:56:02.5034567Z", 503456),  # .NET's seventh digit dropped
        ("2016-10-27T19:56:02.5034567", 503456),  # no zone: UTC
        ("2016-10-27T19:56:02Z", 0),
        ("2016-10-27T19:56:02", 0),
    ],
)
def test_timestamps_with_any_fraction(text: str, micro: int) -> None:
    assert wire.parse_timestamp(text) == datetime(2016, 10, 27, 19, 56, 2, micro, tzinfo=UTC)


def test_timestamp_variants() -> None:
    assert wire.parse_timestamp("2016-10-27T21:56:02.98+02:00") == datetime(
        2016, 10, 27, 19, 56, 2, 980000, tzinfo=UTC
    )
    assert wire.parse_timestamp("2016-10-27T14:56:02-0500") == datetime(
        2016, 10, 27, 19, 56, 2, tzinfo=UTC
    )
    # The seed's status history sample: "2016-1-1 05:00".
    assert wire.parse_timestamp("2016-1-1 05:00") == datetime(2016, 1, 1, 5, 0, tzinfo=UTC)
    assert wire.parse_timestamp(None) is None and wire.parse_timestamp("") is None
    assert wire.parse_timestamp("0001-01-01T00:00:00") is None  # .NET's "no value"
    aware = wire.parse_timestamp("2016-10-27T19:56:02Z")
    assert aware is not None and aware.tzinfo is not None
    for bad in ("yesterday", "2016-13-01T00:00:00Z", "01-01-2006", 1472842278):
        with pytest.raises(ClarityProtocolError):
            wire.parse_timestamp(bad)


def test_format_timestamps() -> None:
    moment = datetime(2016, 6, 15, 7, 30, 0, 150000, tzinfo=timezone(timedelta(hours=2)))
    assert wire.format_timestamp(moment) == "2016-06-15T05:30:00.150Z"
    assert wire.format_query_timestamp(moment) == "2016-06-15 05:30:00.150"
    assert wire.parse_timestamp(wire.format_timestamp(moment)) == moment


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Audio", "audio"), ("AudioVideo", "audio"), ("audio", "audio"), (2, "audio"),
        ("2", "audio"), ("InstantMessage", "instantMessage"), ("instantMessage", "instantMessage"),
        (1, "instantMessage"), ("Message", "message"), ("message", "message"), (3, "message"),
        ("Unknown", "unknown"), ("Fax", "unknown"), (9, "unknown"), ("agnostic", "agnostic"),
    ],
)  # fmt: skip
def test_modality_names(raw: Any, name: str) -> None:
    assert wire.normalize_modality(raw) == name


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Agent", "agent"), ("agent", "agent"), ("Queue", "queue"), ("Team", "team"),
        ("Group", "group"), ("Business Unti", "businessUnit"), ("Business Unit", "businessUnit"),
        ("businessUnit", "businessUnit"), ("business_unit", "businessUnit"), ("Robot", "Robot"),
    ],
)  # fmt: skip
def test_entity_types(raw: str, name: str) -> None:
    assert wire.normalize_entity_type(raw) == name


@pytest.mark.parametrize(
    ("header", "url"),
    [
        ('https://41.ccdev2015.internal/webauth/token,grant_type="urn:connect.auth:windows"',
         "https://41.ccdev2015.internal/webauth/token"),
        ('"https://41.ccdev2015.internal/webauth/token",grant_type="urn:connect.auth:windows"',
         "https://41.ccdev2015.internal/webauth/token"),
        ("  https://a.example.com:8443/webauth/token  ", "https://a.example.com:8443/webauth/token"),
        ('Bearer realm="https://a.example.com/webauth/token"', "https://a.example.com/webauth/token"),
        ('/webauth/token,grant_type="x"', "https://connect.example.com/webauth/token"),
        ("Negotiate", None),
        ("", None),
    ],
)  # fmt: skip
def test_token_url_from_challenge(header: str, url: str | None) -> None:
    assert wire.token_url_from_challenge(header, "https://connect.example.com") == url


# ---------------------------------------------------------------------------------------------
# requests: stated routes win over samples
# ---------------------------------------------------------------------------------------------


def test_simple_routes() -> None:
    assert wire.info().url() == "/webapi/api/info"
    assert wire.profile().url() == "/webapi/api/v2/profile"
    assert wire.mbu().url() == "/webapi/api/v2/profile/mbu"
    assert wire.dashboard_settings().url() == "/webapi/api/v2/profile/dashboardsettings"
    assert wire.sessions_by_agent(5).url() == "/webapi/api/v2/sessions?agentId=5&activeOnly=true"
    assert wire.gruu(18).url() == "/webapi/api/v2/sessions/18/gruu"
    assert wire.transcript(18).url() == "/webapi/api/v2/sessions/18/transcript"
    assert wire.agent_status(5).url() == "/webapi/api/v2/agentStatus/5?currentOnly=true"
    assert wire.list_agent_statuses(5).url() == "/webapi/api/v2/agentStatus/list/5"
    assert wire.specific_server().url() == "/webapi/api/v2/metrics/specificserver"
    # The sample says /v1.0/...; the stated route is v2.
    assert (
        wire.localization("en-us").url() == "/webapi/api/v2/resources/dashboard/localization/en-us"
    )
    assert wire.search("test").url() == "/webapi/api/v2/search/test"
    assert wire.client_logs("x").url() == "/webapi/api/v2/clientlogs"


def test_unregister_matches_the_seeds_sample() -> None:
    req = wire.unregister(sip="test.user@domain.com", gruu="1234", session_ids=[1, 2, 3])
    assert (req.method, req.idempotent) == ("POST", False)
    assert (
        req.url()
        == "/webapi/api/v2/profile/unregister?sip=test.user@domain.com&gruu=1234&sids=1,2,3"
    )


def test_session_by_id_matches_the_seeds_sample() -> None:
    req = wire.session(
        78520,
        include_customer_history=True,
        customer_history_limit=1,
        include_im_prompts=True,
        include_ivr_data=True,
        include_dispositions=True,
        include_current_transcript=True,
        include_extra_items=True,
        include_session_event_history=True,
        include_aftercall_options=True,
        include_hold_timer_threshold=True,
    )
    assert req.url() == (
        "/webapi/api/v2/sessions/78520?includeCustomerHistory=true&customerHistoryLimit=1"
        "&includeImPrompts=true&includeIvrData=true&includeDispositions=true"
        "&includeCurrentTranscript=true&includeExtraItems=true&includeSessionEventHistory=true"
        "&includeAftercallOptions=true&includeHoldTimerThreshold=true"
    )
    assert req.route == "GET /webapi/api/v2/sessions/78520"  # errors never show the query


def test_customer_history_combinations() -> None:
    start = datetime(2016, 6, 15, 5, 30, 0, 150000, tzinfo=UTC)
    end = datetime(2016, 10, 15, 8, 30, 0, 150000, tzinfo=UTC)
    base = "/webapi/api/v2/sessions/customerHistory/123"
    assert wire.customer_history(123).url() == base
    assert (
        wire.customer_history(123, start=start).url() == f"{base}?start=2016-06-15%2005:30:00.150"
    )
    assert wire.customer_history(123, start=start, end=end).url() == (
        f"{base}?start=2016-06-15%2005:30:00.150&end=2016-10-15%2008:30:00.150"
    )
    assert wire.customer_history(123, start=start, limit=10).url().endswith("&limit=10")
    assert wire.customer_history(123, end=end, limit=10).url().endswith("&limit=10")
    assert wire.customer_history(123, end=end).url() == f"{base}?end=2016-10-15%2008:30:00.150"
    with pytest.raises(ValueError):
        wire.customer_history(123, limit=10)  # "Not supported"
    with pytest.raises(ValueError):
        wire.customer_history(123, start=start, end=end, limit=10)  # "Not supported"


def test_transcript_rules() -> None:
    t = datetime(2016, 1, 1, tzinfo=UTC)
    req = wire.transcript(18, start=t, size=5)
    assert req.params == (("startTimestamp", "2016-01-01 00:00:00.000"), ("size", "5"))
    assert wire.transcript(18, start=t, end=t).params[1][0] == "endTimestamp"
    with pytest.raises(ValueError):
        wire.transcript(18, start=t, end=t, size=5)
    with pytest.raises(ValueError):
        wire.transcript(18, size=5)


def test_session_writes() -> None:
    req = wire.set_extra_item(18, extra_item_id=12, name="Subject", value="test")
    # seed: "Request - HTTP GET" with a JSON body, at the stated route (not "setextraitem").
    assert (req.method, req.url()) == ("GET", "/webapi/api/v2/sessions/18/setextraitems")
    assert req.body == {"extraItemId": 12, "extraItemName": "Subject", "extraItemValue": "test"}
    assert req.idempotent is False
    notes = wire.set_call_notes(18, "test")
    assert (notes.url(), notes.body) == (
        "/webapi/api/v2/sessions/18/setcallnotes",
        {"note": "test"},
    )
    disp = wire.set_dispositions(18, 1, 1)
    assert disp.url() == "/webapi/api/v2/sessions/18/setdispositions"
    assert disp.body == {"dispositionId": 1, "subDispositionId": 1}
    with pytest.raises(ValueError):
        wire.set_extra_item(18, value="x")


def test_recording_and_status_actions() -> None:
    start = wire.start_recording(5)
    assert start.url() == "/webapi/api/v2/sessions/callcontrol/startRecordingSessions/5"
    assert (start.method, start.body, start.idempotent) == ("POST", None, False)
    stop = wire.stop_recording(5)
    assert stop.url() == "/webapi/api/v2/sessions/callcontrol/stopRecordingSessions/5"

    away = wire.update_agent_status(5, "Unavailable", 1)
    assert away.url() == "/webapi/api/v2/agentStatus/update/5"
    assert away.body == {"agentStatusId": 3, "reasonCodeId": 1}  # the seed's sample body
    assert wire.set_suspended(5, False).body == {"isSuspended": False}
    assert wire.update_agent_status(5, "ringOnNoAnswer").body == {"agentStatusId": 8}
    with pytest.raises(ValueError):
        wire.update_agent_status(5, "available", 1)
    with pytest.raises(ValueError):
        wire.update_agent_status(5, 13)  # no status 13 in the seed


def test_metrics_routes() -> None:
    sel = wire.Selection.of(agent_ids=[41, 37])
    assert wire.metrics("agents", "one", entity_id=41).url() == "/webapi/api/v2/metrics/agents/41"
    assert wire.metrics("agents", "one", entity_id=41, part="status").url() == (
        "/webapi/api/v2/metrics/agents/41/status"
    )
    # Sample "GET /webapi/api/v2/agents/agentIds=41,37": the stated route with a query wins.
    assert wire.metrics("agents", "many", selection=sel).url() == (
        "/webapi/api/v2/metrics/agents?agentIds=41,37"
    )
    assert wire.metrics("agents", "many", selection=sel, part="sessions").url() == (
        "/webapi/api/v2/metrics/agents/sessions?agentIds=41,37"
    )
    assert wire.metrics("agents", "aggregateBy", selection=sel).url() == (
        "/webapi/api/v2/metrics/agents/aggregateBy?agentIds=41,37"
    )
    groups = wire.metrics("agents", "groupBy", selection=wire.Selection.of(group_ids=[2, 3, 5]))
    assert groups.url() == "/webapi/api/v2/metrics/agents/groupBy?groupIds=2,3,5"
    queues = wire.metrics(
        "queues", "many", selection=wire.Selection.of(queue_ids=[1, 2]), modalities=["Audio", 1],
        include_breakdowns=True,
    )  # fmt: skip
    assert queues.url() == (
        "/webapi/api/v2/metrics/queues?queueIds=1,2&modalities=audio,instantMessage"
        "&includeBreakdowns=true"
    )
    history = wire.metrics("agents", "one", entity_id=41, include_status_history=True)
    assert history.url().endswith("?includeStatusHistory=true")
    with pytest.raises(ValueError):
        wire.metrics("agents", "many")  # seed: no entity id answers 401
    with pytest.raises(ValueError):
        wire.metrics("agents", "aggregateBy", selection=sel, part="metrics")
    with pytest.raises(ValueError):
        wire.metrics("queues", "one", entity_id=1, include_status_history=True)


def test_metrics_filters_are_a_retryable_post() -> None:
    get = wire.metrics("agents", "one", entity_id=41)
    assert (get.method, get.body, get.idempotent) == ("GET", None, True)
    post = wire.metrics(
        "agents", "one", entity_id=41, metric_properties=["takenCount"],
        status_properties=["agentStatus"], session_properties=["queueId"],
    )  # fmt: skip
    assert (post.method, post.idempotent) == ("POST", True)
    assert post.body == {
        "metricProperties": ["takenCount"],
        "statusProperties": ["agentStatus"],
        "sessionProperties": ["queueId"],
    }


def test_subscription_requests() -> None:
    req = wire.subscribe(
        "agents", "88cfebc8-e9f5-47a5-bfea-01b949ff9247",
        selection=wire.Selection.of(agent_ids=[5, 7]), modalities=[2],
        include_status_history=True, metric_properties=["AnsweredCount"],
        status_properties=["agentStatus", "reasonCodeName"],
        session_properties=["queueId", "customerName"],
    )  # fmt: skip
    assert req.url() == (
        "/webapi/api/v2/subscriptions/agents?agentIds=5,7&modalities=audio"
        "&includeStatusHistory=true"
    )
    assert req.body == {
        "connectionId": "88cfebc8-e9f5-47a5-bfea-01b949ff9247",
        "metricProperties": ["AnsweredCount"],
        "statusProperties": ["agentStatus", "reasonCodeName"],
        "sessionProperties": ["queueId", "customerName"],
    }
    assert req.idempotent is False

    group = wire.subscribe(
        "agentsGroup", "c", selection=wire.Selection.of(group_ids=[5, 7], team_ids=[2]),
        modalities=["audio"],
    )  # fmt: skip
    assert group.url() == (
        "/webapi/api/v2/subscriptions/agents/groupBy?teamIds=2&groupIds=5,7&modalities=audio"
    )
    # Queue aggregation's sample subscribes with modalities only.
    queues = wire.subscribe("queuesAggregate", "c", modalities=["audio"])
    assert queues.url() == "/webapi/api/v2/subscriptions/queues/aggregateBy?modalities=audio"
    assert wire.subscribe_alerts("c").url() == "/webapi/api/v2/subscriptions/alerts"
    assert wire.subscribe_alerts("c").body == {"connectionId": "c"}

    update = wire.update_subscription(
        "abc123", "100", selection=wire.Selection.of(agent_ids=[5, 7]),
        metric_properties=["AnsweredCount"],
    )  # fmt: skip
    assert (update.method, update.url()) == (
        "POST",
        "/webapi/api/v2/subscriptions/abc123?agentIds=5,7",
    )
    assert update.body == {"connectionId": "100", "metricProperties": ["AnsweredCount"]}
    delete = wire.delete_subscription("abc123", "bc494070-b64c-43a6-8b92-c7dbeac263d1")
    assert (delete.method, delete.url()) == ("DELETE", "/webapi/api/v2/subscriptions/abc123")
    assert delete.body == {"connectionId": "bc494070-b64c-43a6-8b92-c7dbeac263d1"}

    with pytest.raises(ValueError):
        wire.subscribe("queues", "c")
    with pytest.raises(ValueError):
        wire.subscribe("queues", "c", selection=wire.Selection.of(queue_ids=[1]),
                       include_status_history=True)  # fmt: skip


def test_batch_request() -> None:
    sub = wire.subscribe("agents", "123-456-789", selection=wire.Selection.of(agent_ids=[5]),
                         modalities=[2])  # fmt: skip
    req = wire.batch([sub, wire.profile()])
    assert (req.method, req.url()) == ("POST", "/webapi/api/v2/")
    assert req.body == [
        {
            "method": "POST",
            "relativeUrl": "../v2/subscriptions/agents?agentIds=5&modalities=audio",
            "body": {"connectionId": "123-456-789"},
        },
        {"method": "GET", "relativeUrl": "../v2/profile"},
    ]
    assert req.idempotent is False  # it contains an action
    assert wire.batch([wire.profile(), wire.mbu()]).idempotent is True
    with pytest.raises(ValueError):
        wire.batch([])


def test_search_request_hides_the_query_in_errors() -> None:
    req = wire.search("Jean-Luc Picard/42")
    assert req.url() == "/webapi/api/v2/search/Jean-Luc%20Picard%2F42"
    assert req.route == "GET /webapi/api/v2/search/{query}"
    for empty in ("", "  "):
        with pytest.raises(ValueError):
            wire.search(empty)


def test_client_logs_request() -> None:
    req = wire.client_logs("test", log_level="info", session_id=2, component="auth")
    assert req.body == {"message": "test", "logLevel": "info", "sessionId": 2, "component": "auth"}
    assert wire.client_logs("test", log_level="verbose").body == {
        "message": "test",
        "logLevel": "verbose",
    }


def test_path_ids_must_be_integers() -> None:
    with pytest.raises(ValueError):
        wire.gruu("18/../../profile")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        wire.agent_status(True)  # type: ignore[arg-type]

"""The wire module against the seed's Request & Response Dictionary, read from the seed itself
(its last section, kept beside this file as seed_dictionary.txt: CI's clone has no ../shared).

For each response object the dictionary defines, an object with every field it lists (each a
value of the listed data type; nested objects built the same way from their own tables) is
parsed by the wire class for it: every field must be read (nothing left over in `raw`), and
an integer field given text must be refused. A field the dictionary adds, renames or retypes
makes this fail, so the wire module cannot drift from the document unnoticed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from integrations.clarity import wire
from integrations.clarity.errors import ClarityProtocolError

HERE = Path(__file__).resolve().parent
DICTIONARY = HERE / "seed_dictionary.txt"
# The seed itself, where the project's workspace has it (beside the repository).
SEED = HERE.parents[3] / "shared" / "seeds" / "clarity-connect-web-api-v2.txt"


def dictionary() -> dict[str, list[tuple[str, str]]]:
    """Title of each table in the dictionary -> its (field name, data type) rows."""
    lines = DICTIONARY.read_text(encoding="utf-8").splitlines()
    start = lines.index("Request & Response Dictionary")
    tables: dict[str, list[tuple[str, str]]] = {}
    title = None
    for number in range(start, len(lines)):
        line = lines[number]
        if line.startswith("Field Name |"):
            title = lines[number - 1].strip()
            tables.setdefault(title, [])
        elif title and "|" in line and not line.startswith("---"):
            cells = [cell.strip() for cell in line.split("|")]
            if len(cells) >= 3 and cells[1] and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", cells[0]):
                tables[title].append((cells[0], cells[1]))
    return tables


def table(tables: dict[str, list[tuple[str, str]]], name: str) -> list[tuple[str, str]]:
    """A table by the start of its title ("IVR Node" finds "IVR Node contains all the...")."""
    found = [rows for title, rows in tables.items()
             if title == name or title.startswith((f"{name} contains", f"{name} includes"))]
    assert len(found) == 1, f"{name!r}: {len(found)} tables in the dictionary"
    return found[0]


# Response objects -> (the wire class, the tables whose fields it has: its own and those it
# "includes all the properties of").
OBJECTS: dict[str, tuple[Any, list[str]]] = {
    "Base Info Response": (wire.Info, ["Base Info Response"]),
    "API Version": (wire.ApiVersion, ["API Version"]),
    "Hidden Queue": (wire.HiddenQueue, ["Hidden Queue"]),
    "Base Profile Response": (wire.Profile, ["Base Profile Response"]),
    "Agent Response": (wire.MbuAgent, ["MBU Entity Response", "Agent Response"]),
    "Queue Response": (wire.MbuQueue, ["MBU Entity Response", "Queue Response"]),
    "Team Response": (wire.MbuTeam, ["MBU Entity Response", "Team Response"]),
    "Group Response": (wire.MbuGroup, ["MBU Entity Response", "Group Response"]),
    "Business Unit Response": (wire.MbuBusinessUnit,
                               ["MBU Entity Response", "Business Unit Response"]),
    "Get Dashboard Settings Response": (wire.DashboardSettings,
                                        ["Get Dashboard Settings Response"]),
    "Session Base": (wire.SessionBase, ["Session Base"]),
    "Model Session": (wire.ModelSession, ["Session Base", "The Model Session"]),
    "Session by Id": (wire.SessionById, ["Session Base", "The Model Session", "This response"]),
    "Agent Participation": (wire.AgentParticipation, ["Agent Participation"]),
    "Agent Offer": (wire.AgentParticipation, ["Agent Offer"]),
    "IM Prompt": (wire.ImPrompt, ["Entity", "IM Prompt"]),
    "IVR Data": (wire.IvrData, ["Entity", "IVR Data"]),
    "IVR Node": (wire.IvrNode, ["Entity", "IVR Node"]),
    "Call Disposition": (wire.CallDisposition, ["Entity", "Call Disposition"]),
    "Call Sub-Disposition": (wire.CallSubDisposition, ["Entity", "Call Sub-Disposition"]),
    "Extra Item": (wire.ExtraItem, ["Entity", "Extra Item"]),
    "Session Event History": (wire.SessionEvent, ["Entity", "Session Event History"]),
    "Session Message": (wire.SessionMessage, ["Entity", "Session Message"]),
    "Aftercall Config": (wire.AftercallOptions, ["Entity", "Aftercall Config"]),
    "Transcript Message": (wire.TranscriptMessage, ["Transcript Message"]),
    "Session Recording Request Status Response": (
        wire.RecordingStatus, ["Session Recording Request Status Response"]),
    "Connect Agent Status": (wire.ConnectAgentStatus, ["Connect Agent Status"]),
    "Agent Status by Agent Response": (wire.AgentStatus, ["Agent Status by Agent Response"]),
    "Realtime Data Response": (wire.RealtimeData, ["Realtime Data Response"]),
    "Aggregate Metric Data Response": (wire.AggregateData,
                                       ["Realtime Data Response",
                                        "The Aggregate Metric Data Response"]),
    "Group Metric Data Response": (wire.GroupData, ["Realtime Data Response",
                                                     "The Aggregate Metric Data Response",
                                                     "The Group Metric Data Response"]),
    "Agent Search": (wire.AgentSearch, ["Agent Search"]),
    "Queue Search": (wire.QueueSearch, ["Queue Search"]),
}


# Where the dictionary's data type contradicts the document's own samples, the wire module
# follows the samples (and says so where it reads the field): (table, field) -> the value
# the samples show.
SAMPLED_OTHERWISE: dict[tuple[str, str], Any] = {
    # Typed "integer"; every sample is a JSON timestamp ("2016-10-14T13:59:54.993Z").
    ("Connect Agent Status", "startTime"): "2026-11-22T10:00:00Z",
    ("Status Model", "startTime"): "2026-11-22T10:00:00Z",
    ("Transcript Message", "timeStamp"): "2026-11-22T10:00:00Z",
    # Typed "string"; sampled as the Status Model object, a list of them, and breakdown lists.
    ("Realtime Data Response", "currentStatus"): {"agentStatus": "available",
                                                  "startTime": "2026-11-22T10:00:00Z"},
    ("Realtime Data Response", "statusHistory"): [],
    ("Realtime Data Response", "breakdowns"): [],
    ("Realtime Data Response", "addedBreakdowns"): [],
    ("Realtime Data Response", "removedBreakdowns"): [],
    # Typed "string"; these ids are integers everywhere else (digits in a string pass).
    ("Session Message", "sessionId"): "80140",
    ("Session Message", "agentId"): "7",
    ("Session Message", "sessionMessageTypeId"): "2",
    # Typed "string" with the sample value false: a flag.
    ("Base Profile Response", "hideRecordingButton"): False,
}


def value_for(tables: dict[str, list[tuple[str, str]]], field: str, kind: str) -> Any:
    """A value of the dictionary's data type `kind` for `field`."""
    lowered = kind.lower()
    if "datetime" in lowered:
        return "2026-11-22T10:00:00Z"
    if lowered.startswith("list response of"):
        return {"items": [], "count": 0}
    if lowered.startswith(("array", "list<")) or lowered.endswith(" objects"):
        return []
    if lowered == "integer":
        return 7
    if lowered in ("bool", "boolean"):
        return True
    if lowered == "string":
        # Fields whose strings are names from a fixed set (normalised by the wire module).
        return {"type": "agent", "modality": "audio", "agentStatus": "available",
                "sessionStatus": "Active", "groupType": "team"}.get(field, "x")
    if lowered == "object":
        return {}
    # A named object: one of the dictionary's own tables ("Connect Agent Status object").
    name = kind.removesuffix(" object").strip()
    for title, rows in tables.items():
        if title == name or title.startswith(f"{name} contains"):
            return {f: sampled(tables, name, f, k) for f, k in rows}
    if name in ("Metric Bag", "Session Bag"):
        return {}
    if name == "Added And Removed Session Model":
        return {"addedSessions": [], "sessions": [], "removedSessions": []}
    raise AssertionError(f"{field}: no value for data type {kind!r}")


def sampled(tables: dict[str, list[tuple[str, str]]], part: str, field: str, kind: str) -> Any:
    title = part.removeprefix("The ")
    for (table_name, name), value in SAMPLED_OTHERWISE.items():
        if name == field and title.startswith(table_name):
            return value
    return value_for(tables, field, kind)


def sample(name: str) -> tuple[Any, dict[str, Any], list[tuple[str, str]]]:
    tables = dictionary()
    cls, parts = OBJECTS[name]
    data: dict[str, Any] = {}
    rows = []
    for part in parts:
        for field, kind in table(tables, part):
            data[field] = sampled(tables, part, field, kind)
            rows.append((field, kind))
    return cls, data, rows


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_every_field_the_dictionary_lists_is_read(name: str) -> None:
    cls, data, _ = sample(name)
    parsed = cls.from_json(data)
    left_over = getattr(parsed, "raw", {})
    assert left_over == {}, f"{cls.__name__} does not read {sorted(left_over)}"


# Typed "integer" and sampled as text ("customerId": "John Doh"): read as text.
TEXT_DESPITE_TYPE = {"customerId"}
WITHOUT_INTEGERS = {"API Version", "Base Info Response", "Model Session", "Transcript Message"}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_an_integer_field_given_text_is_refused(name: str) -> None:
    cls, data, rows = sample(name)
    integers = [field for field, kind in rows
                if kind.lower() == "integer" and field not in TEXT_DESPITE_TYPE]
    assert integers or name in WITHOUT_INTEGERS
    for field in integers:
        with pytest.raises(ClarityProtocolError):
            cls.from_json({**data, field: "not a number"})


def test_the_dictionary_is_read_whole() -> None:
    """The parser above finds the tables (a change in the seed's layout would empty them)."""
    tables = dictionary()
    assert len(tables) > 50
    assert ("queueId", "integer") in table(tables, "Hidden Queue")
    assert len(table(tables, "Base Profile Response")) == 20
    # Every contradiction listed above is still one in the seed (else the entry must go).
    for (title, field), _ in SAMPLED_OTHERWISE.items():
        kinds = {kind.lower() for name, kind in table(tables, title) if name == field}
        assert kinds and kinds <= {"integer", "string"}, (title, field, kinds)


@pytest.mark.skipif(not SEED.exists(), reason="the seed is not beside this checkout")
def test_the_kept_dictionary_is_the_seeds() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    section = lines[lines.index("Request & Response Dictionary"):]
    assert DICTIONARY.read_text(encoding="utf-8").splitlines() == section

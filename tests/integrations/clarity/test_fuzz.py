"""A fuzz pass over what parses the upstream's data: the wire module's parsers and the merge.
Whatever JSON arrives, each either parses it or raises its own error (ClarityProtocolError,
MergeError) — never another exception, which would escape as a crash — and a refused message
leaves the picture as it was."""

from __future__ import annotations

import contextlib
import copy
import inspect
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.clarity import wire
from integrations.clarity.errors import ClarityProtocolError
from integrations.clarity.merge import MergeError
from tests.integrations.clarity.test_merge import _picture_before_the_diff, _valid_diff, dump

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

KEYS = st.sampled_from([
    "subscriptionId", "subscriptionType", "sequence", "isSnapshot", "timestamp", "items",
    "type", "id", "groupType", "groupId", "entityIds", "metrics", "currentStatus",
    "statusHistory", "sessions", "agentStatus", "startTime", "name", "severity", "queueId",
    "agentId", "sessionId", "modality", "voice", "agnostic", "queuedCount", "value",
]) | st.text(max_size=8)
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63)
           | st.floats(allow_nan=True) | st.text(max_size=20)
           | st.sampled_from(["2026-11-22T10:00:00Z", "agents", "queuesGroup", "agent",
                              "queue", "team", "1", "-1", "", "NaN"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(KEYS, inner, max_size=6), max_leaves=40)

PARSERS = sorted(
    (name, cls) for name, cls in vars(wire).items()
    if inspect.isclass(cls) and cls.__module__ == wire.__name__
    and isinstance(inspect.getattr_static(cls, "from_json", None), classmethod)
    and list(inspect.signature(cls.from_json).parameters) == ["data"])


def test_the_fuzz_reaches_the_wire_parsers() -> None:
    names = {name for name, _ in PARSERS}
    assert {"MbuStructure", "Profile", "SessionById", "AgentStatus"} <= names, names


@pytest.mark.parametrize(("name", "parser"), PARSERS, ids=[name for name, _ in PARSERS])
@FUZZ
@given(data=JSON)
def test_wire_parsers_parse_or_raise_their_own_error(name: str, parser: Any,
                                                     data: Any) -> None:
    with contextlib.suppress(ClarityProtocolError):
        parser.from_json(data)


@FUZZ
@given(data=JSON, alert=st.booleans())
def test_hub_updates_parse_or_raise_their_own_error(data: Any, alert: bool) -> None:
    with contextlib.suppress(ClarityProtocolError):
        wire.SubscriptionUpdate.from_json(data, alert=alert)


@FUZZ
@given(data=JSON)
def test_the_merge_refuses_any_json_without_a_trace(data: Any) -> None:
    picture = _picture_before_the_diff()
    before = dump(picture)
    try:
        picture.apply(data)
    except MergeError:
        assert dump(picture) == before


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _paths(item, (*prefix, index))
    return paths


@FUZZ
@given(data=st.data())
def test_the_merge_survives_a_valid_diff_with_any_part_replaced(data: st.DataObject) -> None:
    """Closer to a misbehaving server than random JSON: a real diff with one value anywhere
    in it replaced by anything."""
    good = _valid_diff()
    path = data.draw(st.sampled_from(_paths(good)[1:]))
    bad = copy.deepcopy(good)
    target = bad
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(JSON)
    picture = _picture_before_the_diff()
    before = dump(picture)
    try:
        picture.apply(bad)
    except MergeError:
        assert dump(picture) == before

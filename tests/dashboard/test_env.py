from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from dashboard.env import env_bool, env_int, env_list, env_str

NAME = "DASHBOARD_TEST_VARIABLE"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)


def test_str_default_when_unset() -> None:
    assert env_str(NAME, "fallback") == "fallback"


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_counts_as_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv(NAME, blank)
    assert env_str(NAME, "fallback") == "fallback"
    assert env_bool(NAME, True) is True
    assert env_int(NAME, 7) == 7
    assert env_list(NAME, ["a"]) == ["a"]


def test_str_value_is_kept_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, " spaced value ")
    assert env_str(NAME, "fallback") == " spaced value "


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("on", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_bool_values(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv(NAME, raw)
    assert env_bool(NAME, not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_bool_default(default: bool) -> None:
    assert env_bool(NAME, default) is default


@pytest.mark.parametrize("raw", ["2", "y", "n", "enabled", "truthy", "-1"])
def test_bool_rejects(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=NAME) as excinfo:
        env_bool(NAME, True)
    assert repr(raw) in str(excinfo.value)


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("42", 42), (" 8 ", 8), ("-3", -3)])
def test_int_values(monkeypatch: pytest.MonkeyPatch, raw: str, expected: int) -> None:
    monkeypatch.setenv(NAME, raw)
    assert env_int(NAME, 99) == expected


def test_int_default() -> None:
    assert env_int(NAME, 99, minimum=1, maximum=100) == 99


@pytest.mark.parametrize("raw", ["x", "1.5", "1e3", "ten", "0x10"])
def test_int_rejects_non_integers(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=NAME) as excinfo:
        env_int(NAME, 1)
    assert repr(raw) in str(excinfo.value)


def test_int_bounds_are_inclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "1")
    assert env_int(NAME, 5, minimum=1, maximum=10) == 1
    monkeypatch.setenv(NAME, "10")
    assert env_int(NAME, 5, minimum=1, maximum=10) == 10


@pytest.mark.parametrize(("raw", "word"), [("0", "at least 1"), ("11", "at most 10")])
def test_int_rejects_out_of_range(monkeypatch: pytest.MonkeyPatch, raw: str, word: str) -> None:
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=NAME) as excinfo:
        env_int(NAME, 5, minimum=1, maximum=10)
    assert word in str(excinfo.value)
    assert repr(raw) in str(excinfo.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a", ["a"]),
        ("a,b", ["a", "b"]),
        (" a , b ,c ", ["a", "b", "c"]),
        ("a,,b,", ["a", "b"]),
        (",", []),
    ],
)
def test_list_values(monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]) -> None:
    monkeypatch.setenv(NAME, raw)
    assert env_list(NAME, ["default"]) == expected


def test_list_default_is_a_copy() -> None:
    default = ["a"]
    result = env_list(NAME, default)
    result.append("b")
    assert default == ["a"]


# No commas, whitespace, control characters or lone surrogates: the items a
# real host or origin list is made of.
items = st.text(
    alphabet=st.characters(exclude_characters=",", exclude_categories=("Cc", "Cs", "Z")),
    min_size=1,
)


@given(st.lists(items, min_size=1))
def test_list_round_trips(values: list[str]) -> None:
    # Hypothesis runs the body many times, so the function-scoped monkeypatch
    # fixture cannot be used here.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(NAME, " , ".join(values))
        assert env_list(NAME, []) == values

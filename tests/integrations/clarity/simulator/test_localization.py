"""The simulator's localization dictionaries (Resource endpoint) and the metric document.

Pure unit tests: no Django, no server. They pin that every catalogue metric is labelled in every
locale, that fr-fr and de-de are real translations rather than a silent English fallback, and
that docs/clarity-simulator-metrics.md names every metric.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from integrations.clarity.simulator import localization
from integrations.clarity.simulator.catalogue import (
    AGENT_AGNOSTIC_METRICS,
    AGENT_METRICS,
    QUEUE_METRICS,
    all_metrics,
    metric_names,
)
from integrations.clarity.simulator.localization import (
    LOCALES,
    SHORT_MAX,
    TRANSLATIONS,
    dictionary,
)
from integrations.clarity.simulator.model import REASON_CODES, STATUS_IDS

REPO = Path(__file__).resolve().parents[4]
METRICS_DOC = REPO / "docs" / "clarity-simulator-metrics.md"

AGENT_STATUSES = (
    "available", "inCall", "unavailable", "unknown", "afterCall", "loggedOut",
    "offPhoneActivity", "ringOnNoAnswer", "busy", "beRightBack", "directCall", "inactive",
    "inImCall", "directInboundDial", "directOutboundDial", "atLunch", "offWork",
    "conferenceCall", "ringing",
)
SESSION_STATUSES = (
    "New", "Queued", "Active", "Completed", "Connected", "Terminating", "Abandoned",
    "CallingCustomer", "Transferred", "AfterCall", "NotifyingAgent", "CompletedAfterHours",
    "DirectInboundDial", "DirectOutboundDial", "ReEnqueued", "ActiveImOnly",
)
REASON_CODE_KEYS = {
    "reasonCode.onBreak": "On Break",
    "reasonCode.atLunch": "At Lunch",
    "reasonCode.meeting": "Meeting",
    "reasonCode.training": "Training",
    "reasonCode.coaching": "Coaching",
    "reasonCode.personal": "Personal",
    "reasonCode.systemIssue": "System Issue",
}
MODALITY_KEYS = ("audio", "instantMessage", "message", "agnostic")


def _metric_keys(name: str) -> tuple[str, str, str]:
    return name, name + "Description", name + "Short"


def _non_metric_keys() -> list[str]:
    return [
        *MODALITY_KEYS,
        *(f"agentStatus.{s}" for s in AGENT_STATUSES),
        *(f"sessionStatus.{s}" for s in SESSION_STATUSES),
        *REASON_CODE_KEYS,
    ]


def _get(locale: str) -> dict[str, str]:
    strings = dictionary(locale)
    assert strings is not None, locale
    return strings


@pytest.mark.parametrize("locale", LOCALES)
def test_every_metric_has_name_description_and_short(locale: str) -> None:
    strings = _get(locale)
    for name in metric_names():
        for key in _metric_keys(name):
            assert key in strings, f"{locale}: {key}"


@pytest.mark.parametrize("locale", LOCALES)
def test_statuses_modalities_and_reason_codes_are_present(locale: str) -> None:
    strings = _get(locale)
    missing = [key for key in _non_metric_keys() if key not in strings]
    assert not missing, f"{locale}: {missing}"


def test_status_lists_match_the_model() -> None:
    # The model's status table is the seed's Connect Agent Status list; keep the two in step.
    assert set(AGENT_STATUSES) == set(STATUS_IDS)


def test_english_reason_codes_match_the_model() -> None:
    strings = _get("en-us")
    for key, text in REASON_CODE_KEYS.items():
        assert strings[key] == text
    assert {strings[key] for key in REASON_CODE_KEYS} == set(REASON_CODES.values())


def test_english_comes_from_the_catalogue() -> None:
    strings = _get("en-us")
    by_name = {}
    for metric in all_metrics():
        by_name.setdefault(metric.name, metric)  # first occurrence: agent before queue
    for name, metric in by_name.items():
        assert strings[name] == metric.label
    # Metrics whose wording is not shared with another entity keep the catalogue description.
    offered = next(m for m in AGENT_METRICS if m.name == "offeredCount")
    assert strings["offeredCountDescription"] == offered.description
    waiting = next(m for m in QUEUE_METRICS if m.name == "queuedCount")
    assert strings["queuedCountDescription"] == waiting.description


def test_shared_metric_names_have_wording_that_fits_both_entities() -> None:
    # A name served for agents and queues with different catalogue descriptions needs one
    # neutral English description (e.g. not "Sessions the agent answered" under a queue).
    agent = {m.name: m.description for m in AGENT_METRICS + AGENT_AGNOSTIC_METRICS}
    queue = {m.name: m.description for m in QUEUE_METRICS}
    differing = {n for n in agent.keys() & queue.keys() if agent[n] != queue[n]}
    assert differing  # answeredCount, completedCount, ... today
    strings = _get("en-us")
    for name in differing:
        assert name in localization._EN_SHARED_DESCRIPTIONS, name
        assert "the agent" not in strings[name + "Description"], name


def test_english_short_labels_were_written_not_truncated() -> None:
    # `_short` cuts a long label as a last resort; every metric today has a real short label.
    strings = _get("en-us")
    truncated = [n for n in metric_names() if strings[n + "Short"].endswith("\u2026")]
    assert not truncated


@pytest.mark.parametrize("locale", sorted(TRANSLATIONS))
def test_translation_tables_miss_nothing_english_has(locale: str) -> None:
    # The English fallback keeps a new metric from showing as a raw key, but it must not hide a
    # missing translation: every key en-us has must be in the explicit table.
    metrics, other = TRANSLATIONS[locale]
    assert set(metric_names()) - set(metrics) == set(), locale
    assert set(_get("en-us")) == set(_get(locale))
    expected_other = {k for k in _get("en-us") if not any(
        k in _metric_keys(n) for n in metric_names())}
    assert expected_other - set(other) == set(), locale
    # ...and nothing stale: a table key that is no longer in en-us is a typo or a removed metric.
    assert set(metrics) - set(metric_names()) == set(), locale
    assert set(other) - expected_other == set(), locale


@pytest.mark.parametrize("locale", sorted(TRANSLATIONS))
def test_translations_differ_from_english_for_most_keys(locale: str) -> None:
    english = _get("en-us")
    translated = _get(locale)
    same = [k for k in english if translated[k] == english[k]]
    # A few words are the same in both languages (Audio, Coaching, SLA threshold...).
    assert len(same) <= len(english) // 20, same


def test_unknown_locale_gives_none() -> None:
    assert dictionary("es-es") is None
    assert dictionary("en") is None
    assert dictionary("en_us") is None
    assert dictionary("") is None


@pytest.mark.parametrize("locale", ["EN-US", "en-US", "Fr-Fr", "DE-de"])
def test_lookup_ignores_case(locale: str) -> None:
    assert dictionary(locale) == dictionary(locale.lower())


@pytest.mark.parametrize("locale", LOCALES)
def test_short_labels_fit_a_column_header(locale: str) -> None:
    strings = _get(locale)
    too_long = {
        n: strings[n + "Short"] for n in metric_names() if len(strings[n + "Short"]) > SHORT_MAX
    }
    assert not too_long, locale


@pytest.mark.parametrize("locale", LOCALES)
def test_all_values_are_non_empty_strings(locale: str) -> None:
    strings = _get(locale)
    for key, value in strings.items():
        assert isinstance(key, str) and key
        assert isinstance(value, str) and value.strip() == value and value, (locale, key)


def test_each_call_returns_a_fresh_dictionary() -> None:
    # The server may add or pop keys on the result; that must not leak into the next request.
    first = _get("en-us")
    first.clear()
    assert _get("en-us")


def test_fallback_to_english_for_a_missing_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics, other = TRANSLATIONS["fr-fr"]
    trimmed = {k: v for k, v in metrics.items() if k != "ronaCount"}
    monkeypatch.setitem(localization.TRANSLATIONS, "fr-fr", (trimmed, other))
    english = _get("en-us")
    french = _get("fr-fr")
    for key in _metric_keys("ronaCount"):
        assert french[key] == english[key]


def test_metrics_doc_lists_every_metric() -> None:
    text = METRICS_DOC.read_text(encoding="utf-8")
    in_backticks = set(re.findall(r"`([A-Za-z]+)`", text))
    missing = [n for n in metric_names() if n not in in_backticks]
    assert not missing, f"{METRICS_DOC.name} lacks {missing}"

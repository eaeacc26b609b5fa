"""Waves are named as people read them: the questionnaire's title and the opening date, in each language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import catalogue
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import CloseRule, Event, OpenRule, Wave
from chalicelib.domain.naming import clean_name, default_wave_name, long_date, slug, wave_name

EVENT = Event(
    event_id="ev_1",
    title="International Dialogue on Migration",
    starts_on=date(2026, 11, 30),
    ends_on=date(2026, 12, 1),
    timezone="Europe/Zurich",
    venue="Geneva",
    theme=None,
    languages=["en", "fr", "es"],
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


def wave(**fields: object) -> Wave:
    base: dict[str, object] = {
        "event_id": "ev_1",
        "wave_id": "wv_1",
        "questionnaire_id": "satisfaction",
        "questionnaire_version": 1,
        "opens": OpenRule(after_event_days=2, local_time="09:00"),
        "closes": CloseRule(after_open_days=14),
        "reminders_after_days": [5],
    }
    return Wave(**{**base, **fields})  # type: ignore[arg-type]


def test_the_default_name_is_the_questionnaire_and_the_opening_day_in_each_language() -> None:
    q = catalogue.builtin("satisfaction")
    assert default_wave_name(EVENT, wave(), q, "en") == "Workshop satisfaction survey, 3 December 2026"
    assert default_wave_name(EVENT, wave(), q, "fr") == "Enquête de satisfaction sur l'atelier, 3 décembre 2026"
    assert (
        default_wave_name(EVENT, wave(), q, "es") == "Encuesta de satisfacción sobre el taller, 3 de diciembre de 2026"
    )
    opened = wave(opened_at=datetime(2026, 12, 1, 7, 0, tzinfo=UTC))  # sent early: the day it really opened
    assert default_wave_name(EVENT, opened, q, "fr").endswith(", 1er décembre 2026")


def test_an_admins_name_wins_and_an_empty_one_means_the_default() -> None:
    q = catalogue.builtin("satisfaction")
    assert wave_name(EVENT, wave(name="Geneva round, first call"), q) == "Geneva round, first call"
    assert clean_name("  Geneva   round ") == "Geneva round"
    assert clean_name("") is None and clean_name(None) is None
    for bad in ("x" * 121, 7, "tab\u0000here"):
        with pytest.raises(ValidationFailed):
            clean_name(bad)


def test_long_dates() -> None:
    assert long_date(date(2026, 3, 9), "en") == "9 March 2026"
    assert long_date(date(2026, 3, 9), "es") == "9 de marzo de 2026"
    assert long_date(None, "fr") == ""


@given(st.text(max_size=200))
def test_a_slug_is_always_a_safe_file_name(text: str) -> None:
    made = slug(text)
    assert made and len(made) <= 60
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in made)
    assert not made.startswith("-") and not made.endswith("-")


def test_a_slug_keeps_the_words() -> None:
    assert slug("Enquête de satisfaction, 3 décembre 2026") == "enquete-de-satisfaction-3-decembre-2026"

"""Names people read instead of IDs: a wave is "Workshop satisfaction survey, 3 December 2026" (its
questionnaire's title and its opening date, in the reader's language) unless an admin named it; and the
ASCII-safe slug of a name for file names."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import Event, Wave
from chalicelib.domain.questionnaires import Questionnaire
from chalicelib.domain.schedule import opening_reference

MAX_NAME = 120
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}


def long_date(value: date | datetime | None, lang: str) -> str:
    """3 December 2026, 3 décembre 2026 (1er décembre), 3 de diciembre de 2026."""
    if value is None:
        return ""
    months = MONTHS.get(lang, MONTHS["en"])
    if lang == "es":
        return f"{value.day} de {months[value.month - 1]} de {value.year}"
    if lang == "fr" and value.day == 1:
        return f"1er {months[value.month - 1]} {value.year}"
    return f"{value.day} {months[value.month - 1]} {value.year}"


def opening_day(event: Event, wave: Wave) -> date:
    """When the wave opened, or when it is due to open, as a day in the event's time zone."""
    from zoneinfo import ZoneInfo

    when = wave.opened_at or wave.opens.at or opening_reference(event, wave.opens)
    return when.astimezone(ZoneInfo(event.timezone)).date()


def default_wave_name(event: Event, wave: Wave, questionnaire: Questionnaire, lang: str) -> str:
    title = questionnaire.title.get(lang) or questionnaire.title.get("en") or questionnaire.id.capitalize()
    return f"{title}, {long_date(opening_day(event, wave), lang)}"


def wave_name(event: Event, wave: Wave, questionnaire: Questionnaire, lang: str = "en") -> str:
    """The wave's name: the one an admin gave it, else the default in ``lang``."""
    return wave.name or default_wave_name(event, wave, questionnaire, lang)


def clean_name(raw: object) -> str | None:
    """An admin's name for a wave: one line of at most 120 characters; empty means back to the default."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationFailed("name must be a string")
    name = " ".join(raw.split())
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValidationFailed("name must be one line of text")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"name must be at most {MAX_NAME} characters")
    return name or None


def slug(text: str, *, limit: int = 60) -> str:
    """ASCII letters, digits and hyphens only: safe in any file name and Content-Disposition header."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-") or "wave"

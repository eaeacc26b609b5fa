"""Event use cases: create, edit (the dates lock, and moving the planned invitations with the dates), and the
event's JSON view."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain import catalogue
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.model import INVITATION, LANGUAGES, Event, Invitation, Wave, new_id
from chalicelib.domain.planning import participant_zone
from chalicelib.domain.ports import Store
from chalicelib.domain.schedule import closes_at, invitation_due, opening_reference
from chalicelib.domain.text import require_one_line
from chalicelib.domain.waves import sending_started

MAX_TITLE = 200


def _text(body: Mapping[str, Any], name: str, *, required: bool, limit: int = MAX_TITLE) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{name} is required")
    if len(value) > limit:
        raise ValidationFailed(f"{name} must be at most {limit} characters")
    return require_one_line(name, value)


def _date(body: Mapping[str, Any], name: str) -> date:
    value = body.get(name)
    try:
        return date.fromisoformat(value) if isinstance(value, str) else date.fromisoformat("")
    except ValueError:
        raise ValidationFailed(f"{name} must be a date, YYYY-MM-DD") from None


def _event_fields(body: Any) -> dict[str, Any]:
    """The validated fields of an event form or body (create and edit share them)."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    title = _text(body, "title", required=True)
    starts_on, ends_on = _date(body, "starts_on"), _date(body, "ends_on")
    if ends_on < starts_on:
        raise ValidationFailed("ends_on must not be before starts_on")
    tz = _text(body, "timezone", required=True, limit=64)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("timezone must be an IANA name such as Europe/Geneva") from None
    languages = body.get("languages", list(LANGUAGES))
    if (
        not isinstance(languages, list)
        or not languages
        or any(lang not in LANGUAGES for lang in languages)
        or len(set(languages)) != len(languages)
    ):
        raise ValidationFailed(f"languages must be a non-empty list drawn from {list(LANGUAGES)}")
    return {
        "title": title,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "timezone": tz,
        "venue": _text(body, "venue", required=False),
        "theme": _text(body, "theme", required=False, limit=500),
        "languages": languages,
    }


def create_event(store: Store, body: Any, now: datetime) -> Event:
    """Validate and store a new event."""
    event = Event(event_id=new_id("ev"), created_at=now, **_event_fields(body))
    store.put_event(event)
    return event


def update_event(store: Store, event_id: str, body: Any, *, now: datetime) -> Event:
    """Change an event. Title, venue and theme change freely. New languages need text in every wave's
    questionnaire. The dates and the time zone move the waves' schedules, so they can change only while
    no wave has started sending; then every planned invitation and closing date moves with them."""
    current = store.get_event(event_id)
    event = Event(event_id=event_id, created_at=current.created_at, **_event_fields(body))
    waves = store.list_waves(event_id)
    for wave in waves:
        questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
        missing = [lang for lang in event.languages if lang not in questionnaire.languages]
        if missing:
            raise ValidationFailed(
                f"the questionnaire of a wave ({questionnaire.id}) has no text in {', '.join(missing)}"
            )
    moved = (event.starts_on, event.ends_on, event.timezone) != (current.starts_on, current.ends_on, current.timezone)
    plans: list[tuple[Wave, list[Invitation]]] = []
    if moved:
        for wave in waves:
            invitations = store.list_invitations(wave.wave_id)
            if sending_started(wave, invitations):
                raise Conflict(
                    "the dates and the time zone cannot change once a wave has started sending; "
                    "create a new event instead"
                )
            if not wave.event_ids:  # a series wave counts from the series' last event: it keeps its plan
                plans.append((wave, invitations))
    store.put_event(event)
    if plans:
        people = {p.participant_id: p for p in store.list_participants(event_id)}
        for wave, invitations in plans:
            if wave.closes.after_open_days is not None:
                wave.closes_at = closes_at(wave.closes, max(opening_reference(event, wave.opens), now))
                store.put_wave(wave)
            for inv in invitations:
                person = people.get(inv.participant_id)
                if person is None or inv.due_kind != INVITATION:
                    continue
                tz = participant_zone(person, event)
                store.move_invitation(inv, invitation_due(event, wave.opens, tz), tz)
    return event


def event_view(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "title": event.title,
        "theme": event.theme,
        "venue": event.venue,
        "timezone": event.timezone,
        "starts_on": event.starts_on.isoformat(),
        "ends_on": event.ends_on.isoformat(),
        "languages": list(event.languages),
        "created_at": event.created_at.isoformat() if event.created_at else None,
    }

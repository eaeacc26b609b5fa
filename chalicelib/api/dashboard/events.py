"""The events list (every event with its waves' funnels and next send), the event form (create and edit, with
the dates lock shown), and the event page (waves, participants with search and pages, the wave form)."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard.framework import LANGUAGE_NAMES, Ctx, Session, page, params, redirect, render
from chalicelib.api.dashboard.imports import template_links
from chalicelib.domain import catalogue, events, importing, naming, reports, waves
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.importing import MAX_CSV
from chalicelib.domain.model import LANGUAGES, Event
from chalicelib.observability import log_event

PAGE_SIZE = 50
FUNNEL = ("invited", "delivered", "bounced", "opened", "completed", "opted_out", "suppressed", "failed")
NOTICES = {
    "event-created": "The event was created. Next, upload its participants and create a wave.",
    "event-updated": "The event was saved.",
    "wave-created": "The wave was created. Its invitations are planned; they go out at the opening time, "
    "or now if you press “Send now”.",
    "wave-renamed": "The wave's name was saved.",
}
WAVE_DEFAULTS = {
    "questionnaire": "satisfaction",
    "opens_kind": "after_event",
    "opens_after_days": "1",
    "opens_local_time": "09:00",
    "opens_date": "",
    "opens_time": "09:00",
    "reminders": "7",
    "closes_kind": "after_open",
    "closes_after_days": "21",
    "closes_date": "",
    "closes_time": "18:00",
}


# The events list --------------------------------------------------------------------------------------


def events_page(session: Session) -> Response:
    store = container.store()
    now = container.now()
    k = container.settings().suppression_k
    rows = []
    shown = [e for e in store.list_events() if session.principal.sees(e.event_id)]
    for event in sorted(shown, key=lambda e: (e.starts_on, e.event_id), reverse=True):
        listed = []
        names = waves.wave_names(store, event.event_id)
        for wave in waves.waves_in_order(store, event.event_id):
            summary = reports.summarize(store, event.event_id, wave.wave_id, None, k=k)
            listed.append(
                {
                    "wave": wave,
                    "name": names[wave.wave_id],
                    "funnel": summary["funnel"],
                    "next_send": waves.next_send(store, wave, now),
                }
            )
        upcoming = [w["next_send"] for w in listed if w["next_send"] is not None]
        rows.append({"event": event, "waves": listed, "next_send": min(upcoming, default=None)})
    return render("events", session=session, section="events", rows=rows, now=now)


# Creating and editing an event ------------------------------------------------------------------------


@page("/dashboard/events/new", role="admin")
def dash_new_event(ctx: Ctx) -> Response:
    ctx.session.principal.require_all_events("creating an event")
    return _event_form(ctx.session, values={"languages": list(LANGUAGES), "timezone": "Europe/Geneva"})


def _event_form(
    session: Session,
    *,
    values: dict[str, Any],
    error: str = "",
    status: int = 200,
    event: Event | None = None,
) -> Response:
    has_waves = locked = False
    if event is not None:
        store = container.store()
        has_waves = bool(store.list_waves(event.event_id))
        locked = waves.dates_locked(store, event.event_id)
    return render(
        "event_new",
        session=session,
        section="" if event else "new",
        status=status,
        values=values,
        error=error,
        languages=LANGUAGE_NAMES,
        event=event,
        has_waves=has_waves,
        locked=locked,
    )


def _event_body(ctx: Ctx) -> dict[str, Any]:
    return {
        "title": ctx.text("title"),
        "starts_on": ctx.text("starts_on"),
        "ends_on": ctx.text("ends_on"),
        "timezone": ctx.text("timezone"),
        "venue": ctx.text("venue"),
        "theme": ctx.text("theme"),
        "languages": [lang for lang in LANGUAGES if lang in ctx.form.get("languages", [])],
    }


@page("/dashboard/events", method="POST", role="admin", purpose="create-event")
def dash_create_event(ctx: Ctx) -> Response:
    ctx.session.principal.require_all_events("creating an event")
    body = _event_body(ctx)
    try:
        event = events.create_event(container.store(), body, container.now())
    except ValidationFailed as exc:
        return _event_form(ctx.session, values=body, error=exc.message, status=422)
    log_event("dashboard event created", event_id=event.event_id)
    return redirect(f"/dashboard/events/{event.event_id}?notice=event-created")


@page("/dashboard/events/{event_id}/edit", role="admin")
def dash_edit_event(ctx: Ctx, event_id: str) -> Response:
    event = container.store().get_event(event_id)
    return _event_form(ctx.session, values=events.event_view(event), event=event)


@page("/dashboard/events/{event_id}/edit", method="POST", role="admin", purpose="edit-event:{event_id}")
def dash_update_event(ctx: Ctx, event_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    body = _event_body(ctx)
    try:
        events.update_event(store, event_id, body, now=container.now())
    except (ValidationFailed, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _event_form(ctx.session, values=body, error=exc.message, status=status, event=event)
    log_event("dashboard event updated", event_id=event_id)
    return redirect(f"/dashboard/events/{event_id}?notice=event-updated")


# The event page ---------------------------------------------------------------------------------------


def event_page(
    ctx: Ctx,
    event_id: str,
    *,
    status: int = 200,
    wave_values: dict[str, str] | None = None,
    wave_error: str = "",
) -> Response:
    """The event page; with ``wave_values`` and ``wave_error``, the wave form as it was sent and what it broke."""
    store = container.store()
    now = container.now()
    k = container.settings().suppression_k
    wanted = params()
    event = store.get_event(event_id)
    people = waves.participants_view(store, event_id)
    listed = []
    for wave in waves.waves_in_order(store, event_id):
        questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
        summary = reports.summarize(store, event_id, wave.wave_id, None, k=k)
        listed.append(
            {
                "wave": wave,
                "view": waves.wave_view(wave),
                "title": naming.wave_name(event, wave, questionnaire),
                "default_name": naming.default_wave_name(event, wave, questionnaire, "en"),
                "funnel": summary["funnel"],
                "next_send": waves.next_send(store, wave, now),
                "closed": wave.closes_at is not None and wave.closes_at <= now,
                "languages": [lang for lang in event.languages if lang in questionnaire.languages],
            }
        )
    search = wanted.get("q", "").strip()[:100]
    needle = search.casefold()
    found = [
        p
        for p in people
        if not needle
        or any(needle in str(p.get(name) or "").casefold() for name in ("full_name", "email", "organisation"))
    ]
    pages = max(1, -(-len(found) // PAGE_SIZE))
    try:
        number = min(max(1, int(wanted.get("page", "1"))), pages)
    except ValueError:
        number = 1
    return render(
        "event",
        session=ctx.session,
        status=status,
        event=event,
        waves=listed,
        participants=found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
        total=len(people),
        matched=len(found),
        search=search,
        page_number=number,
        pages=pages,
        page_size=PAGE_SIZE,
        questionnaires=catalogue.listing(store),
        wave_values={**WAVE_DEFAULTS, **(wave_values or {})},
        wave_error=wave_error,
        notice=NOTICES.get(wanted.get("notice", ""), ""),
        funnel_stages=FUNNEL,
        language_names=LANGUAGE_NAMES,
        max_mb=MAX_CSV // (1024 * 1024),
        templates=template_links(),
        imports=[importing.job_view(j, now) for j in importing.running(store.list_imports(event_id))],
        now=now,
    )


@page("/dashboard/events/{event_id}", role="admin")
def dash_event(ctx: Ctx, event_id: str) -> Response:
    return event_page(ctx, event_id)

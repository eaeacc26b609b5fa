"""Follow-ups across events from the dashboard: the programme page's "New follow-up across events" form, the
series wave's page (its live funnel, "send now", "send reminders") and its report. The same use cases as the
JSON API's ``/admin/series-waves`` (domain/series.py)."""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard.events import FUNNEL
from chalicelib.api.dashboard.framework import Ctx, page, params, redirect, render
from chalicelib.api.errors import html_response
from chalicelib.domain import catalogue, series
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import Wave
from chalicelib.observability import log_event


def _scoped(ctx: Ctx, wave: Wave) -> None:
    for event_id in wave.event_ids:
        ctx.session.principal.require_event(event_id)


def _series_body(ctx: Ctx) -> dict[str, Any]:
    """The form as the body ``series.create_series_wave`` validates (the JSON API's shape)."""

    def whole(name: str, label: str) -> int:
        value = ctx.text(name)
        if not re.fullmatch(r"\d{1,4}", value):
            raise ValidationFailed(f"{label} must be a whole number of days")
        return int(value)

    body: dict[str, Any] = {"questionnaire": ctx.text("questionnaire")}
    chosen = [e for e in ctx.form.get("event_ids", []) if e]
    if ctx.text("select") == "events":
        if not chosen:
            raise ValidationFailed("choose at least one event")
        body["event_ids"] = chosen
    else:
        year = ctx.text("year")
        if not re.fullmatch(r"\d{4}", year):
            raise ValidationFailed("the year must be a year such as 2012")
        body["year"] = int(year)
    body["opens"] = {
        "after_event_days": whole("opens_after_days", "days after the last event"),
        "local_time": ctx.text("opens_local_time") or "09:00",
    }
    reminders = [r for r in re.split(r"[\s,;]+", ctx.text("reminders")) if r]
    if any(not re.fullmatch(r"\d{1,4}", r) for r in reminders):
        raise ValidationFailed("reminders must be whole numbers of days, separated by commas, e.g. 7, 14")
    body["reminders_after_days"] = [int(r) for r in reminders]
    body["closes"] = {"after_open_days": whole("closes_after_days", "days open")}
    return body


def series_form_context(ctx: Ctx, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the programme page needs for its "New follow-up across events" part."""
    store = container.store()
    principal = ctx.session.principal
    k = container.settings().suppression_k
    listed = []
    for wave in series.list_series_waves(store):
        if not all(principal.sees(e) for e in wave.event_ids):
            continue
        summary = series.series_summary(store, wave.wave_id, by="language", k=k)
        listed.append({"view": series.series_view(store, wave), "funnel": summary["funnel"]})
    defaults = {
        "select": "year",
        "year": "",
        "event_ids": [],
        "questionnaire": "impact",
        "opens_after_days": "90",
        "opens_local_time": "09:00",
        "reminders": "7, 14",
        "closes_after_days": "30",
    }
    return {
        "series_waves": listed,
        "series_events": sorted(
            (e for e in store.list_events() if principal.sees(e.event_id)), key=lambda e: (e.starts_on, e.event_id)
        ),
        "series_questionnaires": catalogue.listing(store),
        "series_values": {**defaults, **(values or {})},
        "can_create_series": principal.role == "admin" and principal.all_events,
        "series_error": "",
    }


@page("/dashboard/series-waves", method="POST", role="admin", purpose="series-wave")
def dash_create_series_wave(ctx: Ctx) -> Response:
    from chalicelib.api.dashboard.reports import programme_page

    ctx.session.principal.require_all_events("creating a follow-up across events")
    try:
        wave, recipients = series.create_series_wave(
            container.store(),
            _series_body(ctx),
            panel_secret=container.settings().panel_secret,
            now=container.now(),
        )
    except ValidationFailed as exc:
        kept: dict[str, Any] = {name: ctx.text(name) for name in ctx.form if name != "csrf"}
        kept["event_ids"] = ctx.form.get("event_ids", [])
        return programme_page(ctx, status=422, series_values=kept, series_error=exc.message)
    log_event("dashboard series wave created", wave_id=wave.wave_id, recipients=recipients)
    return redirect(f"/dashboard/series-waves/{wave.wave_id}?notice=created")


@page("/dashboard/series-waves/{wave_id}")
def dash_series_wave(ctx: Ctx, wave_id: str) -> Response:
    store = container.store()
    wave = series.get_series_wave(store, wave_id)
    _scoped(ctx, wave)
    summary = series.series_summary(store, wave_id, by="event", k=container.settings().suppression_k)
    now = container.now()
    response = render(
        "series",
        session=ctx.session,
        section="programme",
        view=series.series_view(store, wave),
        wave=wave,
        closed=wave.closes_at is not None and wave.closes_at <= now,
        summary=summary,
        recipients=len(store.list_invitations(wave_id)),
        funnel_stages=FUNNEL,
        notice=params().get("notice", ""),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@page("/dashboard/series-waves/{wave_id}/send", method="POST", role="admin", purpose="series-send:{wave_id}")
def dash_series_send(ctx: Ctx, wave_id: str) -> Response:
    store = container.store()
    _scoped(ctx, series.get_series_wave(store, wave_id))
    s = container.settings()
    result = series.send_series_now(
        store, container.send_queue(), wave_id, panel_secret=s.panel_secret, now=container.now(), limit=s.schedule_batch
    )
    log_event("dashboard series send", wave_id=wave_id, queued=result["queued"])
    return redirect(f"/dashboard/series-waves/{wave_id}?notice=sent")


@page("/dashboard/series-waves/{wave_id}/remind", method="POST", role="admin", purpose="series-remind:{wave_id}")
def dash_series_remind(ctx: Ctx, wave_id: str) -> Response:
    store = container.store()
    _scoped(ctx, series.get_series_wave(store, wave_id))
    result = series.remind_series_now(store, container.send_queue(), wave_id, container.now())
    log_event("dashboard series remind", wave_id=wave_id, queued=result["queued"])
    return redirect(f"/dashboard/series-waves/{wave_id}?notice=reminded")


@page("/dashboard/series-waves/{wave_id}/report")
def dash_series_report(ctx: Ctx, wave_id: str) -> Response:
    store = container.store()
    _scoped(ctx, series.get_series_wave(store, wave_id))
    wanted = params()
    lang = wanted.get("lang", "en") if wanted.get("lang") in ("en", "fr", "es") else "en"
    by = wanted.get("by") if wanted.get("by") in series.SERIES_BY else "event"
    data = series.series_report_data(store, wave_id, by, k=container.settings().suppression_k)
    return html_response(container.renderer().render_page("report", lang, {**data, "report_lang": lang}))

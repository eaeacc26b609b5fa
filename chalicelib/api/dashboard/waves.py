"""A wave from the dashboard: the wave form (dates in the event's time zone), "send now", "send reminders",
and the sending page that follows them (what the sender still owes, what SES took and confirmed)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard.events import event_page
from chalicelib.api.dashboard.framework import Ctx, page, params, redirect, render
from chalicelib.domain import distribution, reports, waves
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import Event
from chalicelib.observability import log_event


def _wave_body(ctx: Ctx, event: Event) -> dict[str, Any]:
    """The wave form as the body ``waves.create_wave`` validates (the same shape as the JSON API's)."""

    def whole(name: str, label: str) -> int:
        value = ctx.text(name)
        if not re.fullmatch(r"\d{1,4}", value):
            raise ValidationFailed(f"{label} must be a whole number of days")
        return int(value)

    def instant(prefix: str, label: str) -> str:
        try:
            local = datetime.fromisoformat(f"{ctx.text(prefix + '_date')}T{ctx.text(prefix + '_time') or '00:00'}")
            return local.replace(tzinfo=ZoneInfo(event.timezone)).isoformat()
        except (ValueError, ZoneInfoNotFoundError):
            raise ValidationFailed(f"{label} needs a date and a time") from None

    body: dict[str, Any] = {"questionnaire": ctx.text("questionnaire")}
    if ctx.text("opens_kind") == "at":
        body["opens"] = {"at": instant("opens", "the opening")}
    else:
        body["opens"] = {
            "after_event_days": whole("opens_after_days", "days after the event"),
            "local_time": ctx.text("opens_local_time") or "09:00",
        }
    reminders = [r for r in re.split(r"[\s,;]+", ctx.text("reminders")) if r]
    if any(not re.fullmatch(r"\d{1,4}", r) for r in reminders):
        raise ValidationFailed("reminders must be whole numbers of days, separated by commas, e.g. 7, 14")
    body["reminders_after_days"] = [int(r) for r in reminders]
    if ctx.text("closes_kind") == "at":
        body["closes"] = {"at": instant("closes", "the closing")}
    else:
        body["closes"] = {"after_open_days": whole("closes_after_days", "days open")}
    return body


@page("/dashboard/events/{event_id}/waves", method="POST", role="admin", purpose="wave:{event_id}")
def dash_create_wave(ctx: Ctx, event_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    try:
        wave = waves.create_wave(
            store,
            event_id,
            _wave_body(ctx, event),
            panel_secret=container.settings().panel_secret,
            now=container.now(),
        )
    except ValidationFailed as exc:
        kept = {name: ctx.text(name) for name in ctx.form if name != "csrf"}
        return event_page(ctx, event_id, status=422, wave_values=kept, wave_error=exc.message)
    log_event("dashboard wave created", event_id=event_id, wave_id=wave.wave_id)
    return redirect(f"/dashboard/events/{event_id}?notice=wave-created#wave-{wave.wave_id}")


@page(
    "/dashboard/events/{event_id}/waves/{wave_id}/send",
    method="POST",
    role="admin",
    purpose="send:{event_id}:{wave_id}",
)
def dash_send(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    result = container.send_wave_now(event_id, wave_id)
    log_event("dashboard send", event_id=event_id, wave_id=wave_id, queued=result["queued"])
    counts = {"queued": result["queued"], "due_now": result["due_now"], "planned": result["planned"]}
    # Post, redirect, get: the page that follows the sending can be reloaded without sending again.
    return redirect(f"/dashboard/events/{event_id}/waves/{wave_id}/sending?" + urlencode({"action": "send", **counts}))


@page(
    "/dashboard/events/{event_id}/waves/{wave_id}/remind",
    method="POST",
    role="admin",
    purpose="remind:{event_id}:{wave_id}",
)
def dash_remind(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    store = container.store()
    before = waves.manual_reminders(store, wave_id)
    result = distribution.remind_now(store, container.send_queue(), event_id, wave_id, container.now())
    log_event("dashboard remind", event_id=event_id, wave_id=wave_id, queued=result.get("queued"))
    counts = {"action": "remind", "queued": int(result.get("queued") or 0), "before": before}
    return redirect(f"/dashboard/events/{event_id}/waves/{wave_id}/sending?" + urlencode(counts))


def _count_param(wanted: dict[str, str], name: str) -> int:
    value = wanted.get(name, "0")
    return min(int(value), 10**7) if value.isdigit() else 0


@page("/dashboard/events/{event_id}/waves/{wave_id}/sending", role="admin")
def dash_sending(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    """What a "send now" or "send reminders" started, and how far the sender has gone: the emails still
    owed now (queued or about to be), those the mail service took, and those it confirmed delivered."""
    store = container.store()
    wanted = params()
    action = "remind" if wanted.get("action") == "remind" else "send"
    wave = store.get_wave(event_id, wave_id)
    if action == "remind":
        owed = waves.reminders_owed(
            store, wave_id, queued=_count_param(wanted, "queued"), before=_count_param(wanted, "before")
        )
    else:
        owed = waves.invitations_owed(store, wave_id, now=container.now())
    summary = reports.summarize(store, event_id, wave_id, None, k=container.settings().suppression_k)
    response = render(
        "send_result",
        session=ctx.session,
        event=store.get_event(event_id),
        wave=wave,
        action=action,
        result={name: _count_param(wanted, name) for name in ("queued", "due_now", "planned")},
        owed=owed,
        funnel=summary["funnel"],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@page(
    "/dashboard/events/{event_id}/waves/{wave_id}/name",
    method="POST",
    role="admin",
    purpose="rename:{event_id}:{wave_id}",
)
def dash_rename_wave(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    waves.rename_wave(container.store(), event_id, wave_id, {"name": ctx.text("name")})
    return redirect(f"/dashboard/events/{event_id}?notice=wave-renamed#wave-{wave_id}")

"""Reading the results: an event's report (the JSON API's own report, inside the dashboard's frame, with its
sentences ready to paste), its CSV exports, and the programme view of one indicator across a year's events."""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Response

from chalicelib import container
from chalicelib.api import admin as admin_api
from chalicelib.api.dashboard.framework import LANGUAGE_NAMES, Ctx, page, params, redirect, render
from chalicelib.domain import catalogue, reports, shares, waves
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import DIMENSIONS, LANGUAGES

DIMENSION_NAMES = {
    "stakeholder_group": "Stakeholder group",
    "region": "Region",
    "income_group": "Income group",
    "sponsored": "Sponsored or not",
    "language": "Language",
    "mode": "Response mode",
}
NOTICES = {"share-revoked": "The shared link was revoked: it no longer opens the report."}
_MAIN = re.compile(r"<main\b[^>]*>(.*)</main>", re.DOTALL)


@page("/dashboard/events/{event_id}/report")
def dash_report(ctx: Ctx, event_id: str) -> Response:
    from markupsafe import Markup

    store = container.store()
    wanted = params()
    event = store.get_event(event_id)
    listed = waves.waves_in_order(store, event_id)
    by = wanted.get("by") if wanted.get("by") in DIMENSIONS else "stakeholder_group"
    if not listed:
        return render("report", session=ctx.session, event=event, waves=[], content="", by=by, notice="")
    wave_id = wanted.get("wave")
    if not any(w.wave_id == wave_id for w in listed):
        wave_id = listed[-1].wave_id
    data = reports.report_data(store, event_id, wave_id, by, k=container.settings().suppression_k)
    # The very report the JSON API serves, without its page frame: one report, in two places.
    html = container.renderer().render_page("report", "en", {**data, "report_lang": "en"})
    found = _MAIN.search(html)
    fragment = found.group(1) if found else ""
    content = Markup(fragment)  # noqa: S704 - rendered by our autoescaped template  # nosec B704
    sentences = data["summary"].get("sentences", {})
    return render(
        "report",
        session=ctx.session,
        event=event,
        waves=listed,
        wave_id=wave_id,
        by=by,
        dimensions=DIMENSION_NAMES,
        content=content,
        sentences=[(code, LANGUAGE_NAMES[code], sentences.get(code, [])) for code in LANGUAGES],
        shares=store.list_shares(event_id) if ctx.session.is_admin else [],
        wave_names=waves.wave_names(store, event_id),
        language_names=LANGUAGE_NAMES,
        notice=NOTICES.get(wanted.get("notice", ""), ""),
        max_days=shares.MAX_DAYS,
        default_days=shares.DEFAULT_DAYS,
    )


@page("/dashboard/events/{event_id}/shares", method="POST", role="admin", purpose="share:{event_id}")
def dash_share(ctx: Ctx, event_id: str) -> Response:
    raw_days = ctx.text("expires_in_days", str(shares.DEFAULT_DAYS))
    if not re.fullmatch(r"\d{1,3}", raw_days):
        raise ValidationFailed(f"the number of days must be a whole number from 1 to {shares.MAX_DAYS}")
    body = {
        "wave": ctx.text("wave"),
        "by": ctx.text("by", "stakeholder_group"),
        "lang": ctx.text("lang", "en"),
        "expires_in_days": int(raw_days),
        "include_comments": ctx.text("include_comments") == "yes",
    }
    store = container.store()
    share, token = shares.create_share(store, event_id, body, now=container.now())
    # The link is shown on this page only, never put in a URL: only its hash is stored.
    return render(
        "share_created",
        session=ctx.session,
        event=store.get_event(event_id),
        share=share,
        url=f"{container.settings().public_base_url}/r/{token}",
        wave_name=waves.wave_names(store, event_id)[share.wave_id],
        language_names=LANGUAGE_NAMES,
        status=201,
    )


@page(
    "/dashboard/events/{event_id}/shares/{share_id}/revoke",
    method="POST",
    role="admin",
    purpose="share-revoke:{event_id}",
)
def dash_revoke_share(ctx: Ctx, event_id: str, share_id: str) -> Response:
    shares.revoke_share(container.store(), event_id, share_id)
    target = f"/dashboard/events/{event_id}/report?notice=share-revoked"
    wave = ctx.text("wave")
    if re.fullmatch(r"wv_[0-9a-f]{12}", wave):
        target += f"&wave={wave}"
    return redirect(target + "#h-share")


@page("/dashboard/events/{event_id}/export.csv")
def dash_export(ctx: Ctx, event_id: str) -> Response:
    return admin_api.export_response(event_id, params())


@page("/dashboard/programme")
def dash_programme(ctx: Ctx) -> Response:
    return programme_page(ctx)


def programme_page(ctx: Ctx, *, status: int = 200, **extra: Any) -> Response:
    """The programme page; ``extra`` is the follow-up form's kept values and error, when it was refused."""
    from chalicelib.api.dashboard.series import series_form_context

    store = container.store()
    wanted = params()
    now = container.now()
    principal = ctx.session.principal
    indicators = sorted(
        {q["indicator"] for item in catalogue.listing(store) for q in item["questions"] if q.get("indicator")}
    )
    years = sorted({e.year for e in store.list_events() if principal.sees(e.event_id)} | {now.year})
    raw_year = wanted.get("year", str(now.year))
    if not re.fullmatch(r"\d{4}", raw_year):
        raise ValidationFailed("year must be a year such as 2026")
    year = int(raw_year)
    indicator = wanted.get("indicator", "")
    if indicator not in indicators:
        indicator = "mutual_learning"
    k = container.settings().suppression_k
    data = reports.programme(store, year, indicator, k=k, only_events=principal.scope)
    # The trend runs over every year the user sees, oldest wave first, so that one event is not one dot.
    trend = [
        row
        for y in years
        for row in (data if y == year else reports.programme(store, y, indicator, k=k, only_events=principal.scope))[
            "waves"
        ]
    ]
    trend.sort(key=lambda r: (r["starts_on"], r["wave_id"]))
    return render(
        "programme",
        session=ctx.session,
        status=status,
        section="programme",
        **{**series_form_context(ctx, extra.pop("series_values", None)), **extra},
        year=year,
        years=years,
        indicator=indicator,
        indicators=indicators,
        rows=data["waves"],
        trend=[
            {**r, "label": f"{r['title']}: {r['wave_name']}", "agree_pct": None if r["suppressed"] else r["agree_pct"]}
            for r in trend
        ],
    )

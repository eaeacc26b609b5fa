"""Collecting answers at the event itself: the wave's personal QR cards (the print sheet and its CSV), served
the very same way as the JSON API's."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api import admin as admin_api
from chalicelib.api.dashboard.framework import Ctx, page, params, render


@page("/dashboard/events/{event_id}/waves/{wave_id}/cards", role="admin")
def dash_cards(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    return admin_api.cards_response(event_id, wave_id, params().get("format", "html"))


@page(
    "/dashboard/events/{event_id}/waves/{wave_id}/open-link",
    method="POST",
    role="admin",
    purpose="openlink:{event_id}:{wave_id}",
)
def dash_open_link(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    """A new open link for a slide, open from ``starts_in`` minutes from now for ``minutes`` minutes. Its
    address is shown once, on this page (only its hash is kept)."""
    from datetime import timedelta

    from chalicelib import container
    from chalicelib.adapters.qr import qr_svg
    from chalicelib.domain import openlinks
    from chalicelib.domain.errors import ValidationFailed

    def minutes(name: str, default: str, low: int, high: int) -> int:
        raw = ctx.text(name, default).strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ValidationFailed(f"{name.replace('_', ' ')} must be a whole number of minutes from {low} to {high}")
        return int(raw)

    now = container.now()
    start = now + timedelta(minutes=minutes("starts_in", "0", 0, 60 * 24 * 14))
    end = start + timedelta(minutes=minutes("minutes", "60", 5, 60 * 24 * 14))
    store = container.store()
    made = openlinks.create_open_link(
        store,
        event_id,
        wave_id,
        {"opens_at": start.isoformat(), "closes_at": end.isoformat()},
        base_url=container.settings().public_base_url,
        now=now,
    )
    return render(
        "open_link",
        session=ctx.session,
        event=store.get_event(event_id),
        wave_id=wave_id,
        made=made,
        opens_at=start,
        closes_at=end,
        code=qr_svg(made["url"], label="QR code of the open link", scale=6, border=2),
    )

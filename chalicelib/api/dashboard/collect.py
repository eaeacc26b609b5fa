"""Collecting answers at the event itself: the wave's personal QR cards (the print sheet and its CSV), served
the very same way as the JSON API's."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api import admin as admin_api
from chalicelib.api.dashboard.framework import Ctx, page, params


@page("/dashboard/events/{event_id}/waves/{wave_id}/cards", role="admin")
def dash_cards(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    return admin_api.cards_response(event_id, wave_id, params().get("format", "html"))

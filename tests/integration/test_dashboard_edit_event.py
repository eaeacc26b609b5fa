"""Editing an event from the dashboard and through the JSON API: free text changes freely; the dates and
the time zone move the planned invitations and closing dates, until a wave starts sending."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from chalicelib import container
from tests.support.data import CSV, EVENT_FORM, WAVE_FORM
from tests.support.visitor import Visitor, create_event, csrf_for, page_text


def edit_form(admin: Visitor, event_id: str) -> tuple[Any, str]:
    form = admin.get(f"/dashboard/events/{event_id}/edit")
    assert form.status_code == 200, page_text(form)
    return form, csrf_for(form, f"/dashboard/events/{event_id}/edit")


def fields(**changes: Any) -> dict[str, Any]:
    return {**EVENT_FORM, **changes}


def with_wave(admin: Visitor, event_id: str) -> str:
    page = admin.get(f"/dashboard/events/{event_id}")
    token = csrf_for(page, f"/dashboard/events/{event_id}/participants")
    assert (
        admin.upload(f"/dashboard/events/{event_id}/participants", {"csrf": token}, "l.csv", CSV.encode()).status_code
        == 200
    )
    page = admin.get(f"/dashboard/events/{event_id}")
    created = admin.post(
        f"/dashboard/events/{event_id}/waves",
        {"csrf": csrf_for(page, f"/dashboard/events/{event_id}/waves"), **WAVE_FORM},
    )
    assert created.status_code == 303
    return re.search(r"#wave-(wv_[0-9a-f]+)$", created.headers["Location"]).group(1)


def test_the_edit_form_shows_the_event_and_saves_changes(client, admin):
    event_id = create_event(admin)
    form, token = edit_form(admin, event_id)
    text = page_text(form)
    assert "Edit the event" in text and 'value="Dialogue on Migration"' in text and 'value="2026-11-02"' in text
    assert "readonly" not in text
    saved = admin.post(
        f"/dashboard/events/{event_id}/edit",
        {
            "csrf": token,
            **fields(title="Dialogue on Labour Migration", venue="Palais des Nations", languages=["en", "fr"]),
        },
    )
    assert saved.status_code == 303 and saved.headers["Location"].endswith("?notice=event-updated")
    event = container.store().get_event(event_id)
    assert (event.title, event.venue, event.languages) == (
        "Dialogue on Labour Migration",
        "Palais des Nations",
        ["en", "fr"],
    )
    assert event.created_at is not None
    assert "The event was saved." in page_text(admin.get(f"/dashboard/events/{event_id}?notice=event-updated"))


def test_a_bad_edit_comes_back_with_the_values_kept(client, admin):
    event_id = create_event(admin)
    _, token = edit_form(admin, event_id)
    bad = admin.post(
        f"/dashboard/events/{event_id}/edit", {"csrf": token, **fields(ends_on="2026-11-01", title="Kept")}
    )
    assert bad.status_code == 422
    text = page_text(bad)
    assert "There is a problem" in text and "Ends_on must not be before starts_on" in text and 'value="Kept"' in text
    assert container.store().get_event(event_id).title == "Dialogue on Migration"
    refused = admin.post(f"/dashboard/events/{event_id}/edit", {"csrf": "forged", **fields()})
    assert refused.status_code == 403


def test_moving_the_dates_moves_the_planned_invitations_and_the_closing(client, admin):
    event_id = create_event(admin)
    wave_id = with_wave(admin, event_id)
    store = container.store()
    before = {i.participant_id: i.due_at for i in store.list_invitations(wave_id)}
    closes_before = store.get_wave(event_id, wave_id).closes_at
    _, token = edit_form(admin, event_id)
    saved = admin.post(
        f"/dashboard/events/{event_id}/edit", {"csrf": token, **fields(starts_on="2026-12-07", ends_on="2026-12-08")}
    )
    assert saved.status_code == 303
    after = {i.participant_id: i.due_at for i in store.list_invitations(wave_id)}
    assert after.keys() == before.keys()
    for pid, due in after.items():
        shift = due - before[pid]
        assert shift.days in (34, 35), (pid, shift)  # five weeks later, give or take a DST hour
    assert all(d.astimezone().date() >= datetime(2026, 12, 8).date() for d in after.values())
    # The closing counts 21 days from the new opening: 9 December, 09:00 in Zurich (08:00 UTC).
    assert store.get_wave(event_id, wave_id).closes_at == datetime(2026, 12, 30, 8, 0, tzinfo=UTC) != closes_before


def test_dates_are_locked_once_a_wave_has_started_sending(client, admin):
    event_id = create_event(admin)
    wave_id = with_wave(admin, event_id)
    page = admin.get(f"/dashboard/events/{event_id}")
    sent = admin.post(
        f"/dashboard/events/{event_id}/waves/{wave_id}/send",
        {"csrf": csrf_for(page, f"/dashboard/events/{event_id}/waves/{wave_id}/send")},
    )
    assert sent.status_code == 303
    form, token = edit_form(admin, event_id)
    assert "can no longer change" in page_text(form) and "readonly" in page_text(form)
    moved = admin.post(f"/dashboard/events/{event_id}/edit", {"csrf": token, **fields(ends_on="2026-11-04")})
    assert moved.status_code == 409 and "cannot change once a wave has started sending" in page_text(moved)
    assert container.store().get_event(event_id).ends_on.isoformat() == "2026-11-03"
    # The title still changes.
    assert (
        admin.post(f"/dashboard/events/{event_id}/edit", {"csrf": token, **fields(title="Renamed")}).status_code == 303
    )


def test_the_json_api_updates_an_event(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"}
    body = {"title": "API event", "starts_on": "2026-11-02", "ends_on": "2026-11-03", "timezone": "Europe/Zurich"}
    created = client.http.post("/admin/events", headers=headers, body=json.dumps(body))
    event_id = json.loads(created.body)["event_id"]
    updated = client.http.put(
        f"/admin/events/{event_id}", headers=headers, body=json.dumps({**body, "venue": "Bern", "languages": ["en"]})
    )
    assert updated.status_code == 200, updated.body
    assert json.loads(updated.body)["venue"] == "Bern"
    viewer = {"Authorization": f"Bearer {tokens['viewer']}", "Content-Type": "application/json"}
    assert client.http.put(f"/admin/events/{event_id}", headers=viewer, body=json.dumps(body)).status_code == 403
    bad = client.http.put(
        f"/admin/events/{event_id}", headers=headers, body=json.dumps({**body, "timezone": "Mars/Base"})
    )
    assert bad.status_code == 400 and json.loads(bad.body)["error"]["code"] == "invalid"

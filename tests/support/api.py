"""The admin JSON API through the Chalice test client: headers, the standard event, imports, waves, sending,
the schedule's cron, and the reads the tests check (funnel, participants)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from tests.support.clock import Clock
from tests.support.data import CSV, EVENT, TITLE, WAVE, csv_of
from tests.support.stack import Stack


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def body(response: Any) -> Any:
    return json.loads(response.body)


def make_event(client: Any, token: str, **fields: Any) -> str:
    """Create the standard event (data.EVENT), with any field replaced; a field given as None is left out."""
    payload = {key: value for key, value in {**EVENT, **fields}.items() if value is not None}
    r = client.http.post("/admin/events", headers=auth(token), body=json.dumps(payload))
    assert r.status_code == 201, r.body
    return str(body(r)["event_id"])


def event_ending(client: Any, admin: str, ends_on: date, *, tz: str = "Europe/Zurich", title: str = TITLE) -> str:
    """A two-day event that ends on ``ends_on`` in time zone ``tz``, with no theme: the scheduling tests'."""
    return make_event(
        client,
        admin,
        title=title,
        starts_on=(ends_on - timedelta(days=1)).isoformat(),
        ends_on=ends_on.isoformat(),
        timezone=tz,
        theme=None,
    )


def import_csv(client: Any, token: str, event_id: str, text: str = CSV) -> dict[str, Any]:
    """Upload a registration list as the API takes it; the import's report."""
    r = client.http.post(
        f"/admin/events/{event_id}/participants",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        body=text.encode(),
    )
    assert r.status_code == 200, r.body
    return dict(body(r))


def import_rows(client: Any, admin: str, event_id: str, rows: Iterable[str]) -> dict[str, Any]:
    """Import rows under the standard header; every row must be accepted."""
    report = import_csv(client, admin, event_id, csv_of(rows))
    assert not report["rejected"], report
    return report


def make_wave(
    client: Any,
    admin: str,
    event_id: str,
    *,
    reminders: list[int] | None = None,
    closes: dict[str, Any] | None = None,
    opens: dict[str, Any] | None = None,
) -> str:
    """A satisfaction wave: the standard one (data.WAVE) unless told otherwise."""
    wave = {
        **WAVE,
        "opens": opens or WAVE["opens"],
        "reminders_after_days": reminders if reminders is not None else WAVE["reminders_after_days"],
        "closes": closes or WAVE["closes"],
    }
    r = client.http.post(f"/admin/events/{event_id}/waves", headers=auth(admin), body=json.dumps(wave))
    assert r.status_code == 201, r.body
    return str(body(r)["wave_id"])


def send_route(client: Any, admin: str, event_id: str, wave_id: str) -> dict[str, Any]:
    """Send now."""
    r = client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(admin))
    assert r.status_code == 202, r.body
    return dict(body(r))


def remind_route(client: Any, admin: str, event_id: str, wave_id: str) -> Any:
    return client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/remind", headers=auth(admin))


def sent_wave(client: Any, token: str, stack: Stack) -> tuple[str, str]:
    """The standard event with the standard people and a satisfaction wave whose invitations SES accepted."""
    event_id = make_event(client, token)
    import_csv(client, token, event_id)
    wave_id = make_wave(client, token, event_id)
    client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(token))
    stack.deliver()
    return event_id, wave_id


def run_schedule(client: Any) -> dict[str, Any]:
    """One run of the scheduled Lambda, as its cron rule starts it."""
    event = client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
    return dict(client.lambda_.invoke("schedule", event).payload)


def advance(client: Any, stack: Stack, clock: Clock, start: datetime, until: datetime, every: timedelta) -> None:
    """Run the schedule and the sender at each step from ``start`` to ``until``, as the cron does."""
    clock.now = start
    while clock.now <= until:
        run_schedule(client)
        stack.deliver()
        clock.now += every
    clock.now = until


def funnel(client: Any, viewer: str, event_id: str, wave_id: str) -> dict[str, Any]:
    r = client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(viewer))
    assert r.status_code == 200, r.body
    return dict(body(r)["funnel"])


def participants(client: Any, admin: str, event_id: str) -> dict[str, dict[str, Any]]:
    """The admin listing, by email address."""
    r = client.http.get(f"/admin/events/{event_id}/participants", headers=auth(admin))
    assert r.status_code == 200, r.body
    return {p["email"]: p for p in body(r)["participants"]}

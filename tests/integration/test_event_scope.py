"""Event scoping fails closed (issue 13, defect 3). Seeing every event takes an explicit group, ``events:all``;
a user with no event group sees no event, so removing a scoped viewer's last ``event:<id>`` group revokes their
access instead of widening it; and only an admin of every event creates events and questionnaires."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.api import auth, body, make_event, sent_wave
from tests.support.cognito import Pool
from tests.support.visitor import Visitor, create_event, page_text, sign_in

QUESTIONNAIRE = {
    "id": "pulse_scope",
    "version": 1,
    "languages": ["en"],
    "title": {"en": "Pulse"},
    "questions": [{"id": "useful", "type": "yes_no", "required": True, "text": {"en": "Was it useful?"}}],
}


def reads(client: Any, token: str, event_id: str, wave_id: str) -> dict[str, int]:
    headers = auth(token)
    year = datetime.now(UTC).year
    listed = client.http.get("/admin/events", headers=headers)
    programme = client.http.get(f"/admin/programme?year={year}&indicator=mutual_learning", headers=headers)
    return {
        "listed": len(body(listed)["events"]) if listed.status_code == 200 else -1,
        "summary": client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=headers).status_code,
        "export": client.http.get(
            f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=responses", headers=headers
        ).status_code,
        "programme": len(body(programme)["waves"]) if programme.status_code == 200 else -1,
    }


def test_a_user_with_no_event_group_sees_no_event(client, tokens, stack):
    event_id, wave_id = sent_wave(client, tokens["admin"], stack)
    pool = Pool(stack)
    password = pool.user("nogroup@example.org", "viewer")
    assert reads(client, pool.token("nogroup@example.org", password), event_id, wave_id) == {
        "listed": 0,
        "summary": 403,
        "export": 403,
        "programme": 0,
    }


def test_removing_a_viewers_last_event_group_revokes_their_access(client, tokens, stack):
    event_id, wave_id = sent_wave(client, tokens["admin"], stack)
    make_event(client, tokens["admin"], title="Another workshop")
    pool = Pool(stack)
    password = pool.user("scoped@example.org", "viewer", event_id)
    scoped = reads(client, pool.token("scoped@example.org", password), event_id, wave_id)
    assert scoped["listed"] == 1 and scoped["summary"] == 200 and scoped["export"] == 200
    pool.remove("scoped@example.org", f"event:{event_id}")
    after = reads(client, pool.token("scoped@example.org", password), event_id, wave_id)
    assert after == {"listed": 0, "summary": 403, "export": 403, "programme": 0}


def test_events_all_is_what_lets_a_user_see_every_event(client, tokens, stack):
    event_id, wave_id = sent_wave(client, tokens["admin"], stack)
    make_event(client, tokens["admin"], title="Another workshop")
    pool = Pool(stack)
    password = pool.user("everything@example.org", "viewer")
    pool.add("everything@example.org", "events:all")
    seen = reads(client, pool.token("everything@example.org", password), event_id, wave_id)
    assert seen["listed"] == 2 and seen["summary"] == 200 and seen["export"] == 200 and seen["programme"] == 1


def test_a_scoped_admin_creates_no_event_and_no_questionnaire(client, tokens, stack):
    event_id = make_event(client, tokens["admin"])
    pool = Pool(stack)
    password = pool.user("scoped-admin@example.org", "admin", event_id)
    scoped = auth(pool.token("scoped-admin@example.org", password))
    from tests.support.data import EVENT

    r = client.http.post("/admin/events", headers=scoped, body=json.dumps({**EVENT, "title": "Mine"}))
    assert r.status_code == 403 and "every event" in body(r)["error"]["message"], r.body
    r = client.http.post("/admin/questionnaires", headers=scoped, body=json.dumps(QUESTIONNAIRE))
    assert r.status_code == 403 and "every event" in body(r)["error"]["message"], r.body
    # Their own event stays theirs to run.
    r = client.http.put(f"/admin/events/{event_id}", headers=scoped, body=json.dumps({**EVENT, "venue": "Bern"}))
    assert r.status_code == 200, r.body
    # An admin of every event still does both.
    assert client.http.post(
        "/admin/questionnaires", headers=auth(tokens["admin"]), body=json.dumps(QUESTIONNAIRE)
    ).status_code in (200, 201)


@pytest.mark.parametrize("path", ["/dashboard/events/new"])
def test_the_dashboard_offers_a_scoped_admin_no_new_event(client, admin, stack, path):
    event_id = create_event(admin)
    pool = Pool(stack)
    password = pool.user("scoped-dash@example.org", "admin", event_id)
    scoped = Visitor(client)
    assert sign_in(scoped, "scoped-dash@example.org", password).status_code == 303
    assert "New event" not in page_text(scoped.get("/dashboard"))
    r = scoped.get(path)
    assert r.status_code == 403 and "every event" in page_text(r)


def test_the_dashboard_shows_a_user_with_no_event_group_no_event(client, admin, stack):
    create_event(admin, "First workshop")
    pool = Pool(stack)
    password = pool.user("nogroup-dash@example.org", "viewer")
    visitor = Visitor(client)
    assert sign_in(visitor, "nogroup-dash@example.org", password).status_code == 303
    assert "First workshop" not in page_text(visitor.get("/dashboard"))

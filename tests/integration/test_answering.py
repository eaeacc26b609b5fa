"""Answering edge cases: throttling keeps the answers, custom questionnaires through the API."""

from __future__ import annotations

import json

from chalicelib.adapters.store import DynamoStore
from chalicelib.domain.errors import TemporarilyUnavailable
from tests.support.api import auth, body, sent_wave
from tests.support.mail import link_token

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_throttled_database_shows_the_form_again_with_every_answer_kept(client, tokens, stack, monkeypatch):
    admin = tokens["admin"]
    _, wave_id = sent_wave(client, admin, stack)
    token = link_token(stack.ses_messages()[0])

    def throttled(*args, **kwargs):
        raise TemporarilyUnavailable("the database is busy; try again")

    answers = b"overall=4&mutual_learning=5&understanding=4&cooperation_measures=3&comments=kept+text"
    with monkeypatch.context() as patch:
        patch.setattr(DynamoStore, "store_response", throttled)
        r = client.http.post(f"/s/{token}?lang=en", headers=FORM, body=answers)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    assert b"kept text" in r.body
    assert b'name="cooperation_measures" value="3" checked' in r.body
    assert b"not saved yet" in r.body
    from chalicelib import container

    assert list(container.store().list_responses(wave_id)) == []
    assert client.http.post(f"/s/{token}?lang=en", headers=FORM, body=answers).status_code == 303


CUSTOM = {
    "id": "training_pulse",
    "version": 1,
    "languages": ["en", "fr", "es"],
    "title": {"en": "Training pulse", "fr": "Sondage formation", "es": "Sondeo formación"},
    "questions": [
        {
            "id": "useful",
            "type": "yes_no",
            "required": True,
            "indicator": "useful",
            "text": {"en": "Was it useful?", "fr": "Était-ce utile ?", "es": "¿Fue útil?"},
        }
    ],
}


def test_an_admin_adds_a_questionnaire_and_its_versions_never_change(client, tokens):
    r = client.http.post("/admin/questionnaires", headers=auth(tokens["admin"]), body=json.dumps(CUSTOM))
    assert r.status_code == 201, r.body
    assert body(r)["id"] == "training_pulse"
    listed = body(client.http.get("/admin/questionnaires", headers=auth(tokens["viewer"])))["questionnaires"]
    assert {q["id"] for q in listed} >= {"satisfaction", "impact", "training_pulse"}
    again = client.http.post("/admin/questionnaires", headers=auth(tokens["admin"]), body=json.dumps(CUSTOM))
    assert again.status_code == 409
    assert body(again)["error"]["code"] == "conflict"


def test_an_invalid_questionnaire_gets_a_400_naming_each_problem(client, tokens):
    broken = {**CUSTOM, "id": "Bad Id", "questions": [{**CUSTOM["questions"][0], "text": {"en": "Only English"}}]}
    r = client.http.post("/admin/questionnaires", headers=auth(tokens["admin"]), body=json.dumps(broken))
    assert r.status_code == 400
    problems = body(r)["error"]["details"]
    assert any(p.startswith("id:") for p in problems)
    assert any("missing translation for 'fr'" in p for p in problems)
    assert any("missing translation for 'es'" in p for p in problems)
    viewer = client.http.post("/admin/questionnaires", headers=auth(tokens["viewer"]), body=json.dumps(CUSTOM))
    assert viewer.status_code == 403
    builtin = client.http.post(
        "/admin/questionnaires", headers=auth(tokens["admin"]), body=json.dumps({**CUSTOM, "id": "satisfaction"})
    )
    assert builtin.status_code == 400

"""One-line fields hold one line (issue 13, defect 1): a line break or control character in an event's title,
venue or theme, a participant's name or organisation, or a questionnaire's texts is refused where it enters,
naming the field; and an email that still cannot be built (a stored item from before the rule, or a future
rendering fault) is never claimed and lost silently: the invitation shows as failed, with its reason."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from chalicelib import container
from chalicelib.jobs.handlers import send_records
from tests.support.api import auth, body, funnel, import_csv, make_event, make_wave, send_route
from tests.support.data import EVENT, EVENT_FORM, csv_of
from tests.support.visitor import Visitor, csrf_for, page_text

# What Word, a copied PDF or a hostile client put in a one-line field: the line and paragraph separators, the
# vertical tab and form feed, a bare line feed or carriage return, NEL, a C0 and a C1 control, and a bidi
# override (Cf) that reverses what a reader sees.
BREAKERS = ["\u2028", "\u2029", "\x0b", "\x0c", "\n", "\r", "\x85", "\x07", "\x9b", "\u202e"]


@pytest.mark.parametrize("field", ["title", "venue", "theme"])
@pytest.mark.parametrize("char", BREAKERS, ids=lambda c: f"U+{ord(c):04X}")
def test_an_event_field_with_a_line_break_or_control_is_refused_naming_the_field(client, tokens, field, char):
    r = client.http.post(
        "/admin/events",
        headers=auth(tokens["admin"]),
        body=json.dumps({**EVENT, field: f"Dialogue{char}on Migration"}),
    )
    assert r.status_code in (400, 422), r.body
    error = body(r)["error"]
    assert field in error["message"] and "one line" in error["message"], error
    assert f"U+{ord(char):04X}" in error["message"], error


def test_an_edit_cannot_bring_a_line_break_in(client, tokens):
    event_id = make_event(client, tokens["admin"])
    r = client.http.put(
        f"/admin/events/{event_id}",
        headers=auth(tokens["admin"]),
        body=json.dumps({**EVENT, "title": "Dialogue\u2028on Migration"}),
    )
    assert r.status_code in (400, 422) and "title" in body(r)["error"]["message"], r.body
    assert container.store().get_event(event_id).title == EVENT["title"]


def test_joiners_that_scripts_need_are_kept(client, tokens):
    """Zero-width joiner and non-joiner (Cf) spell Persian and Indic names and emoji sequences correctly."""
    title = "Dialogue on Migration \u2014 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f4bb"
    event_id = make_event(client, tokens["admin"], title=title)
    assert container.store().get_event(event_id).title == title


def test_the_dashboard_form_refuses_a_line_break_and_keeps_what_was_typed(client, admin: Visitor):
    form = admin.get("/dashboard/events/new")
    r = admin.post(
        "/dashboard/events",
        {**EVENT_FORM, "csrf": csrf_for(form, "/dashboard/events"), "title": "Dialogue\u2028on Migration"},
    )
    assert r.status_code in (400, 422), r.status_code
    text = page_text(r)
    assert "title" in text and "one line" in text
    assert container.store().list_events() == []


@pytest.mark.parametrize("column", ["full_name", "organisation"])
def test_a_registration_row_with_a_line_break_is_refused_and_the_others_imported(client, tokens, column):
    event_id = make_event(client, tokens["admin"])
    name, organisation = "Amina Diallo", "Ministry of Labour"
    if column == "full_name":
        name = "Amina\u2028Diallo"
    else:
        organisation = '"Ministry\nof Labour"'  # a quoted CSV field may hold a real line break
    report = import_csv(
        client,
        tokens["admin"],
        event_id,
        csv_of(
            [
                f"amina.diallo@example.org,{name},{organisation},government,SN,fr,,yes\n",
                "li.wei@example.org,Li Wei,Tsinghua University,academia,CN,en,Asia/Shanghai,no\n",
            ]
        ),
    )
    assert report["imported"] == 1, report
    (refused,) = report["rejected"]
    assert refused["row"] == 2 and column in refused["reason"] and "one line" in refused["reason"], refused


def test_a_questionnaire_title_with_a_line_break_is_refused(client, tokens):
    definition = {
        "id": "pulse_check",
        "version": 1,
        "languages": ["en"],
        "title": {"en": "Pulse\u2028check"},
        "questions": [{"id": "useful", "type": "yes_no", "required": True, "text": {"en": "Was it useful?"}}],
    }
    r = client.http.post("/admin/questionnaires", headers=auth(tokens["admin"]), body=json.dumps(definition))
    assert r.status_code in (400, 422), r.body
    assert "title" in json.dumps(body(r)) and "one line" in json.dumps(body(r))


def test_an_email_that_cannot_be_built_is_marked_failed_not_lost(client, tokens, stack, caplog):
    """A title stored before the rule (written here straight to the store) makes a subject no email can carry:
    the sender must not claim the invitation and drop the job; each shows as failed, with the reason."""
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    store = container.store()
    store.put_event(dataclasses.replace(store.get_event(event_id), title="Dialogue\u2028on Migration"))
    import_csv(
        client,
        admin,
        event_id,
        csv_of(
            [
                "amina.diallo@example.org,Amina Diallo,Ministry of Labour,government,SN,fr,,yes\n",
                "li.wei@example.org,Li Wei,Tsinghua University,academia,CN,en,Asia/Shanghai,no\n",
            ]
        ),
    )
    wave_id = make_wave(client, admin, event_id)
    assert send_route(client, admin, event_id, wave_id)["queued"] == 2
    bodies = stack.queue_bodies()
    with caplog.at_level(logging.ERROR):
        outcomes = send_records(bodies)
    assert outcomes == {"unsendable": 2}, outcomes
    assert stack.ses_messages() == []
    counts = funnel(client, tokens["viewer"], event_id, wave_id)
    assert counts["invited"] == 0 and counts["failed"] == 2, counts
    invitations = store.list_invitations(wave_id)
    assert {i.status for i in invitations} == {"failed"}
    assert all("could not be built" in (i.failed_reason or "") for i in invitations)
    assert not any(i.sent_kinds for i in invitations), "a claim was taken for an email that was never sent"
    assert any("could not be built" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    # Delivered again (SQS delivers at least once): nothing is counted twice, nothing is sent.
    assert send_records(bodies) == {"unsendable": 2}
    assert funnel(client, tokens["viewer"], event_id, wave_id)["failed"] == 2
    assert stack.ses_messages() == []

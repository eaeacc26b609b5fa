"""The walking skeleton, end to end in-process: event, import, wave, send, answer, summary."""

from __future__ import annotations

import json
from email import message_from_string
from email.policy import default as default_policy
from typing import Any

import pytest

from chalicelib.jobs.handlers import apply_feedback
from devstack import ses_events
from tests.support.api import auth, body, import_csv, make_event, make_wave, sent_wave
from tests.support.mail import link_token


def test_import_reports_each_rejected_row_and_is_idempotent(client, tokens):
    event_id = make_event(client, tokens["admin"])
    report = import_csv(client, tokens["admin"], event_id)
    assert report["imported"] == 4
    reasons = {r["row"]: r["reason"] for r in report["rejected"]}
    assert sorted(reasons) == [6, 7, 8, 9, 10]
    assert "email" in reasons[6]
    assert "stakeholder_group" in reasons[7]
    assert "country" in reasons[8]
    assert "language" in reasons[9]
    assert "repeats row 3" in reasons[10]

    again = import_csv(client, tokens["admin"], event_id)
    assert again["imported"] == 0 and again["updated"] == 4
    listed = body(client.http.get(f"/admin/events/{event_id}/participants", headers=auth(tokens["admin"])))
    assert len(listed["participants"]) == 4
    senegal = next(p for p in listed["participants"] if p["country"] == "SN")
    assert senegal["region"] == "sub_saharan_africa"


def test_whole_path_send_answer_summary(client, tokens, stack):
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    import_csv(client, admin, event_id)
    wave_id = make_wave(client, admin, event_id)

    r = client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(admin))
    assert r.status_code == 202, r.body
    assert body(r)["queued"] == 4
    outcomes = stack.deliver()
    assert outcomes == {"sent": 4}
    sent = stack.ses_messages()
    assert len(sent) == 4

    # Pressing send again, and re-running the schedule, sends nothing more.
    client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(admin))
    client.lambda_.invoke("schedule", client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))
    stack.deliver()
    assert len(stack.ses_messages()) == 4

    # Every email has both parts, the personal link and the one-click unsubscribe headers.
    for message in sent:
        parsed = message_from_string(message.raw_data, policy=default_policy)
        assert parsed["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
        assert parsed["List-Unsubscribe"].strip().startswith("<http://testserver/u/")
        assert parsed.get_body(preferencelist=("plain",)) is not None
        assert parsed.get_body(preferencelist=("html",)) is not None

    # SES reports delivery through SNS.
    from chalicelib import container

    for message in sent:
        records = ses_events.notifications(message.id, message.raw_data, ses_events.token_tags(container.store()))
        apply_feedback(ses_events.sns_messages(records))

    token = link_token(sent[0])
    page = client.http.get(f"/s/{token}?lang=en")
    assert page.status_code == 200
    assert b"furthered mutual learning" in page.body
    assert page.headers["Referrer-Policy"] == "no-referrer"

    form = (
        "overall=5&mutual_learning=5&understanding=4&cooperation_measures=2"
        "&comments=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    )
    r = client.http.post(
        f"/s/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=form.encode()
    )
    assert r.status_code == 303, r.body
    assert r.headers["Location"].startswith(f"/s/{token}/thanks")

    again = client.http.get(f"/s/{token}")
    assert b"<script>alert" not in again.body
    assert b"&lt;script&gt;" in again.body

    summary = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(tokens["viewer"])))
    funnel = summary["funnel"]
    assert funnel["invited"] == 4
    assert funnel["delivered"] == 4
    assert funnel["opened"] == 1
    assert funnel["completed"] == 1
    assert funnel["response_rate"] == 25.0
    questions = {q["id"]: q for q in summary["questions"]}
    # One respondent is below k=5: every figure is suppressed.
    assert questions["mutual_learning"]["n"] == 1
    assert questions["mutual_learning"].get("suppressed") is True
    assert summary["suppression_threshold"] == 5
    assert set(summary["sentences"]) == {"en", "fr", "es"}


def test_edit_replaces_the_answer_and_moves_counts(client, tokens, stack):
    admin = tokens["admin"]
    _, wave_id = sent_wave(client, admin, stack)
    token = link_token(stack.ses_messages()[0])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    base = "overall=4&understanding=4&cooperation_measures=4"
    assert (
        client.http.post(f"/s/{token}", headers=headers, body=(base + "&mutual_learning=5").encode()).status_code == 303
    )
    assert (
        client.http.post(f"/s/{token}", headers=headers, body=(base + "&mutual_learning=1&_v=1").encode()).status_code
        == 303
    )
    # Stale form (no version): still one response, counts moved once.
    assert (
        client.http.post(f"/s/{token}", headers=headers, body=(base + "&mutual_learning=2").encode()).status_code == 303
    )
    from chalicelib import container

    cells = container.store().read_cells(wave_id, "language")
    total: dict[str, int] = {}
    for counters in cells.values():
        for k, v in counters.items():
            total[k] = total.get(k, 0) + v
    assert total["f:completed"] == 1
    assert total["n:mutual_learning"] == 1
    assert total.get("a:mutual_learning:5", 0) == 0
    assert total.get("a:mutual_learning:1", 0) == 0
    assert total["a:mutual_learning:2"] == 1
    responses = list(container.store().list_responses(wave_id))
    assert len(responses) == 1 and responses[0].version == 3


def test_invalid_answers_get_422_with_values_kept(client, tokens, stack):
    sent_wave(client, tokens["admin"], stack)
    token = link_token(stack.ses_messages()[0])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    r = client.http.post(f"/s/{token}?lang=en", headers=headers, body=b"overall=6&understanding=4&comments=keep+me")
    assert r.status_code == 422
    assert b"keep me" in r.body
    assert b'value="4" checked' in r.body
    assert b'id="e-overall"' in r.body and b'id="e-mutual_learning"' in r.body


@pytest.mark.parametrize("token", ["nope", "A" * 43, "A" * 42 + "%21", "x" * 500])
def test_unknown_links_get_the_same_404_page(client, stack, token):
    r = client.http.get(f"/s/{token}")
    assert r.status_code == 404
    assert b"Link not recognised" in r.body
    assert b"Traceback" not in r.body


def test_admin_api_refuses_missing_forged_and_underprivileged_tokens(client, tokens):
    assert client.http.get("/admin/events").status_code == 401
    forged = tokens["admin"][:-4] + ("AAAA" if not tokens["admin"].endswith("AAAA") else "BBBB")
    r = client.http.get("/admin/events", headers=auth(forged))
    assert r.status_code == 401
    assert body(r)["error"]["code"] == "unauthorized"
    r = client.http.get("/admin/events", headers=auth("not.a.jwt"))
    assert r.status_code == 401
    r = client.http.post("/admin/events", headers=auth(tokens["viewer"]), body=json.dumps({"title": "x"}))
    assert r.status_code == 403
    assert body(r)["error"]["code"] == "forbidden"


def test_bad_json_gets_a_json_4xx(client, tokens):
    r = client.http.post("/admin/events", headers=auth(tokens["admin"]), body=b"{not json")
    assert 400 <= r.status_code < 500
    assert "error" in body(r)
    r = client.http.post("/admin/events", headers=auth(tokens["admin"]), body=json.dumps({"title": "T"}))
    assert r.status_code == 400
    assert body(r)["error"]["code"] == "invalid"


def test_an_unexpected_failure_never_shows_a_traceback(client, tokens, monkeypatch):
    from chalicelib import container

    def broken() -> Any:
        raise RuntimeError("boom: secret internals at /var/task/chalicelib/x.py")

    sessions = container.signed_out_sessions()  # the authorizer's own read keeps working: the view breaks
    monkeypatch.setattr(container, "signed_out_sessions", lambda: sessions)
    monkeypatch.setattr(container, "store", broken)
    r = client.http.get("/admin/events", headers=auth(tokens["admin"]))
    assert r.status_code == 500
    assert body(r)["error"]["code"] == "internal"
    assert b"boom" not in r.body and b"Traceback" not in r.body
    page = client.http.get("/s/" + "A" * 43)
    assert page.status_code == 500
    assert b"<html" in page.body and b"boom" not in page.body and b"Traceback" not in page.body

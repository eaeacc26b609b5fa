"""DELETE /admin/participants/{id}: personal data goes, links stop working, answers and aggregates stay."""

from __future__ import annotations

from tests.support.api import auth, body, sent_wave
from tests.support.mail import link_token

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_erasure_removes_personal_data_and_links_but_keeps_the_aggregates(client, tokens, stack):
    admin = tokens["admin"]
    event_id, wave_id = sent_wave(client, admin, stack)
    message = stack.ses_messages()[0]
    token = link_token(message)
    answers = b"overall=5&mutual_learning=5&understanding=4&cooperation_measures=4"
    assert client.http.post(f"/s/{token}", headers=FORM, body=answers).status_code == 303
    address = str(message.destinations[0]).split("<")[-1].rstrip(">")
    people = body(client.http.get(f"/admin/events/{event_id}/participants", headers=auth(admin)))["participants"]
    person = next(p for p in people if p["email"] == address)
    before = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(admin)))

    assert (
        client.http.delete(
            f"/admin/participants/{person['participant_id']}", headers=auth(tokens["viewer"])
        ).status_code
        == 403
    )
    r = client.http.delete(f"/admin/participants/{person['participant_id']}", headers=auth(admin))
    assert r.status_code == 200, r.body
    assert body(r)["links_revoked"] == 1

    people = body(client.http.get(f"/admin/events/{event_id}/participants", headers=auth(admin)))["participants"]
    erased = next(p for p in people if p["participant_id"] == person["participant_id"])
    assert erased["erased"] is True
    assert erased["email"] == "" and erased["full_name"] == "" and erased["organisation"] == ""
    assert address not in str(people)
    assert client.http.get(f"/s/{token}").status_code == 404
    assert client.http.post(f"/s/{token}", headers=FORM, body=answers).status_code == 404
    after = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(admin)))
    assert after["funnel"] == before["funnel"] and after["questions"] == before["questions"]
    assert client.http.delete("/admin/participants/pt_unknown", headers=auth(admin)).status_code == 404

    # No later email for them: a reminder now skips the erased participant.
    sent = len(stack.ses_messages())
    client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/remind", headers=auth(admin))
    stack.deliver()
    assert address not in [str(m.destinations[0]) for m in stack.ses_messages()[sent:]]


def test_erasure_removes_the_persons_own_details_from_their_free_text(client, tokens, stack):
    from chalicelib import container

    admin = tokens["admin"]
    event_id, wave_id = sent_wave(client, admin, stack)
    message = stack.ses_messages()[0]
    token = link_token(message)
    address = str(message.destinations[0]).split("<")[-1].rstrip(">")
    people = body(client.http.get(f"/admin/events/{event_id}/participants", headers=auth(admin)))["participants"]
    person = next(p for p in people if p["email"] == address)
    name, organisation = person["full_name"], person["organisation"]
    comment = f"I am {name.upper()} of {organisation}; write to {address}. {name.split()[-1]}'s view: more time."
    form = {
        "overall": "5", "mutual_learning": "5", "understanding": "4", "cooperation_measures": "4", "comments": comment
    }  # fmt: skip
    from urllib.parse import urlencode

    assert client.http.post(f"/s/{token}", headers=FORM, body=urlencode(form).encode()).status_code == 303
    before = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(admin)))

    r = client.http.delete(f"/admin/participants/{person['participant_id']}", headers=auth(admin))
    assert r.status_code == 200 and body(r)["answers_scrubbed"] == 1
    stored = next(iter(container.store().list_responses(wave_id)))
    text = str(stored.answers["comments"])
    assert text == "I am [removed] of [removed]; write to [removed]. [removed]'s view: more time.", text
    assert stored.answers["overall"] == "5" and stored.version == 2
    after = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(admin)))
    assert after["questions"] == before["questions"]  # a scrubbed comment is still an answer
    recount = body(client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(admin)))
    assert recount["ok"], recount["mismatches"]
    # Erasing again is harmless.
    again = client.http.delete(f"/admin/participants/{person['participant_id']}", headers=auth(admin))
    assert again.status_code == 200 and body(again)["answers_scrubbed"] == 0

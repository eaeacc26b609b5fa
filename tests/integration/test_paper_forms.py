"""Paper forms keyed in by staff: a participant's answer found by reference code or by search, or an anonymous
form; validated as the online form is; counted under mode "paper" in the funnel and the summary."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from chalicelib import container
from chalicelib.domain import answering, paper
from tests.support.api import auth, body, import_rows, make_event, make_wave
from tests.support.data import row
from tests.support.mail import link_token
from tests.support.visitor import csrf_for, page_text

PEOPLE = [f"delegate{i}@example.org" for i in range(8)]


@pytest.fixture
def wave(client, tokens):
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    import_rows(client, admin, event_id, [row(e, language="fr" if i % 2 else "en") for i, e in enumerate(PEOPLE)])
    wave_id = make_wave(client, admin, event_id)
    people = {p.email: p for p in container.store().list_participants(event_id)}
    return event_id, wave_id, people


def code_of(wave_id: str, participant_id: str) -> str:
    return paper.reference_code(container.settings().pseudonym_secret, wave_id, participant_id)


GOOD = {"overall": "4", "mutual_learning": "5", "understanding": 4, "cooperation_measures": "3", "comments": "Merci"}


def linked(participant_id: str) -> dict[str, object]:
    return {"participant_id": participant_id, "answers": GOOD}


def enter(client, token, event_id, wave_id, payload):
    return client.http.post(
        f"/admin/events/{event_id}/waves/{wave_id}/paper", headers=auth(token), body=json.dumps(payload)
    )


def funnel(client, token, event_id, wave_id, by=None):
    query = f"?wave={wave_id}" + (f"&by={by}" if by else "")
    return body(client.http.get(f"/admin/events/{event_id}/summary{query}", headers=auth(token)))


def test_a_paper_form_by_reference_code_is_the_participants_answer_and_counts_as_paper(client, tokens, wave):
    event_id, wave_id, people = wave
    person = people[PEOPLE[0]]
    typed = code_of(wave_id, person.participant_id).lower().replace("-", " ")  # as a person might type it
    r = enter(client, tokens["admin"], event_id, wave_id, {"code": typed, "answers": GOOD})
    assert r.status_code == 201, r.body
    assert body(r) == {"response_id": person.participant_id, "participant_id": person.participant_id,
                       "mode": "paper", "linked": True}  # fmt: skip
    stored = container.store().get_response(wave_id, person.participant_id)
    assert stored is not None and stored.mode == "paper" and stored.language == "en"
    assert stored.answers["understanding"] == "4" and stored.panel_id  # linked to the panel like an online answer
    s = funnel(client, tokens["viewer"], event_id, wave_id)
    assert s["funnel"]["completed"] == 1
    assert s["funnel"]["by_mode"] == {"email": 0, "qr": 0, "open": 0, "paper": 1}
    # One response per person: a second paper form, or the online form, does not count them twice.
    again = enter(
        client, tokens["admin"], event_id, wave_id, {"participant_id": person.participant_id, "answers": GOOD}
    )
    assert again.status_code == 409
    assert body(again)["error"]["code"] == "conflict"


def test_a_mistyped_code_is_refused_and_never_matches_somebody_else(client, tokens, wave):
    event_id, wave_id, people = wave
    code = code_of(wave_id, people[PEOPLE[1]].participant_id)
    swapped = code[1] + code[0] + code[2:] if code[0] != code[1] else code[:5] + code[6] + code[5] + code[7:]
    r = enter(client, tokens["admin"], event_id, wave_id, {"code": swapped, "answers": GOOD})
    assert r.status_code == 400 and "reference code" in body(r)["error"]["message"]
    other_wave = make_wave(client, tokens["admin"], event_id)
    foreign = code_of(other_wave, people[PEOPLE[1]].participant_id)  # a well-formed code of another wave
    r = enter(client, tokens["admin"], event_id, wave_id, {"code": foreign, "answers": GOOD})
    assert r.status_code == 404
    assert funnel(client, tokens["viewer"], event_id, wave_id)["funnel"]["completed"] == 0


@pytest.mark.parametrize(
    "answers, question",
    [
        ({**GOOD, "overall": "6"}, "overall"),  # out of range, as the online form refuses
        ({**GOOD, "mutual_learning": ["4", "5"]}, "mutual_learning"),  # two boxes ticked for one answer
        ({**GOOD, "comments": "x" * 5000}, "comments"),  # longer than the question takes
    ],
)
def test_out_of_range_values_are_refused_exactly_as_online_and_nothing_is_stored(
    client, tokens, wave, answers, question
):
    event_id, wave_id, people = wave
    person = people[PEOPLE[2]]
    r = enter(client, tokens["admin"], event_id, wave_id, {"participant_id": person.participant_id, "answers": answers})
    assert r.status_code == 400, r.body
    assert question in body(r)["error"]["details"]["questions"]
    assert container.store().get_response(wave_id, person.participant_id) is None
    # The same value through the participant's own link is refused too.
    questionnaire = answering.catalogue.resolve(container.store(), "satisfaction", 1)
    online = answering.check_answers(questionnaire, paper.as_form(answers))
    assert question in online.errors


def test_unknown_questions_and_malformed_bodies_are_clear_errors(client, tokens, wave):
    event_id, wave_id, people = wave
    pid = people[PEOPLE[2]].participant_id
    cases = [
        {"participant_id": pid, "answers": {**GOOD, "favourite_colour": "blue"}},
        {"participant_id": pid, "answers": {"overall": True}},
        {"participant_id": pid, "answers": "4,5,4"},
        {"participant_id": pid, "answers": GOOD, "extra": 1},
        {"participant_id": "nobody", "answers": GOOD},
    ]
    statuses = [enter(client, tokens["admin"], event_id, wave_id, c).status_code for c in cases]
    assert statuses == [400, 400, 400, 400, 404]
    assert enter(client, tokens["viewer"], event_id, wave_id, {"answers": GOOD}).status_code == 403


def test_a_blank_required_question_on_paper_is_stored_unanswered(client, tokens, wave):
    event_id, wave_id, people = wave
    pid = people[PEOPLE[3]].participant_id
    r = enter(client, tokens["admin"], event_id, wave_id, {"participant_id": pid, "answers": {"overall": "5"}})
    assert r.status_code == 201, r.body
    assert container.store().get_response(wave_id, pid).answers == {"overall": "5"}


def test_an_anonymous_paper_form_counts_under_paper_but_not_as_a_participants_completion(client, tokens, wave):
    event_id, wave_id, people = wave
    pid = people[PEOPLE[4]].participant_id
    assert enter(client, tokens["admin"], event_id, wave_id, linked(pid)).status_code == 201
    r = enter(client, tokens["admin"], event_id, wave_id, {"answers": GOOD, "language": "fr"})
    assert r.status_code == 201, r.body
    assert body(r)["linked"] is False and body(r)["participant_id"] is None
    s = funnel(client, tokens["viewer"], event_id, wave_id)
    assert s["funnel"]["completed"] == 1  # the linked one only: the response rate stays one per person
    assert s["funnel"]["by_mode"]["paper"] == 2 and s["funnel"]["by_mode"]["email"] == 0
    overall = next(q for q in s["questions"] if q["id"] == "overall")
    assert overall["n"] == 2  # both forms' answers count
    recount = client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(tokens["admin"]))
    assert body(recount)["ok"] is True, body(recount)


def test_an_erased_participants_paper_form_is_refused(client, tokens, wave):
    event_id, wave_id, people = wave
    pid = people[PEOPLE[5]].participant_id
    r = client.http.delete(f"/admin/participants/{pid}", headers=auth(tokens["admin"]))
    assert r.status_code == 200, r.body
    r = enter(client, tokens["admin"], event_id, wave_id, {"code": code_of(wave_id, pid), "answers": GOOD})
    assert r.status_code == 410


def test_summary_by_mode_shows_paper_once_the_cell_is_large_enough(client, tokens, wave, stack):
    event_id, wave_id, people = wave
    for email in PEOPLE[:5]:
        pid = people[email].participant_id
        assert (
            enter(client, tokens["admin"], event_id, wave_id, {"participant_id": pid, "answers": GOOD}).status_code
            == 201
        )
    client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(tokens["admin"]))
    stack.deliver()
    # The invitation email goes only to those who have not answered on paper.
    mailed = {str(m.destinations[0]).split("<")[-1].rstrip(">") for m in stack.ses_messages()}
    assert mailed == set(PEOPLE[5:])
    s = funnel(client, tokens["viewer"], event_id, wave_id, by="mode")
    overall = next(q for q in s["questions"] if q["id"] == "overall")
    assert overall["groups"]["paper"]["n"] == 5 and overall["groups"]["email"]["n"] == 0
    by_address = {str(m.destinations[0]).split("<")[-1].rstrip(">"): link_token(m) for m in stack.ses_messages()}
    form = {k: [str(v)] for k, v in GOOD.items()}
    assert answering.submit(container.store(), by_address[PEOPLE[6]], form, now=datetime.now(UTC)).stored
    s = funnel(client, tokens["viewer"], event_id, wave_id, by="mode")
    assert s["funnel"]["by_mode"] == {"email": 1, "qr": 0, "open": 0, "paper": 5}
    overall = next(q for q in s["questions"] if q["id"] == "overall")
    # One email answer is below k, and paper's 5 would give it away by subtraction: both are suppressed.
    assert overall["groups"] == {"email": {"suppressed": True}, "paper": {"suppressed": True}}


# The dashboard ---------------------------------------------------------------------------------------------


def test_the_dashboard_finds_a_form_by_code_and_its_answers_appear_under_paper(admin, wave, client, tokens):
    event_id, wave_id, people = wave
    person = people[PEOPLE[1]]
    base = f"/dashboard/events/{event_id}/waves/{wave_id}/paper/entry"
    event_page = page_text(admin.get(f"/dashboard/events/{event_id}"))
    assert f"{base}" in event_page and "Enter a paper form" in event_page
    found = admin.get(f"{base}?code={code_of(wave_id, person.participant_id)}")
    assert found.status_code == 200
    text = page_text(found)
    assert person.full_name in text and 'name="_participant"' in text
    fields = {"csrf": csrf_for(found, base), "_participant": person.participant_id, "_lang": "fr"}
    fields.update({k: str(v) for k, v in GOOD.items()})
    saved = admin.post(base, fields)
    assert saved.status_code == 303 and "saved=linked" in saved.headers["Location"]
    after = page_text(admin.get(saved.headers["Location"]))
    assert "Saved." in after and re.search(r"Paper forms entered so far in this wave: <strong>1</strong>", after)
    stored = container.store().get_response(wave_id, person.participant_id)
    assert stored is not None and stored.mode == "paper" and stored.language == "fr"
    assert funnel(client, tokens["viewer"], event_id, wave_id)["funnel"]["by_mode"]["paper"] == 1
    # The same person again: the page says they have answered, and offers no second form.
    again = page_text(admin.get(f"{base}?participant={person.participant_id}"))
    assert "Already answered" in again and 'name="_participant"' not in again


def test_the_dashboard_searches_by_name_and_keeps_values_on_a_mistake(admin, wave):
    event_id, wave_id, people = wave
    person = people[PEOPLE[3]]
    base = f"/dashboard/events/{event_id}/waves/{wave_id}/paper/entry"
    results = page_text(admin.get(f"{base}?q={person.full_name.split()[0]}"))
    assert f"?participant={person.participant_id}" in results
    form = admin.get(f"{base}?participant={person.participant_id}")
    fields = {"csrf": csrf_for(form, base), "_participant": person.participant_id, "overall": "9", "comments": "Kept"}
    r = admin.post(base, fields)
    assert r.status_code == 422
    text = page_text(r)
    assert "There is a problem" in text and ">Kept</textarea>" in text
    assert container.store().get_response(wave_id, person.participant_id) is None
    forged = admin.post(base, {**fields, "csrf": "forged", "overall": "4"})
    assert forged.status_code == 403


def test_the_printed_form_is_in_the_chosen_language_and_personal_forms_carry_codes(admin, wave):
    event_id, wave_id, people = wave
    blank = admin.get(f"/dashboard/events/{event_id}/waves/{wave_id}/paper?lang=fr")
    assert blank.status_code == 200
    text = page_text(blank)
    assert '<html lang="fr">' in text and "Tout à fait d'accord" in text and "Code de référence" in text
    personal = page_text(admin.get(f"/dashboard/events/{event_id}/waves/{wave_id}/paper?lang=fr&personal=1"))
    french = [p for email, p in people.items() if p.language == "fr"]
    assert personal.count('class="form"') == len(french)
    for p in french:
        assert p.full_name in personal and code_of(wave_id, p.participant_id) in personal
    assert all(p.full_name not in personal for p in people.values() if p.language != "fr")

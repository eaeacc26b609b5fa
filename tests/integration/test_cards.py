"""Personal QR cards: a print sheet and a CSV of every invitee's own link; answering through a card is one
response per person counted under "qr", and no invitation email follows; an erased person's card stops."""

from __future__ import annotations

import csv
import io
import re

from chalicelib import container
from chalicelib.domain.tokens import CARD, hash_token
from tests.support.api import auth, body, import_csv, make_event, make_wave, participants, send_route

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ANSWERS = b"overall=5&mutual_learning=5&understanding=4&cooperation_measures=4"


def cards_csv(client, admin, event_id, wave_id) -> list[dict[str, str]]:
    r = client.http.get(f"/admin/events/{event_id}/waves/{wave_id}/cards?format=csv", headers=auth(admin))
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"].startswith("text/csv")
    text = r.body.decode("utf-8-sig") if isinstance(r.body, bytes) else r.body.lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and list(rows[0]) == ["name", "email", "link"]
    return rows


def planned_wave(client, tokens) -> tuple[str, str]:
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    import_csv(client, admin, event_id)
    return event_id, make_wave(client, admin, event_id)


def test_cards_sheet_and_csv_list_every_invitee_with_their_own_link(client, tokens):
    admin = tokens["admin"]
    event_id, wave_id = planned_wave(client, tokens)
    r = client.http.get(f"/admin/events/{event_id}/waves/{wave_id}/cards", headers=auth(admin))
    assert r.status_code == 200, r.body
    page = r.body if isinstance(r.body, str) else r.body.decode()
    assert page.count('<li class="card"') == 4
    assert page.count('<svg role="img"') == 4
    assert "break-inside:avoid" in page and "Amina Diallo" in page and "Ministry of Labour" in page
    rows = cards_csv(client, admin, event_id, wave_id)
    assert {row["email"] for row in rows} == set(participants(client, admin, event_id))
    links = {row["link"] for row in rows}
    assert len(links) == 4 and all(link in page for link in links)
    # Printed again: the same links, and no new token.
    assert {row["link"] for row in cards_csv(client, admin, event_id, wave_id)} == links
    token = next(iter(links)).rsplit("/", 1)[1]
    grant = container.store().get_token(hash_token(token))
    assert grant is not None and grant.kind == CARD
    # A viewer may not print the cards (they hold every personal link).
    assert (
        client.http.get(f"/admin/events/{event_id}/waves/{wave_id}/cards", headers=auth(tokens["viewer"])).status_code
        == 403
    )
    bad = client.http.get(f"/admin/events/{event_id}/waves/{wave_id}/cards?format=pdf", headers=auth(admin))
    assert bad.status_code == 400 and "error" in body(bad)


def test_an_answer_through_a_card_counts_as_qr_is_editable_and_stops_the_invitation_email(client, tokens, stack):
    admin = tokens["admin"]
    event_id, wave_id = planned_wave(client, tokens)
    rows = cards_csv(client, admin, event_id, wave_id)
    card = next(row for row in rows if row["email"] == "li.wei@example.org")
    path = "/s/" + card["link"].rsplit("/", 1)[1]
    assert client.http.get(path).status_code == 200
    assert client.http.post(path, headers=FORM, body=ANSWERS).status_code == 303
    # Edited through the same card: still one response.
    form = client.http.get(path).body
    form = form if isinstance(form, str) else form.decode()
    version = re.search(r'name="_v" value="(\d+)"', form)
    sealed = re.search(r'name="_p" value="([^"]*)"', form)
    edit = ANSWERS.replace(b"overall=5", b"overall=3")
    if version:
        edit += b"&_v=" + version.group(1).encode()
    if sealed:
        edit += b"&_p=" + sealed.group(1).encode()
    assert client.http.post(path, headers=FORM, body=edit).status_code == 303
    responses = list(container.store().list_responses(wave_id))
    assert len(responses) == 1 and responses[0].mode == "qr" and responses[0].answers["overall"] == "3"
    s = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}&by=mode", headers=auth(admin)))
    assert s["funnel"]["by_mode"] == {"email": 0, "qr": 1, "open": 0, "paper": 0}
    assert s["funnel"]["completed"] == 1
    q = next(x for x in s["questions"] if x["id"] == "overall")
    assert q["n"] == 1 and q.get("suppressed")  # one answer: below the threshold, as always
    # The invitation email goes to the three who did not answer in the room.
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    sent = {str(m.destinations[0]).split("<")[-1].rstrip(">") for m in stack.ses_messages()}
    assert "li.wei@example.org" not in sent and len(sent) == 3
    recount = body(client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(admin)))
    assert recount["ok"], recount


def test_an_erased_participants_card_stops_working_and_is_not_printed_again(client, tokens):
    admin = tokens["admin"]
    event_id, wave_id = planned_wave(client, tokens)
    rows = cards_csv(client, admin, event_id, wave_id)
    card = next(row for row in rows if row["email"] == "john.smith@example.org")
    path = "/s/" + card["link"].rsplit("/", 1)[1]
    person = participants(client, admin, event_id)["john.smith@example.org"]
    r = client.http.delete(f"/admin/participants/{person['participant_id']}", headers=auth(admin))
    assert r.status_code == 200 and body(r)["links_revoked"] == 1
    assert client.http.get(path).status_code == 404
    assert client.http.post(path, headers=FORM, body=ANSWERS).status_code == 404
    again = cards_csv(client, admin, event_id, wave_id)
    assert len(again) == 3 and card["link"] not in {row["link"] for row in again}


def test_the_dashboard_wave_offers_print_qr_cards_and_serves_the_same_sheet(client, tokens, admin):
    event_id, wave_id = planned_wave(client, tokens)
    page = admin.get(f"/dashboard/events/{event_id}")
    text = page.body.decode() if isinstance(page.body, bytes) else page.body
    link = f"/dashboard/events/{event_id}/waves/{wave_id}/cards"
    assert f'href="{link}">Print QR cards' in text
    sheet = admin.get(link)
    assert sheet.status_code == 200
    sheet_text = sheet.body.decode() if isinstance(sheet.body, bytes) else sheet.body
    assert sheet_text.count('<li class="card"') == 4
    download = admin.get(link + "?format=csv")
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("text/csv")

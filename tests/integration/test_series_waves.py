"""Series waves through the real path, in-process with moto: one follow-up over several events, one email per
person (matched by the keyed email hash), nobody who opted out in an event of the series, ``by=event`` with
small-cell suppression, and erasure in one event removing the person from the series wave."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from tests.support.api import auth, body, event_ending, import_rows, make_wave, send_route
from tests.support.clock import at
from tests.support.data import ANSWERS, FORM, YEAR, row
from tests.support.mail import Mailbox, link_token, recipient

SERIES_WAVE = {
    "questionnaire": "satisfaction",
    "opens": {"after_event_days": 30, "local_time": "09:00"},
    "reminders_after_days": [7],
    "closes": {"after_open_days": 30},
}


def three_workshops(client: Any, admin: str) -> tuple[str, str, str]:
    """Workshop A (seven people, one also in B), B (two) and C (six); ``both@`` is in A and B."""
    a = event_ending(client, admin, date(YEAR, 3, 10), title="Workshop A")
    b = event_ending(client, admin, date(YEAR, 6, 10), title="Workshop B")
    c = event_ending(client, admin, date(YEAR, 9, 10), title="Workshop C")
    import_rows(client, admin, a, [row(f"a{i}@example.org") for i in range(6)] + [row("both@example.org")])
    import_rows(client, admin, b, [row("both@example.org", language="fr"), row("b0@example.org")])
    import_rows(client, admin, c, [row(f"c{i}@example.org") for i in range(6)])
    return a, b, c


def create_series(client: Any, admin: str, **selection: Any) -> dict[str, Any]:
    r = client.http.post("/admin/series-waves", headers=auth(admin), body=json.dumps({**SERIES_WAVE, **selection}))
    assert r.status_code == 201, r.body
    return dict(body(r))


def series_send(client: Any, admin: str, wave_id: str) -> dict[str, Any]:
    r = client.http.post(f"/admin/series-waves/{wave_id}/send", headers=auth(admin))
    assert r.status_code == 202, r.body
    return dict(body(r))


def test_given_a_person_in_two_workshops_when_the_series_wave_is_sent_then_they_get_one_email_and_count_in_each(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    clock.now = at(date(YEAR, 9, 12), "12:00")
    a, b, c = three_workshops(client, admin)
    # An opt-out in an event wave of the series keeps that person out of the series wave.
    import_rows(client, admin, a, [row("quit@example.org")])
    event_wave = make_wave(client, admin, a)
    send_route(client, admin, a, event_wave)
    stack.deliver()
    box = Mailbox(stack)
    event_links = {recipient(m): link_token(m) for m in box.new()}
    assert client.http.post(f"/u/{event_links['quit@example.org']}", headers=FORM, body=b"").status_code == 200
    for address in ("a0@example.org", "a1@example.org", "a2@example.org", "a3@example.org", "a4@example.org"):
        assert client.http.post(f"/s/{event_links[address]}", headers=FORM, body=ANSWERS).status_code == 303
    assert client.http.post(f"/s/{event_links['both@example.org']}", headers=FORM, body=ANSWERS).status_code == 303

    created = create_series(client, admin, event_ids=[c, a, b])
    assert created["event_ids"] == [a, b, c]  # in the series' order
    assert created["recipients"] == 14  # 7 + 2 + 6 records, "both" once, "quit" not at all
    wave_id = created["wave_id"]
    listed = body(client.http.get("/admin/series-waves", headers=auth(tokens["viewer"])))["series_waves"]
    assert [w["wave_id"] for w in listed] == [wave_id]
    # The event pages keep to their own waves.
    own = body(client.http.get(f"/admin/events/{a}/summary", headers=auth(admin)))
    assert own["wave_id"] == event_wave

    sent = series_send(client, admin, wave_id)
    assert sent["queued"] == 14
    stack.deliver()
    messages = box.new()
    addresses = [recipient(m) for m in messages]
    assert sorted(addresses) == sorted(set(addresses)) and len(addresses) == 14
    assert addresses.count("both@example.org") == 1 and "quit@example.org" not in addresses
    # Pressing send again sends nothing more.
    series_send(client, admin, wave_id)
    stack.deliver()
    assert box.new() == []

    for message in messages:
        assert client.http.post(f"/s/{link_token(message)}", headers=FORM, body=ANSWERS).status_code == 303

    by_event = body(client.http.get(f"/admin/series-waves/{wave_id}/summary?by=event", headers=auth(admin)))
    assert by_event["funnel"]["invited"] == 14 and by_event["respondents"] == 14
    overall = next(q for q in by_event["questions"] if q["id"] == "overall")
    assert overall["n"] == 14
    groups = overall["groups"]
    assert groups[a]["n"] == 7  # "both" counts in A...
    assert groups[b] == {"suppressed": True}  # ...and in B, whose two answers are below the threshold
    assert groups[c] == {"suppressed": True}  # the complementary cell, so B cannot be rebuilt
    pooled = body(client.http.get(f"/admin/series-waves/{wave_id}/summary?by=language", headers=auth(admin)))
    assert pooled["respondents"] == 14
    r = client.http.get(f"/admin/series-waves/{wave_id}/summary?by=nonsense", headers=auth(admin))
    assert r.status_code == 400

    # The pooled sentences, in the three languages, in the summary and the report.
    assert pooled["sentences"]["en"][0] == "Figures pooled across the 3 events of the series."
    assert pooled["sentences"]["en"][1].startswith("Most respondents (100 per cent) reported that")
    assert pooled["sentences"]["fr"][1].startswith("La plupart des répondants (100 pour cent) ont indiqué")
    assert pooled["sentences"]["es"][1].startswith("La mayoría de los encuestados (100 por ciento) indicó")
    for lang in ("en", "fr", "es"):
        r = client.http.get(f"/admin/series-waves/{wave_id}/report?by=event&lang={lang}", headers=auth(admin))
        assert r.status_code == 200, r.body
        page = r.body.decode()
        assert pooled["sentences"][lang][1] in page.replace("&#39;", "'")
        assert "Workshop A" in page and a not in page.replace(f"/{a}", "")

    # The exports: every dimension and the event one; the responses linked to each event's own waves.
    r = client.http.get(f"/admin/series-waves/{wave_id}/export.csv?kind=aggregates", headers=auth(admin))
    assert r.status_code == 200 and f'"event","{a}"' in r.body.decode()
    assert f'"event","{b}","overall",' in r.body.decode() and "both@" not in r.body.decode()
    series_rows = client.http.get(f"/admin/series-waves/{wave_id}/export.csv?kind=responses", headers=auth(admin))
    event_rows = client.http.get(f"/admin/events/{a}/export.csv?wave={event_wave}&kind=responses", headers=auth(admin))
    import csv
    import io

    linked = [row["event_panel_ids"] for row in csv.DictReader(io.StringIO(series_rows.body.decode().lstrip("\ufeff")))]
    satisfaction = [row["panel_id"] for row in csv.DictReader(io.StringIO(event_rows.body.decode().lstrip("\ufeff")))]
    assert len(linked) == 14 and len(satisfaction) == 6
    for panel in satisfaction:
        assert sum(f"{a}:{panel}" in links.split("|") for links in linked) == 1
    assert sum(len(links.split("|")) == 2 for links in linked) == 1  # "both" has a panel ID in A and in B


def test_given_a_person_in_two_workshops_when_erased_in_one_then_the_series_wave_stops_reaching_them(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    clock.now = at(date(YEAR, 9, 12), "12:00")
    a, b, c = three_workshops(client, admin)
    created = create_series(client, admin, year=YEAR)
    assert set(created["event_ids"]) >= {a, b, c}
    wave_id = created["wave_id"]
    series_send(client, admin, wave_id)
    stack.deliver()
    box = Mailbox(stack)
    links = {recipient(m): link_token(m) for m in box.new()}
    assert "both@example.org" in links

    # Erased through their record in A, while B's record invited them.
    people = body(client.http.get(f"/admin/events/{a}/participants", headers=auth(admin)))["participants"]
    person = next(p for p in people if p["email"] == "both@example.org")
    r = client.http.delete(f"/admin/participants/{person['participant_id']}", headers=auth(admin))
    assert r.status_code == 200, r.body
    assert body(r)["links_revoked"] >= 1
    assert client.http.get(f"/s/{links['both@example.org']}").status_code == 404

    r = client.http.post(f"/admin/series-waves/{wave_id}/remind", headers=auth(admin))
    assert r.status_code == 202, r.body
    stack.deliver()
    reminded = [recipient(m) for m in box.new()]
    assert "both@example.org" not in reminded and len(reminded) == 13


def test_series_wave_requests_are_checked(client, tokens):
    admin = tokens["admin"]
    for bad in ({}, {"event_ids": []}, {"event_ids": ["ev_nope"]}, {"year": "2012"}, {"year": 1066}):
        r = client.http.post("/admin/series-waves", headers=auth(admin), body=json.dumps({**SERIES_WAVE, **bad}))
        assert r.status_code == 400, (bad, r.body)
    assert client.http.get("/admin/series-waves/sw_unknown", headers=auth(admin)).status_code == 404
    r = client.http.post("/admin/series-waves", headers=auth(tokens["viewer"]), body=json.dumps(SERIES_WAVE))
    assert r.status_code == 403


IMPACT_COMMON = (
    "applied_in_work=yes&informed_policy_or_research=4&best_practices=4&shared_with_colleagues=yes&kept_contacts=no"
)


def test_given_a_per_event_question_when_a_person_of_two_workshops_answers_then_each_answer_counts_for_its_event(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    clock.now = at(date(YEAR, 9, 12), "12:00")
    a, b, c = three_workshops(client, admin)
    wave_id = create_series(client, admin, event_ids=[a, b, c], questionnaire="impact")["wave_id"]
    series_send(client, admin, wave_id)
    stack.deliver()
    links = {recipient(m): link_token(m) for m in Mailbox(stack).new()}

    # Their form asks the relevance question once per workshop, labelled with its title.
    page = client.http.get(f"/s/{links['both@example.org']}").body.decode()
    assert f'name="content_relevant@{a}"' in page and f'name="content_relevant@{b}"' in page
    assert f'name="content_relevant@{c}"' not in page and 'name="content_relevant"' not in page
    assert "Workshop A" in page and "Workshop B" in page
    # One answer per workshop is required.
    r = client.http.post(
        f"/s/{links['both@example.org']}", headers=FORM, body=f"content_relevant@{a}=5&{IMPACT_COMMON}"
    )
    assert r.status_code != 303
    both = f"content_relevant@{a}=5&content_relevant@{b}=1&{IMPACT_COMMON}"
    assert client.http.post(f"/s/{links['both@example.org']}", headers=FORM, body=both).status_code == 303
    for address, link in links.items():
        if address == "both@example.org":
            continue
        event = a if address.startswith("a") else b if address.startswith("b") else c
        answers = f"content_relevant@{event}=4&{IMPACT_COMMON}"
        assert client.http.post(f"/s/{link}", headers=FORM, body=answers).status_code == 303, address

    by_event = body(client.http.get(f"/admin/series-waves/{wave_id}/summary?by=event", headers=auth(admin)))
    relevant = next(q for q in by_event["questions"] if q["id"] == "content_relevant")
    assert relevant["n"] == 15  # one answer per event attended: 14 people, "both" twice
    assert relevant["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 13, "5": 1}
    assert (relevant["groups"][a]["n"], relevant["groups"][a]["agree"], relevant["groups"][a]["mean"]) == (7, 7, 4.14)
    shared = next(q for q in by_event["questions"] if q["id"] == "shared_with_colleagues")
    assert shared["n"] == 14  # asked once


def test_the_dashboard_creates_a_follow_up_across_events_then_sends_reminds_and_reports_it(
    client, tokens, stack, clock, admin
):
    from tests.support.visitor import csrf_for, page_text

    clock.now = at(date(YEAR, 9, 12), "12:00")
    a, b, _ = three_workshops(client, tokens["admin"])
    programme = admin.get(f"/dashboard/programme?year={YEAR}")
    assert programme.status_code == 200
    assert "New follow-up across events" in page_text(programme)
    token = csrf_for(programme, "/dashboard/series-waves")
    fields = [
        ("csrf", token),
        ("select", "events"),
        ("event_ids", a),
        ("event_ids", b),
        ("questionnaire", "impact"),
        ("opens_after_days", "30"),
        ("opens_local_time", "09:00"),
        ("reminders", "7"),
        ("closes_after_days", "30"),
    ]
    refused = admin.post("/dashboard/series-waves", [f for f in fields if f[0] != "event_ids"])
    assert refused.status_code == 422 and "Choose at least one event" in page_text(refused)
    created = admin.post("/dashboard/series-waves", fields)
    assert created.status_code == 303, created.body
    location = created.headers["Location"]
    wave_id = location.split("/dashboard/series-waves/")[1].split("?")[0]
    page = admin.get(f"/dashboard/series-waves/{wave_id}?notice=created")
    text = page_text(page)
    assert page.status_code == 200 and "8 people" in text and "Workshop A" in text and "Workshop C" not in text

    sent = admin.post(
        f"/dashboard/series-waves/{wave_id}/send", {"csrf": csrf_for(page, f"/dashboard/series-waves/{wave_id}/send")}
    )
    assert sent.status_code == 303
    stack.deliver()
    assert len(stack.ses_messages()) == 8
    page = admin.get(f"/dashboard/series-waves/{wave_id}")
    assert 'data-stage="invited">8<' in page_text(page)
    reminded = admin.post(
        f"/dashboard/series-waves/{wave_id}/remind",
        {"csrf": csrf_for(page, f"/dashboard/series-waves/{wave_id}/remind")},
    )
    assert reminded.status_code == 303
    stack.deliver()
    assert len(stack.ses_messages()) == 16
    report = admin.get(f"/dashboard/series-waves/{wave_id}/report?by=event")
    assert report.status_code == 200 and "Workshop A" in page_text(report)
    listed = page_text(admin.get(f"/dashboard/programme?year={YEAR}"))
    assert f"/dashboard/series-waves/{wave_id}" in listed

"""Distribution through the real path, in-process with moto: schedules per participant time zone (and
across DST changes), reminders, at most one email per participant, wave and kind, the manual reminder,
the emails' headers and languages, opt-out, bounces and complaints.

Time is moved by replacing ``container.now`` (every handler and route reads the clock there), never by
freezing the process clock, so moto, botocore and the Cognito tokens keep the real time. The simulated
dates lie in the next calendar year, so the tests never rot and every link stays unexpired.
"""

from __future__ import annotations

import calendar
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import container
from chalicelib.domain import distribution
from chalicelib.domain.model import Participant
from chalicelib.domain.participants import email_key
from chalicelib.jobs.handlers import send_records
from devstack import ses_events
from tests.support.api import (
    advance,
    body,
    event_ending,
    funnel,
    import_rows,
    make_wave,
    participants,
    remind_route,
    run_schedule,
    send_route,
)
from tests.support.clock import Clock, at
from tests.support.data import ANSWERS, FORM, TITLE, YEAR, row
from tests.support.mail import (
    Mailbox,
    feed_ses_events,
    grant,
    html_part,
    link_token,
    parsed,
    recipient,
    text_part,
    to_set,
)


def suppression_items() -> list[dict[str, Any]]:
    prefix = container.settings().table_prefix
    return list(boto3.client("dynamodb", region_name="us-east-1").scan(TableName=f"{prefix}suppressions")["Items"])


def put_legacy_participant(event_id: str, address: str, country: str) -> None:
    """A participant stored before the country table knew their country (imports now refuse it)."""
    now = datetime(YEAR, 1, 1, tzinfo=UTC)
    secret = container.settings().pseudonym_secret
    container.store().put_participants(
        [
            Participant(
                event_id=event_id,
                participant_id="pt_legacy0000000001",
                email=address,
                full_name="Legacy Person",
                organisation="Somewhere",
                stakeholder_group="other",
                country=country,
                language="en",
                timezone="",
                sponsored=False,
                email_key=email_key(secret, address),
                region="unknown",
                income_group="unknown",
                created_at=now,
                updated_at=now,
            )
        ]
    )


# --- schedules across time zones ------------------------------------------------------------------------


def test_given_participants_in_five_zones_when_the_schedule_runs_then_each_gets_it_at_local_nine(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)  # June: no DST change near; Nairobi (the event's zone) has none at all
    opening = ends + timedelta(days=1)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends, tz="Africa/Nairobi")
    import_rows(
        client,
        admin,
        event_id,
        [
            row("tokyo@example.org", country="JP", tz="Asia/Tokyo"),
            row("zurich@example.org", country="CH", language="fr", tz="Europe/Zurich"),
            row("newyork@example.org", country="US", tz="America/New_York"),
            row("brasil@example.org", country="BR", language="es"),  # no zone: Brazil's, America/Sao_Paulo
        ],
    )
    put_legacy_participant(event_id, "legacy@example.org", "AN")  # unknown country: the event's zone
    wave_id = make_wave(client, admin, event_id)
    box = Mailbox(stack)

    expected = [  # 09:00 local on the day after the event, in UTC
        (at(opening, "00:00"), "tokyo@example.org"),  # UTC+9
        (at(opening, "06:00"), "legacy@example.org"),  # Africa/Nairobi, UTC+3
        (at(opening, "07:00"), "zurich@example.org"),  # CEST, UTC+2
        (at(opening, "12:00"), "brasil@example.org"),  # UTC-3
        (at(opening, "13:00"), "newyork@example.org"),  # EDT, UTC-4
    ]
    clock.now = at(ends, "23:00")
    run_schedule(client)
    stack.deliver()
    assert box.new() == []
    for due, address in expected:
        clock.now = due - timedelta(minutes=1)
        run_schedule(client)
        stack.deliver()
        assert box.new() == [], f"{address} was sent before 09:00 local"
        clock.now = due
        run_schedule(client)
        stack.deliver()
        assert to_set(box.new()) == {address}
    listing = participants(client, admin, event_id)
    assert all(p["waves"][wave_id]["sent"] == ["invitation"] for p in listing.values())


def _sunday(year: int, month: int, nth: int) -> date:
    """The nth Sunday of a month (nth=-1: the last one)."""
    weeks = calendar.Calendar().monthdatescalendar(year, month)
    sundays = [week[6] for week in weeks if week[6].month == month]
    return sundays[nth if nth < 0 else nth - 1]


# (zone, the Sunday of the change, UTC time of 09:00 local the day before, UTC time of 09:00 on the Sunday)
DST_CASES = {
    "zurich-spring": ("Europe/Zurich", _sunday(YEAR, 3, -1), "08:00", "07:00"),  # CET -> CEST
    "zurich-autumn": ("Europe/Zurich", _sunday(YEAR, 10, -1), "07:00", "08:00"),  # CEST -> CET
    "newyork-spring": ("America/New_York", _sunday(YEAR, 3, 2), "14:00", "13:00"),  # EST -> EDT
    "newyork-autumn": ("America/New_York", _sunday(YEAR, 11, 1), "13:00", "14:00"),  # EDT -> EST
}


@pytest.mark.parametrize("case", sorted(DST_CASES))
def test_given_openings_either_side_of_a_dst_change_when_the_schedule_runs_then_each_is_at_local_nine(
    client, tokens, stack, clock, case
):
    tz, sunday, before_utc, after_utc = DST_CASES[case]
    admin = tokens["admin"]
    saturday = sunday - timedelta(days=1)
    clock.now = at(saturday - timedelta(days=3), "12:00")
    # One event opens on the Saturday (before the change), the other on the Sunday (after it).
    early = event_ending(client, admin, saturday - timedelta(days=1), tz="UTC")
    late = event_ending(client, admin, saturday, tz="UTC")
    import_rows(client, admin, early, [row("before@example.org", country="US", tz=tz)])
    import_rows(client, admin, late, [row("after@example.org", country="US", tz=tz)])
    make_wave(client, admin, early)
    make_wave(client, admin, late)
    box = Mailbox(stack)

    openings = [(at(saturday, before_utc), "before@example.org"), (at(sunday, after_utc), "after@example.org")]
    for due, address in openings:
        clock.now = due - timedelta(minutes=1)
        run_schedule(client)
        stack.deliver()
        assert box.new() == [], f"{case}: {address} went out before 09:00 local"
        clock.now = due
        run_schedule(client)
        stack.deliver()
        assert to_set(box.new()) == {address}, f"{case}: {address} not sent at 09:00 local"


def test_given_a_zone_already_past_nine_when_the_wave_is_created_then_the_first_dispatch_sends_it(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    opening = ends + timedelta(days=1)
    clock.now = at(opening, "03:00")  # 12:00 in Tokyo, 05:00 in Zurich, 23:00 (the day before) in New York
    event_id = event_ending(client, admin, ends, tz="Europe/Zurich")
    import_rows(
        client,
        admin,
        event_id,
        [
            row("tokyo@example.org", country="JP"),
            row("zurich@example.org", country="CH"),
            row("newyork@example.org", country="US", tz="America/New_York"),
        ],
    )
    make_wave(client, admin, event_id)
    box = Mailbox(stack)

    # The use case directly, with an explicit now, and the queue the sender reads.
    report = distribution.dispatch_due(container.store(), container.send_queue(), clock.now, limit=100)
    assert report.enqueued == 1
    stack.deliver()
    assert to_set(box.new()) == {"tokyo@example.org"}
    clock.now = at(opening, "07:00")
    run_schedule(client)
    stack.deliver()
    assert to_set(box.new()) == {"zurich@example.org"}


# --- reminders --------------------------------------------------------------------------------------------


def test_given_answers_opt_outs_and_bounces_when_reminders_fall_due_then_only_open_invitees_get_them_before_closing(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    opening = ends + timedelta(days=1)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends, tz="Europe/Zurich")
    import_rows(
        client,
        admin,
        event_id,
        [
            row("answers@example.org", country="CH"),
            row("optout@example.org", country="CH"),
            row("bounce@simulator.amazonses.com", country="CH"),
            row("tokyo@example.org", country="JP"),
            row("zurich@example.org", country="CH"),
            row("newyork@example.org", country="US", tz="America/New_York"),
        ],
    )
    # The second reminder is due at 09:00 local on day +6: 00:00Z in Tokyo, 07:00Z in Zurich and 13:00Z in
    # New York, which is exactly when the wave closes, so New York never gets it.
    closing = at(opening + timedelta(days=6), "13:00")
    wave_id = make_wave(client, admin, event_id, reminders=[3, 6], closes={"at": closing.isoformat()})
    box = Mailbox(stack)

    # The schedule runs through the opening day (hourly here, every 5 minutes in the cloud).
    advance(client, stack, clock, at(opening, "00:00"), at(opening, "13:00"), timedelta(hours=1))
    invitations = box.new()
    assert len(invitations) == 6
    feed_ses_events(client, invitations)
    by_address = {recipient(m): m for m in invitations}
    r = client.http.post(f"/s/{link_token(by_address['answers@example.org'])}", headers=FORM, body=ANSWERS)
    assert r.status_code == 303, r.body
    r = client.http.post(f"/u/{link_token(by_address['optout@example.org'])}", headers=FORM, body=b"")
    assert r.status_code == 200

    # Nothing before the first reminder's local 09:00.
    clock.now = at(opening + timedelta(days=2), "23:59")
    run_schedule(client)
    stack.deliver()
    assert box.new() == []
    day3 = opening + timedelta(days=3)
    advance(client, stack, clock, at(day3, "00:00"), at(day3, "13:00"), timedelta(hours=1))
    first = box.new()
    assert to_set(first) == {"tokyo@example.org", "zurich@example.org", "newyork@example.org"}
    assert {grant(m).kind for m in first} == {"reminder-1"}

    # Reminder wording differs from the invitation's, subject and body.
    invitation, reminder = by_address["zurich@example.org"], next(m for m in first if "zurich" in recipient(m))
    assert parsed(invitation)["Subject"] != parsed(reminder)["Subject"]
    assert parsed(reminder)["Subject"].startswith("Reminder")
    assert "A few days ago we asked for your feedback" in text_part(reminder)
    assert "A few days ago" not in text_part(invitation)
    assert "A few days ago we asked for your feedback" in html_part(reminder)

    clock.now = closing - timedelta(minutes=1)
    run_schedule(client)
    stack.deliver()
    second = box.new()
    assert to_set(second) == {"tokyo@example.org", "zurich@example.org"}
    assert {grant(m).kind for m in second} == {"reminder-2"}
    for moment in (closing, closing + timedelta(days=1)):
        clock.now = moment
        run_schedule(client)
        stack.deliver()
        assert box.new() == [], "nothing goes at or after closing"
    assert remind_route(client, admin, event_id, wave_id).status_code == 400


# --- at most one email per participant, wave and kind -----------------------------------------------------


@pytest.fixture
def one_due(client: Any, tokens: dict[str, str], clock: Clock) -> tuple[str, str]:
    """An event with one participant whose invitation is due."""
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row("only@example.org")])
    wave_id = make_wave(client, admin, event_id)
    clock.now = at(ends + timedelta(days=1), "12:00")
    return event_id, wave_id


def test_given_one_sqs_record_when_it_is_delivered_twice_then_one_email_is_sent(client, stack, one_due):
    run_schedule(client)
    bodies = stack.queue_bodies()
    assert len(bodies) == 1
    event = client.events.generate_sqs_event(message_bodies=bodies, queue_name="event-feedback-send")
    first = client.lambda_.invoke("sender", event).payload
    second = client.lambda_.invoke("sender", event).payload
    assert first == {"sent": 1}
    assert second == {"already": 1}
    assert len(stack.ses_messages()) == 1


@pytest.fixture
def isolated_transactions() -> Iterator[None]:
    """DynamoDB runs each TransactWriteItems in isolation; in-process moto is given the same (see
    tests/support/machines.isolated_transactions): the claim logic is what is tested."""
    from tests.support.machines import isolated_transactions as isolation

    with isolation():
        yield


def test_given_one_sqs_record_when_four_workers_process_it_at_once_then_one_email_is_sent(
    stack, one_due, isolated_transactions
):
    distribution.dispatch_due(container.store(), container.send_queue(), container.now(), limit=10)
    bodies = stack.queue_bodies()
    assert len(bodies) == 1
    container.store(), container.mailer(), container.renderer()  # built once, as in a warm Lambda
    start = threading.Barrier(4)
    outcomes: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(send_records(bodies))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(o.get("sent", 0) for o in outcomes) == [0, 0, 0, 1]
    assert sum(o.get("already", 0) for o in outcomes) == 3
    assert len(stack.ses_messages()) == 1


def test_given_due_invitations_when_the_schedule_runs_three_times_then_each_participant_gets_one_email(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    addresses = [f"p{i}@example.org" for i in range(4)]
    import_rows(client, admin, event_id, [row(a) for a in addresses])
    make_wave(client, admin, event_id)
    clock.now = at(ends + timedelta(days=1), "12:00")
    # Three runs before the sender sees anything, then more runs between deliveries.
    for _ in range(3):
        run_schedule(client)
    stack.deliver()
    for _ in range(3):
        run_schedule(client)
        stack.deliver()
    sent = stack.ses_messages()
    assert sorted(recipient(m) for m in sent) == addresses


def test_given_a_wave_when_send_is_pressed_twice_then_each_participant_gets_one_email(client, tokens, stack, clock):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends - timedelta(days=20), "12:00")  # long before the planned opening
    event_id = event_ending(client, admin, ends)
    addresses = [f"p{i}@example.org" for i in range(3)]
    import_rows(client, admin, event_id, [row(a) for a in addresses])
    wave_id = make_wave(client, admin, event_id)
    first = send_route(client, admin, event_id, wave_id)
    second = send_route(client, admin, event_id, wave_id)
    assert first["queued"] == 3 and second["queued"] == 0
    stack.deliver()
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    assert sorted(recipient(m) for m in stack.ses_messages()) == addresses
    # The invitation went out far from its planned day: its reminder counts from the send.
    clock.now += timedelta(days=6, hours=23)
    run_schedule(client)
    stack.deliver()
    assert len(stack.ses_messages()) == 3
    clock.now += timedelta(hours=2)
    run_schedule(client)
    stack.deliver()
    assert len(stack.ses_messages()) == 6


# --- manual reminders -------------------------------------------------------------------------------------


def test_given_answers_and_an_opt_out_when_remind_is_pressed_then_only_the_remaining_non_respondents_get_it(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    addresses = [f"p{i}@example.org" for i in range(6)]
    import_rows(client, admin, event_id, [row(a) for a in addresses])
    wave_id = make_wave(client, admin, event_id)
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    box = Mailbox(stack)
    links = {recipient(m): link_token(m) for m in box.new()}
    assert sorted(links) == addresses
    for address in ("p0@example.org", "p1@example.org"):
        assert client.http.post(f"/s/{links[address]}", headers=FORM, body=ANSWERS).status_code == 303
    assert client.http.post(f"/u/{links['p2@example.org']}", headers=FORM, body=b"").status_code == 200

    r = remind_route(client, admin, event_id, wave_id)
    assert r.status_code == 202, r.body
    assert body(r)["queued"] == 3
    stack.deliver()
    first = box.new()
    assert to_set(first) == {"p3@example.org", "p4@example.org", "p5@example.org"}
    assert {grant(m).kind for m in first} == {"manual-1"}
    assert all(parsed(m)["Subject"].startswith("Reminder") for m in first)

    # A reminder's own link works too: p3 answers through it.
    reminder_link = {recipient(m): link_token(m) for m in first}["p3@example.org"]
    assert client.http.post(f"/s/{reminder_link}", headers=FORM, body=ANSWERS).status_code == 303
    remind_route(client, admin, event_id, wave_id)
    stack.deliver()
    second = box.new()
    assert to_set(second) == {"p4@example.org", "p5@example.org"}
    assert {grant(m).kind for m in second} == {"manual-2"}
    # Delivered twice, the manual reminder still goes out once.
    remind_route(client, admin, event_id, wave_id)
    bodies = stack.queue_bodies()
    send_records(bodies)
    send_records(bodies)
    assert to_set(box.new()) == {"p4@example.org", "p5@example.org"}
    assert len(box.all) == 6 + 3 + 2 + 2


def test_given_a_delivered_invitation_when_a_reminder_goes_then_its_status_stays_delivered(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row("p0@example.org")])
    wave_id = make_wave(client, admin, event_id)
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    feed_ses_events(client, stack.ses_messages())
    assert participants(client, admin, event_id)["p0@example.org"]["waves"][wave_id]["status"] == "delivered"
    assert body(remind_route(client, admin, event_id, wave_id))["queued"] == 1
    stack.deliver()
    listed = participants(client, admin, event_id)["p0@example.org"]["waves"][wave_id]
    assert listed["status"] == "delivered" and sorted(listed["sent"]) == ["invitation", "manual-1"]


# --- the emails -------------------------------------------------------------------------------------------


def test_given_participants_in_three_languages_when_sent_then_every_email_is_complete_and_localised(
    client, tokens, stack, clock
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(
        client,
        admin,
        event_id,
        [row("en@example.org"), row("fr@example.org", language="fr"), row("es@example.org", language="es")],
    )
    wave_id = make_wave(client, admin, event_id, closes={"at": f"{YEAR}-07-14T12:00:00Z"})
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    remind_route(client, admin, event_id, wave_id)
    stack.deliver()
    sent = stack.ses_messages()
    assert len(sent) == 6
    closing = {"en": f"14 July {YEAR}", "fr": f"14 juillet {YEAR}", "es": f"14 de julio de {YEAR}"}
    for message in sent:
        email = parsed(message)
        lang = recipient(message).split("@")[0]
        assert email["List-Unsubscribe"].strip() == f"<http://testserver/u/{link_token(message)}>"
        assert email["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
        text, html = text_part(message), html_part(message)
        for part in (text, html):
            assert TITLE in part
            assert closing[lang] in part, (lang, part)
        assert "<html" in html and "<html" not in text
        assert TITLE in email["Subject"]
    subjects = {(recipient(m).split("@")[0], grant(m).kind): str(parsed(m)["Subject"]) for m in sent}
    assert subjects[("fr", "invitation")] == f"{TITLE} : votre avis nous intéresse"
    assert subjects[("es", "invitation")] == f"{TITLE}: nos interesa su opinión"
    assert subjects[("en", "invitation")] == f"Your feedback on {TITLE}"
    assert subjects[("fr", "manual-1")].startswith("Rappel")
    assert subjects[("es", "manual-1")].startswith("Recordatorio")


# --- opt-out ----------------------------------------------------------------------------------------------


def test_given_an_unsubscribe_link_when_opened_then_posted_twice_then_opted_out_once_and_later_waves_skip_it(
    client, tokens, stack, clock
):
    admin, viewer = tokens["admin"], tokens["viewer"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row("leaving@example.org"), row("staying@example.org")])
    wave_id = make_wave(client, admin, event_id)
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    box = Mailbox(stack)
    leaving = next(m for m in box.new() if recipient(m) == "leaving@example.org")
    token = link_token(leaving)

    page = client.http.get(f"/u/{token}")
    assert page.status_code == 200
    assert f'action="/u/{token}' in page.body.decode()
    assert participants(client, admin, event_id)["leaving@example.org"]["waves"][wave_id]["opted_out"] is False
    assert suppression_items() == []

    for _ in range(2):
        r = client.http.post(f"/u/{token}", headers=FORM, body=b"List-Unsubscribe=One-Click")
        assert r.status_code == 200
    assert participants(client, admin, event_id)["leaving@example.org"]["waves"][wave_id]["opted_out"] is True
    assert len(suppression_items()) == 1
    assert funnel(client, viewer, event_id, wave_id)["opted_out"] == 1
    # An opted-out participant's form says so rather than taking answers.
    assert client.http.post(f"/s/{token}", headers=FORM, body=ANSWERS).status_code == 410

    # Another event, later: the address is skipped before sending, and counted.
    other = event_ending(client, admin, ends + timedelta(days=30), title="Another workshop")
    import_rows(client, admin, other, [row("leaving@example.org"), row("staying@example.org")])
    other_wave = make_wave(client, admin, other)
    send_route(client, admin, other, other_wave)
    bodies = stack.queue_bodies()
    assert send_records(bodies) == {"sent": 1, "suppressed": 1}
    assert send_records(bodies) == {"already": 1, "suppressed": 1}  # a redelivered batch counts nothing twice
    assert to_set(box.new()) == {"staying@example.org"}
    counts = funnel(client, viewer, other, other_wave)
    assert counts["suppressed"] == 1
    assert counts["invited"] == 1
    assert participants(client, admin, other)["leaving@example.org"]["waves"][other_wave]["status"] == "suppressed"


# --- bounces and complaints -------------------------------------------------------------------------------


@pytest.mark.parametrize("simulator", ["bounce", "complaint"])
def test_given_a_bounce_or_complaint_when_notified_twice_then_suppressed_once_and_next_waves_skip_it(
    client, tokens, stack, clock, simulator
):
    admin, viewer = tokens["admin"], tokens["viewer"]
    address = f"{simulator}@simulator.amazonses.com"
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row(address), row("fine@example.org")])
    wave_id = make_wave(client, admin, event_id, reminders=[3])
    send_route(client, admin, event_id, wave_id)
    stack.deliver()
    box = Mailbox(stack)
    sent = box.new()
    assert len(sent) == 2
    bad = next(m for m in sent if recipient(m) == address)
    records = ses_events.notifications(bad.id, bad.raw_data, ses_events.token_tags(container.store()))
    assert {"Bounce": "bounce", "Complaint": "complaint"}[records[-1]["eventType"]] == simulator
    assert records[-1]["mail"]["tags"]["ef-wave"] == [wave_id]
    results = []
    for _ in range(2):
        for record in records:
            event = client.events.generate_sqs_event([json.dumps(record)], queue_name="event-feedback-ses-feedback")
            results.append(client.lambda_.invoke("ses_feedback", event).payload)
    feed_ses_events(client, [m for m in sent if m is not bad])

    assert len(suppression_items()) == 1
    outcome = "bounced" if simulator == "bounce" else "complained"
    assert sum(r.count(outcome) for r in results) == 1, results
    assert sum(r.count("suppressed") for r in results) == 1, results
    counts = funnel(client, viewer, event_id, wave_id)
    assert counts[outcome] == 1
    assert counts["delivered"] == (1 if simulator == "bounce" else 2)
    if simulator == "complaint":
        assert counts["opted_out"] == 1  # the README: opted_out counts unsubscribes and complaints
    listing = participants(client, admin, event_id)
    assert listing[address]["waves"][wave_id]["bounced" if simulator == "bounce" else "opted_out"] is True

    # The scheduled reminder skips the address (no SES call at all), the other participant gets it.
    clock.now += timedelta(days=4)
    run_schedule(client)
    stack.deliver()
    assert to_set(box.new()) == {"fine@example.org"}
    # A second wave of the same event, and a wave of another event, skip it too.
    same = make_wave(client, admin, event_id)
    other = event_ending(client, admin, ends + timedelta(days=30), title="Another workshop")
    import_rows(client, admin, other, [row(address)])
    other_wave = make_wave(client, admin, other)
    send_route(client, admin, event_id, same)
    send_route(client, admin, other, other_wave)
    assert stack.deliver() == {"sent": 1, "suppressed": 2}
    assert to_set(box.new()) == {"fine@example.org"}
    assert funnel(client, viewer, event_id, same)["suppressed"] == 1
    assert funnel(client, viewer, other, other_wave)["suppressed"] == 1

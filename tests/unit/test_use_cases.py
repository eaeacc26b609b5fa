"""The use cases on the in-memory store: scheduling and sending, answering and editing, feedback from SES,
erasure and reports, with no AWS at all. The twin keeps DynamoStore's contract
(tests/integration/test_store_contract.py), so what holds here holds on DynamoDB; the integration and e2e
suites cover the same paths through HTTP, moto and the browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.memory import MemoryStore
from chalicelib.domain import answering, distribution, erasure, events, planning, reports, waves
from chalicelib.domain.errors import NotFound, OptedOut, ValidationFailed, WaveClosed
from chalicelib.domain.model import Event, Wave
from chalicelib.domain.ports import OutgoingEmail, SendRejected, SendThrottled
from tests.support.data import HEADER

SECRET = "unit-pseudonym-secret-0123456789abcdef"
PANEL = "unit-panel-secret-0123456789abcdefghij"
BASE = "https://surveys.example.org"
# Link tokens expire by the wall clock, as DynamoDB's TTL does, so the event is next year's.
YEAR = datetime.now(UTC).year + 1
CREATED = datetime(YEAR, 6, 1, 8, 0, tzinfo=UTC)
# The event ends on 26 June in Oslo; the wave opens the next day at 09:00 in each person's zone.
OSLO_OPENING = datetime(YEAR, 6, 27, 7, 0, tzinfo=UTC)  # 09:00 CEST
NEW_YORK_OPENING = datetime(YEAR, 6, 27, 13, 0, tzinfo=UTC)  # 09:00 EDT
TOKYO_OPENING = datetime(YEAR, 6, 27, 0, 0, tzinfo=UTC)  # 09:00 JST
CSV = HEADER + (
    "ingrid@example.org,Ingrid Nordmann,Digitaliseringsdirektoratet,government,NO,en,Europe/Oslo,no\n"
    "maria@example.org,Maria Lopez,Example Civic Lab,civil_society,US,es,America/New_York,yes\n"
    "kenji@example.org,Kenji Sato,Example University,academia,JP,en,Asia/Tokyo,no\n"
)
GOOD = {"overall": ["5"], "mutual_learning": ["5"], "understanding": ["4"], "cooperation_measures": ["4"]}


class Queue:
    def __init__(self) -> None:
        self.messages: list[Mapping[str, Any]] = []

    def enqueue(self, messages: Sequence[Mapping[str, Any]]) -> None:
        assert len(messages) <= 10  # SQS's batch limit
        self.messages.extend(messages)

    def take(self) -> list[Mapping[str, Any]]:
        taken, self.messages = self.messages, []
        return taken


class Mailer:
    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.failures: list[Exception] = []  # raised, in order, by the next sends

    def check(self, email: OutgoingEmail) -> None:
        pass

    def send(self, email: OutgoingEmail) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(email)
        return f"ses-{len(self.sent)}"

    def link(self, to: str, n: int = -1) -> str:
        """The token of the n-th email to this address."""
        return [m for m in self.sent if m.to == to][n].text.rsplit("/s/", 1)[1]


class Renderer:
    def render_email(self, template: str, language: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        return f"{template}:{language}:{context['event_title']}", "<p>html</p>", f"{context['survey_url']}"


class World:
    """An event with three participants in three time zones and one wave, on the in-memory store."""

    def __init__(self, reminders: list[int] | None = None, closes: dict[str, Any] | None = None) -> None:
        self.store = MemoryStore()
        self.queue, self.mailer, self.renderer = Queue(), Mailer(), Renderer()
        self.event: Event = events.create_event(
            self.store,
            {
                "title": "Internet Governance Forum",
                "starts_on": f"{YEAR}-06-22",
                "ends_on": f"{YEAR}-06-26",
                "timezone": "Europe/Oslo",
                "languages": ["en", "fr", "es"],
            },
            CREATED,
        )
        planning.import_participants(
            self.store, self.event.event_id, CSV, secret=SECRET, panel_secret=PANEL, now=CREATED
        )
        self.wave: Wave = waves.create_wave(
            self.store,
            self.event.event_id,
            {
                "questionnaire": "satisfaction",
                "opens": {"after_event_days": 1, "local_time": "09:00"},
                "closes": closes or {"after_open_days": 14},
                "reminders_after_days": [3, 7] if reminders is None else reminders,
            },
            panel_secret=PANEL,
            now=CREATED,
        )
        self.people = {p.email: p for p in self.store.list_participants(self.event.event_id)}

    def pid(self, email: str) -> str:
        return self.people[email].participant_id

    def run(self, now: datetime) -> list[str]:
        """One scheduler run at ``now``, then the sender on every queued job; the outcomes, in order."""
        distribution.dispatch_due(self.store, self.queue, now, limit=100)
        return [self.send(message, now) for message in self.queue.take()]

    def send(self, message: Mapping[str, Any], now: datetime) -> str:
        return distribution.send_job(self.store, self.mailer, self.renderer, message, base_url=BASE, now=now)

    def invitation(self, email: str) -> Any:
        return self.store.get_invitation(self.wave.wave_id, self.pid(email))

    def funnel(self) -> dict[str, Any]:
        summary = reports.summarize(self.store, self.event.event_id, self.wave.wave_id, None, k=1)
        return dict(summary["funnel"])


# Scheduling and sending ----------------------------------------------------------------------------------------
def test_each_invitation_goes_out_at_nine_in_its_participants_own_time_zone() -> None:
    world = World()
    assert [(i.participant_id, i.due_at) for i in world.store.list_invitations(world.wave.wave_id)] == sorted(
        [
            (world.pid("ingrid@example.org"), OSLO_OPENING),
            (world.pid("maria@example.org"), NEW_YORK_OPENING),
            (world.pid("kenji@example.org"), TOKYO_OPENING),
        ]
    )
    assert world.run(TOKYO_OPENING - timedelta(minutes=1)) == []
    assert world.run(TOKYO_OPENING) == ["sent"]
    assert world.run(OSLO_OPENING + timedelta(minutes=1)) == ["sent"]
    assert world.run(NEW_YORK_OPENING) == ["sent"]
    assert [m.to for m in world.mailer.sent] == ["kenji@example.org", "ingrid@example.org", "maria@example.org"]
    assert world.mailer.sent[2].subject == "invitation:es:Internet Governance Forum"  # in Maria's language
    assert world.mailer.sent[0].headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_reminders_follow_after_their_days_at_the_same_local_time_until_someone_answers() -> None:
    world = World()
    world.run(NEW_YORK_OPENING)
    ingrid = world.invitation("ingrid@example.org")
    assert (ingrid.due_kind, ingrid.due_at) == ("reminder-1", OSLO_OPENING + timedelta(days=3))
    assert ingrid.went_out_at == OSLO_OPENING  # the planned time, not the few minutes of lag
    answering.submit(world.store, world.mailer.link("kenji@example.org"), GOOD, now=NEW_YORK_OPENING)
    assert world.run(NEW_YORK_OPENING + timedelta(days=3)) == ["sent", "sent"]  # Ingrid and Maria, not Kenji
    assert sorted(m.to for m in world.mailer.sent[3:]) == ["ingrid@example.org", "maria@example.org"]
    assert world.mailer.sent[3].subject.startswith("reminder:")
    assert world.invitation("ingrid@example.org").due_at == OSLO_OPENING + timedelta(days=7)
    assert world.run(OSLO_OPENING + timedelta(days=7, hours=6)) == ["sent", "sent"]
    assert world.invitation("ingrid@example.org").due_at is None  # no third reminder
    assert world.run(OSLO_OPENING + timedelta(days=13)) == []
    assert world.funnel()["invited"] == 3  # a reminder is not a new invitee


def test_a_reminder_that_would_land_on_or_after_closing_is_never_planned() -> None:
    closing = OSLO_OPENING + timedelta(days=10)
    world = World(reminders=[3, 10], closes={"at": closing.isoformat()})
    world.run(OSLO_OPENING)
    assert world.invitation("ingrid@example.org").due_kind == "reminder-1"
    world.run(OSLO_OPENING + timedelta(days=3))
    ingrid = world.invitation("ingrid@example.org")
    assert (ingrid.due_kind, ingrid.due_at) == (None, None)  # reminder-2 would fall on the closing instant
    assert world.run(closing - timedelta(seconds=1)) == ["sent"]  # only Maria's late invitation
    assert [m.to for m in world.mailer.sent].count("ingrid@example.org") == 2


def test_a_late_send_counts_reminders_from_when_it_went_out() -> None:
    world = World()
    outage = OSLO_OPENING + timedelta(hours=8)  # past SCHEDULE_LAG
    world.run(outage)
    ingrid = world.invitation("ingrid@example.org")
    assert (ingrid.went_out_at, ingrid.due_at) == (outage, outage + timedelta(days=3))
    kenji = world.invitation("kenji@example.org")  # due at 00:00Z, also eight hours late or more
    assert kenji.went_out_at == outage


def test_a_redelivered_job_sends_nothing_twice() -> None:
    world = World()
    distribution.dispatch_due(world.store, world.queue, TOKYO_OPENING, limit=100)
    [job] = world.queue.take()
    assert world.send(job, TOKYO_OPENING) == "sent"
    assert world.send(job, TOKYO_OPENING) == "already"
    assert len(world.mailer.sent) == 1 and world.funnel()["invited"] == 1


def test_a_run_that_died_after_queueing_moves_the_reminder_on_next_time() -> None:
    world = World()
    distribution.dispatch_due(world.store, world.queue, TOKYO_OPENING, limit=100)
    [job] = world.queue.take()
    world.send(job, TOKYO_OPENING)
    kenji = world.invitation("kenji@example.org")
    world.store.reschedule(kenji, "invitation", TOKYO_OPENING)  # as if the run died before moving it on
    assert world.run(TOKYO_OPENING + timedelta(minutes=5)) == []
    assert world.invitation("kenji@example.org").due_kind == "reminder-1"


def test_a_throttled_send_is_released_and_sent_on_the_retry() -> None:
    world = World()
    distribution.dispatch_due(world.store, world.queue, TOKYO_OPENING, limit=100)
    [job] = world.queue.take()
    world.mailer.failures.append(SendThrottled("Maximum sending rate exceeded"))
    with pytest.raises(distribution.RetryLater, match="SES throttled"):
        world.send(job, TOKYO_OPENING)
    assert world.invitation("kenji@example.org").sent_kinds == set()
    assert world.funnel()["invited"] == 0
    assert world.send(job, TOKYO_OPENING) == "sent"
    assert world.funnel()["invited"] == 1


def test_a_refused_message_is_counted_as_failed_with_its_reason() -> None:
    world = World()
    world.mailer.failures.append(SendRejected("Email address is not verified."))
    assert world.run(TOKYO_OPENING) == ["rejected"]
    kenji = world.invitation("kenji@example.org")
    assert (kenji.status, kenji.failed_reason) == ("failed", "Email address is not verified.")
    assert world.mailer.sent == []


def test_a_suppressed_address_is_skipped_and_counted_once() -> None:
    world = World()
    world.store.suppress(world.people["kenji@example.org"].email_key, "complaint", CREATED)
    distribution.dispatch_due(world.store, world.queue, TOKYO_OPENING, limit=100)
    [job] = world.queue.take()
    assert world.send(job, TOKYO_OPENING) == "suppressed"
    assert world.send(job, TOKYO_OPENING) == "suppressed"
    counters = world.store.read_cells(world.wave.wave_id, "stakeholder_group")["academia"]
    assert counters == {"f:suppressed": 1}
    assert world.mailer.sent == []


def test_send_now_makes_every_planned_invitation_due_and_pressing_twice_is_harmless() -> None:
    world = World()
    first = waves.send_now(world.store, world.event.event_id, world.wave.wave_id, panel_secret=PANEL, now=CREATED)
    assert (first["status"], first["due_now"]) == ("open", 3)
    again = waves.send_now(world.store, world.event.event_id, world.wave.wave_id, panel_secret=PANEL, now=CREATED)
    assert again["due_now"] == 0
    assert world.run(CREATED) == ["sent", "sent", "sent"]
    assert world.store.get_wave(world.event.event_id, world.wave.wave_id).closes_at == CREATED + timedelta(days=14)


def test_remind_now_reaches_everyone_invited_who_has_not_answered() -> None:
    world = World()
    world.run(NEW_YORK_OPENING)
    answering.submit(world.store, world.mailer.link("maria@example.org"), GOOD, now=NEW_YORK_OPENING)
    queued = distribution.remind_now(world.store, world.queue, world.event.event_id, world.wave.wave_id, CREATED)
    assert queued["queued"] == 2
    outcomes = [world.send(m, NEW_YORK_OPENING) for m in world.queue.take()]
    assert outcomes == ["sent", "sent"]
    assert sorted(m.to for m in world.mailer.sent[3:]) == ["ingrid@example.org", "kenji@example.org"]
    assert "manual-1" in world.invitation("kenji@example.org").sent_kinds


def test_an_event_whose_dates_move_moves_its_planned_invitations_until_sending_starts() -> None:
    world = World()
    body = {"title": "IGF", "starts_on": f"{YEAR}-06-29", "ends_on": f"{YEAR}-07-03", "timezone": "Europe/Oslo"}
    events.update_event(world.store, world.event.event_id, body, now=CREATED)
    assert world.invitation("ingrid@example.org").due_at == OSLO_OPENING + timedelta(days=7)
    world.run(TOKYO_OPENING + timedelta(days=7))
    with pytest.raises(Exception, match="cannot change once a wave has started sending"):
        events.update_event(world.store, world.event.event_id, {**body, "ends_on": f"{YEAR}-07-04"}, now=CREATED)


# Answering -----------------------------------------------------------------------------------------------------
def test_an_answer_is_counted_and_an_edit_moves_the_counts() -> None:
    world = World()
    world.run(NEW_YORK_OPENING)
    token = world.mailer.link("ingrid@example.org")
    survey = answering.open_survey(world.store, token, now=NEW_YORK_OPENING)
    assert (survey.closed, survey.previous, survey.language) == (False, None, "en")
    assert answering.submit(world.store, token, GOOD, now=NEW_YORK_OPENING).stored
    edited = answering.submit(world.store, token, {**GOOD, "mutual_learning": ["2"], "_v": ["1"]}, now=NEW_YORK_OPENING)
    assert (edited.stored, edited.edited) == (True, True)
    counters = world.store.read_cells(world.wave.wave_id, "stakeholder_group")["government"]
    assert counters["f:completed"] == 1 and counters["f:opened"] == 1
    assert counters["a:mutual_learning:2"] == 1 and counters.get("a:mutual_learning:5", 0) == 0
    stored = world.store.get_response(world.wave.wave_id, world.pid("ingrid@example.org"))
    assert stored is not None and (stored.version, stored.answers["mutual_learning"]) == (2, "2")


def test_an_incomplete_form_is_refused_and_nothing_is_stored() -> None:
    world = World()
    world.run(TOKYO_OPENING)
    token = world.mailer.link("kenji@example.org")
    result = answering.submit(world.store, token, {"overall": ["5"]}, now=TOKYO_OPENING)
    assert not result.stored and result.check.errors
    assert list(world.store.list_responses(world.wave.wave_id)) == []


def test_unsubscribing_stops_the_reminders_and_refuses_answers() -> None:
    world = World()
    world.run(TOKYO_OPENING)
    token = world.mailer.link("kenji@example.org")
    answering.unsubscribe(world.store, token, now=TOKYO_OPENING)
    answering.unsubscribe(world.store, token, now=TOKYO_OPENING)  # idempotent
    world.run(TOKYO_OPENING + timedelta(days=3))
    assert [m.to for m in world.mailer.sent].count("kenji@example.org") == 1
    assert world.invitation("kenji@example.org").due_at is None
    with pytest.raises(OptedOut, match="opted out"):
        answering.submit(world.store, token, GOOD, now=TOKYO_OPENING)
    assert world.funnel()["opted_out"] == 1


def test_no_answer_after_the_wave_closed() -> None:
    world = World()
    world.run(TOKYO_OPENING)
    closes = world.store.get_wave(world.event.event_id, world.wave.wave_id).closes_at
    assert closes is not None
    token = world.mailer.link("kenji@example.org")
    assert answering.open_survey(world.store, token, now=closes).closed
    with pytest.raises(WaveClosed, match="closed"):
        answering.submit(world.store, token, GOOD, now=closes)


def test_an_unknown_or_malformed_link_is_not_found() -> None:
    world = World()
    for token in ("", "nope", "A" * 43):
        with pytest.raises(NotFound, match="unknown link"):
            answering.open_survey(world.store, token, now=CREATED)


# Feedback from SES ----------------------------------------------------------------------------------------------
def notification(kind: str, email: str, world: World, **body: Any) -> dict[str, Any]:
    tags = {"ef-wave": [world.wave.wave_id], "ef-participant": [world.pid(email)]}
    return {"eventType": kind, "mail": {"destination": [email], "tags": tags}, **body}


def test_a_permanent_bounce_suppresses_the_address_and_stops_the_reminders() -> None:
    world = World()
    world.run(TOKYO_OPENING)
    bounce = notification(
        "Bounce",
        "kenji@example.org",
        world,
        bounce={"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "kenji@example.org"}]},
    )
    assert distribution.record_feedback(world.store, bounce, secret=SECRET, now=TOKYO_OPENING) == [
        "suppressed",
        "bounced",
    ]
    assert distribution.record_feedback(world.store, bounce, secret=SECRET, now=TOKYO_OPENING) == []
    world.run(TOKYO_OPENING + timedelta(days=3))
    assert [m.to for m in world.mailer.sent].count("kenji@example.org") == 1
    assert world.invitation("kenji@example.org").due_at is None
    assert world.funnel()["bounced"] == 1


def test_delivery_and_complaint_are_counted_once_each() -> None:
    world = World()
    world.run(TOKYO_OPENING)
    delivery = notification("Delivery", "kenji@example.org", world)
    recipients = [{"emailAddress": "kenji@example.org"}]
    complaint = notification("Complaint", "kenji@example.org", world, complaint={"complainedRecipients": recipients})
    for _ in range(2):  # SNS delivers at least once
        distribution.record_feedback(world.store, delivery, secret=SECRET, now=TOKYO_OPENING)
        distribution.record_feedback(world.store, complaint, secret=SECRET, now=TOKYO_OPENING)
    funnel = world.funnel()
    assert (funnel["delivered"], funnel["complained"], funnel["opted_out"]) == (1, 1, 1)
    assert world.invitation("kenji@example.org").status == "complained"


# Erasure and reports --------------------------------------------------------------------------------------------
def test_erasure_removes_the_person_their_links_and_their_name_from_their_comments() -> None:
    world = World()
    world.run(OSLO_OPENING)
    token = world.mailer.link("ingrid@example.org")
    comment = {**GOOD, "comments": ["Ingrid Nordmann here: the sessions were excellent."]}
    answering.submit(world.store, token, comment, now=OSLO_OPENING)
    report = erasure.erase_participant(world.store, world.pid("ingrid@example.org"), now=OSLO_OPENING)
    assert (report["links_revoked"], report["answers_scrubbed"]) == (1, 1)
    person = world.store.get_participant(world.event.event_id, world.pid("ingrid@example.org"))
    assert (person.email, person.full_name, person.organisation) == ("", "", "")
    with pytest.raises(NotFound, match="unknown link"):
        answering.open_survey(world.store, token, now=OSLO_OPENING)
    stored = world.store.get_response(world.wave.wave_id, world.pid("ingrid@example.org"))
    assert stored is not None and "Ingrid" not in str(stored.answers["comments"])
    assert world.funnel()["completed"] == 1  # the answers stay, pseudonymous
    world.run(OSLO_OPENING + timedelta(days=3))
    assert [m.to for m in world.mailer.sent].count("ingrid@example.org") == 1  # no reminder to the erased address


def test_the_summary_gives_the_agreeing_share_and_suppresses_small_groups() -> None:
    world = World()
    world.run(NEW_YORK_OPENING)
    for email, learning in (("ingrid@example.org", "5"), ("maria@example.org", "4"), ("kenji@example.org", "2")):
        form = {**GOOD, "mutual_learning": [learning]}
        answering.submit(world.store, world.mailer.link(email), form, now=NEW_YORK_OPENING)
    summary = reports.summarize(world.store, world.event.event_id, None, None, k=2)
    assert summary["wave_id"] == world.wave.wave_id  # the latest wave when none is named
    learning = next(q for q in summary["questions"] if q["id"] == "mutual_learning")
    assert learning["agree_pct"] == pytest.approx(200 / 3, abs=0.1)
    assert all(group.get("suppressed") for group in learning["groups"].values())  # one person per group < k=2
    assert summary["funnel"]["completed"] == 3
    assert summary["sentences"]["en"][1] == (
        "Sixty-seven per cent of respondents indicated that the workshop had furthered mutual learning among "
        "governments and other actors (2 of 3 respondents; 95% confidence interval 21–94 per cent)."
    )
    with pytest.raises(ValidationFailed, match="by must be one of"):
        reports.summarize(world.store, world.event.event_id, None, "shoe_size", k=2)

"""Faults on the send path: SES throttling and rejection (botocore Stubber in front of the real SES
client), a crash after SES accepted, a poison message, DynamoDB throttling the claim, and a crash between
queueing and moving the due time on. DynamoDB, SQS and (where not stubbed) SES are in-process moto."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from chalicelib import clients, container
from chalicelib.adapters import tables
from chalicelib.adapters.mailer import SesMailer
from chalicelib.adapters.store import DynamoStore, base
from chalicelib.domain import distribution
from chalicelib.jobs.handlers import send_records
from tests.support.api import event_ending, funnel, import_rows, make_wave, participants, run_schedule, send_route
from tests.support.clock import Clock, at
from tests.support.data import YEAR, row
from tests.support.mail import Mailbox, feed_ses_events, grant, recipient, to_set

SQS_QUEUE = "event-feedback-send"


@pytest.fixture
def wave(client: Any, tokens: dict[str, str], clock: Clock) -> Iterator[tuple[str, str]]:
    """An event with five participants and a wave whose invitations are queued (not yet sent)."""
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row(f"p{i}@example.org") for i in range(5)])
    wave_id = make_wave(client, admin, event_id)
    assert send_route(client, admin, event_id, wave_id)["queued"] == 5
    yield event_id, wave_id


@pytest.fixture
def ses_stub(stack: Any) -> Iterator[tuple[Stubber, list[dict[str, Any]]]]:
    """The Stubber answers every SendRawEmail of the mailer's own SES client; each call's params are kept."""
    ses = clients.client("ses")
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(params)

    ses.meta.events.register("provide-client-params.ses.SendRawEmail", record)
    assert container.mailer().ses is ses
    with Stubber(ses) as stubber:
        yield stubber, calls
    ses.meta.events.unregister("provide-client-params.ses.SendRawEmail", record)


def by_pid(client: Any, admin: str, event_id: str) -> dict[str, str]:
    return {email: p["participant_id"] for email, p in participants(client, admin, event_id).items()}


def tokens_of(participant_id: str) -> list[dict[str, Any]]:
    table = f"{container.settings().table_prefix}tokens"
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]
    return [i for i in items if i["participant_id"]["S"] == participant_id]


def test_given_ses_throttles_the_third_of_five_sends_when_redelivered_then_it_is_sent_once_and_nothing_twice(
    client, tokens, stack, wave, ses_stub
):
    stubber, calls = ses_stub
    event_id, wave_id = wave
    admin, viewer = tokens["admin"], tokens["viewer"]
    bodies = stack.queue_bodies()
    assert len(bodies) == 5
    for n in range(5):
        if n == 2:
            stubber.add_client_error(
                "send_raw_email",
                service_error_code="Throttling",
                service_message="Maximum sending rate exceeded.",
                http_status_code=400,
            )
        else:
            stubber.add_response("send_raw_email", {"MessageId": f"stub-{n}"})

    # The batch finishes the other jobs, then fails, so SQS delivers it again.
    with pytest.raises(RuntimeError, match="retry"):
        send_records(bodies)
    stubber.assert_no_pending_responses()
    throttled = calls[2]["Destinations"][0]
    pid = by_pid(client, admin, event_id)[throttled]
    invitation = container.store().get_invitation(wave_id, pid)
    assert invitation.sent_kinds == set()
    assert tokens_of(pid) == []
    assert funnel(client, viewer, event_id, wave_id)["invited"] == 4
    listed = participants(client, admin, event_id)[throttled]["waves"][wave_id]
    assert listed["sent"] == [] and listed["status"] == "pending"

    # The whole batch comes back (the only retry Chalice's SQS trigger knows): one SES call, for it alone.
    stubber.add_response("send_raw_email", {"MessageId": "stub-retry"})
    assert send_records(bodies) == {"already": 4, "sent": 1}
    stubber.assert_no_pending_responses()
    assert calls[5]["Destinations"] == [throttled]
    accepted = [c["Destinations"][0] for n, c in enumerate(calls) if n != 2]
    assert sorted(accepted) == [f"p{i}@example.org" for i in range(5)]
    assert len(tokens_of(pid)) == 1
    assert container.store().get_invitation(wave_id, pid).sent_kinds == {"invitation"}
    assert funnel(client, viewer, event_id, wave_id)["invited"] == 5
    # And once more: nothing reaches SES (the Stubber would raise on an unexpected call).
    assert send_records(bodies) == {"already": 5}


def test_given_ses_rejects_a_message_when_sent_then_it_is_marked_failed_and_not_retried(
    client, tokens, stack, wave, ses_stub
):
    stubber, calls = ses_stub
    event_id, wave_id = wave
    admin, viewer = tokens["admin"], tokens["viewer"]
    bodies = stack.queue_bodies()
    stubber.add_client_error(
        "send_raw_email", service_error_code="MessageRejected", service_message="Email address is not verified."
    )
    for n in range(4):
        stubber.add_response("send_raw_email", {"MessageId": f"stub-{n}"})
    assert send_records(bodies) == {"rejected": 1, "sent": 4}  # returns: SQS deletes the batch
    stubber.assert_no_pending_responses()
    rejected = calls[0]["Destinations"][0]
    listed = participants(client, admin, event_id)[rejected]["waves"][wave_id]
    assert listed["status"] == "failed"
    counts = funnel(client, viewer, event_id, wave_id)
    assert counts["failed"] == 1 and counts["invited"] == 5
    # Delivered again anyway, or scheduled again: still no SES call.
    assert send_records(bodies) == {"already": 5}
    run_schedule(client)
    assert stack.deliver() == {}
    assert len(calls) == 5


def test_given_an_ses_reject_event_when_notified_twice_then_the_invitation_is_failed_once(client, tokens, stack, wave):
    event_id, wave_id = wave
    admin, viewer = tokens["admin"], tokens["viewer"]
    assert stack.deliver() == {"sent": 5}
    message = stack.ses_messages()[0]
    pid = by_pid(client, admin, event_id)[recipient(message)]
    # SES's event-publishing JSON for a message it accepted, then refused (e.g. a virus found).
    reject = {
        "eventType": "Reject",
        "mail": {
            "timestamp": "2027-06-10T12:00:00.000Z",
            "messageId": message.id,
            "source": "surveys@example.org",
            "destination": [recipient(message)],
            "tags": {"ef-wave": [wave_id], "ef-participant": [pid], "ef-kind": ["invitation"]},
        },
        "reject": {"reason": "Bad content"},
    }
    queued = client.events.generate_sqs_event([json.dumps(reject)], queue_name="event-feedback-ses-feedback")
    assert client.lambda_.invoke("ses_feedback", queued).payload == ["failed"]
    assert client.lambda_.invoke("ses_feedback", queued).payload == []
    assert funnel(client, viewer, event_id, wave_id)["failed"] == 1
    assert participants(client, admin, event_id)[recipient(message)]["waves"][wave_id]["status"] == "failed"


def test_given_a_crash_after_ses_accepted_when_redelivered_then_nothing_is_resent_and_it_shows_as_sent(
    client, tokens, stack, wave, monkeypatch
):
    event_id, wave_id = wave
    admin = tokens["admin"]
    bodies = stack.queue_bodies()
    real_send = SesMailer.send

    def send_then_crash(self: SesMailer, email: Any) -> str:
        real_send(self, email)
        raise RuntimeError("Lambda timed out after SES accepted")

    monkeypatch.setattr(SesMailer, "send", send_then_crash)
    with pytest.raises(RuntimeError, match="timed out"):
        send_records(bodies[:1])
    monkeypatch.setattr(SesMailer, "send", real_send)
    box = Mailbox(stack)
    (first,) = box.new()
    assert grant(first).kind == "invitation"

    event = client.events.generate_sqs_event(message_bodies=bodies[:1], queue_name=SQS_QUEUE)
    assert client.lambda_.invoke("sender", event).payload == {"already": 1}
    run_schedule(client)
    stack.deliver()
    assert box.new() == []
    listed = participants(client, admin, event_id)[recipient(first)]["waves"][wave_id]
    assert listed["sent"] == ["invitation"]
    assert listed["status"] == "sent"  # claimed, with no SES event yet: the reconciliation flag
    assert listed["next"] == "reminder-1"
    assert send_records(bodies[1:]) == {"sent": 4}
    assert len(box.new()) == 4


def test_given_a_crash_between_the_claim_and_ses_then_the_lost_invitation_is_listed_as_unconfirmed(
    client, tokens, stack, wave, clock, monkeypatch
):
    """At most once: the claimed email that never reached SES is not resent, but an hour later it is listed
    (with any email whose SES events never came), and nothing SES confirmed is."""
    event_id, wave_id = wave
    admin = tokens["admin"]
    bodies = stack.queue_bodies()
    real_send = SesMailer.send

    def crash_before_ses(self: SesMailer, email: Any) -> str:
        raise RuntimeError("Lambda timed out before SES took the message")

    monkeypatch.setattr(SesMailer, "send", crash_before_ses)
    with pytest.raises(RuntimeError, match="timed out"):
        send_records(bodies[:1])
    monkeypatch.setattr(SesMailer, "send", real_send)
    assert send_records(bodies[:1]) == {"already": 1}  # redelivered: dropped rather than risk a second email
    assert send_records(bodies[1:]) == {"sent": 4}
    feed_ses_events(client, stack.ses_messages())  # SES confirms the four it took

    path = f"/admin/events/{event_id}/waves/{wave_id}/unconfirmed"
    headers = {"Authorization": f"Bearer {admin}"}
    assert json.loads(client.http.get(path, headers=headers).body)["count"] == 0  # too early to tell
    clock.now += timedelta(minutes=61)
    report = json.loads(client.http.get(path, headers=headers).body)
    lost = {g["participant_id"] for g in (json.loads(b) for b in bodies[:1])}
    assert report["count"] == 1 and {p["participant_id"] for p in report["participants"]} == lost
    assert report["participants"][0]["status"] == "sent" and report["older_than_minutes"] == 60
    assert client.http.get(path, headers={"Authorization": f"Bearer {tokens['viewer']}"}).status_code == 403
    other = client.http.get(f"/admin/events/ev_000000000000/waves/{wave_id}/unconfirmed", headers=headers)
    assert other.status_code == 404


class _Lines(logging.Handler):
    """The handlers' log lines, formatted exactly as Lambda would print them (Powertools JSON)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        from chalicelib.observability import logger

        self.setFormatter(logger.registered_formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_given_an_unreadable_job_when_received_five_times_then_it_is_in_the_dlq_and_no_address_was_logged(
    client, stack
):
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue, dlq = stack.outputs["SendQueueUrl"], stack.outputs["DeadLetterQueueUrl"]
    poison = '{"v": 1, "email": "amina.diallo@example.org", "kind": '  # truncated JSON with an address in it
    sqs.send_message(QueueUrl=queue, MessageBody=poison)
    # The app logger may not propagate (Chalice configures its own logger of the same name), so listen on it.
    lines = _Lines()
    app_logger = logging.getLogger("event-feedback")
    app_logger.addHandler(lines)
    receives = 0
    try:
        for _ in range(10):
            got = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0, MaxNumberOfMessages=1).get("Messages", [])
            if not got:
                break
            receives += 1
            event = client.events.generate_sqs_event(message_bodies=[got[0]["Body"]], queue_name=SQS_QUEUE)
            with pytest.raises(RuntimeError) as failed:  # the invocation fails, so SQS keeps the message
                client.lambda_.invoke("sender", event)
            assert "amina" not in str(failed.value)
    finally:
        app_logger.removeHandler(lines)
    assert receives == 5  # the template's maxReceiveCount
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in moved] == [poison]
    assert sum('"unreadable send job"' in line for line in lines.lines) == receives
    assert all('"poison":1' in line for line in lines.lines if '"send batch"' in line)
    everything = "\n".join(lines.lines)
    assert "amina" not in everything and "@" not in everything
    assert stack.ses_messages() == []


def _throttle_next_transaction(times: int = 1) -> list[int]:
    """DynamoDB refuses the next ``times`` TransactWriteItems for load (as it does under throttling): the
    cancellation reasons say ThrottlingError, exactly as DynamoDB reports them."""
    fired: list[int] = []

    def refuse(params: dict[str, Any], **_: Any) -> Any:
        if len(fired) >= times:
            return None
        fired.append(1)
        items = json.loads(params["body"])["TransactItems"]
        reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity."}]
        reasons += [{"Code": "None"}] * (len(items) - 1)
        parsed = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled [ThrottlingError]"},
            "CancellationReasons": reasons,
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
        }
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), parsed

    tables.connection().client.meta.events.register("before-call.dynamodb.TransactWriteItems", refuse)
    return fired


def test_given_dynamodb_throttles_the_claim_when_delivered_then_it_is_retried_and_sent_once(
    client, tokens, stack, wave
):
    _, wave_id = wave
    bodies = stack.queue_bodies()
    container.store()  # binds the tables, so the hook goes on the connection the claim uses
    fired = _throttle_next_transaction(base.TX_ATTEMPTS)  # the store tries again itself first (issue 17)
    with pytest.raises(RuntimeError, match="retry"):
        send_records(bodies[:1])
    assert fired == [1] * base.TX_ATTEMPTS
    assert stack.ses_messages() == []
    pid = json.loads(bodies[0])["participant_id"]
    assert container.store().get_invitation(wave_id, pid).sent_kinds == set()
    assert send_records(bodies[:1]) == {"sent": 1}
    assert send_records(bodies[:1]) == {"already": 1}
    assert len(stack.ses_messages()) == 1


def test_given_dynamodb_refuses_the_claim_once_then_the_store_tries_again_and_sends_it(client, tokens, stack, wave):
    bodies = stack.queue_bodies()
    container.store()
    fired = _throttle_next_transaction(1)
    assert send_records(bodies[:1]) == {"sent": 1}
    assert fired == [1]
    assert len(stack.ses_messages()) == 1


def test_given_a_busy_claim_when_the_job_is_sent_then_it_raises_retry_later_and_sends_nothing(
    client, stack, wave, monkeypatch
):
    from chalicelib.domain.ports import ClaimOutcome

    bodies = stack.queue_bodies()
    real_claim = DynamoStore.claim
    outcomes = iter([ClaimOutcome.BUSY])

    def busy_once(self: DynamoStore, *args: Any, **kwargs: Any) -> ClaimOutcome:
        return next(outcomes, None) or real_claim(self, *args, **kwargs)

    monkeypatch.setattr(DynamoStore, "claim", busy_once)
    job = json.loads(bodies[0])
    kwargs = {"base_url": "http://testserver", "now": container.now()}
    with pytest.raises(distribution.RetryLater):
        distribution.send_job(container.store(), container.mailer(), container.renderer(), job, **kwargs)
    assert stack.ses_messages() == []
    assert distribution.send_job(container.store(), container.mailer(), container.renderer(), job, **kwargs) == "sent"
    assert len(stack.ses_messages()) == 1


def test_given_a_crash_between_queueing_and_moving_the_due_time_when_rerun_then_the_reminder_still_goes_once(
    client, tokens, stack, clock, monkeypatch
):
    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    opening = ends + timedelta(days=1)
    clock.now = at(ends, "12:00")
    event_id = event_ending(client, admin, ends)
    import_rows(client, admin, event_id, [row("crash@example.org", country="CH"), row("fine@example.org")])
    make_wave(client, admin, event_id, reminders=[3])
    box = Mailbox(stack)
    real = DynamoStore.reschedule
    crashes = iter([True])

    def crash_once(self: DynamoStore, *args: Any, **kwargs: Any) -> None:
        if next(crashes, False):
            raise RuntimeError("schedule Lambda killed after enqueuing")
        real(self, *args, **kwargs)

    monkeypatch.setattr(DynamoStore, "reschedule", crash_once)
    clock.now = at(opening, "07:00")  # 09:00 in Zurich and Paris
    with pytest.raises(RuntimeError, match="killed"):
        run_schedule(client)
    assert stack.deliver() == {"sent": 2}  # both jobs were queued before the crash
    # The next runs find one invitation still due, already claimed: nothing is queued twice...
    clock.now = at(opening, "07:05")
    run_schedule(client)
    run_schedule(client)
    assert stack.deliver() == {}
    assert len(box.new()) == 2
    # ...and its reminder is still owed, once, three days later at 09:00 local.
    clock.now = at(opening + timedelta(days=3), "06:59")
    run_schedule(client)
    assert stack.deliver() == {}
    clock.now = at(opening + timedelta(days=3), "07:00")
    run_schedule(client)
    run_schedule(client)
    stack.deliver()
    reminders = box.new()
    assert to_set(reminders) == {"crash@example.org", "fine@example.org"}
    assert {grant(m).kind for m in reminders} == {"reminder-1"}
    assert len(reminders) == 2

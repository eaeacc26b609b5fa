"""A Hypothesis state machine over the real handlers (in-process moto, a fresh stack per example): schedule
runs, duplicate deliveries (one after the other, or two workers on the same message at once) and lost
deletes, crashes on either side of SES, SES throttling, DynamoDB throttling of the claim and mark writes
(absorbed by botocore's retries, or not), answers, opt-outs, "send now" and manual reminders, and erasures
while the participant's jobs are queued (or in the dead-letter queue), in any order.

Invariants: at most one email SES accepted per (participant, wave, kind); nothing to a suppressed address;
no email after an opt-out or a bounce, and no reminder after an answer; no email SES accepts after the
participant's erasure, and no link token stored for them after it; and at quiescence (queue drained,
dead letters redriven, faults off) exactly one invitation per participant who was not suppressed beforehand,
except where a crash hit after the claim and before SES took the message: the design drops that email
rather than risk a second one (at most once), so there it is zero, never two; and an erased participant has
at most the one invitation that went before the erasure.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from chalicelib import clients, container
from chalicelib.adapters.store.base import TX_ATTEMPTS
from chalicelib.domain import answering, distribution, erasure, events, planning, waves
from chalicelib.domain.errors import DomainError, TemporarilyUnavailable
from chalicelib.domain.participants import email_key
from chalicelib.domain.tokens import hash_token
from chalicelib.jobs import handlers
from chalicelib.settings import reset_settings
from devstack import ses_events, tx_conflicts
from devstack.provision import provision
from tests.support.data import HEADER, YEAR, row
from tests.support.machines import DynamoFaults, StepCounter, attempts_for, isolated_transactions
from tests.support.mail import link_token, recipient
from tests.support.stack import SENDER, app_env

PEOPLE = [
    row("tokyo@example.org", country="JP"),
    row("zurich@example.org", country="CH", language="fr"),
    row("newyork@example.org", country="US", tz="America/New_York", language="es"),
    row("bounce@simulator.amazonses.com", country="BR"),
    row("blocked@example.org", country="FR"),  # suppressed before the wave: never emailed
]
ADDRESSES = [line.split(",")[0] for line in PEOPLE]
BLOCKED = "blocked@example.org"
FORM = {"overall": ["5"], "mutual_learning": ["5"], "understanding": ["4"], "cooperation_measures": ["3"]}
ENDS = date(YEAR, 6, 10)
STEPS = StepCounter("distribution")
# DynamoDB throttles on the claim and mark writes (TransactWriteItems) of a delivery: (code, how many in a
# row). botocore makes 4 attempts: 1 or 3 are absorbed, 4 fail one claim, 9 two; a transaction cancelled
# for throttling is not retried by botocore, but by the store (TX_ATTEMPTS in all). Half of the deliveries: none.
DYNAMO_THROTTLES = [
    ("ProvisionedThroughputExceededException", 1),
    ("ThrottlingException", 3),
    ("ProvisionedThroughputExceededException", 4),
    ("ThrottlingException", 9),
    ("TransactionCanceledException", 1),  # the store tries the transaction again (issue 17)
    ("TransactionCanceledException", TX_ATTEMPTS),  # and gives up: the claim is busy, the job retried
]
THROTTLE = st.one_of(st.none(), st.sampled_from(DYNAMO_THROTTLES))


def _ses_error(code: str) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {
        "Error": {"Code": code, "Message": "Maximum sending rate exceeded.", "Type": "Sender"},
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
    }
    return AWSResponse("https://email.us-east-1.amazonaws.com/", 400, {}, None), parsed


class DistributionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        STEPS.example()
        self.saved_env: dict[str, str | None] = {}
        self.saved_now = container.now
        self.mock = mock_aws()
        self.mock.start()
        self.faults = DynamoFaults()
        self._faults_cm = self.faults.installed()
        self._faults_cm.__enter__()
        self.armed: tuple[str, int] | None = None
        self.flags = threading.Lock()  # two workers may reach SES at once
        try:
            self._set_up()
        except BaseException:
            self.teardown()
            raise

    def _set_up(self) -> None:
        from moto.ses.models import ses_backends

        # The concurrent-delivery rule needs the isolation DynamoDB gives transactions.
        self.isolation = isolated_transactions()
        self.isolation.__enter__()
        tx_conflicts.install(duration=0.005)  # and the conflicts of overlapping transactions (issue 17)

        self.ses_backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        self.ses_backend.sent_messages.clear()
        outputs = provision(None, region="us-east-1", prefix="event-feedback", sender=SENDER)
        self.outputs = outputs
        env = app_env(outputs)
        self.saved_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        # The adapters and their clients stay built from one example to the next, as in a warm Lambda:
        # their endpoints do not change, and moto serves each example from fresh backends. (The autouse
        # fixture resets them around the whole test; rebuilding them per example costs seconds.)
        reset_settings()
        self.now = datetime(ENDS.year, ENDS.month, ENDS.day, 12, 0, tzinfo=UTC)  # the event's last day
        container.now = lambda: self.now  # type: ignore[assignment]
        self.sqs = boto3.client("sqs", region_name="us-east-1")

        s = container.settings()
        store = container.store()
        event = events.create_event(
            store,
            {
                "title": "Machine workshop",
                "starts_on": (ENDS - timedelta(days=1)).isoformat(),
                "ends_on": ENDS.isoformat(),
                "timezone": "Europe/Zurich",
            },
            self.now,
        )
        self.event_id = event.event_id
        report = planning.import_participants(
            store,
            self.event_id,
            HEADER + "".join(PEOPLE),
            secret=s.pseudonym_secret,
            panel_secret=s.panel_secret,
            now=self.now,
        )
        assert report.imported == len(PEOPLE), report
        store.suppress(email_key(s.pseudonym_secret, BLOCKED), "complaint", self.now)
        body = {
            "questionnaire": "satisfaction",
            "opens": {"after_event_days": 1, "local_time": "09:00"},
            "reminders_after_days": [2, 4],
            "closes": {"after_open_days": 8},
        }
        self.wave_id = waves.create_wave(store, self.event_id, body, panel_secret=s.panel_secret, now=self.now).wave_id
        self.pid = {p.email: p.participant_id for p in store.list_participants(self.event_id)}
        self.address = {pid: email for email, pid in self.pid.items()}

        # Fault injection on the mailer's own SES client, around the real (moto) call.
        self.throttle_next = False
        self.crash_before_next = False
        self.crash_after_next = False
        self.accepted: list[tuple[str, str, str]] = []  # (participant, wave, kind) of every email SES took
        self.lost: set[tuple[str, str]] = set()  # (participant, kind) claimed, then crashed before SES
        self.seen_messages = 0
        self.fed = 0
        self.completed: set[str] = set()
        self.opted_out: set[str] = set()
        self.bounced: set[str] = set()
        self.bouncing: set[str] = set()  # bounced by the emails of the current step (after they went)
        self.erased: set[str] = set()
        self.ses = container.mailer().ses
        assert self.ses is clients.client("ses")
        self.ses.meta.events.register("before-call.ses.SendRawEmail", self._before_ses)
        self.ses.meta.events.register("after-call.ses.SendRawEmail", self._after_ses)

    @staticmethod
    def _tags(params: dict[str, Any]) -> dict[str, str]:
        """The message tags of a SendRawEmail request, from its serialised (query protocol) body."""
        body = params.get("body") or {}
        found: dict[str, str] = {}
        for n in range(1, 10):
            name = body.get(f"Tags.member.{n}.Name")
            if name is None:
                break
            found[name] = body[f"Tags.member.{n}.Value"]
        return found

    def _before_ses(self, params: dict[str, Any], **_: Any) -> Any:
        with self.flags:
            throttle, self.throttle_next = self.throttle_next, False
            crash = self.crash_before_next and not throttle
            self.crash_before_next = self.crash_before_next and not crash
        if throttle:
            return _ses_error("Throttling")
        if crash:
            tags = self._tags(params)
            assert {"ef-participant", "ef-kind"} <= tags.keys(), tags  # (a KeyError would read as poison)
            self.lost.add((tags["ef-participant"], tags["ef-kind"]))
            raise RuntimeError("crash after the claim, before SES")
        return None

    def _after_ses(self, http_response: Any, **_: Any) -> None:
        with self.flags:
            crash = http_response.status_code == 200 and self.crash_after_next
            self.crash_after_next = self.crash_after_next and not crash
        if crash:
            raise RuntimeError("crash after SES accepted, before anything else")

    # Helpers ---------------------------------------------------------------------------------------------
    def _closes_at(self) -> datetime:
        closes = container.store().get_wave(self.event_id, self.wave_id).closes_at
        assert closes is not None
        return closes

    def _read_outbox(self) -> list[tuple[str, str]]:
        """The emails SES accepted since the last look, as (participant, kind), the kind read from the
        token behind the email's link."""
        messages = list(self.ses_backend.sent_messages)
        fresh = messages[self.seen_messages :]
        self.seen_messages = len(messages)
        store = container.store()
        out = []
        for message in fresh:
            grant = store.get_token(hash_token(link_token(message)))
            assert grant is not None
            assert self.address[grant.participant_id] == recipient(message)
            self.accepted.append((grant.participant_id, grant.wave_id, grant.kind))
            out.append((grant.participant_id, grant.kind))
        return out

    def _send(self, body: str) -> bool:
        try:
            handlers.send_records([body])
        except (RuntimeError, TemporarilyUnavailable):
            return False  # the invocation failed: SQS keeps the message and delivers it again
        return True

    def _arm_dynamo(self, throttle: tuple[str, int] | None) -> None:
        """The claim and mark writes of this delivery meet ``throttle``, if any."""
        self.armed = throttle
        if self.armed is not None:
            code, count = self.armed
            self.faults.throttle(count, code, ("TransactWriteItems",))

    def _disarm_dynamo(self) -> None:
        left = self.faults.clear()
        if self.armed is not None:
            code, count = self.armed
            given = count - left
            STEPS.note(
                "dynamodb throttle: "
                + ("none reached" if not given else "a write failed" if given >= attempts_for(code) else "absorbed")
            )
            self.armed = None

    def _feed_ses_events(self) -> None:
        """SES reports what it did with every accepted email (delivery; the simulator's bounce), as the
        pump does."""
        messages = list(self.ses_backend.sent_messages)[self.fed :]
        self.fed += len(messages)
        tags = ses_events.token_tags(container.store())
        for message in messages:
            records = ses_events.notifications(message.id, message.raw_data, tags)
            try:
                handlers.apply_feedback(ses_events.sns_messages(records))
            except TemporarilyUnavailable:  # a throttled mark: SNS delivers the notification again
                self._disarm_dynamo()
                handlers.apply_feedback(ses_events.sns_messages(records))
            if any(r["eventType"] == "Bounce" for r in records):
                self.bouncing.add(self.pid[recipient(message)])

    def _emailed(self, i: int) -> tuple[str, str] | None:
        """The i-th (modulo) participant who has an email, with the link of their latest one."""
        latest: dict[str, str] = {}
        for message in self.ses_backend.sent_messages:
            if self.pid[recipient(message)] not in self.erased:  # an erased person's links are revoked
                latest[recipient(message)] = link_token(message)
        if not latest:
            return None
        address = sorted(latest)[i % len(latest)]
        return address, latest[address]

    # Rules -----------------------------------------------------------------------------------------------
    @initialize(hours=st.sampled_from([-2, 8, 14]))
    def start(self, hours: int) -> None:
        """Start before the first local 09:00, or when some zones (or all) are past it."""
        STEPS.step("start")
        self.now = datetime(ENDS.year, ENDS.month, ENDS.day, tzinfo=UTC) + timedelta(days=1, hours=hours)
        handlers.run_schedule()

    @rule(hours=st.sampled_from([1, 5, 13, 24, 49]))
    def tick(self, hours: int) -> None:
        """Time moves on (staying a day short of the closing, so that quiescence can still send), and the
        cron runs the schedule."""
        STEPS.step("tick")
        self.now = max(self.now, min(self.now + timedelta(hours=hours), self._closes_at() - timedelta(days=1)))
        handlers.run_schedule()

    @rule()
    def fire_schedule(self) -> None:
        """The schedule runs again at the same moment (a retried or overlapping invocation)."""
        STEPS.step("fire_schedule")
        handlers.run_schedule()

    @rule(dup=st.booleans(), keep=st.booleans(), throttle=THROTTLE)
    def deliver(self, dup: bool, keep: bool, throttle: tuple[str, int] | None) -> None:
        """One SQS receive: run the sender on each job, maybe twice (a duplicate delivery), and delete it
        unless it failed (SQS then delivers it again) or ``keep`` (a lost delete: delivered again too).
        DynamoDB may throttle its claim and mark writes."""
        STEPS.step("deliver")
        queue = self.outputs["SendQueueUrl"]
        got = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        self._arm_dynamo(throttle)
        for message in got.get("Messages", []):
            ok = self._send(message["Body"])
            if dup:
                ok = self._send(message["Body"]) and ok
            if ok and not keep:
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        self._feed_ses_events()
        self._disarm_dynamo()

    @rule(keep=st.booleans(), throttle=THROTTLE)
    def deliver_concurrently(self, keep: bool, throttle: tuple[str, int] | None) -> None:
        """One SQS receive, and each job run by two workers at the very same time (SQS delivered it twice,
        or a visibility timeout ran out while the first worker was still on it)."""
        STEPS.step("deliver_concurrently")
        queue = self.outputs["SendQueueUrl"]
        got = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        self._arm_dynamo(throttle)
        for message in got.get("Messages", []):
            start = threading.Barrier(2)
            results: list[bool] = []

            def worker(body: str = message["Body"]) -> None:
                start.wait()
                results.append(self._send(body))

            workers = [threading.Thread(target=worker) for _ in range(2)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(60)
            assert len(results) == 2, "a worker hung"
            if all(results) and not keep:
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        self._feed_ses_events()
        self._disarm_dynamo()

    @rule()
    def ses_throttle(self) -> None:
        STEPS.step("ses_throttle")
        self.throttle_next = True

    @rule(after_ses=st.booleans())
    def crash(self, after_ses: bool) -> None:
        """The next send crashes: after SES accepted it, or after the claim and before SES."""
        STEPS.step("crash")
        if after_ses:
            self.crash_after_next = True
        else:
            self.crash_before_next = True

    @rule(i=st.integers(0, len(PEOPLE) - 1))
    def answer(self, i: int) -> None:
        STEPS.step("answer")
        found = self._emailed(i)
        if found is None:
            return
        try:
            result = answering.submit(container.store(), found[1], FORM, now=self.now)
        except DomainError:
            return  # opted out: refused, as the form says
        assert result.stored
        self.completed.add(self.pid[found[0]])

    @rule(i=st.integers(0, len(PEOPLE) - 1))
    def opt_out(self, i: int) -> None:
        STEPS.step("opt_out")
        found = self._emailed(i)
        if found is None:
            return
        answering.unsubscribe(container.store(), found[1], now=self.now)
        self.opted_out.add(self.pid[found[0]])

    @rule()
    def send_now(self) -> None:
        STEPS.step("send_now")
        store = container.store()
        waves.send_now(store, self.event_id, self.wave_id, panel_secret=container.settings().panel_secret, now=self.now)
        distribution.dispatch_due(store, container.send_queue(), self.now, limit=container.settings().schedule_batch)

    @rule()
    def remind(self) -> None:
        STEPS.step("remind")
        distribution.remind_now(container.store(), container.send_queue(), self.event_id, self.wave_id, self.now)

    @rule(i=st.integers(0, len(PEOPLE) - 1), first=st.sampled_from([None, "send_now", "remind"]))
    def erase(self, i: int, first: str | None) -> None:
        """An admin erases a participant, whatever of theirs is queued: an invitation, a reminder, a throttled
        retry, a dead letter (the quiescence redrives those); ``first``, jobs are queued just before."""
        STEPS.step("erase")
        if first == "send_now":
            self.send_now()
        elif first == "remind":
            try:
                self.remind()
            except DomainError:
                pass  # the wave is not open yet, or closed
        pid = self.pid[ADDRESSES[i]]
        queued = int(
            self.sqs.get_queue_attributes(
                QueueUrl=self.outputs["SendQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        STEPS.note("erased with jobs queued" if queued else "erased with the queue empty")
        erasure.erase_participant(container.store(), pid, now=self.now)
        self.erased.add(pid)

    # Invariants ------------------------------------------------------------------------------------------
    @invariant()
    def at_most_one_email_per_participant_wave_and_kind(self) -> None:
        # A step that sends never answers or opts out, and its bounces count from the next step: the sets
        # are as they were when these emails went.
        for pid, kind in self._read_outbox():
            assert self.address[pid] != BLOCKED, "an email to an address suppressed before the wave"
            assert pid not in self.opted_out | self.bounced, "an email after an opt-out or a bounce"
            assert kind == "invitation" or pid not in self.completed, "a reminder after an answer"
            assert pid not in self.erased, "an email after the participant's erasure"
        counts = Counter(self.accepted)
        assert all(n == 1 for n in counts.values()), counts
        self.bounced |= self.bouncing

    @invariant()
    def no_link_stored_for_an_erased_participant(self) -> None:
        """Erasure revoked every link they had; any link stored for them now was written after it."""
        if not self.erased:
            return
        table = container.settings().table("tokens")
        items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]
        written = {i["participant_id"]["S"] for i in items} & self.erased
        assert not written, "a link token stored for a participant after their erasure"

    def teardown(self) -> None:
        try:
            self.faults.clear()
            if hasattr(self, "ses"):
                self._quiesce()
        finally:
            if hasattr(self, "ses"):
                self.ses.meta.events.unregister("before-call.ses.SendRawEmail", self._before_ses)
                self.ses.meta.events.unregister("after-call.ses.SendRawEmail", self._after_ses)
            tx_conflicts.uninstall()
            if hasattr(self, "isolation"):
                self.isolation.__exit__(None, None, None)
            self._faults_cm.__exit__(None, None, None)
            container.now = self.saved_now  # type: ignore[method-assign]
            self.mock.stop()
            for key, value in self.saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            reset_settings()
            STEPS.write()

    def _quiesce(self) -> None:
        """Faults off; every zone past its 09:00; run the schedule and the sender until nothing is left,
        redriving dead letters as an operator would. Then exactly one invitation each."""
        self.throttle_next = self.crash_before_next = self.crash_after_next = False
        opening_done = datetime(ENDS.year, ENDS.month, ENDS.day, 23, 0, tzinfo=UTC) + timedelta(days=1)
        self.now = max(self.now, min(opening_done, self._closes_at() - timedelta(hours=1)))
        queue, dlq = self.outputs["SendQueueUrl"], self.outputs["DeadLetterQueueUrl"]
        for _ in range(30):
            queued = handlers.run_schedule()["queued"]
            moved = 0
            while dead := self.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []):
                for m in dead:
                    self.sqs.send_message(QueueUrl=queue, MessageBody=m["Body"])
                    self.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
                    moved += 1
            got = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)
            messages = got.get("Messages", [])
            for m in messages:
                assert self._send(m["Body"]), "with faults off every job must go through"
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            if not (queued or moved or messages):
                break
        else:
            raise AssertionError("the queue never drained")
        self.at_most_one_email_per_participant_wave_and_kind()
        self.no_link_stored_for_an_erased_participant()
        invitations = Counter(pid for pid, wave, kind in self.accepted if kind == "invitation")
        event(f"emails: {len(self.accepted)}, lost to a crash: {len(self.lost)}")
        for address, pid in self.pid.items():
            if address == BLOCKED:
                assert invitations[pid] == 0
            elif pid in self.erased:
                assert invitations[pid] <= 1, "only what went before the erasure"
            elif (pid, "invitation") in self.lost:
                assert invitations[pid] == 0, "a claim lost to a crash is never resent blindly"
            else:
                assert invitations[pid] == 1, (address, invitations, self.lost)


TestGivenAnyMixOfFaultsWhenAWaveIsDistributedThenAtMostOneEmailPerKind = DistributionMachine.TestCase
TestGivenAnyMixOfFaultsWhenAWaveIsDistributedThenAtMostOneEmailPerKind.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # MACHINE_NO_SHRINK=1 while developing: report the first failure as found, without minutes of shrinking.
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("MACHINE_NO_SHRINK")
    else [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)

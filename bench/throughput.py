"""Figure 6 (informational): one wave of 1,000 participants, invited to answered to summary, in-process.

With the local-only moto speed-up installed (``devstack.moto_speedups``, as ``make run`` does): import
the registration list, create the wave, "send now" (``waves.send_now``), run the scheduler
(``distribution.dispatch_due``) until nothing is due, and hand each queued job to ``send_records`` one
at a time (the deployed trigger's ``batch_size=1``). SES's delivery and bounce events are then fed to
the feedback handler, 80 % of participants open their link and answer through the HTTP views, and one
summary closes the run. Wall times are moto's and only informational; the call counts are not.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.meter import Meter, Window
from bench.stack import create_event_and_wave, dispatch_all, moto_stack, send_now, survey_tokens, utcnow

PARTICIPANTS = 1_000
ANSWER_SHARE = 0.8


@dataclass
class Throughput:
    participants: int
    emails: int
    plan: Window  # waves.send_now
    dispatch: Window  # distribution.dispatch_due, until nothing is due
    send: Window  # send_records, one job at a time
    feedback: Window  # SES delivery/bounce events through the feedback handler
    answers: Window  # GET + POST /s/{token} per answering participant
    answered: int
    send_seconds: float  # send_now + dispatch + send
    answer_seconds: float
    funnel: dict[str, object]
    respondents: int

    @property
    def emails_per_second(self) -> float:
        return self.emails / self.send_seconds

    @property
    def calls_per_email(self) -> float:
        return (len(self.plan) + len(self.dispatch) + len(self.send)) / self.emails

    def sending(self) -> Window:
        return Window(self.plan.calls + self.dispatch.calls + self.send.calls)


def run(meter: Meter, participants: int = PARTICIPANTS) -> Throughput:
    from chalice.test import Client

    from app import app
    from chalicelib.domain import reports
    from chalicelib.jobs.handlers import apply_feedback, send_records
    from devstack import ses_events
    from devstack.seed import answers

    with moto_stack() as stack, Client(app, stage_name="local") as client:
        now = utcnow()
        wave = create_event_and_wave(stack, participants, now=now)
        started = time.perf_counter()
        with meter.window() as plan:
            send_now(stack, wave, now=now)
        with meter.window() as dispatch:
            queued = dispatch_all(stack, now=now)
        bodies = stack.queue_bodies()
        with meter.window() as send:
            outcomes: dict[str, int] = {}
            for body in bodies:
                for outcome, n in send_records([body]).items():
                    outcomes[outcome] = outcomes.get(outcome, 0) + n
        send_seconds = time.perf_counter() - started
        messages = stack.ses_messages()
        if queued != participants or outcomes != {"sent": participants} or len(messages) != participants:
            raise RuntimeError(f"queued {queued}, outcomes {outcomes}, SES accepted {len(messages)}")

        with meter.window() as feedback:
            lookup = ses_events.token_tags(stack.store)
            for message in messages:
                apply_feedback(ses_events.sns_messages(ses_events.notifications(message.id, message.raw_data, lookup)))

        rng = random.Random(1000)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answered = 0
        started = time.perf_counter()
        with meter.window() as answering:
            for message, token in zip(messages, survey_tokens(messages), strict=True):
                if "simulator" in str(message.destinations) or rng.random() >= ANSWER_SHARE:
                    continue
                if client.http.get(f"/s/{token}").status_code != 200:
                    raise RuntimeError("a survey link did not open")
                form = urlencode(answers(rng), doseq=True).encode()
                if client.http.post(f"/s/{token}", headers=headers, body=form).status_code != 303:
                    raise RuntimeError("an answer was not stored")
                answered += 1
        answer_seconds = time.perf_counter() - started

        summary = reports.summarize(stack.store, wave.event_id, wave.wave_id, "stakeholder_group", k=5)
        if summary["respondents"] != answered or summary["funnel"]["invited"] != participants:
            raise RuntimeError(f"summary funnel {summary['funnel']} after {answered} answers")
    return Throughput(
        participants=participants,
        emails=len(messages),
        plan=plan,
        dispatch=dispatch,
        send=send,
        feedback=feedback,
        answers=answering,
        answered=answered,
        send_seconds=send_seconds,
        answer_seconds=answer_seconds,
        funnel=dict(summary["funnel"]),
        respondents=int(summary["respondents"]),
    )

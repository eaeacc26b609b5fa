"""Event handlers: the schedule that queues due emails, the SQS sender, and SES feedback from its SQS queue.

Each handler is idempotent per record, so a whole-batch retry (the only kind Chalice's SQS trigger
knows: it has no partial batch response) repeats nothing: the claim in ``send_job`` drops any email already
claimed, and ``record_feedback`` writes each suppression and status once. Both SQS triggers take one record per
invocation, so only the record that failed comes back, and a poison one reaches its DLQ alone.

A refused configuration (``ConfigurationError``) is logged once, with its reason, and still fails the
invocation: SQS redelivers the message (and in the end moves it to the DLQ), SNS and EventBridge retry, so
nothing that was accepted is dropped while the stage is misconfigured.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from chalice import Blueprint
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib import container
from chalicelib.domain import distribution, importing
from chalicelib.domain.errors import ConfigurationError, TemporarilyUnavailable
from chalicelib.observability import count, flushing, log_refusal, logger, traced
from chalicelib.wiring import FEEDBACK_QUEUE, SCHEDULE, SEND_QUEUE

bp = Blueprint(__name__)
E = TypeVar("E")
R = TypeVar("R")


def refusing(handler: Callable[[E], R]) -> Callable[[E], R]:
    """Log a refused configuration once, with its reason and without the traceback, then fail the invocation
    with the reason alone (no chained causes), so the trigger retries."""

    @functools.wraps(handler)
    def run(event: E) -> R:
        try:
            return handler(event)
        except ConfigurationError as exc:
            log_refusal(exc.message)
            raise ConfigurationError(exc.message) from None

    return run


def run_schedule() -> dict[str, Any]:
    report = distribution.dispatch_due(
        container.store(), container.send_queue(), container.now(), limit=container.settings().schedule_batch
    )
    if report.enqueued:
        count("EmailsQueued", report.enqueued)
    logger.info("schedule ran", extra={"queued": report.enqueued, "skipped": report.skipped})
    return {"queued": report.enqueued, "skipped": report.skipped}


@bp.schedule(SCHEDULE, name="schedule")
@traced
@flushing
@refusing
def schedule(event: CloudWatchEvent) -> dict[str, Any]:
    return run_schedule()


def send_records(bodies: list[str]) -> dict[str, int]:
    """Send every job; raise at the end if any must be retried, after the others are done."""
    outcomes: dict[str, int] = {}
    retry = False
    settings = container.settings()
    for body in bodies:
        try:
            job = json.loads(body)
            if importing.MESSAGE_KEY in job:
                outcome = _import_chunk(job[importing.MESSAGE_KEY])
            else:
                outcome = distribution.send_job(
                    container.store(),
                    container.mailer(),
                    container.renderer(),
                    job,
                    base_url=settings.public_base_url,
                    now=container.now(),
                )
        except (distribution.RetryLater, TemporarilyUnavailable):
            outcome = "retry"
            retry = True
        except (ValueError, KeyError, TypeError):
            # A job we cannot read will never succeed: fail so that redrive moves it to the DLQ.
            logger.error("unreadable send job", extra={"size": len(body)})
            outcome = "poison"
            retry = True
        if outcome == "unsendable":
            # Not retried (it cannot help): the invitation shows as failed with the reason; ops hear of it here.
            logger.error(
                "an email could not be built; its invitation is marked failed", extra={"wave_id": job.get("wave_id")}
            )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    for name, metric in (
        ("sent", "EmailsSent"),
        ("rejected", "EmailsFailed"),
        ("unsendable", "EmailsFailed"),
        ("suppressed", "EmailsSuppressed"),
        ("erased", "EmailsSkippedErased"),
    ):
        if outcomes.get(name):
            count(metric, outcomes[name])
    logger.info("send batch", extra={"outcomes": outcomes})
    if retry:
        raise RuntimeError(f"send batch needs a retry: {outcomes}")
    return outcomes


def _import_chunk(message: dict[str, Any]) -> str:
    """A chunk of a background import, carried by the send queue (see domain/importing.py)."""
    job = importing.apply_chunk(
        container.store(), message, panel_secret=container.settings().panel_secret, now=container.now()
    )
    if job is None:
        logger.warning("import chunk of an expired job dropped", extra={"event_id": message.get("event_id")})
        return "import-dropped"
    count("ParticipantsImported", job.chunk_size(int(message["chunk"])))
    logger.info(
        "import chunk written",
        extra={"event_id": job.event_id, "import_id": job.import_id, "status": job.status, "chunks": job.chunks},
    )
    return "import-chunk"


@bp.on_sqs_message(queue=SEND_QUEUE, batch_size=1, name="sender")
@traced
@flushing
@refusing
def sender(event: SQSEvent) -> dict[str, int]:
    return send_records([record.body for record in event])


class Unreadable(ValueError):
    """An SES notification that is not a JSON object: it will never apply, so it goes to the DLQ."""


def read_notification(body: str) -> dict[str, Any]:
    """The SES notification a feedback queue message carries: the body itself (the subscription delivers raw),
    or, if the subscription ever loses raw delivery, the ``Message`` of SNS's JSON envelope."""
    try:
        found = json.loads(body)
        if isinstance(found, dict) and found.get("Type") == "Notification" and isinstance(found.get("Message"), str):
            found = json.loads(found["Message"])
    except ValueError as exc:
        raise Unreadable("not JSON") from exc
    if not isinstance(found, dict):
        raise Unreadable("not a JSON object")
    return found


def apply_feedback(messages: list[str]) -> list[str]:
    """Apply each SES notification; raise at the end if any must come back, after the others are applied.

    A notification the store could not take now (busy, throttled) is retried; one that cannot be read fails
    too, so that the queue's redrive moves it to the DLQ after maxReceiveCount tries instead of dropping it
    (logged by size and kind only: a notification carries addresses).
    """
    settings = container.settings()
    done: list[str] = []
    retry: dict[str, int] = {}
    for message in messages:
        try:
            notification = read_notification(message)
            done += distribution.record_feedback(
                container.store(), notification, secret=settings.pseudonym_secret, now=container.now()
            )
        except TemporarilyUnavailable:
            retry["busy"] = retry.get("busy", 0) + 1
        except (Unreadable, AttributeError, KeyError, TypeError, ValueError) as exc:
            logger.error("unreadable SES notification", extra={"size": len(message), "error": type(exc).__name__})
            retry["unreadable"] = retry.get("unreadable", 0) + 1
    for outcome, metric in (("bounced", "Bounces"), ("complained", "Complaints"), ("delivered", "Deliveries")):
        if outcome in done:
            count(metric, done.count(outcome))
    if retry:
        count("FeedbackRetried", sum(retry.values()))
        logger.warning("SES feedback needs a retry", extra={"retry": retry, "applied": len(done)})
        if retry.get("busy"):
            raise TemporarilyUnavailable(f"SES feedback needs a retry: {retry}")
        raise Unreadable(f"SES feedback needs a retry: {retry}")
    return done


@bp.on_sqs_message(queue=FEEDBACK_QUEUE, batch_size=1, name="ses_feedback")
@traced
@flushing
@refusing
def ses_feedback(event: SQSEvent) -> list[str]:
    return apply_feedback([record.body for record in event])

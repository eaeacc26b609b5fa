"""The local pump: what EventBridge, the SQS triggers and SES event publishing do in the cloud, done on one
machine, by calling the very Lambda handlers Chalice deploys with Lambda-shaped events.

moto's SES accepts mail but neither delivers it nor publishes events, so each accepted message is also
written to the outbox as an .eml file and its SES events are published to the feedback topic, which delivers
them (moto does SNS to SQS) to the template's feedback queue, drained into ``ses_feedback`` as its trigger does:
a failed message comes back and, after maxReceiveCount tries, is in the feedback DLQ. Nothing here is imported by
Lambda code.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from devstack import ses_events


class LambdaContext:
    """Just enough of the Lambda context object for Chalice and Powertools."""

    function_name = "event-feedback-local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:event-feedback-local"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/event-feedback-local"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def schedule_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/event-feedback-local-schedule"],
        "detail": {},
    }


@dataclass
class PumpStats:
    schedule_runs: int = 0
    send_jobs: int = 0
    send_failures: int = 0
    emails: int = 0
    notifications: int = 0
    feedback_failures: int = 0
    started: float = field(default_factory=time.monotonic)


class Pump:
    """Runs the schedule, drains the send queue into the sender, and turns accepted mail into outbox
    files and SES events. ``step()`` does one round; ``run()`` loops until stopped."""

    def __init__(self, *, endpoint_url: str, outputs: dict[str, str], outbox: Path, ses_messages: Any) -> None:
        self.outputs = outputs
        self.outbox = outbox
        self.ses_messages = ses_messages  # callable returning moto's accepted messages, in order
        self.seen = 0
        self.stats = PumpStats()
        self.stop_event = threading.Event()
        self.sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint_url)
        self.sns = boto3.client("sns", region_name="us-east-1", endpoint_url=endpoint_url)

    def run_schedule(self) -> None:
        from chalicelib.jobs import handlers

        handlers.schedule(schedule_event(), LambdaContext())
        self.stats.schedule_runs += 1

    def drain_send_queue(self, max_rounds: int = 1000) -> int:
        from chalicelib.jobs import handlers

        handled = 0
        for _ in range(max_rounds):
            reply = self.sqs.receive_message(
                QueueUrl=self.outputs["SendQueueUrl"],
                MaxNumberOfMessages=10,
                VisibilityTimeout=2,
                AttributeNames=["All"],
            )
            messages = reply.get("Messages", [])
            if not messages:
                break
            for message in messages:
                # One record per invocation, as the deployed trigger (batch_size=1) delivers them.
                try:
                    handlers.sender(sqs_event([message], self.outputs["SendQueueArn"]), LambdaContext())
                except Exception:  # the message stays on the queue and comes back: SQS retry semantics
                    self.stats.send_failures += 1
                    continue
                self.sqs.delete_message(QueueUrl=self.outputs["SendQueueUrl"], ReceiptHandle=message["ReceiptHandle"])
                handled += 1
        self.stats.send_jobs += handled
        return handled

    def publish_ses_events(self) -> int:
        from chalicelib import container

        messages = self.ses_messages()
        fresh = messages[self.seen :]
        self.seen = len(messages)
        lookup = ses_events.token_tags(container.store())
        for message in fresh:
            ses_events.write_eml(self.outbox, message.id, message.raw_data)
            for record in ses_events.notifications(message.id, message.raw_data, lookup):
                self.sns.publish(TopicArn=self.outputs["FeedbackTopicArn"], Message=json.dumps(record))
        self.stats.emails += len(fresh)
        return len(fresh)

    def drain_feedback(self, max_rounds: int = 1000) -> int:
        """The feedback queue into ses_feedback, one message per invocation (its trigger's batch size)."""
        from chalicelib.jobs import handlers

        url, handled = self.outputs["FeedbackQueueUrl"], 0
        for _ in range(max_rounds):
            reply = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2, AttributeNames=["All"]
            )
            messages = reply.get("Messages", [])
            if not messages:
                break
            for message in messages:
                try:
                    handlers.ses_feedback(sqs_event([message], self.outputs["FeedbackQueueArn"]), LambdaContext())
                except Exception:  # stays on the queue, comes back, and in the end is in the feedback DLQ
                    self.stats.feedback_failures += 1
                    continue
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1
        self.stats.notifications += handled
        return handled

    def step(self) -> int:
        """One round of everything; returns how much work it found (0 means quiet)."""
        self.run_schedule()
        work = self.drain_send_queue()
        work += self.publish_ses_events()
        work += self.drain_feedback()
        return work

    def settle(self, rounds: int = 20) -> None:
        """Step until a round finds nothing to do."""
        for _ in range(rounds):
            if not self.step():
                return

    def run(self, interval: float = 2.0) -> None:
        while not self.stop_event.is_set():
            try:
                self.step()
            except Exception:  # keep pumping; the handlers log their own errors
                time.sleep(interval)
            self.stop_event.wait(interval)

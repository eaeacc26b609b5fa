"""Reading the outbox: moto's SES messages parsed, their recipient, parts and personal links, the outbox read
incrementally, and what SES reports back for each message fed to the feedback handler."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as default_policy
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.domain.model import TokenGrant

_LINK = re.compile(r"http://testserver/s/([A-Za-z0-9_-]{43})")  # the in-process app's EF_PUBLIC_BASE_URL
_ANY_LINK = re.compile(r"/s/([A-Za-z0-9_-]{43})")  # a personal link under any base URL


def parsed(message: Any) -> EmailMessage:
    """A message moto's SES accepted, as the email package reads it."""
    found: EmailMessage = message_from_string(message.raw_data, policy=default_policy)  # type: ignore[assignment]
    return found


def recipient(message: Any) -> str:
    return str(parsed(message)["To"]).strip()


def text_of(email: EmailMessage) -> str:
    """The plain-text part."""
    part = email.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def text_part(message: Any) -> str:
    return text_of(parsed(message))


def html_part(message: Any) -> str:
    part = parsed(message).get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_token(message: Any) -> str:
    """The token of the personal link in a message the in-process app sent."""
    found = _LINK.search(text_part(message))
    assert found, text_part(message)
    return found.group(1)


def token_of(email: EmailMessage) -> str:
    """The token of the personal link in a parsed email, whatever the base URL."""
    found = _ANY_LINK.search(text_of(email))
    assert found, "no survey link in the email"
    return found.group(1)


def grant(message: Any) -> TokenGrant:
    """What the email's personal link opens: wave, participant and the kind of email it came with."""
    from chalicelib import container
    from chalicelib.domain.tokens import hash_token

    found = container.store().get_token(hash_token(link_token(message)))
    assert found is not None
    return found


@dataclass
class Mailbox:
    """moto's SES outbox, read incrementally."""

    stack: Any
    seen: int = 0
    all: list[Any] = field(default_factory=list)

    def new(self) -> list[Any]:
        messages = self.stack.ses_messages()
        fresh = messages[self.seen :]
        self.seen = len(messages)
        self.all.extend(fresh)
        return fresh


def to_set(messages: Iterable[Any]) -> set[str]:
    return {recipient(m) for m in messages}


def publish_ses_events(stack: Any, messages: Iterable[Any]) -> int:
    """Publish to the feedback topic what SES would report for each accepted message, as SES's configuration set
    does; the topic delivers each notification to the feedback queue. Answers how many were published."""
    import boto3

    from chalicelib import container
    from devstack import ses_events

    sns = boto3.client("sns", region_name="us-east-1")
    lookup = ses_events.token_tags(container.store())
    published = 0
    for message in messages:
        for record in ses_events.notifications(message.id, message.raw_data, lookup):
            sns.publish(TopicArn=stack.outputs["FeedbackTopicArn"], Message=json.dumps(record))
            published += 1
    return published


@dataclass
class FeedbackRound:
    """One pass of the feedback queue's trigger: each invocation's answer, and how many invocations raised."""

    outcomes: list[Any] = field(default_factory=list)
    failed: int = 0


def deliver_feedback(client: Any, stack: Any) -> FeedbackRound:
    """Hand every message on the feedback queue to ``ses_feedback``, one per invocation (the trigger's batch size),
    as Lambda's SQS event source does: deleted once the invocation returned, left on the queue when it raised.
    Each message is received once per call; those that failed are visible again at the end (their visibility
    timeout elapsed), so the next call is the trigger's next try. SQS moves a message to the DLQ on the receive
    after its maxReceiveCount-th."""
    import boto3

    from chalicelib.wiring import FEEDBACK_QUEUE

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = stack.outputs["FeedbackQueueUrl"]
    done = FeedbackRound()
    failed: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60).get(
        "Messages", []
    ):
        (message,) = messages
        event = client.events.generate_sqs_event([message["Body"]], queue_name=FEEDBACK_QUEUE)
        event["Records"][0]["messageId"] = message["MessageId"]
        try:
            done.outcomes.append(client.lambda_.invoke("ses_feedback", event).payload)
        except Exception:  # a failed invocation: the message stays, as with the real trigger
            done.failed += 1
            failed.append(message["ReceiptHandle"])
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    for handle in failed:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return done


def feed_ses_events(client: Any, messages: Iterable[Any]) -> list[Any]:
    """What SES reports for each accepted message, through the feedback topic and queue to ``ses_feedback``, as in
    AWS; answers each invocation's outcomes. Every invocation must succeed."""
    import boto3

    from chalicelib import container
    from chalicelib.wiring import FEEDBACK_QUEUE

    sqs = boto3.client("sqs", region_name="us-east-1")
    outputs = {
        "FeedbackTopicArn": container.settings().feedback_topic_arn,
        "FeedbackQueueUrl": sqs.get_queue_url(QueueName=FEEDBACK_QUEUE)["QueueUrl"],
    }
    stack = SimpleNamespace(outputs=outputs)
    publish_ses_events(stack, messages)
    done = deliver_feedback(client, stack)
    assert done.failed == 0, f"{done.failed} SES notifications failed ses_feedback"
    return done.outcomes

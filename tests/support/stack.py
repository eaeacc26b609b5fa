"""The embedded AWS the app runs against in process: the app's environment for a provisioned stack, moto's
signing keys for Cognito tokens, the SES outbox, and the send queue drained as the Lambda trigger drains it.

The fixtures that build it (``stack``, ``client``, ``tokens``, ``clock``) are in tests/integration/conftest.py;
the benchmarks build the same stack with bench/stack.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SENDER = "surveys@example.org"
REGION = "us-east-1"


def moto_jwks(_url: str) -> dict[str, Any]:
    """The JWKS of moto's Cognito: moto signs every token with its one key pair."""
    from moto.utilities.utils import load_resource

    loaded: dict[str, Any] = load_resource("cognitoidp/resources/jwks-public.json")
    return loaded


def app_env(outputs: dict[str, str]) -> dict[str, str]:
    """The app's environment for a provisioned stack (devstack.provision's outputs)."""
    return {
        "EF_STAGE": "test",
        "EF_TABLE_PREFIX": outputs["TablePrefix"],
        "EF_SEND_QUEUE_URL": outputs["SendQueueUrl"],
        "EF_FEEDBACK_TOPIC_ARN": outputs["FeedbackTopicArn"],
        "EF_SES_SENDER": SENDER,
        "EF_SES_CONFIGURATION_SET": outputs["ConfigurationSetName"],
        "EF_SES_MAX_SEND_RATE": "1000",
        "EF_PUBLIC_BASE_URL": "http://testserver",
        "EF_COGNITO_USER_POOL_ID": outputs["UserPoolId"],
        "EF_COGNITO_CLIENT_ID": outputs["UserPoolClientId"],
        "EF_PSEUDONYM_SECRET": "test-pseudonym-secret-0123456789abcdef",
        "EF_PANEL_SECRET": "test-panel-secret-0123456789abcdefghij",
        "EF_SESSION_SECRET": "test-session-secret-0123456789abcdefghij",
    }


def drain(
    sqs: Any, queue_url: str, *, delete: bool = True, handle: Callable[[list[str]], object] | None = None
) -> list[str]:
    """Every message body on a queue, received ten at a time. As Lambda's SQS event source does, each batch goes
    to ``handle`` (when given) and is deleted only once that returned; a batch it raised on stays on the queue.
    ``delete=False`` leaves every message there."""
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        batch = [m["Body"] for m in messages]
        if handle is not None:
            handle(batch)
        bodies += batch
        for m in messages if delete else ():
            # One DeleteMessage each, the action the sender's role is granted for its event source mapping.
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return bodies


def sent_messages() -> list[Any]:
    """What moto's SES accepted, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def clear_outbox() -> None:
    """Forget the mail of an earlier test: moto's SES backend outlives ``mock_aws``."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages.clear()


@dataclass
class Stack:
    """A provisioned stack: its outputs, the app's environment, the outbox and the send queue."""

    outputs: dict[str, str]
    env: dict[str, str]

    def ses_messages(self) -> list[Any]:
        return sent_messages()

    def queue_bodies(self, delete: bool = True) -> list[str]:
        """Drain the send queue with a client of our own (not the app's, so neither metered nor recorded)."""
        import boto3

        return drain(boto3.client("sqs", region_name=REGION), self.outputs["SendQueueUrl"], delete=delete)

    def deliver(self) -> dict[str, int]:
        """Hand every queued job to the sender, as the SQS trigger does (and delete it, as Lambda does)."""
        from chalicelib.jobs.handlers import send_records

        bodies = self.queue_bodies()
        return send_records(bodies) if bodies else {}

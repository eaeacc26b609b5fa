"""In-process moto with the real resources from infra/template.json, and the Chalice test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from devstack import identity
from devstack.provision import provision

SENDER = "surveys@example.org"


def moto_jwks(_url: str) -> dict[str, Any]:
    from moto.utilities.utils import load_resource  # moto's own key pair signs every moto token

    loaded: dict[str, Any] = load_resource("cognitoidp/resources/jwks-public.json")
    return loaded


@dataclass
class Stack:
    outputs: dict[str, str]
    env: dict[str, str]

    def ses_messages(self) -> list[Any]:
        from moto.ses.models import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)

    def queue_bodies(self, delete: bool = True) -> list[str]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        bodies = []
        while True:
            reply = sqs.receive_message(QueueUrl=self.outputs["SendQueueUrl"], MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return bodies
            for m in messages:
                bodies.append(m["Body"])
                if delete:
                    sqs.delete_message(QueueUrl=self.outputs["SendQueueUrl"], ReceiptHandle=m["ReceiptHandle"])


def app_env(outputs: dict[str, str]) -> dict[str, str]:
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


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    from chalicelib import container

    with mock_aws():
        from moto.ses.models import ses_backends

        ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages.clear()  # no mail from an earlier test
        outputs = provision(None, region="us-east-1", prefix="event-feedback", sender=SENDER)
        env = app_env(outputs)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(container, "jwks_fetcher", moto_jwks)
        container.reset()
        yield Stack(outputs, env)
        container.reset()


@pytest.fixture
def tokens(stack: Stack) -> dict[str, str]:
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool, client_id = stack.outputs["UserPoolId"], stack.outputs["UserPoolClientId"]
    out = {}
    for role in ("admin", "viewer"):
        email, password = f"{role}@example.org", identity.new_password()
        identity.ensure_user(idp, pool, email, password, role)
        out[role] = identity.sign_in(idp, client_id, email, password)
    return out


@pytest.fixture
def client(stack: Stack) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as c:
        yield c


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The application's clock, frozen and movable: ``container.now`` returns ``clock.now``."""
    from chalicelib import container
    from tests.integration.test_distribution import YEAR, Clock

    c = Clock(datetime(YEAR, 1, 5, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(container, "now", lambda: c.now)
    return c

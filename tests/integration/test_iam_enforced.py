"""The app runs with nothing but the Lambda's policy: moto server with IAM enforcement on.

A moto server runs in a subprocess (moto's enforcement switch is process-global: it must not reach the other
tests of this worker). The stack is provisioned with admin credentials; an IAM user gets the Lambda's policy as
moto can evaluate it (``moto_policy``, below) and an access key; enforcement is switched on
(``POST /moto-api/reset-auth`` with 0); then every route and job handler of the app (tests/support/iam_driver.py's
``Driver``) runs in this process with only that user's key, against the server. The negative controls prove
that enforcement is on, and what it scopes.

What moto 5.x can check, from moto/core/authorization.py, moto/core/responses.py and moto/iam/access_control.py:
the SigV4 signature and the action name for every service; a real resource ARN only for SQS (and IAM, STS and
S3, which the app does not use). DynamoDB, SES and the rest are checked against the resource ``"*"``, and moto
regex-matches a statement's Resource pattern against that string, so a table-scoped DynamoDB statement denies
everything. moto also checks the API's own name where IAM checks another: ``dynamodb:TransactWriteItems`` (IAM:
PutItem/UpdateItem/DeleteItem/ConditionCheckItem per item) and ``sqs:SendMessageBatch`` (IAM: sqs:SendMessage).
Cognito's InitiateAuth is public in moto as in AWS. So the enforced policy keeps the actions, keeps the SQS ARNs,
widens the other services' resources to "*", and adds moto's two action names; resource scoping for DynamoDB and
SES is proved by tests/integration/test_iam_recorded.py instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack import identity
from devstack.provision import provision
from tests.support.cognito import add_newcomer
from tests.support.iam_driver import Driver
from tests.support.iam_policy import allowed, listify, stack_policy, statements
from tests.support.iam_recorder import Recorder, error_code
from tests.support.paths import ROOT
from tests.support.stack import SENDER, app_env

REGION = "us-east-1"
# Services for which moto passes the real resource ARN to the policy check (moto/sqs/responses.py
# _determine_resource). Every other service's statements are widened to "*" for moto.
MOTO_SCOPES_RESOURCES = {"sqs"}
# moto checks these API names; IAM checks the actions on the right instead.
MOTO_ACTION_NAMES = {
    "dynamodb:TransactWriteItems": (
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
    ),
    "sqs:SendMessageBatch": ("sqs:SendMessage",),
}  # fmt: skip
DENIED = {"AccessDenied", "AccessDeniedException"}
# moto lists InitiateAuth among Cognito's unauthenticated operations but not the others AWS serves without
# SigV4 (botocore sends them unsigned: "auth": ["smithy.api#noAuth"]); enforced, moto answers them 500. Add
# them, as in AWS, in this server only.
UNSIGNED_COGNITO = (
    "RespondToAuthChallenge",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "RevokeToken",
    "GlobalSignOut",
)
SERVER = f"""
import logging, sys
from moto.core.authorization import ActionAuthenticatorMixin
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from devstack import moto_speedups
ActionAuthenticatorMixin.PUBLIC_OPERATIONS += [
    "AWSCognitoIdentityProviderService." + name for name in {UNSIGNED_COGNITO!r}
]
moto_speedups.install()
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


def moto_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """The Lambda policy as moto can enforce it: same actions; "*" resources where moto checks only the action;
    moto's own names for transactions and batches, granted where their IAM counterparts are."""
    out = []
    for s in statements(policy):
        by_service: dict[bool, list[str]] = {}
        for action in listify(s["Action"]):
            by_service.setdefault(action.split(":")[0] in MOTO_SCOPES_RESOURCES, []).append(action)
        for scoped, actions in sorted(by_service.items()):
            resources = listify(s["Resource"]) if scoped else ["*"]
            out.append({"Sid": f"{s['Sid']}{'' if scoped else 'Moto'}", "Effect": s["Effect"], "Action": actions,
                        "Resource": resources})  # fmt: skip
            for moto_name, counterparts in MOTO_ACTION_NAMES.items():
                if set(counterparts) & set(actions):
                    sid = f"{s['Sid']}Moto{moto_name.split(':')[1]}"
                    out.append({"Sid": sid, "Effect": s["Effect"], "Action": [moto_name], "Resource": resources})
    return {"Version": "2012-10-17", "Statement": out}


@dataclass
class Server:
    endpoint: str
    outputs: dict[str, str]
    keys: dict[str, tuple[str, str]]  # user -> (access key id, secret)
    users: dict[str, tuple[str, str]]  # Cognito role -> (email, password)


def _start() -> tuple[subprocess.Popen[str], str, Any]:
    log = tempfile.TemporaryFile(mode="w+")
    env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
    proc = subprocess.Popen(  # our interpreter, our script
        [sys.executable, "-c", SERVER],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline().strip() if ready else ""
    if not line.isdigit():
        proc.kill()
        log.seek(0)
        raise AssertionError(f"moto server did not start: {log.read()[-2000:]}")
    return proc, f"http://127.0.0.1:{line}", log


def _stop(proc: subprocess.Popen[str], log: Any) -> None:
    with contextlib.suppress(Exception):
        assert proc.stdin is not None
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    log.close()


def _post(url: str, data: bytes) -> Any:
    # Not a form: moto reads the raw body, which werkzeug would consume as form data.
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as reply:  # our local moto server
        return json.loads(reply.read())


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    proc, endpoint, log = _start()
    try:
        outputs = provision(endpoint, region=REGION, prefix="event-feedback", sender=SENDER)
        iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
        keys = {}
        lambda_policy = stack_policy(outputs, region=REGION)
        for user, document in (("lambda", moto_policy(lambda_policy)), ("unwidened", lambda_policy)):
            iam.create_user(UserName=f"event-feedback-{user}")
            iam.put_user_policy(
                UserName=f"event-feedback-{user}", PolicyName="lambda", PolicyDocument=json.dumps(document)
            )
            key = iam.create_access_key(UserName=f"event-feedback-{user}")["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint)
        users = {}
        for role in ("admin", "viewer"):
            users[role] = (f"enforced-{role}@example.org", identity.new_password())
            identity.ensure_user(idp, outputs["UserPoolId"], *users[role], role)
        users["newcomer"] = add_newcomer(idp, outputs["UserPoolId"], "enforced-newcomer@example.org", "viewer")
        # From here on every request needs a valid signature and an allowing policy.
        reply = _post(f"{endpoint}/moto-api/reset-auth", b"0")
        assert reply["status"] == "ok"
        yield Server(endpoint, outputs, keys, users)
    finally:
        _stop(proc, log)


def _as(monkeypatch: pytest.MonkeyPatch, server: Server, user: str) -> None:
    """This process's AWS identity becomes ``user`` at the server; the app is configured for the stack."""
    from chalicelib import container

    key, secret = server.keys[user]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    for name, value in {**app_env(server.outputs), "EF_ENDPOINT_URL": server.endpoint}.items():
        monkeypatch.setenv(name, value)
    container.reset()


def _client(service: str, **kwargs: Any) -> Any:
    """A client from a fresh session: boto3's default session keeps the credentials it first found."""
    return boto3.session.Session().client(service, region_name=REGION, **kwargs)


def _code(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return error_code(exc)
    return "allowed"


def test_the_moto_policy_keeps_the_lambda_policy_actions(server: Server) -> None:
    policy = stack_policy(server.outputs, region=REGION)
    enforced = moto_policy(policy)
    granted = {a for s in statements(policy) for a in listify(s["Action"])}
    assert {a for s in statements(enforced) for a in listify(s["Action"])} == granted | set(MOTO_ACTION_NAMES)
    queue = "arn:aws:sqs:us-east-1:123456789012:event-feedback-send"
    assert not allowed(enforced, "sqs:SendMessage", queue.replace("-send", "-send-dlq"))
    assert allowed(enforced, "sqs:SendMessageBatch", queue)
    assert not allowed(enforced, "dynamodb:DeleteTable", "*") and allowed(enforced, "dynamodb:GetItem", "*")


def test_the_whole_app_runs_with_only_the_lambda_policy(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalice.test import Client

    from app import app

    _as(monkeypatch, server, "lambda")
    idp = _client("cognito-idp")
    client_id = server.outputs["UserPoolClientId"]
    # InitiateAuth is public in AWS and in moto: the tokens come with no IAM at all.
    tokens = {role: identity.sign_in(idp, client_id, *server.users[role]) for role in ("admin", "viewer")}
    recorder = Recorder()
    recorder.install(monkeypatch)
    started = time.monotonic()
    with Client(app, stage_name="local") as client:
        driver = Driver(
            client,
            recorder,
            admin=tokens["admin"],
            viewer=tokens["viewer"],
            user=server.users["admin"],
            newcomer=server.users["newcomer"],
        )
        driver.run()
    assert not driver.missed(), driver.missed()
    assert not recorder.denied(), recorder.denied()  # also what the app would swallow
    ops = recorder.operations()
    assert ops["dynamodb:TransactWriteItems"] and ops["sqs:SendMessageBatch"] and ops["ses:SendRawEmail"]
    assert time.monotonic() - started < 40


def test_enforcement_is_on_and_scopes_what_moto_can(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, server, "lambda")
    ddb, sqs, ses = (_client(name) for name in ("dynamodb", "sqs", "ses"))
    queue, dlq = server.outputs["SendQueueUrl"], server.outputs["DeadLetterQueueUrl"]
    table = "event-feedback-events"
    # Allowed: what the policy grants.
    assert _code(lambda: ddb.get_item(TableName=table, Key={"event_id": {"S": "ev_none"}})) == "allowed"
    assert _code(lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])) == "allowed"
    # Refused: actions the policy does not grant, on any service.
    assert _code(lambda: ddb.list_tables()) in DENIED
    assert _code(lambda: ddb.delete_table(TableName=table)) in DENIED
    assert _code(lambda: ddb.describe_table(TableName=table)) in DENIED
    assert _code(lambda: sqs.purge_queue(QueueUrl=queue)) in DENIED
    message = {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}}
    to = {"ToAddresses": [SENDER]}
    assert _code(lambda: ses.send_email(Source=SENDER, Destination=to, Message=message)) in DENIED
    assert _code(lambda: ses.verify_email_identity(EmailAddress=SENDER)) in DENIED
    # Refused: a granted action on another resource (moto scopes SQS by ARN).
    assert _code(lambda: sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])) in DENIED
    assert _code(lambda: sqs.send_message(QueueUrl=dlq, MessageBody="{}")) in DENIED
    # Refused: a wrong secret, and an unknown key.
    key, secret = server.keys["lambda"]
    forged = _client("dynamodb", aws_access_key_id=key, aws_secret_access_key=secret + "x")
    assert _code(lambda: forged.get_item(TableName=table, Key={"event_id": {"S": "x"}})) == "SignatureDoesNotMatch"
    stranger = _client("dynamodb", aws_access_key_id="AKIA" + "X" * 16, aws_secret_access_key="x")
    assert _code(lambda: stranger.get_item(TableName=table, Key={"event_id": {"S": "x"}})) == "InvalidClientTokenId"


def test_moto_still_cannot_scope_dynamodb_by_table(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the DynamoDB statements are widened for moto: the unchanged Lambda policy is refused its own table.
    When this fails, moto checks table ARNs: enforce the policy as written and drop the widening."""
    _as(monkeypatch, server, "unwidened")
    ddb, sqs = _client("dynamodb"), _client("sqs")
    assert _code(lambda: ddb.get_item(TableName="event-feedback-events", Key={"event_id": {"S": "x"}})) in DENIED
    # SQS is scoped by ARN in moto, so the unchanged SQS statements already work.
    queue = server.outputs["SendQueueUrl"]
    assert _code(lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])) == "allowed"

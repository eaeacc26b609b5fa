"""A recorder of the AWS calls the app makes, with the IAM action and resource ARN each one needs.

The recorder patches ``botocore.client.BaseClient._make_api_call``, the one method every botocore client goes
through: our boto3 clients (``chalicelib/clients.py``) and the clients PynamoDB makes from its own botocore
session alike. It records only inside ``Recorder.recording()``, which the driver (tests/support/iam_driver.py)
opens around each request to the app and each handler invocation, so the tests' own set-up and harness calls
are never mistaken for the app's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from tests.support.iam_policy import ACCOUNT

# sign-in, pairing an authenticator app, and sign-out: AWS serves them unsigned (the session or token is the key).
PUBLIC_OPERATIONS = frozenset(
    ("cognito-idp", op)
    for op in (
        "InitiateAuth",
        "RespondToAuthChallenge",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "RevokeToken",
        "GlobalSignOut",
    )
)
# Error codes that mean "IAM refused": any of these on an app call is a policy bug, even where the app swallows
# the error (DynamoAttemptLog.clear ignores a failed DeleteItem, for instance).
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
    }
)


# --- the recorder ------------------------------------------------------------------------------------------


@dataclass
class Call:
    service: str  # the IAM prefix: botocore's signing name (dynamodb, sqs, ses, cognito-idp)
    operation: str
    region: str
    params: dict[str, Any]
    reply: dict[str, Any] | None = None
    error: str | None = None  # the AWS error code, when the call failed


@dataclass
class Recorder:
    """Every botocore call made inside ``recording()``, with its parameters, reply or error code."""

    calls: list[Call] = field(default_factory=list)
    depth: int = 0
    observers: list[Callable[[Call], None]] = field(default_factory=list)

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def install(self, monkeypatch: Any) -> None:
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError

        original = BaseClient._make_api_call
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if recorder.depth <= 0:
                return original(client, operation_name, api_params)
            model = client.meta.service_model
            call = Call(
                model.signing_name or model.endpoint_prefix, operation_name, client.meta.region_name, api_params
            )
            recorder.calls.append(call)
            try:
                call.reply = original(client, operation_name, api_params)
            except ClientError as exc:
                call.error = error_code(exc)
                raise
            finally:
                for observe in recorder.observers:
                    observe(call)
            return call.reply

        monkeypatch.setattr(BaseClient, "_make_api_call", _make_api_call)

    def operations(self) -> Counter[str]:
        return Counter(f"{c.service}:{c.operation}" for c in self.calls)

    def requirements(self) -> set[tuple[str, str]]:
        return {need for call in self.calls for need in requirements(call)}

    def checks(self) -> list[tuple[str, str, dict[str, str]]]:
        """Each (action, resource ARN, condition context) that IAM evaluates for the recorded calls."""
        return [(action, arn, context_of(call)) for call in self.calls for action, arn in requirements(call)]

    def denied(self) -> list[str]:
        return sorted({f"{c.service}:{c.operation} -> {c.error}" for c in self.calls if c.error in DENIED_CODES})


# --- calls -> (IAM action, resource ARN) -------------------------------------------------------------------

_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_SES_SENDING = {"SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"}


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _dynamodb(call: Call) -> list[tuple[str, str]]:
    p, op = call.params, call.operation

    def table(name: str, index: str | None = None) -> str:
        return _arn("dynamodb", call.region, f"table/{name}" + (f"/index/{index}" if index else ""))

    if op == "TransactWriteItems":  # authorised per item, as the item's own action ("TransactWriteItems" is not IAM)
        out = []
        for item in p["TransactItems"]:
            ((kind, body),) = item.items()
            out.append((f"dynamodb:{_TRANSACT_WRITE[kind]}", table(body["TableName"])))
        return out
    if op == "TransactGetItems":
        return [("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in p["TransactItems"]]
    if op in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{op}", table(name)) for name in p["RequestItems"]]
    if op in ("Query", "Scan"):  # on an index, the index's own ARN
        return [(f"dynamodb:{op}", table(p["TableName"], p.get("IndexName")))]
    if "TableName" in p:
        return [(f"dynamodb:{op}", table(p["TableName"]))]
    raise AssertionError(f"no IAM mapping for dynamodb:{op}: add one here")


def _sqs(call: Call) -> list[tuple[str, str]]:
    parts = urlsplit(call.params["QueueUrl"]).path.strip("/").split("/")
    account, name = parts[-2], parts[-1]
    arn = f"arn:aws:sqs:{call.region}:{account}:{name}"
    return [(f"sqs:{_SQS_BATCH.get(call.operation, call.operation)}", arn)]


def _ses(call: Call) -> list[tuple[str, str]]:
    if call.operation not in _SES_SENDING:
        raise AssertionError(f"no IAM mapping for ses:{call.operation}: add one here")
    p = call.params
    out = []
    # SES authorises sending against the sender's identity: the address when it is verified, else its domain.
    # Require both, so that the policy holds whichever of the two SES picks.
    source = parseaddr(str(p.get("Source", "")))[1]
    if source:
        out += [("identity", source), ("identity", source.rpartition("@")[2])]
    for key in ("SourceArn", "FromArn"):
        if p.get(key):
            out.append(("arn", p[key]))
    if p.get("ConfigurationSetName"):
        out.append(("configuration-set", p["ConfigurationSetName"]))
    action = f"ses:{call.operation}"
    return [(action, v if kind == "arn" else _arn("ses", call.region, f"{kind}/{v}")) for kind, v in out]


def error_code(exc: Any) -> str:
    """The AWS error code of a ClientError. moto answers IAM refusals to JSON-protocol services (DynamoDB) in
    XML, which botocore cannot parse: the code is then "403" and the real one sits in the message."""
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    found = re.search(r"<Code>([A-Za-z.]+)</Code>", message)
    return found.group(1) if found and (code.isdigit() or not code) else (code or "ClientError")


def _secretsmanager(call: Call) -> list[tuple[str, str]]:
    if call.operation != "GetSecretValue":
        raise AssertionError(f"no IAM mapping for secretsmanager:{call.operation}: add one here")
    secret = str(call.params["SecretId"])
    arn = secret if secret.startswith("arn:") else _arn("secretsmanager", call.region, f"secret:{secret}-??????")
    return [("secretsmanager:GetSecretValue", arn)]


def context_of(call: Call) -> dict[str, str]:
    """The condition keys IAM knows for a call, of those our policies use: SES's ``ses:FromAddress``."""
    if call.service == "ses":
        source = parseaddr(str(call.params.get("Source", "")))[1]
        return {"ses:FromAddress": source} if source else {}
    return {}


def requirements(call: Call) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs that IAM checks for one call."""
    if (call.service, call.operation) in PUBLIC_OPERATIONS:
        return []
    mapper = {"dynamodb": _dynamodb, "sqs": _sqs, "ses": _ses, "secretsmanager": _secretsmanager}.get(call.service)
    if mapper is None:
        raise AssertionError(f"no IAM mapping for {call.service}:{call.operation}: add one here")
    return mapper(call)

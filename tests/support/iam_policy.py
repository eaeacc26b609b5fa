"""The Lambda policy files and an IAM-like matcher: what a policy allows, action by action and ARN by ARN.

``stack_policy`` reads the policy the deploy writes for a stage (the one ``make deploy`` renders from
.chalice/policy-template.json) with the stack's outputs filled in; ``allowed`` evaluates one action on one ARN
the way IAM does for Allow statements (wildcards, ``Condition`` operators the policies use).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from tests.support.paths import ROOT

CHALICE_DIR = ROOT / ".chalice"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"


# Granted to the function's role but called by the Lambda service, never by our code, so no recording can see
# them. Keep this list short and say who calls each one.
LAMBDA_SERVICE_ACTIONS = {
    # The SQS event source mapping of the `sender` function polls the send queue with the function's role.
    "sqs:ReceiveMessage": "Lambda SQS event source polling",
    "sqs:DeleteMessage": "Lambda SQS event source polling",
    "sqs:GetQueueAttributes": "Lambda SQS event source polling",
    "sqs:ChangeMessageVisibility": "Lambda SQS event source polling",
    # The Lambda runtime writes each function's stdout (Powertools' JSON logs and EMF metrics) to CloudWatch Logs.
    "logs:CreateLogGroup": "Lambda runtime logging",
    "logs:CreateLogStream": "Lambda runtime logging",
    "logs:PutLogEvents": "Lambda runtime logging",
    # Active tracing ("xray": true, Powertools Tracer): Lambda's X-Ray daemon sends the segments.
    "xray:PutTraceSegments": "Lambda active tracing (X-Ray daemon)",
    "xray:PutTelemetryRecords": "Lambda active tracing (X-Ray daemon)",
}
# Actions for which IAM has no resource-level permissions: AWS requires "Resource": "*" for them (Service
# Authorization Reference, AWS X-Ray: PutTraceSegments and PutTelemetryRecords list no resource type). They are
# the only actions a policy here may grant on "*".
NO_RESOURCE_LEVEL_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# Operations AWS serves without SigV4 or IAM (authorised by the user's password or token): the dashboard's

# --- the policy files --------------------------------------------------------------------------------------


def listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def stack_policy(outputs: dict[str, str], *, region: str = REGION, stage: str = "dev") -> dict[str, Any]:
    """The Lambda policy ``make deploy`` generates for the stack that answered ``outputs`` (deploy/policy.py),
    with the sender sending through both its address and its domain identity, as the provisioner verifies both."""
    from deploy.policy import lambda_policy
    from deploy.stage import app_name, function_names

    sender = outputs["SenderAddress"]
    return lambda_policy(
        outputs,
        account=ACCOUNT,
        region=region,
        function_names=function_names(app_name(), stage).values(),
        ses_identities=[sender, sender.rpartition("@")[2]],
    )


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return listify(policy["Statement"])


def _matches(statement: dict[str, Any], action: str, arn: str, context: dict[str, str]) -> bool:
    """IAM's matching: action names case-insensitively (with wildcards), resources as ``*``/``?`` patterns, and
    the statement's conditions against the request's context keys (a key the request lacks fails the condition)."""
    actions = listify(statement.get("Action", []))
    resources = listify(statement.get("Resource", []))
    return (
        any(fnmatchcase(action.lower(), a.lower()) for a in actions)
        and any(fnmatchcase(arn, pattern) for pattern in resources)
        and _conditions_hold(statement.get("Condition", {}), context)
    )


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            have = context.get(key)
            if have is None:
                return False
            if operator == "StringEquals" and have not in listify(wanted):
                return False
            if operator == "StringLike" and not any(fnmatchcase(have, w) for w in listify(wanted)):
                return False
            if operator not in ("StringEquals", "StringLike"):
                raise AssertionError(f"condition operator {operator} is not modelled here: add it")
    return True


def allowed(policy: dict[str, Any], action: str, arn: str, context: dict[str, str] | None = None) -> bool:
    """Whether the identity policy allows ``action`` on ``arn`` for a request with ``context`` keys
    (``ses:FromAddress``, ...); an explicit Deny wins."""
    found, context = statements(policy), context or {}
    if any(s["Effect"] == "Deny" and _matches(s, action, arn, context) for s in found):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, action, arn, context) for s in found)


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in statements(policy) if s["Effect"] == "Allow" for a in listify(s["Action"])}

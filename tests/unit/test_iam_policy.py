"""The hand-written IAM policies (.chalice/policy-*.json): their shape, and that every grant is scoped.

Which actions they grant is not listed here: tests/integration/test_iam_recorded.py derives it from the AWS calls
the app makes (and tests/integration/test_iam_enforced.py runs the app under moto's IAM enforcement). This file
checks what a recording cannot: no wildcards, no "*" resource but for actions that IAM cannot scope, grants on the
stack's own tables, indexes, queue, configuration set and log groups only, and the grants the Lambda service uses.

Chalice policy files are static JSON, so ARNs cannot use ${AWS::Region}/${AWS::AccountId}: region and account are
``*``, and names come from the infra stack's default ResourcePrefix (``event-feedback``). Coverage is checked the
way IAM matches: action names case-insensitively, resource ARNs as ``*``/``?`` wildcard patterns, against concrete
ARNs in some region and account.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.iam_support import (
    CHALICE_DIR,
    LAMBDA_SERVICE_ACTIONS,
    NO_RESOURCE_LEVEL_ACTIONS,
    POLICY_FILES,
    ROOT,
    allowed,
    listify,
    load_policy,
    statements,
)

PREFIX = "event-feedback"
TEMPLATE = json.loads((ROOT / "infra" / "template.json").read_text(encoding="utf-8"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
REGION, ACCOUNT = "eu-west-1", "123456789012"


def _sub(value: Any) -> str:
    """Resolve a template name: a plain string or ``{"Fn::Sub": "${ResourcePrefix}..."}``."""
    if isinstance(value, dict):
        value = value["Fn::Sub"]
    assert isinstance(value, str), value
    return value.replace("${ResourcePrefix}", PREFIX)


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r["Properties"] for lid, r in RESOURCES.items() if r["Type"] == kind}


TABLES = {
    _sub(p["TableName"]): [g["IndexName"] for g in p.get("GlobalSecondaryIndexes", [])]
    for p in _of_type("AWS::DynamoDB::Table").values()
}
SEND_QUEUE = _sub(RESOURCES["SendQueue"]["Properties"]["QueueName"])
DEAD_LETTER_QUEUE = _sub(RESOURCES["SendDeadLetterQueue"]["Properties"]["QueueName"])
CONFIGURATION_SET = _sub(RESOURCES["ConfigurationSet"]["Properties"]["Name"])


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _resources_of(policy: dict[str, Any], service: str) -> set[str]:
    return {
        r
        for s in statements(policy)
        if any(a.startswith(service + ":") for a in listify(s["Action"]))
        for r in listify(s["Resource"])
    }


@pytest.fixture(params=POLICY_FILES)
def policy(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load_policy(request.param)


def test_the_template_names_what_the_checks_expect() -> None:
    assert TABLES and all(name.startswith(f"{PREFIX}-") for name in TABLES), sorted(TABLES)
    assert SEND_QUEUE == f"{PREFIX}-send"
    assert DEAD_LETTER_QUEUE == f"{PREFIX}-send-dlq"
    assert CONFIGURATION_SET == PREFIX


def test_every_stage_uses_a_hand_written_policy_file() -> None:
    config = json.loads((CHALICE_DIR / "config.json").read_text(encoding="utf-8"))
    assert config.get("autogen_policy") is False
    for stage, settings in config["stages"].items():
        name = settings.get("iam_policy_file") or config.get("iam_policy_file")
        assert name, f"stage {stage} names no iam_policy_file"
        assert (CHALICE_DIR / name).is_file(), f"stage {stage}: {name} is missing"


def test_policy_shape(policy: dict[str, Any]) -> None:
    assert policy["Version"] == "2012-10-17"
    found = statements(policy)
    assert found
    sids = [s.get("Sid") for s in found]
    assert all(isinstance(sid, str) and sid.isalnum() for sid in sids), sids
    assert len(set(sids)) == len(sids), f"duplicate Sid: {sids}"
    for s in found:
        assert s["Effect"] in ("Allow", "Deny"), s


def test_no_negated_or_principal_elements(policy: dict[str, Any]) -> None:
    for s in statements(policy):
        forbidden = {"NotAction", "NotResource", "NotPrincipal", "Principal"} & set(s)
        assert not forbidden, f"{s.get('Sid')}: {sorted(forbidden)}"
        assert "Action" in s and "Resource" in s, s.get("Sid")


def test_no_wildcard_actions(policy: dict[str, Any]) -> None:
    for s in statements(policy):
        for action in listify(s["Action"]):
            assert isinstance(action, str) and action.count(":") == 1, f"{s['Sid']}: {action!r}"
            assert "*" not in action and "?" not in action, f"{s['Sid']}: wildcard action {action!r}"


def test_a_star_resource_only_for_actions_that_iam_cannot_scope(policy: dict[str, Any]) -> None:
    # IAM has no resource-level permissions for X-Ray's PutTraceSegments and PutTelemetryRecords: AWS requires
    # "Resource": "*" for them. Only such actions may be granted on "*", alone in their statement; any other
    # action on "*" fails here.
    for s in statements(policy):
        resources = [r.strip() for r in listify(s["Resource"])]
        actions = set(listify(s["Action"]))
        if "*" in resources:
            assert resources == ["*"], f"{s['Sid']}: '*' next to other resources: {resources}"
            assert actions <= NO_RESOURCE_LEVEL_ACTIONS, (
                f"{s['Sid']}: {sorted(actions - NO_RESOURCE_LEVEL_ACTIONS)} on '*'"
            )
        else:
            assert not actions & NO_RESOURCE_LEVEL_ACTIONS, f"{s['Sid']}: these take no resource ARN, only '*'"


def test_active_tracing_is_granted_in_one_statement(policy: dict[str, Any]) -> None:
    tracing = [s for s in statements(policy) if set(listify(s["Action"])) & NO_RESOURCE_LEVEL_ACTIONS]
    assert len(tracing) == 1, [s["Sid"] for s in tracing]
    (s,) = tracing
    assert s["Effect"] == "Allow" and set(listify(s["Action"])) == NO_RESOURCE_LEVEL_ACTIONS
    assert listify(s["Resource"]) == ["*"] and "Condition" not in s


def test_every_other_resource_is_a_scoped_arn(policy: dict[str, Any]) -> None:
    for s in statements(policy):
        resources = listify(s["Resource"])
        assert resources, s["Sid"]
        if resources == ["*"]:
            continue  # checked above: only for actions without resource-level permissions
        services = {a.split(":", 1)[0] for a in listify(s["Action"])}
        for resource in resources:
            assert isinstance(resource, str), f"{s['Sid']}: {resource!r}"
            assert resource.strip() != "*", f"{s['Sid']}: bare '*' resource"
            parts = resource.split(":", 5)
            assert len(parts) == 6 and parts[0] == "arn", f"{s['Sid']}: not an ARN: {resource}"
            _, partition, service, region, account, name = parts
            # '*' only in the region and account fields (static JSON cannot say ${AWS::Region}).
            assert partition == "aws" and "*" not in service, f"{s['Sid']}: {resource}"
            assert region in ("*",) or "*" not in region, f"{s['Sid']}: {resource}"
            assert account in ("*",) or "*" not in account, f"{s['Sid']}: {resource}"
            assert name and not name.startswith("*"), f"{s['Sid']}: unscoped resource name in {resource}"
            assert services == {service}, f"{s['Sid']}: actions {sorted(services)} on a {service} ARN"


def test_dynamodb_is_granted_on_the_stack_tables_and_their_indexes_exactly(policy: dict[str, Any]) -> None:
    granted = _resources_of(policy, "dynamodb")
    tables = {f"arn:aws:dynamodb:*:*:table/{name}" for name in TABLES}
    indexes = {f"arn:aws:dynamodb:*:*:table/{name}/index/{index}" for name, found in TABLES.items() for index in found}
    assert granted == tables | indexes, (sorted(granted - tables - indexes), sorted(tables | indexes - granted))
    for name, found in TABLES.items():
        for index in found:
            assert allowed(policy, "dynamodb:Query", _arn("dynamodb", f"table/{name}/index/{index}")), index
            assert not allowed(policy, "dynamodb:Scan", _arn("dynamodb", f"table/{name}/index/{index}")), index


def test_dynamodb_is_granted_on_the_stack_tables_only(policy: dict[str, Any]) -> None:
    assert not allowed(policy, "dynamodb:GetItem", _arn("dynamodb", "table/some-other-table"))
    assert not allowed(policy, "dynamodb:GetItem", _arn("dynamodb", f"table/{PREFIX}-events-copy"))
    assert not allowed(policy, "dynamodb:Query", _arn("dynamodb", f"table/{PREFIX}-events/index/another"))
    for table in TABLES:
        for destructive in (
            "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:CreateTable",
            "dynamodb:RestoreTableToPointInTime", "dynamodb:ExportTableToPointInTime",
            "dynamodb:UpdateTimeToLive", "dynamodb:PartiQLSelect",
        ):  # fmt: skip
            assert not allowed(policy, destructive, _arn("dynamodb", f"table/{table}")), destructive


def test_sqs_is_granted_on_the_send_queue_only(policy: dict[str, Any]) -> None:
    assert _resources_of(policy, "sqs") == {f"arn:aws:sqs:*:*:{SEND_QUEUE}"}
    queue_arn = _arn("sqs", SEND_QUEUE)
    assert allowed(policy, "sqs:SendMessage", queue_arn)
    assert not allowed(policy, "sqs:SendMessage", _arn("sqs", DEAD_LETTER_QUEUE))
    assert not allowed(policy, "sqs:ReceiveMessage", _arn("sqs", DEAD_LETTER_QUEUE))
    for refused in ("sqs:PurgeQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:StartMessageMoveTask"):
        assert not allowed(policy, refused, queue_arn), refused


def test_the_lambda_service_gets_what_it_calls_for_us(policy: dict[str, Any]) -> None:
    """Granted for the Lambda service (event source polling, logs, tracing): no recording can see these calls."""
    queue = _arn("sqs", SEND_QUEUE)
    group = _arn("logs", f"log-group:/aws/lambda/{PREFIX}-prod-sender")
    stream = f"{group}:log-stream:2025/01/01/[$LATEST]abc"
    where = {"sqs": queue, "logs": group, "xray": "*"}
    for action in LAMBDA_SERVICE_ACTIONS:
        service = action.split(":")[0]
        arn = stream if action in ("logs:CreateLogStream", "logs:PutLogEvents") else where[service]
        assert allowed(policy, action, arn), action
    assert not allowed(policy, "logs:PutLogEvents", _arn("logs", "log-group:/aws/lambda/other-app:log-stream:x"))
    assert not allowed(policy, "logs:DeleteLogGroup", group)


def test_ses_raw_sending_through_the_configuration_set_only(policy: dict[str, Any]) -> None:
    assert allowed(policy, "ses:SendRawEmail", _arn("ses", f"configuration-set/{CONFIGURATION_SET}"))
    assert allowed(policy, "ses:SendRawEmail", _arn("ses", "identity/example.org"))
    assert allowed(policy, "ses:SendRawEmail", _arn("ses", "identity/surveys@example.org"))
    assert not allowed(policy, "ses:SendRawEmail", _arn("ses", "configuration-set/another-set"))
    assert not allowed(policy, "ses:SendEmail", _arn("ses", "identity/example.org"))
    assert not allowed(policy, "ses:VerifyEmailIdentity", _arn("ses", "identity/example.org"))

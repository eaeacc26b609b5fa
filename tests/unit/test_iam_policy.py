"""The hand-written IAM policies (.chalice/policy-*.json): least privilege, and enough for the app.

Chalice policy files are static JSON, so ARNs cannot use ${AWS::Region}/${AWS::AccountId}: region and
account are ``*``, and names come from the infra stack's default ResourcePrefix (``event-feedback``).
Coverage is checked the way IAM matches: action names case-insensitively, resource ARNs as ``*``/``?``
wildcard patterns, against concrete ARNs in some region and account.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICE_DIR = ROOT / ".chalice"
POLICY_FILES = ("policy-prod.json", "policy-dev.json")
PREFIX = "event-feedback"
TEMPLATE = json.loads((ROOT / "infra" / "template.json").read_text(encoding="utf-8"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
REGION, ACCOUNT = "eu-west-1", "123456789012"

# What the code calls (chalicelib/adapters/store.py through PynamoDB 6.1, which never calls
# DescribeTable). Transactions are authorised per item: Put/Update/Delete/ConditionCheck inside
# TransactWriteItems need PutItem/UpdateItem/DeleteItem/ConditionCheckItem ("TransactWriteItems" is
# not an IAM action).
TABLE_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
}  # fmt: skip
# send_message_batch is authorised as sqs:SendMessage; the rest is what the Lambda SQS event source polls with.
QUEUE_ACTIONS = {
    "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
    "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility",
}  # fmt: skip
LOG_ACTIONS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}


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
CONFIGURATION_SET = _sub(RESOURCES["ConfigurationSet"]["Properties"]["Name"])


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _load(name: str) -> dict[str, Any]:
    path = CHALICE_DIR / name
    assert path.is_file(), f"{path} is missing"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return _listify(policy["Statement"])


def _matches(statement: dict[str, Any], action: str, arn: str) -> bool:
    actions = {a.lower() for a in _listify(statement.get("Action", []))}
    resources = _listify(statement.get("Resource", []))
    return action.lower() in actions and any(fnmatchcase(arn, pattern) for pattern in resources)


def allowed(policy: dict[str, Any], action: str, arn: str) -> bool:
    statements = _statements(policy)
    if any(s["Effect"] == "Deny" and _matches(s, action, arn) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, action, arn) for s in statements)


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


@pytest.fixture(params=POLICY_FILES)
def policy(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(request.param)


def test_the_template_names_what_the_checks_expect() -> None:
    assert set(TABLES) == {f"{PREFIX}-{t}" for t in (
        "events", "participants", "waves", "invitations", "tokens",
        "responses", "aggregates", "suppressions", "questionnaires", "auth_attempts",
    )}  # fmt: skip
    assert SEND_QUEUE == f"{PREFIX}-send"
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
    statements = _statements(policy)
    assert statements
    sids = [s.get("Sid") for s in statements]
    assert all(isinstance(sid, str) and sid.isalnum() for sid in sids), sids
    assert len(set(sids)) == len(sids), f"duplicate Sid: {sids}"
    for s in statements:
        assert s["Effect"] in ("Allow", "Deny"), s


def test_no_negated_or_principal_elements(policy: dict[str, Any]) -> None:
    for s in _statements(policy):
        forbidden = {"NotAction", "NotResource", "NotPrincipal", "Principal"} & set(s)
        assert not forbidden, f"{s.get('Sid')}: {sorted(forbidden)}"
        assert "Action" in s and "Resource" in s, s.get("Sid")


def test_no_wildcard_actions(policy: dict[str, Any]) -> None:
    for s in _statements(policy):
        for action in _listify(s["Action"]):
            assert isinstance(action, str) and action.count(":") == 1, f"{s['Sid']}: {action!r}"
            assert "*" not in action and "?" not in action, f"{s['Sid']}: wildcard action {action!r}"


def test_every_resource_is_a_scoped_arn(policy: dict[str, Any]) -> None:
    for s in _statements(policy):
        resources = _listify(s["Resource"])
        assert resources, s["Sid"]
        services = {a.split(":", 1)[0] for a in _listify(s["Action"])}
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


def test_every_table_in_the_stack_is_covered(policy: dict[str, Any]) -> None:
    for table, indexes in TABLES.items():
        table_arn = _arn("dynamodb", f"table/{table}")
        missing = sorted(a for a in TABLE_ACTIONS if not allowed(policy, a, table_arn))
        assert not missing, f"{table}: {missing}"
        for index in indexes:
            assert allowed(policy, "dynamodb:Query", f"{table_arn}/index/{index}"), f"{table}/index/{index}"


def test_dynamodb_is_granted_on_the_stack_tables_only(policy: dict[str, Any]) -> None:
    assert not allowed(policy, "dynamodb:GetItem", _arn("dynamodb", "table/some-other-table"))
    assert not allowed(policy, "dynamodb:GetItem", _arn("dynamodb", f"table/{PREFIX}-events-copy"))
    for table in TABLES:
        for destructive in ("dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:CreateTable"):
            assert not allowed(policy, destructive, _arn("dynamodb", f"table/{table}")), destructive


def test_the_send_queue_is_covered(policy: dict[str, Any]) -> None:
    queue_arn = _arn("sqs", SEND_QUEUE)
    missing = sorted(a for a in QUEUE_ACTIONS if not allowed(policy, a, queue_arn))
    assert not missing, missing
    assert not allowed(policy, "sqs:SendMessage", _arn("sqs", f"{SEND_QUEUE}-dlq"))
    assert not allowed(policy, "sqs:PurgeQueue", queue_arn)


def test_ses_raw_sending_through_the_configuration_set_is_covered(policy: dict[str, Any]) -> None:
    assert allowed(policy, "ses:SendRawEmail", _arn("ses", f"configuration-set/{CONFIGURATION_SET}"))
    assert allowed(policy, "ses:SendRawEmail", _arn("ses", "identity/example.org"))
    assert allowed(policy, "ses:SendRawEmail", _arn("ses", "identity/surveys@example.org"))
    assert not allowed(policy, "ses:SendRawEmail", _arn("ses", "configuration-set/another-set"))
    assert not allowed(policy, "ses:SendEmail", _arn("ses", "identity/example.org"))


def test_function_logs_are_covered(policy: dict[str, Any]) -> None:
    group = _arn("logs", f"log-group:/aws/lambda/{PREFIX}-prod-sender")
    assert allowed(policy, "logs:CreateLogGroup", group)
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert allowed(policy, action, f"{group}:log-stream:2025/01/01/[$LATEST]abc"), action
    assert not allowed(policy, "logs:PutLogEvents", _arn("logs", "log-group:/aws/lambda/other-app:log-stream:x"))


def test_no_unexpected_services(policy: dict[str, Any]) -> None:
    granted = {a for s in _statements(policy) if s["Effect"] == "Allow" for a in _listify(s["Action"])}
    assert granted <= TABLE_ACTIONS | QUEUE_ACTIONS | LOG_ACTIONS | {"ses:SendRawEmail"}, sorted(granted)

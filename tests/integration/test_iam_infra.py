"""Least privilege in infra/template.json: every IAM role or policy and every resource policy of the stack
grants named actions to named principals on the stack's own resources, and a service or "*" principal only
with a condition that pins the source (aws:SourceArn / aws:SourceAccount), against the confused deputy.

The checks walk the template for every policy document, so a role, queue policy or Lambda permission added
later is checked the same way. The local stack's provisioned topic policies are checked as moto stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from devstack.provision import provision
from tests.support.iam_policy import listify
from tests.support.template import RESOURCES

# Where CloudFormation resource types keep their policy documents.
POLICY_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", "Policies[].PolicyDocument"),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::User": ("Policies[].PolicyDocument",),
    "AWS::IAM::Group": ("Policies[].PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::Events::EventBus": ("Policy",),
}
# Types that grant access without a policy document; each needs its own check below before it may appear.
UNCHECKED_GRANTS = {"AWS::Lambda::Permission", "AWS::S3::BucketPolicy", "AWS::IAM::InstanceProfile"}
# Condition keys that pin who may act for a service or "*" principal (keys are case-insensitive in IAM).
PINNING_KEYS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:principalorgid", "aws:principalaccount"}
SERVICE_PRINCIPALS = {
    "ses.amazonaws.com", "sns.amazonaws.com", "lambda.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"
}  # fmt: skip
PREFIX = "event-feedback"


def _documents(logical: str, resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    props = resource.get("Properties", {})
    for path in POLICY_PATHS.get(resource["Type"], ()):
        if path.startswith("Policies[]."):
            for i, inline in enumerate(props.get("Policies", [])):
                yield f"{logical}.Policies[{i}]", inline["PolicyDocument"]
        elif path in props:
            yield f"{logical}.{path}", props[path]


DOCUMENTS = dict(doc for logical, res in RESOURCES.items() for doc in _documents(logical, res))
STATEMENTS = [
    (f"{where}#{s.get('Sid', i)}", s)
    for where, doc in DOCUMENTS.items()
    for i, s in enumerate(listify(doc["Statement"]))
]


def _refs(node: Any) -> set[str]:
    """Resources of this stack a node names through Ref, Fn::GetAtt or ${...} in Fn::Sub, read as the
    provisioner reads them."""
    from devstack.provision import references

    return references(node) & set(RESOURCES)


def _pinned(statement: dict[str, Any]) -> bool:
    keys = {k.lower() for block in statement.get("Condition", {}).values() for k in block}
    return bool(keys & PINNING_KEYS)


def test_the_template_has_the_policies_these_checks_expect() -> None:
    assert "FeedbackTopicPolicy.PolicyDocument" in DOCUMENTS
    assert STATEMENTS
    kinds = {r["Type"] for r in RESOURCES.values()}
    unchecked = kinds & UNCHECKED_GRANTS
    assert not unchecked, f"add least-privilege checks for {sorted(unchecked)} to this file"
    # The Lambda role is Chalice's, from .chalice/policy-*.json (tests/unit/test_iam_policy.py,
    # tests/integration/test_iam_recorded.py); the stack itself makes no role, user or group today.
    roles = sorted(lid for lid, r in RESOURCES.items() if r["Type"].startswith("AWS::IAM::"))
    assert all(lid in {w.split(".")[0] for w in DOCUMENTS} for lid in roles), roles


@pytest.mark.parametrize("where,statement", STATEMENTS, ids=[w for w, _ in STATEMENTS])
def test_every_statement_names_its_actions(where: str, statement: dict[str, Any]) -> None:
    assert statement.get("Effect") in ("Allow", "Deny"), where
    assert not {"NotAction", "NotPrincipal", "NotResource"} & set(statement), where
    actions = listify(statement["Action"])
    for action in actions:
        assert isinstance(action, str) and action.count(":") == 1, f"{where}: {action!r}"
        assert "*" not in action and "?" not in action, f"{where}: wildcard action {action!r}"


@pytest.mark.parametrize("where,statement", STATEMENTS, ids=[w for w, _ in STATEMENTS])
def test_every_statement_names_its_principal_and_pins_services(where: str, statement: dict[str, Any]) -> None:
    principal = statement.get("Principal")
    if principal is None:  # identity policies (a role's own) have none
        assert "AssumeRolePolicyDocument" not in where, f"{where}: a trust policy needs a principal"
        return
    if principal == "*" or (isinstance(principal, dict) and "*" in listify(principal.get("AWS", []))):
        assert _pinned(statement), f"{where}: '*' principal without a SourceArn/SourceAccount condition"
        return
    assert isinstance(principal, dict) and principal, f"{where}: {principal!r}"
    assert set(principal) <= {"Service", "AWS", "Federated"}, f"{where}: {sorted(principal)}"
    for service in listify(principal.get("Service", [])):
        assert service in SERVICE_PRINCIPALS, f"{where}: unexpected service principal {service!r}"
        # A service acts for any account: pin the source, or another account's resource could use it.
        if "AssumeRolePolicyDocument" not in where:
            assert _pinned(statement), f"{where}: {service} without a SourceArn/SourceAccount condition"


@pytest.mark.parametrize("where,statement", STATEMENTS, ids=[w for w, _ in STATEMENTS])
def test_every_statement_is_scoped_to_the_stacks_own_resources(where: str, statement: dict[str, Any]) -> None:
    if "AssumeRolePolicyDocument" in where:
        assert "Resource" not in statement, where
        return
    resources = listify(statement["Resource"])
    assert resources, where
    for resource in resources:
        assert resource != "*", f"{where}: '*' resource"
        if isinstance(resource, str):
            assert resource.startswith("arn:") and not resource.split(":", 5)[-1].startswith("*"), (
                f"{where}: {resource}"
            )
        else:
            assert _refs(resource), f"{where}: {resource!r} names no resource of this stack"


def test_only_ses_may_publish_to_the_feedback_topic_from_this_accounts_configuration_set() -> None:
    props = RESOURCES["FeedbackTopicPolicy"]["Properties"]
    assert props["Topics"] == [{"Ref": "FeedbackTopic"}]
    (statement,) = listify(props["PolicyDocument"]["Statement"])
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert listify(statement["Action"]) == ["sns:Publish"]
    assert statement["Resource"] == {"Ref": "FeedbackTopic"}
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = condition["ArnLike"]["AWS:SourceArn"]["Fn::Sub"]
    assert source == "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${ConfigurationSet}"
    # The destination that publishes is that very configuration set.
    destination = RESOURCES["ConfigurationSetFeedbackDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "ConfigurationSet"}
    assert destination["EventDestination"]["SnsDestination"]["TopicARN"] == {"Ref": "FeedbackTopic"}


def test_the_dead_letter_queue_takes_redrives_from_the_send_queue_only() -> None:
    allow = RESOURCES["SendDeadLetterQueue"]["Properties"]["RedriveAllowPolicy"]
    assert allow["redrivePermission"] == "byQueue"
    (source,) = allow["sourceQueueArns"]
    assert source["Fn::Sub"].endswith(":${ResourcePrefix}-send")


@pytest.fixture
def provisioned(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with moto.mock_aws():
        yield provision(region="us-east-1", prefix=PREFIX, sender="surveys@example.org")


def test_the_provisioned_topic_policies_pin_every_broad_principal(provisioned: dict[str, str]) -> None:
    sns = boto3.client("sns", region_name="us-east-1")
    feedback = json.loads(sns.get_topic_attributes(TopicArn=provisioned["FeedbackTopicArn"])["Attributes"]["Policy"])
    (statement,) = feedback["Statement"]
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == (
        f"arn:aws:ses:us-east-1:123456789012:configuration-set/{provisioned['ConfigurationSetName']}"
    )
    # The alarm topic keeps SNS's default policy: the owner account only (AWS:SourceOwner), which is all
    # CloudWatch alarms of the same account need.
    for topic in (provisioned["FeedbackTopicArn"], provisioned["AlarmTopicArn"]):
        policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
        for s in policy["Statement"]:
            principal = s.get("Principal")
            broad = principal == "*" or (isinstance(principal, dict) and "*" in listify(principal.get("AWS", [])))
            assert not broad or _pinned(s), f"{topic}: {s.get('Sid')}"


@pytest.mark.parametrize(
    "check,statement",
    [
        (test_every_statement_names_its_actions, {"Effect": "Allow", "Action": "sns:*", "Resource": "arn:aws:sns:x"}),
        (test_every_statement_names_its_actions, {"Effect": "Allow", "NotAction": "sns:Publish", "Action": []}),
        (test_every_statement_names_its_principal_and_pins_services, {"Principal": "*", "Action": "sns:Publish"}),
        (test_every_statement_names_its_principal_and_pins_services, {"Principal": {"AWS": "*"}}),
        (test_every_statement_names_its_principal_and_pins_services, {"Principal": {"Service": "ses.amazonaws.com"}}),
        (test_every_statement_names_its_principal_and_pins_services, {"Principal": {"Service": "s3.amazonaws.com"}}),
        (test_every_statement_is_scoped_to_the_stacks_own_resources, {"Resource": "*"}),
        (test_every_statement_is_scoped_to_the_stacks_own_resources, {"Resource": {"Ref": "AWS::AccountId"}}),
        (test_every_statement_is_scoped_to_the_stacks_own_resources, {"Resource": "arn:aws:sns:us-east-1:1:*"}),
    ],
)
def test_the_checks_refuse_what_they_should(check: Any, statement: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        check("Example.PolicyDocument#0", statement)

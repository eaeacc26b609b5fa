"""Create the resources of ``infra/template.json`` in moto, so local and cloud cannot drift.

The template is the single definition.  This module reads it, resolves the few intrinsic
functions it uses (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``), and creates each resource with
the boto3 call that CloudFormation would make, in dependency order.  A resource type that
is neither created nor listed in ``NOT_LOCAL`` raises, so a template change that the local
stack does not follow fails the tests instead of drifting silently.

Usage::

    with moto.mock_aws():                      # in-process moto
        outputs = provision()
    outputs = provision("http://localhost:5000")  # a `moto_server`

``provision`` returns the template's Outputs (``SendQueueUrl``, ``UserPoolId``, ...) with
the values moto assigned.  Running it again reuses what already exists.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.json"
MOTO_DEFAULT_ACCOUNT = "123456789012"

Outputs = dict[str, str]

# Resource types of the template that are deliberately not created locally.
NOT_LOCAL = {
    # Nothing evaluates CloudWatch alarms locally; they are checked by cfn-lint only.
    "AWS::CloudWatch::Alarm": "alarms are not provisioned locally",
}
# Subscription protocols that reach outside the machine: the alarm e-mail (Condition HasAlarmEmail) is not made.
NOT_LOCAL_PROTOCOLS = {"email", "email-json", "sms", "http", "https"}

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def provision(
    endpoint_url: str | None = None,
    *,
    region: str = "us-east-1",
    prefix: str = "event-feedback",
    sender: str = "surveys@example.org",
    parameters: dict[str, str] | None = None,
    template_path: Path = TEMPLATE,
) -> Outputs:
    """Create (or reuse) every local resource of the template and return its Outputs.

    ``endpoint_url=None`` uses boto3's default endpoints, which ``moto.mock_aws()``
    intercepts; unless STS then answers with moto's account id, nothing is created.
    ``sender`` is verified in SES, both as an address and as its domain, and is the stack's SenderAddress;
    ``parameters`` sets any other template parameter (PublicBaseUrl, SenderFunctionName, ...).
    """
    template = json.loads(Path(template_path).read_text(encoding="utf-8"))
    clients = _Clients(endpoint_url, region)

    account = clients("sts").get_caller_identity()["Account"]
    if endpoint_url is None and account != os.environ.get("MOTO_ACCOUNT_ID", MOTO_DEFAULT_ACCOUNT):
        raise RuntimeError("provision() without endpoint_url must run inside moto.mock_aws()")

    params = {name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()}
    params["ResourcePrefix"] = prefix
    params["SenderAddress"] = sender
    params.update(parameters or {})
    resolve = _Resolver(
        {
            **params,
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": prefix,
        }
    )

    resources: dict[str, dict[str, Any]] = template["Resources"]
    graph = {
        logical: (references(res.get("Properties", {})) | set(_as_list(res.get("DependsOn")))) & resources.keys()
        for logical, res in resources.items()
    }
    for logical in TopologicalSorter(graph).static_order():
        res = resources[logical]
        if res["Type"] in NOT_LOCAL:
            continue
        if "Condition" in res and not _condition(template, res["Condition"], resolve):
            continue
        create = _HANDLERS.get(res["Type"])
        if create is None:
            raise NotImplementedError(f"{logical}: no local provisioner for {res['Type']}")
        ref, attrs = create(clients, resolve(res.get("Properties", {})))
        resolve.refs[logical] = ref
        resolve.attrs[logical] = attrs

    ses = clients("ses")
    ses.verify_email_identity(EmailAddress=sender)
    ses.verify_domain_identity(Domain=sender.rpartition("@")[2])

    return {name: resolve(out["Value"]) for name, out in template.get("Outputs", {}).items()}


# --- tiny CloudFormation resolver ---------------------------------------------------------


class _Resolver:
    """Resolves ``Ref``, ``Fn::GetAtt`` and string ``Fn::Sub``; other functions raise."""

    def __init__(self, refs: dict[str, str]) -> None:
        self.refs = dict(refs)  # parameters, pseudo parameters, logical id -> Ref value
        self.attrs: dict[str, dict[str, str]] = {}  # logical id -> {attribute: value}

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.refs[arg]
            if key == "Fn::GetAtt":
                return self.attrs[arg[0]][arg[1]]
            if key == "Fn::Sub" and isinstance(arg, str):
                return _SUB_VAR.sub(lambda m: self._variable(m.group(1)), arg)
            if key.startswith("Fn::"):
                raise NotImplementedError(f"intrinsic {key} is not supported locally")
        return {key: self(value) for key, value in node.items()}

    def _variable(self, name: str) -> str:
        logical, _, attr = name.partition(".")
        return self.attrs[logical][attr] if attr else self.refs[name]


def _condition(template: dict[str, Any], name: str, resolve: _Resolver) -> bool:
    """A template condition, of the forms the template uses (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""

    def holds(node: Any) -> bool:
        ((key, arg),) = node.items()
        if key == "Fn::Equals":
            left, right = (resolve(value) for value in arg)
            return bool(left == right)
        if key == "Fn::Not":
            return not holds(arg[0])
        if key == "Fn::And":
            return all(holds(item) for item in arg)
        if key == "Fn::Or":
            return any(holds(item) for item in arg)
        if key == "Condition":
            return holds(template["Conditions"][arg])
        raise NotImplementedError(f"condition function {key} is not supported locally")

    return holds(template["Conditions"][name])


def references(node: Any) -> set[str]:
    """Every name a node refers to through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(node, list):
        return set().union(*map(references, node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref":
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0])
        elif key == "Fn::Sub" and isinstance(value, str):
            found.update(name.partition(".")[0] for name in _SUB_VAR.findall(value))
        else:
            found |= references(value)
    return found


def _as_list(value: Any) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


class _Clients:
    """boto3 clients created on first use, one per service."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._kwargs = {"endpoint_url": endpoint_url, "region_name": region}
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = boto3.client(service, **self._kwargs)
        return self._cache[service]


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


# --- one handler per resource type: (clients, resolved properties) -> (Ref, attributes) ----

Handler = Callable[[_Clients, dict[str, Any]], tuple[str, dict[str, str]]]


def _table(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    ddb = clients("dynamodb")
    name = p["TableName"]
    keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode", "DeletionProtectionEnabled")
    args = {key: p[key] for key in keys if key in p}
    if "SSESpecification" in p:  # CloudFormation spells it SSEEnabled, the API Enabled
        args["SSESpecification"] = {"Enabled": p["SSESpecification"]["SSEEnabled"]}
    try:
        ddb.create_table(TableName=name, **args)
    except ClientError as error:
        if _error_code(error) != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=name)
    ttl = p.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        status = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"]
        if status not in ("ENABLED", "ENABLING"):  # real DynamoDB rejects enabling twice
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    if "PointInTimeRecoverySpecification" in p:  # moto accepts RecoveryPeriodInDays too
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=p["PointInTimeRecoverySpecification"]
        )
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    return name, {"Arn": arn}


def _queue(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    sqs = clients("sqs")
    name = p["QueueName"]
    # moto 5.2.5 accepts RedriveAllowPolicy but does not store it (get_queue_attributes omits it).
    attributes = {key: _sqs_value(value) for key, value in p.items() if key not in ("QueueName", "Tags")}
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as error:  # exists with other attributes: converge to the template
        if _error_code(error) not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}


def _sqs_value(value: Any) -> str:
    """SQS takes every attribute as a string, and policies (RedrivePolicy, ...) as JSON text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _topic(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    arn = clients("sns").create_topic(Name=p["TopicName"])["TopicArn"]  # idempotent
    return arn, {"TopicArn": arn, "TopicName": p["TopicName"]}


def _topic_policy(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    policy = json.dumps(p["PolicyDocument"])
    for arn in p["Topics"]:
        clients("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
    return "topic-policy", {}


def _queue_policy(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    # moto stores the policy but does not enforce it: SNS delivers to the queue whatever the policy says.
    policy = json.dumps(p["PolicyDocument"])
    for url in p["Queues"]:
        clients("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return "queue-policy", {}


def _subscription(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    if p["Protocol"] in NOT_LOCAL_PROTOCOLS:
        return "not-local", {}
    # CloudFormation's top-level properties are the API's subscription attributes.
    attributes = {
        key: _sqs_value(p[key])
        for key in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
        if key in p
    }
    sns = clients("sns")
    # Subscribe is idempotent for the same topic, protocol, endpoint and attributes.
    arn = sns.subscribe(
        TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"], Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]  # fmt: skip
    for key, value in attributes.items():  # converge an existing subscription to the template
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=key, AttributeValue=value)
    return arn, {}


def _configuration_set(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    ses = clients("ses")
    name = p["Name"]
    try:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
    except ClientError as error:
        if _error_code(error) != "ConfigurationSetAlreadyExists":
            raise
    if "ReputationOptions" in p:
        ses.update_configuration_set_reputation_metrics_enabled(
            ConfigurationSetName=name, Enabled=p["ReputationOptions"]["ReputationMetricsEnabled"]
        )
    # SendingOptions: moto 5.2.5 does not implement UpdateConfigurationSetSendingEnabled;
    # a new configuration set sends by default, which is what the template asks for.
    return name, {}


def _event_destination(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    dest = p["EventDestination"]
    api_dest = {key: dest[key] for key in ("Name", "Enabled", "MatchingEventTypes") if key in dest}
    if "SnsDestination" in dest:  # CloudFormation SnsDestination -> SES v1 SNSDestination
        api_dest["SNSDestination"] = {"TopicARN": dest["SnsDestination"]["TopicARN"]}
    try:
        clients("ses").create_configuration_set_event_destination(
            ConfigurationSetName=p["ConfigurationSetName"], EventDestination=api_dest
        )
    except ClientError as error:
        if _error_code(error) != "EventDestinationAlreadyExists":
            raise
    return dest["Name"], {}


def _user_pool(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    idp = clients("cognito-idp")
    name = p["UserPoolName"]
    pages = idp.get_paginator("list_user_pools").paginate(MaxResults=60)
    pool_id = next((pool["Id"] for page in pages for pool in page["UserPools"] if pool["Name"] == name), None)
    if pool_id is None:
        # CloudFormation property names equal the API's, except the name and the MFA pair.
        args = {k: v for k, v in p.items() if k not in ("UserPoolName", "MfaConfiguration", "EnabledMfas")}
        pool_id = idp.create_user_pool(PoolName=name, **args)["UserPool"]["Id"]
    if p.get("MfaConfiguration", "OFF") != "OFF":
        idp.set_user_pool_mfa_config(
            UserPoolId=pool_id,
            SoftwareTokenMfaConfiguration={"Enabled": "SOFTWARE_TOKEN_MFA" in p.get("EnabledMfas", [])},
            MfaConfiguration=p["MfaConfiguration"],
        )
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    return pool_id, {"Arn": pool["Arn"]}


def _user_pool_client(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    idp = clients("cognito-idp")
    pages = idp.get_paginator("list_user_pool_clients").paginate(UserPoolId=p["UserPoolId"], MaxResults=60)
    found = (c["ClientId"] for page in pages for c in page["UserPoolClients"] if c["ClientName"] == p["ClientName"])
    client_id = next(found, None)
    if client_id is None:  # CloudFormation property names equal the API's
        client_id = idp.create_user_pool_client(**p)["UserPoolClient"]["ClientId"]
    return client_id, {"ClientId": client_id}


def _user_pool_group(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    try:
        clients("cognito-idp").create_group(**p)
    except ClientError as error:
        if _error_code(error) != "GroupExistsException":
            raise
    return p["GroupName"], {}


def _secret(clients: _Clients, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
    sm = clients("secretsmanager")
    name = p["Name"]
    try:
        arn = sm.describe_secret(SecretId=name)["ARN"]  # exists: keep its value, as CloudFormation would
    except ClientError as error:
        if _error_code(error) != "ResourceNotFoundException":
            raise
        # GenerateSecretString: CloudFormation asks Secrets Manager for a random string with these options.
        generate = p.get("GenerateSecretString", {})
        value = sm.get_random_password(**generate)["RandomPassword"]
        args = {"Description": p["Description"]} if "Description" in p else {}
        arn = sm.create_secret(Name=name, SecretString=value, **args)["ARN"]
    return arn, {"Id": arn}


_HANDLERS: dict[str, Handler] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::SES::ConfigurationSet": _configuration_set,
    "AWS::SES::ConfigurationSetEventDestination": _event_destination,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::SecretsManager::Secret": _secret,
}


if __name__ == "__main__":  # python -m devstack.provision http://localhost:5000
    import sys

    print(json.dumps(provision(sys.argv[1] if len(sys.argv) > 1 else None), indent=2))

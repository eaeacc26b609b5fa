"""Everything of one stage that exists in the account, found by name: the rehearsal's "nothing is left" check, and
what a teardown deletes once CloudFormation and Chalice have deleted theirs.

Stages are told apart by their prefix (``event-feedback-dev``): tables, queues, topics, the configuration set, the
user pool, the secrets, the functions, their layer, role, log groups and schedule rule, and the deployed-state
parameter all carry it. The REST API is the exception (Chalice names it after the app, for every stage), so it
counts as the stage's when its integrations call one of the stage's functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from deploy.aws import Account, error_code
from deploy.stage import Stage

Inventory = dict[str, list[str]]


def inventory(account: Account, stage: Stage, kinds: Iterable[str] | None = None) -> Inventory:
    """``{kind: [name or id, ...]}`` for every kind (of ``kinds``, or all) that has something of the stage; empty
    kinds are left out."""
    found: Inventory = {}
    wanted = set(_FINDERS) if kinds is None else set(kinds)
    for kind, finder in _FINDERS.items():
        if kind not in wanted:
            continue
        names = sorted(finder(account, stage))
        if names:
            found[kind] = names
    return found


def _mine(stage: Stage, name: str) -> bool:
    return name == stage.prefix or name.startswith((stage.prefix + "-", stage.prefix + "/", stage.prefix + "_"))


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _tables(account: Account, stage: Stage) -> Iterator[str]:
    yield from (t for t in _pages(account.client("dynamodb"), "list_tables", "TableNames") if _mine(stage, t))


def _queues(account: Account, stage: Stage) -> Iterator[str]:
    urls = account.client("sqs").list_queues(QueueNamePrefix=stage.prefix).get("QueueUrls", [])
    yield from (u for u in urls if _mine(stage, u.rsplit("/", 1)[-1]))


def _topics(account: Account, stage: Stage) -> Iterator[str]:
    arns = (t["TopicArn"] for t in _pages(account.client("sns"), "list_topics", "Topics"))
    yield from (a for a in arns if _mine(stage, a.rsplit(":", 1)[-1]))


def _configuration_sets(account: Account, stage: Stage) -> Iterator[str]:
    sets = account.client("ses").list_configuration_sets().get("ConfigurationSets", [])
    yield from (s["Name"] for s in sets if _mine(stage, s["Name"]))


def _user_pools(account: Account, stage: Stage) -> Iterator[str]:
    pools = _pages(account.client("cognito-idp"), "list_user_pools", "UserPools", MaxResults=60)
    yield from (p["Id"] for p in pools if _mine(stage, p["Name"]))


def _secrets(account: Account, stage: Stage) -> Iterator[str]:
    secrets = _pages(account.client("secretsmanager"), "list_secrets", "SecretList")
    yield from (s["ARN"] for s in secrets if _mine(stage, s["Name"]))


def _functions(account: Account, stage: Stage) -> Iterator[str]:
    functions = _pages(account.client("lambda"), "list_functions", "Functions")
    yield from (f["FunctionName"] for f in functions if _mine(stage, f["FunctionName"]))


def _layers(account: Account, stage: Stage) -> Iterator[str]:
    client = account.client("lambda")
    for layer in _pages(client, "list_layers", "Layers"):
        if _mine(stage, layer["LayerName"]):
            versions = _pages(client, "list_layer_versions", "LayerVersions", LayerName=layer["LayerName"])
            yield from (v["LayerVersionArn"] for v in versions)


def _roles(account: Account, stage: Stage) -> Iterator[str]:
    roles = _pages(account.client("iam"), "list_roles", "Roles")
    yield from (r["RoleName"] for r in roles if _mine(stage, r["RoleName"]))


def _rules(account: Account, stage: Stage) -> Iterator[str]:
    rules = account.client("events").list_rules(NamePrefix=stage.prefix).get("Rules", [])
    yield from (r["Name"] for r in rules if _mine(stage, r["Name"]))


def _log_groups(account: Account, stage: Stage) -> Iterator[str]:
    prefix = f"/aws/lambda/{stage.prefix}"
    groups = _pages(account.client("logs"), "describe_log_groups", "logGroups", logGroupNamePrefix=prefix)
    yield from (g["logGroupName"] for g in groups if _mine(stage, g["logGroupName"].removeprefix("/aws/lambda/")))


def _parameters(account: Account, stage: Stage) -> Iterator[str]:
    params = _pages(
        account.client("ssm"), "get_parameters_by_path", "Parameters", Path=f"/{stage.prefix}", Recursive=True
    )
    yield from (p["Name"] for p in params)


def rest_apis(account: Account, stage: Stage) -> list[str]:
    """The REST APIs whose integrations call one of this stage's functions."""
    client = account.client("apigateway")
    functions = {f":function:{name}/" for name in stage.function_names.values()}
    found = []
    for api in _pages(client, "get_rest_apis", "items"):
        resources = _pages(client, "get_resources", "items", restApiId=api["id"], embed=["methods"])
        uris = (
            method.get("methodIntegration", {}).get("uri", "")
            for resource in resources
            for method in resource.get("resourceMethods", {}).values()
        )
        if any(f in uri for uri in uris for f in functions):
            found.append(api["id"])
    return found


def _stacks(account: Account, stage: Stage) -> Iterator[str]:
    try:
        stacks = account.client("cloudformation").describe_stacks(StackName=stage.stack_name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError":  # "Stack with id ... does not exist"
            return
        raise
    yield from (s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE")


_FINDERS: dict[str, Callable[[Account, Stage], Any]] = {
    "cloudformation stack": _stacks,
    "dynamodb table": _tables,
    "sqs queue": _queues,
    "sns topic": _topics,
    "ses configuration set": _configuration_sets,
    "cognito user pool": _user_pools,
    "secretsmanager secret": _secrets,
    "lambda function": _functions,
    "lambda layer version": _layers,
    "iam role": _roles,
    "api gateway rest api": rest_apis,
    "eventbridge rule": _rules,
    "cloudwatch log group": _log_groups,
    "ssm parameter": _parameters,
}

"""The deployed wiring, checked the way AWS holds it: after every deploy, real or rehearsed.

Each check reads the account (never the local files alone) and answers a list of problems, empty when the stage
is as the code and the committed Chalice config say: every function with its memory, timeout, reserved
concurrency, runtime, layer, role and tracing; the sender's SQS event source on this stage's send queue and
ses_feedback's on its feedback queue, both with batch size 1; the 5-minute schedule; the feedback topic's one
subscription, that queue, with raw delivery; every route of the app on the REST API with the
authorizer on every ``/admin`` route; a role whose every statement names only this stage's resources; and no
secret value in any function's environment or in the deployed config.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deploy.aws import Account
from deploy.deploying import Deployed
from deploy.policy import NO_RESOURCE_LEVEL_ACTIONS, SECRET_OUTPUTS
from deploy.project import deployed_resource
from deploy.stage import CHALICE_CONFIG

DEFAULT_MEMORY, DEFAULT_TIMEOUT = 128, 60  # Chalice's defaults for a function the config does not mention
SCHEDULE = "rate(5 minutes)"


@dataclass
class Report:
    functions: list[dict[str, Any]] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def table(self) -> str:
        rows = [("function", "memory", "timeout", "concurrency", "runtime")]
        rows += [
            (f["name"], f"{f['memory']} MB", f"{f['timeout']} s", str(f["concurrency"] or "-"), f["runtime"])
            for f in self.functions
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def expected_functions(stage_name: str) -> dict[str, dict[str, Any]]:
    """Memory, timeout and reserved concurrency per function, as the committed config sets them."""
    config = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    stage = config["stages"][stage_name]
    out: dict[str, dict[str, Any]] = {}
    for name, settings in config.get("lambda_functions", {}).items():
        merged = {**settings, **stage.get("lambda_functions", {}).get(name, {})}
        out[name] = {
            "memory": merged.get("lambda_memory_size", stage.get("lambda_memory_size", DEFAULT_MEMORY)),
            "timeout": merged.get("lambda_timeout", stage.get("lambda_timeout", DEFAULT_TIMEOUT)),
            "concurrency": merged.get("reserved_concurrency"),
        }
    return out


def check(deployed: Deployed) -> Report:
    report = Report()
    account, stage = deployed.account, deployed.stage
    functions = _check_functions(deployed, report)
    _check_event_sources(account, deployed, functions, report)
    _check_api(account, deployed, functions, report)
    _check_role(account, deployed, report)
    _check_no_secret_values(account, deployed, functions, report)
    report.problems = [f"{stage.prefix}: {p}" for p in report.problems]
    return report


def _check_functions(deployed: Deployed, report: Report) -> dict[str, dict[str, Any]]:
    client = deployed.account.client("lambda")
    expected = expected_functions(deployed.stage.name)
    layer = deployed_resource(deployed.state, "managed-layer")
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found: dict[str, dict[str, Any]] = {}
    for key, name in sorted(deployed.stage.function_names.items()):
        try:
            config = client.get_function_configuration(FunctionName=name)
        except client.exceptions.ResourceNotFoundException:
            report.problems.append(f"function {name} does not exist")
            continue
        found[key] = config
        want = expected.get(key, {"memory": DEFAULT_MEMORY, "timeout": DEFAULT_TIMEOUT, "concurrency": None})
        concurrency = client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        report.functions.append(
            {
                "name": name,
                "memory": config["MemorySize"],
                "timeout": config["Timeout"],
                "concurrency": concurrency,
                "runtime": config["Runtime"],
            }
        )
        for what, have, should in (
            ("memory", config["MemorySize"], want["memory"]),
            ("timeout", config["Timeout"], want["timeout"]),
            ("reserved concurrency", concurrency, want["concurrency"]),
            ("runtime", config["Runtime"], runtime),
            ("tracing", config.get("TracingConfig", {}).get("Mode"), "Active"),
        ):
            if have != should:
                report.problems.append(f"function {name}: {what} is {have!r}, expected {should!r}")
        layers = [entry["Arn"] for entry in config.get("Layers", [])]
        if not layer or layers != [layer["layer_version_arn"]]:
            report.problems.append(f"function {name}: layers {layers}, expected the stage's managed layer only")
        role = deployed_resource(deployed.state, f"{key}_role")
        if not role or config["Role"] != role["role_arn"]:
            report.problems.append(f"function {name}: role {config['Role']}, expected its own role {key}_role")
    missing = set(expected) - set(deployed.stage.function_names)
    if missing:
        report.problems.append(f"the config sets functions the app does not have: {sorted(missing)}")
    return found


def _check_event_sources(
    account: Account, deployed: Deployed, functions: Mapping[str, dict[str, Any]], report: Report
) -> None:
    outputs = deployed.outputs
    if "sender" in functions:
        mappings = account.client("lambda").list_event_source_mappings(FunctionName=functions["sender"]["FunctionArn"])[
            "EventSourceMappings"
        ]
        shape = [(m["EventSourceArn"], m.get("BatchSize"), m.get("State")) for m in mappings]
        if shape != [(outputs["SendQueueArn"], 1, "Enabled")]:
            report.problems.append(f"sender event sources {shape}, expected one on {outputs['SendQueueArn']}, batch 1")
    if "schedule" in functions:
        events = account.client("events")
        names = events.list_rule_names_by_target(TargetArn=functions["schedule"]["FunctionArn"])["RuleNames"]
        rules = [events.describe_rule(Name=n) for n in names]
        shape = [(r.get("ScheduleExpression"), r.get("State")) for r in rules]
        if shape != [(SCHEDULE, "ENABLED")]:
            report.problems.append(f"schedule rules {shape}, expected one {SCHEDULE} rule, enabled")
    if "ses_feedback" in functions:
        mappings = account.client("lambda").list_event_source_mappings(
            FunctionName=functions["ses_feedback"]["FunctionArn"]
        )["EventSourceMappings"]
        shape = [(m["EventSourceArn"], m.get("BatchSize"), m.get("State")) for m in mappings]
        if shape != [(outputs["FeedbackQueueArn"], 1, "Enabled")]:
            report.problems.append(
                f"ses_feedback event sources {shape}, expected one on {outputs['FeedbackQueueArn']}, batch 1"
            )
    sns = account.client("sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=outputs["FeedbackTopicArn"])["Subscriptions"]
    shape = [(s["Protocol"], s["Endpoint"]) for s in subs]
    if shape != [("sqs", outputs["FeedbackQueueArn"])]:
        report.problems.append(f"feedback topic subscriptions {shape}, expected the feedback queue only")
    else:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subs[0]["SubscriptionArn"])["Attributes"]
        if str(attributes.get("RawMessageDelivery", "false")).lower() != "true":
            report.problems.append("the feedback queue's subscription is not raw: ses_feedback reads SES's JSON")


def app_routes() -> set[tuple[str, str]]:
    import app as application

    return {(path, method) for path, entry in application.app.routes.items() for method in entry}


def _check_api(account: Account, deployed: Deployed, functions: Mapping[str, dict[str, Any]], report: Report) -> None:
    api = deployed_resource(deployed.state, "rest_api")
    if not api:
        report.problems.append("no REST API in the deployed record")
        return
    client = account.client("apigateway")
    api_id = api["rest_api_id"]
    authorizers = client.get_authorizers(restApiId=api_id).get("items", [])
    jwt = [a for a in authorizers if a["name"] == "cognito_jwt"]
    if len(jwt) != 1 or len(authorizers) != 1:
        report.problems.append(f"authorizers {[a['name'] for a in authorizers]}, expected cognito_jwt once")
    authorizer_fn = functions.get("cognito_jwt", {}).get("FunctionArn", "?")
    if jwt and authorizer_fn not in jwt[0].get("authorizerUri", ""):
        report.problems.append("the cognito_jwt authorizer does not call the stage's authorizer function")
    api_fn = functions.get("api_handler", {}).get("FunctionArn", "?")
    seen: set[tuple[str, str]] = set()
    pages = client.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
    for resource in (r for page in pages for r in page["items"]):
        for method, body in resource.get("resourceMethods", {}).items():
            path = resource["path"]
            seen.add((path, method))
            kind = body.get("authorizationType", "NONE")
            guarded = path == "/admin" or path.startswith("/admin/")
            if guarded and (kind != "CUSTOM" or not jwt or body.get("authorizerId") != jwt[0]["id"]):
                report.problems.append(f"{method} {path} is not behind the cognito_jwt authorizer ({kind})")
            if not guarded and kind != "NONE":
                report.problems.append(f"{method} {path} has authorization {kind}; participants need none")
            integration = body.get("methodIntegration", {})
            if integration.get("type") != "AWS_PROXY" or api_fn not in integration.get("uri", ""):
                report.problems.append(f"{method} {path} does not proxy to the stage's API function")
    wanted = app_routes()
    if seen != wanted:
        report.problems.append(
            f"REST API routes differ from the app's: missing {sorted(wanted - seen)}, extra {sorted(seen - wanted)}"
        )
    report.routes = sorted(f"{method} {path}" for path, method in seen)
    stages = [s["stageName"] for s in client.get_stages(restApiId=api_id).get("item", [])]
    if stages != ["api"]:
        report.problems.append(f"REST API stages {stages}, expected ['api']")


def _check_role(account: Account, deployed: Deployed, report: Report) -> None:
    """Chalice gives each function a role of its own (autogen_policy off); each carries the generated policy."""
    iam = account.client("iam")
    sender = deployed.outputs["SenderAddress"]
    identities = {f"identity/{sender}", f"identity/{sender.rpartition('@')[2]}"}
    for key in sorted(deployed.stage.function_names):
        role = deployed_resource(deployed.state, f"{key}_role")
        if not role:
            report.problems.append(f"no role for {key} in the deployed record")
            continue
        name = role["role_name"]
        names = iam.list_role_policies(RoleName=name).get("PolicyNames", [])
        attached = iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", [])
        if attached:
            report.problems.append(f"role {name} has managed policies attached: {[a['PolicyArn'] for a in attached]}")
        documents = [iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"] for n in names]
        documents = [json.loads(d) if isinstance(d, str) else d for d in documents]
        if documents != [deployed.policy]:
            report.problems.append(f"role {name} does not carry exactly the generated policy")
        report.problems += foreign_grants(
            documents, deployed.stage.prefix, deployed.account.region, deployed.account.id, also=identities
        )
        trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        principals = {json.dumps(s.get("Principal"), sort_keys=True) for s in trust.get("Statement", [])}
        if principals != {json.dumps({"Service": "lambda.amazonaws.com"})}:
            report.problems.append(f"role {name} may be assumed by {sorted(principals)}, expected Lambda only")


def foreign_grants(
    documents: Iterable[Mapping[str, Any]], prefix: str, region: str, account: str, also: Iterable[str] = ()
) -> list[str]:
    """Statements that name anything but this stage's own resources (and ``also``, the sender's SES identity,
    which the stage uses but does not own) in this account and region."""
    also = set(also)
    own = re.compile(rf"(?:^|[/:]){re.escape(prefix)}(?:$|[-/_:])")  # the prefix whole: not event-feedback-devx
    problems = []
    for document in documents:
        for statement in _listify(document.get("Statement", [])):
            if statement.get("Effect", "Allow") == "Allow" and ("NotAction" in statement or "NotResource" in statement):
                problems.append(f"{statement.get('Sid')}: grants by exclusion (NotAction or NotResource)")
                continue
            actions = set(_listify(statement.get("Action", [])))
            for resource in _listify(statement.get("Resource", [])):
                if resource == "*":
                    if not actions <= NO_RESOURCE_LEVEL_ACTIONS:
                        problems.append(f"{statement.get('Sid')}: {sorted(actions)} on '*'")
                    continue
                parts = resource.split(":", 5)
                if len(parts) < 6 or parts[3] != region or parts[4] != account:
                    problems.append(f"{statement.get('Sid')}: {resource} is outside {account}/{region}")
                elif parts[5] in also:
                    continue
                elif not own.search(parts[5]) or "*" in parts[5].replace(":*", ""):
                    problems.append(f"{statement.get('Sid')}: {resource} is not one of {prefix}'s own resources")
    return problems


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_no_secret_values(
    account: Account, deployed: Deployed, functions: Mapping[str, dict[str, Any]], report: Report
) -> None:
    sm = account.client("secretsmanager")
    values = [sm.get_secret_value(SecretId=deployed.outputs[k])["SecretString"] for k in SECRET_OUTPUTS]
    for key, config in functions.items():
        env = config.get("Environment", {}).get("Variables", {})
        leaked = [k for k, v in env.items() if any(secret in v for secret in values)]
        if leaked:
            report.problems.append(f"function {key}: secret values in its environment ({leaked})")
        direct = [k for k in env if k.endswith("_SECRET")]
        if direct:
            report.problems.append(f"function {key}: secret variables in its environment ({direct})")
    files = [deployed.project / ".chalice" / "config.json", *(deployed.project / ".chalice").glob("deployed/*.json")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        if any(secret in text for secret in values):
            report.problems.append(f"{path.name} holds a secret value")

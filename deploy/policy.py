"""The Lambda role's policy, generated from the infra stack of one stage: nothing here is edited by hand.

Every statement names this stage's own resources, in one account and region: its tables and their indexes (from
the template), its send queue, its configuration set and the sender's verified SES identity (with an
``ses:FromAddress`` condition), its three secrets and its functions' log groups; the Lambda service polls its
send and feedback queues with the functions' roles. Only the two X-Ray actions,
which IAM cannot scope to a resource, are on ``"*"``. ``tests/integration/test_iam_recorded.py`` checks the
result against every AWS call the app makes; ``test_iam_enforced.py`` runs the app under it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.json"

# Item-level actions the app makes on its tables (the recorded test fails if one is unused or missing).
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
# What the Lambda service does with a function's role to poll its queue (the sender's send queue, ses_feedback's
# feedback queue: their event source mappings).
EVENT_SOURCE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
SECRET_OUTPUTS = ("PseudonymSecretArn", "PanelSecretArn", "SessionSecretArn")
# IAM has no resource-level permissions for these: they are the only actions granted on "*".
NO_RESOURCE_LEVEL_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})


def template_tables(template: Mapping[str, Any], prefix: str) -> dict[str, list[str]]:
    """Each table name of the stage and the names of its indexes, from the template's table resources."""
    tables: dict[str, list[str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = props["TableName"]
        name = name["Fn::Sub"] if isinstance(name, dict) else name
        tables[name.replace("${ResourcePrefix}", prefix)] = [
            index["IndexName"] for index in props.get("GlobalSecondaryIndexes", [])
        ]
    return tables


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def lambda_policy(
    outputs: Mapping[str, str],
    *,
    account: str,
    region: str,
    function_names: Iterable[str],
    ses_identities: Iterable[str],
    partition: str = "aws",
    template: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The least-privilege policy of the stage whose stack answered ``outputs``.

    ``ses_identities`` are the verified SES identities the sender address sends through (the address, its
    domain, or both); ``function_names`` are the stage's Lambda functions, whose log groups the role may write.
    """
    prefix = outputs["ResourcePrefix"]
    sender = outputs["SenderAddress"]
    identities = sorted(set(ses_identities))
    if not identities:
        raise ValueError(f"no verified SES identity for {sender!r}")

    def arn(service: str, resource: str) -> str:
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"

    tables = template_tables(template or load_template(), prefix)
    indexes = [f"{arn('dynamodb', 'table/' + t)}/index/{i}" for t, names in sorted(tables.items()) for i in names]
    log_groups = [arn("logs", f"log-group:/aws/lambda/{name}") for name in sorted(set(function_names))]
    queue, feedback = outputs["SendQueueArn"], outputs["FeedbackQueueArn"]
    statements: list[dict[str, Any]] = [
        _allow("DynamoDbItemsOnThisStagesTables", TABLE_ACTIONS, [arn("dynamodb", f"table/{t}") for t in tables]),
        _allow("DynamoDbQueryOnThisStagesIndexes", ["dynamodb:Query"], indexes),
        _allow("SqsEnqueueToThisStagesSendQueue", ["sqs:SendMessage"], [queue]),
        _allow("SqsEventSourcesReadThisStagesQueues", EVENT_SOURCE_ACTIONS, [queue, feedback]),
        {
            **_allow(
                "SesSendRawEmailFromTheSenderThroughThisStagesConfigurationSet",
                ["ses:SendRawEmail"],
                [arn("ses", f"identity/{identity}") for identity in identities]
                + [arn("ses", f"configuration-set/{outputs['ConfigurationSetName']}")],
            ),
            "Condition": {"StringEquals": {"ses:FromAddress": sender}},
        },
        _allow("ReadThisStagesSecrets", ["secretsmanager:GetSecretValue"], [outputs[k] for k in SECRET_OUTPUTS]),
        _allow(
            "LogsOfThisStagesFunctions",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            log_groups + [f"{group}:*" for group in log_groups],
        ),
        {
            "Sid": "XRayActiveTracingNoResourceLevelPermissions",
            "Effect": "Allow",
            "Action": sorted(NO_RESOURCE_LEVEL_ACTIONS),
            "Resource": "*",
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: Iterable[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}

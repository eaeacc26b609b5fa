"""The Lambda policies grant exactly what the app calls: derived from the calls, not from a hand-written list.

One run drives every route and every job handler of the app in-process against moto (tests/support/iam_driver.py's
``Driver``), recording each botocore call the app makes, PynamoDB's included, and the IAM (action, resource ARN)
pairs that IAM checks for it. Then, for each policy file: every recorded pair is allowed, and every action the
policy grants was recorded, except the few the Lambda service itself calls with the function's role
(``LAMBDA_SERVICE_ACTIONS``). The recorded set is written to test-artifacts/iam-recorded-actions.json.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from devstack import identity
from tests.support.cognito import add_newcomer
from tests.support.iam_driver import Driver
from tests.support.iam_policy import LAMBDA_SERVICE_ACTIONS, allowed, granted_actions, stack_policy
from tests.support.iam_recorder import Recorder
from tests.support.paths import write_artifact
from tests.support.template import RESOURCES


def _table_names() -> set[str]:
    return {
        p["Properties"]["TableName"]["Fn::Sub"].replace("${ResourcePrefix}", "event-feedback")
        for p in RESOURCES.values()
        if p["Type"] == "AWS::DynamoDB::Table"
    }


_RUN: list[Recorder] = []  # one run serves every test of this module (in the same worker)
_OUTPUTS: list[dict[str, str]] = []  # the stack that run drove


def recorded_outputs() -> dict[str, str]:
    return _OUTPUTS[0]


@pytest.fixture
def recorded(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Recorder:
    if _RUN:
        return _RUN[0]
    from chalice.test import Client

    from app import app
    from chalicelib import container

    stack_client = Client(app, stage_name="dev", project_dir=str(tmp_path))
    stack, tokens = (request.getfixturevalue(name) for name in ("stack", "tokens"))
    # As a deployed stage runs: its secrets read from Secrets Manager (the stack's own, named by their ARNs), no
    # value in the environment, and no project config on top (tmp_path has none).
    for role, output in (
        ("PSEUDONYM", "PseudonymSecretArn"),
        ("PANEL", "PanelSecretArn"),
        ("SESSION", "SessionSecretArn"),
    ):
        monkeypatch.delenv(f"EF_{role}_SECRET", raising=False)
        monkeypatch.setenv(f"EF_{role}_SECRET_ARN", stack.outputs[output])
    monkeypatch.setenv("EF_STAGE", "dev")
    container.reset()
    client = stack_client.__enter__()
    request.addfinalizer(lambda: stack_client.__exit__(None, None, None))
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    user = ("iam-dashboard@example.org", identity.new_password())
    identity.ensure_user(idp, stack.outputs["UserPoolId"], *user, "admin")
    recorder = Recorder()
    recorder.install(monkeypatch)
    newcomer = add_newcomer(idp, stack.outputs["UserPoolId"], "iam-newcomer@example.org", "viewer")
    driver = Driver(client, recorder, admin=tokens["admin"], viewer=tokens["viewer"], user=user, newcomer=newcomer)
    driver.run()
    assert not driver.missed(), f"entry points the run never reached: {driver.missed()}"
    needs = recorder.requirements()
    write_artifact(
        "iam-recorded-actions.json",
        {
            "about": "IAM actions the app's own AWS calls need, recorded by tests/integration/test_iam_recorded.py "
            "while it drove every route and job handler in-process against moto",
            "actions": sorted({action for action, _ in needs}),
            "resources_by_action": {
                action: sorted({arn for a, arn in needs if a == action}) for action in sorted({a for a, _ in needs})
            },
            "operations": dict(sorted(recorder.operations().items())),
            "lambda_service_actions": dict(sorted(LAMBDA_SERVICE_ACTIONS.items())),
            "routes_and_handlers": sorted(f"{m} {p}" for m, p in driver.routes) + sorted(driver.handlers),
        },
    )
    _RUN.append(recorder)
    _OUTPUTS.append(dict(stack.outputs))
    return recorder


def test_every_recorded_call_is_allowed_and_every_granted_action_is_used(recorded: Recorder) -> None:
    needs = recorded.requirements()
    assert needs, "nothing was recorded"
    assert not recorded.denied(), recorded.denied()
    used = {action for action, _ in needs}
    problems = []
    for name, policy in (("the generated policy", stack_policy(recorded_outputs())),):
        refused = sorted(
            f"{action} on {arn}" + (f" with {context}" if context else "")
            for action, arn, context in recorded.checks()
            if not allowed(policy, action, arn, context)
        )
        if refused:
            problems.append(f"{name} refuses what the app calls: {refused}")
        unused = sorted(granted_actions(policy) - used - set(LAMBDA_SERVICE_ACTIONS))
        if unused:
            problems.append(f"{name} grants actions the app never calls: {unused}")
        service_only = sorted(set(LAMBDA_SERVICE_ACTIONS) - granted_actions(policy))
        if service_only:
            problems.append(f"{name} lacks what the Lambda service needs: {service_only}")
    assert not problems, "\n".join(problems)


def test_the_run_touches_every_table_of_the_stack(recorded: Recorder) -> None:
    touched = {arn.split(":table/")[1].split("/")[0] for _, arn in recorded.requirements() if ":table/" in arn}
    assert touched == _table_names()


def test_transactions_are_recorded_per_item(recorded: Recorder) -> None:
    ops = recorded.operations()
    assert ops["dynamodb:TransactWriteItems"] > 0 and ops["sqs:SendMessageBatch"] > 0
    actions = {action for action, _ in recorded.requirements()}
    assert "dynamodb:TransactWriteItems" not in actions and "sqs:SendMessageBatch" not in actions
    assert {"dynamodb:ConditionCheckItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "sqs:SendMessage"} <= actions

"""``make deploy`` and ``make destroy`` where real state decides: what a failed or deleted stage left behind, what a
teardown deletes and keeps, which REST API is the stage's, and Chalice's record in SSM. In-process moto holds the
state; where moto's CloudFormation cannot play a fault (a create that rolls back and deletes its stack), a fake at
the same layer as botocore's Stubber answers for CloudFormation only. The refusals and messages that need no
state are in tests/unit/test_deploy_faults.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from deploy import chalice_cli
from deploy.aws import Account
from deploy.deploying import Options, stack_parameters
from deploy.infra import CloudFormationInfra
from deploy.inventory import inventory, rest_apis
from deploy.project import deployed_state_file
from deploy.stage import DeployError, Stage

REGION, ACCOUNT = "us-east-1", DEFAULT_ACCOUNT_ID
SENDER = "surveys@example.org"
DEV, PROD = Stage.named("dev"), Stage.named("prod")
PARAMETERS = stack_parameters(DEV, Options(sender=SENDER), {})


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        yield Account.from_environment(REGION)


def operations(account: Account, service: str) -> list[tuple[str, dict[str, Any]]]:
    """The operations (and their parameters) the account's client for ``service`` is asked to make from now on."""
    made: list[tuple[str, dict[str, Any]]] = []
    account.client(service).meta.events.register(
        "before-parameter-build", lambda model, params, **_: made.append((model.name, dict(params)))
    )
    return made


def retained_of(account: Account, stage: Stage) -> dict[str, list[str]]:
    """What the template retains when its stack goes, as CloudFormation creates it: tables and a pool with
    deletion protection, and the three secrets. Answers their names (tables), ids (pool) and ARNs (secrets)."""
    ddb, idp, sm = (account.client(s) for s in ("dynamodb", "cognito-idp", "secretsmanager"))
    tables = [f"{stage.prefix}-events", f"{stage.prefix}-responses"]
    for table in tables:
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            DeletionProtectionEnabled=True,
        )
    pool = idp.create_user_pool(PoolName=f"{stage.prefix}-admins", DeletionProtection="ACTIVE")["UserPool"]["Id"]
    secrets = [
        sm.create_secret(Name=f"{stage.prefix}/{name}", SecretString="generated")["ARN"]
        for name in ("pseudonym-secret", "panel-secret", "session-secret")
    ]
    return {"dynamodb table": tables, "cognito user pool": [pool], "secretsmanager secret": sorted(secrets)}


def retained_now(account: Account, stage: Stage) -> dict[str, list[str]]:
    return inventory(account, stage, kinds=("dynamodb table", "cognito user pool", "secretsmanager secret"))


# --- a stage that is gone but left its data behind ------------------------------------------------------


def test_no_stack_but_the_stages_retained_data_is_refused_before_anything_is_created(account: Account) -> None:
    left = retained_of(account, DEV)
    prod = retained_of(account, PROD)
    made = operations(account, "cloudformation")
    with pytest.raises(DeployError) as refused:
        CloudFormationInfra(account).deploy(DEV, PARAMETERS)
    message = str(refused.value)
    assert message.startswith("there is no stack event-feedback-dev, but resources of stage dev remain")
    for kind, names in left.items():
        assert f"{kind}: {', '.join(names)}" in message
    assert "make destroy STAGE=dev DATA=delete CONFIRM=event-feedback-dev" in message
    assert "to keep their data, import them into a new stack" in message
    assert not any(name in message for names in prod.values() for name in names)
    assert [name for name, _ in made] == ["DescribeStacks"]  # the stack's own lookup; no create
    assert account.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_another_stages_data_is_not_counted_as_this_stages(account: Account) -> None:
    retained_of(account, PROD)
    retained_of(account, Stage(name="devx", app="event-feedback"))
    assert retained_now(account, DEV) == {}


# --- a first create that fails: CloudFormation rolls back and deletes the stack ----------------------------


class RollingBackCloudFormation:
    """CloudFormation for a stack created with OnFailure=DELETE, answering at the layer botocore's Stubber uses.

    Each CreateStack takes the next outcome: "fail" creates the retained resources ``on_create`` makes (as the
    real stack would before its failure), then rolls back and deletes the stack, which from then on is known
    only by its id, as CloudFormation does: DescribeStacks and DescribeStackEvents by name say it does not
    exist. "succeed" leaves a CREATE_COMPLETE stack with ``outputs``.
    """

    def __init__(self, account: Account, outcomes: list[str], on_create: Any = None) -> None:
        self.outcomes = list(outcomes)
        self.on_create = on_create
        self.stacks: dict[str, dict[str, Any]] = {}  # by id
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.made: list[str] = []
        self.outputs = {"TablePrefix": f"{DEV.prefix}-", "SendQueueName": f"{DEV.prefix}-send"}
        events = account.client("cloudformation").meta.events
        events.register("before-parameter-build.cloudformation", self._keep_parameters)
        events.register("before-call.cloudformation", self._answer)

    @staticmethod
    def _keep_parameters(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = dict(params)  # before-call sees the serialized request only

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        self.made.append(model.name)
        answer = getattr(self, model.name, None)
        if answer is None:
            raise AssertionError(f"CloudFormation was not expected to be asked {model.name}")
        return answer(context["api_params"])

    @staticmethod
    def _ok(body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("", 200, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

    @staticmethod
    def _missing(name: str) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist", "Type": "Sender"}
        return AWSResponse("", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    def _find(self, ref: str) -> dict[str, Any] | None:
        if ref in self.stacks:
            return self.stacks[ref]
        live = [s for s in self.stacks.values() if s["StackName"] == ref and s["StackStatus"] != "DELETE_COMPLETE"]
        return live[0] if live else None

    def DescribeStacks(self, params: dict[str, Any]) -> Any:
        found = self._find(params["StackName"])
        return self._ok({"Stacks": [found]}) if found else self._missing(params["StackName"])

    def DescribeStackEvents(self, params: dict[str, Any]) -> Any:
        found = self._find(params["StackName"])
        if found is None:
            return self._missing(params["StackName"])
        return self._ok({"StackEvents": self.events[found["StackId"]]})

    def CreateStack(self, params: dict[str, Any]) -> Any:
        number = len(self.stacks) + 1
        stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{params['StackName']}/attempt-{number}"
        at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(hours=number)

        def event(logical: str, kind: str, status: str, reason: str, minute: int) -> dict[str, Any]:
            return {
                "StackId": stack_id,
                "EventId": f"{logical}-{status}-{minute}",
                "StackName": params["StackName"],
                "LogicalResourceId": logical,
                "ResourceType": kind,
                "Timestamp": at + timedelta(minutes=minute),
                "ResourceStatus": status,
                "ResourceStatusReason": reason,
            }

        name, stack = params["StackName"], "AWS::CloudFormation::Stack"
        outcome = self.outcomes.pop(0)
        history = [event(name, stack, "CREATE_IN_PROGRESS", "User Initiated", 0)]
        if outcome == "fail":
            if self.on_create:
                self.on_create()
            history += [
                event("EventsTable", "AWS::DynamoDB::Table", "CREATE_COMPLETE", "", 1),
                event(
                    "ConfigurationSet",
                    "AWS::SES::ConfigurationSet",
                    "CREATE_FAILED",
                    'Resource handler returned message: "Configuration set <event-feedback-dev> already exists."',
                    2,
                ),
                event("AdminUserPool", "AWS::Cognito::UserPool", "CREATE_FAILED", "Resource creation cancelled", 3),
                event(
                    name,
                    stack,
                    "DELETE_IN_PROGRESS",
                    "The following resource(s) failed to create: "
                    "[ConfigurationSet, AdminUserPool]. Delete requested by user.",
                    4,
                ),
                event(name, stack, "DELETE_COMPLETE", "", 5),
            ]
            status, outputs = "DELETE_COMPLETE", {}
        else:
            history.append(event(name, stack, "CREATE_COMPLETE", "", 5))
            status, outputs = "CREATE_COMPLETE", self.outputs
        self.events[stack_id] = sorted(history, key=lambda e: e["Timestamp"], reverse=True)
        self.stacks[stack_id] = {
            "StackId": stack_id,
            "StackName": name,
            "CreationTime": at,
            "StackStatus": status,
            "Parameters": params["Parameters"],
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            "Tags": params.get("Tags", []),
        }
        return self._ok({"StackId": stack_id})


def test_a_failed_first_create_quotes_the_first_failure_of_the_rolled_back_stack(account: Account) -> None:
    cfn = RollingBackCloudFormation(account, ["fail"])
    with pytest.raises(DeployError) as failed:
        CloudFormationInfra(account).deploy(DEV, PARAMETERS)
    message = str(failed.value)
    assert message.startswith(
        "stack event-feedback-dev failed: ConfigurationSet CREATE_FAILED: Resource handler returned message: "
        '"Configuration set <event-feedback-dev> already exists."'
    )
    assert "AdminUserPool" not in message
    assert "re-run make deploy STAGE=dev" in message
    assert cfn.made.count("CreateStack") == 1


def test_a_failed_first_create_that_kept_the_stages_data_says_to_delete_it_and_then_the_re_run_creates(
    account: Account,
) -> None:
    cfn = RollingBackCloudFormation(account, ["fail", "succeed"], on_create=lambda: retained_of(account, DEV))
    infra = CloudFormationInfra(account)
    with pytest.raises(DeployError) as failed:
        infra.deploy(DEV, PARAMETERS)
    message = str(failed.value)
    assert "failed: ConfigurationSet CREATE_FAILED" in message
    assert "2 dynamodb tables, 1 cognito user pool, 3 secretsmanager secrets" in message
    assert "make destroy STAGE=dev DATA=delete CONFIRM=event-feedback-dev" in message
    assert message.endswith("fix the cause above and re-run make deploy STAGE=dev")

    # What the message says, in that order: the teardown (no stack, so only the data goes), then the re-run.
    with pytest.raises(DeployError, match="resources of stage dev remain"):
        infra.deploy(DEV, PARAMETERS)
    infra.delete(DEV, data=True)
    assert retained_now(account, DEV) == {}
    assert infra.deploy(DEV, PARAMETERS) == cfn.outputs
    assert cfn.made.count("CreateStack") == 2


# --- make destroy: what it deletes and what it keeps -------------------------------------------------------

TINY_STACK = {
    "Parameters": {"ResourcePrefix": {"Type": "String"}},
    "Resources": {
        "SendQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${ResourcePrefix}-send"}}}
    },
}


def create_stack(account: Account, stage: Stage) -> None:
    account.client("cloudformation").create_stack(
        StackName=stage.stack_name,
        TemplateBody=json.dumps(TINY_STACK),
        Parameters=[{"ParameterKey": "ResourcePrefix", "ParameterValue": stage.prefix}],
    )


def queues(account: Account) -> list[str]:
    return [u.rsplit("/", 1)[-1] for u in account.client("sqs").list_queues().get("QueueUrls", [])]


def test_destroy_without_data_deletes_the_stack_and_keeps_the_tables_pool_and_secrets(account: Account) -> None:
    kept = retained_of(account, DEV)
    create_stack(account, DEV)
    assert queues(account) == ["event-feedback-dev-send"]
    CloudFormationInfra(account).delete(DEV, data=False)
    assert queues(account) == []
    assert "cloudformation stack" not in inventory(account, DEV)
    assert retained_now(account, DEV) == kept


def test_destroy_with_data_also_deletes_the_protected_tables_and_pool_and_the_secrets_for_good(
    account: Account,
) -> None:
    retained_of(account, DEV)
    prod = retained_of(account, PROD)
    create_stack(account, DEV)
    pool_calls = operations(account, "cognito-idp")
    CloudFormationInfra(account).delete(DEV, data=True)

    assert inventory(account, DEV) == {}
    assert retained_now(account, PROD) == prod
    # moto does not enforce a pool's deletion protection (DynamoDB's it does): the order shows it is lifted.
    assert [name for name, _ in pool_calls if name != "ListUserPools"] == [
        "DescribeUserPool",
        "UpdateUserPool",
        "DeleteUserPool",
    ]
    assert [p["DeletionProtection"] for name, p in pool_calls if name == "UpdateUserPool"] == ["INACTIVE"]
    # Deleted without a recovery window, so the next deploy can create the secrets under the same names.
    sm = account.client("secretsmanager")
    listed = sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert sorted(s["Name"] for s in listed) == sorted(
        f"{PROD.prefix}/{n}" for n in ("pseudonym-secret", "panel-secret", "session-secret")
    )
    sm.create_secret(Name=f"{DEV.prefix}/panel-secret", SecretString="new")


def test_destroy_of_a_stage_never_deployed_is_a_no_op(account: Account) -> None:
    prod = retained_of(account, PROD)
    CloudFormationInfra(account).delete(DEV, data=True)
    assert retained_now(account, PROD) == prod


# --- which REST API is the stage's ------------------------------------------------------------------------


def api_calling(account: Account, function: str, path: str = "health") -> str:
    client = account.client("apigateway")
    api = client.create_rest_api(name="event-feedback")["id"]  # Chalice names every stage's API after the app
    root = client.get_resources(restApiId=api)["items"][0]["id"]
    resource = client.create_resource(restApiId=api, parentId=root, pathPart=path)["id"]
    client.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    client.put_integration(
        restApiId=api,
        resourceId=resource,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    return api


def test_a_rest_api_is_the_stages_only_when_it_calls_one_of_the_stages_functions(account: Account) -> None:
    dev = api_calling(account, "event-feedback-dev")
    prod = api_calling(account, "event-feedback-prod")
    api_calling(account, "event-feedback-devx")
    api_calling(account, "event-feedback-dev-unknown")
    account.client("apigateway").create_rest_api(name="event-feedback")  # no integration at all
    assert rest_apis(account, DEV) == [dev]
    assert rest_apis(account, PROD) == [prod]
    assert inventory(account, DEV) == {"api gateway rest api": [dev]}


def test_an_api_calling_another_function_of_the_stage_is_the_stages_too(account: Account) -> None:
    api = api_calling(account, DEV.function_names["sender"])
    assert rest_apis(account, DEV) == [api]


# --- Chalice's record in SSM ------------------------------------------------------------------------------


def write_record(project: Path, size: int) -> dict[str, Any]:
    """A deployed record whose compact JSON (what is stored) is ``size`` bytes."""
    record: dict[str, Any] = {"resources": [{"name": "api_handler", "pad": ""}], "schema_version": "2.0"}
    base = len(json.dumps(record, separators=(",", ":")).encode())
    record["resources"][0]["pad"] = "x" * (size - base)
    path = deployed_state_file(project, DEV)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    assert len(json.dumps(record, separators=(",", ":")).encode()) == size
    return record


def stored_tier(account: Account) -> str:
    found = account.client("ssm").describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [DEV.deployed_state_parameter]}]
    )["Parameters"]
    return str(found[0]["Tier"])


@pytest.mark.parametrize(("size", "tier"), [(4096, "Standard"), (4097, "Advanced")])
def test_the_record_is_kept_in_the_standard_tier_up_to_4096_bytes(
    account: Account, tmp_path: Path, size: int, tier: str
) -> None:
    write_record(tmp_path, size)
    chalice_cli.save_state(account, tmp_path, DEV)
    assert stored_tier(account) == tier


def test_a_record_that_shrinks_stays_advanced_because_ssm_cannot_downgrade_a_parameter(
    account: Account, tmp_path: Path
) -> None:
    write_record(tmp_path, 5000)
    chalice_cli.save_state(account, tmp_path, DEV)
    smaller = write_record(tmp_path, 3000)
    chalice_cli.save_state(account, tmp_path, DEV)  # SSM: "you can't revert an advanced parameter to a standard"
    assert stored_tier(account) == "Advanced"
    clone = tmp_path / "fresh-clone"
    assert chalice_cli.restore_state(account, clone, DEV) is True
    assert json.loads(deployed_state_file(clone, DEV).read_text(encoding="utf-8")) == smaller


def test_a_fresh_clone_restores_the_record_another_clone_saved(account: Account, tmp_path: Path) -> None:
    record = write_record(tmp_path / "first", 2800)
    chalice_cli.save_state(account, tmp_path / "first", DEV)
    clone = tmp_path / "clone"
    assert chalice_cli.restore_state(account, clone, DEV) is True
    assert json.loads(deployed_state_file(clone, DEV).read_text(encoding="utf-8")) == record


def test_no_record_in_the_account_restores_nothing_and_writes_nothing(account: Account, tmp_path: Path) -> None:
    assert chalice_cli.restore_state(account, tmp_path, DEV) is False
    assert list(tmp_path.iterdir()) == []


def test_saving_without_a_record_stores_nothing(account: Account, tmp_path: Path) -> None:
    chalice_cli.save_state(account, tmp_path, DEV)
    assert account.client("ssm").describe_parameters()["Parameters"] == []


# --- adopting what an unfinished deploy created -----------------------------------------------------------


def test_with_nothing_left_by_an_unfinished_deploy_nothing_is_adopted_or_written(
    account: Account, tmp_path: Path
) -> None:
    api_calling(account, "event-feedback-prod")
    assert chalice_cli.adopt_orphans(account, tmp_path, DEV, f"{DEV.prefix}-send") == []
    assert not deployed_state_file(tmp_path, DEV).exists()
    assert list(tmp_path.iterdir()) == []


def test_an_unrecorded_rest_api_of_the_stage_is_adopted_into_the_record(account: Account, tmp_path: Path) -> None:
    api = api_calling(account, "event-feedback-dev")
    assert chalice_cli.adopt_orphans(account, tmp_path, DEV, f"{DEV.prefix}-send") == [f"REST API {api}"]
    record = json.loads(deployed_state_file(tmp_path, DEV).read_text(encoding="utf-8"))
    assert record["resources"] == [
        {
            "name": "rest_api",
            "resource_type": "rest_api",
            "rest_api_id": api,
            "rest_api_url": f"https://{api}.execute-api.{REGION}.amazonaws.com/api/",
        }
    ]


def test_two_rest_apis_calling_the_stages_function_are_refused_naming_both(account: Account, tmp_path: Path) -> None:
    first, second = api_calling(account, "event-feedback-dev"), api_calling(account, "event-feedback-dev", "s")
    with pytest.raises(DeployError) as refused:
        chalice_cli.adopt_orphans(account, tmp_path, DEV, f"{DEV.prefix}-send")
    message = str(refused.value)
    assert message.startswith("2 REST APIs call event-feedback-dev (")
    assert first in message and second in message
    assert "aws apigateway delete-rest-api --rest-api-id" in message and message.endswith("then re-run")
    assert not deployed_state_file(tmp_path, DEV).exists()

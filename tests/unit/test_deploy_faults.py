"""``make deploy`` and ``make destroy`` on bad input and faults: each refusal says what happened and what to do, and
nothing is created after one.

AWS is played by botocore's Stubber in front of real clients (moto never throttles, never expires a token and
cannot answer every CloudFormation status). Every session made here refuses to send a request, so a call that no
stub answers fails the test instead of reaching an endpoint. What needs real state (leftover resources, SSM, API
Gateway integrations) is in tests/integration/test_deploy_tool.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.credentials import CredentialResolver
from botocore.stub import ANY, Stubber

from deploy import chalice_cli, deploying
from deploy.__main__ import main
from deploy.artifacts import _match
from deploy.aws import Account
from deploy.checks import foreign_grants
from deploy.deploying import Options, deploy, stack_parameters
from deploy.infra import CloudFormationInfra
from deploy.inventory import _mine
from deploy.policy import lambda_policy
from deploy.preflight import check_ses
from deploy.stage import ROOT, DeployError, Stage

REGION, ACCOUNT = "eu-west-1", "123456789012"
SENDER = "surveys@example.org"
DOMAIN = "example.org"
DEV = Stage.named("dev")
NAME = DEV.stack_name
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{NAME}/6d2c4a10-0b1e-11f0-9a1f-0a1b2c3d4e5f"
CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# --- an account whose every request is answered by a stub, or fails the test ------------------------------


def _no_request(request: Any, **_: Any) -> None:
    raise AssertionError(f"a unit test tried to send {request.method} {request.url}: stub that call")


def offline_session(botocore_session: Any = None) -> boto3.session.Session:
    session = boto3.session.Session(region_name=REGION, botocore_session=botocore_session)
    session.events.register("before-send", _no_request)
    return session


@pytest.fixture
def account() -> Account:
    return Account(region=REGION, session=offline_session())


@pytest.fixture
def stub(account: Account) -> Iterator[Callable[[str], Stubber]]:
    """``stub("sts")``: the Stubber in front of the account's client for that service (activated once)."""
    active: dict[str, Stubber] = {}

    def stubber(service: str) -> Stubber:
        if service not in active:
            active[service] = Stubber(account.client(service))
            active[service].activate()
        return active[service]

    yield stubber
    for each in active.values():
        each.deactivate()


def operations(account: Account, service: str) -> list[str]:
    """The operations the account's client for ``service`` is asked to make from now on, in order."""
    made: list[str] = []
    account.client(service).meta.events.register("before-parameter-build", lambda model, **_: made.append(model.name))
    return made


def answer_identity(stub: Callable[[str], Stubber]) -> None:
    stub("sts").add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLEOPS", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ops"},
        {},
    )


def answer_ses(
    stub: Callable[[str], Stubber], statuses: dict[str, str], daily_quota: float = 50000.0, rate: float = 14.0
) -> None:
    stub("ses").add_response(
        "get_identity_verification_attributes",
        {"VerificationAttributes": {i: {"VerificationStatus": s} for i, s in statuses.items()}},
        {"Identities": [SENDER, DOMAIN]},
    )
    stub("ses").add_response(
        "get_send_quota", {"Max24HourSend": daily_quota, "MaxSendRate": rate, "SentLast24Hours": 0.0}, {}
    )


def stack_outputs(prefix: str = DEV.prefix, sender: str = SENDER) -> dict[str, str]:
    """The outputs of infra/template.json as CloudFormation answers them for a stage."""

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"

    queue_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{prefix}-send"
    return {
        "TablePrefix": f"{prefix}-",
        "SendQueueUrl": queue_url,
        "SendQueueArn": arn("sqs", f"{prefix}-send"),
        "SendQueueName": f"{prefix}-send",
        "DeadLetterQueueUrl": f"{queue_url}-dlq",
        "FeedbackTopicArn": arn("sns", f"{prefix}-ses-feedback"),
        "FeedbackTopicName": f"{prefix}-ses-feedback",
        "FeedbackQueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{prefix}-ses-feedback",
        "FeedbackQueueArn": arn("sqs", f"{prefix}-ses-feedback"),
        "FeedbackQueueName": f"{prefix}-ses-feedback",
        "FeedbackDeadLetterQueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{prefix}-ses-feedback-dlq",
        "ConfigurationSetName": prefix,
        "UserPoolId": f"{REGION}_AbCdEfGhI",
        "UserPoolClientId": "4f1c2d3e4f5a6b7c8d9e0f1a2b",
        "AlarmTopicArn": arn("sns", f"{prefix}-alarms"),
        "ResourcePrefix": prefix,
        "SenderAddress": sender,
        "PublicBaseUrl": "",
        "PseudonymSecretArn": arn("secretsmanager", f"secret:{prefix}/pseudonym-secret-AbCdEf"),
        "PanelSecretArn": arn("secretsmanager", f"secret:{prefix}/panel-secret-GhIjKl"),
        "SessionSecretArn": arn("secretsmanager", f"secret:{prefix}/session-secret-MnOpQr"),
    }


# --- 1. stages: which may deploy, and what each is called -------------------------------------------------


@pytest.mark.parametrize("name", ["local", "test"])
def test_a_local_only_stage_is_refused_because_it_runs_only_against_the_embedded_aws(name: str) -> None:
    with pytest.raises(DeployError) as refused:
        Stage.named(name)
    message = str(refused.value)
    assert f"stage {name!r} runs only against the embedded AWS" in message
    assert "secrets are built in and public" in message
    assert message.endswith("deploy one of: dev, prod")


@pytest.mark.parametrize("name", ["staging", "Dev", "dev "])
def test_an_unknown_stage_is_refused_naming_the_stages_that_exist(name: str) -> None:
    with pytest.raises(DeployError) as refused:
        Stage.named(name)
    assert str(refused.value) == f"unknown stage {name!r}: .chalice/config.json defines dev, prod"


def test_every_name_of_a_stage_derives_from_its_prefix() -> None:
    dev, prod = Stage.named("dev"), Stage.named("prod")
    assert (dev.prefix, dev.stack_name) == ("event-feedback-dev", "event-feedback-dev")
    assert dev.deployed_state_parameter == "/event-feedback-dev/chalice-deployed"
    assert prod.prefix == prod.stack_name == "event-feedback-prod"
    assert (dev.log_retention_days, prod.log_retention_days) == (30, 365)


def test_the_api_function_is_named_after_the_stage_and_every_other_function_after_its_handler() -> None:
    names = DEV.function_names
    assert names["api_handler"] == "event-feedback-dev"
    assert {"sender", "schedule", "ses_feedback", "cognito_jwt"} <= set(names)
    assert {k: v for k, v in names.items() if k != "api_handler"} == {
        handler: f"event-feedback-dev-{handler}" for handler in names if handler != "api_handler"
    }
    assert Stage.named("prod").function_names["sender"] == "event-feedback-prod-sender"


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails any AWS session (boto3's or botocore's) made from now on, and records that it was tried."""
    tried: list[str] = []

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        tried.append(type(self).__module__)
        raise AssertionError("a refused command must not open an AWS session")

    monkeypatch.setattr(boto3.session.Session, "__init__", refuse)
    monkeypatch.setattr(botocore.session.Session, "__init__", refuse)
    return tried


@pytest.mark.parametrize("name", ["local", "test"])
def test_make_deploy_of_a_local_stage_exits_2_with_the_reason_and_makes_no_aws_call(
    name: str, no_aws: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--stage", name, "--region", REGION]) == 2
    out, err = capsys.readouterr()
    assert f"make deploy stopped: stage {name!r} runs only against the embedded AWS" in err
    assert out == ""
    assert no_aws == []


def test_make_deploy_of_an_unknown_stage_exits_2_naming_the_valid_ones(
    no_aws: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--stage", "staging"]) == 2
    assert "unknown stage 'staging': .chalice/config.json defines dev, prod" in capsys.readouterr().err
    assert no_aws == []


def test_python_m_deploy_itself_exits_2_for_a_local_stage() -> None:
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "deploy", "deploy", "--stage", "local"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "stage 'local' runs only against the embedded AWS" in done.stderr
    assert done.stdout == ""


# --- 10. make destroy needs the stage's prefix as confirmation --------------------------------------------


@pytest.mark.parametrize("confirm", [[], ["--confirm", ""], ["--confirm", "event-feedback-prod"], ["--confirm", "dev"]])
def test_make_destroy_without_the_stages_prefix_as_confirmation_exits_2_before_any_aws_call(
    confirm: list[str], no_aws: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["destroy", "--stage", "dev", "--delete-data", *confirm]) == 2
    err = capsys.readouterr().err
    assert "make deploy stopped: to tear down stage dev, confirm with CONFIRM=event-feedback-dev" in err
    assert no_aws == []


def test_make_destroy_of_a_local_stage_is_refused_even_when_confirmed(
    no_aws: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["destroy", "--stage", "local", "--confirm", "event-feedback-local"]) == 2
    assert "runs only against the embedded AWS" in capsys.readouterr().err
    assert no_aws == []


# --- 2. credentials and region ----------------------------------------------------------------------------


def test_no_credentials_at_all_says_how_to_provide_them() -> None:
    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver(providers=[]))
    account = Account(region=REGION, session=offline_session(core))
    with pytest.raises(DeployError) as refused:
        account.identity()
    message = str(refused.value)
    assert message.startswith("no AWS credentials found: export AWS_PROFILE (aws sso login) or AWS_ACCESS_KEY_ID")
    assert message.endswith("for the account to deploy into, then re-run")


@pytest.mark.parametrize(
    ("code", "reply", "advice"),
    [
        ("InvalidClientTokenId", "The security token included in the request is invalid.", "not valid in this account"),
        ("SignatureDoesNotMatch", "The request signature we calculated does not match.", "secret access key does not"),
        ("ExpiredToken", "The security token included in the request is expired", "aws sso login, or refresh"),
    ],
)
def test_wrong_or_expired_credentials_are_named_with_the_fix(
    account: Account, stub: Callable[[str], Stubber], code: str, reply: str, advice: str
) -> None:
    stub("sts").add_client_error("get_caller_identity", code, reply, 403)
    with pytest.raises(DeployError) as refused:
        account.identity()
    message = str(refused.value)
    assert message.startswith("check the AWS credentials: ")
    assert advice in message
    assert f"({code}: {reply})" in message


def test_the_identity_is_asked_once(account: Account, stub: Callable[[str], Stubber]) -> None:
    answer_identity(stub)
    assert (account.id, account.partition) == (ACCOUNT, "aws")
    assert account.identity()["Account"] == ACCOUNT
    stub("sts").assert_no_pending_responses()


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_config")
def test_no_region_says_how_to_set_one() -> None:
    with pytest.raises(DeployError) as refused:
        Account.from_environment()
    assert str(refused.value) == "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass REGION=eu-west-1"


@pytest.mark.usefixtures("no_aws_config")
def test_a_region_passed_on_the_command_line_is_enough() -> None:
    assert Account.from_environment("eu-central-1").region == "eu-central-1"


@pytest.mark.usefixtures("no_aws_config")
def test_a_profile_that_does_not_exist_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "event-feedback-ops")
    with pytest.raises(DeployError) as refused:
        Account.from_environment(REGION)
    assert str(refused.value).startswith("the AWS configuration cannot be read: ")
    assert "event-feedback-ops" in str(refused.value)


# --- 3. SES: the sender must be verified in the region ----------------------------------------------------


def test_a_sender_verified_nowhere_in_the_region_is_refused_with_the_steps_to_verify_it(
    account: Account, stub: Callable[[str], Stubber]
) -> None:
    answer_ses(stub, {})
    with pytest.raises(DeployError) as refused:
        check_ses(account, SENDER)
    message = str(refused.value)
    assert message.startswith(f"SES in {REGION} has no verified identity for {SENDER}.")
    assert f"Verify the domain {DOMAIN}" in message
    assert f"aws sesv2 create-email-identity --email-identity {DOMAIN} --region {REGION}" in message
    assert message.endswith("wait for 'Verified', then re-run")
    assert "pending" not in message


@pytest.mark.parametrize("pending", [DOMAIN, SENDER])
def test_an_identity_still_pending_is_said_to_be_pending(
    account: Account, stub: Callable[[str], Stubber], pending: str
) -> None:
    answer_ses(stub, {pending: "Pending"})
    with pytest.raises(DeployError) as refused:
        check_ses(account, SENDER)
    assert f"({pending} is still pending)" in str(refused.value)


def test_a_failed_verification_is_no_verification(account: Account, stub: Callable[[str], Stubber]) -> None:
    answer_ses(stub, {DOMAIN: "Failed", SENDER: "TemporaryFailure"})
    with pytest.raises(DeployError) as refused:
        check_ses(account, SENDER)
    assert "has no verified identity" in str(refused.value)


@pytest.mark.parametrize(
    ("statuses", "identities"),
    [
        ({DOMAIN: "Success"}, [DOMAIN]),
        ({SENDER: "Success", DOMAIN: "Pending"}, [SENDER]),
        ({SENDER: "Success", DOMAIN: "Success"}, [SENDER, DOMAIN]),
    ],
)
def test_the_sender_sends_through_the_identities_that_are_verified(
    account: Account, stub: Callable[[str], Stubber], statuses: dict[str, str], identities: list[str]
) -> None:
    answer_ses(stub, statuses)
    ready = check_ses(account, SENDER)
    assert ready.identities == identities
    assert (ready.sandbox, ready.max_send_rate) == (False, 14.0)


@pytest.mark.parametrize(("quota", "sandbox"), [(200.0, True), (50000.0, False)])
def test_the_sandbox_is_told_by_its_daily_quota(
    account: Account, stub: Callable[[str], Stubber], quota: float, sandbox: bool
) -> None:
    answer_ses(stub, {DOMAIN: "Success"}, daily_quota=quota, rate=1.0)
    assert check_ses(account, SENDER).sandbox is sandbox


def test_ses_refusing_the_deploy_role_says_which_permission_is_missing(
    account: Account, stub: Callable[[str], Stubber]
) -> None:
    stub("ses").add_client_error(
        "get_identity_verification_attributes", "AccessDenied", "not authorized to perform ses:GetIdentity...", 403
    )
    with pytest.raises(DeployError) as refused:
        check_ses(account, SENDER)
    assert str(refused.value).startswith(
        f"checking SES in {REGION}: the credentials lack a permission the deploy needs"
    )


# --- 4. the stack's parameters: given now, else remembered by the stack -----------------------------------


def test_the_first_deploy_without_a_sender_says_to_pass_sender() -> None:
    with pytest.raises(DeployError) as refused:
        stack_parameters(DEV, Options(), {})
    message = str(refused.value)
    assert "the first deploy of stage dev needs the sender address" in message
    assert "make deploy STAGE=dev SENDER=" in message


PREVIOUS = {
    "ResourcePrefix": "event-feedback-dev",
    "SenderAddress": SENDER,
    "PublicBaseUrl": "https://surveys.example.org",
    "AlarmEmail": "ops@example.org",
    "SenderFunctionName": "event-feedback-dev-sender",
}


def test_a_re_run_without_options_deploys_with_what_the_stack_remembers() -> None:
    assert stack_parameters(DEV, Options(), PREVIOUS) == PREVIOUS


def test_options_given_now_win_over_the_remembered_ones() -> None:
    chosen = Options(sender="feedback@example.net", public_base_url="https://fb.example.net/", alarm_email="")
    assert stack_parameters(DEV, chosen, PREVIOUS) == {
        **PREVIOUS,
        "SenderAddress": "feedback@example.net",
        "PublicBaseUrl": "https://fb.example.net",
        "AlarmEmail": "",
    }


def test_the_prefix_and_the_sender_function_are_always_the_stages_own() -> None:
    other = {**PREVIOUS, "ResourcePrefix": "event-feedback", "SenderFunctionName": "event-feedback-sender"}
    parameters = stack_parameters(DEV, Options(), other)
    assert parameters["ResourcePrefix"] == "event-feedback-dev"
    assert parameters["SenderFunctionName"] == "event-feedback-dev-sender"
    prod = stack_parameters(Stage.named("prod"), Options(sender=SENDER), {})
    assert (prod["ResourcePrefix"], prod["SenderFunctionName"]) == ("event-feedback-prod", "event-feedback-prod-sender")
    assert (prod["PublicBaseUrl"], prod["AlarmEmail"]) == ("", "")


# --- deploy(): each refusal comes before anything is created ----------------------------------------------


@dataclass
class RecordingInfra:
    """The infra step as the deploy sees it: remembered parameters in, outputs out, and what it was asked."""

    previous: dict[str, str] = field(default_factory=dict)
    deployed_with: list[dict[str, str]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def previous_parameters(self, stage: Stage) -> dict[str, str]:
        self.asked.append("previous_parameters")
        return dict(self.previous)

    def deploy(self, stage: Stage, parameters: Any) -> dict[str, str]:
        self.asked.append("deploy")
        self.deployed_with.append(dict(parameters))
        return stack_outputs(stage.prefix, parameters["SenderAddress"])

    def outputs(self, stage: Stage) -> dict[str, str] | None:
        raise AssertionError("not asked by deploy()")

    def delete(self, stage: Stage, *, data: bool) -> None:
        raise AssertionError("not asked by deploy()")


@pytest.fixture
def chalice_step(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Step 3 (the real chalice deploy) stands aside: the rehearsal and tests/e2e run it. Records its policy."""
    ran: list[dict[str, Any]] = []

    def chalice_deploy(stage: Stage, account: Account, outputs: Any, policy: Any, project: Any, say: Any) -> Any:
        ran.append(policy)
        url = f"https://abc123.execute-api.{REGION}.amazonaws.com/api"
        return tmp_path, {"resources": []}, url, url

    monkeypatch.setattr(deploying, "_chalice_deploy", chalice_deploy)
    return ran


def test_expired_credentials_stop_the_deploy_before_the_stack_is_even_read(
    account: Account, stub: Callable[[str], Stubber], chalice_step: list[Any]
) -> None:
    stub("sts").add_client_error("get_caller_identity", "ExpiredToken", "The security token is expired", 403)
    infra = RecordingInfra()
    with pytest.raises(DeployError, match="aws sso login"):
        deploy(DEV, account, infra, Options(sender=SENDER), say=lambda _: None)
    assert infra.asked == []
    assert chalice_step == []


def test_a_first_deploy_without_a_sender_creates_nothing_and_asks_ses_nothing(
    account: Account, stub: Callable[[str], Stubber], chalice_step: list[Any]
) -> None:
    answer_identity(stub)
    asked_ses = operations(account, "ses")
    infra = RecordingInfra()
    with pytest.raises(DeployError, match="SENDER="):
        deploy(DEV, account, infra, Options(), say=lambda _: None)
    assert infra.asked == ["previous_parameters"]
    assert asked_ses == []
    assert chalice_step == []


def test_an_unverified_sender_creates_nothing(
    account: Account, stub: Callable[[str], Stubber], chalice_step: list[Any]
) -> None:
    answer_identity(stub)
    answer_ses(stub, {DOMAIN: "Pending"})
    infra = RecordingInfra()
    with pytest.raises(DeployError, match="still pending"):
        deploy(DEV, account, infra, Options(sender=SENDER), say=lambda _: None)
    assert "deploy" not in infra.asked
    assert chalice_step == []


def test_a_sandboxed_region_deploys_with_a_note_on_leaving_the_sandbox(
    account: Account, stub: Callable[[str], Stubber], chalice_step: list[Any]
) -> None:
    answer_identity(stub)
    answer_ses(stub, {DOMAIN: "Success"}, daily_quota=200.0, rate=1.0)
    lines: list[str] = []
    deployed = deploy(DEV, account, RecordingInfra(previous=PREVIOUS), Options(), say=lines.append)
    assert len(deployed.notes) == 1
    note = deployed.notes[0]
    assert f"SES is in the sandbox in {REGION}" in note and "at most 200 a day" in note
    assert "Request production access" in note and "Leaving the SES sandbox" in note
    assert lines[0] == f"Deploying stage dev as event-feedback-dev into account {ACCOUNT}, {REGION}"


def test_a_deploy_out_of_the_sandbox_has_no_note_and_grants_only_the_verified_identity(
    account: Account, stub: Callable[[str], Stubber], chalice_step: list[Any]
) -> None:
    answer_identity(stub)
    answer_ses(stub, {DOMAIN: "Success"})
    infra = RecordingInfra()
    deployed = deploy(DEV, account, infra, Options(sender=SENDER), say=lambda _: None)
    assert deployed.notes == []
    assert infra.deployed_with == [{**PREVIOUS, "PublicBaseUrl": "", "AlarmEmail": ""}]
    (policy,) = chalice_step
    ses = [s for s in policy["Statement"] if s["Action"] == ["ses:SendRawEmail"]]
    assert [r for r in ses[0]["Resource"] if ":identity/" in r] == [f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{DOMAIN}"]


# --- 5. the infra stack (CloudFormation) ------------------------------------------------------------------


def stack(status: str, prefix: str = DEV.prefix, outputs: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "StackId": STACK_ID,
        "StackName": NAME,
        "CreationTime": CREATED,
        "StackStatus": status,
        "Parameters": [
            {"ParameterKey": "ResourcePrefix", "ParameterValue": prefix},
            {"ParameterKey": "SenderAddress", "ParameterValue": SENDER},
        ],
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
        "Tags": [{"Key": "event-feedback:stage", "Value": "dev"}],
    }


def answer_stack(stub: Callable[[str], Stubber], found: dict[str, Any]) -> None:
    stub("cloudformation").add_response("describe_stacks", {"Stacks": [found]}, {"StackName": NAME})


def event(
    logical: str, status: str, reason: str = "", minute: int = 0, kind: str = "AWS::SQS::Queue"
) -> dict[str, Any]:
    if logical == NAME:
        kind = "AWS::CloudFormation::Stack"
    return {
        "StackId": STACK_ID,
        "EventId": f"{logical}-{status}-{minute}",
        "StackName": NAME,
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "Timestamp": CREATED + timedelta(minutes=minute),
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
    }


def newest_first(*events: dict[str, Any]) -> list[dict[str, Any]]:
    """CloudFormation lists a stack's events newest first."""
    return sorted(events, key=lambda e: e["Timestamp"], reverse=True)


PARAMETERS = stack_parameters(DEV, Options(sender=SENDER), {})


@pytest.mark.parametrize("action", ["deploy", "delete"])
def test_a_stack_of_that_name_with_another_prefix_is_refused_naming_both_and_left_alone(
    account: Account, stub: Callable[[str], Stubber], action: str
) -> None:
    answer_stack(stub, stack("UPDATE_COMPLETE", prefix="event-feedback"))
    made = operations(account, "cloudformation")
    infra = CloudFormationInfra(account)
    with pytest.raises(DeployError) as refused:
        if action == "deploy":
            infra.deploy(DEV, PARAMETERS)
        else:
            infra.delete(DEV, data=True)
    message = str(refused.value)
    assert "stack event-feedback-dev already exists with ResourcePrefix 'event-feedback', not 'event-feedback-dev'" in (
        message
    )
    assert "Delete or rename that stack, or deploy into another account" in message
    assert made == ["DescribeStacks"]


def test_a_stack_with_no_changes_is_a_success_and_answers_its_outputs(
    account: Account, stub: Callable[[str], Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = stack_outputs()
    answer_stack(stub, stack("UPDATE_COMPLETE", outputs=outputs))
    stub("cloudformation").add_client_error(
        "update_stack",
        "ValidationError",
        "No updates are to be performed.",
        400,
        expected_params={
            "StackName": NAME,
            "TemplateBody": ANY,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(PARAMETERS.items())],
            "Tags": [{"Key": "event-feedback:stage", "Value": "dev"}],
        },
    )
    answer_stack(stub, stack("UPDATE_COMPLETE", outputs=outputs))
    made = operations(account, "cloudformation")
    assert CloudFormationInfra(account).deploy(DEV, PARAMETERS) == outputs
    assert made == ["DescribeStacks", "UpdateStack", "DescribeStacks"]
    assert "stack event-feedback-dev is up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("status", "command"),
    [
        ("ROLLBACK_COMPLETE", "aws cloudformation delete-stack --stack-name event-feedback-dev"),
        ("UPDATE_ROLLBACK_FAILED", "aws cloudformation continue-update-rollback --stack-name event-feedback-dev"),
    ],
)
def test_a_stack_that_cannot_be_updated_gets_the_exact_command_that_repairs_it(
    account: Account, stub: Callable[[str], Stubber], status: str, command: str
) -> None:
    answer_stack(stub, stack(status))
    made = operations(account, "cloudformation")
    with pytest.raises(DeployError) as refused:
        CloudFormationInfra(account).deploy(DEV, PARAMETERS)
    message = str(refused.value)
    assert f"stack event-feedback-dev is {status}" in message
    assert command in message
    assert message.endswith("re-run")
    assert made == ["DescribeStacks"]


def test_a_stack_busy_with_another_update_is_waited_for_then_updated(
    account: Account, stub: Callable[[str], Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("deploy.infra.time.sleep", slept.append)
    outputs = stack_outputs()
    answer_stack(stub, stack("UPDATE_IN_PROGRESS"))
    answer_stack(stub, stack("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"))
    answer_stack(stub, stack("UPDATE_COMPLETE"))
    stub("cloudformation").add_response("update_stack", {"StackId": STACK_ID})
    answer_stack(stub, stack("UPDATE_COMPLETE", outputs=outputs))  # the waiter
    answer_stack(stub, stack("UPDATE_COMPLETE", outputs=outputs))  # the outputs
    assert CloudFormationInfra(account).deploy(DEV, PARAMETERS) == outputs
    assert slept == [15, 15]
    stub("cloudformation").assert_no_pending_responses()


def fail_update(stub: Callable[[str], Stubber], events_pages: list[list[dict[str, Any]]]) -> None:
    answer_stack(stub, stack("UPDATE_COMPLETE"))
    stub("cloudformation").add_response("update_stack", {"StackId": STACK_ID})
    answer_stack(stub, stack("UPDATE_ROLLBACK_COMPLETE"))  # the waiter's first look: a failure
    for number, page in enumerate(events_pages):
        more = {"NextToken": f"page-{number + 2}"} if number + 1 < len(events_pages) else {}
        token = {"NextToken": f"page-{number + 1}"} if number else {}
        stub("cloudformation").add_response(
            "describe_stack_events", {"StackEvents": page, **more}, {"StackName": ANY, **token}
        )


THIS_UPDATE = [
    event(NAME, "UPDATE_IN_PROGRESS", "User Initiated", minute=60),
    event("SendQueue", "UPDATE_IN_PROGRESS", minute=61),
    event(
        "SendQueue",
        "UPDATE_FAILED",
        'Resource handler returned message: "Invalid value for the parameter VisibilityTimeout"',
        minute=62,
    ),
    event("BounceRateAlarm", "UPDATE_FAILED", "Resource update cancelled", minute=63, kind="AWS::CloudWatch::Alarm"),
    event(NAME, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [SendQueue].", minute=64),
    event("SendQueue", "UPDATE_COMPLETE", minute=65),
    event(NAME, "UPDATE_ROLLBACK_COMPLETE", minute=66),
]


def test_a_failed_update_quotes_the_resource_that_failed_first_and_says_a_re_run_resumes(
    account: Account, stub: Callable[[str], Stubber]
) -> None:
    fail_update(stub, [newest_first(*THIS_UPDATE)])
    with pytest.raises(DeployError) as failed:
        CloudFormationInfra(account).deploy(DEV, PARAMETERS)
    message = str(failed.value)
    assert message.startswith(
        'stack event-feedback-dev failed: SendQueue UPDATE_FAILED: Resource handler returned message: "Invalid value'
    )
    assert "Fix that and re-run make deploy STAGE=dev: it resumes from what exists" in message
    assert "BounceRateAlarm" not in message


def test_a_failed_update_quotes_this_updates_failure_not_an_earlier_ones(
    account: Account, stub: Callable[[str], Stubber]
) -> None:
    earlier = [
        event(NAME, "UPDATE_IN_PROGRESS", "User Initiated", minute=1),
        event(
            "AdminUserPool", "UPDATE_FAILED", "an earlier, repaired failure", minute=2, kind="AWS::Cognito::UserPool"
        ),
        event(NAME, "UPDATE_ROLLBACK_COMPLETE", minute=3),
    ]
    fail_update(stub, [newest_first(*THIS_UPDATE, *earlier)])
    with pytest.raises(DeployError) as failed:
        CloudFormationInfra(account).deploy(DEV, PARAMETERS)
    assert "failed: SendQueue UPDATE_FAILED" in str(failed.value)
    assert "earlier, repaired" not in str(failed.value)


def test_a_failed_update_finds_its_first_failure_on_a_later_page_of_events(
    account: Account, stub: Callable[[str], Stubber]
) -> None:
    events = newest_first(*THIS_UPDATE)
    fail_update(stub, [events[:4], events[4:]])  # the cancelled alarm on the first page, the cause on the second
    with pytest.raises(DeployError) as failed:
        CloudFormationInfra(account).deploy(DEV, PARAMETERS)
    assert "failed: SendQueue UPDATE_FAILED" in str(failed.value)
    assert "BounceRateAlarm" not in str(failed.value)


def test_a_stack_without_a_failed_event_sends_ops_to_its_events(
    account: Account, stub: Callable[[str], Stubber]
) -> None:
    answer_stack(stub, stack("UPDATE_COMPLETE"))
    stub("cloudformation").add_response("update_stack", {"StackId": STACK_ID})
    answer_stack(stub, stack("UPDATE_ROLLBACK_COMPLETE"))
    stub("cloudformation").add_client_error("describe_stack_events", "Throttling", "Rate exceeded", 400)
    with pytest.raises(DeployError) as failed:
        CloudFormationInfra(account).deploy(DEV, PARAMETERS)
    assert str(failed.value).startswith("stack event-feedback-dev failed: see the stack's events. Fix that and re-run")


def test_outputs_of_a_stack_that_never_completed_are_none(account: Account, stub: Callable[[str], Stubber]) -> None:
    for status in ("CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"):
        answer_stack(stub, stack(status, outputs=stack_outputs()))
        assert CloudFormationInfra(account).outputs(DEV) is None, status
    stub("cloudformation").add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {NAME} does not exist", 400
    )
    assert CloudFormationInfra(account).outputs(DEV) is None


@pytest.mark.parametrize(
    "command",
    [
        ["user", "--stage", "dev", "--email", "someone@example.org", "--role", "admin"],
        ["revoke", "--stage", "dev", "--email", "someone@example.org"],
    ],
    ids=["make user", "make revoke"],
)
def test_make_user_or_revoke_on_a_stage_never_deployed_says_to_deploy_it_first(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    account = Account(region=REGION, session=offline_session())
    with Stubber(account.client("cloudformation")) as cfn:
        cfn.add_client_error("describe_stacks", "ValidationError", f"Stack with id {NAME} does not exist", 400)
        monkeypatch.setattr(Account, "from_environment", classmethod(lambda cls, region=None: account))
        assert main(command) == 2
    assert "stage dev is not deployed here: make deploy STAGE=dev first" in capsys.readouterr().err


# --- 6. the chalice CLI -----------------------------------------------------------------------------------


def fake_chalice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    script = tmp_path / "chalice"
    script.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setattr(chalice_cli, "chalice_executable", lambda: str(script))
    return script


def test_a_failing_chalice_deploy_shows_its_last_lines_and_says_a_re_run_resumes(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_chalice(
        tmp_path,
        monkeypatch,
        'for i in $(seq 1 40); do echo "step $i"; done\n'
        'echo "botocore.errorfactory.TooManyRequestsException: Rate exceeded" >&2\nexit 1\n',
    )
    with pytest.raises(DeployError) as failed:
        chalice_cli.run("deploy", tmp_path, DEV, account, {})
    lines = str(failed.value).splitlines()
    assert lines[0] == "chalice deploy --stage dev failed (exit 1):"
    assert lines[1:15] == [f"step {i}" for i in range(27, 41)]
    assert lines[15] == "botocore.errorfactory.TooManyRequestsException: Rate exceeded"
    assert lines[16] == "Fix the cause above and re-run: make deploy STAGE=dev resumes from what exists"


def test_chalice_runs_in_the_accounts_region_and_never_against_a_leftover_endpoint(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen"
    fake_chalice(
        tmp_path,
        monkeypatch,
        f'echo "$@" > {seen}\nenv | grep -E "^AWS_(REGION|DEFAULT_REGION|ENDPOINT_URL)=" '
        f"| sort >> {seen}\necho EF_SEND_QUEUE_NAME=$EF_SEND_QUEUE_NAME >> {seen}\n",
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")  # left over from make run
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    (tmp_path / "project").mkdir()
    chalice_cli.run("deploy", tmp_path / "project", DEV, account, {"EF_SEND_QUEUE_NAME": "event-feedback-dev-send"})
    assert seen.read_text(encoding="utf-8").splitlines() == [
        f"--project-dir {tmp_path / 'project'} deploy --stage dev",
        f"AWS_DEFAULT_REGION={REGION}",
        f"AWS_REGION={REGION}",
        "EF_SEND_QUEUE_NAME=event-feedback-dev-send",
    ]


def test_a_chalice_run_that_hangs_is_stopped_with_advice_to_re_run(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_chalice(tmp_path, monkeypatch, "exec sleep 30\n")
    monkeypatch.setattr(chalice_cli, "TIMEOUT_SECONDS", 1)
    with pytest.raises(DeployError) as failed:
        chalice_cli.run("deploy", tmp_path, DEV, account, {})
    assert str(failed.value) == "chalice deploy took over 1 s; re-run to resume"


def test_without_the_chalice_cli_the_message_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    monkeypatch.setattr("deploy.chalice_cli.shutil.which", lambda name: None)
    with pytest.raises(DeployError, match="the chalice CLI is not installed: run make venv"):
        chalice_cli.chalice_executable()


# --- 7. which resources are a stage's -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["event-feedback-dev", "event-feedback-dev-events", "event-feedback-dev/panel-secret", "event-feedback-dev_x"],
)
def test_a_stage_claims_what_carries_its_prefix(name: str) -> None:
    assert _mine(DEV, name)


@pytest.mark.parametrize(
    "name",
    [
        "event-feedback-devx-events",
        "event-feedback-dev2",
        "event-feedback-prod-events",
        "event-feedback-events",
        "event-feedback",
        "other-event-feedback-dev-events",
        "",
    ],
)
def test_a_stage_does_not_claim_another_stages_resources(name: str) -> None:
    assert not _mine(DEV, name)


# --- 8. the role's grants: this stage's resources only ----------------------------------------------------


ALSO = {f"identity/{DOMAIN}", f"identity/{SENDER}"}


def generated_policy(prefix: str = DEV.prefix) -> dict[str, Any]:
    app, stage = prefix.rsplit("-", 1)
    return lambda_policy(
        stack_outputs(prefix),
        account=ACCOUNT,
        region=REGION,
        function_names=Stage(name=stage, app=app).function_names.values(),
        ses_identities=[DOMAIN],
    )


def grants(*statements: dict[str, Any], base: dict[str, Any] | None = None) -> list[str]:
    policy = json.loads(json.dumps(base or generated_policy()))
    policy["Statement"] += list(statements)
    return foreign_grants([policy], DEV.prefix, REGION, ACCOUNT, also=ALSO)


def allow(resource: Any, action: Any = "dynamodb:GetItem", sid: str = "Added") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}


def arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def test_the_generated_policy_names_only_the_stages_own_resources() -> None:
    assert grants() == []


def test_the_sender_identity_is_accepted_only_as_the_identity_the_stage_uses() -> None:
    problems = foreign_grants([generated_policy()], DEV.prefix, REGION, ACCOUNT)
    assert problems == [
        "SesSendRawEmailFromTheSenderThroughThisStagesConfigurationSet: "
        f"{arn('ses', 'identity/' + DOMAIN)} is not one of event-feedback-dev's own resources"
    ]
    assert grants(allow(arn("ses", "identity/example.net"), "ses:SendRawEmail")) == [
        f"Added: {arn('ses', 'identity/example.net')} is not one of event-feedback-dev's own resources"
    ]


@pytest.mark.parametrize(
    "resource",
    [
        arn("dynamodb", "table/event-feedback-dev-events", account="*"),
        arn("dynamodb", "table/event-feedback-dev-events", region="*"),
        arn("dynamodb", "table/event-feedback-dev-events", region="us-east-1"),
        arn("dynamodb", "table/event-feedback-dev-events", account="210987654321"),
        "arn:aws:dynamodb:::table/event-feedback-dev-events",
    ],
)
def test_a_grant_outside_the_account_or_region_is_flagged(resource: str) -> None:
    assert grants(allow(resource)) == [f"Added: {resource} is outside {ACCOUNT}/{REGION}"]


@pytest.mark.parametrize(
    "resource",
    [
        arn("dynamodb", "table/event-feedback-prod-events"),
        arn("sqs", "event-feedback-prod-send"),
        arn("secretsmanager", "secret:event-feedback-prod/panel-secret-AbCdEf"),
        arn("dynamodb", "table/event-feedback-events"),
    ],
)
def test_another_stages_resource_is_flagged(resource: str) -> None:
    assert grants(allow(resource)) == [f"Added: {resource} is not one of event-feedback-dev's own resources"]


@pytest.mark.parametrize(
    "resource",
    [
        arn("dynamodb", "table/event-feedback-devx-events"),
        arn("sqs", "event-feedback-dev2-send"),
        arn("dynamodb", "table/other-event-feedback-dev-events"),
        arn("logs", "log-group:/aws/lambda/event-feedback-devx:*"),
    ],
)
def test_a_stage_whose_prefix_only_begins_like_this_ones_is_another_stage(resource: str) -> None:
    assert grants(allow(resource)) == [f"Added: {resource} is not one of event-feedback-dev's own resources"]


@pytest.mark.parametrize(
    "statement",
    [
        {"Sid": "Added", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Sid": "Added", "Effect": "Allow", "NotAction": "iam:*", "Resource": arn("sqs", "event-feedback-dev-send")},
        {"Sid": "Added", "Effect": "Allow", "Action": "dynamodb:*", "NotResource": arn("dynamodb", "table/x")},
    ],
)
def test_a_grant_by_exclusion_is_flagged(statement: dict[str, Any]) -> None:
    problems = grants(statement)
    assert len(problems) == 1 and problems[0].startswith("Added: ") and "NotAction or NotResource" in problems[0]


@pytest.mark.parametrize(
    "resource",
    [
        arn("dynamodb", "table/event-feedback-dev-*"),
        arn("dynamodb", "table/event-feedback-dev*"),
        arn("dynamodb", "table/*"),
        arn("logs", "log-group:/aws/lambda/event-feedback-dev-*:*"),
        arn("sqs", "event-feedback-dev-se?d").replace("?", "*"),
    ],
)
def test_a_wildcard_in_a_resource_name_is_flagged(resource: str) -> None:
    assert grants(allow(resource)) == [f"Added: {resource} is not one of event-feedback-dev's own resources"]


def test_a_log_groups_streams_suffix_is_not_a_wildcard_name() -> None:
    assert grants(allow(arn("logs", "log-group:/aws/lambda/event-feedback-dev-sender:*"), "logs:PutLogEvents")) == []


@pytest.mark.parametrize(
    "action",
    [["xray:PutTraceSegments", "dynamodb:Scan"], "s3:GetObject", "xray:*", "*"],
)
def test_an_action_other_than_x_rays_on_every_resource_is_flagged(action: Any) -> None:
    problems = grants(allow("*", action))
    assert len(problems) == 1 and problems[0].startswith("Added: ") and problems[0].endswith(" on '*'")


def test_x_rays_two_actions_may_be_on_every_resource() -> None:
    assert grants(allow("*", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"])) == []


# --- 9. the rehearsal's API Gateway: which route a path takes ---------------------------------------------


def app_routes() -> list[str]:
    import app as application

    return list(application.app.routes)


@pytest.mark.parametrize(
    ("path", "route", "params"),
    [
        ("/health", "/health", {}),
        ("/dashboard/events/new", "/dashboard/events/new", {}),
        ("/dashboard/events/ev_123", "/dashboard/events/{event_id}", {"event_id": "ev_123"}),
        ("/dashboard/events/new/edit", "/dashboard/events/{event_id}/edit", {"event_id": "new"}),
        ("/s/abc/thanks", "/s/{token}/thanks", {"token": "abc"}),
        ("/s/thanks", "/s/{token}", {"token": "thanks"}),
        (
            "/admin/events/ev_1/waves/wv_2/send",
            "/admin/events/{event_id}/waves/{wave_id}/send",
            {"event_id": "ev_1", "wave_id": "wv_2"},
        ),
        ("/dashboard/", "/dashboard", {}),
    ],
)
def test_a_path_takes_the_route_api_gateway_would_literal_segments_first(
    path: str, route: str, params: dict[str, str]
) -> None:
    assert _match(app_routes(), path) == (route, params)


def test_reversing_the_apps_routes_does_not_change_the_route_a_path_takes() -> None:
    routes = app_routes()
    for path in ("/dashboard/events/new", "/dashboard/events/ev_1", "/s/abc/thanks", "/dashboard/events/new/edit"):
        assert _match(routes[::-1], path) == _match(routes, path), path


@pytest.mark.parametrize("path", ["/nope", "/", "/s", "/s/a/b/c", "/health/extra"])
def test_a_path_of_no_route_is_refused(path: str) -> None:
    with pytest.raises(DeployError) as refused:
        _match(app_routes(), path)
    assert str(refused.value) == f"no route of the app matches {path}"

"""``make deploy STAGE=<stage>``: the infra stack, then the Chalice app, then the checks, in one re-runnable command.

Every step converges on what exists: the stack is created or updated, Chalice's deployed record is restored from
the account before ``chalice deploy`` and saved after it, and the stage's settings and policy are regenerated from
the stack each time. A run that stopped half-way is resumed by running it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import chalice_cli
from deploy.aws import Account, advice
from deploy.infra import Infra, Outputs
from deploy.policy import lambda_policy
from deploy.preflight import check_ses
from deploy.project import (
    deployed_resource,
    deployed_state,
    packaging_environment,
    render,
    stage_environment,
)
from deploy.stage import DeployError, Stage

Say = Callable[[str], None]


@dataclass
class Options:
    """What ops choose for a stage; each is remembered by the stack, so a re-run needs none of them."""

    sender: str | None = None
    public_base_url: str | None = None
    alarm_email: str | None = None


@dataclass
class Deployed:
    stage: Stage
    account: Account
    outputs: Outputs
    project: Path
    state: dict[str, Any]
    policy: dict[str, Any]
    api_url: str
    public_base_url: str
    notes: list[str] = field(default_factory=list)


def stack_parameters(stage: Stage, options: Options, previous: Mapping[str, str]) -> dict[str, str]:
    """The stack's parameters: what ops passed now, else what the stack was last deployed with."""
    sender = options.sender or previous.get("SenderAddress")
    if not sender:
        raise DeployError(
            f"the first deploy of stage {stage.name} needs the sender address: make deploy STAGE={stage.name} "
            "SENDER=surveys@your-domain.org (an address or domain verified in SES in this region)"
        )
    public = options.public_base_url if options.public_base_url is not None else previous.get("PublicBaseUrl", "")
    alarm = options.alarm_email if options.alarm_email is not None else previous.get("AlarmEmail", "")
    return {
        "ResourcePrefix": stage.prefix,
        "SenderAddress": sender,
        "PublicBaseUrl": public.rstrip("/"),
        "AlarmEmail": alarm,
        "SenderFunctionName": stage.function_names["sender"],
    }


def deploy(
    stage: Stage,
    account: Account,
    infra: Infra,
    options: Options,
    *,
    say: Say = print,
    project_dir: Path | None = None,
) -> Deployed:
    """Deploy (or update) the stage; answers what was deployed. Checks are run by the caller (deploy.checks)."""
    identity = account.identity()
    say(f"Deploying stage {stage.name} as {stage.prefix} into account {identity['Account']}, {account.region}")

    say("1/4 Infra stack")
    parameters = stack_parameters(stage, options, infra.previous_parameters(stage))
    ses = check_ses(account, parameters["SenderAddress"])
    notes = []
    if ses.sandbox:
        notes.append(
            f"SES is in the sandbox in {account.region}: only verified recipients receive mail, at most 200 a day. "
            "Request production access before the first real wave (README, 'Leaving the SES sandbox')."
        )
    outputs = infra.deploy(stage, parameters)
    say(f"  {len(outputs)} outputs; tables {outputs['TablePrefix']}*, queue {outputs['SendQueueName']}")

    say("2/4 Settings and least-privilege policy, generated from the stack")
    policy = lambda_policy(
        outputs,
        account=identity["Account"],
        region=account.region,
        partition=account.partition,
        function_names=stage.function_names.values(),
        ses_identities=ses.identities,
    )

    say("3/4 chalice deploy")
    project, state, api_url, public = _chalice_deploy(stage, account, outputs, policy, project_dir, say)
    return Deployed(
        stage=stage,
        account=account,
        outputs=outputs,
        project=project,
        state=state,
        policy=policy,
        api_url=api_url,
        public_base_url=public,
        notes=notes,
    )


def _chalice_deploy(
    stage: Stage,
    account: Account,
    outputs: Outputs,
    policy: dict[str, Any],
    project_dir: Path | None,
    say: Say,
) -> tuple[Path, dict[str, Any], str, str]:
    custom = outputs.get("PublicBaseUrl", "")
    project = render(stage, {}, policy, project_dir)
    restored = chalice_cli.restore_state(account, project, stage)
    queues = (outputs["SendQueueName"], outputs["FeedbackQueueName"])
    adopted = chalice_cli.adopt_orphans(account, project, stage, *queues)
    state = deployed_state(project, stage)
    found = "restored from the account" if restored else "none yet (first deploy)"
    if adopted:
        found += f"; adopted from an unfinished deploy: {', '.join(adopted)}"
    say(f"  deployed record: {found}")
    # The links in emails need the API's own URL, which exists only once Chalice has created the API: a first
    # deploy without a custom domain runs twice, the second time with the URL it learnt.
    for attempt in (1, 2):
        public = custom or _api_url(state)
        render(stage, stage_environment(outputs, public), policy, project)
        say(
            f"  chalice deploy --stage {stage.name}"
            + (" (again, with the API's URL for the links)" if attempt == 2 else "")
        )
        chalice_cli.run("deploy", project, stage, account, packaging_environment(outputs))
        state = deployed_state(project, stage) or {}
        chalice_cli.save_state(account, project, stage)
        api_url = _api_url(state)
        if not api_url:
            raise DeployError("chalice deploy created no REST API: the app has no routes?")
        if custom or public == api_url:
            _log_retention(account, stage)
            return project, state, api_url, public
    raise DeployError("the API's URL changed between two deploys; re-run make deploy")


def _log_retention(account: Account, stage: Stage) -> None:
    """Give every function's log group the stage's retention (Lambda creates them with no expiry).

    Not Chalice's ``log_retention_in_days``: in Chalice 1.34 it names the API function's group
    ``/aws/lambda/<app>-<stage>-api_handler`` while the function is ``<app>-<stage>`` (deploy), and refers to a
    resource ``ApiHandler`` that its own template calls ``APIHandler`` (package, which cfn-lint then rejects).
    """
    logs = account.client("logs")
    for name in sorted(stage.function_names.values()):
        group = f"/aws/lambda/{name}"
        with advice(f"setting the retention of {group}"):
            try:
                logs.create_log_group(logGroupName=group)
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
            logs.put_retention_policy(logGroupName=group, retentionInDays=stage.log_retention_days)


def _api_url(state: Mapping[str, Any] | None) -> str:
    api = deployed_resource(state, "rest_api")
    return str(api["rest_api_url"]).rstrip("/") if api else ""


def destroy(
    stage: Stage,
    account: Account,
    infra: Infra,
    *,
    data: bool,
    say: Say = print,
    project_dir: Path | None = None,
) -> None:
    """``chalice delete``, then the stack; with ``data`` also the tables, user pool and secrets it retains."""
    from deploy.infra import delete_found
    from deploy.project import BUILD

    project = project_dir or BUILD / stage.name
    say(f"Tearing down stage {stage.name} ({stage.prefix}) in account {account.id}, {account.region}")
    project = render(stage, {}, {"Version": "2012-10-17", "Statement": []}, project)
    if chalice_cli.restore_state(account, project, stage) or deployed_state(project, stage):
        say(f"  chalice delete --stage {stage.name}")
        outputs = infra.outputs(stage) or {}
        env = packaging_environment(outputs) if outputs else {}
        chalice_cli.run("delete", project, stage, account, env)
    chalice_cli.forget_state(account, project, stage)
    # What Chalice does not delete: its log groups (and anything a failed deploy left unrecorded).
    app_kinds = (
        "api gateway rest api",
        "eventbridge rule",
        "lambda function",
        "lambda layer version",
        "iam role",
        "cloudwatch log group",
    )
    leftovers = delete_found(account, stage, kinds=app_kinds)
    if leftovers:
        say("  also deleted: " + "; ".join(f"{k}: {len(v)}" for k, v in leftovers.items()))
    say("  infra" + (" and its data (tables, user pool, secrets)" if data else " (tables, pool and secrets kept)"))
    infra.delete(stage, data=data)

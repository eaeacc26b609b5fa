"""Running the real ``chalice`` CLI on a rendered project, and keeping its deployed state in the account.

Chalice records what it created in ``.chalice/deployed/<stage>.json`` and needs that record to update in place;
without it a second deploy imports a second REST API. The record is therefore kept in the account too, as the
SSM parameter ``/<prefix>/chalice-deployed``, and restored before each deploy, so a fresh clone (or a CI job)
updates the same stage instead of duplicating it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from deploy.aws import Account, advice, error_code
from deploy.project import deployed_state_file
from deploy.stage import ROOT, DeployError, Stage

TIMEOUT_SECONDS = 1800
_STANDARD_TIER_BYTES = 4096


def chalice_executable() -> str:
    beside = Path(sys.executable).parent / "chalice"
    if beside.is_file():
        return str(beside)
    found = shutil.which("chalice")
    if found:
        return found
    raise DeployError("the chalice CLI is not installed: run make venv (or make deploy, which does)")


def run(
    command: str,
    project: Path,
    stage: Stage,
    account: Account,
    extra_env: Mapping[str, str],
    args: tuple[str, ...] = (),
    base_env: Mapping[str, str] | None = None,
) -> str:
    """``chalice --project-dir <project> <command> --stage <stage> [args]``; answers its output, raises on failure."""
    env = dict(os.environ if base_env is None else base_env)
    env.update(extra_env)
    env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = account.region
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # Chalice imports the app before zipping chalicelib/ as it is on disk
    if account.endpoint_url:
        env["AWS_ENDPOINT_URL"] = account.endpoint_url
    else:
        env.pop("AWS_ENDPOINT_URL", None)
    cmd = [chalice_executable(), "--project-dir", str(project), command, "--stage", stage.name, *args]
    # The zip cache under .chalice/deployments is shared with `chalice package` runs (bench/package_sizes.py).
    lock_path = ROOT / ".chalice" / "deployments" / ".package.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = subprocess.run(  # noqa: S603 - the venv's chalice on our own project
                cmd, env=env, cwd=project, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise DeployError(f"chalice {command} took over {TIMEOUT_SECONDS} s; re-run to resume") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise DeployError(
            f"chalice {command} --stage {stage.name} failed (exit {done.returncode}):\n{tail}\n"
            f"Fix the cause above and re-run: make deploy STAGE={stage.name} resumes from what exists"
        )
    return output


def save_state(account: Account, project: Path, stage: Stage) -> None:
    """Keep Chalice's deployed record in SSM, so the next deploy from any clone updates in place."""
    path = deployed_state_file(project, stage)
    if not path.is_file():
        return
    text = json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"))
    with advice(f"saving Chalice's deployed state to SSM {stage.deployed_state_parameter}"):
        # SSM refuses to put an Advanced parameter back in the Standard tier, so a record that once outgrew
        # 4 KB stays Advanced when it shrinks.
        fits = len(text.encode()) <= _STANDARD_TIER_BYTES
        tier = "Standard" if fits and _tier(account, stage.deployed_state_parameter) != "Advanced" else "Advanced"
        account.client("ssm").put_parameter(
            Name=stage.deployed_state_parameter,
            Value=text,
            Type="String",
            Tier=tier,
            Overwrite=True,
            Description=f"chalice deploy's record of stage {stage.name} (written by make deploy; do not edit)",
        )


def _tier(account: Account, name: str) -> str | None:
    found = account.client("ssm").describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])
    parameters = found.get("Parameters", [])
    return str(parameters[0].get("Tier")) if parameters else None


def restore_state(account: Account, project: Path, stage: Stage) -> bool:
    """Put the account's copy of the deployed record into the project; answers whether there was one."""
    with advice(f"reading SSM {stage.deployed_state_parameter}"):
        try:
            value = account.client("ssm").get_parameter(Name=stage.deployed_state_parameter)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise
            return False
    path = deployed_state_file(project, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json.loads(value), indent=2) + "\n", encoding="utf-8")
    return True


def forget_state(account: Account, project: Path, stage: Stage) -> None:
    deployed_state_file(project, stage).unlink(missing_ok=True)
    with advice(f"deleting SSM {stage.deployed_state_parameter}"):
        try:
            account.client("ssm").delete_parameter(Name=stage.deployed_state_parameter)
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise


def adopt_orphans(account: Account, project: Path, stage: Stage, *queues: str) -> list[str]:
    """Put into Chalice's record what a deploy that failed half-way created but never recorded.

    Chalice writes its record only when a deploy succeeds, and on the next run it finds functions and roles by
    name, but not its REST API (it would import a second one) nor an SQS event source (the sender's on the send
    queue, ses_feedback's on the feedback queue: Lambda refuses a second mapping of the same queue and function,
    so every re-run would fail). They are found here by what they are attached to (this stage's API function,
    its SQS handlers and ``queues``, the stage's queue names) and recorded, so that the re-run updates them.
    Answers what was adopted.
    """
    from deploy.inventory import rest_apis
    from deploy.project import deployed_state, deployed_state_file

    state = deployed_state(project, stage) or {"resources": [], "schema_version": "2.0", "backend": "api"}
    names = {r.get("name") for r in state["resources"]}
    adopted: list[str] = []
    with advice("looking for resources of an unfinished deploy"):
        if "rest_api" not in names and "api_handler" in stage.function_names:
            apis = rest_apis(account, stage)
            if len(apis) > 1:
                raise DeployError(
                    f"{len(apis)} REST APIs call {stage.function_names['api_handler']} ({', '.join(apis)}): delete "
                    "all but the one in use (aws apigateway delete-rest-api --rest-api-id ...), then re-run"
                )
            if apis:
                url = f"https://{apis[0]}.execute-api.{account.region}.amazonaws.com/api/"
                state["resources"].append(
                    {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": apis[0], "rest_api_url": url}
                )
                adopted.append(f"REST API {apis[0]}")
        adopted += _adopt_queue_sources(account, stage, state, names, set(queues))
    if adopted:
        path = deployed_state_file(project, stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return adopted


def _adopt_queue_sources(
    account: Account, stage: Stage, state: dict[str, Any], names: set[Any], queues: set[str]
) -> list[str]:
    """The app's SQS handlers listen on the stage's queues (their names are set at packaging, chalicelib/wiring)."""
    import app as application

    client = account.client("lambda")
    adopted = []
    for source in application.app.event_sources:
        record = f"{source.name}-sqs-event-source"
        if not hasattr(source, "queue") or record in names or source.name not in stage.function_names:
            continue
        try:
            function = client.get_function_configuration(FunctionName=stage.function_names[source.name])
        except client.exceptions.ResourceNotFoundException:
            continue
        mappings = client.list_event_source_mappings(FunctionName=function["FunctionArn"])["EventSourceMappings"]
        for mapping in mappings:
            queue_arn = mapping["EventSourceArn"]
            queue = queue_arn.rsplit(":", 1)[-1]
            if queue in queues:
                state["resources"].append(
                    {
                        "name": record,
                        "resource_type": "sqs_event",
                        "queue_arn": queue_arn,
                        "event_uuid": mapping["UUID"],
                        "queue": queue,
                        "lambda_arn": function["FunctionArn"],
                    }
                )
                adopted.append(f"{source.name}'s event source on {queue}")
    return adopted

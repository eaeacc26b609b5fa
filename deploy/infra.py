"""The infra stack of a stage: CloudFormation in a real account, the local provisioner in the embedded AWS.

Both take the same template and parameters and answer the same outputs. moto's CloudFormation reports
CREATE_COMPLETE for ``infra/template.json`` while silently skipping the Cognito pool, its client and groups and
the SES configuration set, so the rehearsal builds the template with ``devstack.provision`` instead, which
creates each resource with the call CloudFormation would make and refuses a type it does not know.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botocore.exceptions import ClientError, WaiterError

from deploy.aws import Account, advice, error_code
from deploy.inventory import Inventory, inventory
from deploy.policy import TEMPLATE, load_template
from deploy.stage import DeployError, Stage

Outputs = dict[str, str]
# Resource types the template retains when its stack is deleted: they hold (or key) the stage's data.
RETAINED_KINDS = ("dynamodb table", "cognito user pool", "secretsmanager secret")


class Infra(Protocol):
    def deploy(self, stage: Stage, parameters: Mapping[str, str]) -> Outputs:
        """Create or update the stage's infra resources; answer the template's outputs."""
        ...

    def outputs(self, stage: Stage) -> Outputs | None:
        """The outputs of the stage's infra as deployed, or None when there is none."""
        ...

    def previous_parameters(self, stage: Stage) -> dict[str, str]:
        """The parameters the stage was last deployed with (empty when never)."""
        ...

    def delete(self, stage: Stage, *, data: bool) -> None:
        """Delete the stage's infra; with ``data``, also what the template retains (tables, pool, secrets)."""
        ...


class CloudFormationInfra:
    """The stack ``<prefix>`` in the account of the credentials."""

    def __init__(self, account: Account, template: dict[str, Any] | None = None) -> None:
        self.account = account
        self.template = template or load_template()

    @property
    def _cfn(self) -> Any:
        return self.account.client("cloudformation")

    def _describe(self, stage: Stage) -> dict[str, Any] | None:
        try:
            stacks = self._cfn.describe_stacks(StackName=stage.stack_name)["Stacks"]
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return None
            raise
        return stacks[0] if stacks else None

    def previous_parameters(self, stage: Stage) -> dict[str, str]:
        with advice(f"reading stack {stage.stack_name}"):
            stack = self._describe(stage)
        if stack is None:
            return {}
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}

    def outputs(self, stage: Stage) -> Outputs | None:
        with advice(f"reading stack {stage.stack_name}"):
            stack = self._describe(stage)
        if stack is None or not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
            return None
        return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}

    def deploy(self, stage: Stage, parameters: Mapping[str, str]) -> Outputs:
        name = stage.stack_name
        body = json.dumps(self.template, separators=(",", ":"))
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
        with advice(f"deploying stack {name}"):
            stack = self._wait_if_busy(stage, self._describe(stage))
            if stack is None:
                _refuse_leftovers(self.account, stage)
                print(f"  creating stack {name} (a few minutes)...", flush=True)
                created = self._cfn.create_stack(
                    StackName=name,
                    TemplateBody=body,
                    Parameters=params,
                    OnFailure="DELETE",  # a failed first create leaves no stack to repair, only a re-run
                    Tags=[{"Key": "event-feedback:stage", "Value": stage.name}],
                    EnableTerminationProtection=stage.name == "prod",
                )
                self._wait(stage, "stack_create_complete", created["StackId"], creating=True)
            else:
                _check_prefix(stage, stack)
                try:
                    self._cfn.update_stack(
                        StackName=name, TemplateBody=body, Parameters=params, Tags=stack.get("Tags", [])
                    )
                except ClientError as exc:
                    if "No updates are to be performed" not in str(exc):
                        raise
                    print(f"  stack {name} is up to date", flush=True)
                else:
                    print(f"  updating stack {name}...", flush=True)
                    self._wait(stage, "stack_update_complete", stack.get("StackId", name))
        outputs = self.outputs(stage)
        if outputs is None:
            raise DeployError(f"stack {name} did not reach a complete state: see its events in the console")
        return outputs

    def _wait_if_busy(self, stage: Stage, stack: dict[str, Any] | None) -> dict[str, Any] | None:
        if stack is None:
            return None
        status = stack["StackStatus"]
        if status == "ROLLBACK_COMPLETE":  # only after OnFailure=ROLLBACK by hand: it cannot be updated
            raise DeployError(
                f"stack {stage.stack_name} is ROLLBACK_COMPLETE (a failed first create) and cannot be updated: "
                f"delete it (aws cloudformation delete-stack --stack-name {stage.stack_name}) and re-run"
            )
        if status == "UPDATE_ROLLBACK_FAILED":
            raise DeployError(
                f"stack {stage.stack_name} is UPDATE_ROLLBACK_FAILED: run aws cloudformation "
                f"continue-update-rollback --stack-name {stage.stack_name}, then re-run"
            )
        if status.endswith("_IN_PROGRESS"):
            print(f"  stack {stage.stack_name} is {status}; waiting for it...", flush=True)
            deadline = time.monotonic() + 3600
            while status.endswith("_IN_PROGRESS") and time.monotonic() < deadline:
                time.sleep(15)
                found = self._describe(stage)
                if found is None:
                    return None
                stack, status = found, found["StackStatus"]
            return self._wait_if_busy(stage, stack)
        return stack

    def _wait(self, stage: Stage, waiter: str, stack_id: str, *, creating: bool = False) -> None:
        try:
            self._cfn.get_waiter(waiter).wait(
                StackName=stage.stack_name, WaiterConfig={"Delay": 10, "MaxAttempts": 360}
            )
        except WaiterError as exc:
            cause = self._first_failure(stack_id, _OPERATION_STARTS[waiter])
            # A first create that failed is deleted (OnFailure=DELETE), but what the template retains stays, and
            # the re-run would refuse it as an earlier stage's data. None was there before this create, so it is
            # new and empty: say so, and how to clear it, rather than promise a resume.
            kept = _retained(self.account, stage) if creating and self._deleted(stack_id) else {}
            if kept:
                counted = ", ".join(f"{len(v)} {kind}{'s' if len(v) > 1 else ''}" for kind, v in kept.items())
                raise DeployError(
                    f"stack {stage.stack_name} failed: {cause}. CloudFormation deleted the stack but kept, as the "
                    f"template asks, what it had created of the stage's data ({counted}): they are new and empty, and "
                    f"the next deploy would refuse them. Delete them with make destroy STAGE={stage.name} DATA=delete "
                    f"CONFIRM={stage.prefix}, fix the cause above and re-run make deploy STAGE={stage.name}"
                ) from exc
            raise DeployError(
                f"stack {stage.stack_name} failed: {cause}. Fix that and re-run make deploy "
                f"STAGE={stage.name}: it resumes from what exists"
            ) from exc

    def _deleted(self, stack_id: str) -> bool:
        try:
            stacks = self._cfn.describe_stacks(StackName=stack_id)["Stacks"]
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return True
            raise
        return all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks)

    def _first_failure(self, stack_id: str, started: str) -> str:
        """The resource that failed first in the stack's latest operation.

        Read by the stack's id: a create that failed (OnFailure=DELETE) leaves a deleted stack, which its name no
        longer finds. Events come newest first, over pages, and include every earlier operation; so they are read
        back to the stack's own event that started this operation, and the oldest failure among them is the cause
        (the later ones are mostly "Resource creation cancelled").
        """
        failed: list[dict[str, Any]] = []
        try:
            for page in self._cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
                for event in page.get("StackEvents", []):
                    status = event.get("ResourceStatus", "")
                    if event.get("ResourceType") == "AWS::CloudFormation::Stack" and status == started:
                        return _described(failed[-1]) if failed else "see the stack's events"
                    if status.endswith("_FAILED"):
                        failed.append(event)
        except ClientError:
            return "see the stack's events"
        return _described(failed[-1]) if failed else "see the stack's events"

    def delete(self, stage: Stage, *, data: bool) -> None:
        name = stage.stack_name
        with advice(f"deleting stack {name}"):
            stack = self._describe(stage)
            if stack is not None:
                _check_prefix(stage, stack)
                if stack.get("EnableTerminationProtection"):
                    self._cfn.update_termination_protection(StackName=name, EnableTerminationProtection=False)
                self._cfn.delete_stack(StackName=name)
                self._wait(stage, "stack_delete_complete", stack.get("StackId", name))
            if data:
                delete_found(self.account, stage, kinds=RETAINED_KINDS)


class EmbeddedInfra:
    """The rehearsal's infra: ``devstack.provision`` builds the template in the embedded AWS."""

    def __init__(self, account: Account) -> None:
        if not account.endpoint_url:
            raise DeployError("the embedded infra needs an endpoint (the rehearsal's moto server)")
        self.account = account
        self._deployed: dict[str, tuple[dict[str, str], Outputs]] = {}

    def previous_parameters(self, stage: Stage) -> dict[str, str]:
        return dict(self._deployed.get(stage.prefix, ({}, {}))[0])

    def outputs(self, stage: Stage) -> Outputs | None:
        found = self._deployed.get(stage.prefix)
        return dict(found[1]) if found else None

    def deploy(self, stage: Stage, parameters: Mapping[str, str]) -> Outputs:
        from devstack.provision import provision

        params = dict(parameters)
        with advice(f"provisioning {stage.prefix} in the embedded AWS"):
            outputs = provision(
                self.account.endpoint_url,
                region=self.account.region,
                prefix=params.pop("ResourcePrefix"),
                sender=params.pop("SenderAddress"),
                parameters=params,
                template_path=TEMPLATE,
            )
        self._deployed[stage.prefix] = (dict(parameters), outputs)
        return outputs

    def delete(self, stage: Stage, *, data: bool) -> None:
        kinds = None if data else tuple(k for k in _DELETERS if k not in RETAINED_KINDS)
        delete_found(self.account, stage, kinds=kinds)
        self._deployed.pop(stage.prefix, None)


# The status of the stack's own event that starts the operation each waiter waits for.
_OPERATION_STARTS = {
    "stack_create_complete": "CREATE_IN_PROGRESS",
    "stack_update_complete": "UPDATE_IN_PROGRESS",
    "stack_delete_complete": "DELETE_IN_PROGRESS",
}


def _described(event: Mapping[str, Any]) -> str:
    return f"{event['LogicalResourceId']} {event['ResourceStatus']}: {event.get('ResourceStatusReason', '')}"


def _check_prefix(stage: Stage, stack: dict[str, Any]) -> None:
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    if params.get("ResourcePrefix") != stage.prefix:
        raise DeployError(
            f"stack {stage.stack_name} already exists with ResourcePrefix {params.get('ResourcePrefix')!r}, not "
            f"{stage.prefix!r}: it is not this stage's. Delete or rename that stack, or deploy into another account"
        )


def _retained(account: Account, stage: Stage) -> Inventory:
    """What of the stage's data exists: the kinds the template retains when its stack is deleted."""
    return inventory(account, stage, kinds=RETAINED_KINDS)


def _refuse_leftovers(account: Account, stage: Stage) -> None:
    found = _retained(account, stage)
    if found:
        listed = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in found.items())
        raise DeployError(
            f"there is no stack {stage.stack_name}, but resources of stage {stage.name} remain from an earlier stack "
            f"(a deleted stage, or a failed first deploy: {listed}). To start afresh, delete them with make destroy "
            f"STAGE={stage.name} DATA=delete CONFIRM={stage.prefix}; to keep their data, import them into a new "
            "stack (README, 'Restoring a stage')"
        )


# --- deleting what the inventory found, in an order that lets each deletion succeed ------------------------


def _delete_table(account: Account, name: str) -> None:
    ddb = account.client("dynamodb")
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=name)


def _delete_user_pool(account: Account, pool_id: str) -> None:
    idp = account.client("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    if pool.get("DeletionProtection") == "ACTIVE":
        # UpdateUserPool resets every attribute not passed; the pool is deleted next, so that does not matter.
        idp.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
    idp.delete_user_pool(UserPoolId=pool_id)


def _delete_configuration_set(account: Account, name: str) -> None:
    account.client("ses").delete_configuration_set(ConfigurationSetName=name)


def _delete_layer_version(account: Account, arn: str) -> None:
    name, version = arn.split(":")[-2:]
    account.client("lambda").delete_layer_version(LayerName=name, VersionNumber=int(version))


def _delete_role(account: Account, name: str) -> None:
    iam = account.client("iam")
    for policy in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for attached in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []):
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=name)


def _delete_rule(account: Account, name: str) -> None:
    events = account.client("events")
    targets = [t["Id"] for t in events.list_targets_by_rule(Rule=name).get("Targets", [])]
    if targets:
        events.remove_targets(Rule=name, Ids=targets)
    events.delete_rule(Name=name)


_DELETERS: dict[str, Callable[[Account, str], None]] = {
    "api gateway rest api": lambda a, i: a.client("apigateway").delete_rest_api(restApiId=i),
    "eventbridge rule": _delete_rule,
    "lambda function": lambda a, n: a.client("lambda").delete_function(FunctionName=n),
    "lambda layer version": _delete_layer_version,
    "iam role": _delete_role,
    "cloudwatch log group": lambda a, n: a.client("logs").delete_log_group(logGroupName=n),
    "ses configuration set": _delete_configuration_set,
    "sns topic": lambda a, arn: a.client("sns").delete_topic(TopicArn=arn),
    "sqs queue": lambda a, url: a.client("sqs").delete_queue(QueueUrl=url),
    "dynamodb table": _delete_table,
    "cognito user pool": _delete_user_pool,
    "secretsmanager secret": lambda a, arn: a.client("secretsmanager").delete_secret(
        SecretId=arn, ForceDeleteWithoutRecovery=True
    ),
    "ssm parameter": lambda a, n: a.client("ssm").delete_parameter(Name=n),
}


def delete_found(account: Account, stage: Stage, *, kinds: tuple[str, ...] | None = None) -> Inventory:
    """Delete every resource of the stage that the inventory finds (of ``kinds``, or all); answer what it deleted."""
    found = inventory(account, stage, kinds=kinds)
    deleted: Inventory = {}
    for kind, delete in _DELETERS.items():
        if kinds is not None and kind not in kinds:
            continue
        for name in found.get(kind, []):
            with advice(f"deleting {kind} {name}"):
                try:
                    delete(account, name)
                except ClientError as exc:
                    if "NotFound" not in error_code(exc) and "NoSuch" not in error_code(exc):
                        raise
            deleted.setdefault(kind, []).append(name)
    return deleted

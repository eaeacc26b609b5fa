"""``chalice package`` of a stage, for CloudFormation pipelines and for the packaging tests and benchmark.

The package needs the stage's settings and policy like a deploy does. ``package`` takes them from a stack's
outputs; ``embedded_outputs`` builds the template in an in-process moto (no credentials, no network beyond
PyPI) for the tests, the benchmark and ``make package``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deploy import chalice_cli
from deploy.aws import Account
from deploy.infra import Outputs
from deploy.policy import lambda_policy
from deploy.project import packaging_environment, render, stage_environment
from deploy.stage import Stage

EMBEDDED_ACCOUNT, EMBEDDED_REGION = "123456789012", "us-east-1"
EMBEDDED_SENDER = "surveys@example.org"
EMBEDDED_BASE_URL = "https://surveys.example.org"


def embedded_outputs(stage: Stage) -> Outputs:
    """The stage's stack outputs as the local provisioner builds them in an in-process moto."""
    import os
    from unittest import mock

    import moto

    from devstack.provision import provision

    fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": EMBEDDED_REGION}
    with mock.patch.dict(os.environ, fake), moto.mock_aws():
        return provision(
            region=EMBEDDED_REGION,
            prefix=stage.prefix,
            sender=EMBEDDED_SENDER,
            parameters={"PublicBaseUrl": EMBEDDED_BASE_URL, "SenderFunctionName": stage.function_names["sender"]},
        )


def package(
    stage: Stage,
    out: Path,
    outputs: Outputs,
    *,
    account: Account,
    account_id: str,
    identities: list[str],
    project_dir: Path | None = None,
    base_env: dict[str, str] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Render the stage's project from ``outputs`` and ``chalice package`` it into ``out``.

    Answers the rendered project and the policy its roles carry.
    """
    sender = outputs["SenderAddress"]
    policy = lambda_policy(
        outputs,
        account=account_id,
        region=account.region,
        function_names=stage.function_names.values(),
        ses_identities=identities or [sender, sender.rpartition("@")[2]],
    )
    base = outputs.get("PublicBaseUrl") or EMBEDDED_BASE_URL
    project = render(stage, stage_environment(outputs, base), policy, project_dir)
    chalice_cli.run(
        "package", project, stage, account, packaging_environment(outputs), args=(str(out),), base_env=base_env
    )
    return project, policy

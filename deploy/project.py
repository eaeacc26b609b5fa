"""The Chalice project a stage deploys: the app as committed, plus the stage's generated settings and policy.

``.chalice/config.json`` in git holds what is the same in every account (functions' memory and timeouts, the
stages' rates); what comes from the account is generated here, into ``build/deploy/<stage>/``, from the infra
stack's outputs: the stage's environment (table prefix, queue, topic, pool, configuration set, sender and the
ARNs of its secrets, never their values) and its IAM policy. Nothing is copied by hand, and a changed stack
changes the next deploy.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deploy.stage import CHALICE_CONFIG, ROOT, Stage

BUILD = ROOT / "build" / "deploy"
# What Chalice packages: app.py, chalicelib/ and vendor/ (vendor/templates is a symlink to templates/ in git).
PROJECT_FILES = ("app.py", "requirements.txt")
PROJECT_DIRS = ("chalicelib", "vendor")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")


def stage_environment(outputs: Mapping[str, str], public_base_url: str) -> dict[str, str]:
    """The functions' environment for the stage whose stack answered ``outputs``: names and ARNs, no secrets."""
    return {
        "EF_TABLE_PREFIX": outputs["TablePrefix"],
        "EF_SEND_QUEUE_URL": outputs["SendQueueUrl"],
        "EF_FEEDBACK_TOPIC_ARN": outputs["FeedbackTopicArn"],
        "EF_SES_SENDER": outputs["SenderAddress"],
        "EF_SES_CONFIGURATION_SET": outputs["ConfigurationSetName"],
        "EF_PUBLIC_BASE_URL": public_base_url,
        "EF_COGNITO_USER_POOL_ID": outputs["UserPoolId"],
        "EF_COGNITO_CLIENT_ID": outputs["UserPoolClientId"],
        "EF_PSEUDONYM_SECRET_ARN": outputs["PseudonymSecretArn"],
        "EF_PANEL_SECRET_ARN": outputs["PanelSecretArn"],
        "EF_SESSION_SECRET_ARN": outputs["SessionSecretArn"],
    }


def packaging_environment(outputs: Mapping[str, str]) -> dict[str, str]:
    """What chalicelib/wiring.py reads while Chalice packages: the event sources' queue names."""
    return {"EF_SEND_QUEUE_NAME": outputs["SendQueueName"], "EF_FEEDBACK_QUEUE_NAME": outputs["FeedbackQueueName"]}


def stage_config(stage: Stage, environment: Mapping[str, str]) -> dict[str, Any]:
    """The committed Chalice config with this stage's generated environment and policy file."""
    config: dict[str, Any] = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    section = config["stages"][stage.name]
    section["environment_variables"] = {**section.get("environment_variables", {}), **environment}
    section["iam_policy_file"] = f"policy-{stage.name}.json"
    return config


def render(
    stage: Stage,
    environment: Mapping[str, str],
    policy: Mapping[str, Any],
    dest: Path | None = None,
) -> Path:
    """Write the stage's Chalice project into ``dest`` (default build/deploy/<stage>) and answer its path.

    Re-rendering keeps ``.chalice/deployed/`` (Chalice's record of what it created) and the zip cache.
    """
    dest = dest or BUILD / stage.name
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_DIRS:
        target = dest / name
        if target.exists():
            shutil.rmtree(target)
        # symlinks=False: vendor/templates becomes a real copy, as Chalice would zip it
        shutil.copytree(ROOT / name, target, symlinks=False, ignore=_IGNORE)
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, dest / name)
    _write_public_values(dest)
    chalice_dir = dest / ".chalice"
    chalice_dir.mkdir(exist_ok=True)
    config = stage_config(stage, environment)
    (chalice_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    policy_file = chalice_dir / f"policy-{stage.name}.json"
    policy_file.write_text(json.dumps(policy, indent=2) + "\n", encoding="utf-8")
    _share_zip_cache(chalice_dir)
    return dest


def _write_public_values(project: Path) -> None:
    """The hashes of every value committed in this checkout, which a cloud stage refuses as a secret."""
    import subprocess

    from deploy.public_values import LIST, write
    from deploy.stage import DeployError

    try:
        write(project / LIST)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DeployError(
            f"deploy from a git checkout: the committed values are listed by git ls-files ({exc})"
        ) from exc


def _share_zip_cache(chalice_dir: Path) -> None:
    """Chalice caches the layer zip by requirements hash: share the checkout's cache so wheels download once."""
    shared = ROOT / ".chalice" / "deployments"
    shared.mkdir(parents=True, exist_ok=True)
    link = chalice_dir / "deployments"
    if link.is_symlink() or link.exists():
        return
    link.symlink_to(shared, target_is_directory=True)


def deployed_state_file(project: Path, stage: Stage) -> Path:
    return project / ".chalice" / "deployed" / f"{stage.name}.json"


def deployed_state(project: Path, stage: Stage) -> dict[str, Any] | None:
    path = deployed_state_file(project, stage)
    if not path.is_file():
        return None
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state


def deployed_resource(state: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    for resource in (state or {}).get("resources", []):
        if resource.get("name") == name:
            found: dict[str, Any] = resource
            return found
    return None

"""Package the app with ``chalice package`` and measure what it produced.

``package(stage, out)`` renders the stage's project as ``make deploy`` does (deploy/project.py: settings and policy
generated from the infra template, built here in an in-process moto), runs the venv's ``chalice package`` on it
with fake AWS credentials (packaging talks to no AWS API, only to PyPI for Lambda-compatible wheels) and returns,
for every zip in ``out``, its size on disk and the sum of its members' uncompressed sizes, in bytes:

    {"deployment.zipped": ..., "deployment.unzipped": ...,
     "layer-deployment.zipped": ..., "layer-deployment.unzipped": ...}

Chalice caches both zips under the checkout's ``.chalice/deployments/`` (git-ignored; every rendered project
shares it) and reuses them while the app code, ``requirements.txt`` and ``vendor/`` are unchanged, so only the
first run downloads wheels.

Run as a script to print the sizes: ``python bench/package_sizes.py [stage] [out-dir]``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# Anything that could point packaging at a real account or endpoint is dropped.
DROPPED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def packaging_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(FAKE_AWS)
    # Chalice imports app.py (and so chalicelib) before it zips chalicelib/ as it is on disk: without
    # this, the import would write chalicelib/**/__pycache__ and the zip would pick it up.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_chalice_package(stage: str, out: Path) -> dict[str, Any]:
    """``chalice package --stage <stage> <out>`` of the stage's rendered project (deploy/project.py), with
    settings and policy generated from the template built in an in-process moto; answers that policy."""
    from deploy.aws import Account
    from deploy.packaging import EMBEDDED_ACCOUNT, EMBEDDED_REGION, embedded_outputs
    from deploy.packaging import package as package_stage
    from deploy.stage import Stage

    named = Stage.named(stage)
    outputs = embedded_outputs(named)
    with tempfile.TemporaryDirectory(prefix=f"ef-project-{stage}-") as project:
        _, policy = package_stage(
            named,
            out,
            outputs,
            account=Account(region=EMBEDDED_REGION),
            account_id=EMBEDDED_ACCOUNT,
            identities=[],
            project_dir=Path(project),
            base_env=packaging_env(),
        )
    return policy


def zip_sizes(out: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in sorted(out.glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            unzipped = sum(info.file_size for info in zf.infolist())
        sizes[f"{path.stem}.zipped"] = path.stat().st_size
        sizes[f"{path.stem}.unzipped"] = unzipped
    return sizes


def package(stage: str, out: Path) -> dict[str, int]:
    """Package ``stage`` into ``out`` and return the zipped and unzipped size of each zip, in bytes.

    The roles' policy is written next to the zips as ``policy.json``, for the packaging tests."""
    out = Path(out)
    policy = run_chalice_package(stage, out)
    (out.parent / f"policy-{stage}.json").write_text(json.dumps(policy, indent=2), encoding="utf-8")
    sizes = zip_sizes(out)
    if not sizes:
        raise RuntimeError(f"chalice package produced no zip in {out}")
    return sizes


def format_sizes(sizes: dict[str, int]) -> str:
    return " ".join(f"{name}={value}" for name, value in sizes.items())


def main(argv: list[str]) -> int:
    stage = argv[1] if len(argv) > 1 else "prod"
    if len(argv) > 2:
        sizes = package(stage, Path(argv[2]))
    else:
        with tempfile.TemporaryDirectory(prefix="ef-package-") as tmp:
            sizes = package(stage, Path(tmp) / "out")
    print(f"package sizes (bytes, stage {stage}): {format_sizes(sizes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

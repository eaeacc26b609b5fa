"""Package the app with ``chalice package`` and measure what it produced.

``package(stage, out)`` runs the venv's ``chalice`` console script from the project root with fake AWS
credentials (packaging talks to no AWS API, only to PyPI for Lambda-compatible wheels) and returns,
for every zip in ``out``, its size on disk and the sum of its members' uncompressed sizes, in bytes:

    {"deployment.zipped": ..., "deployment.unzipped": ...,
     "layer-deployment.zipped": ..., "layer-deployment.unzipped": ...}

Chalice caches both zips under ``.chalice/deployments/`` (git-ignored) and reuses them while the app
code, ``requirements.txt`` and ``vendor/`` are unchanged, so only the first run downloads wheels.

Run as a script to print the sizes: ``python bench/package_sizes.py [stage] [out-dir]``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 900

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


def chalice_executable() -> str:
    """The ``chalice`` console script of the running interpreter's environment (the venv)."""
    # sys.executable is not resolved: in a venv it is a symlink, and the script sits next to the link.
    beside = Path(sys.executable).parent / "chalice"
    if beside.is_file():
        return str(beside)
    found = shutil.which("chalice")
    if found:
        return found
    raise FileNotFoundError(f"no chalice console script next to {sys.executable} or on PATH")


def packaging_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(FAKE_AWS)
    # Chalice imports app.py (and so chalicelib) before it zips chalicelib/ as it is on disk: without
    # this, the import would write chalicelib/**/__pycache__ and the zip would pick it up.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_chalice_package(stage: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run ``chalice package --stage <stage> <out>`` from the project root; raise with its output on failure."""
    cmd = [chalice_executable(), "--project-dir", str(ROOT), "package", "--stage", stage, str(out)]
    # Chalice builds its zips in a cache shared by every run in this checkout (.chalice/deployments/): two
    # runs at once (pytest-xdist workers, or a bench beside the tests) would corrupt it, so take turns.
    lock_path = ROOT / ".chalice" / "deployments" / ".package.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = subprocess.run(
            cmd, cwd=ROOT, env=packaging_env(), capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    if run.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
        )
    return run


def zip_sizes(out: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in sorted(out.glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            unzipped = sum(info.file_size for info in zf.infolist())
        sizes[f"{path.stem}.zipped"] = path.stat().st_size
        sizes[f"{path.stem}.unzipped"] = unzipped
    return sizes


def package(stage: str, out: Path) -> dict[str, int]:
    """Package ``stage`` into ``out`` and return the zipped and unzipped size of each zip, in bytes."""
    out = Path(out)
    run_chalice_package(stage, out)
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

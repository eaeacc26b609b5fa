"""Figure 4: cold-start import cost of the handler module, as a ratio to a bare ``import boto3``.

Each sample is a fresh interpreter (``python -c ...``) started from the project root with the
environment a deployed function has (stage ``prod``, the three variables naming its Secrets Manager
secrets, a region) and nothing else from this process. Importing reads no secret: that happens on the
first call that needs the settings. ``import boto3`` and ``import app`` runs alternate, so load on the machine hits both
alike; the figure is the ratio of the medians.

Byte-code: every run reads and writes ``.pyc`` files under a private ``PYTHONPYCACHEPREFIX`` that one
warm-up run of each command fills, so both commands are measured with compiled byte-code, independent
of whatever ``__pycache__`` directories the working tree happens to hold, and nothing is written into it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:event-feedback-prod-{}"
LAMBDA_ENV = {
    "EF_STAGE": "prod",
    "EF_PSEUDONYM_SECRET_ARN": _SECRET_ARN.format("pseudonym"),
    "EF_PANEL_SECRET_ARN": _SECRET_ARN.format("panel"),
    "EF_SESSION_SECRET_ARN": _SECRET_ARN.format("session"),
    "AWS_DEFAULT_REGION": "us-east-1",
}
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
IMPORT_APP = "import app"
IMPORT_BOTO3 = "import boto3"
HEAVY = ("boto3", "botocore", "pynamodb", "jinja2", "pydantic", "aws_xray_sdk", "jwt", "cryptography")

# Imports the app with botocore's client factory wrapped, and reports what was imported and created.
PROBE = """
import json, sys
import botocore.client as _c
made = []
_orig = _c.ClientCreator.create_client
def _create(self, service_name, *a, **k):
    made.append(service_name)
    return _orig(self, service_name, *a, **k)
_c.ClientCreator.create_client = _create
import app
print(json.dumps({"clients": made}))
"""
MODULES = "import json, sys; import app; print(json.dumps(sorted(sys.modules)))"


@dataclass
class ImportTimes:
    runs: int
    boto3_ms: float
    app_ms: float
    bare_ms: float
    heavy_modules: dict[str, list[str]]  # top-level package -> its modules that ``import app`` loaded
    clients_created: list[str]

    @property
    def ratio(self) -> float:
        return self.app_ms / self.boto3_ms


def _env(cache: str, *, write: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT}
    env.update(LAMBDA_ENV)
    env["PYTHONPYCACHEPREFIX"] = cache
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(code: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed:\n{done.stderr[-2000:]}")
    return elapsed * 1000, done.stdout


def measure(runs: int = RUNS) -> ImportTimes:
    with tempfile.TemporaryDirectory(prefix="ef-pycache-") as cache:
        warm = _env(cache, write=True)
        for code in ("pass", IMPORT_BOTO3, IMPORT_APP, PROBE, MODULES):
            _run(code, warm)  # compile once into the private cache
        env = _env(cache, write=False)
        boto3_ms: list[float] = []
        app_ms: list[float] = []
        bare_ms: list[float] = []
        for i in range(runs):
            order = [(IMPORT_BOTO3, boto3_ms), (IMPORT_APP, app_ms)]
            for code, samples in order if i % 2 == 0 else reversed(order):
                samples.append(_run(code, env)[0])
            bare_ms.append(_run("pass", env)[0])
        _, out = _run(MODULES, env)
        loaded = json.loads(out)
        _, out = _run(PROBE, env)
        clients = json.loads(out.strip().splitlines()[-1])["clients"]
    heavy = {name: [m for m in loaded if m == name or m.startswith(f"{name}.")] for name in HEAVY}
    return ImportTimes(
        runs=runs,
        boto3_ms=statistics.median(boto3_ms),
        app_ms=statistics.median(app_ms),
        bare_ms=statistics.median(bare_ms),
        heavy_modules={name: mods for name, mods in heavy.items() if mods},
        clients_created=clients,
    )

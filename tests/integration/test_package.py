"""Deployability: ``chalice package --stage prod`` works, ships the right files and nothing else, and the
generated SAM template passes cfn-lint.

Packaging runs once per module (bench/package_sizes.py, shared with the benchmark). It needs network
access to PyPI the first time; afterwards Chalice reuses the zips cached in .chalice/deployments/.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from bench.package_sizes import ROOT, format_sizes, package

STAGE = "prod"
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # function code plus all layers, unzipped (Lambda quota, 250 MB)

# Import names and top-level directories of test and development tools; none may be in either zip.
DEV_TOP_LEVEL = {
    "tests", "test", "devstack", "bench", "tools", "infra", "docs", "doc", "examples",
    "moto", "pytest", "_pytest", "py", "pluggy", "playwright", "axe_playwright_python", "hypothesis",
    "_hypothesis_pytestplugin", "_hypothesis_ftz_detector", "cfnlint", "samtranslator", "mypy", "mypyc",
    "ruff", "boto3-stubs", "botocore-stubs", "xdist", "pytest_timeout", "freezegun", "babel",
    ".venv", ".chalice", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".git",
}  # fmt: skip
DEV_TOP_LEVEL_PREFIXES = ("mypy_boto3_", "types_", "_pytest")
# Files at the root of either zip that only documentation or development would put there.
DEV_ROOT_FILES = re.compile(
    r"^(README|CHANGELOG|CONTRIBUTING|requirements(-dev)?\.txt|conftest\.py|"
    r"pytest\.ini|setup\.cfg|pyproject\.toml|tox\.ini|Makefile)",
    re.IGNORECASE,
)
RUNTIME_LIBRARIES = ("pynamodb", "jinja2", "aws_lambda_powertools", "jwt", "boto3", "botocore")
FUNCTION_TOP_LEVEL = {"app.py", "chalice", "chalicelib", "templates"}
TEMPLATES = ("templates/pages/survey.html", "templates/emails/invitation.html")


def _requirement_names(path: Path) -> dict[str, str | None]:
    """Normalised distribution name -> pinned version (None if unpinned) from a requirements file."""
    out: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(==\s*([^;\s]+))?", line)
        assert match, line
        out[_normalise(match.group(1))] = match.group(4)
    return out


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


RUNTIME_REQUIREMENTS = _requirement_names(ROOT / "requirements.txt")
# Everything requirements-dev.txt adds on top of requirements.txt (chalice, moto, pytest, ...).
DEV_DISTRIBUTIONS = set(_requirement_names(ROOT / "requirements-dev.txt")) - set(RUNTIME_REQUIREMENTS)


@dataclass
class Packaged:
    out: Path
    sizes: dict[str, int]
    sam: dict[str, Any]
    function_files: list[str]
    layer_files: list[str]  # relative to the layer's site-packages directory
    layer_prefix: str
    policy: dict[str, Any]  # generated for the stage (deploy/policy.py), carried by every role


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return [n for n in zf.namelist() if not n.endswith("/")]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    out = tmp_path_factory.mktemp("chalice-package") / "out"
    started = time.monotonic()
    sizes = package(STAGE, out)
    elapsed = time.monotonic() - started
    print(f"\nchalice package --stage {STAGE}: {elapsed:.1f} s")
    print(f"package sizes (bytes): {format_sizes(sizes)}")
    sam = json.loads((out / "sam.json").read_text(encoding="utf-8"))
    runtimes = {
        r["Properties"]["Runtime"] for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    }
    assert len(runtimes) == 1, runtimes
    layer_prefix = f"python/lib/{runtimes.pop()}/site-packages/"
    layer_zip = out / "layer-deployment.zip"
    layer_all = _names(layer_zip) if layer_zip.exists() else []
    outside = [n for n in layer_all if not n.startswith(layer_prefix)]
    assert not outside, f"layer files outside {layer_prefix}: {outside[:20]}"
    return Packaged(
        out=out,
        sizes=sizes,
        sam=sam,
        function_files=_names(out / "deployment.zip"),
        layer_files=[n[len(layer_prefix) :] for n in layer_all],
        layer_prefix=layer_prefix,
        policy=json.loads((out.parent / f"policy-{STAGE}.json").read_text(encoding="utf-8")),
    )


def test_package_writes_template_function_zip_and_layer_zip(packaged: Packaged) -> None:
    produced = sorted(p.name for p in packaged.out.iterdir())
    # automatic_layer: the dependencies go to layer-deployment.zip, the app code to deployment.zip.
    assert produced == ["deployment.zip", "layer-deployment.zip", "sam.json"], produced
    layers = [r for r in packaged.sam["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert [r["Properties"]["ContentUri"] for r in layers] == ["./layer-deployment.zip"]
    for name, value in packaged.sizes.items():
        assert value > 0, name


def test_package_fits_lambda_size_quota(packaged: Packaged) -> None:
    total = packaged.sizes["deployment.unzipped"] + packaged.sizes["layer-deployment.unzipped"]
    assert total < LAMBDA_UNZIPPED_LIMIT, f"{total} bytes unzipped (function + layer)"


def test_function_zip_holds_the_app_code(packaged: Packaged) -> None:
    files = set(packaged.function_files)
    for required in (
        "app.py",
        "chalice/app.py",
        "chalicelib/__init__.py",
        "chalicelib/wiring.py",
        "chalicelib/jobs/handlers.py",
        "chalicelib/questionnaires/satisfaction.json",
        "chalicelib/data/countries.json",
        "chalicelib/data/public_values.txt",
        "chalicelib/static/dashboard/copy.js",
        "chalicelib/static/dashboard/status.js",
    ):
        assert required in files, required
    on_disk = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "chalicelib").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert not on_disk - files, f"chalicelib files missing from deployment.zip: {sorted(on_disk - files)}"
    top = {PurePosixPath(n).parts[0] for n in files}
    assert top <= FUNCTION_TOP_LEVEL, f"unexpected in deployment.zip: {sorted(top - FUNCTION_TOP_LEVEL)}"
    chalice_files = sorted(n for n in files if n.startswith("chalice/"))
    assert chalice_files == ["chalice/__init__.py", "chalice/app.py"], chalice_files


def test_templates_ship_in_the_layer(packaged: Packaged) -> None:
    """vendor/templates (a symlink to templates/) is packaged with the dependencies: with automatic_layer
    that is the layer's site-packages, which is on sys.path in Lambda, where the renderer looks."""
    in_layer = set(packaged.layer_files)
    missing = [t for t in TEMPLATES if t not in in_layer]
    assert not missing, f"{missing} not in layer-deployment.zip under {packaged.layer_prefix}"


def _dev_findings(files: list[str]) -> list[str]:
    findings = []
    for name in files:
        parts = PurePosixPath(name).parts
        top = parts[0]
        if top in DEV_TOP_LEVEL or top.startswith(DEV_TOP_LEVEL_PREFIXES):
            findings.append(name)
        elif "__pycache__" in parts or name.endswith((".pyc", ".pyo")):
            findings.append(name)
        elif "chalice/cli" in name or (
            name.startswith("chalice/") and not name.startswith(("chalice/app.py", "chalice/__init__.py"))
        ):
            findings.append(name)
        elif len(parts) == 1 and DEV_ROOT_FILES.match(top):
            findings.append(name)
        elif top.endswith((".dist-info", ".data", ".egg-info")):
            distribution = _normalise(top.split("-", 1)[0])
            if distribution in DEV_DISTRIBUTIONS or distribution.startswith(("mypy_boto3_", "types_")):
                findings.append(name)
    return findings


def test_no_test_or_development_tools_in_the_function_zip(packaged: Packaged) -> None:
    findings = _dev_findings(packaged.function_files)
    assert not findings, findings[:50]


def test_no_test_or_development_tools_in_the_layer(packaged: Packaged) -> None:
    findings = _dev_findings(packaged.layer_files)
    assert not findings, findings[:50]


def test_layer_holds_the_pinned_runtime_libraries(packaged: Packaged) -> None:
    files = set(packaged.layer_files)
    for library in RUNTIME_LIBRARIES:
        assert f"{library}/__init__.py" in files, f"{library} missing from the layer"
    installed = {}
    for name in files:
        top = PurePosixPath(name).parts[0]
        if top.endswith(".dist-info"):
            dist, version = top[: -len(".dist-info")].split("-", 1)
            installed[_normalise(dist)] = version
    wrong = {
        name: (pin, installed.get(name))
        for name, pin in RUNTIME_REQUIREMENTS.items()
        if pin is not None and installed.get(name) != pin
    }
    assert not wrong, f"requirements.txt pin vs layer: {wrong}"
    # The SDK ships in the layer, pinned, rather than relying on the runtime's copy.
    assert installed.get("boto3") and installed.get("botocore")


def test_every_role_carries_the_generated_policy(packaged: Packaged) -> None:
    policy = packaged.policy
    resources = packaged.sam["Resources"]
    roles = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    assert roles
    for lid, props in roles.items():
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        assert documents == [policy], f"{lid} does not carry the stage's generated policy"
        assert not props.get("ManagedPolicyArns"), f"{lid}: {props['ManagedPolicyArns']}"
    functions = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    # The policy's queues are the event sources' queues (the send queue, the SES feedback queue), no other.
    sources = {
        event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[1]
        for props in functions.values()
        for event in props.get("Events", {}).values()
        if event["Type"] == "SQS"
    }
    queue_arns = {r for s in policy["Statement"] for r in s["Resource"] if r.startswith("arn:aws:sqs:")}
    assert sources == {"event-feedback-prod-send", "event-feedback-prod-ses-feedback"}
    assert {a.rsplit(":", 1)[1] for a in queue_arns} == sources, (sources, queue_arns)


def test_every_function_traces_actively_and_may_write_traces(packaged: Packaged) -> None:
    """ "xray": true in the stage: Lambda traces every function (Powertools' Tracer adds the handler's
    subsegment and the AWS calls), and the roles may send the segments. (`chalice package` leaves the REST
    API's own tracing off, so a request's trace starts at the Lambda function.)"""
    resources = packaged.sam["Resources"]
    functions = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert len(functions) >= 5, sorted(functions)  # the API, its authorizer, schedule, sender, ses_feedback
    untraced = sorted(lid for lid, props in functions.items() if props.get("Tracing") != "Active")
    assert not untraced, f"functions without active tracing: {untraced}"
    policy = packaged.policy
    granted = {
        action
        for statement in policy["Statement"]
        if statement.get("Effect") == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= granted, "the roles cannot send traces"


def test_cfn_lint_accepts_the_generated_template(packaged: Packaged) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    assert cfn_lint.is_file(), f"no cfn-lint console script next to {sys.executable}"
    run = subprocess.run(
        [str(cfn_lint), str(packaged.out / "sam.json")], capture_output=True, text=True, timeout=300, check=False
    )
    print(f"\ncfn-lint sam.json: exit {run.returncode}{(chr(10) + run.stdout) if run.stdout.strip() else ''}")
    assert run.returncode == 0, run.stdout + run.stderr


def test_checkov_accepts_the_generated_template(packaged: Packaged) -> None:
    """checkov runs from its own venv (.venv-scan, `make scan-venv`) with the skips in .checkov.yaml, each
    with its reason. The secrets framework is left out here: the template's only "secrets" are the
    placeholders from .chalice/config.json, which deploys replace."""
    checkov = ROOT / ".venv-scan" / "bin" / "checkov"
    if not checkov.is_file():
        message = f"{checkov} is missing: run `make scan-venv`"
        if os.environ.get("EF_REQUIRE_SCANNERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    run = subprocess.run(
        [str(checkov), "-f", str(packaged.out / "sam.json"), "--framework", "cloudformation"],
        cwd=ROOT,  # where .checkov.yaml is
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(f"\ncheckov sam.json: exit {run.returncode}\n{run.stdout.strip()}")
    assert run.returncode == 0, run.stdout + run.stderr


ON_LAMBDA_PLATFORM = pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")),
    reason="the layer holds Linux x86_64 wheels; they import only on a matching host",
)


def _unzipped(packaged: Packaged, tmp_path: Path) -> tuple[Path, Path]:
    """The function and layer zips unpacked as Lambda does (/var/task and /opt): (task, site-packages)."""
    runtime = packaged.layer_prefix.split("/")[2]
    if runtime != f"python{sys.version_info.major}.{sys.version_info.minor}":
        pytest.skip(f"layer is for {runtime}, this interpreter is {sys.version_info[:2]}")
    task, opt = tmp_path / "task", tmp_path / "opt"
    with zipfile.ZipFile(packaged.out / "deployment.zip") as zf:
        zf.extractall(task)
    with zipfile.ZipFile(packaged.out / "layer-deployment.zip") as zf:
        zf.extractall(opt)
    return task, opt / packaged.layer_prefix


def _run_from_zips(code: str, task: Path, site: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-S", "-B", "-c", "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n" + code,
         str(task), str(site)],
        cwd=task,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


@ON_LAMBDA_PLATFORM
def test_packaged_app_imports_from_the_zips_alone(packaged: Packaged, tmp_path: Path) -> None:
    """Import the app and render from the unpacked zips with nothing else on the path. Rendering reads no
    settings, so stage ``test`` will do (the secrets of a cloud stage have the next test)."""
    task, site = _unzipped(packaged, tmp_path)
    code = (
        "import app, jwt, jinja2, pynamodb, boto3, botocore, aws_lambda_powertools\n"
        "import importlib.util; assert importlib.util.find_spec('cryptography') is None, 'cryptography shipped'\n"
        "from chalicelib.adapters import auth, rs256\n"
        "from chalicelib.adapters.renderer import JinjaRenderer\n"
        "html = JinjaRenderer().render_page('error', 'fr', {'kind': 'not_found', 'status': 404})\n"
        "assert 'lang=\"fr\"' in html, html\n"
        "subject, _, _ = JinjaRenderer().render_email('invitation', 'es', {'name': 'A', 'event_title': 'T',"
        " 'survey_url': 'u', 'unsubscribe_url': 'v', 'closes_on': None})\n"
        "print(sorted(app.app.routes), subject)\n"
    )
    run = _run_from_zips(code, task, site, {"EF_STAGE": "test"})
    assert run.returncode == 0, run.stdout + run.stderr


@ON_LAMBDA_PLATFORM
def test_packaged_app_reads_its_secrets_from_secrets_manager(packaged: Packaged, tmp_path: Path) -> None:
    """A prod function as deployed, from the unpacked zips: its three *_ARN variables name secrets in an
    embedded Secrets Manager (a moto server), and the settings read them through Powertools from the layer,
    checked against the shipped list of committed values."""
    import secrets as random_source

    import boto3
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    task, site = _unzipped(packaged, tmp_path)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        manager = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=endpoint)
        env = {
            "EF_STAGE": STAGE,
            "EF_ENDPOINT_URL": endpoint,
            "EF_PUBLIC_BASE_URL": "https://surveys.example.org",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        for role in ("PSEUDONYM", "PANEL", "SESSION"):
            made = manager.create_secret(Name=f"event-feedback-{STAGE}-{role.lower()}",
                                         SecretString=random_source.token_urlsafe(48))  # fmt: skip
            env[f"EF_{role}_SECRET_ARN"] = made["ARN"]
        code = (
            "from chalicelib.settings import get_settings\n"
            "s = get_settings()\n"
            "assert s.stage == 'prod' and len({s.pseudonym_secret, s.panel_secret, s.session_secret}) == 3\n"
            "assert min(len(s.pseudonym_secret), len(s.panel_secret), len(s.session_secret)) >= 32\n"
            "print('secrets read')\n"
        )
        run = _run_from_zips(code, task, site, env)
    finally:
        server.stop()
    assert run.returncode == 0 and "secrets read" in run.stdout, run.stdout + run.stderr

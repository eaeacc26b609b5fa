"""Running the deployed functions from the very zips Lambda holds, as Lambda's Python runtime would.

moto stores functions but cannot run them without a container runtime, so the rehearsal's smoke check and its
requests go through here: each function's code zip and layer zip are found by the SHA-256 that Lambda reports
for them (so what runs is byte for byte what was deployed), unpacked as Lambda unpacks them (code in the task
root, the layer under ``/opt``), and the handler Lambda names is called in a fresh interpreter that sees only the
standard library, the task root and the layer (``python -I -S``), with the function's deployed environment. The
one addition is the endpoint of the embedded AWS. API Gateway's part is played here too: an HTTP request becomes
the proxy event API Gateway sends, and an ``/admin`` route first calls the authorizer function and passes its
answer in ``requestContext.authorizer``, as API Gateway does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from deploy.aws import Account
from deploy.smoke import Reply
from deploy.stage import DeployError, Stage

_MARK = "@@lambda-result@@"
_BOOTSTRAP = r"""
import importlib, json, os, sys, time, uuid
task, opt = sys.argv[1], sys.argv[2]
sys.path[:0] = [task, os.path.join(opt, "python", "lib", "python%d.%d" % sys.version_info[:2], "site-packages"),
                os.path.join(opt, "python")]
os.chdir(task)
module, name = os.environ["_HANDLER"].rsplit(".", 1)
handler = getattr(importlib.import_module(module), name)
class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = os.environ["EF_REHEARSAL_FUNCTION_ARN"]
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "rehearsal"
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + int(os.environ["EF_REHEARSAL_TIMEOUT"])
    def get_remaining_time_in_millis(self):
        return int(max(0.0, self._deadline - time.monotonic()) * 1000)
for line in sys.stdin:
    try:
        out = {"ok": True, "result": handler(json.loads(line), Context())}
    except Exception as exc:
        out = {"ok": False, "error": {"errorType": type(exc).__name__, "errorMessage": str(exc)}}
    sys.stdout.write("\n%s%s\n" % (MARK, json.dumps(out, default=str)))
    sys.stdout.flush()
""".replace("MARK", repr(_MARK))


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: the base64 of the zip's SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class DeployedFunctions:
    """The stage's functions, runnable from their deployed zips (found in Chalice's zip cache by their hash)."""

    def __init__(self, account: Account, stage: Stage, project: Path, base_path: str = "/api") -> None:
        self.account = account
        self.stage = stage
        self.base_path = base_path
        self._dir = Path(tempfile.mkdtemp(prefix=f"lambda-{stage.prefix}-"))
        self._zips = {code_sha256(p.read_bytes()): p for p in (project / ".chalice" / "deployments").glob("*.zip")}
        self._unpacked: dict[str, Path] = {}
        self._configs: dict[str, dict[str, Any]] = {}
        self.output: list[str] = []  # what the functions printed (their logs), for the personal-data scan

    def _zip(self, sha: str, what: str) -> Path:
        found = self._zips.get(sha)
        if found is None:
            raise DeployError(f"{what}: no zip in the project's cache has the deployed CodeSha256 {sha}")
        return found

    def _unpack(self, sha: str, what: str, into: str) -> Path:
        if sha not in self._unpacked:
            target = self._dir / into / sha.replace("/", "_")[:16]
            with zipfile.ZipFile(self._zip(sha, what)) as archive:
                archive.extractall(target)
            self._unpacked[sha] = target
        return self._unpacked[sha]

    def config(self, function: str) -> dict[str, Any]:
        if function not in self._configs:
            name = self.stage.function_names[function]
            self._configs[function] = self.account.client("lambda").get_function_configuration(FunctionName=name)
        return self._configs[function]

    def invoke_many(self, function: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Invoke one function with several events in one process: the first is a cold start, the rest warm."""
        config = self.config(function)
        task = self._unpack(config["CodeSha256"], config["FunctionName"], "task")
        layers = config.get("Layers", [])
        if len(layers) != 1:
            raise DeployError(f"{config['FunctionName']} has {len(layers)} layers; expected the managed layer")
        layer = self.account.client("lambda").get_layer_version_by_arn(Arn=layers[0]["Arn"])
        opt = self._unpack(layer["Content"]["CodeSha256"], layers[0]["Arn"], "opt")
        env = {
            **config.get("Environment", {}).get("Variables", {}),
            "_HANDLER": config["Handler"],
            "AWS_LAMBDA_FUNCTION_NAME": config["FunctionName"],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config["MemorySize"]),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config['Runtime']}",
            "AWS_REGION": self.account.region,
            "AWS_DEFAULT_REGION": self.account.region,
            "LAMBDA_TASK_ROOT": str(task),
            "EF_REHEARSAL_FUNCTION_ARN": config["FunctionArn"],
            "EF_REHEARSAL_TIMEOUT": str(config["Timeout"]),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # The embedded AWS stands in for the account: its endpoint, and the credentials it accepts.
            "AWS_ENDPOINT_URL": str(self.account.endpoint_url),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }
        stdin = "".join(json.dumps(event) + "\n" for event in events)
        done = subprocess.run(  # noqa: S603 - our own interpreter and bootstrap
            [sys.executable, "-I", "-S", "-c", _BOOTSTRAP, str(task), str(opt)],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=120 + 10 * len(events),
            check=False,
        )
        results, logs = [], []
        for line in done.stdout.splitlines():
            (results if line.startswith(_MARK) else logs).append(line)
        self.output += logs + done.stderr.splitlines()
        if len(results) != len(events):
            raise DeployError(
                f"{config['FunctionName']} did not answer every event (exit {done.returncode}):\n"
                + "\n".join((logs + done.stderr.splitlines())[-15:])
            )
        return [json.loads(line[len(_MARK) :]) for line in results]

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        return self.invoke_many(function, [event])[0]

    def http(self, method: str, path: str, headers: dict[str, str] | None = None, body: str = "") -> Reply:
        event = self.proxy_event(method, path, headers or {}, body)
        if event["resource"] == "/admin" or event["resource"].startswith("/admin/"):
            token = {k.lower(): v for k, v in (headers or {}).items()}.get("authorization")
            if not token:
                return Reply(401, {"Content-Type": "application/json"}, '{"message":"Unauthorized"}')
            answer = self.invoke("cognito_jwt", {"type": "TOKEN", "authorizationToken": token,
                                                "methodArn": event["requestContext"]["methodArn"]})  # fmt: skip
            if not answer["ok"]:
                return Reply(500, {"Content-Type": "application/json"}, '{"message":null}')
            policy = answer["result"]
            event["requestContext"]["authorizer"] = {**policy.get("context", {}), "principalId": policy["principalId"]}
        answer = self.invoke("api_handler", event)
        if not answer["ok"]:
            return Reply(502, {"Content-Type": "application/json"}, '{"message":"Internal server error"}')
        result = answer["result"]
        text = result.get("body") or ""
        if result.get("isBase64Encoded"):
            text = base64.b64decode(text).decode("utf-8", "replace")
        return Reply(int(result["statusCode"]), dict(result.get("headers") or {}), text)

    def proxy_event(self, method: str, path: str, headers: dict[str, str], body: str) -> dict[str, Any]:
        """The REST API proxy event for a request to ``<stage URL><path>``, with the route it matches."""
        import app as application

        split = urlsplit(path)
        resource, params = _match(list(application.app.routes), split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()} or None
        account = self.account.id
        arn = f"arn:aws:execute-api:{self.account.region}:{account}:rehearsal/api/{method}{split.path}"
        return {
            "resource": resource,
            "path": split.path,
            "httpMethod": method,
            "headers": {"Host": "rehearsal.execute-api.amazonaws.com", **headers},
            "multiValueHeaders": {k: [v] for k, v in {"Host": "rehearsal", **headers}.items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": dict(parse_qs(split.query)) or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": self.base_path + split.path,
                "stage": self.base_path.strip("/") or "$default",
                "requestId": str(uuid.uuid4()),
                "accountId": account,
                "apiId": "rehearsal",
                "identity": {"sourceIp": "192.0.2.1", "userAgent": "event-feedback rehearsal"},
                "methodArn": arn,
            },
            "body": body or None,
            "isBase64Encoded": False,
        }


def _match(routes: list[str], path: str) -> tuple[str, dict[str, str]]:
    """The route template API Gateway would pick for ``path``: Chalice's own matcher (``chalice local``'s), which
    tries literal segments before parameters. Its captures can keep names from a route it tried first, so only
    the matched route's parameters are kept."""
    from chalice.local import RouteMatcher

    try:
        found = RouteMatcher(routes).match_route(path)
    except ValueError:
        raise DeployError(f"no route of the app matches {path}") from None
    names = {part[1:-1] for part in found.route.split("/") if part.startswith("{") and part.endswith("}")}
    return found.route, {name: value for name, value in found.captured.items() if name in names}

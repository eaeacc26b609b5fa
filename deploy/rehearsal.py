"""``make deploy-rehearsal``: ``make deploy STAGE=dev`` into a fresh embedded AWS, checked, updated and torn down.

The same code as a real deploy runs (deploy.deploying, the real ``chalice deploy`` and ``chalice delete`` CLIs,
the wiring checks and the smoke probes); only the endpoint (a moto server started for the rehearsal, with the
API Gateway patch of devstack/moto_apigateway.py, moto's defects only) and the way the infra resources are
created (devstack.provision instead of CloudFormation) differ. Then, beyond what a real deploy does:

- an admin signs in to the deployed pool and uses the admin API through the deployed authorizer and API
  function; a participant gets the emailed link, opens it behind the ``/api`` stage path, answers and is
  redirected inside the stage; the summary counts the answer;
- a second ``make deploy`` updates in place (one REST API, one event source mapping for each of the sender and
  ses_feedback, no new secret values);
- ``make destroy STAGE=dev DATA=delete`` leaves nothing of the stage in the account.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.stage import Stage

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# Anything that could point the rehearsal at a real account is dropped from its environment.
REAL_ACCOUNT_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
)
SENDER = "surveys@example.org"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def embedded_aws() -> Iterator[str]:
    """A fresh moto server in this process (with the API Gateway patch); answers its endpoint.

    In this process rather than beside it, so that the rehearsal can read what SES accepted (moto's server has
    no API for that), as the local stack's outbox does.
    """
    import logging

    from moto.server import ThreadedMotoServer

    from devstack import moto_apigateway

    moto_apigateway.install()
    restore_lambda = _lambda_runs_nothing()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        restore_lambda()
        moto_apigateway.uninstall()


def _lambda_runs_nothing() -> Callable[[], None]:
    """moto "invokes" a function with an SQS mapping on every SendMessage, through Docker, which is not here: it
    prints a Docker warning, fails, and puts the messages back. Fail the same way, quietly; the rehearsal then
    delivers the queue to the deployed sender itself (deploy/rehearsal_flow.py), as the mapping would."""
    from moto.awslambda.models import LambdaFunction

    def not_here(self: object, event: str | None = None) -> tuple[str, bool, str]:
        return "Lambda code does not run in the embedded AWS (no container runtime)", True, ""

    original = LambdaFunction._invoke_lambda
    LambdaFunction._invoke_lambda = not_here  # type: ignore[method-assign]

    def restore() -> None:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]

    return restore


def accepted_emails(region: str = "us-east-1") -> list[bytes]:
    """Every raw email the embedded SES accepted, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    messages = ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages
    return [m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data for m in messages]


def rehearse() -> int:
    from deploy.artifacts import DeployedFunctions
    from deploy.aws import Account
    from deploy.deploying import Options, deploy, destroy
    from deploy.infra import EmbeddedInfra
    from deploy.inventory import inventory, rest_apis
    from deploy.rehearsal_flow import participant_round_trip
    from deploy.reporting import verify_and_report

    started = time.monotonic()
    for name in REAL_ACCOUNT_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(FAKE_CREDENTIALS)
    failures: list[str] = []
    with embedded_aws() as endpoint, tempfile.TemporaryDirectory(prefix="rehearsal-") as work:
        print(f"Rehearsal: make deploy STAGE=dev into a fresh embedded AWS at {endpoint}")
        account = Account.from_environment("us-east-1", endpoint_url=endpoint)
        stage = Stage.named("dev")
        infra = EmbeddedInfra(account)
        # The runbook's prerequisite, done once by ops in the console: the sender's domain verified in SES.
        account.client("ses").verify_domain_identity(Domain=SENDER.rpartition("@")[2])
        project = Path(work) / "dev"
        deployed = deploy(stage, account, infra, Options(sender=SENDER), project_dir=project)
        functions = DeployedFunctions(account, stage, project)
        if verify_and_report(deployed, functions) != 0:
            failures.append("the deployed stage failed its checks")
        print("\nThrough the deployed functions (API Gateway played by the harness, stage path /api):")
        for what, problem in participant_round_trip(deployed, functions):
            print(f"  {'ok  ' if problem is None else 'FAIL'} {what}" + (f": {problem}" if problem else ""))
            if problem:
                failures.append(f"{what}: {problem}")

        print("\nRe-running make deploy STAGE=dev (an update in place):")
        again = deploy(stage, account, infra, Options(), project_dir=project, say=lambda line: print("  " + line))
        apis = rest_apis(account, stage)
        lambda_ = account.client("lambda")
        mappings = {}
        for name in ("sender", "ses_feedback"):
            function = lambda_.get_function_configuration(FunctionName=stage.function_names[name])
            found = lambda_.list_event_source_mappings(FunctionName=function["FunctionArn"])["EventSourceMappings"]
            mappings[name] = len(found)
        same = again.outputs == deployed.outputs and again.api_url == deployed.api_url
        summary = f"{len(apis)} REST API, event source mappings {mappings}, same outputs and URL: {same}"
        print(f"  {summary}")
        if len(apis) != 1 or set(mappings.values()) != {1} or not same:
            failures.append(f"the second deploy did not update in place ({summary})")

        print("\nmake destroy STAGE=dev DATA=delete:")
        destroy(stage, account, infra, data=True, project_dir=project, say=lambda line: print("  " + line))
        left = inventory(account, stage)
        if left:
            failures.append(f"the teardown left {left}")
            print(f"  FAIL left behind: {left}")
        else:
            print(f"  nothing of {stage.prefix} is left in the account (14 kinds of resource searched)")
        leaked = [line for line in functions.output if _PERSONAL.search(line)]
        if leaked:
            failures.append(f"{len(leaked)} log lines of the functions carry an address or a link token")
    took = time.monotonic() - started
    if failures:
        print(f"\nRehearsal FAILED in {took:.0f} s:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print(f"\nRehearsal passed in {took:.0f} s.")
    return 0


# An e-mail address, or a survey link's token (43 URL-safe characters), in what the functions logged.
_PERSONAL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|/[suro]/[A-Za-z0-9_-]{40,}")

"""A cloud stage with its secrets in (in-process moto) Secrets Manager, through the Chalice test client and the
real handlers: the values are read once per time-to-live, a rotation takes effect without a restart, and a
refused configuration is a JSON 500, the participants' "unavailable" page, a 500 health check, failed job
invocations (so their triggers retry) and one clear log record, with no traceback and no secret value."""

from __future__ import annotations

import json
import logging
import secrets as random_source
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import clients, container
from tests.support.api import auth, event_ending, import_rows, make_wave, send_route
from tests.support.clock import at
from tests.support.data import YEAR, row
from tests.support.stack import Stack

ROLES = ("pseudonym", "panel", "session")
REFUSED = "configuration refused"
PLACEHOLDER = "set-from-ssm-or-secrets-manager-at-least-32-chars"  # .chalice/config.json, before this change


@dataclass
class Cloud:
    manager: Any  # the test's own Secrets Manager client (not the app's, so not counted)
    arns: dict[str, str]
    values: dict[str, str]

    def rotate(self, role: str, value: str) -> None:
        self.manager.put_secret_value(SecretId=self.arns[role], SecretString=value)
        self.values[role] = value


@pytest.fixture
def cloud(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    """The stack as stage prod: three generated secrets, named by the *_ARN variables; no value in the env."""
    manager = boto3.client("secretsmanager", region_name="us-east-1")
    arns, values = {}, {}
    for role in ROLES:
        values[role] = random_source.token_urlsafe(48)
        arns[role] = manager.create_secret(Name=f"event-feedback-prod-{role}", SecretString=values[role])["ARN"]
        monkeypatch.delenv(f"EF_{role.upper()}_SECRET", raising=False)
        monkeypatch.setenv(f"EF_{role.upper()}_SECRET_ARN", arns[role])
    monkeypatch.setenv("EF_STAGE", "prod")
    container.reset()
    return Cloud(manager, arns, values)


@pytest.fixture
def cloud_client(cloud: Cloud, tmp_path: Path) -> Iterator[Any]:
    """The Chalice test client with no project config: the environment is the one the fixture set, as in a
    deployed function (the repository's .chalice/config.json would put its own stage variables on top)."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="prod", project_dir=str(tmp_path)) as c:
        yield c


def secret_reads() -> list[str]:
    """Every GetSecretValue the app's own client makes from now on (the secret ids asked for)."""
    asked: list[str] = []
    app_client = clients.client_at("secretsmanager", "us-east-1", None)
    app_client.meta.events.register(
        "provide-client-params.secrets-manager.GetSecretValue", lambda params, **_: asked.append(params["SecretId"])
    )
    return asked


# --- values read, and how often ------------------------------------------------------------------------


def test_given_a_cloud_stage_when_it_serves_then_its_secrets_come_from_secrets_manager(cloud, cloud_client, tokens):
    assert cloud_client.http.get("/health").status_code == 200
    settings = container.settings()
    assert (settings.pseudonym_secret, settings.panel_secret, settings.session_secret) == tuple(
        cloud.values[role] for role in ROLES
    )
    r = cloud_client.http.get("/admin/events", headers=auth(tokens["admin"]))
    assert r.status_code == 200, r.body


def test_secrets_are_read_at_first_use_only_until_the_time_to_live_runs_out(cloud, cloud_client, tokens):
    asked = secret_reads()
    for _ in range(5):
        assert cloud_client.http.get("/health").status_code == 200
        assert cloud_client.http.get("/admin/events", headers=auth(tokens["admin"])).status_code == 200
    for _ in range(1000):
        container.settings()
    assert sorted(asked) == sorted(cloud.arns.values())


def test_a_rotated_secret_takes_effect_after_the_time_to_live_without_a_restart(cloud, monkeypatch):
    monkeypatch.setenv("EF_SECRETS_MAX_AGE", "1")
    before = container.settings().session_secret
    assert before == cloud.values["session"]
    cloud.rotate("session", random_source.token_urlsafe(48))
    assert container.settings().session_secret == before  # still within the time-to-live
    time.sleep(1.1)
    assert container.settings().session_secret == cloud.values["session"] != before


# --- a refused configuration, as each client sees it ---------------------------------------------------

Breakage = Callable[[Cloud, pytest.MonkeyPatch], None]


def _missing_arn(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EF_PANEL_SECRET_ARN")


def _not_found(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_PANEL_SECRET_ARN", "event-feedback-prod-no-such-secret")


def _scheduled_for_deletion(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud.manager.delete_secret(SecretId=cloud.arns["panel"], RecoveryWindowInDays=7)


def _short(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud.rotate("panel", random_source.token_urlsafe(16))


def _equal(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud.rotate("session", cloud.values["pseudonym"])


def _committed(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud.rotate("panel", PLACEHOLDER)


def _value_in_environment(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_SESSION_SECRET", cloud.values["session"])


def _local_stage_in_lambda(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_STAGE", "local")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "event-feedback-local")


BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "missing ARN variable": (_missing_arn, "EF_PANEL_SECRET_ARN is not set"),
    "secret not found": (_not_found, "EF_PANEL_SECRET_ARN names (event-feedback-prod-no-such-secret) was not found"),
    "secret scheduled for deletion": (_scheduled_for_deletion, "scheduled for deletion"),
    "short value": (_short, "EF_PANEL_SECRET_ARN names is shorter than 32 characters"),
    "equal values": (_equal, "EF_PSEUDONYM_SECRET_ARN and EF_SESSION_SECRET_ARN name are equal"),
    "committed value": (_committed, "EF_PANEL_SECRET_ARN names equals a value committed in this repository"),
    "value in the environment": (_value_in_environment, "secrets come from Secrets Manager, not the environment"),
    "local stage in a Lambda": (_local_stage_in_lambda, "inside a real Lambda"),
}


@pytest.fixture(params=sorted(BREAKAGES))
def broken(request: pytest.FixtureRequest, cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> str:
    """One way to misconfigure the stage; the reason its log record must give."""
    breakage, reason = BREAKAGES[request.param]
    breakage(cloud, monkeypatch)
    return reason


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == REFUSED]


def assert_logged_once_clearly(caplog: pytest.LogCaptureFixture, reason: str, cloud: Cloud) -> None:
    found = refusals(caplog)
    assert len(found) == 1, [r.getMessage() for r in caplog.records]
    record = found[0]
    assert record.levelno == logging.ERROR and reason in record.reason  # type: ignore[attr-defined]
    for r in caplog.records:
        assert r.exc_info is None and not r.exc_text, f"traceback logged: {r.getMessage()}"
        text = r.getMessage() + json.dumps(r.__dict__, default=str)
        assert "Traceback" not in text
        for value in cloud.values.values():
            assert value not in text, "a secret value reached the logs"
    caplog.clear()


def assert_no_secret_in(text: str, cloud: Cloud) -> None:
    for value in cloud.values.values():
        assert value not in text
    assert "Traceback" not in text and "EF_" not in text and "arn:aws" not in text


def test_a_refused_configuration_answers_the_admin_api_with_a_json_500(broken, cloud, cloud_client, tokens, caplog):
    r = cloud_client.http.get("/admin/events", headers=auth(tokens["admin"]))
    assert r.status_code == 500 and r.headers["Content-Type"] == "application/json"
    error = json.loads(r.body)["error"]
    assert error["code"] == "configuration" and error["message"]
    assert_no_secret_in(r.body.decode(), cloud)
    # The authorizer and the route run in this one process here (two Lambdas when deployed): one record each.
    found = refusals(caplog)
    assert len(found) == 2 and all(broken in r.reason for r in found)  # type: ignore[attr-defined]
    assert all(r.exc_info is None and not r.exc_text for r in caplog.records)


def test_a_refused_configuration_fails_the_health_check(broken, cloud, cloud_client, caplog):
    r = cloud_client.http.get("/health")
    assert r.status_code == 500 and r.headers["Content-Type"] == "application/json"
    assert json.loads(r.body)["error"]["code"] == "configuration"
    assert b"ok" not in r.body
    assert_logged_once_clearly(caplog, broken, cloud)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/s/{token}"), ("POST", "/s/{token}"), ("GET", "/u/{token}"), ("POST", "/u/{token}")],
)
def test_a_refused_configuration_shows_participants_the_unavailable_page(
    broken, cloud, cloud_client, caplog, method, path
):
    token = random_source.token_urlsafe(32)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if method == "POST" else {}
    r = cloud_client.http.request(method, path.format(token=token), headers=headers, body=b"q1=5")
    text = r.body.decode()
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("text/html")
    assert "<h1>Please try again</h1>" in text
    assert_no_secret_in(text, cloud)
    assert_logged_once_clearly(caplog, broken, cloud)


def test_a_refused_configuration_shows_the_dashboard_a_page_not_a_traceback(broken, cloud, cloud_client, caplog):
    r = cloud_client.http.get("/dashboard")
    assert r.status_code == 500 and "<h1>Please try again</h1>" in r.body.decode()
    assert_no_secret_in(r.body.decode(), cloud)
    assert_logged_once_clearly(caplog, broken, cloud)


# --- jobs: the invocation fails, so the trigger retries and nothing is lost ------------------------------


def test_a_refused_configuration_fails_every_job_invocation(broken, cloud, cloud_client, caplog):
    from chalicelib.domain.errors import ConfigurationError

    events = {
        "schedule": cloud_client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []),
        "sender": cloud_client.events.generate_sqs_event(queue_name="event-feedback-send", message_bodies=["{}"]),
        "ses_feedback": cloud_client.events.generate_sqs_event(
            queue_name="event-feedback-ses-feedback", message_bodies=[json.dumps({"notificationType": "Delivery"})]
        ),
    }
    for name, event in events.items():
        with pytest.raises(ConfigurationError) as caught:
            cloud_client.lambda_.invoke(name, event)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__, name
        assert_logged_once_clearly(caplog, broken, cloud)


def test_a_send_job_refused_for_its_configuration_is_sent_when_redelivered_after_the_fix(
    cloud, cloud_client, tokens, clock, stack, monkeypatch, caplog
):
    from chalicelib.domain.errors import ConfigurationError

    admin = tokens["admin"]
    ends = date(YEAR, 6, 10)
    clock.now = at(ends, "12:00")
    event_id = event_ending(cloud_client, admin, ends)
    import_rows(cloud_client, admin, event_id, [row("p1@example.org"), row("p2@example.org")])
    wave_id = make_wave(cloud_client, admin, event_id)
    assert send_route(cloud_client, admin, event_id, wave_id)["queued"] == 2
    bodies = stack.queue_bodies()
    event = cloud_client.events.generate_sqs_event(queue_name="event-feedback-send", message_bodies=bodies)

    _value_in_environment(cloud, monkeypatch)  # a deploy that put a secret back into the environment
    with pytest.raises(ConfigurationError, match="secrets come from Secrets Manager, not the environment"):
        cloud_client.lambda_.invoke("sender", event)
    assert stack.ses_messages() == []

    monkeypatch.delenv("EF_SESSION_SECRET")  # fixed; SQS redelivers the same messages
    assert cloud_client.lambda_.invoke("sender", event).payload == {"sent": 2}
    assert len(stack.ses_messages()) == 2
    assert len(refusals(caplog)) == 1

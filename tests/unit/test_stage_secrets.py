"""A cloud stage's secrets: every rule that refuses to run, and the cache that keeps get_settings() off the
network. No AWS: Powertools' real provider over a botocore client whose calls are answered in-process."""

from __future__ import annotations

import secrets as random_source
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from chalicelib import clients, settings, stage_secrets
from chalicelib.domain.errors import ConfigurationError, TemporarilyUnavailable
from chalicelib.settings import get_settings, load_settings

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:event-feedback-prod-{}-AbCdEf"
ROLES = ("PSEUDONYM", "PANEL", "SESSION")
ARN_VARIABLES = tuple(f"EF_{role}_SECRET_ARN" for role in ROLES)
VALUE_VARIABLES = tuple(f"EF_{role}_SECRET" for role in ROLES)


def fresh_value() -> str:
    return random_source.token_urlsafe(48)


def cloud_env(**extra: str) -> dict[str, str]:
    env = {"EF_STAGE": "prod", "AWS_REGION": "us-east-1", "EF_PUBLIC_BASE_URL": "https://surveys.example.org"}
    env.update({variable: ARN.format(role.lower()) for variable, role in zip(ARN_VARIABLES, ROLES, strict=True)})
    env.update(extra)
    return env


class FakeSecretsManager:
    """A real Secrets Manager client whose GetSecretValue never leaves the process: a ``before-call`` handler
    answers it (as botocore's Stubber does, but for whichever secret is asked, in any order) from ``values``
    (ARN -> value) or ``errors`` (ARN -> error code), and counts the calls."""

    def __init__(self, values: dict[str, str | bytes]) -> None:
        self.values = values
        self.errors: dict[str, str] = {}
        self.calls = 0
        self.client = boto3.client("secretsmanager", region_name="us-east-1")
        self._asked = ""
        events = self.client.meta.events
        events.register("before-parameter-build.secrets-manager.GetSecretValue", self._note)
        events.register("before-call.secrets-manager.GetSecretValue", self._answer)
        self.provider = SecretsProvider(boto3_client=self.client)

    def _note(self, params: dict[str, Any], **_: Any) -> None:
        self._asked = params["SecretId"]  # before-call sees the serialised request, not the parameters

    def _answer(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        self.calls += 1
        name = self._asked
        if name in self.errors:
            error = {"Error": {"Code": self.errors[name], "Message": "refused"}, "ResponseMetadata": {}}
            return AWSResponse(name, 400, {}, None), error
        value = self.values[name]
        field = "SecretBinary" if isinstance(value, bytes) else "SecretString"
        return AWSResponse(name, 200, {}, None), {"ARN": name, "Name": name, field: value, "ResponseMetadata": {}}


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> FakeSecretsManager:
    """Fresh random values for the three secrets of cloud_env(), served through clients.secrets_provider."""
    fake = FakeSecretsManager({ARN.format(role.lower()): fresh_value() for role in ROLES})
    monkeypatch.setattr(clients, "secrets_provider", lambda region, endpoint: fake.provider)
    return fake


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(env)
    return caught.value.message


def set_value(manager: FakeSecretsManager, role: str, value: str | bytes) -> None:
    manager.values[ARN.format(role.lower())] = value


# --- where the secrets come from -----------------------------------------------------------------------


def test_given_good_secrets_when_settings_load_then_the_values_come_from_secrets_manager(manager):
    loaded = load_settings(cloud_env())
    assert loaded.pseudonym_secret == manager.values[ARN.format("pseudonym")]
    assert loaded.panel_secret == manager.values[ARN.format("panel")]
    assert loaded.session_secret == manager.values[ARN.format("session")]
    assert loaded.secrets_max_age == 300
    assert manager.calls == 3


@pytest.mark.parametrize("variable", ARN_VARIABLES)
def test_a_missing_arn_variable_is_refused_by_name(manager, variable):
    env = cloud_env()
    del env[variable]
    message = refusal(env)
    assert variable in message and "not set" in message
    assert manager.calls == 0


@pytest.mark.parametrize("variable", VALUE_VARIABLES)
def test_a_secret_value_in_the_environment_is_refused(manager, variable):
    value = fresh_value()
    message = refusal(cloud_env(**{variable: value}))
    assert variable in message
    assert "secrets come from Secrets Manager, not the environment" in message
    assert value not in message
    assert manager.calls == 0


def test_the_committed_placeholder_in_the_environment_is_refused_even_with_arns(manager):
    placeholder = "set-from-ssm-or-secrets-manager-at-least-32-chars"
    message = refusal(cloud_env(**dict.fromkeys(VALUE_VARIABLES, placeholder)))
    assert all(variable in message for variable in VALUE_VARIABLES)
    assert placeholder not in message


def test_every_stage_but_local_and_test_is_a_cloud_stage(manager):
    for stage in ("dev", "prod", "staging"):
        assert "EF_PANEL_SECRET_ARN" in refusal({"EF_STAGE": stage, "EF_PANEL_SECRET": fresh_value()})
    assert "not set" in refusal({})  # no EF_STAGE: dev


# --- reading them --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("ResourceNotFoundException", "was not found"),
        ("AccessDeniedException", "access to the secret that EF_PANEL_SECRET_ARN names"),
        ("DecryptionFailure", "cannot be decrypted"),
        ("InvalidRequestException", "scheduled for deletion"),
    ],
)
def test_an_unreadable_secret_is_refused_saying_why(manager, code, says):
    manager.errors[ARN.format("panel")] = code
    message = refusal(cloud_env())
    assert "EF_PANEL_SECRET_ARN" in message and says in message
    assert code != "AccessDeniedException" or "secretsmanager:GetSecretValue" in message


def test_a_throttled_read_is_temporary_not_a_refusal(manager):
    manager.errors[ARN.format("session")] = "ThrottlingException"
    with pytest.raises(TemporarilyUnavailable, match="EF_SESSION_SECRET_ARN"):
        load_settings(cloud_env())


def test_an_unreachable_secrets_manager_is_temporary(manager):
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")

    manager.client.meta.events.register_first("before-call.secrets-manager.GetSecretValue", unreachable)
    with pytest.raises(TemporarilyUnavailable, match="EndpointConnectionError"):
        load_settings(cloud_env())


def test_a_binary_secret_is_refused(manager):
    set_value(manager, "SESSION", fresh_value().encode())
    assert "binary" in refusal(cloud_env())


# --- what they may be ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_a_short_secret_is_refused_without_its_value(manager, role):
    short = fresh_value()[:31]
    set_value(manager, role, short)
    message = refusal(cloud_env())
    assert f"EF_{role}_SECRET_ARN" in message and "shorter than 32 characters" in message
    assert short not in message


def test_a_secret_of_exactly_32_characters_is_enough(manager):
    set_value(manager, "PANEL", fresh_value()[:32])
    assert len(load_settings(cloud_env()).panel_secret) == 32


def test_a_repetitive_secret_is_refused(manager):
    set_value(manager, "PANEL", "x" * 40)
    assert "fewer than 8 different characters" in refusal(cloud_env())


def test_two_equal_secrets_are_refused_naming_both(manager):
    shared = fresh_value()
    set_value(manager, "PSEUDONYM", shared)
    set_value(manager, "SESSION", shared)
    message = refusal(cloud_env())
    assert "EF_PSEUDONYM_SECRET_ARN" in message and "EF_SESSION_SECRET_ARN" in message and "equal" in message
    assert shared not in message


@pytest.mark.parametrize(
    "committed",
    [
        "set-from-ssm-or-secrets-manager-at-least-32-chars",  # .chalice/config.json's placeholder
        "local-pseudonym-secret-not-for-production",  # the built-in local defaults
        "local-panel-secret-not-for-production!!",
        "local-session-secret-not-for-production!",
        "test-session-secret-0123456789abcdefghij",  # tests/integration/conftest.py
    ],
)
def test_a_secret_equal_to_a_committed_value_is_refused(manager, committed):
    set_value(manager, "SESSION", committed)
    message = refusal(cloud_env())
    assert "EF_SESSION_SECRET_ARN" in message and "committed in this repository" in message
    assert committed not in message


def test_a_committed_value_with_a_trailing_newline_is_still_refused(manager):
    set_value(manager, "PANEL", "set-from-ssm-or-secrets-manager-at-least-32-chars\n")
    assert "committed in this repository" in refusal(cloud_env())


def test_the_time_to_live_must_be_a_positive_whole_number(manager):
    assert "EF_SECRETS_MAX_AGE must be at least 1" in refusal(cloud_env(EF_SECRETS_MAX_AGE="0"))
    assert "EF_SECRETS_MAX_AGE must be an integer" in refusal(cloud_env(EF_SECRETS_MAX_AGE="5m"))
    assert load_settings(cloud_env(EF_SECRETS_MAX_AGE="60")).secrets_max_age == 60


# --- local and test stages -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["local", "test"])
def test_local_stages_keep_environment_values_or_the_built_in_defaults(stage):
    value = fresh_value()
    assert load_settings({"EF_STAGE": stage, "EF_PANEL_SECRET": value}).panel_secret == value
    defaults = load_settings({"EF_STAGE": stage})
    assert defaults.pseudonym_secret == "local-pseudonym-secret-not-for-production"


@pytest.mark.parametrize("stage", ["local", "test"])
@pytest.mark.parametrize(
    "lambda_env",
    [{"AWS_LAMBDA_FUNCTION_NAME": "event-feedback-local-api"}, {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"}],
)
def test_local_stages_refuse_to_run_in_a_real_lambda(stage, lambda_env):
    message = refusal({"EF_STAGE": stage, **lambda_env})
    assert "inside a real Lambda" in message and "EF_ENDPOINT_URL" in message


@pytest.mark.parametrize("endpoint", ["EF_ENDPOINT_URL", "AWS_ENDPOINT_URL"])
def test_local_stages_run_in_a_lambda_against_an_embedded_aws(endpoint):
    env = {"EF_STAGE": "local", "AWS_LAMBDA_FUNCTION_NAME": "f", endpoint: "http://127.0.0.1:5000"}
    assert load_settings(env).stage == "local"


def test_chalices_own_execution_env_marker_is_not_a_real_lambda():
    # Chalice() sets this in every process that imports the app, tests and `chalice local` included.
    for marker in ("AWS_Lambda aws-chalice/1.34.0", "AWS_Lambda aws-chalice/1.34.0 aws-chalice/1.34.0"):
        assert load_settings({"EF_STAGE": "local", "AWS_EXECUTION_ENV": marker}).stage == "local"
    real = "AWS_Lambda_python3.11 aws-chalice/1.34.0"
    assert "inside a real Lambda" in refusal({"EF_STAGE": "local", "AWS_EXECUTION_ENV": real})


# --- get_settings(): a lookup per call, the network at first use and after the time-to-live ---------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(settings, "_clock", fake)
    return fake


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key in ("EF_STAGE", "EF_ENDPOINT_URL", *ARN_VARIABLES, *VALUE_VARIABLES):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_get_settings_reads_secrets_once_then_again_after_the_time_to_live(manager, clock, monkeypatch):
    use_env(monkeypatch, cloud_env(EF_SECRETS_MAX_AGE="300"))
    first = get_settings()
    for _ in range(1000):
        assert get_settings() is first
    assert manager.calls == 3
    rotated = fresh_value()
    set_value(manager, "SESSION", rotated)
    clock.now += 299
    assert get_settings().session_secret == first.session_secret and manager.calls == 3
    clock.now += 2
    assert get_settings().session_secret == rotated
    assert manager.calls == 6


def test_a_rotation_to_an_unsafe_value_is_refused_at_the_next_read(manager, clock, monkeypatch):
    use_env(monkeypatch, cloud_env())
    get_settings()
    set_value(manager, "PANEL", "short")
    clock.now += 301
    with pytest.raises(ConfigurationError, match="shorter than 32"):
        get_settings()
    with pytest.raises(ConfigurationError, match="shorter than 32"):  # refused still, from Powertools' cache
        get_settings()
    assert manager.calls == 6


def test_a_throttled_refresh_keeps_the_values_in_hand_and_tries_again_soon(manager, clock, monkeypatch):
    use_env(monkeypatch, cloud_env())
    first = get_settings()
    manager.errors[ARN.format("panel")] = "ThrottlingException"
    clock.now += 301
    assert get_settings() is first
    calls = manager.calls
    assert get_settings() is first and manager.calls == calls  # no read until the retry time
    del manager.errors[ARN.format("panel")]
    clock.now += 11
    assert get_settings() is not first
    assert manager.calls > calls


def test_an_unreadable_secret_is_asked_for_again_at_the_next_call(manager, clock, monkeypatch):
    """IAM changes take a moment to apply after a deploy: a refusal to read is not cached."""
    use_env(monkeypatch, cloud_env())
    manager.errors[ARN.format("pseudonym")] = "AccessDeniedException"
    with pytest.raises(ConfigurationError, match="denied"):
        get_settings()
    del manager.errors[ARN.format("pseudonym")]
    assert len(get_settings().pseudonym_secret) >= 32


def test_local_stages_never_expire(clock, monkeypatch):
    use_env(monkeypatch, {"EF_STAGE": "test"})
    first = get_settings()
    clock.now += 10**9
    assert get_settings() is first


def test_the_public_value_check_hashes_like_the_list():
    assert stage_secrets.public_value_hash("abc") == "ba7816bf8f01cfea"  # SHA-256 of "abc", first 16 digits
    assert len(stage_secrets.public_value_hashes()) > 100


def test_a_cloud_stage_without_the_links_base_is_refused(manager: Any) -> None:
    env = cloud_env()
    del env["EF_PUBLIC_BASE_URL"]
    with pytest.raises(ConfigurationError, match="EF_PUBLIC_BASE_URL"):
        load_settings(env)

"""Where a stage's three secrets come from, and when they are refused.

A cloud stage (every stage but ``local`` and ``test``) reads them from AWS Secrets Manager: the infra stack
generates one secret per role and stage, and the functions get three variables that *name* them
(``EF_PSEUDONYM_SECRET_ARN``, ``EF_PANEL_SECRET_ARN``, ``EF_SESSION_SECRET_ARN``: an ARN or a secret name).
Nobody types or copies a value. A cloud stage refuses to run (``ConfigurationError``, naming the variable
and the reason, never the value) when a value is given in the environment instead, a name is missing, a
secret cannot be read, a value is short, repetitive, equal to another, or equal to anything committed in
the repository it was deployed from (``chalicelib/data/public_values.txt``, which ``make deploy`` writes
into the package from that checkout, deploy/public_values.py; a package without it is refused).

``local`` and ``test`` keep their environment values or built-in defaults, and refuse to run inside a real
Lambda unless an endpoint override points them at an embedded AWS: they never meet real AWS.

Nothing here imports boto3 or Powertools at module level (cold start); the provider comes from
``chalicelib.clients``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.domain.errors import ConfigurationError, DomainError, TemporarilyUnavailable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

LOCAL_STAGES = frozenset({"local", "test"})
MIN_LENGTH = 32
# A generated 32-character string has about 20 different characters; a placeholder such as "x" * 40 has one.
MIN_DISTINCT = 8
DEFAULT_MAX_AGE = 300
HASH_CHARS = 16  # of SHA-256's 64 hex digits: 64 bits tell a few thousand committed values apart (collision odds
# about 1e-16 per secret checked) at half the bytes in the function zip
PUBLIC_VALUES_FILE = Path(__file__).resolve().parent / "data" / "public_values.txt"


@dataclass(frozen=True)
class Secret:
    field: str  # the Settings attribute
    variable: str  # the value itself: local and test stages only

    @property
    def arn_variable(self) -> str:
        return f"{self.variable}_ARN"


SECRETS = (
    Secret("pseudonym_secret", "EF_PSEUDONYM_SECRET"),
    Secret("panel_secret", "EF_PANEL_SECRET"),
    Secret("session_secret", "EF_SESSION_SECRET"),
)
# Secrets Manager's answers that say "try again", not "this is misconfigured".
_TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "InternalServiceError", "ServiceUnavailable", "RequestTimeout"}
)


def is_cloud(stage: str) -> bool:
    return stage not in LOCAL_STAGES


def public_value_hash(value: str) -> str:
    """How ``deploy/public_values.py`` records a committed value, and how a secret is checked against them."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:HASH_CHARS]


@functools.cache
def public_value_hashes() -> frozenset[str]:
    """The hashes of every candidate value committed in the repository (read once per process)."""
    try:
        lines = PUBLIC_VALUES_FILE.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigurationError(
            "chalicelib/data/public_values.txt is missing: this package was not built by make deploy, so the "
            "secrets cannot be checked against the values committed in the repository; deploy with make deploy"
        ) from None
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _in_real_lambda(env: Mapping[str, str]) -> bool:
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return True
    # Chalice() itself sets AWS_EXECUTION_ENV, to "AWS_Lambda aws-chalice/<version>" when it was unset, in
    # every process that imports the app (tests, chalice local); a real runtime's value is AWS_Lambda_python3.x.
    words = [w for w in env.get("AWS_EXECUTION_ENV", "").split() if not w.startswith("aws-chalice/")]
    return bool(words) and words != ["AWS_Lambda"]


def check_local_stage(env: Mapping[str, str], stage: str, endpoint_url: str | None) -> None:
    """Refuse a local or test stage inside a real Lambda unless it talks to an embedded AWS."""
    if _in_real_lambda(env) and not endpoint_url:
        raise ConfigurationError(
            f"EF_STAGE is {stage!r} inside a real Lambda (AWS_LAMBDA_FUNCTION_NAME or AWS_EXECUTION_ENV is set) "
            "with no EF_ENDPOINT_URL or AWS_ENDPOINT_URL: the local and test stages use built-in or environment "
            "secrets and never run against real AWS; deploy a cloud stage (dev, prod)"
        )


def local_values(env: Mapping[str, str]) -> dict[str, str]:
    """The local and test stages' secrets: from the environment, else the built-in (public) defaults."""
    defaults = {
        "pseudonym_secret": "local-pseudonym-secret-not-for-production",
        "panel_secret": "local-panel-secret-not-for-production!!",
        "session_secret": "local-session-secret-not-for-production!",
    }
    return {s.field: env.get(s.variable, "") or defaults[s.field] for s in SECRETS}


def secret_names(env: Mapping[str, str], stage: str) -> dict[Secret, str]:
    """A cloud stage's secret names (ARN or name) from its *_ARN variables; refuse values in the environment."""
    direct = [s.variable for s in SECRETS if env.get(s.variable)]
    if direct:
        one = len(direct) == 1
        raise ConfigurationError(
            f"{' and '.join(direct)} {'is' if one else 'are'} set in the environment on stage {stage!r}: secrets "
            f"come from Secrets Manager, not the environment (remove {'it' if one else 'them'}; "
            f"{' and '.join(v + '_ARN' for v in direct)} {'names the secret' if one else 'name the secrets'})"
        )
    missing = [s.arn_variable for s in SECRETS if not env.get(s.arn_variable, "").strip()]
    if missing:
        raise ConfigurationError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: stage {stage!r} reads its "
            "secrets from Secrets Manager, and each *_ARN variable names one (an ARN or a secret name)"
        )
    return {s: env[s.arn_variable].strip() for s in SECRETS}


def read_secrets(
    names: Mapping[Secret, str], provider: SecretsProvider, *, max_age: int, refresh: bool
) -> dict[str, str]:
    """Read and check every secret; the Settings field -> value. ``refresh`` skips Powertools' cache (the
    caller's time-to-live ran out); otherwise a value read less than ``max_age`` seconds ago is reused."""
    values = {secret: _read(provider, secret, name, max_age=max_age, refresh=refresh) for secret, name in names.items()}
    check_values({secret.arn_variable: value for secret, value in values.items()})
    return {secret.field: value for secret, value in values.items()}


def _read(provider: SecretsProvider, secret: Secret, name: str, *, max_age: int, refresh: bool) -> str:
    from aws_lambda_powertools.utilities.parameters import GetParameterError

    try:
        value = provider.get(name, max_age=max_age, force_fetch=refresh)
    except GetParameterError as exc:
        # Powertools wraps every failure into GetParameterError(str(cause)), raised while handling the cause.
        raise unreadable(secret.arn_variable, name, exc.__context__) from None
    if not isinstance(value, str):
        raise ConfigurationError(
            f"the secret that {secret.arn_variable} names holds a binary value: it must be a string (SecretString)"
        )
    return value


def unreadable(variable: str, name: str, cause: BaseException | None) -> DomainError:
    """Say why Secrets Manager did not give the secret, from the SDK's error code (never its message)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    where = f"the secret that {variable} names ({name})"
    if isinstance(cause, ClientError):
        code = str(cause.response.get("Error", {}).get("Code", ""))
        if code in _TRANSIENT_CODES:
            return TemporarilyUnavailable(f"{where} cannot be read just now ({code}); try again")
        if code == "ResourceNotFoundException":
            return ConfigurationError(f"{where} was not found in Secrets Manager (check the name and the region)")
        if code in ("AccessDeniedException", "AccessDenied"):
            return ConfigurationError(
                f"access to {where} was denied: the function's role needs secretsmanager:GetSecretValue on it "
                "(and kms:Decrypt on its key if that is a customer managed key)"
            )
        if code == "DecryptionFailure":
            return ConfigurationError(f"{where} cannot be decrypted: check kms:Decrypt on the secret's KMS key")
        if code == "InvalidRequestException":
            return ConfigurationError(
                f"{where} cannot be read ({code}): it may be scheduled for deletion or have no current version"
            )
        return ConfigurationError(f"{where} cannot be read ({code or type(cause).__name__})")
    if isinstance(cause, (NoCredentialsError, PartialCredentialsError)):
        return ConfigurationError(f"{where} cannot be read: the function has no AWS credentials")
    if isinstance(cause, BotoCoreError):  # connection refused, timeouts: the network, not the configuration
        return TemporarilyUnavailable(f"{where} cannot be read just now ({type(cause).__name__}); try again")
    return ConfigurationError(f"{where} cannot be read ({type(cause).__name__})")


def check_values(values: Mapping[str, str]) -> None:
    """Refuse unsafe secret values, keyed by the variable that names each one; messages never hold a value."""
    public = public_value_hashes()
    for variable, value in values.items():
        where = f"the secret that {variable} names"
        if len(value) < MIN_LENGTH:
            raise ConfigurationError(f"{where} is shorter than {MIN_LENGTH} characters")
        if len(set(value)) < MIN_DISTINCT:
            raise ConfigurationError(f"{where} has fewer than {MIN_DISTINCT} different characters: it is not random")
        if public_value_hash(value) in public or public_value_hash(value.strip()) in public:
            raise ConfigurationError(
                f"{where} equals a value committed in this repository, so it is public: generate a new one"
            )
    seen: dict[str, str] = {}
    for variable, value in values.items():
        if value in seen:
            raise ConfigurationError(
                f"the secrets that {seen[value]} and {variable} name are equal: each must be its own random value"
            )
        seen[value] = variable

"""Typed settings, read from the environment at call time.

The Chalice test client patches ``os.environ`` only while it runs a handler, and moto mocks only
clients made after it starts, so nothing here is read at import. ``get_settings()`` rebuilds when
the environment it was built from changes; tests can also call ``reset_settings()``.

A cloud stage's secrets come from Secrets Manager (``chalicelib/stage_secrets.py``), read on first use and
again once ``EF_SECRETS_MAX_AGE`` seconds have passed, so a rotated value takes effect without a redeploy.
In between, ``get_settings()`` returns the settings it built: no network, whatever the number of calls.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from chalicelib import stage_secrets
from chalicelib.domain.errors import ConfigurationError, TemporarilyUnavailable
from chalicelib.observability import logger

_PREFIX = "EF_"

TABLES = (
    "events",
    "participants",
    "waves",
    "invitations",
    "tokens",
    "responses",
    "aggregates",
    "suppressions",
    "questionnaires",
    "auth_attempts",
    "imports",
)


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    endpoint_url: str | None
    table_prefix: str
    send_queue_url: str
    feedback_topic_arn: str
    ses_sender: str
    ses_configuration_set: str
    ses_max_send_rate: float
    public_base_url: str
    cognito_user_pool_id: str
    cognito_client_id: str
    cognito_jwks_url: str
    pseudonym_secret: str
    panel_secret: str
    session_secret: str
    suppression_k: int
    retention_days: int
    schedule_batch: int
    import_inline_rows: int = 500
    secrets_max_age: int = stage_secrets.DEFAULT_MAX_AGE

    def table(self, name: str) -> str:
        if name not in TABLES:
            raise ConfigurationError(f"unknown table {name!r}")
        return f"{self.table_prefix}{name}"

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.cognito_user_pool_id}"


def _env_snapshot(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    keys = sorted(k for k in environ if k.startswith(_PREFIX) or k in _AWS_KEYS)
    return tuple((k, environ[k]) for k in keys)


# AWS_LAMBDA_FUNCTION_NAME and AWS_EXECUTION_ENV decide whether a local or test stage may run at all.
_AWS_KEYS = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_LAMBDA_FUNCTION_NAME", "AWS_EXECUTION_ENV")
# After a transient failure to re-read the secrets, keep the values in hand and try again this much later.
_REFRESH_RETRY_SECONDS = 10.0


@dataclass(frozen=True)
class _Built:
    snapshot: tuple[tuple[str, str], ...]
    settings: Settings
    refresh_at: float  # the _clock() time after which a cloud stage reads its secrets again; inf otherwise


_built: _Built | None = None
_clock: Callable[[], float] = time.monotonic  # tests move time on without sleeping


def _int(env: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    raw = env.get(_PREFIX + key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{_PREFIX}{key} must be an integer") from exc
    if value < minimum:
        raise ConfigurationError(f"{_PREFIX}{key} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(_PREFIX + key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{_PREFIX}{key} must be a number") from exc
    if value <= 0:
        raise ConfigurationError(f"{_PREFIX}{key} must be positive")
    return value


def load_settings(env: Mapping[str, str], *, refresh: bool = False) -> Settings:
    """Build settings from an environment mapping; raise ConfigurationError on bad values. A cloud stage
    reads its secrets (``refresh``: from Secrets Manager itself, not a value Powertools cached)."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = env.get(_PREFIX + "ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL") or None
    stage = env.get(_PREFIX + "STAGE", "dev")
    pool = env.get(_PREFIX + "COGNITO_USER_POOL_ID", "")
    jwks = env.get(_PREFIX + "COGNITO_JWKS_URL", "")
    if not jwks and pool:
        # moto serves the pool's JWKS at <endpoint>/<pool>/.well-known/jwks.json; Cognito at the issuer.
        base = endpoint.rstrip("/") if endpoint else f"https://cognito-idp.{region}.amazonaws.com"
        jwks = f"{base}/{pool}/.well-known/jwks.json"
    max_age = _int(env, "SECRETS_MAX_AGE", stage_secrets.DEFAULT_MAX_AGE, 1)
    secrets = _secrets(env, stage, region, endpoint, max_age=max_age, refresh=refresh)
    if stage_secrets.is_cloud(stage) and not env.get(_PREFIX + "PUBLIC_BASE_URL"):
        # Every email links to it: the local default would send participants to http://127.0.0.1.
        raise ConfigurationError("EF_PUBLIC_BASE_URL must be set on a cloud stage (the base of every emailed link)")
    k = _int(env, "SUPPRESSION_K", 5, 3)
    return Settings(
        stage=stage,
        region=region,
        endpoint_url=endpoint,
        table_prefix=env.get(_PREFIX + "TABLE_PREFIX", "event-feedback-"),
        send_queue_url=env.get(_PREFIX + "SEND_QUEUE_URL", ""),
        feedback_topic_arn=env.get(_PREFIX + "FEEDBACK_TOPIC_ARN", ""),
        ses_sender=env.get(_PREFIX + "SES_SENDER", "surveys@example.org"),
        ses_configuration_set=env.get(_PREFIX + "SES_CONFIGURATION_SET", ""),
        ses_max_send_rate=_float(env, "SES_MAX_SEND_RATE", 7.0),
        public_base_url=env.get(_PREFIX + "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        cognito_user_pool_id=pool,
        cognito_client_id=env.get(_PREFIX + "COGNITO_CLIENT_ID", ""),
        cognito_jwks_url=jwks,
        pseudonym_secret=secrets["pseudonym_secret"],
        panel_secret=secrets["panel_secret"],
        session_secret=secrets["session_secret"],
        suppression_k=k,
        retention_days=_int(env, "RETENTION_DAYS", 730, 1),
        schedule_batch=_int(env, "SCHEDULE_BATCH", 500, 1),
        import_inline_rows=_int(env, "IMPORT_INLINE_ROWS", 500, 0),
        secrets_max_age=max_age,
    )


def _secrets(
    env: Mapping[str, str], stage: str, region: str, endpoint: str | None, *, max_age: int, refresh: bool
) -> dict[str, str]:
    if not stage_secrets.is_cloud(stage):
        stage_secrets.check_local_stage(env, stage, endpoint)
        return stage_secrets.local_values(env)
    names = stage_secrets.secret_names(env, stage)
    from chalicelib import clients  # imported here: clients imports this module

    provider = clients.secrets_provider(region, endpoint)
    return stage_secrets.read_secrets(names, provider, max_age=max_age, refresh=refresh)


def get_settings() -> Settings:
    """The current settings; rebuilt when the relevant environment changes, and for a cloud stage when its
    secrets are older than ``EF_SECRETS_MAX_AGE``. Raises ConfigurationError when the stage must not run."""
    global _built
    snapshot = _env_snapshot(os.environ)
    built = _built
    if built is not None and built.snapshot == snapshot:
        if _clock() < built.refresh_at:
            return built.settings
        refresh = True  # the same environment, and its secrets' time is up: ask Secrets Manager again
    else:
        refresh = False
    try:
        settings = load_settings(os.environ, refresh=refresh)
    except TemporarilyUnavailable as exc:
        logger.warning("secrets cannot be read just now", extra={"reason": exc.message, "kept": refresh})
        if built is None or not refresh:
            raise
        # Secrets Manager throttled or timed out: the values read a moment ago are still the best we have.
        _built = replace(built, refresh_at=_clock() + _REFRESH_RETRY_SECONDS)
        return built.settings
    except ConfigurationError:
        _built = None  # refused: nothing of the old configuration may be used any more
        raise
    refresh_at = _clock() + settings.secrets_max_age if stage_secrets.is_cloud(settings.stage) else math.inf
    _built = _Built(snapshot, settings, refresh_at)
    return settings


def reset_settings() -> None:
    global _built
    _built = None

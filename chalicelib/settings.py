"""Typed settings, read from the environment at call time.

The Chalice test client patches ``os.environ`` only while it runs a handler, and moto mocks only
clients made after it starts, so nothing here is read at import. ``get_settings()`` rebuilds when
the environment it was built from changes; tests can also call ``reset_settings()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.domain.errors import ConfigurationError

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


_AWS_KEYS = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")
_cache: tuple[tuple[tuple[str, str], ...], Settings] | None = None


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


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping; raise ConfigurationError on bad values."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = env.get(_PREFIX + "ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL") or None
    stage = env.get(_PREFIX + "STAGE", "dev")
    pool = env.get(_PREFIX + "COGNITO_USER_POOL_ID", "")
    jwks = env.get(_PREFIX + "COGNITO_JWKS_URL", "")
    if not jwks and pool:
        # moto serves the pool's JWKS at <endpoint>/<pool>/.well-known/jwks.json; Cognito at the issuer.
        base = endpoint.rstrip("/") if endpoint else f"https://cognito-idp.{region}.amazonaws.com"
        jwks = f"{base}/{pool}/.well-known/jwks.json"
    secret = env.get(_PREFIX + "PSEUDONYM_SECRET", "")
    panel = env.get(_PREFIX + "PANEL_SECRET", "")
    if stage not in ("local", "test") and (len(secret) < 32 or len(panel) < 32):
        raise ConfigurationError("EF_PSEUDONYM_SECRET and EF_PANEL_SECRET must be at least 32 characters")
    session = env.get(_PREFIX + "SESSION_SECRET", "")
    if stage not in ("local", "test") and len(session) < 32:
        raise ConfigurationError("EF_SESSION_SECRET must be at least 32 characters")
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
        pseudonym_secret=secret or "local-pseudonym-secret-not-for-production",
        panel_secret=panel or "local-panel-secret-not-for-production!!",
        session_secret=session or "local-session-secret-not-for-production!",
        suppression_k=k,
        retention_days=_int(env, "RETENTION_DAYS", 730, 1),
        schedule_batch=_int(env, "SCHEDULE_BATCH", 500, 1),
        import_inline_rows=_int(env, "IMPORT_INLINE_ROWS", 500, 0),
    )


def get_settings() -> Settings:
    """The current settings; rebuilt when the relevant environment changes."""
    global _cache
    snapshot = _env_snapshot(os.environ)
    if _cache is None or _cache[0] != snapshot:
        _cache = (snapshot, load_settings(os.environ))
    return _cache[1]


def reset_settings() -> None:
    global _cache
    _cache = None

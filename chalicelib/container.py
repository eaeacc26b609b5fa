"""The one place where adapters are wired into use cases. Everything is built on first use and cached
per settings, so tests can reset it and moto sees every client."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib import clients
from chalicelib.adapters.auth import fetch_jwks
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:  # the adapters pull in botocore, PynamoDB and Jinja2: imported on first use, not at cold start
    from chalicelib.adapters.auth import JwtVerifier
    from chalicelib.adapters.mailer import SesMailer
    from chalicelib.adapters.queue import SqsSendQueue
    from chalicelib.adapters.renderer import JinjaRenderer
    from chalicelib.adapters.signin import CognitoPasswordAuth, DynamoAttemptLog, DynamoSignedOutSessions
    from chalicelib.adapters.store import DynamoStore
    from chalicelib.domain.model import ImportJob
    from chalicelib.domain.planning import ImportReport

_cache: dict[str, tuple[Any, Any]] = {}
# Tests swap the JWKS fetcher (in-process moto serves no HTTP); the local stack uses the real one.
jwks_fetcher: Callable[[str], dict[str, Any]] = fetch_jwks


def _cached(name: str, key: Any, build: Callable[[], Any]) -> Any:
    found = _cache.get(name)
    if found is None or found[0] != key:
        found = (key, build())
        _cache[name] = found
    return found[1]


def settings() -> Settings:
    return get_settings()


def now() -> datetime:
    return datetime.now(UTC)


def store() -> DynamoStore:
    from chalicelib.adapters import tables
    from chalicelib.adapters.store import DynamoStore

    tables.bind(get_settings())
    return _cached("store", None, DynamoStore)  # type: ignore[no-any-return]


def mailer() -> SesMailer:
    from chalicelib.adapters.mailer import SendPacer, SesMailer

    s = get_settings()
    return _cached(  # type: ignore[no-any-return]
        "mailer",
        (s.ses_sender, s.ses_configuration_set, s.ses_max_send_rate, s.endpoint_url, s.region),
        lambda: SesMailer(
            clients.client("ses"),
            sender=s.ses_sender,
            configuration_set=s.ses_configuration_set,
            pacer=SendPacer(s.ses_max_send_rate),
        ),
    )


def send_queue() -> SqsSendQueue:
    from chalicelib.adapters.queue import SqsSendQueue

    s = get_settings()
    return _cached(  # type: ignore[no-any-return]
        "queue", (s.send_queue_url, s.endpoint_url), lambda: SqsSendQueue(clients.client("sqs"), s.send_queue_url)
    )


def renderer() -> JinjaRenderer:
    from chalicelib.adapters.renderer import JinjaRenderer

    return _cached("renderer", None, JinjaRenderer)  # type: ignore[no-any-return]


def verifier() -> JwtVerifier:
    from chalicelib.adapters.auth import JwtVerifier

    s = get_settings()
    return _cached(  # type: ignore[no-any-return]
        "verifier",
        (s.cognito_jwks_url, s.cognito_issuer, s.cognito_client_id, jwks_fetcher),
        lambda: JwtVerifier(
            jwks_url=s.cognito_jwks_url, issuer=s.cognito_issuer, client_id=s.cognito_client_id, fetch=jwks_fetcher
        ),
    )


def password_auth() -> CognitoPasswordAuth:
    """The dashboard's password sign-in and its challenges, against the stage's Cognito app client."""
    from chalicelib.adapters.signin import CognitoPasswordAuth

    return CognitoPasswordAuth(clients.client("cognito-idp"), get_settings().cognito_client_id)


def attempt_log() -> DynamoAttemptLog:
    """Failed dashboard sign-ins per keyed hash of the address: the lockout's memory."""
    from chalicelib.adapters.signin import DynamoAttemptLog

    store()  # binds the tables to this stage's names and endpoint
    return _cached("attempt_log", None, DynamoAttemptLog)  # type: ignore[no-any-return]


def signed_out_sessions() -> DynamoSignedOutSessions:
    """Dashboard sessions signed out before their token expired."""
    from chalicelib.adapters.signin import DynamoSignedOutSessions

    store()  # binds the tables to this stage's names and endpoint
    return _cached("signed_out", None, DynamoSignedOutSessions)  # type: ignore[no-any-return]


# Use cases with the stage's adapters, secrets and clock bound: what the API and the dashboard both call.


def send_wave_now(event_id: str, wave_id: str) -> dict[str, Any]:
    from chalicelib.domain.distribution import send_wave_now

    s = settings()
    return send_wave_now(
        store(), send_queue(), event_id, wave_id, panel_secret=s.panel_secret, now=now(), limit=s.schedule_batch
    )


def start_import(
    event_id: str, upload: str | bytes, *, sheet: str | None = None, columns: Mapping[str, str] | None = None
) -> ImportReport | ImportJob:
    """An import as the dashboard and ``?background=1`` run it: at once when short, else in the background."""
    from chalicelib.domain.importing import start_import

    s = settings()
    return start_import(
        store(),
        send_queue(),
        event_id,
        upload,
        sheet=sheet,
        columns=columns,
        secret=s.pseudonym_secret,
        panel_secret=s.panel_secret,
        now=now(),
        inline_rows=s.import_inline_rows,
    )


def reset() -> None:
    """Forget every built adapter and client (tests call this between moto sessions)."""
    import sys

    _cache.clear()
    clients.reset_clients()
    if "chalicelib.adapters.tables" in sys.modules:
        sys.modules["chalicelib.adapters.tables"].unbind()

"""The dashboard: server-rendered pages for the secretariat, under ``/dashboard``, signed in with a cookie.

Every page reads the session cookie, checks its MAC and re-verifies the Cognito access token in it (so a
forged cookie and an expired token are both refused), then checks the role (``viewer`` reads, ``admin``
acts) and the ``event:<id>`` scope the way the JSON API does. Every form that changes state carries a
CSRF token bound to the session and to the action. Views only translate forms into the same use cases
the JSON API calls; the pages are plain HTML forms and work without JavaScript. Interface text is
English (the dashboard is for the secretariat), so it has no gettext strings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalice import Blueprint
from chalice.app import Response

from chalicelib import container
from chalicelib.adapters.auth import Principal
from chalicelib.api import admin as admin_api
from chalicelib.api.errors import BadBody, classify, dashboard_kind, html_response, refused
from chalicelib.api.request import base_path, body_bytes, query
from chalicelib.api.session import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    cookie,
    csrf_token,
    csrf_valid,
    expired_cookie,
    new_nonce,
    open_state,
    parse_cookies,
    seal,
    seal_state,
    unseal,
)
from chalicelib.domain import admin, catalogue, distribution, importing, signin
from chalicelib.domain.errors import (
    ConfigurationError,
    Conflict,
    DomainError,
    Forbidden,
    TemporarilyUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.domain.messages import SendJob
from chalicelib.domain.model import DIMENSIONS, INVITATION, LANGUAGES, Event, ImportJob, Wave
from chalicelib.observability import count, log_event, logger

bp = Blueprint(__name__)

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FORM = 64 * 1024
MAX_UPLOAD = admin_api.MAX_CSV + 64 * 1024  # the CSV plus the multipart envelope and the other fields
MAX_FIELDS = 200
PAGE_SIZE = 50
SIGNIN_NONCE_AGE = 3600
CHALLENGE_AGE = 170  # seconds: Cognito keeps a challenge's session for three minutes
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}
DIMENSION_NAMES = {
    "stakeholder_group": "Stakeholder group",
    "region": "Region",
    "income_group": "Income group",
    "sponsored": "Sponsored or not",
    "language": "Language",
}
FUNNEL = ("invited", "delivered", "bounced", "opened", "completed", "opted_out", "suppressed", "failed")
NOTICES = {
    "event-created": "The event was created. Next, upload its participants and create a wave.",
    "event-updated": "The event was saved.",
    "wave-created": "The wave was created. Its invitations are planned; they go out at the opening time, "
    "or now if you press “Send now”.",
}
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# The dashboard's scripts are files beside the package (chalice ships chalicelib/ whole), read on their first
# request, not at cold start; CSP script-src 'self' covers them, so they need no hash or nonce.
_STATIC = Path(__file__).resolve().parent.parent / "static" / "dashboard"
SCRIPTS = ("copy.js", "status.js")


@functools.cache
def _script(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


# Sessions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal

    @property
    def is_admin(self) -> bool:
        return "admin" in self.principal.roles

    @property
    def role_label(self) -> str:
        return self.principal.role or "no role"


@dataclass
class Ctx:
    """What a view gets: the signed-in session, and the submitted form for a POST."""

    session: Session
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def text(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[-1].strip() if values else default


class _SignedOut(Exception):
    """No valid session: no cookie, a cookie we did not issue, or an expired or otherwise refused token."""

    def __init__(self, had_cookie: bool) -> None:
        super().__init__("signed out")
        self.had_cookie = had_cookie


class _CsrfRefused(Exception):
    pass


def _secret() -> str:
    return container.settings().session_secret


def _secure() -> bool:
    base = container.settings().public_base_url
    return not base.startswith(("http://127.0.0.1", "http://localhost"))


def _cookies() -> dict[str, str]:
    return parse_cookies(bp.current_request.headers.get("cookie"))


def _current_session() -> Session | None:
    raw = _cookies().get(SESSION_COOKIE)
    if not raw:
        return None
    token = unseal(_secret(), raw)
    if token is None:
        raise _SignedOut(had_cookie=True)
    try:
        principal = container.verifier().verify(token)
    except Unauthenticated:
        raise _SignedOut(had_cookie=True) from None
    except Exception as exc:  # the JWKS endpoint is unreachable: say so rather than sign out
        logger.exception("dashboard token verification unavailable")
        raise TemporarilyUnavailable("sign-in cannot be checked just now; try again in a minute") from exc
    if _signed_out_sessions().is_revoked(token):  # signed out, though the token has not expired yet
        raise _SignedOut(had_cookie=True)
    return Session(token=token, principal=principal)


def _authorise(principal: Principal, role: str, event_id: str | None) -> None:
    if not principal.roles & {"admin", "viewer"}:
        raise Forbidden("your account has neither the admin nor the viewer role")
    if role == "admin" and "admin" not in principal.roles:
        raise Forbidden("viewers cannot do this: it needs the admin role")
    if event_id is not None:
        admin_api._scoped(principal, event_id)


def _visible(principal: Principal, event_id: str) -> bool:
    return not principal.events or event_id in principal.events


# Request bodies ---------------------------------------------------------------------------------------


def _read_form() -> dict[str, list[str]]:
    raw = body_bytes(bp.current_request)
    if len(raw) > MAX_FORM:
        raise BadBody(413, "the form is larger than this page accepts")
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise BadBody(400, "the form could not be read") from None


def _read_multipart() -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """A multipart/form-data body as (text fields, files), with the standard library's MIME parser."""
    request = bp.current_request
    raw = body_bytes(request)
    if len(raw) > MAX_UPLOAD:
        raise BadBody(413, f"the file is larger than {admin_api.MAX_CSV // (1024 * 1024)} MB; split it")
    content_type = request.headers.get("content-type", "")
    if "boundary=" not in content_type:
        raise BadBody(400, "the upload could not be read")
    import email.parser  # only uploads need the MIME parser: keep it off the cold start
    import email.policy

    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise BadBody(400, "the upload could not be read")
    fields: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or len(fields) + len(files) > MAX_FIELDS:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        if part.get_param("filename", header="content-disposition") is not None:
            files[name] = payload
        else:
            try:
                fields.setdefault(name, []).append(payload.decode("utf-8"))
            except UnicodeDecodeError:
                raise BadBody(400, "the form could not be read") from None
    return fields, files


# Rendering --------------------------------------------------------------------------------------------


def _render(
    template: str,
    *,
    session: Session | None,
    status: int = 200,
    headers: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    from chalicelib.adapters.renderer import environment

    secret = _secret()

    def csrf(purpose: str) -> str:
        return csrf_token(secret, session.token, purpose) if session else ""

    page = environment("en").get_template(f"dashboard/{template}.html")
    body = page.render(
        root=base_path(bp.current_request),
        session=session,
        csrf=csrf,
        k=container.settings().suppression_k,
        section=context.pop("section", ""),
        **context,
    )
    response = html_response(body, status, {"Content-Security-Policy": CSP})
    response.headers.update(headers or {})
    return response


def _redirect(location: str, headers: dict[str, Any] | None = None) -> Response:
    return Response(
        body="",
        status_code=303,
        headers={
            "Location": base_path(bp.current_request) + location,
            "Cache-Control": "no-store",
            "Content-Type": "text/plain",
            **(headers or {}),
        },
    )


def _error_page(exc: Exception, session: Session | None) -> Response:
    if isinstance(exc, ConfigurationError):  # the dashboard's own pages need the settings it was refused
        return refused(exc, as_json=False)
    outcome = classify(exc, unexpected="dashboard error")
    if isinstance(outcome.error, DomainError | BadBody):
        return _render(
            "error", session=session, status=outcome.status, kind=dashboard_kind(outcome), message=outcome.message
        )
    if outcome.error is not None:  # a Chalice error inside a dashboard view is ours, not the visitor's
        logger.exception("dashboard error")
    return _render("error", session=session, status=500, kind="error", message="")


def _signed_out(had_cookie: bool) -> Response:
    request = bp.current_request
    clear = {"Set-Cookie": expired_cookie(SESSION_COOKIE, secure=_secure())} if had_cookie else {}
    if request.method == "GET":
        target = request.path
        for name, value in (request.uri_params or {}).items():
            target = target.replace("{" + name + "}", quote(value, safe=""))
        params = query(request)
        if params:
            target += "?" + urlencode(params)
        return _redirect("/dashboard?" + urlencode({"next": target, **({"ended": "1"} if had_cookie else {})}), clear)
    return _render("error", session=None, status=401, kind="signed_out", message="", headers=clear)


def page(
    path: str,
    *,
    method: str = "GET",
    role: str = "viewer",
    purpose: str | None = None,
    upload: bool = False,
) -> Callable[[Callable[..., Response]], Any]:
    """Register a dashboard page: session, role and scope checks, and for a POST the form and its CSRF token
    (``purpose`` is formatted with the route's parameters, e.g. ``"import:{event_id}"``)."""

    def register(view: Callable[..., Response]) -> Any:
        @functools.wraps(view)
        def run(**params: Any) -> Response:
            session: Session | None = None
            try:
                session = _current_session()
                if session is None:
                    raise _SignedOut(had_cookie=False)
                _authorise(session.principal, role, params.get("event_id"))
                ctx = Ctx(session=session)
                if method == "POST":
                    if upload:
                        ctx.form, ctx.files = _read_multipart()
                    else:
                        ctx.form = _read_form()
                    wanted = (purpose or "").format(**params)
                    if not purpose or not csrf_valid(_secret(), session.token, wanted, ctx.text("csrf") or None):
                        raise _CsrfRefused()
                return view(ctx, **params)
            except _SignedOut as exc:
                return _signed_out(exc.had_cookie)
            except _CsrfRefused:
                log_event("dashboard form refused", reason="csrf")
                return _render("error", session=session, status=403, kind="csrf", message="")
            except Exception as exc:  # noqa: BLE001 - the one place where dashboard errors become pages
                return _error_page(exc, session)

        run.required_role = role  # type: ignore[attr-defined]  # checked by tests/unit/test_route_auth.py
        content_types = [MULTIPART] if upload else [FORM] if method == "POST" else None
        extra: dict[str, Any] = {"content_types": content_types} if content_types else {}
        return bp.route(path, methods=[method], **extra)(run)

    return register


# Sign-in and sign-out ---------------------------------------------------------------------------------


def _safe_next(value: str) -> str:
    """Only a dashboard path of this site: never another host (no open redirect)."""
    if (
        (value == "/dashboard" or value.startswith(("/dashboard/", "/dashboard?")))
        and "//" not in value
        and "\\" not in value
        and len(value) <= 500
        and value.isprintable()
    ):
        return value
    return "/dashboard"


def _signin_nonce() -> str:
    nonce = _cookies().get(SIGNIN_COOKIE, "")
    return nonce if _NONCE.fullmatch(nonce) else new_nonce()


def _signin_page(
    *,
    status: int = 200,
    email_value: str = "",
    error: str = "",
    notice: str = "",
    next_path: str = "/dashboard",
    clear_session: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    nonce = _signin_nonce()
    secure = _secure()
    cookies = [cookie(SIGNIN_COOKIE, nonce, max_age=SIGNIN_NONCE_AGE, secure=secure)]
    if clear_session:
        cookies.append(expired_cookie(SESSION_COOKIE, secure=secure))
    return _render(
        "sign_in",
        session=None,
        status=status,
        headers={"Set-Cookie": cookies, **(headers or {})},
        token=csrf_token(_secret(), nonce, "sign-in"),
        email_value=email_value,
        error=error,
        notice=notice,
        next_path=next_path,
    )


@bp.route("/dashboard", methods=["GET"])
def dash_home() -> Response:
    params = query(bp.current_request)
    session: Session | None = None
    try:
        try:
            session = _current_session()
        except _SignedOut:
            return _signin_page(
                notice="Your session has ended. Please sign in again.",
                next_path=_safe_next(params.get("next", "")),
                clear_session=True,
            )
        if session is None:
            notice = ""
            if params.get("signed_out") == "1":
                notice = "You have signed out."
            elif params.get("ended") == "1":
                notice = "Your session has ended. Please sign in again."
            return _signin_page(notice=notice, next_path=_safe_next(params.get("next", "")))
        _authorise(session.principal, "viewer", None)
        return _events_page(session)
    except Exception as exc:  # noqa: BLE001 - errors become pages
        return _error_page(exc, session)


def _password_auth() -> Any:
    from chalicelib import clients
    from chalicelib.adapters.signin import CognitoPasswordAuth

    return CognitoPasswordAuth(clients.client("cognito-idp"), container.settings().cognito_client_id)


def _signed_out_sessions() -> Any:
    from chalicelib.adapters.signin import DynamoSignedOutSessions

    container.store()  # binds the tables to this stage's names and endpoint
    return DynamoSignedOutSessions()


def _attempt_log() -> Any:
    from chalicelib.adapters.signin import DynamoAttemptLog

    container.store()  # binds the tables to this stage's names and endpoint
    return DynamoAttemptLog()


@bp.route("/dashboard/sign-in", methods=["POST"], content_types=[FORM])
def dash_sign_in() -> Response:
    try:
        form = _read_form()
        nonce = _cookies().get(SIGNIN_COOKIE, "")
        given = (form.get("csrf") or [""])[-1]
        if not _NONCE.fullmatch(nonce) or not csrf_valid(_secret(), nonce, "sign-in", given):
            log_event("dashboard form refused", reason="csrf")
            return _render("error", session=None, status=403, kind="csrf", message="")
        email_value = (form.get("email") or [""])[-1].strip()
        password = (form.get("password") or [""])[-1]
        next_path = _safe_next((form.get("next") or [""])[-1])
        try:
            signed = signin.sign_in(
                _password_auth(),
                _attempt_log(),
                email_value,
                password,
                secret=_secret(),
                now=container.now(),
            )
        except signin.LockedOut as exc:
            log_event("dashboard sign-in", outcome="locked_out")
            count("DashboardSignInLockedOut")
            return _signin_page(
                status=429,
                email_value=email_value,
                error=f"Too many failed sign-ins for this address. Try again in {exc.minutes} "
                f"minute{'s' if exc.minutes != 1 else ''}.",
                next_path=next_path,
                headers={"Retry-After": str(exc.retry_after)},
            )
        except signin.ChallengeRequired as exc:
            if not exc.answerable:
                log_event("dashboard sign-in", outcome="challenge_not_offered")
                return _signin_page(status=400, email_value=email_value, error=_sentence(exc.message))
            log_event("dashboard sign-in", outcome="challenge")
            return _challenge_page(_challenge_state(exc, next_path))
        except (Unauthenticated, ValidationFailed) as exc:
            log_event("dashboard sign-in", outcome=exc.code)
            count("DashboardSignInRefused")
            message = {
                "unauthorized": "The email address or password is not right.",
                "invalid": "Enter your email address and your password.",
            }.get(exc.code, exc.message[:1].upper() + exc.message[1:] + ".")
            status = 401 if isinstance(exc, Unauthenticated) else 400
            return _signin_page(status=status, email_value=email_value, error=message, next_path=next_path)
        except TemporarilyUnavailable as exc:
            return _signin_page(status=503, email_value=email_value, error=exc.message.capitalize() + ".")
        return _session_started(signed, next_path)
    except Exception as exc:  # noqa: BLE001 - errors become pages
        return _error_page(exc, None)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:].rstrip(".") + "."


def _session_started(signed: signin.SignedIn, next_path: str) -> Response:
    # The cookie only ever holds a token this app accepts.
    principal = container.verifier().verify(signed.access_token)
    log_event("dashboard sign-in", outcome="ok", roles=",".join(sorted(principal.roles)))
    secure = _secure()
    sealed = seal(_secret(), signed.access_token)
    return _redirect(
        next_path,
        {
            "Set-Cookie": [
                cookie(SESSION_COOKIE, sealed, max_age=signed.expires_in, secure=secure),
                expired_cookie(SIGNIN_COOKIE, secure=secure),
            ]
        },
    )


def _challenge_state(exc: signin.ChallengeRequired, next_path: str) -> str:
    data = {"c": exc.name, "s": exc.session, "e": exc.email, "n": next_path}
    return seal_state(_secret(), "challenge", data, int(container.now().timestamp()))


def _challenge_page(state: str, *, error: str = "", status: int = 200) -> Response:
    """The second step of a sign-in: a new password for a first sign-in, or a one-time code. The step's
    state (Cognito's session for it, the address, where to go next) travels in a MAC-sealed field."""
    data = open_state(_secret(), "challenge", state, int(container.now().timestamp()), CHALLENGE_AGE) or {}
    nonce = _signin_nonce()
    return _render(
        "challenge",
        session=None,
        status=status,
        headers={"Set-Cookie": cookie(SIGNIN_COOKIE, nonce, max_age=SIGNIN_NONCE_AGE, secure=_secure())},
        token=csrf_token(_secret(), nonce, "challenge"),
        state=state,
        new_password=data.get("c") == signin.NEW_PASSWORD,
        sms=data.get("c") == "SMS_MFA",
        error=error,
    )


@bp.route("/dashboard/sign-in/challenge", methods=["POST"], content_types=[FORM])
def dash_sign_in_challenge() -> Response:
    try:
        form = _read_form()
        nonce = _cookies().get(SIGNIN_COOKIE, "")
        if not _NONCE.fullmatch(nonce) or not csrf_valid(_secret(), nonce, "challenge", (form.get("csrf") or [""])[-1]):
            log_event("dashboard form refused", reason="csrf")
            return _render("error", session=None, status=403, kind="csrf", message="")
        state = (form.get("state") or [""])[-1]
        data = open_state(_secret(), "challenge", state, int(container.now().timestamp()), CHALLENGE_AGE)
        if data is None or not all(isinstance(data.get(k), str) for k in ("c", "s", "e", "n")):
            return _signin_page(status=401, error="This sign-in step has expired. Please sign in again.")
        next_path = _safe_next(data["n"])
        if data["c"] == signin.NEW_PASSWORD:
            answer = (form.get("new_password") or [""])[-1]
            if answer != (form.get("confirm_password") or [""])[-1]:
                return _challenge_page(state, error="The two passwords are not the same.", status=422)
        else:
            answer = re.sub(r"\s+", "", (form.get("code") or [""])[-1])
        try:
            signed = signin.answer_challenge(
                _password_auth(),
                _attempt_log(),
                challenge=data["c"],
                session=data["s"],
                email=data["e"],
                answer=answer,
                secret=_secret(),
                now=container.now(),
            )
        except signin.LockedOut as exc:
            count("DashboardSignInLockedOut")
            return _signin_page(
                status=429,
                error=_sentence(exc.message),
                next_path=next_path,
                headers={"Retry-After": str(exc.retry_after)},
            )
        except signin.ChallengeRequired as exc:
            if not exc.answerable:
                return _signin_page(status=400, error=_sentence(exc.message), next_path=next_path)
            return _challenge_page(_challenge_state(exc, next_path))
        except ValidationFailed as exc:
            return _challenge_page(state, error=_sentence(exc.message), status=422)
        except Unauthenticated as exc:
            log_event("dashboard sign-in", outcome="challenge_refused")
            count("DashboardSignInRefused")
            if exc.message == signin.EXPIRED_STEP:
                return _signin_page(status=401, error=_sentence(exc.message), next_path=next_path)
            return _challenge_page(state, error=_sentence(exc.message), status=401)
        except TemporarilyUnavailable as exc:
            return _challenge_page(state, error=_sentence(exc.message), status=503)
        return _session_started(signed, next_path)
    except Exception as exc:  # noqa: BLE001 - errors become pages
        return _error_page(exc, None)


@bp.route("/dashboard/sign-out", methods=["POST"], content_types=[FORM])
def dash_sign_out() -> Response:
    clear = {"Set-Cookie": expired_cookie(SESSION_COOKIE, secure=_secure())}
    try:
        form = _read_form()
        try:
            session = _current_session()
        except _SignedOut:
            session = None
        if session is not None and not csrf_valid(_secret(), session.token, "sign-out", (form.get("csrf") or [""])[-1]):
            return _render("error", session=session, status=403, kind="csrf", message="")
        if session is not None:
            # The cookie is cleared, and a copy of it (another tab, a stolen cookie) stops working too.
            now = container.now()
            until = datetime.fromtimestamp(session.principal.expires_at, UTC) if session.principal.expires_at else now
            _signed_out_sessions().revoke(session.token, now, max(until, now) + timedelta(minutes=5))
            log_event("dashboard sign-out")
        return _redirect("/dashboard?signed_out=1", clear)
    except Exception as exc:  # noqa: BLE001 - errors become pages
        return _error_page(exc, None)


# Events list and creation -----------------------------------------------------------------------------


def _next_send(store: Any, wave: Wave, now: datetime) -> datetime | None:
    """The earliest email still owed in the wave (the due index's own field), None when nothing is."""
    if wave.closes_at is not None and wave.closes_at <= now:
        return None
    return min((i.due_at for i in store.list_invitations(wave.wave_id) if i.due_at is not None), default=None)


def _waves_of(store: Any, event_id: str) -> list[Wave]:
    return sorted(store.list_waves(event_id), key=lambda w: w.created_at or datetime.min.replace(tzinfo=UTC))


def _events_page(session: Session) -> Response:
    store = container.store()
    now = container.now()
    k = container.settings().suppression_k
    rows = []
    events = [e for e in store.list_events() if _visible(session.principal, e.event_id)]
    for event in sorted(events, key=lambda e: (e.starts_on, e.event_id), reverse=True):
        waves = []
        for wave in _waves_of(store, event.event_id):
            summary = admin.summarize(store, event.event_id, wave.wave_id, None, k=k)
            waves.append({"wave": wave, "funnel": summary["funnel"], "next_send": _next_send(store, wave, now)})
        upcoming = [w["next_send"] for w in waves if w["next_send"] is not None]
        rows.append({"event": event, "waves": waves, "next_send": min(upcoming, default=None)})
    return _render("events", session=session, section="events", rows=rows, now=now)


@page("/dashboard/events/new", role="admin")
def dash_new_event(ctx: Ctx) -> Response:
    return _event_form(ctx.session, values={"languages": list(LANGUAGES), "timezone": "Europe/Geneva"})


def _event_form(
    session: Session,
    *,
    values: dict[str, Any],
    error: str = "",
    status: int = 200,
    event: Event | None = None,
) -> Response:
    has_waves = locked = False
    if event is not None:
        store = container.store()
        waves = store.list_waves(event.event_id)
        has_waves = bool(waves)
        locked = any(
            w.opened_at is not None or any(i.sent_kinds for i in store.list_invitations(w.wave_id)) for w in waves
        )
    return _render(
        "event_new",
        session=session,
        section="" if event else "new",
        status=status,
        values=values,
        error=error,
        languages=LANGUAGE_NAMES,
        event=event,
        has_waves=has_waves,
        locked=locked,
    )


def _event_body(ctx: Ctx) -> dict[str, Any]:
    return {
        "title": ctx.text("title"),
        "starts_on": ctx.text("starts_on"),
        "ends_on": ctx.text("ends_on"),
        "timezone": ctx.text("timezone"),
        "venue": ctx.text("venue"),
        "theme": ctx.text("theme"),
        "languages": [lang for lang in LANGUAGES if lang in ctx.form.get("languages", [])],
    }


@page("/dashboard/events", method="POST", role="admin", purpose="create-event")
def dash_create_event(ctx: Ctx) -> Response:
    body = _event_body(ctx)
    try:
        event = admin.create_event(container.store(), body, container.now())
    except ValidationFailed as exc:
        return _event_form(ctx.session, values=body, error=exc.message, status=422)
    log_event("dashboard event created", event_id=event.event_id)
    return _redirect(f"/dashboard/events/{event.event_id}?notice=event-created")


@page("/dashboard/events/{event_id}/edit", role="admin")
def dash_edit_event(ctx: Ctx, event_id: str) -> Response:
    event = container.store().get_event(event_id)
    values = admin.event_view(event)
    return _event_form(ctx.session, values=values, event=event)


@page("/dashboard/events/{event_id}/edit", method="POST", role="admin", purpose="edit-event:{event_id}")
def dash_update_event(ctx: Ctx, event_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    body = _event_body(ctx)
    try:
        admin.update_event(store, event_id, body, now=container.now())
    except (ValidationFailed, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _event_form(ctx.session, values=body, error=exc.message, status=status, event=event)
    log_event("dashboard event updated", event_id=event_id)
    return _redirect(f"/dashboard/events/{event_id}?notice=event-updated")


# The event page ---------------------------------------------------------------------------------------


def _event_page(
    ctx: Ctx,
    event_id: str,
    *,
    status: int = 200,
    wave_values: dict[str, str] | None = None,
    wave_error: str = "",
) -> Response:
    store = container.store()
    now = container.now()
    k = container.settings().suppression_k
    params = query(bp.current_request)
    event = store.get_event(event_id)
    people = admin.participants_view(store, event_id)
    waves = []
    for wave in _waves_of(store, event_id):
        questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
        summary = admin.summarize(store, event_id, wave.wave_id, None, k=k)
        waves.append(
            {
                "wave": wave,
                "view": admin.wave_view(wave),
                "title": questionnaire.title.get("en") or questionnaire.id,
                "funnel": summary["funnel"],
                "next_send": _next_send(store, wave, now),
                "closed": wave.closes_at is not None and wave.closes_at <= now,
                "languages": [lang for lang in event.languages if lang in questionnaire.languages],
            }
        )
    search = params.get("q", "").strip()[:100]
    needle = search.casefold()
    found = [
        p
        for p in people
        if not needle
        or any(needle in str(p.get(name) or "").casefold() for name in ("full_name", "email", "organisation"))
    ]
    pages = max(1, -(-len(found) // PAGE_SIZE))
    try:
        number = min(max(1, int(params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    shown = found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    defaults = {
        "questionnaire": "satisfaction",
        "opens_kind": "after_event",
        "opens_after_days": "1",
        "opens_local_time": "09:00",
        "opens_date": "",
        "opens_time": "09:00",
        "reminders": "7",
        "closes_kind": "after_open",
        "closes_after_days": "21",
        "closes_date": "",
        "closes_time": "18:00",
    }
    return _render(
        "event",
        session=ctx.session,
        status=status,
        event=event,
        waves=waves,
        participants=shown,
        total=len(people),
        matched=len(found),
        search=search,
        page_number=number,
        pages=pages,
        page_size=PAGE_SIZE,
        questionnaires=catalogue.listing(store),
        wave_values={**defaults, **(wave_values or {})},
        wave_error=wave_error,
        notice=NOTICES.get(params.get("notice", ""), ""),
        funnel_stages=FUNNEL,
        language_names=LANGUAGE_NAMES,
        max_mb=admin_api.MAX_CSV // (1024 * 1024),
        imports=[importing.job_view(j, now) for j in importing.running(store.list_imports(event_id))],
        now=now,
    )


@page("/dashboard/events/{event_id}", role="admin")
def dash_event(ctx: Ctx, event_id: str) -> Response:
    return _event_page(ctx, event_id)


@page(
    "/dashboard/events/{event_id}/participants",
    method="POST",
    role="admin",
    purpose="import:{event_id}",
    upload=True,
)
def dash_import(ctx: Ctx, event_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    raw = ctx.files.get("csv", b"")
    if not raw.strip():
        raise ValidationFailed("choose a CSV file to upload")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("the CSV must be UTF-8; save it as “CSV UTF-8” and upload it again") from None
    outcome = admin_api.start_import(event_id, text)
    if isinstance(outcome, ImportJob):
        log_event(
            "dashboard import started", event_id=event_id, import_id=outcome.import_id, rows=outcome.rows,
            rejected=outcome.rejected_count,
        )  # fmt: skip
        return _redirect(f"/dashboard/events/{event_id}/imports/{outcome.import_id}")
    log_event(
        "dashboard import", event_id=event_id, imported=outcome.imported, updated=outcome.updated,
        rejected=len(outcome.rejected),
    )  # fmt: skip
    return _render("import_result", session=ctx.session, event=event, report=outcome.view(), job=None, state="done")


@page("/dashboard/events/{event_id}/imports/{import_id}", role="admin")
def dash_import_status(ctx: Ctx, event_id: str, import_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    job = importing.job_view(store.get_import(event_id, import_id), container.now())
    response = _render("import_result", session=ctx.session, event=event, job=job, report=None, state=job["status"])
    response.headers["Cache-Control"] = "no-store"
    return response


def _wave_body(ctx: Ctx, event: Event) -> dict[str, Any]:
    """The wave form as the body ``admin.create_wave`` validates (the same shape as the JSON API's)."""

    def whole(name: str, label: str) -> int:
        value = ctx.text(name)
        if not re.fullmatch(r"\d{1,4}", value):
            raise ValidationFailed(f"{label} must be a whole number of days")
        return int(value)

    def instant(prefix: str, label: str) -> str:
        try:
            local = datetime.fromisoformat(f"{ctx.text(prefix + '_date')}T{ctx.text(prefix + '_time') or '00:00'}")
            return local.replace(tzinfo=ZoneInfo(event.timezone)).isoformat()
        except (ValueError, ZoneInfoNotFoundError):
            raise ValidationFailed(f"{label} needs a date and a time") from None

    body: dict[str, Any] = {"questionnaire": ctx.text("questionnaire")}
    if ctx.text("opens_kind") == "at":
        body["opens"] = {"at": instant("opens", "the opening")}
    else:
        body["opens"] = {
            "after_event_days": whole("opens_after_days", "days after the event"),
            "local_time": ctx.text("opens_local_time") or "09:00",
        }
    reminders = [r for r in re.split(r"[\s,;]+", ctx.text("reminders")) if r]
    if any(not re.fullmatch(r"\d{1,4}", r) for r in reminders):
        raise ValidationFailed("reminders must be whole numbers of days, separated by commas, e.g. 7, 14")
    body["reminders_after_days"] = [int(r) for r in reminders]
    if ctx.text("closes_kind") == "at":
        body["closes"] = {"at": instant("closes", "the closing")}
    else:
        body["closes"] = {"after_open_days": whole("closes_after_days", "days open")}
    return body


@page("/dashboard/events/{event_id}/waves", method="POST", role="admin", purpose="wave:{event_id}")
def dash_create_wave(ctx: Ctx, event_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    try:
        wave = admin.create_wave(
            store,
            event_id,
            _wave_body(ctx, event),
            panel_secret=container.settings().panel_secret,
            now=container.now(),
        )
    except ValidationFailed as exc:
        kept = {name: ctx.text(name) for name in ctx.form if name != "csrf"}
        return _event_page(ctx, event_id, status=422, wave_values=kept, wave_error=exc.message)
    log_event("dashboard wave created", event_id=event_id, wave_id=wave.wave_id)
    return _redirect(f"/dashboard/events/{event_id}?notice=wave-created#wave-{wave.wave_id}")


@page(
    "/dashboard/events/{event_id}/waves/{wave_id}/send",
    method="POST",
    role="admin",
    purpose="send:{event_id}:{wave_id}",
)
def dash_send(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    result = admin_api.send_now(event_id, wave_id)
    log_event("dashboard send", event_id=event_id, wave_id=wave_id, queued=result["queued"])
    counts = {"queued": result["queued"], "due_now": result["due_now"], "planned": result["planned"]}
    # Post, redirect, get: the page that follows the sending can be reloaded without sending again.
    return _redirect(f"/dashboard/events/{event_id}/waves/{wave_id}/sending?" + urlencode({"action": "send", **counts}))


@page(
    "/dashboard/events/{event_id}/waves/{wave_id}/remind",
    method="POST",
    role="admin",
    purpose="remind:{event_id}:{wave_id}",
)
def dash_remind(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    store = container.store()
    before = _manual_reminders(store, wave_id)
    result = distribution.remind_now(store, container.send_queue(), event_id, wave_id, container.now())
    log_event("dashboard remind", event_id=event_id, wave_id=wave_id, queued=result.get("queued"))
    counts = {"action": "remind", "queued": int(result.get("queued") or 0), "before": before}
    return _redirect(f"/dashboard/events/{event_id}/waves/{wave_id}/sending?" + urlencode(counts))


def _manual_reminders(store: Any, wave_id: str) -> int:
    """Reminders sent (or taken by the sender) outside the schedule, over the whole wave."""
    invitations = store.list_invitations(wave_id)
    return sum(1 for inv in invitations for k in inv.sent_kinds | set(inv.claimed) if k.startswith("manual-"))


def _count_param(params: dict[str, str], name: str) -> int:
    value = params.get(name, "0")
    return min(int(value), 10**7) if value.isdigit() else 0


@page("/dashboard/events/{event_id}/waves/{wave_id}/sending", role="admin")
def dash_sending(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    """What a "send now" or "send reminders" started, and how far the sender has gone: the emails still
    owed now (queued or about to be), those the mail service took, and those it confirmed delivered."""
    store = container.store()
    params = query(bp.current_request)
    action = "remind" if params.get("action") == "remind" else "send"
    now = container.now()
    wave = store.get_wave(event_id, wave_id)
    if action == "remind":
        done = _manual_reminders(store, wave_id) - _count_param(params, "before")
        owed = max(0, _count_param(params, "queued") - done)
    else:
        owed = 0
        for inv in store.list_invitations(wave_id):
            handled = INVITATION in inv.sent_kinds or INVITATION in inv.claimed
            later = inv.due_kind == INVITATION and inv.due_at is not None and inv.due_at > now
            if not handled and not later and inv.status not in ("suppressed", "failed"):
                owed += 1
    summary = admin.summarize(store, event_id, wave_id, None, k=container.settings().suppression_k)
    response = _render(
        "send_result",
        session=ctx.session,
        event=store.get_event(event_id),
        wave=wave,
        action=action,
        result={name: _count_param(params, name) for name in ("queued", "due_now", "planned")},
        owed=owed,
        funnel=summary["funnel"],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# Previews ---------------------------------------------------------------------------------------------


def _preview_subject(event_id: str, wave_id: str) -> tuple[Event, Wave, Any, str]:
    store = container.store()
    event = store.get_event(event_id)
    wave = store.get_wave(event_id, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    wanted = query(bp.current_request).get("lang", "")
    languages = [lang for lang in event.languages if lang in questionnaire.languages] or list(questionnaire.languages)
    lang = wanted if wanted in languages else languages[0]
    return event, wave, questionnaire, lang


def _sample_email(event: Event, wave: Wave, lang: str, kind: str) -> Any:
    """The email exactly as the sender composes it, for a sample participant and a dummy link."""
    job = SendJob(
        event_id=event.event_id,
        wave_id=wave.wave_id,
        participant_id="preview",
        kind=kind,
        email="participant@example.org",
        name="Alex Example",
        language=lang,
        event_title=event.title,
        closes_at=wave.closes_at,
    )
    base = container.settings().public_base_url
    return distribution.compose(container.renderer(), job, "preview-link-not-a-real-token", base_url=base)


@page("/dashboard/events/{event_id}/waves/{wave_id}/preview", role="admin")
def dash_preview(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    event, wave, questionnaire, lang = _preview_subject(event_id, wave_id)
    languages = [code for code in event.languages if code in questionnaire.languages]
    emails = [(kind, _sample_email(event, wave, lang, kind)) for kind in (INVITATION, "reminder-1")]
    return _render(
        "preview",
        session=ctx.session,
        event=event,
        wave=wave,
        questionnaire=questionnaire,
        lang=lang,
        languages=languages,
        language_names=LANGUAGE_NAMES,
        emails=emails,
    )


@page("/dashboard/events/{event_id}/waves/{wave_id}/preview/email", role="admin")
def dash_preview_email(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    event, wave, _, lang = _preview_subject(event_id, wave_id)
    kind = INVITATION if query(bp.current_request).get("kind", INVITATION) == INVITATION else "reminder-1"
    return html_response(_sample_email(event, wave, lang, kind).html)


@page("/dashboard/events/{event_id}/waves/{wave_id}/preview/form", role="admin")
def dash_preview_form(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    _, wave, questionnaire, lang = _preview_subject(event_id, wave_id)
    # The participant's page itself, with a link that is not a real token (sending it shows "not recognised").
    body = container.renderer().render_page(
        "survey",
        lang,
        {
            "questionnaire": questionnaire,
            "q_lang": lang,
            "token": "preview",
            "root": base_path(bp.current_request),
            "values": {},
            "errors": {},
            "version": 0,
            "sealed": "",
            "closes_at": wave.closes_at,
            "editing": False,
            "languages": [lang],
        },
    )
    return html_response(body)


# Report, exports and the programme --------------------------------------------------------------------

_MAIN = re.compile(r"<main\b[^>]*>(.*)</main>", re.DOTALL)


@page("/dashboard/events/{event_id}/report")
def dash_report(ctx: Ctx, event_id: str) -> Response:
    from markupsafe import Markup

    store = container.store()
    params = query(bp.current_request)
    event = store.get_event(event_id)
    waves = _waves_of(store, event_id)
    by = params.get("by") if params.get("by") in DIMENSIONS else "stakeholder_group"
    if not waves:
        return _render("report", session=ctx.session, event=event, waves=[], content="", by=by)
    wanted = params.get("wave")
    wave_id = wanted if any(w.wave_id == wanted for w in waves) else waves[-1].wave_id
    data = admin.report_data(store, event_id, wave_id, by, k=container.settings().suppression_k)
    # The very report the JSON API serves, without its page frame: one report, in two places.
    html = container.renderer().render_page("report", "en", {**data, "report_lang": "en"})
    found = _MAIN.search(html)
    fragment = found.group(1) if found else ""
    content = Markup(fragment)  # noqa: S704 - rendered by our autoescaped template  # nosec B704
    sentences = data["summary"].get("sentences", {})
    return _render(
        "report",
        session=ctx.session,
        event=event,
        waves=waves,
        wave_id=wave_id,
        by=by,
        dimensions=DIMENSION_NAMES,
        content=content,
        sentences=[(code, LANGUAGE_NAMES[code], sentences.get(code, [])) for code in LANGUAGES],
    )


@page("/dashboard/events/{event_id}/export.csv")
def dash_export(ctx: Ctx, event_id: str) -> Response:
    return admin_api.export_response(event_id, query(bp.current_request))


@page("/dashboard/programme")
def dash_programme(ctx: Ctx) -> Response:
    store = container.store()
    params = query(bp.current_request)
    now = container.now()
    indicators = sorted(
        {q["indicator"] for item in catalogue.listing(store) for q in item["questions"] if q.get("indicator")}
    )
    years = sorted({e.year for e in store.list_events() if _visible(ctx.session.principal, e.event_id)} | {now.year})
    raw_year = params.get("year", str(now.year))
    if not re.fullmatch(r"\d{4}", raw_year):
        raise ValidationFailed("year must be a year such as 2026")
    year = int(raw_year)
    wanted = params.get("indicator", "")
    indicator = wanted if wanted in indicators else "mutual_learning"
    data = admin.programme(
        store, year, indicator, k=container.settings().suppression_k, only_events=ctx.session.principal.events
    )
    rows = data["waves"]
    return _render(
        "programme",
        session=ctx.session,
        section="programme",
        year=year,
        years=years,
        indicator=indicator,
        indicators=indicators,
        rows=rows,
    )


@bp.route("/dashboard/static/{name}", methods=["GET"])
def dash_script(name: str) -> Response:
    if name not in SCRIPTS:
        return Response(body="not found", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"})
    return Response(
        body=_script(name),
        status_code=200,
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )

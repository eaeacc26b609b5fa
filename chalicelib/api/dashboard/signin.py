"""Signing in and out of the dashboard: the sign-in page (or, signed in, the events list), the password step,
Cognito's challenges (a first sign-in's new password, a one-time code) and sign-out. The rules (lockout after
failed attempts, which challenges are offered) are ``domain/signin.py``'s; these views only show them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard import events
from chalicelib.api.dashboard.framework import (
    FORM,
    SignedOut,
    authorise,
    bp,
    client_address,
    cookies,
    current_session,
    error_page,
    params,
    read_form,
    redirect,
    refused_form,
    render,
    secret,
    secure,
)
from chalicelib.api.session import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    cookie,
    csrf_token,
    csrf_valid,
    expired_cookie,
    new_nonce,
    open_state,
    seal,
    seal_state,
)
from chalicelib.domain import signin
from chalicelib.domain.errors import TemporarilyUnavailable, Unauthenticated, ValidationFailed
from chalicelib.observability import count, log_event, logger

SIGNIN_NONCE_AGE = 3600
CHALLENGE_AGE = 590  # seconds: the app client keeps a sign-in step's session ten minutes (AuthSessionValidity)
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


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
    nonce = cookies().get(SIGNIN_COOKIE, "")
    return nonce if _NONCE.fullmatch(nonce) else new_nonce()


def _form_nonce_valid(form: dict[str, list[str]], purpose: str) -> bool:
    """The sign-in forms' CSRF token, bound to the nonce cookie (there is no session yet)."""
    nonce = cookies().get(SIGNIN_COOKIE, "")
    return bool(_NONCE.fullmatch(nonce)) and csrf_valid(secret(), nonce, purpose, (form.get("csrf") or [""])[-1])


def _field(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[-1]


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
    is_secure = secure()
    set_cookies = [cookie(SIGNIN_COOKIE, nonce, max_age=SIGNIN_NONCE_AGE, secure=is_secure)]
    if clear_session:
        set_cookies.append(expired_cookie(SESSION_COOKIE, secure=is_secure))
    return render(
        "sign_in",
        session=None,
        status=status,
        headers={"Set-Cookie": set_cookies, **(headers or {})},
        token=csrf_token(secret(), nonce, "sign-in"),
        email_value=email_value,
        error=error,
        notice=notice,
        next_path=next_path,
    )


@bp.route("/dashboard", methods=["GET"])
def dash_home() -> Response:
    wanted = params()
    session = None
    try:
        try:
            session = current_session()
        except SignedOut:
            return _signin_page(
                notice="Your session has ended. Please sign in again.",
                next_path=_safe_next(wanted.get("next", "")),
                clear_session=True,
            )
        if session is None:
            notice = ""
            if wanted.get("signed_out") == "1":
                notice = "You have signed out."
            elif wanted.get("ended") == "1":
                notice = "Your session has ended. Please sign in again."
            return _signin_page(notice=notice, next_path=_safe_next(wanted.get("next", "")))
        authorise(session.principal, "viewer", None)
        return events.events_page(session)
    except Exception as exc:  # noqa: BLE001 - errors become pages
        return error_page(exc, session)


@bp.route("/dashboard/sign-in", methods=["POST"], content_types=[FORM])
def dash_sign_in() -> Response:
    try:
        form = read_form()
        if not _form_nonce_valid(form, "sign-in"):
            return refused_form(None)
        email_value = _field(form, "email").strip()
        password = _field(form, "password")
        next_path = _safe_next(_field(form, "next"))
        try:
            signed = signin.sign_in(
                container.password_auth(),
                container.attempt_log(),
                email_value,
                password,
                secret=secret(),
                now=container.now(),
                origin=client_address(),
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
            }.get(exc.code, _sentence(exc.message))
            status = 401 if isinstance(exc, Unauthenticated) else 400
            return _signin_page(status=status, email_value=email_value, error=message, next_path=next_path)
        except TemporarilyUnavailable as exc:
            return _signin_page(status=503, email_value=email_value, error=exc.message.capitalize() + ".")
        return _session_started(signed, next_path)
    except Exception as exc:  # noqa: BLE001 - errors become pages
        return error_page(exc, None)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:].rstrip(".") + "."


def _session_started(signed: signin.SignedIn, next_path: str) -> Response:
    # The cookie only ever holds a token this app accepts.
    principal = container.verifier().verify(signed.access_token)
    log_event("dashboard sign-in", outcome="ok", roles=",".join(sorted(principal.roles)))
    is_secure = secure()
    sealed = seal(secret(), signed.access_token)
    return redirect(
        next_path,
        {
            "Set-Cookie": [
                cookie(SESSION_COOKIE, sealed, max_age=signed.expires_in, secure=is_secure),
                expired_cookie(SIGNIN_COOKIE, secure=is_secure),
            ]
        },
    )


def _challenge_state(exc: signin.ChallengeRequired, next_path: str) -> str:
    data = {"c": exc.name, "s": exc.session, "e": exc.email, "n": next_path}
    if exc.setup_key:
        data["k"] = exc.setup_key  # shown on the page anyway; sealed so that a retry shows the same key
    return seal_state(secret(), "challenge", data, int(container.now().timestamp()))


def _challenge_page(state: str, *, error: str = "", status: int = 200) -> Response:
    """The second step of a sign-in: a new password for a first sign-in, or a one-time code. The step's
    state (Cognito's session for it, the address, where to go next) travels in a MAC-sealed field."""
    data = open_state(secret(), "challenge", state, int(container.now().timestamp()), CHALLENGE_AGE) or {}
    nonce = _signin_nonce()
    return render(
        "challenge",
        session=None,
        status=status,
        headers={"Set-Cookie": cookie(SIGNIN_COOKIE, nonce, max_age=SIGNIN_NONCE_AGE, secure=secure())},
        token=csrf_token(secret(), nonce, "challenge"),
        state=state,
        new_password=data.get("c") == signin.NEW_PASSWORD,
        sms=data.get("c") == "SMS_MFA",
        setup=_authenticator_setup(data) if data.get("c") == signin.MFA_SETUP else None,
        error=error,
    )


def _authenticator_setup(data: dict[str, Any]) -> dict[str, str]:
    """What the person types or opens in their authenticator app: the key in groups of four, and the
    ``otpauth://`` link that phone apps open."""
    key = str(data.get("k") or "")
    label = quote(f"event-feedback:{data.get('e', '')}", safe="")
    return {
        "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
        "link": f"otpauth://totp/{label}?secret={quote(key, safe='')}&issuer=event-feedback",
    }


@bp.route("/dashboard/sign-in/challenge", methods=["POST"], content_types=[FORM])
def dash_sign_in_challenge() -> Response:
    try:
        form = read_form()
        if not _form_nonce_valid(form, "challenge"):
            return refused_form(None)
        state = _field(form, "state")
        data = open_state(secret(), "challenge", state, int(container.now().timestamp()), CHALLENGE_AGE)
        if data is None or not all(isinstance(data.get(k), str) for k in ("c", "s", "e", "n")):
            return _signin_page(status=401, error="This sign-in step has expired. Please sign in again.")
        next_path = _safe_next(data["n"])
        if data["c"] == signin.NEW_PASSWORD:
            answer = _field(form, "new_password")
            if answer != _field(form, "confirm_password"):
                return _challenge_page(state, error="The two passwords are not the same.", status=422)
        else:
            answer = re.sub(r"\s+", "", _field(form, "code"))
        try:
            signed = signin.answer_challenge(
                container.password_auth(),
                container.attempt_log(),
                challenge=data["c"],
                session=data["s"],
                email=data["e"],
                answer=answer,
                secret=secret(),
                now=container.now(),
                origin=client_address(),
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
        return error_page(exc, None)


@bp.route("/dashboard/sign-out", methods=["POST"], content_types=[FORM])
def dash_sign_out() -> Response:
    clear = {"Set-Cookie": expired_cookie(SESSION_COOKIE, secure=secure())}
    try:
        form = read_form()
        try:
            session = current_session()
        except SignedOut:
            session = None
        if session is not None and not csrf_valid(secret(), session.token, "sign-out", _field(form, "csrf")):
            return render("error", session=session, status=403, kind="csrf", message="")
        if session is not None:
            # The cookie is cleared, and a copy of it (another tab, a stolen cookie) stops working too.
            now = container.now()
            until = datetime.fromtimestamp(session.principal.expires_at, UTC) if session.principal.expires_at else now
            container.signed_out_sessions().revoke(session.token, now, max(until, now) + timedelta(minutes=5))
            try:  # Cognito revokes the refresh tokens; our list above already refuses this token everywhere
                container.password_auth().sign_out(session.token)
            except Exception:  # noqa: BLE001 - signed out here whatever Cognito answers; ops hear of it
                logger.warning("Cognito could not be told of a sign-out; the token is refused here all the same")
                count("DashboardSignOutNotRelayed")
            log_event("dashboard sign-out")
        return redirect("/dashboard?signed_out=1", clear)
    except Exception as exc:  # noqa: BLE001 - errors become pages
        return error_page(exc, None)

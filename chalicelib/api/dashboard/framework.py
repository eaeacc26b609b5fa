"""The dashboard's page framework: the session behind the cookie, the ``page`` decorator (session, role,
scope and CSRF checks, then the view), reading forms and uploads, rendering, redirects, and the one place
where a view's error becomes a page (through ``api.errors.classify``, the map the JSON API uses too)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from chalice import Blueprint
from chalice.app import Response

from chalicelib import container
from chalicelib.adapters.auth import Principal
from chalicelib.api.errors import BadBody, classify, dashboard_kind, html_response, refused
from chalicelib.api.request import base_path, body_bytes, query
from chalicelib.api.session import (
    SESSION_COOKIE,
    csrf_token,
    csrf_valid,
    expired_cookie,
    parse_cookies,
    unseal,
    verified,
)
from chalicelib.domain.errors import ConfigurationError, DomainError, Forbidden, TemporarilyUnavailable, Unauthenticated
from chalicelib.domain.importing import MAX_CSV
from chalicelib.observability import log_event, logger

bp = Blueprint("chalicelib.api.dashboard")

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FORM = 64 * 1024
MAX_UPLOAD = MAX_CSV + 64 * 1024  # the CSV plus the multipart envelope and the other fields
MAX_FIELDS = 200
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}
# The dashboard's scripts are files beside the package (chalice ships chalicelib/ whole), read on their first
# request, not at cold start; CSP script-src 'self' covers them, so they need no hash or nonce.
_STATIC = Path(__file__).resolve().parent.parent.parent / "static" / "dashboard"
SCRIPTS = ("copy.js", "status.js")


# Sessions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal

    @property
    def is_admin(self) -> bool:
        return "admin" in self.principal.roles

    @property
    def creates_events(self) -> bool:
        """An admin of every event: the one who may create events."""
        return self.is_admin and self.principal.all_events

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


class SignedOut(Exception):
    """No valid session: no cookie, a cookie we did not issue, or an expired or otherwise refused token."""

    def __init__(self, had_cookie: bool) -> None:
        super().__init__("signed out")
        self.had_cookie = had_cookie


class _CsrfRefused(Exception):
    pass


def secret() -> str:
    return container.settings().session_secret


def secure() -> bool:
    base = container.settings().public_base_url
    return not base.startswith(("http://127.0.0.1", "http://localhost"))


def cookies() -> dict[str, str]:
    return parse_cookies(bp.current_request.headers.get("cookie"))


def current_session() -> Session | None:
    raw = cookies().get(SESSION_COOKIE)
    if not raw:
        return None
    token = unseal(secret(), raw)
    if token is None:
        raise SignedOut(had_cookie=True)
    try:
        principal = verified(token)
    except Unauthenticated:  # expired, forged, or signed out
        raise SignedOut(had_cookie=True) from None
    except DomainError:  # the store is busy: its own page
        raise
    except Exception as exc:  # the JWKS endpoint is unreachable: say so rather than sign out
        logger.exception("dashboard token verification unavailable")
        raise TemporarilyUnavailable("sign-in cannot be checked just now; try again in a minute") from exc
    return Session(token=token, principal=principal)


def authorise(principal: Principal, role: str, event_id: str | None) -> None:
    if not principal.roles & {"admin", "viewer"}:
        raise Forbidden("your account has neither the admin nor the viewer role")
    if role == "admin" and "admin" not in principal.roles:
        raise Forbidden("viewers cannot do this: it needs the admin role")
    if event_id is not None:
        principal.require_event(event_id)


def params() -> dict[str, str]:
    """The request's query string."""
    return query(bp.current_request)


def client_address() -> str:
    """The client's IP address as API Gateway saw it (``requestContext.identity.sourceIp``), or ""."""
    identity = (bp.current_request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "")


# Request bodies ---------------------------------------------------------------------------------------


def read_form() -> dict[str, list[str]]:
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
        raise BadBody(413, f"the file is larger than {MAX_CSV // (1024 * 1024)} MB; split it")
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


def render(
    template: str,
    *,
    session: Session | None,
    status: int = 200,
    headers: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    from chalicelib.adapters.renderer import environment

    key = secret()

    def csrf(purpose: str) -> str:
        return csrf_token(key, session.token, purpose) if session else ""

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


def refused_form(session: Session | None) -> Response:
    """A form whose CSRF token is missing, stale or for another action."""
    log_event("dashboard form refused", reason="csrf")
    return render("error", session=session, status=403, kind="csrf", message="")


def redirect(location: str, headers: dict[str, Any] | None = None) -> Response:
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


def error_page(exc: Exception, session: Session | None) -> Response:
    if isinstance(exc, ConfigurationError):  # the dashboard's own pages need the settings it was refused
        return refused(exc, as_json=False)
    outcome = classify(exc, unexpected="dashboard error")
    if isinstance(outcome.error, DomainError | BadBody):
        return render(
            "error", session=session, status=outcome.status, kind=dashboard_kind(outcome), message=outcome.message
        )
    if outcome.error is not None:  # a Chalice error inside a dashboard view is ours, not the visitor's
        logger.exception("dashboard error")
    return render("error", session=session, status=500, kind="error", message="")


def _signed_out(had_cookie: bool) -> Response:
    request = bp.current_request
    clear = {"Set-Cookie": expired_cookie(SESSION_COOKIE, secure=secure())} if had_cookie else {}
    if request.method == "GET":
        target = request.path
        for name, value in (request.uri_params or {}).items():
            target = target.replace("{" + name + "}", quote(value, safe=""))
        wanted = query(request)
        if wanted:
            target += "?" + urlencode(wanted)
        return redirect("/dashboard?" + urlencode({"next": target, **({"ended": "1"} if had_cookie else {})}), clear)
    return render("error", session=None, status=401, kind="signed_out", message="", headers=clear)


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
        def run(**route: Any) -> Response:
            session: Session | None = None
            try:
                session = current_session()
                if session is None:
                    raise SignedOut(had_cookie=False)
                authorise(session.principal, role, route.get("event_id"))
                ctx = Ctx(session=session)
                if method == "POST":
                    if upload:
                        ctx.form, ctx.files = _read_multipart()
                    else:
                        ctx.form = read_form()
                    wanted = (purpose or "").format(**route)
                    if not purpose or not csrf_valid(secret(), session.token, wanted, ctx.text("csrf") or None):
                        raise _CsrfRefused()
                return view(ctx, **route)
            except SignedOut as exc:
                return _signed_out(exc.had_cookie)
            except _CsrfRefused:
                return refused_form(session)
            except Exception as exc:  # noqa: BLE001 - the one place where dashboard errors become pages
                return error_page(exc, session)

        run.required_role = role  # type: ignore[attr-defined]  # checked by tests/unit/test_route_auth.py
        content_types = [MULTIPART] if upload else [FORM] if method == "POST" else None
        extra: dict[str, Any] = {"content_types": content_types} if content_types else {}
        return bp.route(path, methods=[method], **extra)(run)

    return register


@functools.cache
def _script(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


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

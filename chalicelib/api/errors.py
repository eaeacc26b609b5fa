"""Domain errors to HTTP, in exactly one place: JSON for the admin API, friendly pages for participants.

A traceback never reaches a client: anything unexpected becomes a 500 with a generic message, and is
logged (masked) with the request id. A configuration the process refuses to run with (ConfigurationError:
unsafe or unreadable secrets, a local stage in a real Lambda) is one ERROR record with the reason and no
traceback, a 500 ``configuration`` error for JSON clients and the "unavailable" page for participants; the
reason stays in the log (it names variables and secrets, which are nobody else's business).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice.app import ChaliceViewError, Response

from chalicelib.domain import errors as e
from chalicelib.observability import log_refusal, logger

STATUS: dict[type[e.DomainError], int] = {
    e.ValidationFailed: 400,
    e.TooLarge: 413,
    e.UnsupportedFile: 415,
    e.NotFound: 404,
    e.Conflict: 409,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.WaveClosed: 410,
    e.OptedOut: 410,
    e.Erased: 410,
    e.TemporarilyUnavailable: 503,
    e.ConfigurationError: 500,
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def status_of(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 400


def json_error(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def html_response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=body,
        status_code=status,
        headers={"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS, **(headers or {})},
    )


def csv_response(filename: str, text: str) -> Response:
    """A CSV download; the name is quoted so that no header injection is possible."""
    from urllib.parse import quote

    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{quote(filename)}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


ERROR_PAGES = {
    400: "bad_request",
    404: "not_found",
    410: "closed",
    413: "too_large",
    415: "bad_request",
    503: "unavailable",
}
DASHBOARD_PAGES = {401: "signed_out", 403: "forbidden", 404: "not_found", 503: "unavailable"}
REFUSED_MESSAGE = "the service is not configured correctly and cannot answer; its operators have the reason"


INTERNAL_MESSAGE = "something went wrong on our side; it has been logged"


class BadBody(Exception):
    """A request body a page cannot read (too large, not UTF-8, a broken form or upload)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """What an error means to a client: the status, the stable code and the message it may read."""

    status: int
    code: str
    message: str
    error: Exception | None = None
    details: Any = None  # what a refused request may show (a domain error's details), never a refusal's reason


def classify(exc: Exception, *, unexpected: str = "unhandled error") -> Outcome:
    """The one map from an error to its outcome; each renderer below only chooses the presentation.

    A refused configuration is logged once (its reason, no traceback) and an unexpected error with its masked
    traceback; neither reason reaches the client.
    """
    if isinstance(exc, e.ConfigurationError):
        log_refusal(exc.message)
        return Outcome(status_of(exc), exc.code, REFUSED_MESSAGE, exc)
    if isinstance(exc, e.DomainError):
        return Outcome(status_of(exc), exc.code, exc.message, exc, exc.details)
    if isinstance(exc, BadBody):
        return Outcome(exc.status, "invalid", exc.message, exc)
    if isinstance(exc, ChaliceViewError):
        status = int(getattr(exc, "STATUS_CODE", 400))
        code = type(exc).__name__.replace("Error", "").lower() or "error"
        message = "the request body is not valid JSON" if "JSON" in str(exc) else str(exc) or "bad request"
        return Outcome(status, code, message, exc)
    logger.exception(unexpected)
    return Outcome(500, "internal", INTERNAL_MESSAGE)


def classify_unexpected(what: str) -> None:
    """Log an unexpected error that a view answers itself (with its masked traceback, as ``classify`` does)."""
    logger.exception(what)


def json_outcome(outcome: Outcome) -> Response:
    return json_error(outcome.status, outcome.code, outcome.message, outcome.details)


def dashboard_kind(outcome: Outcome) -> str:
    """The dashboard error page's kind: a readable body or a rule the form broke is "invalid"."""
    if isinstance(outcome.error, BadBody):
        return "invalid"
    return DASHBOARD_PAGES.get(outcome.status, "invalid")


def participant_error_page(status: int, exc: Exception | None = None, *, lang: str | None = None) -> Response:
    from chalicelib.api.participant import render, request_language

    page = ERROR_PAGES.get(status, "error")
    if isinstance(exc, e.OptedOut):
        page = "opted_out"
    elif isinstance(exc, e.ConfigurationError):
        page = "unavailable"
    if lang is None:
        try:
            lang = request_language()
        except Exception:  # noqa: BLE001 - the error page must render even for a broken request
            lang = "en"
    body = render("error", lang, {"kind": page, "status": status})
    return html_response(body, status)


def refused(exc: e.ConfigurationError, *, as_json: bool) -> Response:
    """A refused configuration: logged once here, then a 500 that says no more than that."""
    outcome = classify(exc)
    return json_outcome(outcome) if as_json else participant_error_page(outcome.status, exc)


def _map(exc: Exception, as_json: bool) -> Response:
    outcome = classify(exc)
    if as_json:
        return json_outcome(outcome)
    return participant_error_page(outcome.status, outcome.error)


def handled(as_json: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view so every exception becomes a safe response (Chalice would answer its own 500 JSON)."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def run(**params: Any) -> Any:
            try:
                return view(**params)
            except Exception as exc:  # noqa: BLE001 - the one place where errors become responses
                return _map(exc, as_json)

        return run

    return wrap

"""The admin JSON API. Every route is behind the ``cognito_jwt`` authorizer and names the role it needs.

The authorizer verifies the Cognito JWT (signature against the pool's JWKS, expiry, issuer, client) and
passes the verdict on; ``_principal()`` turns it into 401 or 403 in our JSON error shape. Deciding in the
view keeps the behaviour identical under ``chalice local``, the test client and API Gateway.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice import AuthResponse, Blueprint
from chalice.app import AuthRequest, Response

from chalicelib import container
from chalicelib.adapters.auth import Principal
from chalicelib.api.errors import csv_response, handled, html_response
from chalicelib.api.request import body_bytes, query
from chalicelib.api.session import verified
from chalicelib.domain import (
    catalogue,
    distribution,
    erasure,
    events,
    importing,
    paper,
    planning,
    registration,
    reports,
    shares,
    waves,
)
from chalicelib.domain.errors import (
    ConfigurationError,
    Forbidden,
    TemporarilyUnavailable,
    TooLarge,
    Unauthenticated,
    UnsupportedFile,
    ValidationFailed,
)
from chalicelib.domain.importing import MAX_CSV
from chalicelib.domain.model import ImportJob
from chalicelib.domain.registration import UPLOAD_TYPES
from chalicelib.observability import log_event, log_refusal, logger, traced

bp = Blueprint(__name__)


# No cached verdicts: API Gateway would let a signed-out token through for as long as it cached "allowed", so
# every request is checked (a local signature check with the cached keys, and one BatchGetItem for sign-out:
# the session's and the user's).
@bp.authorizer(ttl_seconds=0)
@traced
def cognito_jwt(auth_request: AuthRequest) -> AuthResponse:
    token = (auth_request.token or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    try:
        principal = verified(token)
    except Unauthenticated as exc:
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"ok": "0", "reason": exc.message})
    except ConfigurationError as exc:  # the route answers the 500 (it refuses the same configuration)
        log_refusal(exc.message)
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"ok": "0", "reason": "unavailable"})
    except Exception:  # noqa: BLE001 - JWKS unreachable: say so, rather than letting the gateway answer 500
        logger.exception("token verification unavailable")
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"ok": "0", "reason": "unavailable"})
    return AuthResponse(
        routes=["*"],
        principal_id=principal.subject,
        context={
            "ok": "1",
            "roles": ",".join(sorted(principal.roles)),
            "events": ",".join(sorted(principal.events)),
            "all_events": "1" if principal.all_events else "0",
        },
    )


def _principal(role: str) -> Principal:
    ctx = (bp.current_request.context or {}).get("authorizer") or {}
    if ctx.get("ok") != "1":
        if ctx.get("reason") == "unavailable":
            raise TemporarilyUnavailable("sign-in cannot be checked just now; try again")
        raise Unauthenticated("a valid bearer token is required")
    roles = frozenset(r for r in str(ctx.get("roles", "")).split(",") if r)
    events = frozenset(e for e in str(ctx.get("events", "")).split(",") if e)
    principal = Principal(
        subject=str(ctx.get("principalId", "")), roles=roles, events=events, all_events=ctx.get("all_events") == "1"
    )
    allowed = {"viewer": {"viewer", "admin"}, "admin": {"admin"}}[role]
    if not roles & allowed:
        raise Forbidden(f"this action needs the {role} role")
    return principal


def admin_route(path: str, methods: list[str], role: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register an admin route: always behind the authorizer, always checking ``role``."""

    def register(view: Callable[..., Any]) -> Any:
        @handled(as_json=True)
        def guarded(**params: Any) -> Any:
            # Settings first: a refused configuration answers 500 "configuration" whatever the token, with
            # the reason in this function's log (the authorizer may run elsewhere).
            container.settings()
            principal = _principal(role)
            if "event_id" in params:
                principal.require_event(params["event_id"])
            return view(**params)

        guarded.__name__ = view.__name__
        guarded.required_role = role  # type: ignore[attr-defined]
        return bp.route(path, methods=methods, authorizer=cognito_jwt, **kwargs)(guarded)

    return register


def _json_body() -> Any:
    body = bp.current_request.json_body
    if body is None:
        raise ValidationFailed("a JSON body is required")
    return body


def _created(payload: dict[str, Any]) -> Response:
    return Response(body=json.dumps(payload), status_code=201, headers={"Content-Type": "application/json"})


@admin_route("/admin/events", ["POST"], "admin")
def create_event() -> Response:
    _principal("admin").require_all_events("creating an event")
    event = events.create_event(container.store(), _json_body(), container.now())
    return _created(events.event_view(event))


@admin_route("/admin/events", ["GET"], "viewer")
def list_events() -> dict[str, Any]:
    principal = _principal("viewer")
    visible = [e for e in container.store().list_events() if principal.sees(e.event_id)]
    return {"events": [events.event_view(e) for e in visible]}


@admin_route("/admin/events/{event_id}", ["GET"], "viewer")
def show_event(event_id: str) -> dict[str, Any]:
    store = container.store()
    view = events.event_view(store.get_event(event_id))
    names = waves.wave_names(store, event_id)
    view["waves"] = [{**waves.wave_view(w), "name": names[w.wave_id]} for w in store.list_waves(event_id)]
    return view


@admin_route("/admin/events/{event_id}", ["PUT"], "admin")
def update_event(event_id: str) -> dict[str, Any]:
    event = events.update_event(container.store(), event_id, _json_body(), now=container.now())
    return events.event_view(event)


@admin_route(
    "/admin/events/{event_id}/participants",
    ["POST"],
    "admin",
    # Every type, checked below: a route's content types must be all binary or all not (chalice deploy refuses
    # a mix), and a workbook is binary (API Gateway hands it over as bytes) while text/csv must not be.
    content_types=["*/*"],
)
def import_participants(event_id: str) -> dict[str, Any] | Response:
    media_type = (bp.current_request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type not in UPLOAD_TYPES:
        raise UnsupportedFile(f"send the list as one of: {', '.join(UPLOAD_TYPES)}")
    raw = body_bytes(bp.current_request)
    if len(raw) > MAX_CSV:
        raise TooLarge(f"the file is larger than {MAX_CSV // (1024 * 1024)} MB; split it")
    params = query(bp.current_request)
    columns = registration.parse_columns_parameter(params["columns"]) if params.get("columns") else None
    sheet = params.get("sheet") or None
    if params.get("background") not in ("1", "true"):
        s = container.settings()
        report = planning.import_participants(
            container.store(),
            event_id,
            raw,
            secret=s.pseudonym_secret,
            panel_secret=s.panel_secret,
            now=container.now(),
            sheet=sheet,
            columns=columns,
        )
        return report.view()
    # ?background=1: a long list is written in the background; the counts and rejections come at once.
    outcome = container.start_import(event_id, raw, sheet=sheet, columns=columns)
    if not isinstance(outcome, ImportJob):
        return {**outcome.view(), "status": "done"}
    view = importing.job_view(outcome, container.now())
    view["status_url"] = f"/admin/events/{event_id}/imports/{outcome.import_id}"
    return Response(body=json.dumps(view), status_code=202, headers={"Content-Type": "application/json"})


@admin_route("/admin/events/{event_id}/imports/{import_id}", ["GET"], "admin")
def import_status(event_id: str, import_id: str) -> dict[str, Any]:
    return importing.job_view(container.store().get_import(event_id, import_id), container.now())


@admin_route("/admin/events/{event_id}/participants", ["GET"], "admin")
def list_participants(event_id: str) -> dict[str, Any]:
    return {"participants": waves.participants_view(container.store(), event_id)}


@admin_route("/admin/questionnaires", ["GET"], "viewer")
def list_questionnaires() -> dict[str, Any]:
    return {"questionnaires": catalogue.listing(container.store())}


@admin_route("/admin/questionnaires", ["POST"], "admin")
def add_questionnaire() -> Response:
    _principal("admin").require_all_events("adding a questionnaire")
    questionnaire = catalogue.register(container.store(), _json_body(), container.now())
    return _created(catalogue.describe(questionnaire))


@admin_route("/admin/events/{event_id}/waves", ["POST"], "admin")
def create_wave(event_id: str) -> Response:
    wave = waves.create_wave(
        container.store(),
        event_id,
        _json_body(),
        panel_secret=container.settings().panel_secret,
        now=container.now(),
    )
    names = waves.wave_names(container.store(), event_id)
    return _created({**waves.wave_view(wave), "name": names[wave.wave_id]})


@admin_route("/admin/events/{event_id}/waves", ["GET"], "viewer")
def list_waves(event_id: str) -> dict[str, Any]:
    store = container.store()
    names = waves.wave_names(store, event_id)
    return {"waves": [{**waves.wave_view(w), "name": names[w.wave_id]} for w in store.list_waves(event_id)]}


@admin_route("/admin/events/{event_id}/waves/{wave_id}", ["PATCH"], "admin")
def rename_wave(event_id: str, wave_id: str) -> dict[str, Any]:
    return waves.rename_wave(container.store(), event_id, wave_id, _json_body())


@admin_route("/admin/events/{event_id}/waves/{wave_id}/send", ["POST"], "admin")
def send_wave(event_id: str, wave_id: str) -> Response:
    result = container.send_wave_now(event_id, wave_id)
    return Response(body=json.dumps(result), status_code=202, headers={"Content-Type": "application/json"})


@admin_route("/admin/events/{event_id}/waves/{wave_id}/remind", ["POST"], "admin")
def remind_wave(event_id: str, wave_id: str) -> Response:
    result = distribution.remind_now(container.store(), container.send_queue(), event_id, wave_id, container.now())
    return Response(body=json.dumps(result), status_code=202, headers={"Content-Type": "application/json"})


@admin_route("/admin/events/{event_id}/waves/{wave_id}/paper", ["POST"], "admin")
def enter_paper(event_id: str, wave_id: str) -> Response:
    """A paper form keyed in: the participant's response (by ``participant_id`` or ``code``) or an anonymous one."""
    secret = container.settings().pseudonym_secret
    stored = paper.enter_paper_json(
        container.store(), event_id, wave_id, _json_body(), code_secret=secret, now=container.now()
    )
    log_event("paper form stored", event_id=event_id, wave_id=wave_id, linked=stored["linked"])
    return _created(stored)


@admin_route("/admin/events/{event_id}/summary", ["GET"], "viewer")
def summary(event_id: str) -> dict[str, Any]:
    params = query(bp.current_request)
    return reports.summarize(
        container.store(), event_id, params.get("wave"), params.get("by"), k=container.settings().suppression_k
    )


@admin_route("/admin/events/{event_id}/report", ["GET"], "viewer")
def report(event_id: str) -> Response:
    params = query(bp.current_request)
    lang = params.get("lang", "en") if params.get("lang") in ("en", "fr", "es") else "en"
    data = reports.report_data(
        container.store(), event_id, params.get("wave"), params.get("by"), k=container.settings().suppression_k
    )
    html = container.renderer().render_page("report", lang, {**data, "report_lang": lang})
    return html_response(html)


@admin_route("/admin/events/{event_id}/export.csv", ["GET"], "viewer")
def export(event_id: str) -> Response:
    return export_response(event_id, query(bp.current_request))


def export_response(event_id: str, params: dict[str, str]) -> Response:
    """The CSV download for ``?wave=&kind=``; the dashboard serves the very same one."""
    filename, text = reports.export_csv(
        container.store(),
        event_id,
        params.get("wave"),
        params.get("kind", "aggregates"),
        k=container.settings().suppression_k,
    )
    return csv_response(filename, text)


@admin_route("/admin/events/{event_id}/waves/{wave_id}/cards", ["GET"], "admin")
def wave_cards(event_id: str, wave_id: str) -> Response:
    """The wave's personal QR cards: an A4 print sheet, or (``?format=csv``) name, email and link."""
    return cards_response(event_id, wave_id, query(bp.current_request).get("format", "html"))


def cards_response(event_id: str, wave_id: str, fmt: str) -> Response:
    """The cards sheet or its CSV; the dashboard serves the very same ones."""
    from chalicelib.adapters.qr import qr_svg
    from chalicelib.domain import cards
    from chalicelib.domain.naming import slug, wave_name

    if fmt not in ("html", "csv"):
        raise ValidationFailed("format must be html or csv")
    settings = container.settings()
    store = container.store()
    sheet = cards.wave_cards(
        store,
        event_id,
        wave_id,
        secret=settings.panel_secret,
        base_url=settings.public_base_url,
        now=container.now(),
    )
    questionnaire = catalogue.resolve(store, sheet.wave.questionnaire_id, sheet.wave.questionnaire_version)
    title = wave_name(sheet.event, sheet.wave, questionnaire)
    if fmt == "csv":
        return csv_response(
            slug(f"{sheet.event.title[:40]} {title} qr-cards", limit=90) + ".csv", cards.cards_csv(sheet)
        )
    codes = {
        c.participant_id: qr_svg(c.link, label=f"QR code of the personal link of {c.full_name}") for c in sheet.cards
    }
    html = container.renderer().render_page(
        "cards", "en", {"event": sheet.event, "wave_title": title, "cards": sheet.cards, "codes": codes}
    )
    return html_response(html)


@admin_route("/admin/events/{event_id}/waves/{wave_id}/open-link", ["POST"], "admin")
def open_link(event_id: str, wave_id: str) -> Response:
    """An open link for a closing slide, answerable in ``{opens_at, closes_at}``: 201 ``{url, qr_url}``."""
    from chalicelib.domain import openlinks

    made = openlinks.create_open_link(
        container.store(),
        event_id,
        wave_id,
        _json_body(),
        base_url=container.settings().public_base_url,
        now=container.now(),
    )
    return _created(made)


@admin_route("/admin/events/{event_id}/waves/{wave_id}/unconfirmed", ["GET"], "admin")
def unconfirmed(event_id: str, wave_id: str) -> dict[str, Any]:
    return waves.unconfirmed_sends(container.store(), event_id, wave_id, now=container.now())


@admin_route("/admin/events/{event_id}/waves/{wave_id}/recount", ["POST"], "admin")
def recount(event_id: str, wave_id: str) -> dict[str, Any]:
    return reports.recount_wave(container.store(), event_id, wave_id)


@admin_route("/admin/programme", ["GET"], "viewer")
def programme() -> dict[str, Any]:
    params = query(bp.current_request)
    try:
        year = int(params.get("year", ""))
        compare = int(params["compare"]) if params.get("compare") else None
    except ValueError:
        raise ValidationFailed("year (and compare) must be years such as 2026") from None
    indicator = params.get("indicator", "mutual_learning")
    scope = _principal("viewer").scope
    return reports.programme(
        container.store(),
        year,
        indicator,
        k=container.settings().suppression_k,
        compare_year=compare,
        only_events=scope,
    )


@admin_route("/admin/events/{event_id}/panel", ["GET"], "viewer")
def panel(event_id: str) -> dict[str, Any]:
    params = query(bp.current_request)
    return reports.panel(
        container.store(), event_id, params.get("from"), params.get("to"), k=container.settings().suppression_k
    )


@admin_route("/admin/participants/{participant_id}", ["DELETE"], "admin")
def erase_participant(participant_id: str) -> dict[str, Any]:
    store = container.store()
    participant = store.find_participant(participant_id)
    _principal("admin").require_event(participant.event_id)
    return erasure.erase_participant(store, participant_id, now=container.now())


@admin_route("/admin/events/{event_id}/shares", ["POST"], "admin")
def create_share(event_id: str) -> Response:
    share, token = shares.create_share(container.store(), event_id, _json_body(), now=container.now())
    url = f"{container.settings().public_base_url}/r/{token}"
    return _created({"share_id": share.share_id, "url": url, "expires_at": share.expires_at.isoformat()})


@admin_route("/admin/events/{event_id}/shares", ["GET"], "admin")
def list_shares(event_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "shares": shares.list_shares(container.store(), event_id)}


@admin_route("/admin/events/{event_id}/shares/{share_id}", ["DELETE"], "admin")
def revoke_share(event_id: str, share_id: str) -> dict[str, Any]:
    shares.revoke_share(container.store(), event_id, share_id)
    return {"share_id": share_id, "revoked": True}


# Series waves: one follow-up over several events (domain/series.py) ------------------------------------------


def _series_scope(role: str, event_ids: list[str]) -> None:
    """A series wave is open to whoever may act on every one of its events."""
    principal = _principal(role)
    for event_id in event_ids:
        principal.require_event(event_id)


def _series_wave(role: str, wave_id: str) -> Any:
    from chalicelib.domain import series

    wave = series.get_series_wave(container.store(), wave_id)
    _series_scope(role, wave.event_ids)
    return wave


@admin_route("/admin/series-waves", ["POST"], "admin")
def create_series_wave() -> Response:
    from chalicelib.domain import series

    _principal("admin").require_all_events("creating a follow-up across events")
    wave, recipients = series.create_series_wave(
        container.store(), _json_body(), panel_secret=container.settings().panel_secret, now=container.now()
    )
    return _created({**series.series_view(container.store(), wave), "recipients": recipients})


@admin_route("/admin/series-waves", ["GET"], "viewer")
def list_series_waves() -> dict[str, Any]:
    from chalicelib.domain import series

    store = container.store()
    principal = _principal("viewer")
    shown = []
    for wave in series.list_series_waves(store):
        try:
            for event_id in wave.event_ids:
                principal.require_event(event_id)
        except Forbidden:
            continue
        shown.append(series.series_view(store, wave))
    return {"series_waves": shown}


@admin_route("/admin/series-waves/{wave_id}", ["GET"], "viewer")
def get_series_wave(wave_id: str) -> dict[str, Any]:
    from chalicelib.domain import series

    wave = _series_wave("viewer", wave_id)
    store = container.store()
    return {**series.series_view(store, wave), "recipients": len(store.list_invitations(wave_id))}


@admin_route("/admin/series-waves/{wave_id}/send", ["POST"], "admin")
def send_series_wave(wave_id: str) -> Response:
    from chalicelib.domain import series

    _series_wave("admin", wave_id)
    s = container.settings()
    result = series.send_series_now(
        container.store(),
        container.send_queue(),
        wave_id,
        panel_secret=s.panel_secret,
        now=container.now(),
        limit=s.schedule_batch,
    )
    return Response(body=json.dumps(result), status_code=202, headers={"Content-Type": "application/json"})


@admin_route("/admin/series-waves/{wave_id}/remind", ["POST"], "admin")
def remind_series_wave(wave_id: str) -> Response:
    from chalicelib.domain import series

    _series_wave("admin", wave_id)
    result = series.remind_series_now(container.store(), container.send_queue(), wave_id, container.now())
    return Response(body=json.dumps(result), status_code=202, headers={"Content-Type": "application/json"})


@admin_route("/admin/series-waves/{wave_id}/summary", ["GET"], "viewer")
def series_summary(wave_id: str) -> dict[str, Any]:
    from chalicelib.domain import series

    _series_wave("viewer", wave_id)
    by = query(bp.current_request).get("by") or "stakeholder_group"
    return series.series_summary(container.store(), wave_id, by=by, k=container.settings().suppression_k)


@admin_route("/admin/series-waves/{wave_id}/report", ["GET"], "viewer")
def series_report(wave_id: str) -> Response:
    from chalicelib.domain import series

    _series_wave("viewer", wave_id)
    params = query(bp.current_request)
    lang = params.get("lang", "en") if params.get("lang") in ("en", "fr", "es") else "en"
    data = series.series_report_data(container.store(), wave_id, params.get("by"), k=container.settings().suppression_k)
    html = container.renderer().render_page("report", lang, {**data, "report_lang": lang})
    return html_response(html)


@admin_route("/admin/series-waves/{wave_id}/export.csv", ["GET"], "viewer")
def series_export(wave_id: str) -> Response:
    from chalicelib.domain import series

    _series_wave("viewer", wave_id)
    params = query(bp.current_request)
    filename, text = series.series_export_csv(
        container.store(), wave_id, params.get("kind", "aggregates"), k=container.settings().suppression_k
    )
    return csv_response(filename, text)

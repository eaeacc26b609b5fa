"""Participant pages: the survey form behind a personal link, the thank-you page and one-click unsubscribe.

No login: the link's token is the credential. Pages are server-rendered and work without JavaScript.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint
from chalice.app import Response

from chalicelib import container
from chalicelib.api.errors import classify, classify_unexpected, handled, html_response, participant_error_page
from chalicelib.api.request import base_path, body_bytes, query
from chalicelib.domain import answering, catalogue, reports, shares
from chalicelib.domain.errors import DomainError, NotFound, OptedOut, TemporarilyUnavailable, WaveClosed
from chalicelib.domain.model import LANGUAGES
from chalicelib.domain.questionnaires import Questionnaire, check_answers
from chalicelib.observability import count, log_event

bp = Blueprint(__name__)
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 96 * 1024  # the answers, and on an edit the sealed copy of the stored ones (at most 16 KB)
MAX_FIELDS = 400


def request_language() -> str:
    params = query(bp.current_request)
    lang = params.get("lang", "")
    return lang if lang in LANGUAGES else "en"


def _override() -> str | None:
    lang = (query(bp.current_request)).get("lang")
    return lang if lang in LANGUAGES else None


def render(name: str, lang: str, context: Mapping[str, Any]) -> str:
    """A participant page, given ``root``: the path prefix the browser reached the API under, which every
    link, form action and redirect of these pages starts with (see ``request.base_path``)."""
    return container.renderer().render_page(name, lang, {**context, "root": root()})


def root() -> str:
    return base_path(bp.current_request)


def _form_key() -> str:
    """The key of the sealed copy of stored answers that an edit form carries (derived, never stored)."""
    secret = container.settings().pseudonym_secret
    return hmac.new(secret.encode(), b"survey-form-previous-answers", hashlib.sha256).hexdigest()


def _sealed_from(form: dict[str, list[str]]) -> str:
    """The sealed copy a submitted form carried, kept when the same form is shown again (it is checked
    when it comes back)."""
    value = (form.get("_p") or [""])[-1]
    return value if len(value) <= answering.MAX_SEALED + 100 else ""


def _form_page(
    survey: answering.Survey,
    token: str,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int,
    version: int,
    sealed: str = "",
) -> Response:
    return _questionnaire_form(
        survey.questionnaire,
        survey.language,
        token,
        values=values,
        errors=errors,
        status=status,
        version=version,
        sealed=sealed,
        closes_at=survey.wave.closes_at,
        editing=survey.previous is not None,
    )


def _questionnaire_form(
    questionnaire: Questionnaire,
    language: str,
    token: str,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int,
    version: int,
    sealed: str = "",
    closes_at: datetime | None = None,
    editing: bool = False,
) -> Response:
    body = render(
        "survey",
        language,
        {
            "questionnaire": questionnaire,
            "q_lang": language,
            "token": token,
            "values": values,
            "errors": errors,
            "version": version,
            "sealed": sealed,
            "closes_at": closes_at,
            "editing": editing,
            "languages": questionnaire.languages,
        },
    )
    return html_response(body, status)


def _state_page(survey: answering.Survey) -> Response | None:
    """A survey that cannot be answered any more is the error map's page, in the survey's language."""
    state: DomainError | None = None
    if survey.opted_out:
        state = OptedOut("you have opted out")
    elif survey.closed:
        state = WaveClosed("this survey is closed")
    if state is None:
        return None
    outcome = classify(state)
    return participant_error_page(outcome.status, outcome.error, lang=survey.language)


@bp.route("/s/{token}", methods=["GET"])
@handled(as_json=False)
def survey_form(token: str) -> Response:
    survey = answering.open_survey(container.store(), token, now=container.now(), lang=_override())
    blocked = _state_page(survey)
    if blocked is not None:
        return blocked
    values = dict(survey.previous.answers) if survey.previous else {}
    version = survey.previous.version if survey.previous else 0
    sealed = answering.seal_previous(_form_key(), survey.previous) if survey.previous else ""
    return _form_page(survey, token, values=values, errors={}, status=200, version=version, sealed=sealed)


def _read_form() -> dict[str, list[str]]:
    raw = body_bytes(bp.current_request)
    if len(raw) > MAX_BODY:
        raise _TooLarge()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _BadBody() from None
    try:
        return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise _BadBody() from None


class _TooLarge(Exception):
    pass


class _BadBody(Exception):
    pass


def _friendly_unsupported_media(request: Any, get_response: Callable[[Any], Response]) -> Response:
    """A participant's form sent with an encoding the route does not take (``multipart/form-data``, which the
    dashboard's uploads make a binary type: a route's content types must all be binary or all not, and these
    are not) gets the participant's 415 page rather than Chalice's bare JSON error."""
    response = get_response(request)
    route = ((request.context or {}).get("resourcePath") if request is not None else None) or ""
    if response.status_code == 415 and route in ("/s/{token}", "/u/{token}"):
        return participant_error_page(415)
    return response


bp.register_middleware(_friendly_unsupported_media, "http")


# text/plain, the other encoding a browser form can send, is routed here too (its friendly 415 page); multipart
# reaches the same page through the middleware above.
@bp.route("/s/{token}", methods=["POST"], content_types=[FORM, "text/plain"])
@handled(as_json=False)
def survey_submit(token: str) -> Response:
    """Store the answers: on the normal path one token read and one transaction. A closed wave or an
    opted-out participant is refused inside that transaction (WaveClosed / OptedOut become 410 pages)."""
    media_type = (bp.current_request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != FORM:
        return participant_error_page(415)
    try:
        form = _read_form()
    except _TooLarge:
        return participant_error_page(413)
    except _BadBody:
        return participant_error_page(400)
    store = container.store()
    now = container.now()
    try:
        result = answering.submit(store, token, form, now=now, lang=_override(), form_key=_form_key())
    except (NotFound, WaveClosed, OptedOut):
        raise  # their own pages: the answers cannot be stored, and trying again would not help
    except TemporarilyUnavailable:
        return _kept(token, form, 503)
    except Exception:  # noqa: BLE001 - whatever failed, the participant keeps what they typed
        classify_unexpected("the answers could not be stored")
        return _kept(token, form, 500)
    if not result.stored:
        errors = dict(result.check.errors)
        if result.check.unknown:
            errors["_form"] = "unknown_field"
        try:
            survey = answering.open_survey(store, token, now=now, lang=_override(), mark_open=False)
        except Exception:  # noqa: BLE001 - the form still shows, from the questionnaire already read
            return _questionnaire_form(
                result.questionnaire,
                result.survey_language,
                token,
                values=result.check.answers,
                errors=errors,
                status=422,
                version=_version(form),
                sealed=_sealed_from(form),
            )
        blocked = _state_page(survey)
        if blocked is not None:
            return blocked
        return _form_page(
            survey,
            token,
            values=result.check.answers,
            errors=errors,
            status=422,
            version=_version(form),
            sealed=_sealed_from(form),
        )
    count("ResponsesStored")
    log_event("response stored", wave_id=result.wave_id, edit=result.edited)
    return Response(
        body="",
        status_code=303,
        headers={
            "Location": f"{root()}/s/{token}/thanks?lang={result.survey_language}",
            "Cache-Control": "no-store",
            "Content-Type": "text/plain",
        },
    )


def _version(form: dict[str, list[str]]) -> int:
    raw = (form.get("_v") or ["0"])[-1]
    return int(raw) if raw.isdigit() else 0


def _kept(token: str, form: dict[str, list[str]], status: int) -> Response:
    """The answers could not be stored: the form again, every value as entered, and "please send again" in
    the participant's language, however much of the store still answers. With the link readable, the real
    form; without it, the form of the questionnaire the page said it showed (``_q``); without that either, a
    page that carries every field as it came and sends it again as it is."""
    lang = _override()
    try:
        survey = answering.open_survey(container.store(), token, now=container.now(), lang=lang, mark_open=False)
    except Exception:  # noqa: BLE001 - a link that cannot be read now must not lose the answers either
        survey = None
    if survey is not None:
        blocked = _state_page(survey)
        if blocked is not None:
            return blocked
        questionnaire, language = survey.questionnaire, survey.language
    else:
        try:
            questionnaire = _shown_questionnaire(form)
        except Exception:  # noqa: BLE001
            return _resend_page(token, form, status, lang or request_language())
        language = lang if lang in questionnaire.languages else questionnaire.languages[0]
    response = _questionnaire_form(
        questionnaire,
        language,
        token,
        values=check_answers(questionnaire, form).answers,
        errors={"_form": "unavailable"},
        status=status,
        version=_version(form),
        sealed=_sealed_from(form),
        closes_at=survey.wave.closes_at if survey else None,
        editing=survey.previous is not None if survey else _version(form) > 0,
    )
    response.headers["Retry-After"] = "30"
    return response


def _shown_questionnaire(form: dict[str, list[str]]) -> Questionnaire:
    """The questionnaire a submitted form says it was (``_q``: id and version): only for showing the form
    again; what is stored always follows the link."""
    questionnaire_id, _, version = (form.get("_q") or [""])[-1].partition(":")
    if not questionnaire_id or not version.isdigit():
        raise NotFound("the form did not say its questionnaire")
    return catalogue.resolve(container.store(), questionnaire_id, int(version))


def _resend_page(token: str, form: dict[str, list[str]], status: int, lang: str) -> Response:
    fields = [(name, value) for name, values in form.items() for value in values]
    body = render("resend", lang, {"token": token, "fields": fields, "lang": lang})
    response = html_response(body, status)
    response.headers["Retry-After"] = "30"
    return response


@bp.route("/s/{token}/thanks", methods=["GET"])
@handled(as_json=False)
def survey_thanks(token: str) -> Response:
    store = container.store()
    grant = answering.resolve_token(store, token)
    lang = _override() or grant.language
    wave = store.get_wave(grant.event_id, grant.wave_id)
    body = render("thanks", lang, {"token": token, "closes_at": wave.closes_at})
    return html_response(body)


@bp.route("/r/{token}", methods=["GET"])
@handled(as_json=False)
def shared_report(token: str) -> Response:
    """A shared report: read-only, no sign-in, never indexed; 404 (one page) once revoked or expired."""
    store = container.store()
    share = shares.open_share(store, token, now=container.now())
    k = container.settings().suppression_k
    data = reports.report_data(store, share.event_id, share.wave_id, share.by, k=k, with_texts=share.include_comments)
    context = {**shares.shared_report(data, share), "report_lang": share.lang}
    html = container.renderer().render_page("report", share.lang, context)
    return html_response(html, headers={"X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store"})


@bp.route("/u/{token}", methods=["GET"])
@handled(as_json=False)
def unsubscribe_page(token: str) -> Response:
    grant = answering.resolve_token(container.store(), token)
    lang = _override() or grant.language
    body = render("unsubscribe", lang, {"token": token, "done": False})
    return html_response(body)


@bp.route("/u/{token}", methods=["POST"], content_types=[FORM, "text/plain"])
@handled(as_json=False)
def unsubscribe(token: str) -> Response:
    """RFC 8058 one-click: the mail client POSTs ``List-Unsubscribe=One-Click``; any POST unsubscribes."""
    store = container.store()
    try:
        grant = answering.resolve_token(store, token)
    except NotFound:
        return participant_error_page(404)
    answering.unsubscribe(store, token, now=container.now())
    count("OptOuts")
    lang = _override() or grant.language
    body = render("unsubscribe", lang, {"token": token, "done": True})
    return html_response(body)


# The open link of a closing slide (domain/openlinks.py) ------------------------------------------------

BROWSER_COOKIE = "ef_browser"
_BROWSER_MAX_AGE = 60 * 60 * 24 * 60


def _browser_mac(browser_id: str) -> str:
    secret = container.settings().session_secret
    return hmac.new(secret.encode(), b"open-link-browser\x00" + browser_id.encode(), hashlib.sha256).hexdigest()[:32]


def _browser() -> tuple[str, bool]:
    """This browser's random ID from its signed cookie, or a new one (True: the cookie must be set)."""
    import secrets as random
    from http.cookies import SimpleCookie

    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(bp.current_request.headers.get("cookie") or "")
    except Exception:  # noqa: BLE001 - a malformed cookie header is no cookie
        jar = SimpleCookie()
    morsel = jar.get(BROWSER_COOKIE)
    if morsel is not None:
        browser_id, _, mac = morsel.value.partition(".")
        if browser_id and len(browser_id) <= 64 and hmac.compare_digest(mac, _browser_mac(browser_id)):
            return browser_id, False
    return random.token_urlsafe(16), True


def _browser_cookie(browser_id: str) -> str:
    secure = "; Secure" if container.settings().public_base_url.startswith("https://") else ""
    return (
        f"{BROWSER_COOKIE}={browser_id}.{_browser_mac(browser_id)}; Path={root() or '/'}; Max-Age={_BROWSER_MAX_AGE}; "
        f"HttpOnly; SameSite=Lax{secure}"
    )


def _open_form_page(
    opened: Any, token: str, *, values: Mapping[str, Any], errors: Mapping[str, str], status: int, group: str = ""
) -> Response:
    from chalicelib.domain.model import STAKEHOLDER_GROUPS

    body = render(
        "survey",
        opened.language,
        {
            "questionnaire": opened.questionnaire,
            "q_lang": opened.language,
            "token": token,
            "values": values,
            "errors": errors,
            "version": 0,
            "sealed": "",
            "closes_at": None,
            "editing": False,
            "languages": opened.questionnaire.languages,
            "form_action": f"{root()}/o/{token}",
            "ask_group": opened.link.ask_group,
            "groups": STAKEHOLDER_GROUPS,
            "group": group,
        },
    )
    return html_response(body, status)


@bp.route("/o/{token}", methods=["GET"])
@handled(as_json=False)
def open_link_form(token: str) -> Response:
    from chalicelib.domain import openlinks

    opened = openlinks.open_form(container.store(), token, now=container.now(), lang=_override())
    return _open_form_page(opened, token, values={}, errors={}, status=200)


@bp.route("/o/{token}", methods=["POST"], content_types=[FORM, "text/plain"])
@handled(as_json=False)
def open_link_submit(token: str) -> Response:
    """An anonymous answer: one per browser (its signed cookie), slowed past the address's limit."""
    from chalicelib.domain import openlinks

    media_type = (bp.current_request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != FORM:
        return participant_error_page(415)
    try:
        form = _read_form()
    except _TooLarge:
        return participant_error_page(413)
    except _BadBody:
        return participant_error_page(400)
    browser_id, new_browser = _browser()
    context = bp.current_request.context or {}
    address = str((context.get("identity") or {}).get("sourceIp") or "unknown")
    try:
        result = openlinks.submit_open(
            container.store(),
            token,
            form,
            browser_id=browser_id,
            address=address,
            now=container.now(),
            lang=_override(),
        )
    except TemporarilyUnavailable:
        count("OpenLinkSlowed")
        log_event("open-link answer slowed")
        raise
    cookie = {"Set-Cookie": _browser_cookie(browser_id)} if new_browser else {}
    if not result.stored and not result.already:
        errors = dict(result.check.errors)
        if result.check.unknown:
            errors["_form"] = "unknown_field"
        page = _open_form_page(
            result.form,
            token,
            values=result.check.answers,
            errors=errors,
            status=422,
            group=(form.get(openlinks.GROUP_FIELD) or [""])[-1],
        )
        page.headers.update(cookie)
        return page
    if result.stored:
        count("OpenLinkResponsesStored")
        log_event("open-link response stored", wave_id=result.form.link.wave_id)
    else:
        count("OpenLinkRepeatsRefused")
    body = render("thanks", result.form.language, {"open_link": True, "already": result.already, "closes_at": None})
    page = html_response(body)
    page.headers.update(cookie)
    return page


@bp.route("/o/{token}/slide", methods=["GET"])
@handled(as_json=False)
def open_link_slide(token: str) -> Response:
    """The closing slide: a large QR code of the open link and the link written out, for a screen or a poster.
    Shown whatever the window (it says when the link opens and closes)."""
    from chalicelib.adapters.qr import qr_svg
    from chalicelib.domain import openlinks

    store = container.store()
    link = openlinks.resolve(store, token)
    event = store.get_event(link.event_id)
    settings = container.settings()
    url = f"{settings.public_base_url}/o/{token}"
    body = container.renderer().render_page(
        "slide",
        "en",
        {
            "event": event,
            "link": link,
            "url": url,
            "shown_url": url.split("://", 1)[-1],
            "code": qr_svg(url, label="QR code of the feedback form", scale=10, border=2),
            "open_now": openlinks.is_open(link, store.get_wave_cached(link.event_id, link.wave_id), container.now()),
        },
    )
    return html_response(body)


@bp.route("/o/{token}/qr.svg", methods=["GET"])
@handled(as_json=False)
def open_link_qr(token: str) -> Response:
    """The open link's QR code alone, as an SVG image (for a slide deck or a poster)."""
    from chalicelib.adapters.qr import qr_svg
    from chalicelib.domain import openlinks

    openlinks.resolve(container.store(), token)
    url = f"{container.settings().public_base_url}/o/{token}"
    svg = str(qr_svg(url, label="QR code of the feedback form", scale=10, border=4))
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return Response(
        body=svg,
        status_code=200,
        headers={"Content-Type": "image/svg+xml", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )

"""Paper forms from the dashboard: the printable form of a wave in each language (blank, or one per
participant with their reference code), and the data-entry page where staff key in a paper form's answers,
finding its participant by the code or by searching the list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard.framework import LANGUAGE_NAMES, Ctx, page, params, redirect, render
from chalicelib.api.errors import html_response
from chalicelib.domain import catalogue, modes, paper, reports
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.model import Event, Participant, Wave
from chalicelib.domain.naming import wave_name
from chalicelib.domain.questionnaires import Questionnaire
from chalicelib.observability import log_event

_OWN_FIELDS = ("csrf", "_participant", "_lang")


def _code_secret() -> str:
    return container.settings().pseudonym_secret


def _subject(event_id: str, wave_id: str) -> tuple[Event, Wave, Questionnaire, list[str]]:
    store = container.store()
    event = store.get_event(event_id)
    wave = store.get_wave(event_id, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    languages = [lang for lang in event.languages if lang in questionnaire.languages] or list(questionnaire.languages)
    return event, wave, questionnaire, languages


@page("/dashboard/events/{event_id}/waves/{wave_id}/paper", role="admin")
def dash_paper_form(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    """The paper form to print, in one language: blank, or (``personal=1``) one per participant of that
    language, each with their name and reference code, each starting on a new page."""
    event, wave, questionnaire, languages = _subject(event_id, wave_id)
    wanted = params()
    lang = wanted.get("lang", "")
    if lang not in languages:
        lang = languages[0]
    forms: list[dict[str, str]]
    if wanted.get("personal") == "1":
        store = container.store()
        people = {p.participant_id: p for p in store.list_participants(event_id) if p.erased_at is None}
        secret = _code_secret()
        forms = [
            {
                "name": people[inv.participant_id].full_name,
                "organisation": people[inv.participant_id].organisation,
                "code": paper.reference_code(secret, wave_id, inv.participant_id),
            }
            for inv in store.list_invitations(wave_id)
            if inv.participant_id in people and inv.language == lang and inv.completed_at is None
        ]
        forms.sort(key=lambda f: f["name"].casefold())
        log_event("paper forms printed", event_id=event_id, wave_id=wave_id, forms=len(forms))
    else:
        forms = [{"name": "", "organisation": "", "code": ""}]
    body = container.renderer().render_page(
        "paper", lang, {"questionnaire": questionnaire, "event": event, "wave": wave, "forms": forms}
    )
    return html_response(body)


def _answered(store: Any, wave_id: str, participant_id: str) -> str | None:
    """How this participant has answered the wave already, or None."""
    response = store.get_response(wave_id, participant_id)
    return modes.MODE_NAMES.get(response.mode, response.mode) if response is not None else None


@page("/dashboard/events/{event_id}/waves/{wave_id}/paper/entry", role="admin")
def dash_paper_entry(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    return _entry_page(ctx, event_id, wave_id, params())


def _entry_page(
    ctx: Ctx,
    event_id: str,
    wave_id: str,
    wanted: dict[str, str],
    *,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
) -> Response:
    store = container.store()
    event, wave, questionnaire, languages = _subject(event_id, wave_id)
    found: list[Participant] = []
    chosen: Participant | None = None
    code = ""
    problem = message
    answered: str | None = None
    participant_id = wanted.get("participant", "")
    typed_code = wanted.get("code", "").strip()
    typed_search = wanted.get("q", "").strip()
    if typed_code and not participant_id:
        try:
            participant_id = paper.find_by_code(store, _code_secret(), wave_id, typed_code).participant_id
        except (ValidationFailed, NotFound) as exc:
            problem = exc.message
            status = 404 if isinstance(exc, NotFound) else 400
    if participant_id:
        try:
            chosen = store.get_participant(event_id, participant_id)
            store.get_invitation(wave_id, participant_id)
        except NotFound:
            chosen, problem, status = None, "This participant is not in this wave.", 404
        if chosen is not None and chosen.erased_at is not None:
            chosen, problem, status = None, "This participant has been erased: nothing more is stored about them.", 410
        if chosen is not None:
            code = paper.reference_code(_code_secret(), wave_id, participant_id)
            answered = _answered(store, wave_id, participant_id)
    elif typed_search:
        found = paper.search(store.list_participants(event_id), typed_search)
    anonymous = wanted.get("anonymous") == "1" and chosen is None
    lang = wanted.get("lang", "")
    if lang not in languages:
        lang = chosen.language if chosen is not None and chosen.language in languages else languages[0]
    summary = reports.summarize(store, event_id, wave_id, None, k=container.settings().suppression_k)
    response = render(
        "paper_entry",
        session=ctx.session,
        status=status,
        event=event,
        wave=wave,
        wave_title=wave_name(event, wave, questionnaire, "en"),
        questionnaire=questionnaire,
        languages=languages,
        language_names=LANGUAGE_NAMES,
        lang=lang,
        typed_code=typed_code,
        typed_search=typed_search,
        found=found,
        chosen=chosen,
        code=code,
        answered=answered,
        anonymous=anonymous,
        problem=problem,
        saved=wanted.get("saved", ""),
        values=values or {},
        errors=errors or {},
        paper_count=summary["funnel"].get("by_mode", {}).get(modes.PAPER, 0),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@page(
    "/dashboard/events/{event_id}/waves/{wave_id}/paper/entry",
    method="POST",
    role="admin",
    purpose="paper:{event_id}:{wave_id}",
)
def dash_paper_save(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    participant_id = ctx.text("_participant") or None
    language = ctx.text("_lang") or None
    answers = {name: values for name, values in ctx.form.items() if name not in _OWN_FIELDS}
    wanted = {"participant": participant_id} if participant_id else {"anonymous": "1"}
    try:
        result = paper.enter_paper(
            container.store(),
            event_id,
            wave_id,
            answers,
            participant_id=participant_id,
            language=language,
            now=container.now(),
        )
    except ValidationFailed as exc:
        return _entry_page(ctx, event_id, wave_id, {**wanted, "lang": language or ""}, status=400, message=exc.message)
    if not result.stored:
        errors = dict(result.check.errors)
        if result.check.unknown:
            errors["_form"] = "unknown_field"
        return _entry_page(
            ctx,
            event_id,
            wave_id,
            {**wanted, "lang": language or ""},
            status=422,
            values=result.check.answers,
            errors=errors,
        )
    log_event("dashboard paper form stored", event_id=event_id, wave_id=wave_id, linked=participant_id is not None)
    saved = "linked" if participant_id else "anonymous"
    query = urlencode({"saved": saved, "lang": language or ""})
    return redirect(f"/dashboard/events/{event_id}/waves/{wave_id}/paper/entry?{query}")

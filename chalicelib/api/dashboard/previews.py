"""Previews of a wave: its invitation and first reminder exactly as the sender composes them, and the
participant's page, for a sample participant and a link that is not a real token."""

from __future__ import annotations

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard.framework import LANGUAGE_NAMES, Ctx, bp, page, params, render
from chalicelib.api.errors import html_response
from chalicelib.api.request import base_path
from chalicelib.domain import catalogue, distribution
from chalicelib.domain.messages import Letter
from chalicelib.domain.model import INVITATION, Event, Wave, reminder_kind
from chalicelib.domain.ports import OutgoingEmail
from chalicelib.domain.questionnaires import Questionnaire

_KINDS = (INVITATION, reminder_kind(1))


def _preview_subject(event_id: str, wave_id: str) -> tuple[Event, Wave, Questionnaire, str]:
    store = container.store()
    event = store.get_event(event_id)
    wave = store.get_wave(event_id, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    wanted = params().get("lang", "")
    languages = [lang for lang in event.languages if lang in questionnaire.languages] or list(questionnaire.languages)
    lang = wanted if wanted in languages else languages[0]
    return event, wave, questionnaire, lang


def _sample_email(event: Event, wave: Wave, lang: str, kind: str) -> OutgoingEmail:
    """The email exactly as the sender composes it, for a sample participant and a dummy link."""
    letter = Letter(
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
    return distribution.compose(container.renderer(), letter, "preview-link-not-a-real-token", base_url=base)


@page("/dashboard/events/{event_id}/waves/{wave_id}/preview", role="admin")
def dash_preview(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    event, wave, questionnaire, lang = _preview_subject(event_id, wave_id)
    return render(
        "preview",
        session=ctx.session,
        event=event,
        wave=wave,
        questionnaire=questionnaire,
        lang=lang,
        languages=[code for code in event.languages if code in questionnaire.languages],
        language_names=LANGUAGE_NAMES,
        emails=[(kind, _sample_email(event, wave, lang, kind)) for kind in _KINDS],
    )


@page("/dashboard/events/{event_id}/waves/{wave_id}/preview/email", role="admin")
def dash_preview_email(ctx: Ctx, event_id: str, wave_id: str) -> Response:
    event, wave, _, lang = _preview_subject(event_id, wave_id)
    kind = INVITATION if params().get("kind", INVITATION) == INVITATION else reminder_kind(1)
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

"""Participant use cases: open a personal link, submit or edit answers, unsubscribe."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain import catalogue, modes
from chalicelib.domain.cells import merge, series_events, spread
from chalicelib.domain.errors import NotFound, OptedOut, TemporarilyUnavailable, WaveClosed
from chalicelib.domain.model import Response, TokenGrant, Wave
from chalicelib.domain.ports import Store, SubmitOutcome
from chalicelib.domain.questionnaires import AnswerCheck, Questionnaire, aggregate_deltas, check_answers, for_events
from chalicelib.domain.tokens import hash_token, looks_like_token

MAX_STALE_RETRIES = 8  # edits of one link racing each other: each is applied in turn on the stored answers
MAX_SEALED = 16 * 1024  # a larger copy of the stored answers is not carried: the edit reads them instead


@dataclass
class Survey:
    """Everything a survey page needs, resolved from a token."""

    grant: TokenGrant
    questionnaire: Questionnaire
    wave: Wave
    language: str
    previous: Response | None
    opted_out: bool
    closed: bool


def resolve_token(store: Store, token: str) -> TokenGrant:
    """The grant behind a token; NotFound for unknown and malformed tokens alike."""
    if not looks_like_token(token):
        raise NotFound("unknown link")
    grant = store.get_token(hash_token(token))
    if grant is None:
        raise NotFound("unknown link")
    return grant


def asked(store: Store, questionnaire: Questionnaire, grant: TokenGrant) -> Questionnaire:
    """The questions this link asks: in a series wave, each per-event question once per event the person
    attended (one GetItem per event for its title); otherwise the questionnaire as it is, with no read."""
    events = series_events(grant.cells)
    if not events or not any(q.per_event for q in questionnaire.questions):
        return questionnaire
    return for_events(questionnaire, [(e, store.get_event(e).title) for e in events])


def open_survey(store: Store, token: str, *, now: datetime, lang: str | None = None, mark_open: bool = True) -> Survey:
    """Load the form for a token: questionnaire, previous answers, and whether it can still be answered.

    A first open costs two calls, the link's read and the write that marks it opened and says what the
    invitation holds (``open_link``); the wave comes from the store's short cache, a built-in questionnaire
    from the code. Answers already given are read too (an edit's form)."""
    grant = resolve_token(store, token)
    wave = store.get_wave_cached(grant.event_id, grant.wave_id)
    questionnaire = asked(store, catalogue.resolve(store, grant.questionnaire_id, grant.questionnaire_version), grant)
    language = lang if lang in questionnaire.languages else grant.language
    if language not in questionnaire.languages:
        language = questionnaire.languages[0]
    closed = wave.closes_at is None or wave.closes_at <= now
    if mark_open and not closed:
        state = store.open_link(grant.wave_id, grant.participant_id, grant.cells, now)
        opted_out, completed = state.opted_out, state.completed
    else:
        invitation = store.get_invitation(grant.wave_id, grant.participant_id)
        opted_out, completed = invitation.opted_out_at is not None, invitation.completed_at is not None
    previous = store.get_response(grant.wave_id, grant.participant_id) if completed else None
    return Survey(
        grant=grant,
        questionnaire=questionnaire,
        wave=wave,
        language=language,
        previous=previous,
        opted_out=opted_out,
        closed=closed,
    )


@dataclass
class SubmitResult:
    stored: bool
    check: AnswerCheck
    survey_language: str
    questionnaire: Questionnaire
    wave_id: str = ""
    edited: bool = False


def _seal_mac(key: str, body: str) -> str:
    return hmac.new(key.encode(), b"previous-answers\x00" + body.encode(), hashlib.sha256).hexdigest()


def seal_previous(key: str, response: Response) -> str:
    """The stored answers as the edit form carries them (``_p``): JSON under an HMAC, so that an edit can
    move the counters from these answers without reading them again. Empty when too large to carry."""
    data = {
        "w": response.wave_id,
        "p": response.participant_id,
        "e": response.event_id,
        "n": response.panel_id,
        "v": response.version,
        "a": response.answers,
        "c": response.cells,
        "l": response.language,
        "s": response.submitted_at.isoformat() if response.submitted_at else None,
    }
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":"), sort_keys=True).encode()).decode()
    if len(body) > MAX_SEALED:
        return ""
    return f"{body}.{_seal_mac(key, body)}"


def open_previous(key: str, value: str, grant: TokenGrant) -> Response | None:
    """The answers an edit form says are stored, if its MAC holds and they belong to this link's person
    and wave; None otherwise (the edit then reads them). Whether they are still the stored ones is checked
    by the version condition of the edit's own transaction."""
    body, _, mac = value.rpartition(".")
    if not body or len(body) > MAX_SEALED or not hmac.compare_digest(mac, _seal_mac(key, body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        if data["w"] != grant.wave_id or data["p"] != grant.participant_id:
            return None
        return Response(
            wave_id=data["w"],
            participant_id=data["p"],
            event_id=data["e"],
            panel_id=data["n"],
            answers=dict(data["a"]),
            cells={str(k): str(v) for k, v in dict(data["c"]).items()},
            language=str(data["l"]),
            version=int(data["v"]),
            submitted_at=datetime.fromisoformat(data["s"]) if data["s"] else None,
            updated_at=None,
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def submit(
    store: Store,
    token: str,
    form: Mapping[str, Sequence[str]],
    *,
    now: datetime,
    lang: str | None = None,
    form_key: str | None = None,
    mode: str | None = None,
) -> SubmitResult:
    """Validate and store the answers of one personal link: one response, edited in place until closing.

    Two calls: the token read and one transaction (the wave is read through the store's short cache). Submits of
    one link racing each other store one first answer; the others become edits of it, in turn, or, when they
    carry the same answers, are already done. An edit takes the stored answers from the form's sealed
    copy (``form_key``); only when that copy is missing, forged or stale does it read them (a third call).
    A first answer records its ``mode`` (domain/modes.py; by default the one the link's kind says: a QR
    card's is ``qr``, an email's ``email``); an edit keeps the mode of the first answer.
    """
    grant = resolve_token(store, token)
    mode = mode or link_mode(grant)
    questionnaire = asked(store, catalogue.resolve(store, grant.questionnaire_id, grant.questionnaire_version), grant)
    language = lang if lang in questionnaire.languages else grant.language
    wave = store.get_wave_cached(grant.event_id, grant.wave_id)
    if wave.closes_at is None or wave.closes_at <= now:
        raise WaveClosed("the survey is closed")
    check = check_answers(questionnaire, form)
    if not check.ok:
        return SubmitResult(False, check, language, questionnaire, grant.wave_id)
    new_counts = aggregate_deltas(questionnaire, check.answers)
    # The form says whether it was showing stored answers; that only picks the likely path.
    previous: Response | None = None
    if (form.get("_v") or ["0"])[-1] not in ("", "0"):
        sealed = (form.get("_p") or [""])[-1]
        if form_key and sealed:
            previous = open_previous(form_key, sealed, grant)
        if previous is None:
            previous = store.get_response(grant.wave_id, grant.participant_id)
    for _ in range(MAX_STALE_RETRIES):
        if previous is None:
            cells = modes.with_mode(grant.cells, mode)
            deltas = spread(cells, {**new_counts, **modes.completion(mode)})
            response = Response(
                wave_id=grant.wave_id,
                participant_id=grant.participant_id,
                event_id=grant.event_id,
                panel_id=grant.panel_id,
                answers=check.answers,
                cells=cells,
                language=language,
                version=1,
                submitted_at=now,
                updated_at=now,
            )
        else:
            old_counts = aggregate_deltas(questionnaire, previous.answers)
            deltas = merge(spread(previous.cells, old_counts, -1), spread(previous.cells, new_counts))
            response = Response(
                wave_id=previous.wave_id,
                participant_id=previous.participant_id,
                event_id=previous.event_id,
                panel_id=previous.panel_id,
                answers=check.answers,
                cells=previous.cells,
                language=language,
                version=previous.version + 1,
                submitted_at=previous.submitted_at,
                updated_at=now,
            )
        outcome = store.store_response(response, previous=previous, deltas=deltas, now=now)
        if outcome is SubmitOutcome.STORED:
            return SubmitResult(True, check, language, questionnaire, grant.wave_id, previous is not None)
        if outcome is SubmitOutcome.OPTED_OUT:
            raise OptedOut("the participant opted out")
        previous = store.get_response(grant.wave_id, grant.participant_id)
        if previous is not None and previous.answers == check.answers:
            # The same answers are already stored: a double click, or the same form sent from two tabs.
            # Nothing to write; the participant sees the thank-you page as for the first.
            return SubmitResult(True, check, language, questionnaire, grant.wave_id, True)
    raise TemporarilyUnavailable("the answers changed while saving; please submit again")


def link_mode(grant: TokenGrant) -> str:
    """The response mode of answers given through this personal link."""
    return modes.QR if grant.kind == "card" else modes.EMAIL


def unsubscribe(store: Store, token: str, *, now: datetime) -> None:
    """One click: stop every email to this address, for every event. Idempotent."""
    grant = resolve_token(store, token)
    invitation = store.get_invitation(grant.wave_id, grant.participant_id)
    store.suppress(invitation.email_key, "unsubscribe", now)
    store.mark_opted_out(grant.wave_id, grant.participant_id, grant.cells, now)

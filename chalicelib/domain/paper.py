"""Paper forms: the printed questionnaire handed out in the room, and the answers staff key in from it.

A printed form can carry a participant's reference code: nine characters of Crockford base 32 (eight from a
keyed hash of the wave and the participant, one check symbol), so that a code typed with one wrong or two
swapped characters is refused instead of matching somebody else. The code is derived, never stored: it names
the person only to someone who holds the key and the wave's list.

A keyed-in form is validated as the online form is (every value must be one the question allows), except
that a required question left blank on paper is recorded as unanswered: the form exists, and refusing it
would lose the rest of its answers. A form with a code (or chosen by search) is that participant's one
response, counted in the funnel and linked to the panel as an online answer is; a form without one is
anonymous and, like the open link's answers, counted apart from the funnel's one-per-person figures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain import catalogue, modes
from chalicelib.domain.cells import spread
from chalicelib.domain.errors import Conflict, Erased, NotFound, OptedOut, ValidationFailed
from chalicelib.domain.model import LANGUAGES, Invitation, Participant, Response
from chalicelib.domain.ports import Store, SubmitOutcome
from chalicelib.domain.questionnaires import AnswerCheck, Questionnaire, aggregate_deltas, check_answers

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O or U
CHECK_SYMBOLS = ALPHABET + "*~$=U"  # Crockford's check symbols (value mod 37)
CODE_LENGTH = 8
ANONYMOUS_PREFIX = "paper_"
GROUP_QUESTION = "stakeholder_group"  # a questionnaire that asks it lets anonymous answers join that breakdown
_READS_AS = {"O": "0", "I": "1", "L": "1"}


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"paper-form-reference-code", hashlib.sha256).digest()


def reference_code(secret: str, wave_id: str, participant_id: str) -> str:
    """The code printed on a participant's paper form of this wave, as printed: ``ABCD-EFGH-J``."""
    digest = hmac.new(_key(secret), f"{wave_id}\x00{participant_id}".encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:5], "big")  # 40 bits, eight symbols
    symbols = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH)))
    check = CHECK_SYMBOLS[value % 37]
    return f"{symbols[:4]}-{symbols[4:]}-{check}"


def normalise_code(typed: str) -> str | None:
    """A typed code in its printed form, or None when it cannot be one (wrong length, a character outside
    the alphabet, or a check symbol that does not match). Case, spaces and hyphens do not matter; O, I and L
    read as 0, 1 and 1, as Crockford's alphabet says."""
    raw = "".join(_READS_AS.get(c, c) for c in typed.upper() if c not in " -\t")
    if len(raw) != CODE_LENGTH + 1:
        return None
    body, check = raw[:CODE_LENGTH], raw[CODE_LENGTH]
    if any(c not in ALPHABET for c in body) or check not in CHECK_SYMBOLS:
        return None
    value = 0
    for c in body:
        value = value * 32 + ALPHABET.index(c)
    if CHECK_SYMBOLS[value % 37] != check:
        return None
    return f"{body[:4]}-{body[4:]}-{check}"


def find_by_code(store: Store, secret: str, wave_id: str, typed: str) -> Invitation:
    """The invitation a reference code names (one Query of the wave's invitations). ValidationFailed for a
    code that cannot be one, NotFound for a well-formed code of nobody in this wave."""
    code = normalise_code(typed)
    if code is None:
        raise ValidationFailed("this is not a reference code: check its nine characters")
    for invitation in store.list_invitations(wave_id):
        if hmac.compare_digest(reference_code(secret, wave_id, invitation.participant_id), code):
            return invitation
    raise NotFound("no participant of this wave has this reference code")


def search(participants: Iterable[Participant], typed: str, limit: int = 20) -> list[Participant]:
    """Participants whose name, organisation or email contains every word typed (case and accents as
    typed are compared case-insensitively)."""
    words = [w.casefold() for w in typed.split() if w]
    if not words:
        return []
    found = []
    for p in participants:
        if p.erased_at is not None:
            continue
        haystack = f"{p.full_name} {p.organisation} {p.email}".casefold()
        if all(w in haystack for w in words):
            found.append(p)
    found.sort(key=lambda p: (p.full_name.casefold(), p.participant_id))
    return found[:limit]


def as_form(answers: Mapping[str, Any]) -> dict[str, list[str]]:
    """A JSON body's answers (``{question_id: value or [values]}``) as the fields a browser form sends, so
    that they are validated by exactly the online form's rules. Anything else than text, a number or a list
    of them is refused."""
    form: dict[str, list[str]] = {}
    for key, value in answers.items():
        if isinstance(value, bool) or value is None:
            raise ValidationFailed(f"answer {key!r} must be text, a number or a list of them")
        if isinstance(value, list):
            if any(isinstance(v, bool) or not isinstance(v, str | int) for v in value):
                raise ValidationFailed(f"answer {key!r} must be a list of text or numbers")
            form[str(key)] = [str(v) for v in value]
        elif isinstance(value, str | int):
            form[str(key)] = [str(value)]
        else:
            raise ValidationFailed(f"answer {key!r} must be text, a number or a list of them")
    return form


def check_paper(questionnaire: Questionnaire, form: Mapping[str, Sequence[str]]) -> AnswerCheck:
    """The online form's validation, with every question optional (a blank on paper is no answer)."""
    relaxed = dataclasses.replace(
        questionnaire, questions=tuple(dataclasses.replace(q, required=False) for q in questionnaire.questions)
    )
    return check_answers(relaxed, form)


@dataclass
class PaperResult:
    stored: bool
    check: AnswerCheck
    questionnaire: Questionnaire
    participant_id: str | None = None
    response_id: str = ""


def enter_paper(
    store: Store,
    event_id: str,
    wave_id: str,
    form: Mapping[str, Sequence[str]],
    *,
    participant_id: str | None,
    language: str | None,
    now: datetime,
) -> PaperResult:
    """Store one keyed-in paper form as a response of mode ``paper``: the participant's one response when
    ``participant_id`` is given (Conflict when they have answered already, in any way), else an anonymous
    one. Invalid values return the check's errors and store nothing."""
    wave = store.get_wave(event_id, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    check = check_paper(questionnaire, form)
    if not check.ok:
        return PaperResult(False, check, questionnaire, participant_id)
    counts = aggregate_deltas(questionnaire, check.answers)
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed(f"language must be one of {', '.join(LANGUAGES)}")
    if participant_id:
        invitation = _invitation(store, event_id, wave_id, participant_id)
        if invitation.completed_at is not None:
            raise Conflict("this participant has answered already; their answer is kept")
        cells = modes.with_mode(invitation.cells, modes.PAPER)
        response = Response(
            wave_id=wave_id,
            participant_id=participant_id,
            event_id=event_id,
            panel_id=invitation.panel_id,
            answers=check.answers,
            cells=cells,
            language=language or invitation.language,
            version=1,
            submitted_at=now,
            updated_at=now,
        )
        outcome = store.store_response(
            response, previous=None, deltas=spread(cells, {**counts, **modes.completion(modes.PAPER)}), now=now
        )
        if outcome is SubmitOutcome.OPTED_OUT:
            raise OptedOut("this participant has opted out")
        if outcome is not SubmitOutcome.STORED:
            raise Conflict("this participant has answered already; their answer is kept")
        return PaperResult(True, check, questionnaire, participant_id, participant_id)
    lang = language or questionnaire.languages[0]
    group = check.answers.get(GROUP_QUESTION)
    cells = modes.with_mode(modes.anonymous_cells(group if isinstance(group, str) else None, lang), modes.PAPER)
    response = Response(
        wave_id=wave_id,
        participant_id=f"{ANONYMOUS_PREFIX}{secrets.token_hex(8)}",
        event_id=event_id,
        panel_id="",
        answers=check.answers,
        cells=cells,
        language=lang,
        version=1,
        submitted_at=now,
        updated_at=now,
    )
    deltas = spread(cells, {**counts, **modes.completion(modes.PAPER, anonymous=True)})
    if store.store_anonymous_response(response, deltas=deltas, now=now) is not SubmitOutcome.STORED:
        raise Conflict("this paper form could not be stored; please enter it again")
    return PaperResult(True, check, questionnaire, None, response.participant_id)


def _invitation(store: Store, event_id: str, wave_id: str, participant_id: str) -> Invitation:
    try:
        invitation = store.get_invitation(wave_id, participant_id)
    except NotFound:
        raise NotFound("this participant is not in this wave") from None
    if invitation.event_id != event_id:
        raise NotFound("this participant is not in this wave")
    if store.get_participant(event_id, participant_id).erased_at is not None:
        raise Erased("this participant has been erased: nothing more is stored about them")
    return invitation


def enter_paper_json(
    store: Store, event_id: str, wave_id: str, body: Any, *, code_secret: str, now: datetime
) -> dict[str, Any]:
    """The admin API's paper entry: ``{participant_id? | code?, language?, answers: {question_id: value}}``.
    Invalid answers are refused whole (400, each question's error code in the details)."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    unknown = sorted(set(body) - {"participant_id", "code", "language", "answers"})
    if unknown:
        raise ValidationFailed(f"unknown fields: {', '.join(unknown)}")
    answers = body.get("answers")
    if not isinstance(answers, dict):
        raise ValidationFailed("answers must be an object of question IDs and values")
    participant_id = body.get("participant_id")
    code = body.get("code")
    if participant_id is not None and not isinstance(participant_id, str):
        raise ValidationFailed("participant_id must be a string")
    if code is not None:
        if not isinstance(code, str):
            raise ValidationFailed("code must be a string")
        found = find_by_code(store, code_secret, wave_id, code).participant_id
        if participant_id and participant_id != found:
            raise ValidationFailed("participant_id and code name different participants")
        participant_id = found
    language = body.get("language")
    if language is not None and not isinstance(language, str):
        raise ValidationFailed("language must be a string")
    result = enter_paper(
        store, event_id, wave_id, as_form(answers), participant_id=participant_id or None, language=language, now=now
    )
    if not result.stored:
        details: dict[str, Any] = {"questions": result.check.errors}
        if result.check.unknown:
            details["unknown_questions"] = result.check.unknown
        raise ValidationFailed("some answers are not ones the questionnaire allows", details=details)
    return {
        "response_id": result.response_id,
        "participant_id": result.participant_id,
        "mode": modes.PAPER,
        "linked": result.participant_id is not None,
    }

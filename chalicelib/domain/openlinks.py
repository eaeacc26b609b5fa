"""The open link of a closing slide: one link for a whole wave, shown as a large QR code on a screen or a
poster, answerable only inside a window the admin sets (say the event's last hour).

Its answers are anonymous (no participant: a response keyed by the browser, ``open_<hash>``), one per browser
(a signed cookie holds the browser's random ID; the store refuses a second response of the same key),
limited per address (a store-backed counter: past ``RATE_LIMIT`` posts in ``RATE_WINDOW`` an address is slowed
with a "try again" page, and each refusal is counted), and recorded with the mode ``open``: counted in the
questions' answers and apart in the funnel (``by_mode["open"]``), never in ``completed``. The form may ask the
stakeholder group, so that breakdowns still work; the other cells of an open answer are ``unknown``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain import catalogue, modes
from chalicelib.domain.cells import spread
from chalicelib.domain.errors import NotFound, TemporarilyUnavailable, ValidationFailed, WaveClosed
from chalicelib.domain.model import Response, Wave
from chalicelib.domain.ports import Store, SubmitOutcome
from chalicelib.domain.questionnaires import AnswerCheck, Questionnaire, aggregate_deltas, check_answers
from chalicelib.domain.tokens import hash_token, looks_like_token, new_token

RATE_LIMIT = 30  # posts of one address to one open link ...
RATE_WINDOW = timedelta(minutes=10)  # ... in this window; a room shares few addresses, a flood many posts
MAX_WINDOW = timedelta(days=14)
GROUP_FIELD = "_group"


@dataclass
class OpenLink:
    token_hash: str
    event_id: str
    wave_id: str
    opens_at: datetime
    closes_at: datetime
    created_at: datetime
    ask_group: bool = True


def _instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be an ISO 8601 date and time with its offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{name} must be an ISO 8601 date and time with its offset") from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{name} needs a time zone offset (for example Z or +02:00)")
    return parsed.astimezone(UTC)


def create_open_link(
    store: Store, event_id: str, wave_id: str, body: Any, *, base_url: str, now: datetime
) -> dict[str, Any]:
    """A new open link for the wave, answerable from ``opens_at`` to ``closes_at``. The token is in the answer
    only (its hash is stored), with the slide page and the QR code's own address."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object with opens_at and closes_at")
    opens_at = _instant(body.get("opens_at"), "opens_at")
    closes_at = _instant(body.get("closes_at"), "closes_at")
    if closes_at <= opens_at:
        raise ValidationFailed("closes_at must be after opens_at")
    if closes_at <= now:
        raise ValidationFailed("closes_at must be in the future")
    if closes_at - opens_at > MAX_WINDOW:
        raise ValidationFailed("an open link can stay open 14 days at most")
    ask_group = body.get("ask_stakeholder_group", True)
    if not isinstance(ask_group, bool):
        raise ValidationFailed("ask_stakeholder_group must be true or false")
    store.get_event(event_id)
    wave = store.get_wave(event_id, wave_id)
    if wave.status == "closed" or (wave.closes_at is not None and wave.closes_at <= now):
        raise ValidationFailed("the wave is closed")
    token = new_token()
    store.put_open_link(
        OpenLink(hash_token(token), event_id, wave_id, opens_at, closes_at, created_at=now, ask_group=ask_group)
    )
    return {
        "url": f"{base_url}/o/{token}",
        "qr_url": f"{base_url}/o/{token}/qr.svg",
        "slide_url": f"{base_url}/o/{token}/slide",
        "opens_at": opens_at.isoformat(),
        "closes_at": closes_at.isoformat(),
        "ask_stakeholder_group": ask_group,
    }


def resolve(store: Store, token: str) -> OpenLink:
    if not looks_like_token(token):
        raise NotFound("unknown link")
    link = store.get_open_link(hash_token(token))
    if link is None:
        raise NotFound("unknown link")
    return link


def is_open(link: OpenLink, wave: Wave, now: datetime) -> bool:
    wave_open = wave.status != "closed" and (wave.closes_at is None or wave.closes_at > now)
    return wave_open and link.opens_at <= now < link.closes_at


@dataclass
class OpenForm:
    link: OpenLink
    wave: Wave
    questionnaire: Questionnaire
    language: str


def open_form(store: Store, token: str, *, now: datetime, lang: str | None) -> OpenForm:
    """The form behind an open link; WaveClosed (410) outside its window."""
    link = resolve(store, token)
    wave = store.get_wave_cached(link.event_id, link.wave_id)
    if not is_open(link, wave, now):
        raise WaveClosed("this open link is not open now")
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    language = lang if lang in questionnaire.languages else questionnaire.languages[0]
    return OpenForm(link, wave, questionnaire, language)


def respondent_key(link: OpenLink, browser_id: str) -> str:
    """The response's key: one per browser and link, naming neither."""
    return "open_" + hashlib.sha256(f"{link.token_hash}\x00{browser_id}".encode()).hexdigest()[:32]


@dataclass
class OpenResult:
    stored: bool
    already: bool
    check: AnswerCheck
    form: OpenForm


def submit_open(
    store: Store,
    token: str,
    form: Mapping[str, Sequence[str]],
    *,
    browser_id: str,
    address: str,
    now: datetime,
    lang: str | None,
) -> OpenResult:
    """Validate and store one anonymous answer: once per browser (``already`` for a second), slowed past the
    address's limit (TemporarilyUnavailable, counted)."""
    opened = open_form(store, token, now=now, lang=lang)
    link = opened.link
    window = int(now.timestamp() // RATE_WINDOW.total_seconds())
    address_key = hashlib.sha256(f"{link.token_hash}\x00{address}".encode()).hexdigest()[:32]
    hits = store.count_hit(f"rate#{address_key}#{window}", now + 2 * RATE_WINDOW)
    if hits > RATE_LIMIT:
        raise TemporarilyUnavailable("too many answers from this address; please try again in a few minutes")
    check = check_answers(opened.questionnaire, {k: v for k, v in form.items() if k != GROUP_FIELD})
    if not check.ok:
        return OpenResult(False, False, check, opened)
    group = (form.get(GROUP_FIELD) or [""])[-1]
    cells = modes.with_mode(modes.anonymous_cells(group if link.ask_group else None, opened.language), modes.OPEN)
    response = Response(
        wave_id=link.wave_id,
        participant_id=respondent_key(link, browser_id),
        event_id=link.event_id,
        panel_id="",
        answers=check.answers,
        cells=cells,
        language=opened.language,
        version=1,
        submitted_at=now,
        updated_at=now,
    )
    deltas = spread(cells, {**aggregate_deltas(opened.questionnaire, check.answers), **modes.completion(modes.OPEN)})
    outcome = store.store_anonymous_response(response, deltas=deltas, now=now)
    return OpenResult(outcome is SubmitOutcome.STORED, outcome is not SubmitOutcome.STORED, check, opened)

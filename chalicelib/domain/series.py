"""Series waves: one follow-up survey over several events (a workshop series, or every event of a year).

One invitation per distinct person: people are matched across events by the keyed email hash the
participants already carry (``Participant.email_key``), never by an address. Each person is invited through
their record in the latest event of the series they attended (its address, language and time zone); their
``event`` cell lists every event of the series they attended, so ``by=event`` counts them in each.

A person is not invited when, in any event of the series, their record was erased or opted out, or an
invitation of theirs opted out, bounced or was suppressed; a suppressed address is refused at the claim, as
for event waves. The wave is stored under each of its events (``model.Wave.event_ids``), so the scheduler,
the sender, the participant's form and erasure reach it through the paths event waves take.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain import catalogue
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.model import (
    DIMENSIONS,
    INVITATION,
    LANGUAGES,
    SERIES_DIMENSION,
    SERIES_HOME,
    Event,
    Invitation,
    Participant,
    Wave,
    is_manual,
    manual_kind,
    new_id,
)
from chalicelib.domain.planning import participant_zone
from chalicelib.domain.ports import SendQueue, Store
from chalicelib.domain.schedule import closes_at, invitation_due, opening_reference, parse_wave_rules
from chalicelib.domain.sentences import pooled_sentences
from chalicelib.domain.tokens import panel_id

SERIES_BY = (*DIMENSIONS, SERIES_DIMENSION)


def is_series(wave: Wave) -> bool:
    return bool(wave.event_ids)


def _series_events(store: Store, body: dict[str, Any]) -> list[Event]:
    if "event_ids" in body:
        ids = body["event_ids"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ValidationFailed("event_ids must be a non-empty list of event IDs")
        if len(set(ids)) != len(ids):
            raise ValidationFailed("event_ids must not repeat an event")
        events = []
        for event_id in ids:
            try:
                events.append(store.get_event(event_id))
            except NotFound:
                raise ValidationFailed(f"unknown event {event_id!r}") from None
    elif "year" in body:
        year = body["year"]
        if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9999:
            raise ValidationFailed("year must be a year, e.g. 2012")
        events = store.events_in_year(year)
        if not events:
            raise ValidationFailed(f"no event in {year}")
    else:
        raise ValidationFailed('give the events: {"event_ids": [...]} or {"year": 2012}')
    return sorted(events, key=lambda e: (e.starts_on, e.ends_on, e.event_id))


def anchor_event(events: Sequence[Event]) -> Event:
    """The series' last event: a relative opening counts from its end."""
    return max(events, key=lambda e: (e.ends_on, e.starts_on, e.event_id))


def create_series_wave(store: Store, body: Any, *, panel_secret: str, now: datetime) -> tuple[Wave, int]:
    """Create a series wave (questionnaire version pinned, schedule, closing) and plan one invitation per
    person; returns the wave and how many people it will reach."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    events = _series_events(store, body)
    qid = body.get("questionnaire")
    if not isinstance(qid, str) or not qid:
        raise ValidationFailed('questionnaire is required, e.g. "impact"')
    version = body.get("questionnaire_version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ValidationFailed("questionnaire_version must be an integer")
    try:
        questionnaire = catalogue.resolve(store, qid, version)
    except Exception as exc:
        raise ValidationFailed(f"unknown questionnaire {qid!r}") from exc
    missing = sorted({lang for e in events for lang in e.languages if lang not in questionnaire.languages})
    if missing:
        raise ValidationFailed(f"questionnaire {qid!r} has no text in {', '.join(missing)}")
    open_rule, close_rule, reminders = parse_wave_rules(body)
    reference = max(opening_reference(anchor_event(events), open_rule), now)
    wave = Wave(
        event_id=SERIES_HOME,
        wave_id=new_id("sw"),
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        opens=open_rule,
        closes=close_rule,
        reminders_after_days=reminders,
        status="scheduled",
        closes_at=closes_at(close_rule, reference),
        created_at=now,
        event_ids=[e.event_id for e in events],
    )
    if wave.closes_at is not None and wave.closes_at <= now:
        raise ValidationFailed("the wave would already be closed")
    store.put_wave(wave)
    plan_series(store, wave, panel_secret=panel_secret, now=now)
    return wave, len(store.list_invitations(wave.wave_id))


def get_series_wave(store: Store, wave_id: str) -> Wave:
    wave = store.get_wave(SERIES_HOME, wave_id)
    if not is_series(wave):
        raise NotFound("series wave not found")
    return wave


def list_series_waves(store: Store) -> list[Wave]:
    return sorted(store.list_waves(SERIES_HOME), key=lambda w: (w.created_at or now_floor(), w.wave_id))


def now_floor() -> datetime:
    from datetime import UTC

    return datetime.min.replace(tzinfo=UTC)


def blocked_keys(store: Store, events: Sequence[Event], wave_id: str) -> set[str]:
    """The keyed email hashes not to invite: erased or opted out anywhere in the series, or an invitation of
    theirs in an event wave of the series that opted out, bounced or was suppressed."""
    blocked: set[str] = set()
    for event in events:
        for p in store.list_participants(event.event_id):
            if p.erased_at is not None or p.opted_out_at is not None:
                blocked.add(p.email_key)
        for wave in store.list_waves(event.event_id):
            if wave.wave_id == wave_id:
                continue
            for inv in store.list_invitations(wave.wave_id):
                if inv.opted_out_at or inv.bounced_at or inv.status in ("suppressed", "bounced", "opted_out"):
                    blocked.add(inv.email_key)
    return blocked


def people_of(store: Store, events: Sequence[Event]) -> dict[str, list[tuple[Event, Participant]]]:
    """Each person (by keyed email hash) with their records, in the series' event order."""
    people: dict[str, list[tuple[Event, Participant]]] = {}
    for event in events:
        for p in store.list_participants(event.event_id):
            if p.email_key:
                people.setdefault(p.email_key, []).append((event, p))
    return people


def plan_series(store: Store, wave: Wave, *, panel_secret: str, now: datetime, due_now: bool = False) -> int:
    """Create the series wave's missing invitations: one per person not blocked, through their latest record."""
    events = sorted((store.get_event(e) for e in wave.event_ids), key=lambda e: (e.starts_on, e.event_id))
    anchor = anchor_event(events)
    existing = store.list_invitations(wave.wave_id)
    have = {inv.email_key for inv in existing}
    blocked = blocked_keys(store, events, wave.wave_id)
    fresh = []
    for key, records in people_of(store, events).items():
        if key in have or key in blocked:
            continue
        event, person = records[-1]
        tz = participant_zone(person, event)
        cells = {
            **person.cells(),
            SERIES_DIMENSION: "|".join(e.event_id for e, _ in records),
            # Their pseudonymous panel ID in each event: links the series answers to each event's own waves.
            "panels": "|".join(f"{e.event_id}:{panel_id(panel_secret, p.participant_id)}" for e, p in records),
        }
        fresh.append(
            Invitation(
                wave_id=wave.wave_id,
                participant_id=person.participant_id,
                event_id=event.event_id,
                cells=cells,
                language=person.language if person.language in event.languages else event.languages[0],
                timezone=tz,
                email_key=key,
                panel_id=panel_id(panel_secret, person.participant_id),
                due_at=now if due_now else invitation_due(anchor, wave.opens, tz),
                due_kind=INVITATION,
            )
        )
    return int(store.create_invitations(fresh))


def send_series_now(
    store: Store, queue: SendQueue, wave_id: str, *, panel_secret: str, now: datetime, limit: int
) -> dict[str, Any]:
    """ "Send now" for a series wave: open it, make every invitation due now and queue them, as for event waves."""
    from chalicelib.domain.distribution import dispatch_due

    wave = get_series_wave(store, wave_id)
    if wave.closes_at is not None and wave.closes_at <= now:
        raise ValidationFailed("the wave is closed")
    if wave.opened_at is None:
        wave.opened_at = now
        wave.status = "open"
        if wave.closes.after_open_days is not None:
            wave.closes_at = closes_at(wave.closes, now)
        store.put_wave(wave)
    planned = plan_series(store, wave, panel_secret=panel_secret, now=now, due_now=True)
    pending = [
        inv.participant_id
        for inv in store.list_invitations(wave_id)
        if INVITATION not in inv.sent_kinds
        and inv.due_kind == INVITATION
        and inv.due_at is not None
        and inv.due_at > now
    ]
    store.set_due_now(wave_id, pending, now)
    queued = dispatch_due(store, queue, now, limit=limit).enqueued
    return {"wave_id": wave_id, "status": wave.status, "planned": planned, "due_now": len(pending), "queued": queued}


def remind_series_now(store: Store, queue: SendQueue, wave_id: str, now: datetime) -> dict[str, Any]:
    """One reminder now to every invitee who has not answered, opted out or bounced (as ``remind_now``)."""
    from chalicelib.domain.messages import SendJob

    wave = get_series_wave(store, wave_id)
    if wave.closes_at is None or wave.closes_at <= now:
        raise ValidationFailed("the wave is closed")
    people = {(e, p.participant_id): p for e in wave.event_ids for p in store.list_participants(e)}
    jobs: list[dict[str, Any]] = []
    for inv in store.list_invitations(wave_id):
        person = people.get((inv.event_id, inv.participant_id))
        if (
            INVITATION not in inv.sent_kinds
            or inv.completed_at
            or inv.opted_out_at
            or inv.bounced_at
            or person is None
            or person.erased_at is not None
        ):
            continue
        manual = manual_kind(sum(1 for kind in inv.sent_kinds if is_manual(kind)) + 1)
        jobs.append(SendJob.for_invitation(inv, manual).to_message())
    for start in range(0, len(jobs), 10):
        queue.enqueue(jobs[start : start + 10])
    return {"wave_id": wave_id, "queued": len(jobs)}


def revoke_erased(store: Store, participant: Participant, waves: Sequence[Wave], now: datetime) -> int:
    """A person erased in one event of a series leaves its series waves too, whichever record invited them."""
    revoked = 0
    for wave in waves:
        if not is_series(wave):
            continue
        for inv in store.list_invitations(wave.wave_id):
            if inv.email_key == participant.email_key and inv.participant_id != participant.participant_id:
                revoked += store.revoke_invitation(wave.wave_id, inv.participant_id, now)
    return revoked


def series_view(store: Store, wave: Wave) -> dict[str, Any]:
    from chalicelib.domain.waves import wave_view

    view = wave_view(wave)
    view.pop("event_id", None)
    titles = {e: store.get_event(e).title for e in wave.event_ids}
    return {**view, "event_ids": list(wave.event_ids), "events": titles}


def series_summary(store: Store, wave_id: str, *, by: str, k: int) -> dict[str, Any]:
    """The event summary's shape, pooled over the series; ``by`` also accepts ``event`` (a person counts in each
    event they attended, so the groups add up to more than the whole; the whole is read from another dimension)."""
    from chalicelib.domain.summary import add_counters, funnel, question_summary

    if by not in SERIES_BY:
        raise ValidationFailed(f"by must be one of {', '.join(SERIES_BY)}")
    wave = get_series_wave(store, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    groups = store.read_cells(wave_id, by)
    overall = add_counters((store.read_cells(wave_id, "language") if by == SERIES_DIMENSION else groups).values())
    funnel_counts = funnel(overall)
    questions = [question_summary(q, overall, groups, k) for q in questionnaire.questions]
    return {
        "wave_id": wave_id,
        "event_ids": list(wave.event_ids),
        "events": {e: store.get_event(e).title for e in wave.event_ids},
        "questionnaire": questionnaire.key,
        "by": by,
        "funnel": funnel_counts,
        "respondents": funnel_counts["completed"],
        "questions": questions,
        "suppression_threshold": k,
        "sentences": pooled_sentences(questionnaire, questions, k=k, events=len(wave.event_ids)),
    }


def _series_event(store: Store, wave: Wave) -> Event:
    """The series as one event for the report's heading: the titles, from the first start to the last end."""
    events = [store.get_event(e) for e in wave.event_ids]
    last = anchor_event(events)
    return Event(
        event_id=SERIES_HOME,
        title=" · ".join(e.title for e in events),
        starts_on=min(e.starts_on for e in events),
        ends_on=last.ends_on,
        timezone=last.timezone,
        languages=sorted({lang for e in events for lang in e.languages}, key=list(LANGUAGES).index),
    )


def series_report_data(store: Store, wave_id: str, by: str | None, *, k: int) -> dict[str, Any]:
    """What the HTML report (templates/pages/report.html) shows for a series wave: the pooled summary with its
    sentences, ``by=event`` groups named by the events' titles, and the free text (redacted)."""
    from chalicelib.domain.naming import wave_name
    from chalicelib.domain.reporting import redact

    dimension = by or "stakeholder_group"
    summary = series_summary(store, wave_id, by=dimension, k=k)
    wave = get_series_wave(store, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    if dimension == SERIES_DIMENSION:
        for entry in summary["questions"]:
            entry["groups"] = {summary["events"].get(e, e): cell for e, cell in entry["groups"].items()}
    event = _series_event(store, wave)
    texts: dict[str, list[str]] = {}
    if summary["respondents"] >= k:
        for response in store.list_responses(wave_id):
            for q in questionnaire.questions:
                value = response.answers.get(q.id)
                if q.type == "text" and isinstance(value, str) and value.strip():
                    texts.setdefault(q.id, []).append(redact(value))
    return {
        "summary": summary,
        "questionnaire": questionnaire,
        "wave": wave,
        "comparison": [],
        "texts": texts,
        "event": event,
        "wave_title": {lang: wave_name(event, wave, questionnaire, lang) for lang in LANGUAGES},
    }


def series_export_csv(store: Store, wave_id: str, kind: str, *, k: int) -> tuple[str, str]:
    """(filename, CSV text) of a series wave: ``aggregates`` (every dimension and ``event``, suppressed as for
    event waves) or ``responses`` (one column per per-event answer, and each person's panel ID per event)."""
    from chalicelib.domain.naming import slug
    from chalicelib.domain.questionnaires import for_events
    from chalicelib.domain.reporting import aggregates_csv, responses_csv

    wave = get_series_wave(store, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    base = slug(f"series {wave.questionnaire_id} {wave_id}", limit=90)
    if kind == "aggregates":
        summaries = {dim: series_summary(store, wave_id, by=dim, k=k) for dim in SERIES_BY}
        return f"{base}-aggregates.csv", aggregates_csv(summaries, questionnaire)
    if kind == "responses":
        asked = for_events(questionnaire, [(e, store.get_event(e).title) for e in wave.event_ids])
        return f"{base}-responses.csv", responses_csv(asked, store.list_responses(wave_id), k, linked=True)
    raise ValidationFailed("kind must be aggregates or responses")

"""Administration use cases: events, the registration list, waves and the impact summary."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain import catalogue, countries
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.model import DIMENSIONS, INVITATION, LANGUAGES, Event, Invitation, Participant, Wave
from chalicelib.domain.participants import merge_participants, parse_registration_csv
from chalicelib.domain.ports import Store
from chalicelib.domain.schedule import closes_at, invitation_due, opening_reference, parse_wave_rules
from chalicelib.domain.sentences import report_sentences
from chalicelib.domain.summary import build_summary
from chalicelib.domain.tokens import panel_id

MAX_TITLE = 200


def _text(body: Mapping[str, Any], name: str, *, required: bool, limit: int = MAX_TITLE) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{name} is required")
    if len(value) > limit:
        raise ValidationFailed(f"{name} must be at most {limit} characters")
    return value


def _date(body: Mapping[str, Any], name: str) -> date:
    value = body.get(name)
    try:
        return date.fromisoformat(value) if isinstance(value, str) else date.fromisoformat("")
    except ValueError:
        raise ValidationFailed(f"{name} must be a date, YYYY-MM-DD") from None


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def _event_fields(body: Any) -> dict[str, Any]:
    """The validated fields of an event form or body (create and edit share them)."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    title = _text(body, "title", required=True)
    starts_on, ends_on = _date(body, "starts_on"), _date(body, "ends_on")
    if ends_on < starts_on:
        raise ValidationFailed("ends_on must not be before starts_on")
    tz = _text(body, "timezone", required=True, limit=64)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("timezone must be an IANA name such as Europe/Geneva") from None
    languages = body.get("languages", list(LANGUAGES))
    if (
        not isinstance(languages, list)
        or not languages
        or any(lang not in LANGUAGES for lang in languages)
        or len(set(languages)) != len(languages)
    ):
        raise ValidationFailed(f"languages must be a non-empty list drawn from {list(LANGUAGES)}")
    return {
        "title": title,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "timezone": tz,
        "venue": _text(body, "venue", required=False),
        "theme": _text(body, "theme", required=False, limit=500),
        "languages": languages,
    }


def create_event(store: Store, body: Any, now: datetime) -> Event:
    """Validate and store a new event."""
    event = Event(event_id=new_id("ev"), created_at=now, **_event_fields(body))
    store.put_event(event)
    return event


def update_event(store: Store, event_id: str, body: Any, *, now: datetime) -> Event:
    """Change an event. Title, venue and theme change freely. New languages need text in every wave's
    questionnaire. The dates and the time zone move the waves' schedules, so they can change only while
    no wave has started sending; then every planned invitation and closing date moves with them."""
    current = store.get_event(event_id)
    event = Event(event_id=event_id, created_at=current.created_at, **_event_fields(body))
    waves = store.list_waves(event_id)
    for wave in waves:
        questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
        missing = [lang for lang in event.languages if lang not in questionnaire.languages]
        if missing:
            raise ValidationFailed(
                f"the questionnaire of a wave ({questionnaire.id}) has no text in {', '.join(missing)}"
            )
    moved = (event.starts_on, event.ends_on, event.timezone) != (current.starts_on, current.ends_on, current.timezone)
    plans: list[tuple[Wave, list[Invitation]]] = []
    if moved:
        for wave in waves:
            invitations = store.list_invitations(wave.wave_id)
            if wave.opened_at is not None or any(inv.sent_kinds for inv in invitations):
                raise Conflict(
                    "the dates and the time zone cannot change once a wave has started sending; "
                    "create a new event instead"
                )
            plans.append((wave, invitations))
    store.put_event(event)
    if plans:
        people = {p.participant_id: p for p in store.list_participants(event_id)}
        for wave, invitations in plans:
            if wave.closes.after_open_days is not None:
                wave.closes_at = closes_at(wave.closes, max(opening_reference(event, wave.opens), now))
                store.put_wave(wave)
            for inv in invitations:
                person = people.get(inv.participant_id)
                if person is None or inv.due_kind != INVITATION:
                    continue
                tz = participant_zone(person, event)
                store.move_invitation(inv, invitation_due(event, wave.opens, tz), tz)
    return event


def event_view(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "title": event.title,
        "theme": event.theme,
        "venue": event.venue,
        "timezone": event.timezone,
        "starts_on": event.starts_on.isoformat(),
        "ends_on": event.ends_on.isoformat(),
        "languages": list(event.languages),
        "created_at": event.created_at.isoformat() if event.created_at else None,
    }


def place(code: str) -> tuple[str, str]:
    found = countries.lookup(code)
    return (found.region, found.income_group) if found else ("unknown", "unknown")


def participant_zone(participant: Participant, event: Event) -> str:
    """The participant's own zone; else the main zone of their country; else the event's."""
    if participant.timezone:
        return participant.timezone
    found = countries.lookup(participant.country)
    return found.timezone if found else event.timezone


@dataclass
class ImportReport:
    imported: int
    updated: int
    unchanged: int
    rejected: list[dict[str, object]]
    invitations_planned: int

    def view(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "invitations_planned": self.invitations_planned,
        }


def prepare_import(store: Store, event_id: str, csv_text: str, *, secret: str, now: datetime) -> tuple[Event, Any, Any]:
    """Validate the list and match it to the stored participants: (event, parsed list, merge). Pure work
    after one GetItem and one Query; nothing is written."""
    event = store.get_event(event_id)
    parsed = parse_registration_csv(csv_text, countries.is_valid)
    existing = store.list_participants(event_id)
    merge = merge_participants(event_id, parsed.rows, existing, secret=secret, now=now, place=place)
    return event, parsed, merge


def write_participants(
    store: Store, event: Event, participants: Sequence[Participant], *, panel_secret: str, now: datetime
) -> int:
    """Write whole participants (never half a row), then plan their invitations in the live waves."""
    if not participants:
        return 0
    store.put_participants(participants)
    planned = 0
    for wave in store.list_waves(event.event_id):
        if wave.status != "closed":
            planned += plan_wave(store, event, wave, panel_secret=panel_secret, now=now, only=participants)
    return planned


def import_participants(
    store: Store, event_id: str, csv_text: str, *, secret: str, panel_secret: str, now: datetime
) -> ImportReport:
    """Import the registration list idempotently, then plan invitations for the event's live waves."""
    event, parsed, merge = prepare_import(store, event_id, csv_text, secret=secret, now=now)
    planned = write_participants(store, event, merge.to_write, panel_secret=panel_secret, now=now)
    return ImportReport(merge.imported, merge.updated + merge.unchanged, merge.unchanged, parsed.rejected, planned)


def plan_wave(
    store: Store,
    event: Event,
    wave: Wave,
    *,
    panel_secret: str,
    now: datetime,
    due_now: bool = False,
    only: Sequence[Participant] | None = None,
) -> int:
    """Create the missing invitations of a wave, each due at its participant's local opening time (for
    ``only`` these participants: their invitations are created unless they exist, without listing the wave)."""
    if only is None:
        have = {inv.participant_id for inv in store.list_invitations(wave.wave_id)}
        people: Sequence[Participant] = store.list_participants(event.event_id)
    else:
        have, people = set(), only
    fresh = []
    for p in people:
        if p.participant_id in have or p.erased_at is not None:
            continue
        tz = participant_zone(p, event)
        due = now if due_now else invitation_due(event, wave.opens, tz)
        fresh.append(
            Invitation(
                wave_id=wave.wave_id,
                participant_id=p.participant_id,
                event_id=event.event_id,
                cells=p.cells(),
                language=p.language if p.language in event.languages else event.languages[0],
                timezone=tz,
                email_key=p.email_key,
                panel_id=panel_id(panel_secret, p.participant_id),
                due_at=due,
                due_kind=INVITATION,
            )
        )
    return int(store.create_invitations(fresh))


def create_wave(store: Store, event_id: str, body: Any, *, panel_secret: str, now: datetime) -> Wave:
    """Create a wave with its questionnaire (version pinned), schedule and closing rule."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    event = store.get_event(event_id)
    qid = body.get("questionnaire")
    if not isinstance(qid, str) or not qid:
        raise ValidationFailed('questionnaire is required, e.g. "satisfaction"')
    version = body.get("questionnaire_version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ValidationFailed("questionnaire_version must be an integer")
    try:
        questionnaire = catalogue.resolve(store, qid, version)
    except Exception as exc:
        raise ValidationFailed(f"unknown questionnaire {qid!r}") from exc
    missing = [lang for lang in event.languages if lang not in questionnaire.languages]
    if missing:
        raise ValidationFailed(f"questionnaire {qid!r} has no text in {', '.join(missing)}")
    open_rule, close_rule, reminders = parse_wave_rules(body)
    # An opening time already past means "due now": the closing date counts from now, not the past.
    reference = max(opening_reference(event, open_rule), now)
    wave = Wave(
        event_id=event_id,
        wave_id=new_id("wv"),
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        opens=open_rule,
        closes=close_rule,
        reminders_after_days=reminders,
        status="scheduled",
        closes_at=closes_at(close_rule, reference),
        created_at=now,
    )
    if wave.closes_at is not None and wave.closes_at <= now:
        raise ValidationFailed("the wave would already be closed")
    store.put_wave(wave)
    plan_wave(store, event, wave, panel_secret=panel_secret, now=now)
    return wave


def wave_view(wave: Wave) -> dict[str, Any]:
    opens: dict[str, Any] = (
        {"at": wave.opens.at.isoformat()}
        if wave.opens.at
        else {"after_event_days": wave.opens.after_event_days, "local_time": wave.opens.local_time}
    )
    closes: dict[str, Any] = (
        {"at": wave.closes.at.isoformat()} if wave.closes.at else {"after_open_days": wave.closes.after_open_days}
    )
    return {
        "event_id": wave.event_id,
        "wave_id": wave.wave_id,
        "questionnaire": wave.questionnaire_id,
        "questionnaire_version": wave.questionnaire_version,
        "opens": opens,
        "closes": closes,
        "reminders_after_days": wave.reminders_after_days,
        "status": wave.status,
        "opened_at": wave.opened_at.isoformat() if wave.opened_at else None,
        "closes_at": wave.closes_at.isoformat() if wave.closes_at else None,
    }


def send_now(store: Store, event_id: str, wave_id: str, *, panel_secret: str, now: datetime) -> dict[str, Any]:
    """Open the wave now: every invitation not yet sent becomes due at once. Pressing twice is harmless."""
    event = store.get_event(event_id)
    wave = store.get_wave(event_id, wave_id)
    if wave.closes_at is not None and wave.closes_at <= now:
        raise ValidationFailed("the wave is closed")
    if wave.opened_at is None:
        wave.opened_at = now
        wave.status = "open"
        if wave.closes.after_open_days is not None:
            wave.closes_at = closes_at(wave.closes, now)
        store.put_wave(wave)
    planned = plan_wave(store, event, wave, panel_secret=panel_secret, now=now, due_now=True)
    # Invitations planned for a later local opening time become due now; the others already are.
    pending = [
        inv.participant_id
        for inv in store.list_invitations(wave_id)
        if INVITATION not in inv.sent_kinds
        and inv.due_kind == INVITATION
        and inv.due_at is not None
        and inv.due_at > now
    ]
    store.set_due_now(wave_id, pending, now)
    return {"wave_id": wave_id, "status": wave.status, "planned": planned, "due_now": len(pending)}


UNCONFIRMED_AFTER = timedelta(hours=1)


def unconfirmed_sends(store: Store, event_id: str, wave_id: str, *, now: datetime) -> dict[str, Any]:
    """Invitations that went to SES over an hour ago with no word since: no delivery, bounce or failure
    event, never opened or answered. The sender sends at most once, so a crash between its claim and SES,
    or an SES event lost on its way, shows here and nowhere else; "send reminders" reaches these people."""
    store.get_wave(event_id, wave_id)  # an unknown wave, or one of another event, is a 404
    rows = [
        {"participant_id": inv.participant_id, "sent_at": inv.first_due_at.isoformat(), "status": inv.status}
        for inv in store.list_invitations(wave_id)
        if INVITATION in inv.sent_kinds
        and inv.first_due_at is not None
        and now - inv.first_due_at >= UNCONFIRMED_AFTER
        and not (inv.delivered_at or inv.bounced_at or inv.opened_at or inv.completed_at or inv.opted_out_at)
        and inv.status not in ("failed", "suppressed")
    ]
    return {
        "wave_id": wave_id,
        "older_than_minutes": int(UNCONFIRMED_AFTER.total_seconds() // 60),
        "count": len(rows),
        "participants": rows,
    }


def participants_view(store: Store, event_id: str) -> list[dict[str, Any]]:
    store.get_event(event_id)
    waves = store.list_waves(event_id)
    status = {w.wave_id: {i.participant_id: i for i in store.list_invitations(w.wave_id)} for w in waves}
    out = []
    for p in sorted(store.list_participants(event_id), key=lambda x: (x.full_name.lower(), x.participant_id)):
        out.append(
            {
                "participant_id": p.participant_id,
                "email": p.email,
                "full_name": p.full_name,
                "organisation": p.organisation,
                "stakeholder_group": p.stakeholder_group,
                "country": p.country,
                "region": p.region,
                "income_group": p.income_group,
                "language": p.language,
                "timezone": p.timezone,
                "sponsored": p.sponsored,
                "erased": p.erased_at is not None,
                "waves": {wid: _invitation_status(status[wid].get(p.participant_id)) for wid in status},
            }
        )
    return out


def _invitation_status(inv: Invitation | None) -> dict[str, Any]:
    if inv is None:
        return {"status": "not_invited"}
    return {
        "status": inv.status,
        "sent": sorted(inv.sent_kinds),
        "next": inv.due_kind,
        "next_at": inv.due_at.isoformat() if inv.due_at else None,
        "opened": inv.opened_at is not None,
        "completed": inv.completed_at is not None,
        "opted_out": inv.opted_out_at is not None,
        "bounced": inv.bounced_at is not None,
    }


def summarize(store: Store, event_id: str, wave_id: str | None, by: str | None, *, k: int) -> dict[str, Any]:
    """The impact summary of one wave: one Query of its aggregate counters, whatever the response count."""
    dimension = by or "stakeholder_group"
    if dimension not in DIMENSIONS:
        raise ValidationFailed(f"by must be one of {', '.join(DIMENSIONS)}")
    event = store.get_event(event_id)
    if wave_id is None:
        waves = sorted(store.list_waves(event_id), key=lambda w: w.created_at or datetime.min)
        if not waves:
            raise ValidationFailed("the event has no wave yet")
        wave = waves[-1]
    else:
        wave = store.get_wave(event_id, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    cells = store.read_cells(wave.wave_id, dimension)
    summary = build_summary(
        event_id=event_id, wave_id=wave.wave_id, questionnaire=questionnaire, cells=cells, by=dimension, k=k
    )
    summary["event_title"] = event.title
    summary["sentences"] = report_sentences(questionnaire, summary["questions"], k=k)
    return summary


# Reports, exports, recount and the programme view ------------------------------------------------------


def _wave_and_questionnaire(store: Store, event_id: str, wave_id: str | None) -> tuple[Wave, Any]:
    if wave_id is None:
        waves = sorted(store.list_waves(event_id), key=lambda w: w.created_at or datetime.min)
        if not waves:
            raise ValidationFailed("the event has no wave yet")
        wave = waves[-1]
    else:
        wave = store.get_wave(event_id, wave_id)
    return wave, catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)


def recount_wave(store: Store, event_id: str, wave_id: str) -> dict[str, Any]:
    """Rebuild every counter from the raw responses and invitations and report any mismatch."""
    from chalicelib.domain.reporting import compare_counters, recount

    store.get_event(event_id)
    wave, questionnaire = _wave_and_questionnaire(store, event_id, wave_id)
    rebuilt = recount(questionnaire, store.list_responses(wave.wave_id), store.list_invitations(wave.wave_id))
    stored: dict[str, dict[str, int]] = {}
    for dimension in DIMENSIONS:
        for value, counters in store.read_cells(wave.wave_id, dimension).items():
            stored[f"{dimension}#{value}"] = dict(counters)
    mismatches = compare_counters(stored, rebuilt)
    return {"wave_id": wave.wave_id, "cells": len(rebuilt), "mismatches": mismatches, "ok": not mismatches}


def export_csv(store: Store, event_id: str, wave_id: str | None, kind: str, *, k: int) -> tuple[str, str]:
    """(filename, CSV text) for ``kind`` aggregates or responses, suppression applied."""
    from chalicelib.domain.reporting import aggregates_csv, responses_csv, summaries_for_export

    store.get_event(event_id)
    wave, questionnaire = _wave_and_questionnaire(store, event_id, wave_id)
    if kind == "aggregates":
        cells = {dim: store.read_cells(wave.wave_id, dim) for dim in DIMENSIONS}
        summaries = summaries_for_export(event_id, wave.wave_id, questionnaire, cells, k)
        return f"{event_id}-{wave.wave_id}-aggregates.csv", aggregates_csv(summaries, questionnaire)
    if kind == "responses":
        return f"{event_id}-{wave.wave_id}-responses.csv", responses_csv(
            questionnaire, store.list_responses(wave.wave_id), k
        )
    raise ValidationFailed("kind must be aggregates or responses")


def report_data(store: Store, event_id: str, wave_id: str | None, by: str | None, *, k: int) -> dict[str, Any]:
    """Everything the HTML report shows: the summary, the other waves side by side, and the free text."""
    from chalicelib.domain.reporting import redact

    summary = summarize(store, event_id, wave_id, by, k=k)
    wave, questionnaire = _wave_and_questionnaire(store, event_id, summary["wave_id"])
    comparison = []
    for other in sorted(store.list_waves(event_id), key=lambda w: w.created_at or datetime.min):
        other_q = catalogue.resolve(store, other.questionnaire_id, other.questionnaire_version)
        cells = store.read_cells(other.wave_id, "stakeholder_group")
        other_summary = build_summary(
            event_id=event_id, wave_id=other.wave_id, questionnaire=other_q, cells=cells, by="stakeholder_group", k=k
        )
        comparison.append(
            {
                "wave_id": other.wave_id,
                "questionnaire": other.questionnaire_id,
                "respondents": other_summary["respondents"],
                "indicators": {
                    q["indicator"]: q
                    for q in other_summary["questions"]
                    if q["indicator"] and q.get("agree_pct") is not None
                },
            }
        )
    texts: dict[str, list[str]] = {}
    if summary["respondents"] >= k:
        for response in store.list_responses(wave.wave_id):
            for q in questionnaire.questions:
                value = response.answers.get(q.id)
                if q.type == "text" and isinstance(value, str) and value.strip():
                    texts.setdefault(q.id, []).append(redact(value))
    return {
        "summary": summary,
        "questionnaire": questionnaire,
        "wave": wave,
        "comparison": comparison,
        "texts": texts,
        "event": store.get_event(event_id),
    }


def programme(
    store: Store,
    year: int,
    indicator: str,
    *,
    k: int,
    compare_year: int | None = None,
    only_events: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """One indicator across every event and wave of a year (and another year): one Query per wave."""

    def year_rows(y: int) -> list[dict[str, Any]]:
        rows = []
        for event in store.events_in_year(y):
            if only_events and event.event_id not in only_events:
                continue  # a user scoped to some events sees only those
            for wave in store.list_waves(event.event_id):
                questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
                question = next((q for q in questionnaire.questions if q.indicator == indicator), None)
                if question is None:
                    continue
                cells = store.read_cells(wave.wave_id, "stakeholder_group")
                summary = build_summary(
                    event_id=event.event_id,
                    wave_id=wave.wave_id,
                    questionnaire=questionnaire,
                    cells=cells,
                    by="stakeholder_group",
                    k=k,
                )
                entry = next(q for q in summary["questions"] if q["id"] == question.id)
                rows.append(
                    {
                        "event_id": event.event_id,
                        "title": event.title,
                        "starts_on": event.starts_on.isoformat(),
                        "wave_id": wave.wave_id,
                        "questionnaire": wave.questionnaire_id,
                        "n": entry["n"],
                        "agree_pct": entry.get("agree_pct"),
                        "ci95": entry.get("ci95"),
                        "suppressed": bool(entry.get("suppressed")),
                    }
                )
        return rows

    out: dict[str, Any] = {"indicator": indicator, "year": year, "waves": year_rows(year), "suppression_threshold": k}
    if compare_year is not None:
        out["compare_year"] = compare_year
        out["compare_waves"] = year_rows(compare_year)
    return out


def panel(store: Store, event_id: str, first_wave: str | None, second_wave: str | None, *, k: int) -> dict[str, Any]:
    """Attrition between two waves of an event, linked by the pseudonymous panel ID."""
    from chalicelib.domain.reporting import panel_comparison

    if not first_wave or not second_wave or first_wave == second_wave:
        raise ValidationFailed("from and to must name two different waves of the event")
    store.get_event(event_id)
    wave_a, questionnaire_a = _wave_and_questionnaire(store, event_id, first_wave)
    wave_b, _ = _wave_and_questionnaire(store, event_id, second_wave)
    result = panel_comparison(
        questionnaire_a, store.list_responses(wave_a.wave_id), store.list_responses(wave_b.wave_id), k
    )
    return {"event_id": event_id, "from": wave_a.wave_id, "to": wave_b.wave_id, **result}


def erase_participant(store: Store, participant_id: str, *, now: datetime) -> dict[str, Any]:
    """Erase one participant's personal data; the answers and aggregates stay, pseudonymised."""
    from chalicelib.domain.reporting import personal_strings, scrub

    participant = store.find_participant(participant_id)
    waves = store.list_waves(participant.event_id)
    # Their own free text first (while the name is still known): a name typed into a comment goes too.
    scrubbed = 0
    personal = personal_strings(participant.full_name or "", participant.email or "", participant.organisation or "")
    for wave in waves:
        questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
        texts = {q.id for q in questionnaire.questions if not q.closed}
        for _ in range(3):  # an edit landing meanwhile moves the version: read again
            response = store.get_response(wave.wave_id, participant_id)
            if response is None:
                break
            answers = {
                k: scrub(v, personal) if k in texts and isinstance(v, str) else v for k, v in response.answers.items()
            }
            if answers == response.answers:
                break
            if store.scrub_response(response, answers, now):
                scrubbed += 1
                break
    revoked = store.erase_participant(participant, [w.wave_id for w in waves], now)
    return {
        "participant_id": participant_id,
        "event_id": participant.event_id,
        "erased": True,
        "links_revoked": revoked,
        "answers_scrubbed": scrubbed,
    }

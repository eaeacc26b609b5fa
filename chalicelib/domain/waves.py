"""Wave use cases: create a wave, open it now ("send now"), what it has sent and what SES never confirmed, what
it still owes (the next send, the sending page's counts), the waves of an event in order, and the participants'
view of every wave."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain import catalogue
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import INVITATION, Invitation, Wave, is_manual, new_id
from chalicelib.domain.planning import plan_wave
from chalicelib.domain.ports import Store
from chalicelib.domain.schedule import closes_at, opening_reference, parse_wave_rules

_BEFORE_ANY = datetime.min.replace(tzinfo=UTC)


def waves_in_order(store: Store, event_id: str) -> list[Wave]:
    """The event's waves, oldest first: the order every page, report and comparison shows them in."""
    waves = [w for w in store.list_waves(event_id) if not w.event_ids]  # a series wave has its own page
    return sorted(waves, key=lambda w: (w.created_at or _BEFORE_ANY, w.wave_id))


def wave_names(store: Store, event_id: str, lang: str = "en") -> dict[str, str]:
    """Every wave of the event by ID, named as people read it (an admin's name, else the default in ``lang``)."""
    from chalicelib.domain.naming import wave_name

    event = store.get_event(event_id)
    return {
        w.wave_id: wave_name(event, w, catalogue.resolve(store, w.questionnaire_id, w.questionnaire_version), lang)
        for w in store.list_waves(event_id)
    }


def rename_wave(store: Store, event_id: str, wave_id: str, body: Any) -> dict[str, Any]:
    """Give a wave a name of its own, or (an empty or null name) go back to the default one."""
    from chalicelib.domain.naming import clean_name

    if not isinstance(body, dict) or "name" not in body:
        raise ValidationFailed('the body must be a JSON object with "name"')
    name = clean_name(body["name"])
    store.get_wave(event_id, wave_id)
    store.rename_wave(event_id, wave_id, name)
    return {**wave_view(store.get_wave(event_id, wave_id)), "name": wave_names(store, event_id)[wave_id]}


def latest_wave(store: Store, event_id: str) -> Wave:
    """The wave a summary or report shows when none is named: the newest."""
    waves = waves_in_order(store, event_id)
    if not waves:
        raise ValidationFailed("the event has no wave yet")
    return waves[-1]


def sending_started(wave: Wave, invitations: Sequence[Invitation]) -> bool:
    """The dates lock: once a wave opened or sent anything, the event's dates and time zone stay as they are."""
    return wave.opened_at is not None or any(inv.sent_kinds for inv in invitations)


def dates_locked(store: Store, event_id: str) -> bool:
    """Whether the event's dates and time zone can no longer change (``events.update_event`` refuses)."""
    return any(sending_started(w, store.list_invitations(w.wave_id)) for w in store.list_waves(event_id))


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
        "custom_name": wave.name,
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
        {"participant_id": inv.participant_id, "sent_at": inv.went_out_at.isoformat(), "status": inv.status}
        for inv in store.list_invitations(wave_id)
        if INVITATION in inv.sent_kinds
        and inv.went_out_at is not None
        and now - inv.went_out_at >= UNCONFIRMED_AFTER
        and not (inv.delivered_at or inv.bounced_at or inv.opened_at or inv.completed_at or inv.opted_out_at)
        and inv.status not in ("failed", "suppressed")
    ]
    return {
        "wave_id": wave_id,
        "older_than_minutes": int(UNCONFIRMED_AFTER.total_seconds() // 60),
        "count": len(rows),
        "participants": rows,
    }


# Sending progress: what the events list and the sending page show ------------------------------------


def next_send(store: Store, wave: Wave, now: datetime) -> datetime | None:
    """The earliest email still owed in the wave, None when nothing is or the wave has closed: one read of
    an index the store keeps up to date with every plan, send and reschedule, never a scan of invitations."""
    if wave.closes_at is not None and wave.closes_at <= now:
        return None
    return store.next_due(wave.wave_id)


def manual_reminders(store: Store, wave_id: str) -> int:
    """Reminders sent (or taken by the sender) outside the schedule, over the whole wave."""
    return sum(1 for inv in store.list_invitations(wave_id) for kind in inv.sent_kinds if is_manual(kind))


def reminders_owed(store: Store, wave_id: str, *, queued: int, before: int) -> int:
    """Of the ``queued`` reminders a "send reminders" put on the queue, when the wave had ``before`` manual
    reminders, those the sender has not taken yet."""
    return max(0, queued - (manual_reminders(store, wave_id) - before))


def invitations_owed(store: Store, wave_id: str, *, now: datetime) -> int:
    """Invitations due by now that the sender has not taken yet: not sent, not planned for later, and not
    refused (a suppressed address, a failed send)."""
    return sum(
        1
        for inv in store.list_invitations(wave_id)
        if INVITATION not in inv.sent_kinds
        and not (inv.due_kind == INVITATION and inv.due_at is not None and inv.due_at > now)
        and inv.status not in ("suppressed", "failed")
    )


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

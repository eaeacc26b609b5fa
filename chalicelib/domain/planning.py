"""Planning: the registration list matched and written, and each wave's invitations planned, each due at its
participant's local opening time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain import countries, registration
from chalicelib.domain.model import INVITATION, Event, Invitation, Participant, Wave
from chalicelib.domain.participants import ParsedList, merge_participants, parse_registration
from chalicelib.domain.ports import Store
from chalicelib.domain.schedule import invitation_due
from chalicelib.domain.tokens import panel_id


def region_and_income(code: str) -> tuple[str, str]:
    """The World Bank region and income group of a country code (``unknown`` for both when not listed)."""
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
    detected: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "invitations_planned": self.invitations_planned,
            "detected": self.detected,
        }


def read_list(upload: str | bytes, *, sheet: str | None = None, columns: Mapping[str, str] | None = None) -> ParsedList:
    """Validate a registration list (text already decoded, or the bytes of any accepted file)."""
    if isinstance(upload, str):
        table = registration.read_text_table(upload.removeprefix("\ufeff").encode("utf-8"))
        table.detected.pop("encoding", None)
    else:
        table = registration.read_table(upload, sheet=sheet)
    return parse_registration(table, countries.resolve, columns)


def prepare_import(
    store: Store,
    event_id: str,
    upload: str | bytes,
    *,
    secret: str,
    now: datetime,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> tuple[Event, ParsedList, Any]:
    """Validate the list and match it to the stored participants: (event, parsed list, merge). Pure work
    after one GetItem and one Query; nothing is written."""
    event = store.get_event(event_id)
    parsed = read_list(upload, sheet=sheet, columns=columns)
    existing = store.list_participants(event_id)
    merge = merge_participants(event_id, parsed.rows, existing, secret=secret, now=now, place=region_and_income)
    return event, parsed, merge


def write_participants(
    store: Store, event: Event, participants: Sequence[Participant], *, panel_secret: str, now: datetime
) -> int:
    """Write whole participants (never half a row), then plan their invitations in the live waves. A participant
    erased since the list was read (a chunk queued before the erasure, say) is neither written nor invited."""
    if not participants:
        return 0
    refused = set(store.put_participants(participants))
    participants = [p for p in participants if p.participant_id not in refused]
    planned = 0
    for wave in store.list_waves(event.event_id):
        if wave.status != "closed" and not wave.event_ids:  # a series wave invites each person once, when planned
            planned += plan_wave(store, event, wave, panel_secret=panel_secret, now=now, only=participants)
    return planned


def import_participants(
    store: Store,
    event_id: str,
    upload: str | bytes,
    *,
    secret: str,
    panel_secret: str,
    now: datetime,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> ImportReport:
    """Import the registration list idempotently, then plan invitations for the event's live waves."""
    event, parsed, merge = prepare_import(store, event_id, upload, secret=secret, now=now, sheet=sheet, columns=columns)
    planned = write_participants(store, event, merge.to_write, panel_secret=panel_secret, now=now)
    return ImportReport(
        merge.imported, merge.updated + merge.unchanged, merge.unchanged, parsed.rejected, planned, parsed.detected
    )


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

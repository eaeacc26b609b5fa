"""MemoryStore: the store's ports kept in dictionaries, for use-case tests that need no AWS.

It is the twin of ``DynamoStore`` and keeps its observable behaviour, which ``tests/integration/
test_store_contract.py`` checks against both: the same conditions and outcomes for every claim, submit and
outcome; the same rounding (instants kept as ISO text in DynamoDB lose their microseconds); the same order of
every list; the same not-found errors. Reads and writes hand out copies, so a caller that mutates what it read
changes nothing stored, as with DynamoDB. One lock makes every method atomic, as a transaction is; it cannot
show DynamoDB's concurrency (for that, the transaction-conflict emulator on moto).

It is one module of about 500 lines, not one per aggregate as ``DynamoStore`` is, on purpose: the twin is read
beside the contract suite, method by method, and its aggregates share one set of dictionaries under one lock.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalicelib.adapters.outcomes import OutcomeMarks
from chalicelib.domain.cells import spread
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.model import (
    INVITATION,
    SERIES_HOME,
    CloseRule,
    Event,
    ImportJob,
    Invitation,
    OpenRule,
    Participant,
    Response,
    Share,
    TokenGrant,
    Wave,
)
from chalicelib.domain.openlinks import OpenLink
from chalicelib.domain.ports import ClaimOutcome, Deltas, LinkState, SendingRead, Store, SubmitOutcome

T = TypeVar("T")


def _copy(value: T) -> T:
    return copy.deepcopy(value)


def _utc(value: datetime | None) -> datetime | None:
    """A timestamp as DynamoStore reads it back (UTCDateTimeAttribute: UTC, microseconds kept)."""
    return None if value is None else value.astimezone(UTC)


def _second(value: datetime | None) -> datetime | None:
    """An instant as DynamoStore reads it back when it keeps it as ISO text (due times, wave rules)."""
    return None if value is None else value.astimezone(UTC).replace(microsecond=0)


def _open(wave: Wave | None, now: datetime) -> bool:
    """The condition every claim and submit checks: the wave's closing second is still ahead."""
    return wave is not None and wave.closes_at is not None and int(wave.closes_at.timestamp()) > int(now.timestamp())


@dataclass
class _InvitationRow:
    invitation: Invitation
    token_hashes: set[str] = field(default_factory=set)


class MemoryStore(OutcomeMarks):
    """Implements every store port (``domain.ports.Store``) in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._events: dict[str, Event] = {}
        self._imports: dict[tuple[str, str], ImportJob] = {}
        self._chunks: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        self._uploads: dict[tuple[str, str], tuple[bytes, datetime]] = {}
        self._mappings: dict[str, dict[str, str]] = {}
        self._participants: dict[tuple[str, str], Participant] = {}
        self._waves: dict[tuple[str, str], Wave] = {}
        self._invitations: dict[tuple[str, str], _InvitationRow] = {}
        self._responses: dict[tuple[str, str], Response] = {}
        self._cells: dict[str, dict[str, dict[str, int]]] = {}
        self._open_links: dict[str, OpenLink] = {}
        self._hits: dict[str, int] = {}
        self._suppressions: dict[str, tuple[str, datetime]] = {}
        self._tokens: dict[str, TokenGrant] = {}
        self._shares: dict[str, Share] = {}
        self._questionnaires: dict[tuple[str, int], str] = {}

    # Events --------------------------------------------------------------------------------------
    def put_event(self, event: Event) -> None:
        with self._lock:
            self._events[event.event_id] = replace(
                _copy(event), languages=list(event.languages), created_at=_utc(event.created_at)
            )

    def get_event(self, event_id: str) -> Event:
        with self._lock:
            if event_id not in self._events:
                raise NotFound("event not found")
            return _copy(self._events[event_id])

    def list_events(self) -> list[Event]:
        with self._lock:
            return sorted(_copy(list(self._events.values())), key=lambda e: (e.starts_on, e.event_id))

    def events_in_year(self, year: int) -> list[Event]:
        return [e for e in self.list_events() if e.starts_on.year == year]

    # Background imports --------------------------------------------------------------------------
    def put_import(self, job: ImportJob, expires_at: datetime) -> None:
        with self._lock:
            stored = _copy(job)
            stored.rejected = json.loads(json.dumps(job.rejected))
            stored.created_at = _utc(job.created_at)  # type: ignore[assignment]
            stored.finished_at = _utc(job.finished_at)
            stored.progressed_at = None
            if stored.status not in ("running", "done", "failed"):
                stored.status = "failed"
            self._imports[(job.event_id, job.import_id)] = stored

    def get_import(self, event_id: str, import_id: str) -> ImportJob:
        with self._lock:
            if (event_id, import_id) not in self._imports:
                raise NotFound("import not found")
            return _copy(self._imports[(event_id, import_id)])

    def list_imports(self, event_id: str, limit: int = 5) -> list[ImportJob]:
        with self._lock:
            mine = [job for (eid, _), job in self._imports.items() if eid == event_id]
            return _copy(sorted(mine, key=lambda j: j.import_id, reverse=True)[:limit])

    def mark_import_chunk(
        self, event_id: str, import_id: str, chunk: int, planned: int, now: datetime
    ) -> ImportJob | None:
        with self._lock:
            job = self._imports.get((event_id, import_id))
            if job is None:
                return None
            job.done_chunks = job.done_chunks | {chunk}
            job.invitations_planned += planned
            job.progressed_at = _utc(now)
            if job.status == "running" and len(job.done_chunks) >= job.chunks:
                self.finish_import(event_id, import_id, "done", now)
            return _copy(job)

    def finish_import(self, event_id: str, import_id: str, status: str, now: datetime) -> None:
        with self._lock:
            job = self._imports.get((event_id, import_id))
            if job is not None and job.status == "running":
                job.status = status  # type: ignore[assignment]
                job.finished_at = _utc(now)

    def put_import_chunks(
        self, event_id: str, import_id: str, chunks: Sequence[Sequence[Mapping[str, Any]]], expires_at: datetime
    ) -> None:
        with self._lock:
            for number, records in enumerate(chunks):
                self._chunks[(event_id, import_id, number)] = json.loads(json.dumps(list(records)))

    def import_chunk(self, event_id: str, import_id: str, chunk: int) -> list[dict[str, Any]] | None:
        with self._lock:
            records = self._chunks.get((event_id, import_id, chunk))
            return None if records is None else json.loads(json.dumps(records))

    def drop_import_chunk(self, event_id: str, import_id: str, chunk: int) -> None:
        with self._lock:
            self._chunks.pop((event_id, import_id, chunk), None)

    def scrub_import_chunks(self, event_id: str, participant_id: str) -> int:
        with self._lock:
            changed = 0
            for (eid, _, _), records in self._chunks.items():
                kept = [r for r in records if r.get("participant_id") != participant_id]
                if eid == event_id and len(kept) != len(records):
                    records[:] = kept
                    changed += 1
            return changed

    def put_upload(self, event_id: str, upload_id: str, sealed: bytes, expires_at: datetime) -> None:
        with self._lock:
            self._uploads[(event_id, upload_id)] = (bytes(sealed), expires_at)

    def get_upload(self, event_id: str, upload_id: str, now: datetime) -> bytes | None:
        with self._lock:
            found = self._uploads.get((event_id, upload_id))
            return found[0] if found is not None and now < found[1] else None

    def drop_upload(self, event_id: str, upload_id: str) -> None:
        with self._lock:
            self._uploads.pop((event_id, upload_id), None)

    def put_import_mapping(self, event_id: str, mapping: Mapping[str, str]) -> None:
        with self._lock:
            self._mappings[event_id] = dict(mapping)

    def import_mapping(self, event_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._mappings.get(event_id, {}))

    # Participants --------------------------------------------------------------------------------
    def list_participants(self, event_id: str) -> list[Participant]:
        with self._lock:
            mine = [p for (eid, _), p in self._participants.items() if eid == event_id]
            return _copy(sorted(mine, key=lambda p: p.participant_id))

    def get_participant(self, event_id: str, participant_id: str) -> Participant:
        with self._lock:
            if (event_id, participant_id) not in self._participants:
                raise NotFound("participant not found")
            return _copy(self._participants[(event_id, participant_id)])

    def put_participants(self, participants: Iterable[Participant]) -> list[str]:
        refused: list[str] = []
        with self._lock:
            for p in participants:
                if p.created_at is None or p.updated_at is None:  # required attributes in DynamoStore's table
                    raise ValueError("a participant needs created_at and updated_at")
                current = self._participants.get((p.event_id, p.participant_id))
                if current is not None and current.erased_at is not None and not current.erased_at < p.updated_at:
                    refused.append(p.participant_id)  # erased since this version was made
                    continue
                stored = replace(
                    _copy(p),
                    created_at=_utc(p.created_at),
                    updated_at=_utc(p.updated_at),
                    erased_at=_utc(p.erased_at),
                    opted_out_at=_utc(p.opted_out_at),
                )
                self._participants[(p.event_id, p.participant_id)] = stored
        return refused

    def find_participant(self, participant_id: str) -> Participant:
        with self._lock:
            for (_, pid), p in sorted(self._participants.items()):
                if pid == participant_id:
                    return _copy(p)
        raise NotFound("participant not found")

    # Waves ---------------------------------------------------------------------------------------
    def rename_wave(self, event_id: str, wave_id: str, name: str | None) -> None:
        with self._lock:
            if (event_id, wave_id) not in self._waves:
                raise NotFound("wave not found")
            self._waves[(event_id, wave_id)].name = name

    def put_wave(self, wave: Wave) -> None:
        with self._lock:
            opens = (
                OpenRule(at=_second(wave.opens.at))
                if wave.opens.at is not None
                else OpenRule(after_event_days=wave.opens.after_event_days, local_time=wave.opens.local_time)
            )
            closes = (
                CloseRule(at=_second(wave.closes.at))
                if wave.closes.at
                else CloseRule(after_open_days=wave.closes.after_open_days)
            )
            for home in [SERIES_HOME, *wave.event_ids] if wave.event_ids else [wave.event_id]:
                self._waves[(home, wave.wave_id)] = replace(
                    _copy(wave),
                    event_id=home,
                    opens=opens,
                    closes=closes,
                    reminders_after_days=list(wave.reminders_after_days),
                    opened_at=_utc(wave.opened_at),
                    closes_at=_utc(wave.closes_at),
                    created_at=_utc(wave.created_at),
                    event_ids=list(wave.event_ids),
                )

    def get_wave(self, event_id: str, wave_id: str) -> Wave:
        with self._lock:
            if (event_id, wave_id) not in self._waves:
                raise NotFound("wave not found")
            return _copy(self._waves[(event_id, wave_id)])

    def get_wave_cached(self, event_id: str, wave_id: str) -> Wave:
        return self.get_wave(event_id, wave_id)  # nothing to save: the twin reads memory

    def list_waves(self, event_id: str) -> list[Wave]:
        with self._lock:
            mine = [w for (eid, _), w in self._waves.items() if eid == event_id]
            return _copy(sorted(mine, key=lambda w: w.wave_id))

    # Invitations ---------------------------------------------------------------------------------
    def create_invitations(self, invitations: Iterable[Invitation]) -> int:
        created = 0
        with self._lock:
            for inv in invitations:
                key = (inv.wave_id, inv.participant_id)
                if key in self._invitations:
                    continue
                due = _second(inv.due_at)
                self._invitations[key] = _InvitationRow(
                    Invitation(
                        wave_id=inv.wave_id,
                        participant_id=inv.participant_id,
                        event_id=inv.event_id,
                        cells={k: str(v) for k, v in inv.cells.items()},
                        language=inv.language,
                        timezone=inv.timezone,
                        email_key=inv.email_key,
                        panel_id=inv.panel_id,
                        due_at=due,
                        due_kind=inv.due_kind,
                        went_out_at=due,
                        status=inv.status,
                    )
                )
                created += 1
        return created

    def list_invitations(self, wave_id: str) -> list[Invitation]:
        with self._lock:
            mine = [row.invitation for (wid, _), row in self._invitations.items() if wid == wave_id]
            return _copy(sorted(mine, key=lambda i: i.participant_id))

    def get_invitation(self, wave_id: str, participant_id: str) -> Invitation:
        with self._lock:
            row = self._invitations.get((wave_id, participant_id))
            if row is None:
                raise NotFound("invitation not found")
            return _copy(row.invitation)

    def open_link(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> LinkState:
        with self._lock:
            row = self._invitations.get((wave_id, participant_id))
            if row is None:
                raise NotFound("invitation not found")
            inv = row.invitation
            first = inv.opened_at is None
            if first:
                inv.opened_at = _utc(now)
                self._count(wave_id, spread(cells, {"f:opened": 1}))
            return LinkState(
                first_open=first, opted_out=inv.opted_out_at is not None, completed=inv.completed_at is not None
            )

    def due_invitations(self, now: datetime, limit: int) -> Iterator[Invitation]:
        cutoff = _second(now)
        assert cutoff is not None
        with self._lock:
            due = [
                row.invitation
                for row in self._invitations.values()
                if row.invitation.due_at is not None and row.invitation.due_at <= cutoff
            ]
            due.sort(key=lambda i: (i.due_at, i.wave_id, i.participant_id))
            page = _copy(due[:limit])
        yield from page

    def next_due(self, wave_id: str) -> datetime | None:
        with self._lock:
            return min(
                (
                    row.invitation.due_at
                    for (wid, _), row in self._invitations.items()
                    if wid == wave_id and row.invitation.due_at is not None
                ),
                default=None,
            )

    def reschedule(
        self, invitation: Invitation, kind: str | None, due: datetime | None, anchor: datetime | None = None
    ) -> None:
        with self._lock:
            row = self._invitations.get((invitation.wave_id, invitation.participant_id))
            if row is None:
                return
            inv = row.invitation
            if kind is None or due is None:
                inv.due_at, inv.due_kind = None, None
            else:
                inv.due_at, inv.due_kind = _second(due), kind
            if anchor is not None:
                inv.went_out_at = _second(anchor)

    def move_invitation(self, invitation: Invitation, due: datetime, timezone: str) -> bool:
        with self._lock:
            row = self._invitations.get((invitation.wave_id, invitation.participant_id))
            if row is None or row.invitation.due_kind != INVITATION or row.invitation.sent_kinds:
                return False
            row.invitation.due_at = row.invitation.went_out_at = _second(due)
            row.invitation.timezone = timezone
            return True

    def set_due_now(self, wave_id: str, participant_ids: Iterable[str], now: datetime) -> None:
        with self._lock:
            for pid in participant_ids:
                row = self._invitations.get((wave_id, pid))
                if row is not None and row.invitation.due_kind == INVITATION:
                    row.invitation.due_at = _second(now)

    def went_out_at(self, wave_id: str, participant_id: str) -> datetime | None:
        with self._lock:
            row = self._invitations.get((wave_id, participant_id))
            return None if row is None else row.invitation.went_out_at

    # Sending -------------------------------------------------------------------------------------
    def read_for_sending(self, event_id: str, wave_id: str, participant_id: str) -> SendingRead:
        with self._lock:
            row = self._invitations.get((wave_id, participant_id))
            return SendingRead(
                invitation=_copy(row.invitation) if row is not None else None,
                participant=_copy(self._participants.get((event_id, participant_id))),
                wave=_copy(self._waves.get((event_id, wave_id))),
                event=_copy(self._events.get(event_id)),
            )

    def claim(self, token: TokenGrant, *, email_key: str, now: datetime) -> ClaimOutcome:
        wave_id, participant_id, kind = token.wave_id, token.participant_id, token.kind
        with self._lock:
            person = self._participants.get((token.event_id, participant_id))
            if person is not None and person.erased_at is not None:
                return ClaimOutcome.ERASED
            row = self._invitations.get((wave_id, participant_id))
            inv = row.invitation if row else None
            if (
                row is None
                or inv is None
                or inv.opted_out_at is not None
                or inv.bounced_at is not None
                or kind in inv.sent_kinds
                or (kind != INVITATION and inv.completed_at is not None)
            ):
                return ClaimOutcome.ALREADY
            if email_key in self._suppressions:
                return ClaimOutcome.SUPPRESSED
            if not _open(self._waves.get((token.event_id, wave_id)), now):
                return ClaimOutcome.CLOSED
            if token.token_hash in self._tokens:
                raise Conflict("this link token is stored already")
            inv.sent_kinds.add(kind)
            row.token_hashes.add(token.token_hash)
            if kind == INVITATION:  # a reminder leaves "delivered" or "opened" as they are
                inv.status = "sent"
                self._count(wave_id, spread(token.cells, {"f:invited": 1}))
            stored = _copy(token)
            stored.cells = {k: str(v) for k, v in token.cells.items()}
            stored.expires_at = _second(token.expires_at)  # a TTL attribute keeps epoch seconds
            self._tokens[token.token_hash] = stored
            return ClaimOutcome.CLAIMED

    def release(
        self, *, wave_id: str, participant_id: str, kind: str, token_hash: str, cells: Mapping[str, str]
    ) -> None:
        with self._lock:
            row = self._invitations.get((wave_id, participant_id))
            if row is None or kind not in row.invitation.sent_kinds:
                raise Conflict(f"no {kind} claim to release")
            row.invitation.sent_kinds.discard(kind)
            if kind == INVITATION:
                row.invitation.status = "pending"
                self._count(wave_id, spread(cells, {"f:invited": -1}))
            self._tokens.pop(token_hash, None)

    def _mark(
        self,
        *,
        wave_id: str,
        participant_id: str,
        cells: Mapping[str, str],
        status: str | None,
        counter: str,
        reason: str | None = None,
        only_once_field: str | None = None,
        now: datetime | None = None,
        once_per_status: bool = False,
        also_count: tuple[str, ...] = (),
        unless_sent: str | None = None,
    ) -> bool:
        with self._lock:
            row = self._invitations.get((wave_id, participant_id))
            if row is None:
                return False
            inv = row.invitation
            if once_per_status and status is not None and inv.status == status:
                return False
            if unless_sent is not None and unless_sent in inv.sent_kinds:
                return False
            if only_once_field is not None and getattr(inv, only_once_field) is not None:
                return False
            if status is not None:
                inv.status = status
            if reason is not None:
                inv.failed_reason = reason[:200]
            if only_once_field is not None:
                setattr(inv, only_once_field, _utc(now))
            self._count(wave_id, spread(cells, {f"f:{name}": 1 for name in (counter, *also_count)}))
            return True

    # Erasure -------------------------------------------------------------------------------------
    def scrub_response(self, response: Response, answers: Mapping[str, Any], now: datetime) -> bool:
        with self._lock:
            stored = self._responses.get((response.wave_id, response.participant_id))
            if stored is None or stored.version != response.version:
                return False
            stored.answers = _copy(dict(answers))
            stored.version = response.version + 1
            stored.updated_at = _utc(now)
            return True

    def erase_participant(self, participant: Participant, wave_ids: Iterable[str], now: datetime) -> int:
        with self._lock:
            stored = self._participants.get((participant.event_id, participant.participant_id))
            if stored is None:
                raise NotFound("participant not found")
            stored.email = stored.full_name = stored.organisation = ""
            stored.erased_at = _utc(now)
            revoked: set[str] = set()
            for wave_id in wave_ids:
                row = self._invitations.get((wave_id, participant.participant_id))
                if row is None:
                    continue
                revoked |= row.token_hashes
                row.token_hashes = set()
                row.invitation.due_at = row.invitation.due_kind = None
            for token_hash in revoked:
                self._tokens.pop(token_hash, None)
            return len(revoked)

    def revoke_invitation(self, wave_id: str, participant_id: str, now: datetime) -> int:
        with self._lock:
            row = self._invitations.get((wave_id, participant_id))
            if row is None:
                return 0
            revoked = set(row.token_hashes)
            row.token_hashes = set()
            row.invitation.due_at = row.invitation.due_kind = None
            row.invitation.opted_out_at = row.invitation.opted_out_at or _utc(now)
            for token_hash in revoked:
                self._tokens.pop(token_hash, None)
            return len(revoked)

    # Suppressions --------------------------------------------------------------------------------
    def suppress(self, email_key: str, reason: str, now: datetime) -> bool:
        with self._lock:
            if email_key in self._suppressions:
                return False
            self._suppressions[email_key] = (reason, now)
            return True

    # Shared report links -------------------------------------------------------------------------
    def put_share(self, share: Share) -> None:
        with self._lock:
            self._shares[share.token_hash] = _copy(share)

    def get_share(self, token_hash: str) -> Share | None:
        with self._lock:
            share = self._shares.get(token_hash)
            if share is None or share.expires_at <= datetime.now(UTC):
                return None
            return _copy(share)

    def list_shares(self, event_id: str) -> list[Share]:
        with self._lock:
            now = datetime.now(UTC)
            mine = [s for s in self._shares.values() if s.event_id == event_id and s.expires_at > now]
            return _copy(sorted(mine, key=lambda s: (s.created_at, s.share_id)))

    def delete_share(self, event_id: str, share_id: str) -> bool:
        with self._lock:
            for share in self.list_shares(event_id):
                if share.share_id == share_id:
                    del self._shares[share.token_hash]
                    return True
            return False

    def count_share_view(self, token_hash: str) -> None:
        with self._lock:
            if token_hash in self._shares:
                self._shares[token_hash].views += 1

    # Tokens and responses ------------------------------------------------------------------------
    def get_token(self, token_hash: str) -> TokenGrant | None:
        with self._lock:
            token = self._tokens.get(token_hash)
            if token is None or (token.expires_at is not None and token.expires_at <= datetime.now(UTC)):
                return None
            return _copy(token)

    def put_open_link(self, link: OpenLink) -> None:
        with self._lock:
            self._open_links[link.token_hash] = _copy(link)

    def get_open_link(self, token_hash: str) -> OpenLink | None:
        with self._lock:
            return _copy(self._open_links.get(token_hash))

    def count_hit(self, key: str, expires_at: datetime) -> int:
        with self._lock:
            self._hits[key] = self._hits.get(key, 0) + 1
            return self._hits[key]

    def put_card_tokens(self, grants: Sequence[TokenGrant], now: datetime) -> int:
        new = 0
        with self._lock:
            for grant in grants:
                row = self._invitations.get((grant.wave_id, grant.participant_id))
                if row is None or grant.token_hash in self._tokens:
                    continue
                stored = _copy(grant)
                stored.expires_at = _second(grant.expires_at)
                self._tokens[grant.token_hash] = stored
                row.token_hashes.add(grant.token_hash)
                new += 1
        return new

    def get_response(self, wave_id: str, participant_id: str) -> Response | None:
        with self._lock:
            return _copy(self._responses.get((wave_id, participant_id)))

    def list_responses(self, wave_id: str) -> Iterator[Response]:
        with self._lock:
            mine = [r for (wid, _), r in self._responses.items() if wid == wave_id]
            page = _copy(sorted(mine, key=lambda r: r.participant_id))
        yield from page

    def store_response(
        self,
        response: Response,
        *,
        previous: Response | None,
        deltas: Deltas,
        now: datetime,
    ) -> SubmitOutcome:
        with self._lock:
            key = (response.wave_id, response.participant_id)
            row = self._invitations.get(key)
            if row is None or row.invitation.opted_out_at is not None:
                return SubmitOutcome.OPTED_OUT
            stored = self._responses.get(key)
            if (previous is None and stored is not None) or (
                previous is not None and (stored is None or stored.version != previous.version)
            ):
                return SubmitOutcome.STALE
            self._responses[key] = replace(
                _copy(response), submitted_at=_utc(response.submitted_at), updated_at=_utc(now)
            )
            if previous is None:
                row.invitation.completed_at = _utc(now)
                row.invitation.status = "completed"
            self._count(response.wave_id, deltas)
            return SubmitOutcome.STORED

    def store_anonymous_response(self, response: Response, *, deltas: Deltas, now: datetime) -> SubmitOutcome:
        with self._lock:
            key = (response.wave_id, response.participant_id)
            if key in self._responses:
                return SubmitOutcome.STALE
            self._responses[key] = replace(
                _copy(response), submitted_at=_utc(response.submitted_at), updated_at=_utc(now)
            )
            self._count(response.wave_id, deltas)
            return SubmitOutcome.STORED

    # Aggregates ----------------------------------------------------------------------------------
    def _count(self, wave_id: str, per_cell: Deltas) -> None:
        cells = self._cells.setdefault(wave_id, {})
        for cell, deltas in per_cell.items():
            moved = {name: delta for name, delta in deltas.items() if delta}
            if not moved:
                continue
            counters = cells.setdefault(cell, {})
            for name, delta in moved.items():
                counters[name] = counters.get(name, 0) + delta

    def read_cells(self, wave_id: str, dimension: str) -> dict[str, dict[str, int]]:
        prefix = f"{dimension}#"
        with self._lock:
            cells = self._cells.get(wave_id, {})
            return {cell[len(prefix) :]: dict(c) for cell, c in sorted(cells.items()) if cell.startswith(prefix)}

    # Questionnaires ------------------------------------------------------------------------------
    def get_questionnaire_definition(self, questionnaire_id: str, version: int) -> dict[str, Any] | None:
        with self._lock:
            text = self._questionnaires.get((questionnaire_id, version))
        if text is None:
            return None
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def put_questionnaire_definition(self, questionnaire_id: str, version: int, definition: str, now: datetime) -> None:
        with self._lock:
            if (questionnaire_id, version) in self._questionnaires:
                raise Conflict(f"questionnaire {questionnaire_id} version {version} already exists")
            self._questionnaires[(questionnaire_id, version)] = definition

    def list_questionnaire_definitions(self) -> list[dict[str, Any]]:
        with self._lock:
            texts = [text for _, text in sorted(self._questionnaires.items())]
        return [json.loads(text) for text in texts]


def _conforms(memory: MemoryStore) -> Store:
    return memory  # mypy --strict checks here that the twin implements every port

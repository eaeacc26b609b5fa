"""DynamoDB repositories over the PynamoDB models in ``tables``. Every write that must be atomic is one
TransactWriteItems call; every read a summary needs is one Query."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import tables as t
from chalicelib.adapters.outcomes import OutcomeMarks
from chalicelib.domain.cells import spread
from chalicelib.domain.errors import Conflict, NotFound, TemporarilyUnavailable
from chalicelib.domain.model import (
    CloseRule,
    Event,
    ImportJob,
    Invitation,
    OpenRule,
    Participant,
    Response,
    TokenGrant,
    Wave,
)
from chalicelib.domain.ports import ClaimOutcome, Deltas, SubmitOutcome
from chalicelib.domain.schedule import parse_instant

UTC = UTC
DUE_SHARD = "due"
_THROTTLES = ("ProvisionedThroughputExceeded", "ThrottlingException", "RequestLimitExceeded")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _throttled(exc: Exception) -> bool:
    text = f"{getattr(exc, 'cause_response_code', '')} {exc}"
    return any(code in text for code in _THROTTLES)


def _reasons(exc: TransactWriteError) -> list[str]:
    return [(r.code if r is not None else "None") or "None" for r in (exc.cancellation_reasons or [])]


def _raw(value: Any) -> Any:
    """Plain Python from a raw MapAttribute (PynamoDB returns MapAttribute for nested maps)."""
    if isinstance(value, t.MapAttribute):
        return {k: _raw(v) for k, v in value.as_dict().items()}
    if isinstance(value, dict):
        return {k: _raw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_raw(v) for v in value]
    return value


_BUSY = ("ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict", "RequestLimitExceeded")


class Tx:
    """A PynamoDB transaction that remembers which item each position is, so a cancellation can be read.

    PynamoDB sends condition checks, then deletes, then puts, then updates, whatever the call order.
    """

    def __init__(self) -> None:
        self.tx = TransactWrite(connection=t.connection())
        self.groups: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def __enter__(self) -> Tx:
        self.tx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.tx.__exit__(*exc)

    def check(self, label: str, model: Any, hash_key: str, range_key: str | None = None, *, condition: Any) -> None:
        self.groups["check"].append(label)
        self.tx.condition_check(model, hash_key, range_key, condition=condition)

    def delete(self, label: str, item: Any) -> None:
        self.groups["delete"].append(label)
        self.tx.delete(item)

    def save(self, label: str, item: Any, *, condition: Any = None) -> None:
        self.groups["put"].append(label)
        self.tx.save(item, condition=condition)

    def update(self, label: str, item: Any, *, actions: list[Any], condition: Any = None) -> None:
        self.groups["update"].append(label)
        self.tx.update(item, actions=actions, condition=condition)

    def counters(self, wave_id: str, per_cell: Mapping[str, Mapping[str, int]]) -> None:
        for cell, deltas in per_cell.items():
            actions = [Path([name]).add(delta) for name, delta in sorted(deltas.items()) if delta]
            if actions:
                self.update("aggregate", t.AggregateItem(wave_id, cell), actions=actions)

    def failed(self, exc: TransactWriteError) -> set[str]:
        """Labels whose condition failed; raises TemporarilyUnavailable when the cause was load."""
        order = self.groups["check"] + self.groups["delete"] + self.groups["put"] + self.groups["update"]
        codes = _reasons(exc)
        if any(code in _BUSY for code in codes) or (not codes and _throttled(exc)):
            raise TemporarilyUnavailable("the database is busy; try again") from exc
        return {label for label, code in zip(order, codes, strict=False) if code == "ConditionalCheckFailed"}


class DynamoStore(OutcomeMarks):
    """Implements the domain's repository ports against the stage's DynamoDB tables."""

    # Events --------------------------------------------------------------------------------------
    def put_event(self, event: Event) -> None:
        t.EventItem(
            event.event_id,
            title=event.title,
            theme=event.theme,
            venue=event.venue,
            timezone=event.timezone,
            starts_on=event.starts_on.isoformat(),
            ends_on=event.ends_on.isoformat(),
            year=str(event.starts_on.year),
            languages=list(event.languages),
            created_at=event.created_at,
        ).save()

    def get_event(self, event_id: str) -> Event:
        try:
            item = t.EventItem.get(event_id)
        except DoesNotExist:
            raise NotFound("event not found") from None
        return self._event(item)

    def list_events(self) -> list[Event]:
        # The events table holds a few rows a year; a Scan here is cheaper than a constant-key index.
        return sorted((self._event(i) for i in t.EventItem.scan()), key=lambda e: (e.starts_on, e.event_id))

    def events_in_year(self, year: int) -> list[Event]:
        return [self._event(i) for i in t.EventItem.by_year.query(str(year))]

    @staticmethod
    def _event(item: t.EventItem) -> Event:
        return Event(
            event_id=item.event_id,
            title=item.title,
            theme=item.theme,
            venue=item.venue,
            timezone=item.timezone,
            starts_on=date.fromisoformat(item.starts_on),
            ends_on=date.fromisoformat(item.ends_on),
            languages=list(item.languages or []),
            created_at=item.created_at,
        )

    # Background imports --------------------------------------------------------------------------
    def put_import(self, job: ImportJob, expires_at: datetime) -> None:
        t.ImportItem(
            job.event_id,
            job.import_id,
            status=job.status,
            rows=job.rows,
            chunk_rows=job.chunk_rows,
            imported=job.imported,
            updated=job.updated,
            unchanged=job.unchanged,
            rejected=json.dumps(job.rejected, separators=(",", ":")),
            rejected_count=job.rejected_count,
            done_chunks=set(job.done_chunks) or None,
            invitations_planned=job.invitations_planned,
            created_at=job.created_at,
            finished_at=job.finished_at,
            expires_at=expires_at,
        ).save()

    def get_import(self, event_id: str, import_id: str) -> ImportJob:
        try:
            return self._import(t.ImportItem.get(event_id, import_id, consistent_read=True))
        except DoesNotExist:
            raise NotFound("import not found") from None

    def list_imports(self, event_id: str, limit: int = 5) -> list[ImportJob]:
        """The event's latest imports, newest first (import ids sort by start time)."""
        items = t.ImportItem.query(event_id, scan_index_forward=False, limit=limit)
        return [self._import(i) for i in items]

    def mark_import_chunk(
        self, event_id: str, import_id: str, chunk: int, planned: int, now: datetime
    ) -> ImportJob | None:
        """Record one written chunk (idempotent: a set); the last one marks the job done. None when the
        job no longer exists (expired)."""
        item = t.ImportItem(event_id, import_id)
        try:
            item.update(
                actions=[
                    t.ImportItem.done_chunks.add({chunk}),
                    t.ImportItem.invitations_planned.add(planned),
                    t.ImportItem.progressed_at.set(now),
                ],
                condition=t.ImportItem.import_id.exists(),
            )
        except UpdateError as exc:
            if _throttled(exc):
                raise TemporarilyUnavailable("the database is busy; try again") from exc
            if "ConditionalCheckFailed" in str(exc):
                return None
            raise
        job = self._import(item)
        if job.status == "running" and len(job.done_chunks) >= job.chunks:
            self.finish_import(event_id, import_id, "done", now)
            job.status, job.finished_at = "done", now
        return job

    def finish_import(self, event_id: str, import_id: str, status: str, now: datetime) -> None:
        """Move a running job to ``done`` or ``failed``, once."""
        try:
            t.ImportItem(event_id, import_id).update(
                actions=[t.ImportItem.status.set(status), t.ImportItem.finished_at.set(now)],
                condition=t.ImportItem.status == "running",
            )
        except UpdateError as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise

    @staticmethod
    def _import(item: t.ImportItem) -> ImportJob:
        status = item.status if item.status in ("running", "done", "failed") else "failed"
        return ImportJob(
            event_id=item.event_id,
            import_id=item.import_id,
            rows=int(item.rows),
            chunk_rows=int(item.chunk_rows),
            imported=int(item.imported),
            updated=int(item.updated),
            unchanged=int(item.unchanged),
            rejected=json.loads(item.rejected or "[]"),
            rejected_count=int(item.rejected_count),
            created_at=item.created_at,
            status=status,  # type: ignore[arg-type]
            done_chunks=frozenset(int(n) for n in (item.done_chunks or ())),
            invitations_planned=int(item.invitations_planned or 0),
            finished_at=item.finished_at,
            progressed_at=item.progressed_at,
        )

    # Participants --------------------------------------------------------------------------------
    def list_participants(self, event_id: str) -> list[Participant]:
        return [self._participant(i) for i in t.ParticipantItem.query(event_id)]

    def get_participant(self, event_id: str, participant_id: str) -> Participant:
        try:
            return self._participant(t.ParticipantItem.get(event_id, participant_id))
        except DoesNotExist:
            raise NotFound("participant not found") from None

    def put_participants(self, participants: Iterable[Participant]) -> None:
        with t.ParticipantItem.batch_write() as batch:
            for p in participants:
                batch.save(
                    t.ParticipantItem(
                        p.event_id,
                        p.participant_id,
                        email=p.email,
                        email_key=p.email_key,
                        full_name=p.full_name,
                        organisation=p.organisation,
                        stakeholder_group=p.stakeholder_group,
                        country=p.country,
                        region=p.region,
                        income_group=p.income_group,
                        language=p.language,
                        timezone=p.timezone,
                        sponsored=p.sponsored,
                        created_at=p.created_at,
                        updated_at=p.updated_at,
                        erased_at=p.erased_at,
                        opted_out_at=p.opted_out_at,
                    )
                )

    @staticmethod
    def _participant(item: t.ParticipantItem) -> Participant:
        return Participant(
            event_id=item.event_id,
            participant_id=item.participant_id,
            email=item.email or "",
            full_name=item.full_name or "",
            organisation=item.organisation or "",
            stakeholder_group=item.stakeholder_group,
            country=item.country,
            language=item.language,
            timezone=item.timezone,
            sponsored=bool(item.sponsored),
            email_key=item.email_key,
            region=item.region,
            income_group=item.income_group,
            created_at=item.created_at,
            updated_at=item.updated_at,
            erased_at=item.erased_at,
            opted_out_at=item.opted_out_at,
        )

    # Waves ---------------------------------------------------------------------------------------
    def put_wave(self, wave: Wave) -> None:
        opens: dict[str, Any] = {}
        if wave.opens.at is not None:
            opens["at"] = _iso(wave.opens.at)
        else:
            opens.update(after_event_days=wave.opens.after_event_days, local_time=wave.opens.local_time)
        closes: dict[str, Any] = (
            {"at": _iso(wave.closes.at)} if wave.closes.at else {"after_open_days": wave.closes.after_open_days}
        )
        t.WaveItem(
            wave.event_id,
            wave.wave_id,
            questionnaire_id=wave.questionnaire_id,
            questionnaire_version=wave.questionnaire_version,
            opens=opens,
            closes=closes,
            reminders_after_days=list(wave.reminders_after_days),
            status=wave.status,
            opened_at=wave.opened_at,
            closes_at=wave.closes_at,
            closes_epoch=int(wave.closes_at.timestamp()) if wave.closes_at else None,
            created_at=wave.created_at,
        ).save()

    def get_wave(self, event_id: str, wave_id: str) -> Wave:
        try:
            return self._wave(t.WaveItem.get(event_id, wave_id))
        except DoesNotExist:
            raise NotFound("wave not found") from None

    def list_waves(self, event_id: str) -> list[Wave]:
        return [self._wave(i) for i in t.WaveItem.query(event_id)]

    @staticmethod
    def _wave(item: t.WaveItem) -> Wave:
        opens = _raw(item.opens)
        closes = _raw(item.closes)
        return Wave(
            event_id=item.event_id,
            wave_id=item.wave_id,
            questionnaire_id=item.questionnaire_id,
            questionnaire_version=int(item.questionnaire_version),
            opens=OpenRule(
                after_event_days=int(opens["after_event_days"]) if "after_event_days" in opens else None,
                local_time=opens.get("local_time"),
                at=parse_instant(opens["at"], "opens.at") if "at" in opens else None,
            ),
            closes=CloseRule(
                after_open_days=int(closes["after_open_days"]) if "after_open_days" in closes else None,
                at=parse_instant(closes["at"], "closes.at") if "at" in closes else None,
            ),
            reminders_after_days=[int(d) for d in item.reminders_after_days or []],
            status=item.status,  # type: ignore[arg-type]
            opened_at=item.opened_at,
            closes_at=item.closes_at,
            created_at=item.created_at,
        )

    # Invitations ---------------------------------------------------------------------------------
    def create_invitations(self, invitations: Iterable[Invitation]) -> int:
        """Create the invitations that do not exist yet; existing ones are never overwritten."""
        created = 0
        for inv in invitations:
            item = self._invitation_item(inv)
            try:
                item.save(condition=t.InvitationItem.participant_id.does_not_exist())
                created += 1
            except PutError as exc:
                if _throttled(exc):
                    raise TemporarilyUnavailable("the database is busy; try again") from exc
                if "ConditionalCheckFailed" not in str(exc):
                    raise
        return created

    def _invitation_item(self, inv: Invitation) -> t.InvitationItem:
        return t.InvitationItem(
            inv.wave_id,
            inv.participant_id,
            event_id=inv.event_id,
            cells=dict(inv.cells),
            language=inv.language,
            timezone=inv.timezone,
            email_key=inv.email_key,
            panel_id=inv.panel_id,
            first_due_at=_iso(inv.due_at) if inv.due_at else "",
            due_shard=DUE_SHARD if inv.due_at else None,
            due_at=_iso(inv.due_at) if inv.due_at else None,
            due_kind=inv.due_kind,
            status=inv.status,
        )

    def list_invitations(self, wave_id: str) -> list[Invitation]:
        return [self._invitation(i) for i in t.InvitationItem.query(wave_id)]

    def get_invitation(self, wave_id: str, participant_id: str) -> Invitation:
        try:
            return self._invitation(t.InvitationItem.get(wave_id, participant_id, consistent_read=True))
        except DoesNotExist:
            raise NotFound("invitation not found") from None

    def due_invitations(self, now: datetime, limit: int) -> Iterator[Invitation]:
        query = t.InvitationItem.due.query(
            DUE_SHARD, t.InvitationItem.due_at <= _iso(now), limit=limit, page_size=min(limit, 500)
        )
        for item in query:
            yield self._invitation(item)

    def reschedule(
        self, invitation: Invitation, kind: str | None, due: datetime | None, anchor: datetime | None = None
    ) -> None:
        """After enqueuing, point the due index at the next email owed, or drop it from the index.

        ``anchor`` records when the invitation actually went out: reminders count their days from it.
        """
        item = t.InvitationItem(invitation.wave_id, invitation.participant_id)
        actions: list[Any]
        if kind is None or due is None:
            actions = [
                t.InvitationItem.due_shard.remove(),
                t.InvitationItem.due_at.remove(),
                t.InvitationItem.due_kind.remove(),
            ]
        else:
            actions = [
                t.InvitationItem.due_shard.set(DUE_SHARD),
                t.InvitationItem.due_at.set(_iso(due)),
                t.InvitationItem.due_kind.set(kind),
            ]
        if anchor is not None:
            actions.append(t.InvitationItem.first_due_at.set(_iso(anchor)))
        try:
            item.update(actions=actions, condition=t.InvitationItem.participant_id.exists())
        except UpdateError as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise

    def move_invitation(self, invitation: Invitation, due: datetime, timezone: str) -> bool:
        """Move an invitation not sent yet to a new due time (the event's dates changed). False when it
        has gone meanwhile: the condition is that the invitation is still the next email owed."""
        try:
            t.InvitationItem(invitation.wave_id, invitation.participant_id).update(
                actions=[
                    t.InvitationItem.due_shard.set(DUE_SHARD),
                    t.InvitationItem.due_at.set(_iso(due)),
                    t.InvitationItem.first_due_at.set(_iso(due)),
                    t.InvitationItem.timezone.set(timezone),
                ],
                condition=t.InvitationItem.participant_id.exists()
                & t.InvitationItem.due_kind.exists()
                & (t.InvitationItem.due_kind == "invitation")
                & t.InvitationItem.sent_kinds.does_not_exist(),
            )
        except UpdateError as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise
            return False
        return True

    def set_due_now(self, wave_id: str, participant_ids: Iterable[str], now: datetime) -> None:
        """'Send now': make the pending invitation of each participant due at once."""
        for pid in participant_ids:
            item = t.InvitationItem(wave_id, pid)
            try:
                item.update(
                    actions=[
                        t.InvitationItem.due_shard.set(DUE_SHARD),
                        t.InvitationItem.due_at.set(_iso(now)),
                        t.InvitationItem.due_kind.set("invitation"),
                    ],
                    condition=t.InvitationItem.participant_id.exists()
                    & t.InvitationItem.due_kind.exists()
                    & (t.InvitationItem.due_kind == "invitation"),
                )
            except UpdateError as exc:
                if "ConditionalCheckFailed" not in str(exc):
                    raise

    @staticmethod
    def _invitation(item: t.InvitationItem) -> Invitation:
        return Invitation(
            wave_id=item.wave_id,
            participant_id=item.participant_id,
            event_id=item.event_id,
            cells={k: str(v) for k, v in _raw(item.cells).items()},
            language=item.language,
            timezone=item.timezone,
            email_key=item.email_key,
            panel_id=item.panel_id,
            due_at=parse_instant(item.due_at, "due_at") if item.due_at else None,
            due_kind=item.due_kind,
            sent_kinds=set(item.sent_kinds or ()),
            claimed={k: str(v) for k, v in _raw(item.claimed or {}).items()},
            first_due_at=parse_instant(item.first_due_at, "first_due_at") if item.first_due_at else None,
            status=item.status,
            delivered_at=item.delivered_at,
            bounced_at=item.bounced_at,
            opened_at=item.opened_at,
            completed_at=item.completed_at,
            opted_out_at=item.opted_out_at,
            failed_reason=item.failed_reason,
        )

    def first_due(self, wave_id: str, participant_id: str) -> datetime | None:
        try:
            item = t.InvitationItem.get(wave_id, participant_id)
        except DoesNotExist:
            return None
        return parse_instant(item.first_due_at, "first_due_at") if item.first_due_at else None

    # Sending -------------------------------------------------------------------------------------
    def claim(
        self,
        *,
        event_id: str,
        wave_id: str,
        participant_id: str,
        kind: str,
        email_key: str,
        cells: Mapping[str, str],
        token: TokenGrant,
        token_extra: Mapping[str, Any],
        now: datetime,
    ) -> ClaimOutcome:
        """Claim the right to send one email, atomically with its token and the invited count.

        One transaction: the invitation must not have this kind yet (at most one email per kind), the
        address must not be suppressed, and the wave must still be open.
        """
        condition = (
            t.InvitationItem.participant_id.exists()
            & t.InvitationItem.opted_out_at.does_not_exist()
            & t.InvitationItem.bounced_at.does_not_exist()
            & ~t.InvitationItem.sent_kinds.contains(kind)
        )
        if kind != "invitation":
            condition = condition & t.InvitationItem.completed_at.does_not_exist()
        tx = Tx()
        try:
            with tx:
                actions = [
                    t.InvitationItem.sent_kinds.add({kind}),
                    t.InvitationItem.token_hashes.add({token.token_hash}),
                ]
                if kind == "invitation":  # a reminder leaves "delivered" or "opened" as they are
                    actions.append(t.InvitationItem.status.set("sent"))
                tx.update("invitation", t.InvitationItem(wave_id, participant_id), actions=actions, condition=condition)
                tx.check(
                    "suppression", t.SuppressionItem, email_key, condition=t.SuppressionItem.email_key.does_not_exist()
                )
                tx.check(
                    "wave", t.WaveItem, event_id, wave_id, condition=t.WaveItem.closes_epoch > int(now.timestamp())
                )
                tx.save(
                    "token",
                    t.TokenItem(
                        token.token_hash,
                        event_id=event_id,
                        wave_id=wave_id,
                        participant_id=participant_id,
                        kind=kind,
                        created_at=now,
                        expires_at=token.expires_at,
                        **token_extra,
                    ),
                    condition=t.TokenItem.token_hash.does_not_exist(),
                )
                if kind == "invitation":
                    tx.counters(wave_id, spread(cells, {"f:invited": 1}))
        except TransactWriteError as exc:
            try:
                failed = tx.failed(exc)
            except TemporarilyUnavailable:
                return ClaimOutcome.BUSY
            if "invitation" in failed:
                return ClaimOutcome.ALREADY
            if "suppression" in failed:
                return ClaimOutcome.SUPPRESSED
            if "wave" in failed:
                return ClaimOutcome.CLOSED
            raise
        return ClaimOutcome.CLAIMED

    def release(
        self, *, wave_id: str, participant_id: str, kind: str, token_hash: str, cells: Mapping[str, str]
    ) -> None:
        """Undo a claim whose email SES refused to take (throttled), so a retry can send it."""
        actions: list[Any] = [t.InvitationItem.sent_kinds.delete({kind})]
        if kind == "invitation":  # the claim set "sent"; an invitation can only be claimed from "pending"
            actions.append(t.InvitationItem.status.set("pending"))
        tx = Tx()
        with tx:
            tx.update(
                "invitation",
                t.InvitationItem(wave_id, participant_id),
                actions=actions,
                condition=t.InvitationItem.sent_kinds.contains(kind),
            )
            tx.delete("token", t.TokenItem(token_hash))
            if kind == "invitation":
                tx.counters(wave_id, spread(cells, {"f:invited": -1}))

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
    ) -> bool:
        """Record a send outcome or a participant action (delivered, bounced, opened, opted out...) and
        count it (and ``also_count``), at most once when ``only_once_field`` names the timestamp that marks
        it, or, with ``once_per_status``, only when the invitation does not have ``status`` already."""
        actions: list[Any] = []
        if status is not None:
            actions.append(t.InvitationItem.status.set(status))
        condition: Any = t.InvitationItem.participant_id.exists()
        if once_per_status and status is not None:
            condition = condition & (t.InvitationItem.status != status)
        if reason is not None:
            actions.append(t.InvitationItem.failed_reason.set(reason[:200]))
        if only_once_field is not None:
            attr = getattr(t.InvitationItem, only_once_field)
            actions.append(attr.set(now))
            condition = condition & attr.does_not_exist()
        tx = Tx()
        try:
            with tx:
                tx.update("invitation", t.InvitationItem(wave_id, participant_id), actions=actions, condition=condition)
                tx.counters(wave_id, spread(cells, {f"f:{name}": 1 for name in (counter, *also_count)}))
        except TransactWriteError as exc:
            if "invitation" in tx.failed(exc):
                return False
            raise
        return True

    # Erasure -------------------------------------------------------------------------------------------
    def find_participant(self, participant_id: str) -> Participant:
        """The participant with this ID in any event. Erasure is rare and admin-only, so a filtered Scan of
        the participants table is cheaper than an index kept for it."""
        for item in t.ParticipantItem.scan(t.ParticipantItem.participant_id == participant_id):
            return self._participant(item)
        raise NotFound("participant not found")

    def scrub_response(self, response: Response, answers: Mapping[str, Any], now: datetime) -> bool:
        """Replace a response's answers with their scrubbed text (erasure), as a new version, so that no
        sealed copy of the old answers can be used for an edit. The counters do not move: a scrubbed text
        is still an answer. False when the response changed meanwhile (the erasure is then retried)."""
        try:
            t.ResponseItem(response.wave_id, response.participant_id).update(
                actions=[
                    t.ResponseItem.answers.set(dict(answers)),
                    t.ResponseItem.version.set(response.version + 1),
                    t.ResponseItem.updated_at.set(now),
                ],
                condition=t.ResponseItem.version == response.version,
            )
        except UpdateError as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise
            return False
        return True

    def erase_participant(self, participant: Participant, wave_ids: Iterable[str], now: datetime) -> int:
        """Remove name, email and organisation, revoke every link, and stop every email still owed.

        Answers, invitations (cells and panel ID only) and aggregates stay: they are pseudonymous.
        Returns how many links were revoked."""
        t.ParticipantItem(participant.event_id, participant.participant_id).update(
            actions=[
                t.ParticipantItem.email.remove(),
                t.ParticipantItem.full_name.remove(),
                t.ParticipantItem.organisation.remove(),
                t.ParticipantItem.erased_at.set(now),
            ],
            condition=t.ParticipantItem.participant_id.exists(),
        )
        invitations = []
        for wave_id in wave_ids:
            try:
                invitations.append(t.InvitationItem.get(wave_id, participant.participant_id, consistent_read=True))
            except DoesNotExist:
                continue
        revoked = {token_hash for item in invitations for token_hash in item.token_hashes or ()}
        # The links go first, and only then their list on the invitations: if a write fails half-way, the
        # retried erasure still finds every link to revoke.
        with t.TokenItem.batch_write() as batch:
            for token_hash in revoked:
                batch.delete(t.TokenItem(token_hash))
        for item in invitations:
            item.update(
                actions=[
                    t.InvitationItem.due_shard.remove(),
                    t.InvitationItem.due_at.remove(),
                    t.InvitationItem.due_kind.remove(),
                    t.InvitationItem.token_hashes.remove(),
                ]
            )
        return len(revoked)

    # Suppressions --------------------------------------------------------------------------------
    def suppress(self, email_key: str, reason: str, now: datetime) -> bool:
        try:
            t.SuppressionItem(email_key, reason=reason, created_at=now).save(
                condition=t.SuppressionItem.email_key.does_not_exist()
            )
        except PutError as exc:
            if "ConditionalCheckFailed" in str(exc):
                return False
            raise
        return True

    # Tokens and responses ------------------------------------------------------------------------
    def get_token(self, token_hash: str) -> dict[str, Any] | None:
        try:
            item = t.TokenItem.get(token_hash)
        except DoesNotExist:
            return None
        if item.expires_at is not None and item.expires_at <= datetime.now(UTC):
            return None  # TTL deletes lazily; an expired token must not work in the meantime.
        return {
            "event_id": item.event_id,
            "wave_id": item.wave_id,
            "participant_id": item.participant_id,
            "kind": item.kind,
            "cells": {k: str(v) for k, v in _raw(item.cells).items()},
            "language": item.language,
            "panel_id": item.panel_id,
            "questionnaire_id": item.questionnaire_id,
            "questionnaire_version": int(item.questionnaire_version),
        }

    def get_response(self, wave_id: str, participant_id: str) -> Response | None:
        try:
            item = t.ResponseItem.get(wave_id, participant_id, consistent_read=True)
        except DoesNotExist:
            return None
        return self._response(item)

    def list_responses(self, wave_id: str) -> Iterator[Response]:
        for item in t.ResponseItem.query(wave_id):
            yield self._response(item)

    @staticmethod
    def _response(item: t.ResponseItem) -> Response:
        return Response(
            wave_id=item.wave_id,
            participant_id=item.participant_id,
            event_id=item.event_id,
            panel_id=item.panel_id,
            answers=_raw(item.answers),
            cells={k: str(v) for k, v in _raw(item.cells).items()},
            language=item.language,
            version=int(item.version),
            submitted_at=item.submitted_at,
            updated_at=item.updated_at,
        )

    def store_response(
        self,
        response: Response,
        *,
        previous: Response | None,
        deltas: Deltas,
        now: datetime,
    ) -> SubmitOutcome:
        """Write a response and its aggregate counts in one transaction.

        First submit: the response must not exist, and completes the invitation. Edit: the stored
        version must be the one read, so two concurrent edits cannot both apply their deltas.
        Either way the wave must still be open and the participant must not have opted out.
        """
        item = t.ResponseItem(
            response.wave_id,
            response.participant_id,
            event_id=response.event_id,
            panel_id=response.panel_id,
            answers=response.answers,
            cells=response.cells,
            language=response.language,
            version=response.version,
            submitted_at=response.submitted_at,
            updated_at=now,
        )
        if previous is None:
            condition = t.ResponseItem.participant_id.does_not_exist()
        else:
            condition = t.ResponseItem.version == previous.version
        inv_condition = t.InvitationItem.participant_id.exists() & t.InvitationItem.opted_out_at.does_not_exist()
        tx = Tx()
        try:
            with tx:
                tx.save("response", item, condition=condition)
                if previous is None:
                    tx.update(
                        "invitation",
                        t.InvitationItem(response.wave_id, response.participant_id),
                        actions=[t.InvitationItem.completed_at.set(now), t.InvitationItem.status.set("completed")],
                        condition=inv_condition,
                    )
                else:
                    tx.check(
                        "invitation",
                        t.InvitationItem,
                        response.wave_id,
                        response.participant_id,
                        condition=inv_condition,
                    )
                tx.check(
                    "wave",
                    t.WaveItem,
                    response.event_id,
                    response.wave_id,
                    condition=t.WaveItem.closes_epoch > int(now.timestamp()),
                )
                tx.counters(response.wave_id, deltas)
        except TransactWriteError as exc:
            failed = tx.failed(exc)
            if "wave" in failed:
                return SubmitOutcome.CLOSED
            if "invitation" in failed:
                return SubmitOutcome.OPTED_OUT
            if "response" in failed:
                return SubmitOutcome.STALE
            raise
        return SubmitOutcome.STORED

    # Aggregates ----------------------------------------------------------------------------------
    def read_cells(self, wave_id: str, dimension: str) -> dict[str, dict[str, int]]:
        """One Query: every counter item of one dimension of a wave."""
        conn = t.AggregateItem._get_connection()
        prefix = f"{dimension}#"
        out: dict[str, dict[str, int]] = {}
        last_key = None
        while True:
            page = conn.query(
                wave_id,
                range_key_condition=t.AggregateItem.cell.startswith(prefix),
                exclusive_start_key=last_key,
            )
            for raw in page.get("Items", []):
                cell = raw["cell"]["S"][len(prefix) :]
                out[cell] = {k: int(v["N"]) for k, v in raw.items() if "N" in v}
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return out

    # Questionnaires ------------------------------------------------------------------------------
    def get_questionnaire_definition(self, questionnaire_id: str, version: int) -> dict[str, Any] | None:
        try:
            item = t.QuestionnaireItem.get(questionnaire_id, version)
        except DoesNotExist:
            return None
        loaded: dict[str, Any] = json.loads(item.definition)
        return loaded

    def put_questionnaire_definition(self, questionnaire_id: str, version: int, definition: str, now: datetime) -> None:
        try:
            t.QuestionnaireItem(questionnaire_id, version, definition=definition, created_at=now).save(
                condition=t.QuestionnaireItem.questionnaire_id.does_not_exist()
            )
        except PutError as exc:
            if "ConditionalCheckFailed" in str(exc):
                raise Conflict(f"questionnaire {questionnaire_id} version {version} already exists") from None
            raise

    def list_questionnaire_definitions(self) -> list[dict[str, Any]]:
        return [json.loads(i.definition) for i in t.QuestionnaireItem.scan()]


def _busy_when_throttled(method: Callable[..., Any]) -> Callable[..., Any]:
    """A throttle that botocore's retries did not absorb, on any call, becomes TemporarilyUnavailable (a 503
    page or JSON error, the form shown again with its answers, a retried invocation), as it already does for
    the transactions, rather than an unhandled error."""

    def busy(exc: PynamoDBException) -> bool:
        reasons = _reasons(exc) if isinstance(exc, TransactWriteError) else []
        return _throttled(exc) or any(code in _BUSY for code in reasons)

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(*args, **kwargs)
            except PynamoDBException as exc:
                if busy(exc):
                    raise TemporarilyUnavailable("the database is busy; try again") from exc
                raise

        return stream

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except PynamoDBException as exc:
            if busy(exc):
                raise TemporarilyUnavailable("the database is busy; try again") from exc
            raise

    return call


for _name in dir(DynamoStore):  # its own methods and the named outcomes it inherits
    _method = getattr(DynamoStore, _name)
    if not _name.startswith("_") and inspect.isfunction(_method):
        setattr(DynamoStore, _name, _busy_when_throttled(_method))

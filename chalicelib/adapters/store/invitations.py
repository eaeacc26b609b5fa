"""DynamoStore, invitations: one per participant and wave; the sparse ``due`` index the scheduler queries, and
the sparse ``wave-due`` index that gives a wave's next send."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.adapters import tables as t
from chalicelib.adapters.store.base import DUE_SHARD, StoreBusy, Tx, iso_second, plain, throttled
from chalicelib.domain.cells import spread
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import Invitation
from chalicelib.domain.ports import LinkState
from chalicelib.domain.schedule import parse_instant


class DynamoInvitations:
    def create_invitations(self, invitations: Iterable[Invitation]) -> int:
        """Create the invitations that do not exist yet; existing ones are never overwritten."""
        created = 0
        for inv in invitations:
            item = self._invitation_item(inv)
            try:
                item.save(condition=t.InvitationItem.participant_id.does_not_exist())
                created += 1
            except PutError as exc:
                if "TransactionConflict" in str(exc):
                    # A transaction is writing this invitation (the scheduler or the sender, while an admin
                    # presses "send now"): only an existing invitation is ever in one, so it exists.
                    continue
                if throttled(exc):
                    raise StoreBusy.from_error(exc) from exc
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
            went_out_at=iso_second(inv.due_at) if inv.due_at else "",
            due_shard=DUE_SHARD if inv.due_at else None,
            due_at=iso_second(inv.due_at) if inv.due_at else None,
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

    def open_link(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> LinkState:
        """One transaction: ``opened_at`` set and counted if the invitation is fresh (never opened, answered or
        opted out); otherwise the cancellation returns the item, which says which. A participant who answered
        or opted out without ever opening the form (a direct POST) is then marked opened apart (rare)."""
        inv = t.InvitationItem
        fresh = (
            inv.participant_id.exists()
            & inv.opened_at.does_not_exist()
            & inv.completed_at.does_not_exist()
            & inv.opted_out_at.does_not_exist()
        )
        tx = Tx()
        try:
            with tx:
                tx.update(
                    "invitation",
                    inv(wave_id, participant_id),
                    actions=[inv.opened_at.set(now)],
                    condition=fresh,
                    return_old=True,
                )
                tx.counters(wave_id, spread(cells, {"f:opened": 1}))
        except TransactWriteError as exc:
            if "invitation" not in tx.failed(exc):
                raise
            raw = tx.old_item(exc, "invitation")
            if raw is None:
                raise NotFound("invitation not found") from None
            found = self._invitation(inv.from_raw_data(raw))
            first = found.opened_at is None and self.mark_opened(wave_id, participant_id, cells, now)  # type: ignore[attr-defined]
            return LinkState(
                first_open=bool(first),
                opted_out=found.opted_out_at is not None,
                completed=found.completed_at is not None,
            )
        return LinkState(first_open=True, opted_out=False, completed=False)

    def due_invitations(self, now: datetime, limit: int) -> Iterator[Invitation]:
        query = t.InvitationItem.due.query(
            DUE_SHARD, t.InvitationItem.due_at <= iso_second(now), limit=limit, page_size=min(limit, 500)
        )
        for item in query:
            yield self._invitation(item)

    def next_due(self, wave_id: str) -> datetime | None:
        """The wave's earliest email still owed: one item from the sparse ``wave-due`` index, never a scan."""
        for item in t.InvitationItem.wave_due.query(wave_id, limit=1, scan_index_forward=True):
            return parse_instant(item.due_at, "due_at") if item.due_at else None
        return None

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
                t.InvitationItem.due_at.set(iso_second(due)),
                t.InvitationItem.due_kind.set(kind),
            ]
        if anchor is not None:
            actions.append(t.InvitationItem.went_out_at.set(iso_second(anchor)))
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
                    t.InvitationItem.due_at.set(iso_second(due)),
                    t.InvitationItem.went_out_at.set(iso_second(due)),
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
                        t.InvitationItem.due_at.set(iso_second(now)),
                        t.InvitationItem.due_kind.set("invitation"),
                    ],
                    condition=t.InvitationItem.participant_id.exists()
                    & t.InvitationItem.due_kind.exists()
                    & (t.InvitationItem.due_kind == "invitation"),
                )
            except UpdateError as exc:
                if "ConditionalCheckFailed" not in str(exc):
                    raise

    def went_out_at(self, wave_id: str, participant_id: str) -> datetime | None:
        try:
            item = t.InvitationItem.get(wave_id, participant_id)
        except DoesNotExist:
            return None
        return parse_instant(item.went_out_at, "went_out_at") if item.went_out_at else None

    @staticmethod
    def _invitation(item: t.InvitationItem) -> Invitation:
        return Invitation(
            wave_id=item.wave_id,
            participant_id=item.participant_id,
            event_id=item.event_id,
            cells={k: str(v) for k, v in plain(item.cells).items()},
            language=item.language,
            timezone=item.timezone,
            email_key=item.email_key,
            panel_id=item.panel_id,
            due_at=parse_instant(item.due_at, "due_at") if item.due_at else None,
            due_kind=item.due_kind,
            sent_kinds=set(item.sent_kinds or ()),
            went_out_at=parse_instant(item.went_out_at, "went_out_at") if item.went_out_at else None,
            status=item.status,
            delivered_at=item.delivered_at,
            bounced_at=item.bounced_at,
            opened_at=item.opened_at,
            completed_at=item.completed_at,
            opted_out_at=item.opted_out_at,
            failed_reason=item.failed_reason,
        )

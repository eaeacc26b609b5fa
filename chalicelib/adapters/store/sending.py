"""DynamoStore, sending: the claims that make sending exactly-once, their release, the recorded outcomes
and the suppressions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.adapters import tables as t
from chalicelib.adapters.outcomes import OutcomeMarks
from chalicelib.adapters.store.base import Tx
from chalicelib.domain.cells import spread
from chalicelib.domain.errors import TemporarilyUnavailable
from chalicelib.domain.model import TokenGrant
from chalicelib.domain.ports import ClaimOutcome


class DynamoSending(OutcomeMarks):
    def claim(self, token: TokenGrant, *, email_key: str, now: datetime) -> ClaimOutcome:
        """Claim the right to send one email, atomically with its token and the invited count.

        One transaction: the invitation must not have this kind yet (at most one email per kind), the
        address must not be suppressed, and the wave must still be open.
        """
        event_id, wave_id, participant_id, kind = token.event_id, token.wave_id, token.participant_id, token.kind
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
                        cells=dict(token.cells),
                        language=token.language,
                        panel_id=token.panel_id,
                        questionnaire_id=token.questionnaire_id,
                        questionnaire_version=token.questionnaire_version,
                        created_at=now,
                        expires_at=token.expires_at,
                    ),
                    condition=t.TokenItem.token_hash.does_not_exist(),
                )
                if kind == "invitation":
                    tx.counters(wave_id, spread(token.cells, {"f:invited": 1}))
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
        unless_sent: str | None = None,
    ) -> bool:
        """Record a send outcome or a participant action (delivered, bounced, opened, opted out...) and
        count it (and ``also_count``), at most once when ``only_once_field`` names the timestamp that marks
        it, or, with ``once_per_status``, only when the invitation does not have ``status`` already; never when
        ``unless_sent`` names a kind of email already sent."""
        actions: list[Any] = []
        if status is not None:
            actions.append(t.InvitationItem.status.set(status))
        condition: Any = t.InvitationItem.participant_id.exists()
        if once_per_status and status is not None:
            condition = condition & (t.InvitationItem.status != status)
        if unless_sent is not None:
            condition = condition & ~t.InvitationItem.sent_kinds.contains(unless_sent)
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

"""DynamoStore, sending: what the sender reads for a job, the claims that make sending exactly-once, their
release, the recorded outcomes and the suppressions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import GetError, PutError, TransactWriteError

from chalicelib.adapters import tables as t
from chalicelib.adapters.outcomes import OutcomeMarks
from chalicelib.adapters.store.base import StoreBusy, Tx
from chalicelib.adapters.store.events import DynamoEvents
from chalicelib.adapters.store.invitations import DynamoInvitations
from chalicelib.adapters.store.participants import DynamoParticipants
from chalicelib.adapters.store.waves import DynamoWaves
from chalicelib.domain.cells import spread
from chalicelib.domain.errors import TemporarilyUnavailable
from chalicelib.domain.model import TokenGrant
from chalicelib.domain.ports import ClaimOutcome, SendingRead

_READ_ATTEMPTS = 4  # a BatchGetItem DynamoDB answers only in part is asked again for the rest, this often


class DynamoSending(OutcomeMarks):
    def read_for_sending(self, event_id: str, wave_id: str, participant_id: str) -> SendingRead:
        """The invitation, the participant, the wave and the event of one send job: one BatchGetItem over the
        four tables (read again only for keys DynamoDB left unprocessed). The participant and the invitation are
        read strongly consistent, so an erasure or a claim that finished before is seen; the claim checks the
        participant again anyway, in its transaction."""
        keys: dict[type[t.Model], dict[str, Any]] = {
            t.InvitationItem: {"wave_id": {"S": wave_id}, "participant_id": {"S": participant_id}},
            t.ParticipantItem: {"event_id": {"S": event_id}, "participant_id": {"S": participant_id}},
            t.WaveItem: {"event_id": {"S": event_id}, "wave_id": {"S": wave_id}},
            t.EventItem: {"event_id": {"S": event_id}},
        }
        models = {model.Meta.table_name: model for model in keys}
        consistent = {t.InvitationItem, t.ParticipantItem}
        request: dict[str, Any] = {
            model.Meta.table_name: {"Keys": [key], "ConsistentRead": model in consistent} for model, key in keys.items()
        }
        found: dict[type[t.Model], Any] = {}
        connection = t.connection()
        for _ in range(_READ_ATTEMPTS):
            try:
                answer = connection.dispatch("BatchGetItem", {"RequestItems": request})
            except (BotoCoreError, ClientError) as exc:
                raise GetError("Failed to batch get items", exc) from exc  # mapped to StoreBusy if throttled
            for table, items in (answer.get("Responses") or {}).items():
                for raw in items:
                    found[models[table]] = models[table].from_raw_data(raw)
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise StoreBusy(dynamodb_operation="BatchGetItem", error_code="UnprocessedKeys")
        invitation, participant = found.get(t.InvitationItem), found.get(t.ParticipantItem)
        wave, event = found.get(t.WaveItem), found.get(t.EventItem)
        return SendingRead(
            invitation=DynamoInvitations._invitation(invitation) if invitation is not None else None,
            participant=DynamoParticipants._participant(participant) if participant is not None else None,
            wave=DynamoWaves._wave(wave) if wave is not None else None,
            event=DynamoEvents._event(event) if event is not None else None,
        )

    def claim(self, token: TokenGrant, *, email_key: str, now: datetime) -> ClaimOutcome:
        """Claim the right to send one email, atomically with its token and the invited count.

        One transaction: the invitation must not have this kind yet (at most one email per kind), the
        address must not be suppressed, the wave must still be open, and the participant must not be erased (a
        ConditionCheck on their item, so an erasure between the sender's read and this claim still wins; a
        participant not stored at all is the sender's read's to refuse, as erased).
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
                    "participant",
                    t.ParticipantItem,
                    event_id,
                    participant_id,
                    condition=t.ParticipantItem.erased_at.does_not_exist(),
                )
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
            if "participant" in failed:
                return ClaimOutcome.ERASED
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

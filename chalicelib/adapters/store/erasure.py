"""DynamoStore, erasure of one participant: the personal fields, every link and every email still owed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters import tables as t
from chalicelib.domain.model import Participant


class DynamoErasure:
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

    def revoke_invitation(self, wave_id: str, participant_id: str, now: datetime) -> int:
        """Revoke one invitation's links and stop its emails for good (``opted_out_at`` set, uncounted): a series
        wave's invitation of a person erased in another event of the series. Returns how many links went."""
        try:
            item = t.InvitationItem.get(wave_id, participant_id, consistent_read=True)
        except DoesNotExist:
            return 0
        revoked = set(item.token_hashes or ())
        with t.TokenItem.batch_write() as batch:
            for token_hash in revoked:
                batch.delete(t.TokenItem(token_hash))
        actions = [
            t.InvitationItem.due_shard.remove(),
            t.InvitationItem.due_at.remove(),
            t.InvitationItem.due_kind.remove(),
            t.InvitationItem.token_hashes.remove(),
        ]
        if item.opted_out_at is None:
            actions.append(t.InvitationItem.opted_out_at.set(now))
        item.update(actions=actions)
        return len(revoked)

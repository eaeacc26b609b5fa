"""DynamoStore, participants: queried by event; erasure finds one in any event."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.adapters import tables as t
from chalicelib.adapters.store.base import StoreBusy, throttled
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import Participant


class DynamoParticipants:
    def list_participants(self, event_id: str) -> list[Participant]:
        return [self._participant(i) for i in t.ParticipantItem.query(event_id)]

    def get_participant(self, event_id: str, participant_id: str) -> Participant:
        try:
            return self._participant(t.ParticipantItem.get(event_id, participant_id))
        except DoesNotExist:
            raise NotFound("participant not found") from None

    def put_participants(self, participants: Iterable[Participant]) -> list[str]:
        """Write whole participants, each unless erased since this version of them was made (its
        ``updated_at``): one conditional PutItem each, so an import read before an erasure, or a chunk of one
        queued before it, never writes the erased person again. Returns the IDs so refused."""
        refused: list[str] = []
        for p in participants:
            item = t.ParticipantItem(
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
            try:
                item.save(
                    condition=t.ParticipantItem.erased_at.does_not_exist()
                    | (t.ParticipantItem.erased_at < p.updated_at)
                )
            except PutError as exc:
                if throttled(exc):
                    raise StoreBusy.from_error(exc) from exc
                if "ConditionalCheckFailed" not in str(exc):
                    raise
                refused.append(p.participant_id)
        return refused

    def find_participant(self, participant_id: str) -> Participant:
        """The participant with this ID in any event. Erasure is rare and admin-only, so a filtered Scan of
        the participants table is cheaper than an index kept for it."""
        for item in t.ParticipantItem.scan(t.ParticipantItem.participant_id == participant_id):
            return self._participant(item)
        raise NotFound("participant not found")

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

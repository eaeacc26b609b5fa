"""DynamoStore, participants: queried by event; erasure finds one in any event."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters import tables as t
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

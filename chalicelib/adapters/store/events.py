"""DynamoStore, events: a few a year, read whole; the programme view queries a year through ``by-year``."""

from __future__ import annotations

from datetime import date

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters import tables as t
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import Event


class DynamoEvents:
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

"""The send job: what travels on the send queue from the scheduler to the sender, and its one encoding; and the
letter, what the sender reads at send time to compose the email.

A message carries IDs only (event, wave, participant, kind): no address, no name, nothing a dead-letter queue
would keep for its fourteen days. The sender reads the rest when it sends (``InvitationStore.read_for_sending``),
so an erasure, or a change of address, made while the job waited in the queue is what the email follows. The
message is versioned: a sender meeting a version it does not know refuses the message (it goes to the
dead-letter queue) instead of guessing. Version 1 messages, which also carried the address, the name and the
rest, may still be queued when version 2 is deployed: they are read for their IDs, their other fields ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.model import Event, Invitation, Participant, Wave

MESSAGE_VERSION = 2
READ_VERSIONS = (1, MESSAGE_VERSION)  # version 1 carried personal data too: only its IDs are read


@dataclass(frozen=True)
class SendJob:
    """One email to send: this kind (invitation, reminder-N or manual-N) to this participant of this wave."""

    event_id: str
    wave_id: str
    participant_id: str
    kind: str

    @classmethod
    def for_invitation(cls, inv: Invitation, kind: str) -> SendJob:
        return cls(event_id=inv.event_id, wave_id=inv.wave_id, participant_id=inv.participant_id, kind=kind)

    def to_message(self) -> dict[str, Any]:
        """The queue message (a JSON object): IDs only."""
        return {
            "v": MESSAGE_VERSION,
            "event_id": self.event_id,
            "wave_id": self.wave_id,
            "participant_id": self.participant_id,
            "kind": self.kind,
        }

    @classmethod
    def from_message(cls, message: Any) -> SendJob:
        """Read a queue message back; ValueError (and no personal data in it) when it is not one we wrote."""
        if not isinstance(message, Mapping) or message.get("v") not in READ_VERSIONS:
            raise ValueError("not a send job this version understands")
        try:
            fields = {name: message[name] for name in ("event_id", "wave_id", "participant_id", "kind")}
        except KeyError:
            raise ValueError("a send job with a missing or malformed field") from None
        if not all(isinstance(value, str) and value for value in fields.values()):
            raise ValueError("a send job with a missing or malformed field")
        return cls(**fields)


@dataclass(frozen=True)
class Letter:
    """One email as the sender composes it: the job, and what was read for it when it was sent (the address and
    name of the participant, the invitation's language, cells and panel, the event's title, the wave's
    questionnaire and closing). Never queued."""

    event_id: str
    wave_id: str
    participant_id: str
    kind: str
    email: str
    name: str
    language: str
    event_title: str
    email_key: str = ""
    cells: Mapping[str, str] = field(default_factory=dict)
    panel_id: str = ""
    questionnaire_id: str = ""
    questionnaire_version: int = 0
    closes_at: datetime | None = None

    @classmethod
    def of(cls, job: SendJob, inv: Invitation, person: Participant, event: Event, wave: Wave) -> Letter:
        return cls(
            event_id=job.event_id,
            wave_id=job.wave_id,
            participant_id=job.participant_id,
            kind=job.kind,
            email=person.email,
            name=person.full_name,
            language=inv.language,
            event_title=event.title,
            email_key=inv.email_key,
            cells=dict(inv.cells),
            panel_id=inv.panel_id,
            questionnaire_id=wave.questionnaire_id,
            questionnaire_version=wave.questionnaire_version,
            closes_at=wave.closes_at,
        )

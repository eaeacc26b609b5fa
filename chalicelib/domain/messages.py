"""The send job: what travels on the send queue from the scheduler to the sender, and its one encoding.

Everything the sender needs is in the message, so sending reads nothing before its claim. The message is
versioned: a sender meeting a version it does not know refuses the message (it goes to the dead-letter
queue) instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.model import Event, Invitation, Participant, Wave

MESSAGE_VERSION = 1


@dataclass(frozen=True)
class SendJob:
    """One email to send: this kind (invitation, reminder-N or manual-N) to this participant of this wave."""

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
    def for_invitation(cls, inv: Invitation, kind: str, person: Participant, event: Event, wave: Wave) -> SendJob:
        return cls(
            event_id=inv.event_id,
            wave_id=inv.wave_id,
            participant_id=inv.participant_id,
            kind=kind,
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

    def to_message(self) -> dict[str, Any]:
        """The queue message (a JSON object)."""
        return {
            "v": MESSAGE_VERSION,
            "event_id": self.event_id,
            "wave_id": self.wave_id,
            "participant_id": self.participant_id,
            "kind": self.kind,
            "email": self.email,
            "name": self.name,
            "language": self.language,
            "email_key": self.email_key,
            "cells": dict(self.cells),
            "panel_id": self.panel_id,
            "event_title": self.event_title,
            "questionnaire_id": self.questionnaire_id,
            "questionnaire_version": self.questionnaire_version,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
        }

    @classmethod
    def from_message(cls, message: Any) -> SendJob:
        """Read a queue message back; ValueError (and no personal data in it) when it is not one we wrote."""
        if not isinstance(message, Mapping) or message.get("v") != MESSAGE_VERSION:
            raise ValueError("not a send job this version understands")
        try:
            cells = message["cells"]
            if not isinstance(cells, Mapping):
                raise TypeError("cells")
            closes = message.get("closes_at")
            return cls(
                event_id=str(message["event_id"]),
                wave_id=str(message["wave_id"]),
                participant_id=str(message["participant_id"]),
                kind=str(message["kind"]),
                email=str(message["email"]),
                name=str(message["name"]),
                language=str(message["language"]),
                event_title=str(message["event_title"]),
                email_key=str(message["email_key"]),
                cells={str(k): str(v) for k, v in cells.items()},
                panel_id=str(message["panel_id"]),
                questionnaire_id=str(message["questionnaire_id"]),
                questionnaire_version=int(message["questionnaire_version"]),
                closes_at=datetime.fromisoformat(closes) if closes else None,
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("a send job with a missing or malformed field") from None

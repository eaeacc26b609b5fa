"""Ports: what the use cases need from the outside world. Adapters implement them."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Per aggregate cell, the counter deltas one write applies.
Deltas = Mapping[str, Mapping[str, int]]


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"
    ALREADY = "already"  # this kind was claimed before, or the participant opted out, bounced or completed
    SUPPRESSED = "suppressed"
    CLOSED = "closed"
    BUSY = "busy"


class SubmitOutcome(enum.Enum):
    STORED = "stored"
    STALE = "stale"  # the response changed since it was read (or exists, on a first submit)
    OPTED_OUT = "opted_out"
    CLOSED = "closed"


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    html: str
    text: str
    headers: Mapping[str, str]
    tags: Mapping[str, str]


class SendRejected(Exception):
    """SES refused this message for good (e.g. MessageRejected); do not retry."""


class SendThrottled(Exception):
    """SES throttled; the message was not sent and may be retried later."""


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> str:
        """Send one email; return the provider's message id. Raises SendRejected or SendThrottled."""
        ...


class SendQueue(Protocol):
    def enqueue(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Put send jobs on the queue (batched); raises if any could not be queued."""
        ...


class EmailRenderer(Protocol):
    def render_email(self, template: str, language: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """Render (subject, html, text) for one email in one language."""
        ...

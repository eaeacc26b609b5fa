"""Ports: what the use cases need from the outside world. Adapters implement them."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chalicelib.domain.model import Event, ImportJob, Invitation, Participant, Response, Share, TokenGrant, Wave
    from chalicelib.domain.openlinks import OpenLink

# Per aggregate cell, the counter deltas one write applies.
Deltas = Mapping[str, Mapping[str, int]]


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"
    ALREADY = "already"  # this kind was claimed before, or the participant opted out, bounced or completed
    SUPPRESSED = "suppressed"
    CLOSED = "closed"
    BUSY = "busy"
    ERASED = "erased"  # the participant was erased: nothing is sent, no link written


@dataclass(frozen=True)
class LinkState:
    """What opening a personal link found, from the one write that marks it opened (``open_link``)."""

    first_open: bool  # this open was the participant's first: counted in the funnel now
    opted_out: bool
    completed: bool  # they have answered: the form shows their answers (read apart)


class SubmitOutcome(enum.Enum):
    STORED = "stored"
    STALE = "stale"  # the response changed since it was read (or exists, on a first submit)
    OPTED_OUT = "opted_out"


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    html: str
    text: str
    headers: Mapping[str, str]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class SendingRead:
    """What the sender reads for one send job, in one call: the invitation, its participant, the wave and the
    event, each None when it is not stored (any more)."""

    invitation: Invitation | None
    participant: Participant | None
    wave: Wave | None
    event: Event | None


class SendRejected(Exception):
    """SES refused this message for good (e.g. MessageRejected); do not retry."""


class SendThrottled(Exception):
    """SES throttled; the message was not sent and may be retried later."""


class Unsendable(Exception):
    """The email cannot be built as a message (a header cannot hold its text): sending it again cannot help.
    Its text says why, never with the recipient's address or name."""


class Mailer(Protocol):
    def check(self, email: OutgoingEmail) -> None:
        """Build the message as ``send`` would, without sending it; raise Unsendable if it cannot be built."""
        ...

    def send(self, email: OutgoingEmail) -> str:
        """Send one email; return the provider's message id. Raises SendRejected, SendThrottled or Unsendable."""
        ...


class SendQueue(Protocol):
    def enqueue(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Put send jobs on the queue (batched); raises if any could not be queued."""
        ...


class EmailRenderer(Protocol):
    def render_email(self, template: str, language: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """Render (subject, html, text) for one email in one language."""
        ...


# The store, one Protocol per aggregate. DynamoStore (adapters/store) and MemoryStore (adapters/memory) implement
# them all; a use case asks for the narrowest one it needs, so its signature says what it touches.


class EventStore(Protocol):
    """Events: a few a year, read whole."""

    def put_event(self, event: Event) -> None: ...

    def get_event(self, event_id: str) -> Event: ...

    def list_events(self) -> list[Event]: ...

    def events_in_year(self, year: int) -> list[Event]: ...


class ImportStore(Protocol):
    """Participant imports, written in chunks by the import worker."""

    def put_import(self, job: ImportJob, expires_at: datetime) -> None: ...

    def get_import(self, event_id: str, import_id: str) -> ImportJob: ...

    def list_imports(self, event_id: str, limit: int = 5) -> list[ImportJob]: ...

    def mark_import_chunk(
        self, event_id: str, import_id: str, chunk: int, planned: int, now: datetime
    ) -> ImportJob | None: ...

    def finish_import(self, event_id: str, import_id: str, status: str, now: datetime) -> None: ...

    def put_import_chunks(
        self, event_id: str, import_id: str, chunks: Sequence[Sequence[Mapping[str, Any]]], expires_at: datetime
    ) -> None:
        """Keep each chunk's participant records until the sender writes them (the message names the chunk)."""
        ...

    def import_chunk(self, event_id: str, import_id: str, chunk: int) -> list[dict[str, Any]] | None:
        """A chunk's records (strongly consistent), or None once written and dropped, or expired."""
        ...

    def drop_import_chunk(self, event_id: str, import_id: str, chunk: int) -> None: ...

    def scrub_import_chunks(self, event_id: str, participant_id: str) -> int:
        """Remove a participant's records from the event's chunks still waiting; how many chunks changed."""
        ...

    def put_upload(self, event_id: str, upload_id: str, sealed: bytes, expires_at: datetime) -> None:
        """Keep a sealed upload (``domain.pending``) between the mapping step and the import."""
        ...

    def get_upload(self, event_id: str, upload_id: str, now: datetime) -> bytes | None:
        """The sealed upload, or None once dropped or past its expiry."""
        ...

    def drop_upload(self, event_id: str, upload_id: str) -> None: ...

    def put_import_mapping(self, event_id: str, mapping: Mapping[str, str]) -> None:
        """Remember the event's column mapping (a header name, normalised, to our field) for its next upload."""
        ...

    def import_mapping(self, event_id: str) -> dict[str, str]: ...


class ParticipantStore(Protocol):
    """Participants of an event, and the cross-event look-up erasure needs."""

    def list_participants(self, event_id: str) -> list[Participant]: ...

    def get_participant(self, event_id: str, participant_id: str) -> Participant: ...

    def put_participants(self, participants: Iterable[Participant]) -> list[str]:
        """Write whole participants, each unless erased since its ``updated_at`` (an import or a chunk read
        before the erasure); returns the IDs so refused."""
        ...

    def find_participant(self, participant_id: str) -> Participant: ...


class WaveStore(Protocol):
    """Waves: one sending of a questionnaire to an event's participants."""

    def put_wave(self, wave: Wave) -> None: ...

    def rename_wave(self, event_id: str, wave_id: str, name: str | None) -> None:
        """Set (or, with None, clear) the wave's name and nothing else; NotFound for an unknown wave."""
        ...

    def get_wave(self, event_id: str, wave_id: str) -> Wave: ...

    def get_wave_cached(self, event_id: str, wave_id: str) -> Wave:
        """The wave for a participant's page: possibly read a few seconds ago (the store says how long)."""
        ...

    def list_waves(self, event_id: str) -> list[Wave]: ...


class InvitationStore(Protocol):
    """Invitations, the due index and the conditional claims that make sending exactly-once."""

    def create_invitations(self, invitations: Iterable[Invitation]) -> int: ...

    def list_invitations(self, wave_id: str) -> list[Invitation]: ...

    def get_invitation(self, wave_id: str, participant_id: str) -> Invitation: ...

    def due_invitations(self, now: datetime, limit: int) -> Iterator[Invitation]: ...

    def next_due(self, wave_id: str) -> datetime | None:
        """When the wave's earliest email still owed is due (read from an index kept up to date)."""
        ...

    def reschedule(
        self, invitation: Invitation, kind: str | None, due: datetime | None, anchor: datetime | None = None
    ) -> None: ...

    def move_invitation(self, invitation: Invitation, due: datetime, timezone: str) -> bool: ...

    def set_due_now(self, wave_id: str, participant_ids: Iterable[str], now: datetime) -> None: ...

    def went_out_at(self, wave_id: str, participant_id: str) -> datetime | None: ...

    def read_for_sending(self, event_id: str, wave_id: str, participant_id: str) -> SendingRead:
        """What one email needs, read when it is sent (a send job carries IDs only): one batched read."""
        ...

    def claim(self, token: TokenGrant, *, email_key: str, now: datetime) -> ClaimOutcome:
        """Claim the right to send the email of ``token.kind`` to ``token``'s invitee, atomically with storing
        the link token and counting the invitation in the token's cells; ERASED (nothing written) when the
        participant is erased, whenever the erasure came."""
        ...

    def release(
        self, *, wave_id: str, participant_id: str, kind: str, token_hash: str, cells: Mapping[str, str]
    ) -> None: ...

    # One method per outcome; each counts it in the funnel and returns whether it was recorded now (False when
    # it was recorded before, or the invitation is gone). Notifications arrive at least once, so each is
    # recorded at most once: by its timestamp, or (suppressed, rejected) by the status it sets.

    def mark_delivered(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool: ...

    def mark_bounced(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool: ...

    def mark_complained(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool:
        """A complaint is an opt-out said loudly: it sets ``opted_out_at`` and counts in opted_out too."""
        ...

    def mark_opened(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool: ...

    def open_link(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> LinkState:
        """Mark the invitation opened (counted once) and say what it holds, in one write: a participant who
        opens their form for the first time costs the link's read and this. NotFound without an invitation."""
        ...

    def mark_opted_out(self, wave_id: str, participant_id: str, cells: Mapping[str, str], now: datetime) -> bool: ...

    def mark_suppressed(self, wave_id: str, participant_id: str, cells: Mapping[str, str]) -> bool:
        """Skipped before sending: the address is suppressed."""
        ...

    def mark_send_failed(self, wave_id: str, participant_id: str, cells: Mapping[str, str], reason: str) -> bool:
        """SES refused the message when it was sent; counted for every refused claim."""
        ...

    def mark_rejected(self, wave_id: str, participant_id: str, cells: Mapping[str, str]) -> bool:
        """SES's Reject notification for a message it had accepted."""
        ...

    def mark_unsendable(
        self, wave_id: str, participant_id: str, kind: str, cells: Mapping[str, str], reason: str
    ) -> bool:
        """The email of ``kind`` could not be built, so it was never claimed: failed with the reason, counted once,
        and never over an email of that kind that went out."""
        ...


class ResponseStore(Protocol):
    """Responses and the aggregate counter cells they keep up to date."""

    def get_response(self, wave_id: str, participant_id: str) -> Response | None: ...

    def list_responses(self, wave_id: str) -> Iterator[Response]: ...

    def store_response(
        self,
        response: Response,
        *,
        previous: Response | None,
        deltas: Deltas,
        now: datetime,
    ) -> SubmitOutcome:
        """The response and its counters, atomically; STALE when it changed since ``previous`` was read (or
        exists, on a first submit), OPTED_OUT when the participant opted out or has no invitation. Whether
        the wave is still open is the caller's check (``answering``), against ``get_wave_cached``: a
        condition on the wave's item would make every answer of the wave conflict with every other."""
        ...

    def store_anonymous_response(self, response: Response, *, deltas: Deltas, now: datetime) -> SubmitOutcome:
        """An answer that is nobody's invitation (a paper form without a code, an open-link answer) and its
        counters, atomically; STALE when its ID exists already."""
        ...

    def read_cells(self, wave_id: str, dimension: str) -> dict[str, dict[str, int]]: ...

    def scrub_response(self, response: Response, answers: Mapping[str, Any], now: datetime) -> bool: ...


class SuppressionStore(Protocol):
    """Addresses that must never be emailed again."""

    def suppress(self, email_key: str, reason: str, now: datetime) -> bool: ...


class TokenStore(Protocol):
    """Link tokens, by hash."""

    def get_token(self, token_hash: str) -> TokenGrant | None:
        """None for an unknown token and for an expired one (DynamoDB's TTL deletes lazily)."""
        ...

    def put_open_link(self, link: OpenLink) -> None:
        """Store an open link (by its token's hash), expiring after its window."""
        ...

    def get_open_link(self, token_hash: str) -> OpenLink | None:
        """None for an unknown token, and for any token that is not an open link's."""
        ...

    def count_hit(self, key: str, expires_at: datetime) -> int:
        """Add one to a short-lived counter (a rate limit's) and return its new value."""
        ...

    def put_card_tokens(self, grants: Sequence[TokenGrant], now: datetime) -> int:
        """Store the QR cards' tokens not stored yet, each listed on its invitation so that erasure revokes
        it; none for an invitation that is gone. Returns how many were new."""
        ...


class ShareStore(Protocol):
    """Read-only report links, by the hash of their token, listed by event."""

    def put_share(self, share: Share) -> None:
        """Store a new link and list it under its event."""
        ...

    def get_share(self, token_hash: str) -> Share | None:
        """None for an unknown, revoked or expired link (DynamoDB's TTL deletes lazily)."""
        ...

    def list_shares(self, event_id: str) -> list[Share]:
        """The event's links that still work, oldest first."""
        ...

    def delete_share(self, event_id: str, share_id: str) -> bool:
        """Revoke one link of the event; False when it is not one of the event's live links."""
        ...

    def count_share_view(self, token_hash: str) -> None:
        """Add one to the link's views (atomically; nothing when the link is gone)."""
        ...


class ErasureStore(Protocol):
    """Erasure of one participant's personal data."""

    def erase_participant(self, participant: Participant, wave_ids: Iterable[str], now: datetime) -> int: ...

    def revoke_invitation(self, wave_id: str, participant_id: str, now: datetime) -> int:
        """Revoke one invitation's links and stop its emails for good; how many links were revoked."""
        ...


class QuestionnaireStore(Protocol):
    """Stored questionnaire definitions (JSON text), by ID and version."""

    def get_questionnaire_definition(self, questionnaire_id: str, version: int) -> dict[str, Any] | None: ...

    def put_questionnaire_definition(
        self, questionnaire_id: str, version: int, definition: str, now: datetime
    ) -> None: ...

    def list_questionnaire_definitions(self) -> list[dict[str, Any]]: ...


class Store(
    EventStore,
    ImportStore,
    ParticipantStore,
    WaveStore,
    InvitationStore,
    ResponseStore,
    SuppressionStore,
    TokenStore,
    ShareStore,
    ErasureStore,
    QuestionnaireStore,
    Protocol,
):
    """Every aggregate: what the container wires into use cases that span several."""

"""Entities and value objects. Plain dataclasses; the adapters map them to DynamoDB items."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

STAKEHOLDER_GROUPS = (
    "government",
    "civil_society",
    "academia",
    "media",
    "international_organization",
    "private_sector",
    "other",
)
LANGUAGES = ("en", "fr", "es")
# ``mode`` (how an answer came: domain/modes.py) is counted for responses only; invitations have none.
DIMENSIONS = ("stakeholder_group", "region", "income_group", "sponsored", "language", "mode")
FUNNEL_STAGES = ("invited", "delivered", "bounced", "opened", "completed", "opted_out")
# Counted too, beyond the contract's funnel: skipped before sending, SES refused, complaints.
EXTRA_STAGES = ("suppressed", "failed", "complained")


def new_id(prefix: str) -> str:
    """An event's or a wave's ID: its prefix and twelve random hex digits (``ev_…``, ``wv_…``)."""
    return f"{prefix}_{secrets.token_hex(6)}"


Kind = str  # "invitation", "reminder-1", "reminder-2", ... (scheduled) or "manual-1", ... ("send reminders")
INVITATION: Kind = "invitation"


def reminder_kind(n: int) -> Kind:
    return f"reminder-{n}"


def manual_kind(n: int) -> Kind:
    return f"manual-{n}"


def is_manual(kind: Kind) -> bool:
    return kind.startswith("manual-")


@dataclass
class Event:
    event_id: str
    title: str
    starts_on: date
    ends_on: date
    timezone: str
    venue: str = ""
    theme: str = ""
    languages: list[str] = field(default_factory=lambda: list(LANGUAGES))
    created_at: datetime | None = None

    @property
    def year(self) -> int:
        return self.starts_on.year


@dataclass
class Participant:
    event_id: str
    participant_id: str
    email: str
    full_name: str
    organisation: str
    stakeholder_group: str
    country: str
    language: str
    timezone: str
    sponsored: bool
    email_key: str
    region: str = ""
    income_group: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    erased_at: datetime | None = None
    opted_out_at: datetime | None = None

    def cells(self) -> dict[str, str]:
        """The breakdown value of this participant in each reporting dimension."""
        return {
            "stakeholder_group": self.stakeholder_group,
            "region": self.region or "unknown",
            "income_group": self.income_group or "unknown",
            "sponsored": "yes" if self.sponsored else "no",
            "language": self.language,
        }


@dataclass
class OpenRule:
    """Either ``after_event_days`` + ``local_time`` (per participant time zone) or an absolute ``at``."""

    after_event_days: int | None = None
    local_time: str | None = None
    at: datetime | None = None


@dataclass
class CloseRule:
    after_open_days: int | None = None
    at: datetime | None = None


@dataclass
class Wave:
    event_id: str
    wave_id: str
    questionnaire_id: str
    questionnaire_version: int
    opens: OpenRule
    closes: CloseRule
    reminders_after_days: list[int]
    status: Literal["scheduled", "open", "closed"] = "scheduled"
    opened_at: datetime | None = None
    closes_at: datetime | None = None
    created_at: datetime | None = None
    name: str | None = None  # an admin's name for it; None: named from its questionnaire and opening date
    # A series wave (domain/series.py): the events it covers. Empty for a wave of one event. The store keeps a
    # copy of a series wave under each of its events and under SERIES_HOME, so every path that reads a wave by
    # (invitation's event, wave) finds it.
    event_ids: list[str] = field(default_factory=list)


SERIES_HOME = "series"  # the partition listing every series wave
SERIES_DIMENSION = "event"  # a series wave's breakdown by event: a person counts in every event they attended


@dataclass
class Invitation:
    """One participant's place in one wave: which emails went out and what they did."""

    wave_id: str
    participant_id: str
    event_id: str
    cells: dict[str, str]
    language: str
    timezone: str
    email_key: str
    panel_id: str
    due_at: datetime | None = None
    due_kind: Kind | None = None
    sent_kinds: set[str] = field(default_factory=set)
    went_out_at: datetime | None = None  # when the invitation went out (planned until it has); reminders count from it
    status: str = "pending"
    delivered_at: datetime | None = None
    bounced_at: datetime | None = None
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    opted_out_at: datetime | None = None
    failed_reason: str | None = None


@dataclass
class TokenGrant:
    """What a personal link's token opens, and everything a submit needs without reading the invitation:
    the person's cells (for the counters), language, panel and the questionnaire version they were sent.
    Only the token's hash is stored; the token itself is in the email alone."""

    token_hash: str
    event_id: str
    wave_id: str
    participant_id: str
    kind: Kind
    cells: dict[str, str]
    language: str
    panel_id: str
    questionnaire_id: str
    questionnaire_version: int
    expires_at: datetime | None = None


@dataclass
class Share:
    """A read-only link to one wave's report, for people without a sign-in. Only the token's hash is stored;
    the link itself is shown once, when it is made."""

    token_hash: str
    share_id: str
    event_id: str
    wave_id: str
    by: str
    lang: str
    include_comments: bool
    created_at: datetime
    expires_at: datetime
    views: int = 0


@dataclass
class Response:
    wave_id: str
    participant_id: str
    event_id: str
    panel_id: str
    answers: dict[str, str | list[str]]
    cells: dict[str, str]
    language: str
    version: int = 1
    submitted_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def mode(self) -> str:
        """How it was answered (domain/modes.py): kept in its cells; ``email`` when stored before modes."""
        return self.cells.get("mode") or "email"


@dataclass
class ImportJob:
    """A registration list imported in the background: the rows to write go through the send queue in
    chunks, and each chunk, once written, adds its number to ``done_chunks`` (a set, so a redelivered chunk
    counts once). The counts of the merge and the rejected rows are known when the job starts."""

    event_id: str
    import_id: str
    rows: int  # participants to write: new ones and changed ones
    chunk_rows: int
    imported: int
    updated: int
    unchanged: int
    rejected: list[dict[str, object]]  # the first rejections (row numbers and reasons, no personal data)
    rejected_count: int
    created_at: datetime
    status: Literal["running", "done", "failed"] = "running"
    done_chunks: frozenset[int] = frozenset()
    invitations_planned: int = 0
    finished_at: datetime | None = None
    progressed_at: datetime | None = None  # when the last chunk was written
    detected: dict[str, Any] = field(default_factory=dict)  # in the answer to the upload only: never stored

    @property
    def chunks(self) -> int:
        return -(-self.rows // self.chunk_rows)

    def chunk_size(self, number: int) -> int:
        return max(0, min(self.chunk_rows, self.rows - number * self.chunk_rows))

    @property
    def written(self) -> int:
        return sum(self.chunk_size(n) for n in self.done_chunks)

    @property
    def percent(self) -> int:
        return 100 if not self.rows else int(100 * self.written / self.rows)

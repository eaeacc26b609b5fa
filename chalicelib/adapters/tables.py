"""PynamoDB models: one per table, each documenting the access patterns it serves.

Table names, region and endpoint come from settings at call time through ``bind()``: PynamoDB reads
``Meta`` when a connection is first made, so ``bind()`` rewrites ``Meta`` and drops cached connections
whenever the settings change. The key schemas here must match ``infra/template.json``; a test checks it.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.settings import Settings


class _Meta:
    table_name = "unbound"
    region = "us-east-1"
    host: str | None = None


class ByYear(GlobalSecondaryIndex["EventItem"]):
    class Meta:
        index_name = "by-year"
        projection = AllProjection()

    year = UnicodeAttribute(hash_key=True)
    starts_on = UnicodeAttribute(range_key=True)


class EventItem(Model):
    """events: GetItem by event_id; the programme view queries ``by-year``."""

    class Meta(_Meta):
        logical = "events"

    event_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    theme = UnicodeAttribute(default="")
    venue = UnicodeAttribute(default="")
    timezone = UnicodeAttribute()
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute()
    year = UnicodeAttribute()
    languages = ListAttribute(of=UnicodeAttribute)  # type: ignore[var-annotated]
    created_at = UTCDateTimeAttribute()
    by_year = ByYear()


class ParticipantItem(Model):
    """participants: Query by event_id (import merge, listing); GetItem by (event_id, participant_id)."""

    class Meta(_Meta):
        logical = "participants"

    event_id = UnicodeAttribute(hash_key=True)
    participant_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute(null=True)
    email_key = UnicodeAttribute()
    full_name = UnicodeAttribute(null=True)
    organisation = UnicodeAttribute(null=True)
    stakeholder_group = UnicodeAttribute()
    country = UnicodeAttribute()
    region = UnicodeAttribute(default="")
    income_group = UnicodeAttribute(default="")
    language = UnicodeAttribute()
    timezone = UnicodeAttribute(default="")
    sponsored = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    erased_at = UTCDateTimeAttribute(null=True)
    opted_out_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class WaveItem(Model):
    """waves: Query by event_id; GetItem by (event_id, wave_id); ConditionCheck on submit (still open)."""

    class Meta(_Meta):
        logical = "waves"

    event_id = UnicodeAttribute(hash_key=True)
    wave_id = UnicodeAttribute(range_key=True)
    questionnaire_id = UnicodeAttribute()
    questionnaire_version = NumberAttribute()
    opens = MapAttribute()  # type: ignore[var-annotated]
    closes = MapAttribute()  # type: ignore[var-annotated]
    reminders_after_days = ListAttribute(of=NumberAttribute)  # type: ignore[var-annotated]
    status = UnicodeAttribute(default="scheduled")
    opened_at = UTCDateTimeAttribute(null=True)
    closes_at = UTCDateTimeAttribute(null=True)
    closes_epoch = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    name = UnicodeAttribute(null=True)  # set by an admin (UpdateItem); absent: the default name is computed
    # A series wave: its events; it is stored once under each of them and once under "series" (domain/series.py).
    event_ids = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[var-annotated]


class DueIndex(GlobalSecondaryIndex["InvitationItem"]):
    """Sparse: only invitations still owed an email carry ``due_shard``/``due_at``."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class WaveDueIndex(GlobalSecondaryIndex["InvitationItem"]):
    """Sparse, keys only: a wave's invitations still owed an email, by due time; its first is the next send."""

    class Meta:
        index_name = "wave-due"
        projection = KeysOnlyProjection()

    wave_id = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class InvitationItem(Model):
    """invitations: one per (wave, participant). Query by wave_id; the scheduler queries ``due``, a wave's next
    send ``wave-due``."""

    class Meta(_Meta):
        logical = "invitations"

    wave_id = UnicodeAttribute(hash_key=True)
    participant_id = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    cells = MapAttribute()  # type: ignore[var-annotated]
    language = UnicodeAttribute()
    timezone = UnicodeAttribute(default="")
    email_key = UnicodeAttribute()
    panel_id = UnicodeAttribute()
    # When the invitation went out (planned until then): the day reminders count from. Stored under its first
    # name, so tables written before the rename read unchanged.
    went_out_at = UnicodeAttribute(attr_name="first_due_at")
    due_shard = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    due_kind = UnicodeAttribute(null=True)
    sent_kinds = UnicodeSetAttribute(null=True)
    token_hashes = UnicodeSetAttribute(null=True)  # every link sent, so erasure can revoke them all
    status = UnicodeAttribute(default="pending")
    delivered_at = UTCDateTimeAttribute(null=True)
    bounced_at = UTCDateTimeAttribute(null=True)
    opened_at = UTCDateTimeAttribute(null=True)
    completed_at = UTCDateTimeAttribute(null=True)
    opted_out_at = UTCDateTimeAttribute(null=True)
    failed_reason = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    due = DueIndex()
    wave_due = WaveDueIndex()


class TokenItem(Model):
    """tokens: GetItem by the SHA-256 of a personal link's token. Holds what a submit needs."""

    class Meta(_Meta):
        logical = "tokens"

    token_hash = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute()
    wave_id = UnicodeAttribute()
    participant_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    cells = MapAttribute()  # type: ignore[var-annotated]
    language = UnicodeAttribute()
    panel_id = UnicodeAttribute()
    questionnaire_id = UnicodeAttribute()
    questionnaire_version = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class ShareItem(Model):
    """tokens, kind "share": GetItem by the SHA-256 of a shared report link's token (PutItem on creation,
    UpdateItem ADD views on each view, DeleteItem to revoke). The same table as the survey links, so that a
    link is a link: hash-only, expiring by TTL. ``get_token`` refuses this kind."""

    class Meta(_Meta):
        logical = "tokens"

    token_hash = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="share")
    share_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    wave_id = UnicodeAttribute()
    by = UnicodeAttribute()
    lang = UnicodeAttribute()
    include_comments = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    views = NumberAttribute(default=0)


class OpenLinkItem(Model):
    """tokens, kind "open": GetItem by the SHA-256 of a slide's open link (PutItem on creation), expiring by
    TTL after its window. ``get_token`` refuses this kind: it opens the anonymous form only."""

    class Meta(_Meta):
        logical = "tokens"

    token_hash = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="open")
    event_id = UnicodeAttribute()
    wave_id = UnicodeAttribute()
    opens_at = UTCDateTimeAttribute()
    closes_at = UTCDateTimeAttribute()
    ask_group = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class HitItem(Model):
    """tokens, key "rate#<hash>#<window>": a rate limit's counter (UpdateItem ADD hits), gone by TTL."""

    class Meta(_Meta):
        logical = "tokens"

    token_hash = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="rate")
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class ShareListItem(Model):
    """tokens, key "shares#<event_id>": the hashes of an event's shared links (UpdateItem ADD/DELETE on the
    set), so that listing them is one GetItem and one BatchGetItem, never a Scan."""

    class Meta(_Meta):
        logical = "tokens"

    token_hash = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="share-list")
    hashes = UnicodeSetAttribute(null=True)


class ResponseItem(Model):
    """responses: one per (wave, participant); conditional put on first submit, versioned on edit."""

    class Meta(_Meta):
        logical = "responses"

    wave_id = UnicodeAttribute(hash_key=True)
    participant_id = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    panel_id = UnicodeAttribute()
    answers = MapAttribute()  # type: ignore[var-annotated]
    cells = MapAttribute()  # type: ignore[var-annotated]
    language = UnicodeAttribute()
    version = NumberAttribute()
    submitted_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class AggregateItem(Model):
    """aggregates: per (wave, ``<dimension>#<value>``) counters; a summary is one Query of one dimension.

    Counter attributes are dynamic: ``f:<stage>`` funnel, ``n:<question>`` answered,
    ``a:<question>:<value>`` answer counts. They are read raw, because PynamoDB drops undeclared ones.
    """

    class Meta(_Meta):
        logical = "aggregates"

    wave_id = UnicodeAttribute(hash_key=True)
    cell = UnicodeAttribute(range_key=True)


class SuppressionItem(Model):
    """suppressions: GetItem / ConditionCheck by keyed email hash; bounces, complaints and opt-outs."""

    class Meta(_Meta):
        logical = "suppressions"

    email_key = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class QuestionnaireItem(Model):
    """questionnaires: custom definitions, immutable per (id, version)."""

    class Meta(_Meta):
        logical = "questionnaires"

    questionnaire_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    definition = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class AuthAttemptItem(Model):
    """auth_attempts: failed dashboard sign-ins per keyed hash of the address (never the address).

    One item per address: UpdateItem adds to ``failures`` while ``window_started`` is recent, else
    starts a new window; GetItem before each sign-in. Expires by TTL once the window is over.
    """

    class Meta(_Meta):
        logical = "auth_attempts"

    attempt_key = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(default=0)
    window_started = NumberAttribute()  # epoch seconds of the window's first failure
    expires_at = TTLAttribute(null=True)


class ImportItem(Model):
    """imports: background imports of registration lists, per event (Query by event for the event page,
    GetItem for the status page, UpdateItem ADD for each chunk written). No personal data: counts, row
    numbers and reasons. Expires by TTL a month after the import. (The same table holds the chunks' rows
    until they are written: ``ImportChunkItem``.)"""

    class Meta(_Meta):
        logical = "imports"

    event_id = UnicodeAttribute(hash_key=True)
    import_id = UnicodeAttribute(range_key=True)  # "im_" + UTC timestamp + random: sorts by start time
    status = UnicodeAttribute()
    rows = NumberAttribute()
    chunk_rows = NumberAttribute()
    imported = NumberAttribute()
    updated = NumberAttribute()
    unchanged = NumberAttribute()
    rejected = UnicodeAttribute()  # JSON list of {row, reason}
    rejected_count = NumberAttribute()
    done_chunks = NumberSetAttribute(null=True)
    invitations_planned = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    progressed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class ImportChunkItem(Model):
    """imports, too: the rows of one chunk of a background import, waiting for the sender to write them, so
    the queue message carries IDs only (issue 13, defect 4). Range key ``#chunk#<import_id>#<n>`` (sorts
    before every import's key). Deleted once written, scrubbed of a participant erased meanwhile,
    and expires by TTL with the dead-letter queue's retention."""

    class Meta(_Meta):
        logical = "imports"

    event_id = UnicodeAttribute(hash_key=True)
    import_id = UnicodeAttribute(range_key=True)
    participants = UnicodeAttribute()  # JSON list of participant records
    expires_at = TTLAttribute(null=True)


class ImportUploadItem(Model):
    """imports, too: one part (under 300 kB) of a sealed upload waiting between the dashboard's mapping step
    and "Import" (``domain.pending``: ciphertext whose key only the admin's form holds). Range key
    ``#upload#<upload_id>#<n>``. Deleted by the import; past ``expires_at`` it is never read, and TTL
    removes it."""

    class Meta(_Meta):
        logical = "imports"

    event_id = UnicodeAttribute(hash_key=True)
    import_id = UnicodeAttribute(range_key=True)
    data = BinaryAttribute(legacy_encoding=False)
    expires_at = TTLAttribute()


class ImportMappingItem(Model):
    """imports, too: the event's column mapping, remembered for its next upload (range key ``#mapping``):
    header names and field names, nothing personal."""

    class Meta(_Meta):
        logical = "imports"

    event_id = UnicodeAttribute(hash_key=True)
    import_id = UnicodeAttribute(range_key=True)
    mapping = UnicodeAttribute()  # JSON object: normalised header name to field


MODELS: tuple[type[Model], ...] = (
    EventItem,
    ParticipantItem,
    WaveItem,
    InvitationItem,
    TokenItem,
    ShareItem,
    ShareListItem,
    OpenLinkItem,  # two more kinds of item in the tokens table
    HitItem,
    ResponseItem,
    AggregateItem,
    SuppressionItem,
    QuestionnaireItem,
    AuthAttemptItem,
    ImportItem,
    ImportChunkItem,  # a second kind of item in the imports table
    ImportUploadItem,  # and a third
    ImportMappingItem,  # and a fourth
)

_bound: tuple[str, str | None, str] | None = None
_connection: Connection | None = None


def bind(settings: Settings) -> None:
    """Point every model at the stage's tables and endpoint; cheap when nothing changed."""
    global _bound, _connection
    key = (settings.table_prefix, settings.endpoint_url, settings.region)
    if key == _bound:
        return
    for model in MODELS:
        meta: Any = model.Meta
        meta.table_name = settings.table(meta.logical)
        meta.region = settings.region
        meta.host = settings.endpoint_url
        model._connection = None
    _connection = None
    _bound = key


def connection() -> Connection:
    """The low-level connection used for transactions; created on first use."""
    global _connection
    if _connection is None:
        meta: Any = EventItem.Meta
        _connection = Connection(region=meta.region, host=meta.host)
    return _connection


def unbind() -> None:
    global _bound, _connection
    _bound = None
    _connection = None
    for model in MODELS:
        model._connection = None

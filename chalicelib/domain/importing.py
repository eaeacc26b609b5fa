"""Importing a registration list from the dashboard, in the request or in the background.

A list is validated and matched to the stored participants in the request (pure work after one Query),
so the rejected rows and the counts are known at once. A short list is then written in the request. A
long one becomes an ``ImportJob``: its participants go through the send queue in chunks, the sender
writes each chunk whole and plans its invitations, and the job's status line reads the chunks done. A
redelivered chunk writes the same items again and counts once, so nothing is half-imported or doubled.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain import planning, registration
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import ImportJob, Participant
from chalicelib.domain.ports import Store

MAX_CSV = registration.MAX_BYTES  # the largest list an upload takes, in bytes: split a larger one
CHUNK_ROWS = 200  # about 70 kB of JSON: one SQS message, and a few seconds of writes
KEPT_REJECTIONS = 1000  # the job item stays far below DynamoDB's 400 kB
KEEP_JOB = timedelta(days=30)
KEEP_CHUNK = timedelta(days=14)  # a chunk's rows, until written: as long as the dead-letter queue keeps a message
STALLED_AFTER = timedelta(minutes=15)
MESSAGE_KEY = "import_chunk"
_DATES = ("created_at", "updated_at", "erased_at", "opted_out_at")


def new_import_id(now: datetime) -> str:
    return f"im_{now.strftime('%Y%m%dT%H%M%S')}_{secrets.token_hex(4)}"


def start_import(
    store: Store,
    queue: Any,
    event_id: str,
    upload: str | bytes,
    *,
    secret: str,
    panel_secret: str,
    now: datetime,
    inline_rows: int,
    chunk_rows: int = CHUNK_ROWS,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> planning.ImportReport | ImportJob:
    """Import at once when at most ``inline_rows`` participants change; else start a background job."""
    event, parsed, merge = planning.prepare_import(
        store, event_id, upload, secret=secret, now=now, sheet=sheet, columns=columns
    )
    if len(merge.to_write) <= inline_rows:
        planned = planning.write_participants(store, event, merge.to_write, panel_secret=panel_secret, now=now)
        return planning.ImportReport(
            merge.imported, merge.updated + merge.unchanged, merge.unchanged, parsed.rejected, planned, parsed.detected
        )
    job = ImportJob(
        event_id=event_id,
        import_id=new_import_id(now),
        rows=len(merge.to_write),
        chunk_rows=chunk_rows,
        imported=merge.imported,
        updated=merge.updated + merge.unchanged,
        unchanged=merge.unchanged,
        rejected=parsed.rejected[:KEPT_REJECTIONS],
        rejected_count=len(parsed.rejected),
        created_at=now,
        detected=parsed.detected,
    )
    store.put_import(job, now + KEEP_JOB)
    # The rows wait in the store, where an erasure reaches them; the queue (and its dead-letter queue) sees IDs.
    chunks = [
        [participant_record(p) for p in merge.to_write[start : start + chunk_rows]]
        for start in range(0, len(merge.to_write), chunk_rows)
    ]
    store.put_import_chunks(event_id, job.import_id, chunks, now + KEEP_CHUNK)
    messages = [
        {MESSAGE_KEY: {"event_id": event_id, "import_id": job.import_id, "chunk": number}}
        for number in range(len(chunks))
    ]
    try:
        queue.enqueue(messages)
    except Exception:
        # Some chunks may be queued: they are written, but the job says it failed, so the list is
        # uploaded again (idempotent) rather than trusted.
        store.finish_import(event_id, job.import_id, "failed", now)
        raise
    return job


def apply_chunk(store: Store, message: Mapping[str, Any], *, panel_secret: str, now: datetime) -> ImportJob | None:
    """Write one chunk of a background import (whole participants), plan their invitations, and drop the
    chunk's rows. A chunk delivered again after it was written finds no rows and changes nothing; None when
    the job or its rows expired. (A message queued by an earlier version carries its rows: they are used.)"""
    event_id, import_id, chunk = str(message["event_id"]), str(message["import_id"]), int(message["chunk"])
    records = message.get("participants")
    if records is None:
        records = store.import_chunk(event_id, import_id, chunk)
        if records is None:
            try:
                known = store.get_import(event_id, import_id)
            except NotFound:
                return None
            return known if chunk in known.done_chunks else None
    participants = [participant_from_record(r) for r in records]
    if any(p.event_id != event_id for p in participants):
        raise ValueError("a chunk mixes events")
    event = store.get_event(event_id)
    planned = planning.write_participants(store, event, participants, panel_secret=panel_secret, now=now)
    job = store.mark_import_chunk(event_id, import_id, chunk, planned, now)
    store.drop_import_chunk(event_id, import_id, chunk)
    return job


def participant_record(p: Participant) -> dict[str, Any]:
    record = asdict(p)
    for name in _DATES:
        if record[name] is not None:
            record[name] = record[name].isoformat()
    return record


def participant_from_record(record: Mapping[str, Any]) -> Participant:
    fields = dict(record)
    for name in _DATES:
        if fields.get(name) is not None:
            fields[name] = datetime.fromisoformat(fields[name])
    return Participant(**fields)


def job_view(job: ImportJob, now: datetime) -> dict[str, Any]:
    """What the status page and the JSON API show: progress, the counts and the rejected rows."""
    stalled = job.status == "running" and now - (job.progressed_at or job.created_at) > STALLED_AFTER
    return {
        "import_id": job.import_id,
        "status": job.status,
        "stalled": stalled,
        "rows": job.rows,
        "written": job.written,
        "percent": job.percent,
        "chunks": job.chunks,
        "chunks_done": len(job.done_chunks),
        "imported": job.imported,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
        "rejected_count": job.rejected_count,
        "invitations_planned": job.invitations_planned,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        **({"detected": job.detected} if job.detected else {}),
    }


def running(jobs: Sequence[ImportJob]) -> list[ImportJob]:
    return [j for j in jobs if j.status == "running"]

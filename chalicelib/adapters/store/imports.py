"""DynamoStore, background imports: one item per import, the chunks written kept as a set; and one item per
chunk still to write, holding its participant records (``tables.ImportChunkItem``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters import tables as t
from chalicelib.adapters.store.base import StoreBusy, throttled
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import ImportJob

CHUNK_PREFIX = "#chunk#"  # "#" sorts before any import id (letters and digits): the imports are the keys > "$"
UPLOAD_PREFIX = "#upload#"
MAPPING_KEY = "#mapping"
UPLOAD_PART = 300 * 1024  # DynamoDB's item limit is 400 kB


def _chunk_key(import_id: str, chunk: int) -> str:
    return f"{CHUNK_PREFIX}{import_id}#{chunk:05d}"


class DynamoImports:
    def put_import(self, job: ImportJob, expires_at: datetime) -> None:
        t.ImportItem(
            job.event_id,
            job.import_id,
            status=job.status,
            rows=job.rows,
            chunk_rows=job.chunk_rows,
            imported=job.imported,
            updated=job.updated,
            unchanged=job.unchanged,
            rejected=json.dumps(job.rejected, separators=(",", ":")),
            rejected_count=job.rejected_count,
            done_chunks=set(job.done_chunks) or None,
            invitations_planned=job.invitations_planned,
            created_at=job.created_at,
            finished_at=job.finished_at,
            expires_at=expires_at,
        ).save()

    def get_import(self, event_id: str, import_id: str) -> ImportJob:
        try:
            return self._import(t.ImportItem.get(event_id, import_id, consistent_read=True))
        except DoesNotExist:
            raise NotFound("import not found") from None

    def list_imports(self, event_id: str, limit: int = 5) -> list[ImportJob]:
        """The event's latest imports, newest first (import ids sort by start time)."""
        items = t.ImportItem.query(event_id, t.ImportItem.import_id > "$", scan_index_forward=False, limit=limit)
        return [self._import(i) for i in items]

    def mark_import_chunk(
        self, event_id: str, import_id: str, chunk: int, planned: int, now: datetime
    ) -> ImportJob | None:
        """Record one written chunk (idempotent: a set); the last one marks the job done. None when the
        job no longer exists (expired)."""
        item = t.ImportItem(event_id, import_id)
        try:
            item.update(
                actions=[
                    t.ImportItem.done_chunks.add({chunk}),
                    t.ImportItem.invitations_planned.add(planned),
                    t.ImportItem.progressed_at.set(now),
                ],
                condition=t.ImportItem.import_id.exists(),
            )
        except UpdateError as exc:
            if throttled(exc):
                raise StoreBusy.from_error(exc) from exc
            if "ConditionalCheckFailed" in str(exc):
                return None
            raise
        job = self._import(item)
        if job.status == "running" and len(job.done_chunks) >= job.chunks:
            self.finish_import(event_id, import_id, "done", now)
            job.status, job.finished_at = "done", now
        return job

    def finish_import(self, event_id: str, import_id: str, status: str, now: datetime) -> None:
        """Move a running job to ``done`` or ``failed``, once."""
        try:
            t.ImportItem(event_id, import_id).update(
                actions=[t.ImportItem.status.set(status), t.ImportItem.finished_at.set(now)],
                condition=t.ImportItem.status == "running",
            )
        except UpdateError as exc:
            if "ConditionalCheckFailed" not in str(exc):
                raise

    def put_import_chunks(
        self, event_id: str, import_id: str, chunks: Sequence[Sequence[Mapping[str, Any]]], expires_at: datetime
    ) -> None:
        with t.ImportChunkItem.batch_write() as batch:
            for number, records in enumerate(chunks):
                batch.save(
                    t.ImportChunkItem(
                        event_id,
                        _chunk_key(import_id, number),
                        participants=json.dumps(list(records), separators=(",", ":")),
                        expires_at=expires_at,
                    )
                )

    def import_chunk(self, event_id: str, import_id: str, chunk: int) -> list[dict[str, Any]] | None:
        try:
            item = t.ImportChunkItem.get(event_id, _chunk_key(import_id, chunk), consistent_read=True)
        except DoesNotExist:
            return None
        records = json.loads(item.participants)
        return [dict(r) for r in records]

    def drop_import_chunk(self, event_id: str, import_id: str, chunk: int) -> None:
        t.ImportChunkItem(event_id, _chunk_key(import_id, chunk)).delete()

    def scrub_import_chunks(self, event_id: str, participant_id: str) -> int:
        changed = 0
        for item in t.ImportChunkItem.query(
            event_id, t.ImportChunkItem.import_id.startswith(CHUNK_PREFIX), consistent_read=True
        ):
            records = json.loads(item.participants)
            kept = [r for r in records if r.get("participant_id") != participant_id]
            if len(kept) == len(records):
                continue
            item.participants = json.dumps(kept, separators=(",", ":"))
            item.save()
            changed += 1
        return changed

    def put_upload(self, event_id: str, upload_id: str, sealed: bytes, expires_at: datetime) -> None:
        with t.ImportUploadItem.batch_write() as batch:
            for number, start in enumerate(range(0, max(len(sealed), 1), UPLOAD_PART)):
                batch.save(
                    t.ImportUploadItem(
                        event_id,
                        f"{UPLOAD_PREFIX}{upload_id}#{number:04d}",
                        data=sealed[start : start + UPLOAD_PART],
                        expires_at=expires_at,
                    )
                )

    def _upload_parts(self, event_id: str, upload_id: str) -> list[t.ImportUploadItem]:
        prefix = f"{UPLOAD_PREFIX}{upload_id}#"
        return list(
            t.ImportUploadItem.query(event_id, t.ImportUploadItem.import_id.startswith(prefix), consistent_read=True)
        )

    def get_upload(self, event_id: str, upload_id: str, now: datetime) -> bytes | None:
        parts = self._upload_parts(event_id, upload_id)
        if not parts or any(p.expires_at is None or p.expires_at <= now for p in parts):
            return None
        return b"".join(bytes(p.data) for p in parts)

    def drop_upload(self, event_id: str, upload_id: str) -> None:
        parts = self._upload_parts(event_id, upload_id)
        with t.ImportUploadItem.batch_write() as batch:
            for part in parts:
                batch.delete(part)

    def put_import_mapping(self, event_id: str, mapping: Mapping[str, str]) -> None:
        t.ImportMappingItem(event_id, MAPPING_KEY, mapping=json.dumps(dict(mapping), sort_keys=True)).save()

    def import_mapping(self, event_id: str) -> dict[str, str]:
        try:
            item = t.ImportMappingItem.get(event_id, MAPPING_KEY)
        except DoesNotExist:
            return {}
        value = json.loads(item.mapping)
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    @staticmethod
    def _import(item: t.ImportItem) -> ImportJob:
        status = item.status if item.status in ("running", "done", "failed") else "failed"
        return ImportJob(
            event_id=item.event_id,
            import_id=item.import_id,
            rows=int(item.rows),
            chunk_rows=int(item.chunk_rows),
            imported=int(item.imported),
            updated=int(item.updated),
            unchanged=int(item.unchanged),
            rejected=json.loads(item.rejected or "[]"),
            rejected_count=int(item.rejected_count),
            created_at=item.created_at,
            status=status,  # type: ignore[arg-type]
            done_chunks=frozenset(int(n) for n in (item.done_chunks or ())),
            invitations_planned=int(item.invitations_planned or 0),
            finished_at=item.finished_at,
            progressed_at=item.progressed_at,
        )

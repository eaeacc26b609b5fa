"""Uploading a registration list: a short one is imported in the request, a long one in the background with a
status page that follows it. The import itself is ``container.start_import``, the JSON API's too."""

from __future__ import annotations

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard.framework import Ctx, page, redirect, render
from chalicelib.domain import importing
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import ImportJob
from chalicelib.observability import log_event


@page(
    "/dashboard/events/{event_id}/participants",
    method="POST",
    role="admin",
    purpose="import:{event_id}",
    upload=True,
)
def dash_import(ctx: Ctx, event_id: str) -> Response:
    event = container.store().get_event(event_id)
    raw = ctx.files.get("csv", b"")
    if not raw.strip():
        raise ValidationFailed("choose a CSV file to upload")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("the CSV must be UTF-8; save it as “CSV UTF-8” and upload it again") from None
    outcome = container.start_import(event_id, text)
    if isinstance(outcome, ImportJob):
        log_event(
            "dashboard import started", event_id=event_id, import_id=outcome.import_id, rows=outcome.rows,
            rejected=outcome.rejected_count,
        )  # fmt: skip
        return redirect(f"/dashboard/events/{event_id}/imports/{outcome.import_id}")
    log_event(
        "dashboard import", event_id=event_id, imported=outcome.imported, updated=outcome.updated,
        rejected=len(outcome.rejected),
    )  # fmt: skip
    return render("import_result", session=ctx.session, event=event, report=outcome.view(), job=None, state="done")


@page("/dashboard/events/{event_id}/imports/{import_id}", role="admin")
def dash_import_status(ctx: Ctx, event_id: str, import_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    job = importing.job_view(store.get_import(event_id, import_id), container.now())
    response = render("import_result", session=ctx.session, event=event, job=job, report=None, state=job["status"])
    response.headers["Cache-Control"] = "no-store"
    return response

"""Uploading a registration list: the upload shows a mapping step (the detected format, the first rows, one
select per column pre-filled with the event's remembered mapping or the guess), then "Import" imports it; a
short list in the request, a long one in the background with a status page that follows it. The import
itself is ``container.start_import``, the JSON API's too.

Between the two steps the file is kept sealed (``domain.pending``): the store holds ciphertext for an hour
at most, and the key travels only in the mapping form's MAC'd state."""

from __future__ import annotations

import base64
import functools
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chalice.app import Response

from chalicelib import container
from chalicelib.api.dashboard.framework import Ctx, page, redirect, render, secret
from chalicelib.api.session import open_state, seal_state
from chalicelib.domain import importing, pending, registration, reporting
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import ImportJob
from chalicelib.domain.planning import ImportReport
from chalicelib.observability import log_event

TEMPLATE_FILE = Path(__file__).resolve().parent.parent.parent / "data" / "registration-list.xlsx"
KEEP_UPLOAD = timedelta(hours=1)
STATE_PURPOSE = "import-upload"
SHOWN_ROWS = 5
FIELD_LABELS = {
    "email": "Email",
    "full_name": "Full name",
    "first_name": "First name",
    "last_name": "Last name",
    "organisation": "Organisation",
    "stakeholder_group": "Stakeholder group",
    "country": "Country",
    "language": "Language",
    "timezone": "Time zone",
    "sponsored": "Sponsored",
}
TEMPLATE_EXAMPLE = [
    "ada@example.org", "Ada Lovelace", "Analytical Engines", "academia", "GB", "en", "Europe/London", "no",
]  # fmt: skip


def _format_line(detected: dict[str, Any]) -> str:
    if detected.get("format") == "xlsx":
        sheets = detected.get("sheets") or []
        more = f" (of {len(sheets)} sheets)" if len(sheets) > 1 else ""
        return f"Excel workbook, sheet “{detected.get('sheet')}”{more}"
    return f"Text, {detected.get('encoding')}, separated by {detected.get('separator')}s"


def _prefilled(event_id: str, header: list[str]) -> list[str]:
    """For each column, the field it fed last time (by normalised name), else the guess, else nothing."""
    remembered = container.store().import_mapping(event_id)
    guess = {index: name for name, index in registration.guess_mapping(header).columns.items()}
    chosen: list[str] = []
    for index, name in enumerate(header):
        field = remembered.get(registration.normalise_header(name), guess.get(index, ""))
        chosen.append(field if field not in chosen or not field else "")
    return chosen


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
        raise ValidationFailed("choose a file to upload: CSV, tab-separated text or .xlsx")
    sheet = ctx.text("sheet") or None
    table = registration.read_table(raw, sheet=sheet)
    if not [name for name in table.header if name.strip()]:
        raise ValidationFailed("the first row of the file is empty; it must name the columns")
    key, sealed = pending.seal_upload(raw)
    upload_id = "up_" + secrets.token_hex(8)
    now = container.now()
    container.store().put_upload(event_id, upload_id, sealed, now + KEEP_UPLOAD)
    state = seal_state(
        secret(),
        STATE_PURPOSE,
        {"event": event_id, "upload": upload_id, "key": key, "sheet": table.detected.get("sheet")},
        int(now.timestamp()),
    )
    log_event("dashboard import mapping", event_id=event_id, rows=len(table.rows), columns=len(table.header))
    return _mapping_page(ctx, event, state, table, _prefilled(event_id, table.header))


def _mapping_page(
    ctx: Ctx, event: Any, state: str, table: registration.Table, chosen: list[str], error: str = "", status: int = 200
) -> Response:
    return render(
        "import_mapping",
        session=ctx.session,
        status=status,
        event=event,
        state=state,
        format_line=_format_line(table.detected),
        header=table.header,
        chosen=chosen,
        rows=registration.first_rows(table, SHOWN_ROWS),
        samples=[
            next((cells[i] for _, cells in table.rows[:SHOWN_ROWS] if i < len(cells) and cells[i].strip()), "")
            for i in range(len(table.header))
        ],
        row_count=len(table.rows),
        fields=FIELD_LABELS,
        error=error,
    )


@page(
    "/dashboard/events/{event_id}/participants/mapped",
    method="POST",
    role="admin",
    purpose="import:{event_id}",
)
def dash_import_mapped(ctx: Ctx, event_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    now = container.now()
    state = open_state(
        secret(), STATE_PURPOSE, ctx.text("state"), int(now.timestamp()), int(KEEP_UPLOAD.total_seconds())
    )
    if state is None or state.get("event") != event_id:
        raise ValidationFailed("the uploaded file has expired or cannot be found; upload it again")
    sealed = store.get_upload(event_id, str(state["upload"]), now)
    if sealed is None:
        raise ValidationFailed("the uploaded file has expired or was already imported; upload it again")
    raw = pending.open_upload(str(state["key"]), sealed)
    sheet = state.get("sheet") if isinstance(state.get("sheet"), str) else None
    table = registration.read_table(raw, sheet=sheet)
    chosen = [ctx.text(f"col-{index}") for index in range(len(table.header))]
    columns: dict[str, str] = {}
    problem = ""
    for name, field in zip(table.header, chosen, strict=True):
        if not field:
            continue
        if field not in FIELD_LABELS:
            raise ValidationFailed(f"unknown field {field!r} chosen for the column {name!r}")
        if field in columns:
            problem = (
                f"{FIELD_LABELS[field]} is chosen for two columns (“{columns[field]}” and “{name}”); choose it once"
            )
        columns[field] = name
    missing = registration.missing_fields(columns)
    if not problem and missing:
        problem = "choose a column for " + ", ".join(FIELD_LABELS[f].lower() for f in missing)
    if problem:
        return _mapping_page(ctx, event, ctx.text("state"), table, chosen, problem, status=400)
    outcome = container.start_import(event_id, raw, sheet=sheet, columns=columns)
    store.put_import_mapping(event_id, {registration.normalise_header(name): field for field, name in columns.items()})
    store.drop_upload(event_id, str(state["upload"]))
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
    return render(
        "import_result",
        session=ctx.session,
        event=event,
        report=outcome.view(),
        job=None,
        state="done",
        rejected_csv=_rejected_csv(raw, sheet, outcome),
    )


def _rejected_csv(raw: bytes, sheet: str | None, report: ImportReport) -> str | None:
    """The rejected rows as they were in the file, with the reason, for the admin to fix and upload again
    (a data: link in the page: the rows were the admin's already, and nothing is kept to serve them)."""
    if not report.rejected:
        return None
    table = registration.read_table(raw, sheet=sheet)
    by_number = dict(table.rows)
    rows = [
        [*by_number.get(int(str(r["row"])), []), str(r["row"]), str(r.get("column") or ""), str(r["reason"])]
        for r in report.rejected
    ]
    width = len(table.header)
    rows = [(cells[:-3] + [""] * width)[:width] + cells[-3:] for cells in rows]
    text = reporting.csv_text([*table.header, "Row in the uploaded file", "Column", "Problem"], rows)
    return "data:text/csv;charset=utf-8," + quote(text)


@page("/dashboard/events/{event_id}/imports/{import_id}", role="admin")
def dash_import_status(ctx: Ctx, event_id: str, import_id: str) -> Response:
    store = container.store()
    event = store.get_event(event_id)
    job = importing.job_view(store.get_import(event_id, import_id), container.now())
    response = render(
        "import_result", session=ctx.session, event=event, job=job, report=None, state=job["status"], rejected_csv=None
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@functools.cache
def template_links() -> dict[str, str]:
    """The blank list to fill in, as data: links on the event page (CSV, and the committed .xlsx made by
    ``tools/gen_import_template.py``): no binary response, which API Gateway would hand a browser as base64
    unless its Accept header led with the workbook's type."""
    csv_text = reporting.csv_text(registration.FIELDS, [TEMPLATE_EXAMPLE])
    xlsx = base64.b64encode(TEMPLATE_FILE.read_bytes()).decode("ascii")
    return {
        "csv": "data:text/csv;charset=utf-8," + quote(csv_text),
        "xlsx": f"data:{registration.XLSX_TYPE};base64,{xlsx}",
    }

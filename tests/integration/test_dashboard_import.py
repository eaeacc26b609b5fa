"""A long registration list imports in the background: the upload answers at once with a status page, the
send queue carries the list in chunks, the sender writes them, and the status line follows to the end."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from chalicelib import container
from chalicelib.adapters.queue import MAX_BATCH_BYTES, batches
from chalicelib.domain import importing
from chalicelib.jobs.handlers import send_records
from tests.support.data import HEADER, WAVE_FORM
from tests.support.visitor import Visitor, create_event, csrf_for, page_text

GROUPS = ("government", "academia", "civil_society", "media")


def big_list(count: int, bad: int = 2) -> str:
    rows = [
        f"person{n:04d}@example.org,Person {n:04d},Org {n % 37},{GROUPS[n % 4]},{('SN', 'CN', 'MX', 'GB')[n % 4]},"
        f"{('fr', 'en', 'es', 'en')[n % 4]},,{'yes' if n % 3 == 0 else 'no'}\n"
        for n in range(count)
    ]
    rows += [f"broken-{n},Bad Row,Nowhere,government,FR,en,,no\n" for n in range(bad)]
    return HEADER + "".join(rows)


@pytest.fixture
def small_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_IMPORT_INLINE_ROWS", "20")


def upload(admin: Visitor, event_id: str, text: str) -> Any:
    page = admin.get(f"/dashboard/events/{event_id}")
    token = csrf_for(page, f"/dashboard/events/{event_id}/participants")
    return admin.upload(f"/dashboard/events/{event_id}/participants", {"csrf": token}, "list.csv", text.encode())


def status_of(admin: Visitor, location: str) -> tuple[int, str]:
    response = admin.get(location.removeprefix("http://127.0.0.1:8000"))
    return response.status_code, page_text(response)


def progress(text: str) -> tuple[int, int]:
    found = re.search(r"<span data-live=\"progress-text\">(\d+) of (\d+) written", text)
    assert found, text
    return int(found.group(1)), int(found.group(2))


def test_a_long_list_imports_in_the_background_with_a_status_line(client, admin, stack, small_inline):
    event_id = create_event(admin)
    started = upload(admin, event_id, big_list(450))
    assert started.status_code == 303, page_text(started)
    location = started.headers["Location"]
    assert re.search(rf"/dashboard/events/{event_id}/imports/im_\d{{8}}T\d{{6}}_[0-9a-f]{{8}}$", location)

    code, text = status_of(admin, location)
    assert code == 200 and "Import running" in text and 'data-state="running"' in text
    assert "450 participants to write (450 new, 0 changed), 2 rows rejected" in text
    assert progress(text) == (0, 450)
    assert '<progress id="import-progress" data-live="progress" max="450" value="0">0 %</progress>' in text
    assert "/dashboard/static/status.js" in text and "Refresh the status" in text
    assert re.search(
        r"<td class=\"num\">452</td><td>email</td><td>invalid email address", text
    )  # rejections are known at once

    # The event page says an import is running, with a link to it.
    event_page = page_text(admin.get(f"/dashboard/events/{event_id}"))
    assert "is running: 0 of 450 participants written (0 %)" in event_page

    bodies = stack.queue_bodies()
    chunks = [json.loads(b)[importing.MESSAGE_KEY] for b in bodies]
    assert sorted(c["chunk"] for c in chunks) == [0, 1, 2]  # 200 + 200 + 50
    assert all(set(c) == {"event_id", "import_id", "chunk"} for c in chunks)  # IDs only: the rows wait in the store
    import_id = location.rsplit("/", 1)[1]
    sizes = [len(container.store().import_chunk(event_id, import_id, c["chunk"]) or []) for c in chunks]
    assert sorted(sizes) == [50, 200, 200]

    send_records([bodies[0]])
    _, text = status_of(admin, location)
    written, total = progress(text)
    assert total == 450 and written in (200, 50) and "Import running" in text

    send_records([bodies[0]])  # a redelivered chunk finds its rows written and dropped: it changes nothing
    assert progress(status_of(admin, location)[1])[0] == written

    send_records(bodies[1:])
    code, text = status_of(admin, location)
    assert "Import finished" in text and 'data-state="done"' in text
    assert "450 imported, 0 updated or unchanged, 2 rejected" in text
    assert "status.js" not in text
    assert len(container.store().list_participants(event_id)) == 450
    assert "is running" not in page_text(admin.get(f"/dashboard/events/{event_id}"))

    # Importing the same list again: nothing to write, so it finishes in the request.
    again = upload(admin, event_id, big_list(450))
    assert again.status_code == 200 and "0 imported, 450 updated or unchanged, 2 rejected" in page_text(again)
    assert len(container.store().list_participants(event_id)) == 450


def test_a_background_import_plans_invitations_in_live_waves(client, admin, stack, small_inline):
    event_id = create_event(admin)
    page = admin.get(f"/dashboard/events/{event_id}")
    wave_form = {"csrf": csrf_for(page, f"/dashboard/events/{event_id}/waves"), **WAVE_FORM}
    created = admin.post(f"/dashboard/events/{event_id}/waves", wave_form)
    assert created.status_code == 303
    wave_id = re.search(r"#wave-(wv_[0-9a-f]+)$", created.headers["Location"]).group(1)

    started = upload(admin, event_id, big_list(230, bad=0))
    assert started.status_code == 303
    send_records(stack.queue_bodies())
    _, text = status_of(admin, started.headers["Location"])
    assert "Import finished" in text and re.search(
        r"<dt>Invitations planned</dt><dd data-live=\"planned\">230</dd>", text
    )
    assert len(container.store().list_invitations(wave_id)) == 230


def test_the_status_page_belongs_to_its_event_and_needs_an_admin(client, admin, stack, small_inline):
    event_id = create_event(admin)
    other = create_event(admin, title="Another event")
    started = upload(admin, event_id, big_list(30, bad=0))
    import_id = started.headers["Location"].rsplit("/", 1)[1]
    assert admin.get(f"/dashboard/events/{other}/imports/{import_id}").status_code == 404
    assert admin.get(f"/dashboard/events/{event_id}/imports/im_nope").status_code == 404
    stranger = Visitor(client)
    refused = stranger.get(f"/dashboard/events/{event_id}/imports/{import_id}")
    assert refused.status_code == 303 and "/dashboard?next=" in refused.headers["Location"]


def test_a_chunk_of_an_expired_job_is_dropped_without_a_ghost_job(client, admin, stack, small_inline):
    event_id = create_event(admin)
    started = upload(admin, event_id, big_list(30, bad=0))
    import_id = started.headers["Location"].rsplit("/", 1)[1]
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    table = container.settings().table("imports")
    ddb.delete_item(TableName=table, Key={"event_id": {"S": event_id}, "import_id": {"S": import_id}})
    assert send_records(stack.queue_bodies()) == {"import-dropped": 1}
    # What stays is the event's remembered column mapping (header names, nothing personal).
    assert [i["import_id"]["S"] for i in ddb.scan(TableName=table)["Items"]] == ["#mapping"]


def test_the_status_script_is_served_and_allowed_to_fetch_the_page(client, admin):
    script = admin.get("/dashboard/static/status.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "data-live-page" in page_text(script)
    assert admin.get("/dashboard/static/nope.js").status_code == 404
    csp = admin.get("/dashboard").headers["Content-Security-Policy"]
    assert "connect-src 'self'" in csp and "script-src 'self'" in csp


def test_queue_batches_stay_under_the_sqs_limits() -> None:
    bodies = ["x" * 100_000, "y" * 100_000, "z" * 100_000, "w" * 10]
    groups = list(batches(bodies))
    assert groups == [bodies[:2], bodies[2:]]
    assert all(sum(len(b) for b in g) <= MAX_BATCH_BYTES and len(g) <= 10 for g in groups)
    assert [len(g) for g in batches(["a"] * 25)] == [10, 10, 5]


def test_the_json_api_imports_in_the_background_when_asked(client, tokens, stack, small_inline):
    headers = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"}
    body = {"title": "API import", "starts_on": "2026-11-02", "ends_on": "2026-11-03", "timezone": "Europe/Zurich"}
    event_id = json.loads(client.http.post("/admin/events", headers=headers, body=json.dumps(body)).body)["event_id"]
    csv_headers = {**headers, "Content-Type": "text/csv"}
    # Without ?background=1 the answer is the contract's, whatever the length.
    small = client.http.post(f"/admin/events/{event_id}/participants", headers=csv_headers, body=big_list(25, bad=1))
    assert small.status_code == 200 and json.loads(small.body)["imported"] == 25
    started = client.http.post(
        f"/admin/events/{event_id}/participants?background=1", headers=csv_headers, body=big_list(60, bad=1)
    )
    assert started.status_code == 202, started.body
    job = json.loads(started.body)
    assert (job["status"], job["imported"], job["updated"], job["rows"], job["rejected_count"]) == (
        "running", 35, 25, 35, 1
    )  # fmt: skip
    assert job["rejected"] == [{"row": 62, "column": "email", "reason": "invalid email address"}]
    send_records(stack.queue_bodies())
    done = client.http.get(job["status_url"], headers=headers)
    assert done.status_code == 200 and json.loads(done.body)["status"] == "done"
    assert json.loads(done.body)["written"] == 35
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert client.http.get(job["status_url"], headers=viewer).status_code == 403
    # Short enough to write at once: the contract's answer, with its status.
    quick = client.http.post(
        f"/admin/events/{event_id}/participants?background=1", headers=csv_headers, body=big_list(60, bad=0)
    )
    assert quick.status_code == 200 and json.loads(quick.body)["status"] == "done"

"""Erasure stops work already queued (issue 13, defect 4): a send job in the queue (send now, a manual
reminder, a dead letter redriven) sends nothing to a participant erased after it was queued, and writes no
link for them; no queue message (nor dead letter) holds an address or a name, import chunks included (their
rows wait in the imports table, where an erasure removes the person's copy); and a background-import chunk
queued before the erasure does not write the erased participant again."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib import container
from chalicelib.jobs.handlers import send_records
from tests.support.api import auth, body, import_csv, make_event, make_wave, participants, remind_route, send_route
from tests.support.data import CSV, PEOPLE, big_list
from tests.support.mail import recipient

ERASED = "li.wei@example.org"
NAMES = [line.split(",")[1] for line in PEOPLE]
ADDRESSES = [line.split(",")[0] for line in PEOPLE]


def erase(client: Any, admin: str, participant_id: str) -> None:
    r = client.http.delete(f"/admin/participants/{participant_id}", headers=auth(admin))
    assert r.status_code == 200, r.body


def grants_for(participant_id: str) -> list[dict[str, Any]]:
    """Every link token stored for this participant, read straight from the table."""
    table = container.settings().table("tokens")
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]
    return [i for i in items if i["participant_id"]["S"] == participant_id]


def assert_no_personal_data(bodies: list[str]) -> None:
    for text in bodies:
        for value in ADDRESSES + NAMES:
            assert value not in text, f"a queue message holds {value!r}"
        assert "@" not in text, "a queue message holds an address"


def standard_wave(client: Any, admin: str) -> tuple[str, str, str]:
    event_id = make_event(client, admin)
    import_csv(client, admin, event_id, CSV)
    wave_id = make_wave(client, admin, event_id)
    return event_id, wave_id, participants(client, admin, event_id)[ERASED]["participant_id"]


def test_a_queued_invitation_is_not_sent_to_a_participant_erased_since(client, tokens, stack):
    admin = tokens["admin"]
    event_id, wave_id, pid = standard_wave(client, admin)
    assert send_route(client, admin, event_id, wave_id)["queued"] == 4  # in the queue, not sent yet
    erase(client, admin, pid)

    outcomes = stack.deliver()

    assert outcomes == {"sent": 3, "erased": 1}
    assert ERASED not in [recipient(m) for m in stack.ses_messages()]
    assert len(stack.ses_messages()) == 3
    assert grants_for(pid) == []  # no fresh link written for them
    assert container.store().get_invitation(wave_id, pid).sent_kinds == set()


def test_a_queued_reminder_and_a_redriven_dead_letter_send_nothing_after_the_erasure(client, tokens, stack):
    admin = tokens["admin"]
    event_id, wave_id, pid = standard_wave(client, admin)
    send_route(client, admin, event_id, wave_id)
    assert stack.deliver() == {"sent": 4}
    assert remind_route(client, admin, event_id, wave_id).status_code in (200, 202)
    reminders = stack.queue_bodies()
    assert len(reminders) == 4
    # The reminders fail (say SES was down) and go to the dead-letter queue; the person is erased meanwhile.
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq, queue = stack.outputs["DeadLetterQueueUrl"], stack.outputs["SendQueueUrl"]
    for text in reminders:
        sqs.send_message(QueueUrl=dlq, MessageBody=text)
    erase(client, admin, pid)
    before = len(stack.ses_messages())
    # An operator redrives the dead letters.
    while dead := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []):
        for m in dead:
            sqs.send_message(QueueUrl=queue, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])

    outcomes = stack.deliver()

    assert outcomes == {"sent": 3, "erased": 1}
    assert ERASED not in [recipient(m) for m in stack.ses_messages()[before:]]
    assert grants_for(pid) == []  # the invitation's link was revoked, and no reminder link was written


def test_no_queue_message_holds_an_address_or_a_name(client, tokens, stack):
    admin = tokens["admin"]
    event_id, wave_id, _ = standard_wave(client, admin)
    send_route(client, admin, event_id, wave_id)
    invitations = stack.queue_bodies()
    assert len(invitations) == 4
    assert_no_personal_data(invitations)
    assert send_records(invitations) == {"sent": 4}
    remind_route(client, admin, event_id, wave_id)
    reminders = stack.queue_bodies()
    assert len(reminders) == 4
    assert_no_personal_data(reminders)
    assert send_records(reminders) == {"sent": 4}


@pytest.fixture
def background(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_IMPORT_INLINE_ROWS", "2")


def waiting_chunks() -> list[dict[str, Any]]:
    """The chunk rows a background import keeps until the sender writes them, read straight from the table."""
    table = container.settings().table("imports")
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]
    return [i for i in items if i["import_id"]["S"].startswith("#chunk#")]


def start_background_import(client: Any, admin: str, event_id: str, text: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"}
    r = client.http.post(f"/admin/events/{event_id}/participants?background=1", headers=headers, body=text.encode())
    assert r.status_code == 202, r.body
    return dict(body(r))


def test_an_import_chunk_queued_before_an_erasure_does_not_write_the_person_again(client, tokens, stack, background):
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    start_background_import(client, admin, event_id, big_list(6, bad=0))
    assert send_records(stack.queue_bodies()) == {"import-chunk": 1}
    people = participants(client, admin, event_id)
    victim = people["person0001@example.org"]
    # The list again, everyone's organisation changed: one chunk of six participants to write, queued.
    changed = big_list(6, bad=0).replace(",Org ", ",New Org ")
    job = start_background_import(client, admin, event_id, changed)
    assert job["rows"] == 6
    assert "person0001@example.org" in json.dumps(waiting_chunks())
    erase(client, admin, victim["participant_id"])
    waiting = json.dumps(waiting_chunks())
    assert "person0001@example.org" not in waiting and "Person 0001" not in waiting  # its copy went too
    assert "person0002@example.org" in waiting

    assert send_records(stack.queue_bodies()) == {"import-chunk": 1}
    assert waiting_chunks() == []  # written, then dropped

    stored = container.store().get_participant(event_id, victim["participant_id"])
    assert stored.erased_at is not None
    assert (stored.email, stored.full_name, stored.organisation) == ("", "", "")
    after = {p["participant_id"]: p for p in body(
        client.http.get(f"/admin/events/{event_id}/participants", headers=auth(admin))
    )["participants"]}  # fmt: skip
    assert after[victim["participant_id"]]["erased"] is True
    others = [p for pid, p in after.items() if pid != victim["participant_id"]]
    assert len(others) == 5 and all(p["organisation"].startswith("New Org ") for p in others)
    status = body(client.http.get(job["status_url"], headers=auth(admin)))
    assert status["status"] == "done"


def test_an_import_chunk_message_holds_no_personal_data(client, tokens, stack, background):
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    start_background_import(client, admin, event_id, big_list(6, bad=0))
    bodies = stack.queue_bodies()
    assert len(bodies) == 1
    text = bodies[0]
    assert "@" not in text and "Person 0001" not in text and "Org 1" not in text, "a chunk holds personal data"
    chunk = json.loads(text)["import_chunk"]
    assert set(chunk) == {"event_id", "import_id", "chunk"}
    assert send_records(bodies) == {"import-chunk": 1}
    assert len(participants(client, admin, event_id)) == 6

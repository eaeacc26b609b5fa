"""The send job's one encoding: what the scheduler writes, the sender reads back unchanged; IDs only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.messages import MESSAGE_VERSION, SendJob

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=30)


@given(
    event_id=ids,
    wave_id=ids,
    participant_id=ids,
    kind=st.sampled_from(["invitation", "reminder-1", "manual-2"]),
)
def test_a_job_survives_the_queue_unchanged(event_id, wave_id, participant_id, kind):
    job = SendJob(event_id=event_id, wave_id=wave_id, participant_id=participant_id, kind=kind)
    assert SendJob.from_message(json.loads(json.dumps(job.to_message()))) == job


def test_a_message_carries_ids_only():
    message = SendJob("ev_1", "wv_1", "pt_1", "invitation").to_message()
    assert message == {
        "v": MESSAGE_VERSION, "event_id": "ev_1", "wave_id": "wv_1", "participant_id": "pt_1", "kind": "invitation"
    }  # fmt: skip


def test_a_version_1_message_still_queued_is_read_for_its_ids_alone():
    """Version 1 also carried the address, the name and the rest: a job queued before the upgrade is sent,
    from what the store holds when it is sent, never from what the message says."""
    legacy = {
        "v": 1,
        "event_id": "ev_1",
        "wave_id": "wv_1",
        "participant_id": "pt_1",
        "kind": "reminder-1",
        "email": "someone@example.org",
        "name": "Some One",
        "language": "fr",
        "email_key": "k" * 16,
        "cells": {"region": "europe"},
        "panel_id": "pn1",
        "event_title": "T",
        "questionnaire_id": "satisfaction",
        "questionnaire_version": 1,
        "closes_at": datetime(2026, 12, 18, 17, 0, tzinfo=UTC).isoformat(),
    }
    assert SendJob.from_message(legacy) == SendJob("ev_1", "wv_1", "pt_1", "reminder-1")


def test_a_message_of_another_version_is_refused():
    message = SendJob("e", "w", "p", "invitation").to_message()
    message["v"] = MESSAGE_VERSION + 1
    with pytest.raises(ValueError, match="not a send job this version understands"):
        SendJob.from_message(message)


@pytest.mark.parametrize("broken", [{"kind": ""}, {"participant_id": 7}, {"wave_id": None}])
def test_a_malformed_field_is_refused_without_repeating_the_message(broken):
    message = {**SendJob("e", "w", "p", "invitation").to_message(), **broken, "email": "a@example.org"}
    with pytest.raises(ValueError, match="missing or malformed field") as caught:
        SendJob.from_message(message)
    assert "example.org" not in str(caught.value)


def test_a_missing_field_is_refused():
    message = SendJob("e", "w", "p", "invitation").to_message()
    del message["kind"]
    with pytest.raises(ValueError, match="missing or malformed field"):
        SendJob.from_message(message)

"""The send job's one encoding: what the scheduler writes, the sender reads back unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.messages import MESSAGE_VERSION, SendJob

text = st.text(max_size=40)


@given(
    kind=st.sampled_from(["invitation", "reminder-1", "manual-2"]),
    name=text,
    title=text,
    cells=st.dictionaries(st.sampled_from(["region", "stakeholder", "income"]), text, max_size=3),
    version=st.integers(min_value=1, max_value=99),
    closes=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
)
def test_a_job_survives_the_queue_unchanged(kind, name, title, cells, version, closes):
    job = SendJob(
        event_id="ev1",
        wave_id="wv1",
        participant_id="p1",
        kind=kind,
        email="someone@example.org",
        name=name,
        language="fr",
        event_title=title,
        email_key="k" * 16,
        cells=cells,
        panel_id="pn1",
        questionnaire_id="post-event",
        questionnaire_version=version,
        closes_at=closes,
    )
    assert SendJob.from_message(json.loads(json.dumps(job.to_message()))) == job


def test_a_message_of_another_version_is_refused():
    message = SendJob("e", "w", "p", "invitation", "a@example.org", "A", "en", "T").to_message()
    message["v"] = MESSAGE_VERSION + 1
    with pytest.raises(ValueError, match="not a send job this version understands"):
        SendJob.from_message(message)


@pytest.mark.parametrize("broken", [{"cells": "region"}, {"questionnaire_version": "two"}, {"closes_at": "soon"}])
def test_a_malformed_field_is_refused_without_repeating_the_message(broken):
    message = {**SendJob("e", "w", "p", "invitation", "a@example.org", "A", "en", "T").to_message(), **broken}
    with pytest.raises(ValueError, match="missing or malformed field") as caught:
        SendJob.from_message(message)
    assert "example.org" not in str(caught.value)


def test_a_missing_field_is_refused():
    message = SendJob("e", "w", "p", "invitation", "a@example.org", "A", "en", "T").to_message()
    del message["email_key"]
    with pytest.raises(ValueError, match="missing or malformed field"):
        SendJob.from_message(message)


def test_the_closing_instant_keeps_its_zone():
    closes = datetime(2026, 12, 18, 17, 0, tzinfo=UTC)
    job = SendJob("e", "w", "p", "invitation", "a@example.org", "A", "en", "T", closes_at=closes)
    assert SendJob.from_message(job.to_message()).closes_at == closes

"""After any mix of first answers and edits, the maintained aggregates equal a recount from raw responses."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import container
from chalicelib.domain import answering, reports
from tests.support.api import auth, import_csv, make_event, make_wave
from tests.support.mail import link_token

LIKERT = st.sampled_from(["1", "2", "3", "4", "5"])
ANSWER = st.fixed_dictionaries(
    {
        "overall": LIKERT.map(lambda v: [v]),
        "mutual_learning": LIKERT.map(lambda v: [v]),
        "understanding": LIKERT.map(lambda v: [v]),
        "cooperation_measures": LIKERT.map(lambda v: [v]),
    },
    optional={"content_relevant": LIKERT.map(lambda v: [v]), "materials": LIKERT.map(lambda v: [v])},
)


def test_aggregates_equal_a_recount_after_random_submits_and_edits(client, tokens, stack):
    admin_token = tokens["admin"]
    event_id = make_event(client, admin_token)
    import_csv(client, admin_token, event_id)
    wave_id = make_wave(client, admin_token, event_id)
    client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(admin_token))
    stack.deliver()
    links_by_person = [link_token(m) for m in stack.ses_messages()]
    store = container.store()

    people = st.integers(0, len(links_by_person) - 1)

    # "stale" submits an edit from a form that still says version 0, as a second browser tab would.
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.lists(st.tuples(people, ANSWER, st.booleans()), min_size=1, max_size=8))
    def run(steps):
        for person, form, stale in steps:
            version = store.get_response(wave_id, _participant(store, links_by_person[person]))
            answers = {**form, "_v": ["0" if stale or version is None else str(version.version)]}
            assert answering.submit(store, links_by_person[person], answers, now=datetime.now(UTC)).stored
        result = reports.recount_wave(store, event_id, wave_id)
        assert result["mismatches"] == [], result["mismatches"][:5]

    run()
    assert len(list(store.list_responses(wave_id))) <= len(links_by_person)


def _participant(store, token: str) -> str:
    return answering.resolve_token(store, token).participant_id

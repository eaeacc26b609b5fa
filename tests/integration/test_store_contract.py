"""The store's contract: every test runs against DynamoStore on moto and against its in-memory twin, so the
use-case tests on the twin (tests/unit/test_use_cases.py) hold for the real store too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.cells import spread
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.model import (
    CloseRule,
    Event,
    ImportJob,
    Invitation,
    OpenRule,
    Participant,
    Response,
    Share,
    TokenGrant,
    Wave,
)
from chalicelib.domain.ports import ClaimOutcome, LinkState, Store, SubmitOutcome

NOW = datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=UTC)
CELLS = {
    "stakeholder_group": "government",
    "region": "Europe & Central Asia",
    "income_group": "high",
    "sponsored": "no",
    "language": "en",
}


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        from chalicelib.adapters.memory import MemoryStore

        return MemoryStore()
    request.getfixturevalue("stack")  # moto with the stage's tables
    from chalicelib import container

    return container.store()


def event(event_id: str = "ev-1", starts_on: date = date(2026, 6, 22)) -> Event:
    return Event(
        event_id=event_id,
        title="Internet Governance Forum",
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=4),
        timezone="Europe/Oslo",
        venue="Lillestrøm",
        theme="Building our multistakeholder digital future",
        languages=["en", "fr"],
        created_at=NOW,
    )


def participant(pid: str = "p-1", event_id: str = "ev-1") -> Participant:
    return Participant(
        event_id=event_id,
        participant_id=pid,
        email=f"{pid}@example.org",
        full_name="Ada Example",
        organisation="Ministry of Examples",
        stakeholder_group="government",
        country="NO",
        language="en",
        timezone="Europe/Oslo",
        sponsored=False,
        email_key=f"key-{pid}",
        region="Europe & Central Asia",
        income_group="high",
        created_at=NOW,
        updated_at=NOW,
    )


def wave(wave_id: str = "w-1", closes_at: datetime | None = NOW + timedelta(days=14)) -> Wave:
    return Wave(
        event_id="ev-1",
        wave_id=wave_id,
        questionnaire_id="post-event",
        questionnaire_version=1,
        opens=OpenRule(after_event_days=1, local_time="09:00"),
        closes=CloseRule(after_open_days=14),
        reminders_after_days=[3, 7],
        status="open",
        opened_at=NOW,
        closes_at=closes_at,
        created_at=NOW,
    )


def invitation(pid: str = "p-1", wave_id: str = "w-1", due_at: datetime | None = NOW) -> Invitation:
    return Invitation(
        wave_id=wave_id,
        participant_id=pid,
        event_id="ev-1",
        cells=dict(CELLS),
        language="en",
        timezone="Europe/Oslo",
        email_key=f"key-{pid}",
        panel_id=f"panel-{pid}",
        due_at=due_at,
        due_kind="invitation" if due_at else None,
    )


def grant(token_hash: str = "hash-1", pid: str = "p-1", kind: str = "invitation", wave_id: str = "w-1") -> TokenGrant:
    return TokenGrant(
        token_hash=token_hash,
        event_id="ev-1",
        wave_id=wave_id,
        participant_id=pid,
        kind=kind,
        cells=dict(CELLS),
        language="en",
        panel_id=f"panel-{pid}",
        questionnaire_id="post-event",
        questionnaire_version=1,
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )


def claim(store: Store, pid: str = "p-1", kind: str = "invitation", token_hash: str | None = None, **kw: Any) -> Any:
    wave_id = kw.pop("wave_id", "w-1")
    token = kw.pop("token", None) or grant(token_hash or f"hash-{pid}-{kind}", pid, kind, wave_id)
    return store.claim(token, email_key=kw.pop("email_key", f"key-{pid}"), now=kw.pop("now", NOW))


def sent_wave(store: Store, *pids: str) -> None:
    """An open wave whose invitations to ``pids`` went out."""
    store.put_wave(wave())
    store.create_invitations(invitation(pid) for pid in pids)
    for pid in pids:
        assert claim(store, pid) is ClaimOutcome.CLAIMED


def response(pid: str = "p-1", version: int = 1, answer: str = "agree") -> Response:
    return Response(
        wave_id="w-1",
        participant_id=pid,
        event_id="ev-1",
        panel_id=f"panel-{pid}",
        answers={"useful": answer, "topics": ["ai", "access"]},
        cells=dict(CELLS),
        language="en",
        version=version,
        submitted_at=NOW,
    )


def answer_deltas(value: str, sign: int = 1) -> dict[str, dict[str, int]]:
    return spread(CELLS, {"n:useful": 1, f"a:useful:{value}": 1}, sign)


# Events ------------------------------------------------------------------------------------------------------
def test_events_are_read_back_whole_and_listed_by_start_date(store: Store) -> None:
    store.put_event(event("ev-b", date(2026, 6, 22)))
    store.put_event(event("ev-a", date(2027, 1, 10)))
    store.put_event(event("ev-c", date(2026, 6, 22)))
    assert store.get_event("ev-b") == event("ev-b", date(2026, 6, 22))
    assert [e.event_id for e in store.list_events()] == ["ev-b", "ev-c", "ev-a"]
    assert sorted(e.event_id for e in store.events_in_year(2026)) == ["ev-b", "ev-c"]
    assert store.events_in_year(2025) == []


def test_an_event_put_again_replaces_the_stored_one(store: Store) -> None:
    store.put_event(event())
    store.put_event(replace(event(), title="IGF 2026", languages=["es"]))
    assert (store.get_event("ev-1").title, store.get_event("ev-1").languages) == ("IGF 2026", ["es"])


def test_a_missing_event_wave_participant_or_invitation_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="event not found"):
        store.get_event("nope")
    with pytest.raises(NotFound, match="wave not found"):
        store.get_wave("ev-1", "nope")
    with pytest.raises(NotFound, match="participant not found"):
        store.get_participant("ev-1", "nope")
    with pytest.raises(NotFound, match="participant not found"):
        store.find_participant("nope")
    with pytest.raises(NotFound, match="invitation not found"):
        store.get_invitation("w-1", "nope")
    with pytest.raises(NotFound, match="import not found"):
        store.get_import("ev-1", "nope")
    assert store.get_response("w-1", "nope") is None
    assert store.went_out_at("w-1", "nope") is None


def test_what_a_caller_changes_in_what_it_read_is_not_stored(store: Store) -> None:
    store.put_event(event())
    read = store.get_event("ev-1")
    read.languages.append("es")
    assert store.get_event("ev-1").languages == ["en", "fr"]


# Imports -----------------------------------------------------------------------------------------------------
def job(import_id: str, rows: int = 250, chunk_rows: int = 100) -> ImportJob:
    return ImportJob(
        event_id="ev-1",
        import_id=import_id,
        rows=rows,
        chunk_rows=chunk_rows,
        imported=200,
        updated=50,
        unchanged=3,
        rejected=[{"row": 7, "reason": "email is not an address"}],
        rejected_count=1,
        created_at=NOW,
    )


def test_imports_list_newest_first_and_read_back_whole(store: Store) -> None:
    for n in range(7):
        store.put_import(job(f"imp-{n}"), NOW + timedelta(days=7))
    assert [j.import_id for j in store.list_imports("ev-1")] == ["imp-6", "imp-5", "imp-4", "imp-3", "imp-2"]
    assert [j.import_id for j in store.list_imports("ev-1", limit=2)] == ["imp-6", "imp-5"]
    assert store.get_import("ev-1", "imp-3") == job("imp-3")
    assert store.list_imports("ev-2") == []


def test_a_pending_upload_is_read_back_whole_until_dropped_or_expired(store: Store) -> None:
    sealed = bytes(range(256)) * 5000  # over a megabyte: several parts in DynamoDB
    store.put_upload("ev-1", "up_1", sealed, NOW + timedelta(hours=1))
    store.put_upload("ev-1", "up_2", b"other", NOW + timedelta(hours=1))
    assert store.get_upload("ev-1", "up_1", NOW) == sealed
    assert store.get_upload("ev-2", "up_1", NOW) is None
    assert store.get_upload("ev-1", "up_1", NOW + timedelta(hours=1)) is None  # TTL is lazy; the read is not
    store.drop_upload("ev-1", "up_1")
    assert store.get_upload("ev-1", "up_1", NOW) is None
    assert store.get_upload("ev-1", "up_2", NOW) == b"other"
    assert store.list_imports("ev-1") == []  # none of it is an import


def test_an_events_column_mapping_is_remembered(store: Store) -> None:
    assert store.import_mapping("ev-1") == {}
    store.put_import_mapping("ev-1", {"courriel": "email", "pays": "country"})
    store.put_import_mapping("ev-1", {"courriel": "email"})
    assert store.import_mapping("ev-1") == {"courriel": "email"}
    assert store.import_mapping("ev-2") == {}
    assert store.list_imports("ev-1") == []


def test_each_chunk_counts_once_and_the_last_one_finishes_the_import(store: Store) -> None:
    store.put_import(job("imp-1"), NOW + timedelta(days=7))
    later = NOW + timedelta(seconds=5)
    first = store.mark_import_chunk("ev-1", "imp-1", 0, 80, later)
    assert first is not None
    assert (first.done_chunks, first.invitations_planned, first.status) == (frozenset({0}), 80, "running")
    assert first.progressed_at == later
    again = store.mark_import_chunk("ev-1", "imp-1", 0, 0, later)  # redelivered
    assert again is not None and again.done_chunks == frozenset({0}) and again.written == 100
    store.mark_import_chunk("ev-1", "imp-1", 2, 40, later)
    last = store.mark_import_chunk("ev-1", "imp-1", 1, 90, later)
    assert last is not None
    assert (last.status, last.finished_at, last.invitations_planned, last.percent) == ("done", later, 210, 100)
    stored = store.get_import("ev-1", "imp-1")
    assert (stored.status, stored.finished_at, stored.written) == ("done", later, 250)


def test_a_chunk_of_a_gone_import_is_dropped_and_a_finished_import_stays_finished(store: Store) -> None:
    assert store.mark_import_chunk("ev-1", "gone", 0, 1, NOW) is None
    store.put_import(job("imp-1"), NOW + timedelta(days=7))
    store.finish_import("ev-1", "imp-1", "failed", NOW)
    store.finish_import("ev-1", "imp-1", "done", NOW + timedelta(hours=1))
    stored = store.get_import("ev-1", "imp-1")
    assert (stored.status, stored.finished_at) == ("failed", NOW)


# Participants --------------------------------------------------------------------------------------------------
def test_participants_list_by_id_and_are_found_in_any_event(store: Store) -> None:
    store.put_participants([participant("p-2"), participant("p-1"), participant("p-9", event_id="ev-2")])
    assert [p.participant_id for p in store.list_participants("ev-1")] == ["p-1", "p-2"]
    assert store.get_participant("ev-1", "p-2") == participant("p-2")
    assert store.find_participant("p-9") == participant("p-9", event_id="ev-2")
    store.put_participants([replace(participant("p-1"), organisation="Example University")])
    assert store.get_participant("ev-1", "p-1").organisation == "Example University"


def test_a_participant_erased_since_their_row_was_read_is_not_written_again(store: Store) -> None:
    store.put_participants([participant("p-1"), participant("p-2")])
    read = [replace(participant(f"p-{n}"), organisation="New Org", updated_at=NOW + timedelta(minutes=1)) for n in "12"]
    erased_at = NOW + timedelta(minutes=2)
    store.erase_participant(participant("p-1"), [], erased_at)  # after the rows were read, before they are written
    assert store.put_participants(read) == ["p-1"]
    kept = store.get_participant("ev-1", "p-1")
    assert (kept.email, kept.full_name, kept.organisation, kept.erased_at) == ("", "", "", erased_at)
    assert store.get_participant("ev-1", "p-2").organisation == "New Org"
    # Registered again after the erasure (a list read since): written, as the merge decided.
    again = replace(participant("p-1"), updated_at=erased_at + timedelta(seconds=1))
    assert store.put_participants([again]) == []
    assert store.get_participant("ev-1", "p-1") == again
    # Erased at the very instant the row was made: the erasure wins.
    store.erase_participant(participant("p-1"), [], erased_at + timedelta(seconds=2))
    assert store.put_participants([replace(again, updated_at=erased_at + timedelta(seconds=2))]) == ["p-1"]


# Waves -------------------------------------------------------------------------------------------------------
def test_waves_read_back_with_their_rules_to_the_second(store: Store) -> None:
    absolute = replace(
        wave("w-2"), opens=OpenRule(at=NOW), closes=CloseRule(at=NOW + timedelta(days=3)), reminders_after_days=[]
    )
    store.put_wave(absolute)
    store.put_wave(wave("w-1"))
    assert [w.wave_id for w in store.list_waves("ev-1")] == ["w-1", "w-2"]
    assert store.get_wave("ev-1", "w-1") == wave("w-1")
    read = store.get_wave("ev-1", "w-2")
    assert read.opens == OpenRule(at=NOW.replace(microsecond=0))
    assert read.closes == CloseRule(at=(NOW + timedelta(days=3)).replace(microsecond=0))
    assert read.closes_at == absolute.closes_at  # a timestamp keeps its microseconds


def test_a_series_wave_is_read_under_each_of_its_events_and_under_series(store: Store) -> None:
    series = replace(wave("sw-1"), event_id="series", event_ids=["ev-1", "ev-2"])
    store.put_wave(series)
    for home in ("series", "ev-1", "ev-2"):
        read = store.get_wave(home, "sw-1")
        assert read == replace(series, event_id=home)
        assert [w.wave_id for w in store.list_waves(home)] == ["sw-1"]
    with pytest.raises(NotFound):
        store.get_wave("ev-3", "sw-1")
    store.create_invitations([replace(invitation("p-1"), wave_id="sw-1")])
    assert store.revoke_invitation("sw-1", "p-1", NOW) == 0
    assert store.get_invitation("sw-1", "p-1").opted_out_at is not None
    assert store.get_invitation("sw-1", "p-1").due_at is None
    assert store.revoke_invitation("sw-1", "p-unknown", NOW) == 0


# Invitations and the due index -------------------------------------------------------------------------------
def test_invitations_are_created_once_and_never_overwritten(store: Store) -> None:
    assert store.create_invitations([invitation("p-2"), invitation("p-1")]) == 2
    assert store.create_invitations([replace(invitation("p-1"), language="fr"), invitation("p-3")]) == 1
    assert [i.participant_id for i in store.list_invitations("w-1")] == ["p-1", "p-2", "p-3"]
    read = store.get_invitation("w-1", "p-1")
    second = NOW.replace(microsecond=0)
    assert read == replace(invitation("p-1"), due_at=second, went_out_at=second)
    assert store.went_out_at("w-1", "p-1") == second


def test_the_due_index_gives_what_is_due_oldest_first_up_to_the_limit(store: Store) -> None:
    store.create_invitations(
        [
            invitation("p-1", due_at=NOW + timedelta(minutes=2)),
            invitation("p-2", due_at=NOW - timedelta(hours=1)),
            invitation("p-3", due_at=NOW + timedelta(hours=1)),
            invitation("p-4", due_at=None),
            invitation("p-5", due_at=NOW - timedelta(minutes=1)),
        ]
    )
    assert [i.participant_id for i in store.due_invitations(NOW + timedelta(minutes=2), 10)] == ["p-2", "p-5", "p-1"]
    assert [i.participant_id for i in store.due_invitations(NOW + timedelta(minutes=2), 2)] == ["p-2", "p-5"]
    assert list(store.due_invitations(NOW - timedelta(days=1), 10)) == []


def test_rescheduling_points_the_index_at_the_next_email_or_drops_it(store: Store) -> None:
    store.create_invitations([invitation("p-1"), invitation("p-2")])
    sent_at = NOW + timedelta(seconds=30)
    store.reschedule(store.get_invitation("w-1", "p-1"), "reminder-1", NOW + timedelta(days=3), anchor=sent_at)
    read = store.get_invitation("w-1", "p-1")
    assert (read.due_kind, read.due_at) == ("reminder-1", (NOW + timedelta(days=3)).replace(microsecond=0))
    assert read.went_out_at == sent_at.replace(microsecond=0)
    store.reschedule(store.get_invitation("w-1", "p-2"), None, None)
    read = store.get_invitation("w-1", "p-2")
    assert (read.due_kind, read.due_at, read.went_out_at) == (None, None, NOW.replace(microsecond=0))
    assert [i.participant_id for i in store.due_invitations(NOW + timedelta(days=10), 10)] == ["p-1"]
    store.reschedule(invitation("gone"), "reminder-1", NOW)  # an invitation erased meanwhile: nothing happens
    assert [i.participant_id for i in store.list_invitations("w-1")] == ["p-1", "p-2"]


def test_a_waves_next_send_is_its_earliest_email_owed_and_follows_every_change(store: Store) -> None:
    def second(delta: timedelta) -> datetime:
        return (NOW + delta).replace(microsecond=0)

    assert store.next_due("w-1") is None
    store.create_invitations(
        [
            invitation("p-1", due_at=NOW + timedelta(hours=2)),
            invitation("p-2", due_at=NOW + timedelta(hours=1)),
            invitation("p-3", due_at=None),
            invitation("p-9", wave_id="w-2", due_at=NOW - timedelta(hours=1)),
        ]
    )
    assert store.next_due("w-1") == second(timedelta(hours=1))
    store.reschedule(store.get_invitation("w-1", "p-2"), None, None)  # it went out and nothing more is owed
    assert store.next_due("w-1") == second(timedelta(hours=2))
    store.set_due_now("w-1", ["p-1"], NOW + timedelta(minutes=1))
    assert store.next_due("w-1") == second(timedelta(minutes=1))
    store.reschedule(store.get_invitation("w-1", "p-1"), "reminder-1", NOW + timedelta(days=7))
    assert store.next_due("w-1") == second(timedelta(days=7))
    store.reschedule(store.get_invitation("w-1", "p-1"), None, None)
    assert store.next_due("w-1") is None
    assert store.next_due("w-2") == second(timedelta(hours=-1))


def test_only_an_invitation_not_sent_yet_moves_with_the_event_dates(store: Store) -> None:
    store.put_wave(wave())
    store.create_invitations([invitation("p-1"), invitation("p-2"), invitation("p-3")])
    assert claim(store, "p-2") is ClaimOutcome.CLAIMED
    store.reschedule(store.get_invitation("w-1", "p-3"), "reminder-1", NOW)
    later = NOW + timedelta(days=7, microseconds=5)
    assert store.move_invitation(invitation("p-1"), later, "Asia/Tokyo") is True
    assert store.move_invitation(invitation("p-2"), later, "Asia/Tokyo") is False
    assert store.move_invitation(invitation("p-3"), later, "Asia/Tokyo") is False
    assert store.move_invitation(invitation("gone"), later, "Asia/Tokyo") is False
    moved = store.get_invitation("w-1", "p-1")
    assert (moved.due_at, moved.went_out_at, moved.timezone) == (later.replace(microsecond=0),) * 2 + ("Asia/Tokyo",)
    assert store.get_invitation("w-1", "p-2").timezone == "Europe/Oslo"


def test_a_sent_invitation_whose_claim_was_released_moves_again(store: Store) -> None:
    store.put_wave(wave())
    store.create_invitations([invitation("p-1")])
    assert claim(store, "p-1") is ClaimOutcome.CLAIMED
    store.release(wave_id="w-1", participant_id="p-1", kind="invitation", token_hash="hash-p-1-invitation", cells=CELLS)
    assert store.move_invitation(invitation("p-1"), NOW + timedelta(days=1), "Europe/Oslo") is True


def test_send_now_makes_only_pending_invitations_due(store: Store) -> None:
    store.create_invitations([invitation("p-1", due_at=NOW + timedelta(days=9)), invitation("p-2")])
    store.reschedule(store.get_invitation("w-1", "p-2"), "reminder-1", NOW + timedelta(days=9))
    later = NOW + timedelta(hours=1)
    store.set_due_now("w-1", ["p-1", "p-2", "gone"], later)
    assert store.get_invitation("w-1", "p-1").due_at == later.replace(microsecond=0)
    assert store.get_invitation("w-1", "p-2").due_at == (NOW + timedelta(days=9)).replace(microsecond=0)
    assert [i.participant_id for i in store.list_invitations("w-1")] == ["p-1", "p-2"]


# Claims ------------------------------------------------------------------------------------------------------
def test_a_claim_marks_the_kind_sent_stores_its_link_and_counts_the_invitation(store: Store) -> None:
    sent_wave(store, "p-1")
    read = store.get_invitation("w-1", "p-1")
    assert (read.status, read.sent_kinds) == ("sent", {"invitation"})
    assert store.read_cells("w-1", "stakeholder_group") == {"government": {"f:invited": 1}}
    assert store.read_cells("w-1", "region") == {"Europe & Central Asia": {"f:invited": 1}}
    stored = store.get_token("hash-p-1-invitation")
    assert stored is not None and stored.expires_at is not None
    assert stored.expires_at.microsecond == 0  # a TTL attribute keeps epoch seconds
    assert abs(stored.expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert replace(stored, expires_at=None) == TokenGrant(
        token_hash="hash-p-1-invitation",
        event_id="ev-1",
        wave_id="w-1",
        participant_id="p-1",
        kind="invitation",
        cells=CELLS,
        language="en",
        panel_id="panel-p-1",
        questionnaire_id="post-event",
        questionnaire_version=1,
    )
    assert claim(store, "p-1", kind="reminder-1") is ClaimOutcome.CLAIMED
    read = store.get_invitation("w-1", "p-1")
    assert (read.status, read.sent_kinds) == ("sent", {"invitation", "reminder-1"})
    assert store.read_cells("w-1", "language") == {"en": {"f:invited": 1}}  # a reminder is not a new invitee


def test_each_kind_is_claimed_at_most_once(store: Store) -> None:
    sent_wave(store, "p-1")
    assert claim(store, "p-1", token_hash="another") is ClaimOutcome.ALREADY
    assert store.get_token("another") is None
    assert claim(store, "gone") is ClaimOutcome.ALREADY
    assert store.read_cells("w-1", "language") == {"en": {"f:invited": 1}}


def test_no_email_after_an_opt_out_or_a_bounce_and_no_reminder_after_completing(store: Store) -> None:
    sent_wave(store, "p-1", "p-2", "p-3")
    assert store.mark_opted_out("w-1", "p-1", CELLS, NOW) is True
    assert store.mark_bounced("w-1", "p-2", CELLS, NOW) is True
    store.store_response(response("p-3"), previous=None, deltas={}, now=NOW)
    for pid in ("p-1", "p-2", "p-3"):
        assert claim(store, pid, kind="reminder-1") is ClaimOutcome.ALREADY
    store.create_invitations([invitation("p-4")])
    store.store_response(response("p-4"), previous=None, deltas={}, now=NOW)  # answered from a shared link
    assert claim(store, "p-4") is ClaimOutcome.CLAIMED  # the invitation itself is still owed


def test_a_suppressed_address_or_a_closed_wave_refuses_the_claim(store: Store) -> None:
    store.put_wave(wave())
    store.put_wave(wave("w-closed", closes_at=NOW))
    store.put_wave(wave("w-unscheduled", closes_at=None))
    store.create_invitations([invitation("p-1"), invitation("p-2", wave_id="w-closed")])
    store.create_invitations([invitation("p-3", wave_id="w-unscheduled")])
    assert store.suppress("key-p-1", "bounce", NOW) is True
    assert store.suppress("key-p-1", "complaint", NOW) is False
    assert claim(store, "p-1") is ClaimOutcome.SUPPRESSED
    assert claim(store, "p-2", wave_id="w-closed") is ClaimOutcome.CLOSED
    assert claim(store, "p-3", wave_id="w-unscheduled") is ClaimOutcome.CLOSED
    assert claim(store, "p-2", wave_id="w-closed", now=NOW - timedelta(seconds=1)) is ClaimOutcome.CLAIMED
    assert store.get_invitation("w-1", "p-1").sent_kinds == set()
    assert store.read_cells("w-1", "language") == {}


def test_a_link_token_stored_already_is_an_error_not_a_claim(store: Store) -> None:
    sent_wave(store, "p-1")
    store.create_invitations([invitation("p-2")])
    with pytest.raises(Exception):  # a transaction error on DynamoDB, a Conflict in memory
        claim(store, "p-2", token=grant("hash-p-1-invitation", "p-2"))
    assert store.get_invitation("w-1", "p-2").sent_kinds == set()
    assert store.get_token("hash-p-1-invitation").participant_id == "p-1"  # type: ignore[union-attr]


def test_a_released_claim_can_be_claimed_again(store: Store) -> None:
    sent_wave(store, "p-1")
    store.release(wave_id="w-1", participant_id="p-1", kind="invitation", token_hash="hash-p-1-invitation", cells=CELLS)
    read = store.get_invitation("w-1", "p-1")
    assert (read.status, read.sent_kinds) == ("pending", set())
    assert store.get_token("hash-p-1-invitation") is None
    assert store.read_cells("w-1", "language") == {"en": {"f:invited": 0}}
    assert claim(store, "p-1", token_hash="retry") is ClaimOutcome.CLAIMED
    with pytest.raises(Exception):  # releasing what was not claimed is a programming error
        store.release(wave_id="w-1", participant_id="p-1", kind="reminder-1", token_hash="x", cells=CELLS)


def test_an_expired_link_opens_nothing(store: Store) -> None:
    store.put_wave(wave())
    store.create_invitations([invitation("p-1")])
    expired = replace(grant("old"), expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert claim(store, "p-1", token=expired) is ClaimOutcome.CLAIMED
    assert store.get_token("old") is None
    assert store.get_token("never-issued") is None


def test_opening_a_link_marks_it_opened_once_and_says_what_the_invitation_holds(store: Store) -> None:
    sent_wave(store, "p-1", "p-2", "p-3")
    later = NOW + timedelta(minutes=1)
    assert store.open_link("w-1", "p-1", CELLS, later) == LinkState(first_open=True, opted_out=False, completed=False)
    assert store.open_link("w-1", "p-1", CELLS, later) == LinkState(first_open=False, opted_out=False, completed=False)
    assert store.get_invitation("w-1", "p-1").opened_at == later
    # Opted out, and answered, without ever opening the form: told so, and counted opened once.
    store.mark_opted_out("w-1", "p-2", CELLS, later)
    assert store.open_link("w-1", "p-2", CELLS, later) == LinkState(first_open=True, opted_out=True, completed=False)
    assert store.store_response(response("p-3"), previous=None, deltas={}, now=later) is SubmitOutcome.STORED
    assert store.open_link("w-1", "p-3", CELLS, later) == LinkState(first_open=True, opted_out=False, completed=True)
    assert store.open_link("w-1", "p-3", CELLS, later) == LinkState(first_open=False, opted_out=False, completed=True)
    assert store.read_cells("w-1", "language")["en"]["f:opened"] == 3
    with pytest.raises(NotFound):
        store.open_link("w-1", "nobody", CELLS, later)


# Outcomes ----------------------------------------------------------------------------------------------------
def test_each_notification_is_recorded_and_counted_once(store: Store) -> None:
    sent_wave(store, "p-1", "p-2", "p-3")
    later = NOW + timedelta(minutes=1)
    assert store.mark_delivered("w-1", "p-1", CELLS, later) is True
    assert store.mark_delivered("w-1", "p-1", CELLS, later) is False
    assert store.mark_opened("w-1", "p-1", CELLS, later) is True
    assert store.mark_opened("w-1", "p-1", CELLS, later) is False
    assert store.mark_complained("w-1", "p-2", CELLS, later) is True
    assert store.mark_complained("w-1", "p-2", CELLS, later) is False
    assert store.mark_opted_out("w-1", "p-2", CELLS, later) is False  # the complaint opted them out
    assert store.mark_rejected("w-1", "p-3", CELLS) is True
    assert store.mark_rejected("w-1", "p-3", CELLS) is False
    assert store.mark_delivered("w-1", "gone", CELLS, later) is False
    p1, p2, p3 = (store.get_invitation("w-1", pid) for pid in ("p-1", "p-2", "p-3"))
    assert (p1.status, p1.delivered_at, p1.opened_at) == ("delivered", later, later)  # opening keeps the status
    assert (p2.status, p2.opted_out_at) == ("complained", later)
    assert (p3.status, p3.failed_reason) == ("failed", "rejected by SES")
    assert store.read_cells("w-1", "sponsored") == {
        "no": {
            "f:invited": 3,
            "f:delivered": 1,
            "f:opened": 1,
            "f:complained": 1,
            "f:opted_out": 1,
            "f:failed": 1,
        }
    }


def test_a_skip_counts_once_per_job_and_a_send_failure_keeps_its_reason(store: Store) -> None:
    store.put_wave(wave())
    store.create_invitations([invitation("p-1"), invitation("p-2")])
    assert store.mark_suppressed("w-1", "p-1", CELLS) is True
    assert store.mark_suppressed("w-1", "p-1", CELLS) is False
    assert store.mark_send_failed("w-1", "p-2", CELLS, "Email address is not verified. " * 20) is True
    assert store.mark_send_failed("w-1", "p-2", CELLS, "again") is True  # each refused claim counts
    assert store.get_invitation("w-1", "p-1").status == "suppressed"
    failed = store.get_invitation("w-1", "p-2")
    assert (failed.status, failed.failed_reason) == ("failed", "again")
    store.mark_send_failed("w-1", "p-2", CELLS, "x" * 300)
    assert store.get_invitation("w-1", "p-2").failed_reason == "x" * 200
    assert store.read_cells("w-1", "income_group") == {"high": {"f:suppressed": 1, "f:failed": 3}}


def test_an_email_that_cannot_be_built_fails_once_and_never_over_one_sent(store: Store) -> None:
    store.put_wave(wave())
    store.create_invitations([invitation("p-1"), invitation("p-2")])
    assert store.mark_unsendable("w-1", "p-1", "invitation", CELLS, "the subject holds a line break") is True
    assert store.mark_unsendable("w-1", "p-1", "invitation", CELLS, "again") is False  # a redelivered job
    failed = store.get_invitation("w-1", "p-1")
    assert (failed.status, failed.failed_reason, failed.sent_kinds) == (
        "failed",
        "the subject holds a line break",
        set(),
    )
    assert claim(store, "p-2") is ClaimOutcome.CLAIMED
    assert store.mark_unsendable("w-1", "p-2", "invitation", CELLS, "too late") is False  # that email went out
    assert store.get_invitation("w-1", "p-2").status == "sent"
    assert store.read_cells("w-1", "income_group") == {"high": {"f:failed": 1, "f:invited": 1}}


# Responses ---------------------------------------------------------------------------------------------------
def test_a_first_submit_stores_the_answers_completes_the_invitation_and_counts_them(store: Store) -> None:
    sent_wave(store, "p-1")
    later = NOW + timedelta(minutes=3)
    assert store.store_response(response(), previous=None, deltas=answer_deltas("agree"), now=later) is (
        SubmitOutcome.STORED
    )
    assert store.get_response("w-1", "p-1") == replace(response(), updated_at=later)
    read = store.get_invitation("w-1", "p-1")
    assert (read.status, read.completed_at) == ("completed", later)
    assert store.read_cells("w-1", "stakeholder_group") == {
        "government": {"f:invited": 1, "n:useful": 1, "a:useful:agree": 1}
    }
    assert store.store_response(response(), previous=None, deltas=answer_deltas("agree"), now=later) is (
        SubmitOutcome.STALE
    )
    assert store.read_cells("w-1", "stakeholder_group")["government"]["n:useful"] == 1


def test_an_edit_applies_only_on_top_of_the_version_it_read(store: Store) -> None:
    sent_wave(store, "p-1")
    store.store_response(response(), previous=None, deltas=answer_deltas("agree"), now=NOW)
    first = store.get_response("w-1", "p-1")
    assert first is not None
    edit = response(version=2, answer="disagree")
    moved = {
        cell: {**d, **answer_deltas("agree", -1)[cell]} for cell, d in answer_deltas("disagree").items()
    }  # n:useful +1 -1 = 0: a zero delta moves nothing
    moved = {cell: {k: v for k, v in d.items() if k != "n:useful"} for cell, d in moved.items()}
    assert store.store_response(edit, previous=first, deltas=moved, now=NOW) is SubmitOutcome.STORED
    assert store.store_response(response(version=2), previous=first, deltas=moved, now=NOW) is SubmitOutcome.STALE
    stored = store.get_response("w-1", "p-1")
    assert stored is not None and (stored.version, stored.answers["useful"]) == (2, "disagree")
    assert store.read_cells("w-1", "language") == {
        "en": {"f:invited": 1, "n:useful": 1, "a:useful:agree": 0, "a:useful:disagree": 1}
    }
    assert store.get_invitation("w-1", "p-1").completed_at == NOW  # an edit does not complete again
    assert [r.participant_id for r in store.list_responses("w-1")] == ["p-1"]


def test_an_anonymous_answer_is_stored_once_with_its_counters_and_touches_no_invitation(store: Store) -> None:
    sent_wave(store, "p-1")
    anonymous = replace(response("paper_0123456789abcdef"), panel_id="", cells={**CELLS, "respondent": "anonymous"})
    deltas = answer_deltas("agree")
    assert store.store_anonymous_response(anonymous, deltas=deltas, now=NOW) is SubmitOutcome.STORED
    assert store.get_response("w-1", anonymous.participant_id) == replace(anonymous, updated_at=NOW)
    assert store.store_anonymous_response(anonymous, deltas=deltas, now=NOW) is SubmitOutcome.STALE
    assert store.read_cells("w-1", "stakeholder_group")["government"]["n:useful"] == 1
    assert store.get_invitation("w-1", "p-1").completed_at is None


def test_no_answer_is_stored_once_the_participant_opted_out(store: Store) -> None:
    sent_wave(store, "p-1", "p-2")
    store.mark_opted_out("w-1", "p-2", CELLS, NOW)
    assert store.store_response(response("p-2"), previous=None, deltas={}, now=NOW) is SubmitOutcome.OPTED_OUT
    assert store.store_response(response("gone"), previous=None, deltas={}, now=NOW) is SubmitOutcome.OPTED_OUT
    assert list(store.list_responses("w-1")) == []
    assert store.get_invitation("w-1", "p-2").completed_at is None


def test_a_cached_wave_is_the_wave_and_a_write_is_seen_at_once_by_this_process(store: Store) -> None:
    sent_wave(store, "p-1")
    wave = store.get_wave_cached("ev-1", "w-1")
    assert wave == store.get_wave("ev-1", "w-1")
    wave.closes_at = NOW  # the caller's copy: the cache keeps its own
    assert store.get_wave_cached("ev-1", "w-1").closes_at != NOW
    store.put_wave(replace(store.get_wave("ev-1", "w-1"), closes_at=NOW + timedelta(minutes=1)))
    assert store.get_wave_cached("ev-1", "w-1").closes_at == NOW + timedelta(minutes=1)


def test_read_cells_reads_one_dimension_of_one_wave(store: Store) -> None:
    sent_wave(store, "p-1")
    store.create_invitations([replace(invitation("p-2"), cells={**CELLS, "stakeholder_group": "media"})])
    media = replace(grant("hash-2", "p-2"), cells={**CELLS, "stakeholder_group": "media"})
    assert store.claim(media, email_key="key-p-2", now=NOW) is ClaimOutcome.CLAIMED
    assert store.read_cells("w-1", "stakeholder_group") == {"government": {"f:invited": 1}, "media": {"f:invited": 1}}
    assert store.read_cells("w-1", "language") == {"en": {"f:invited": 2}}
    assert store.read_cells("w-2", "language") == {}


# Erasure -----------------------------------------------------------------------------------------------------
def test_erasure_clears_the_person_revokes_every_link_and_stops_every_email(store: Store) -> None:
    store.put_participants([participant("p-1"), participant("p-2")])
    sent_wave(store, "p-1", "p-2")
    assert claim(store, "p-1", kind="reminder-1") is ClaimOutcome.CLAIMED
    store.reschedule(store.get_invitation("w-1", "p-1"), "reminder-2", NOW + timedelta(days=7))
    store.put_wave(wave("w-2"))
    store.create_invitations([invitation("p-1", wave_id="w-2")])
    later = NOW + timedelta(hours=2)
    assert store.erase_participant(participant("p-1"), ["w-1", "w-2", "w-none"], later) == 2
    erased = store.get_participant("ev-1", "p-1")
    assert (erased.email, erased.full_name, erased.organisation, erased.erased_at) == ("", "", "", later)
    assert (erased.stakeholder_group, erased.email_key) == ("government", "key-p-1")
    assert store.get_token("hash-p-1-invitation") is None and store.get_token("hash-p-1-reminder-1") is None
    assert store.get_token("hash-p-2-invitation") is not None
    for wave_id in ("w-1", "w-2"):
        gone = store.get_invitation(wave_id, "p-1")
        assert (gone.due_at, gone.due_kind) == (None, None)
    assert [i.participant_id for i in store.due_invitations(NOW + timedelta(days=30), 10)] == ["p-2"]
    assert store.erase_participant(participant("p-1"), ["w-1", "w-2"], later) == 0  # a retry finds nothing left


def test_an_erased_participant_is_never_claimed_for_whatever_was_queued(store: Store) -> None:
    store.put_participants([participant("p-1"), participant("p-2")])
    sent_wave(store, "p-1")
    store.create_invitations([invitation("p-2")])
    store.erase_participant(participant("p-1"), ["w-1"], NOW)
    store.erase_participant(participant("p-2"), ["w-1"], NOW)
    # Erased after the jobs were queued (and after the sender read them): the claim refuses, writes nothing.
    assert claim(store, "p-1", kind="reminder-1") is ClaimOutcome.ERASED
    assert claim(store, "p-2") is ClaimOutcome.ERASED
    assert store.get_invitation("w-1", "p-1").sent_kinds == {"invitation"}
    assert store.get_invitation("w-1", "p-2").sent_kinds == set()
    assert store.get_token("hash-p-1-reminder-1") is None and store.get_token("hash-p-2-invitation") is None
    assert store.read_cells("w-1", "language") == {"en": {"f:invited": 1}}


def test_the_sender_reads_invitation_participant_wave_and_event_at_once(store: Store) -> None:
    store.put_event(event())
    store.put_participants([participant("p-1")])
    sent_wave(store, "p-1")
    found = store.read_for_sending("ev-1", "w-1", "p-1")
    assert found.invitation == store.get_invitation("w-1", "p-1")
    assert found.participant == store.get_participant("ev-1", "p-1")
    assert found.wave == store.get_wave("ev-1", "w-1")
    assert found.event == store.get_event("ev-1")
    store.erase_participant(participant("p-1"), ["w-1"], NOW)
    erased = store.read_for_sending("ev-1", "w-1", "p-1").participant
    assert erased is not None and erased.erased_at == NOW and erased.email == ""
    gone = store.read_for_sending("ev-2", "w-9", "p-9")
    assert (gone.invitation, gone.participant, gone.wave, gone.event) == (None, None, None, None)


def test_a_scrub_replaces_the_answers_as_a_new_version_unless_they_changed(store: Store) -> None:
    sent_wave(store, "p-1")
    store.store_response(response(), previous=None, deltas={}, now=NOW)
    stored = store.get_response("w-1", "p-1")
    assert stored is not None
    later = NOW + timedelta(days=1)
    assert store.scrub_response(stored, {"useful": "agree", "comment": "[removed]"}, later) is True
    assert store.scrub_response(stored, {"useful": "agree"}, later) is False
    assert store.scrub_response(response("gone"), {}, later) is False
    scrubbed = store.get_response("w-1", "p-1")
    assert scrubbed is not None
    assert (scrubbed.version, scrubbed.answers, scrubbed.updated_at) == (
        2,
        {"useful": "agree", "comment": "[removed]"},
        later,
    )


# Questionnaires ----------------------------------------------------------------------------------------------
def test_a_questionnaire_version_is_stored_once(store: Store) -> None:
    store.put_questionnaire_definition("post-event", 1, '{"id": "post-event", "version": 1}', NOW)
    store.put_questionnaire_definition("post-event", 2, '{"id": "post-event", "version": 2}', NOW)
    with pytest.raises(Conflict, match="questionnaire post-event version 1 already exists"):
        store.put_questionnaire_definition("post-event", 1, "{}", NOW)
    assert store.get_questionnaire_definition("post-event", 1) == {"id": "post-event", "version": 1}
    assert store.get_questionnaire_definition("post-event", 3) is None
    listed = sorted(store.list_questionnaire_definitions(), key=lambda d: d["version"])
    assert listed == [{"id": "post-event", "version": 1}, {"id": "post-event", "version": 2}]


def share(token_hash: str, share_id: str, event_id: str = "ev-1", *, days: float = 30) -> Share:
    now = datetime.now(UTC)
    return Share(
        token_hash=token_hash,
        share_id=share_id,
        event_id=event_id,
        wave_id="w-1",
        by="region",
        lang="fr",
        include_comments=True,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )


def test_shared_links_are_stored_listed_counted_and_revoked(store: Store) -> None:
    store.put_share(share("hash-a", "sh-a"))
    store.put_share(share("hash-b", "sh-b"))
    store.put_share(share("hash-c", "sh-c", "ev-2"))
    store.put_share(share("hash-old", "sh-old", days=-1))
    got = store.get_share("hash-a")
    assert got is not None and (got.share_id, got.by, got.lang, got.include_comments, got.views) == (
        "sh-a",
        "region",
        "fr",
        True,
        0,
    )
    assert store.get_share("hash-old") is None  # expired, whatever TTL has done yet
    assert store.get_token("hash-a") is None  # a shared link opens no survey
    store.count_share_view("hash-a")
    store.count_share_view("hash-a")
    store.count_share_view("hash-gone")  # nothing to count, no error
    assert [(s.share_id, s.views) for s in store.list_shares("ev-1")] == [("sh-a", 2), ("sh-b", 0)]
    assert store.delete_share("ev-2", "sh-a") is False  # another event's link
    assert store.delete_share("ev-1", "sh-a") is True
    assert store.delete_share("ev-1", "sh-a") is False
    assert store.get_share("hash-a") is None
    assert [s.share_id for s in store.list_shares("ev-1")] == ["sh-b"]
    assert [s.share_id for s in store.list_shares("ev-2")] == ["sh-c"]
    assert store.list_shares("ev-none") == []


def test_a_wave_is_renamed_alone_and_back_to_no_name(store: Store) -> None:
    store.put_wave(wave())
    assert store.get_wave("ev-1", "w-1").name is None
    store.rename_wave("ev-1", "w-1", "Geneva round")
    renamed = store.get_wave("ev-1", "w-1")
    assert (renamed.name, renamed.status, renamed.closes_at) == ("Geneva round", "open", NOW + timedelta(days=14))
    store.put_wave(replace(renamed, status="closed"))  # a later write of the wave keeps its name
    assert store.get_wave("ev-1", "w-1").name == "Geneva round"
    store.rename_wave("ev-1", "w-1", None)
    assert store.get_wave("ev-1", "w-1").name is None
    with pytest.raises(NotFound):
        store.rename_wave("ev-1", "w-unknown", "x")
    assert [w.wave_id for w in store.list_waves("ev-1")] == ["w-1"]  # no item made for the unknown wave

"""The store under DynamoDB's transaction conflicts (issue 17, with the emulator on): a cell keeps one item while
writes to it do not overlap; a counter update that met a conflict is tried again on a shard of the cell, and a
summary's read adds the shards up; "send now" while the scheduler writes an invitation creates nothing twice and
fails nothing; a single-item write refused for a conflict is a busy answer, never a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import container
from chalicelib.adapters import tables as t
from chalicelib.adapters.store import base
from chalicelib.adapters.store.base import Tx, unshard
from devstack import tx_conflicts

WAVE = "wv_shards"


@pytest.fixture
def emulated(stack: Any) -> Iterator[None]:
    container.store()  # binds the tables
    base._hot.clear()
    tx_conflicts.install(duration=0.3)
    try:
        yield
    finally:
        tx_conflicts.uninstall()
        base._hot.clear()


def add(cells: dict[str, dict[str, int]]) -> int:
    tx = Tx()
    with tx:
        tx.counters(WAVE, cells)
    return tx.attempts


def stored_cells() -> list[str]:
    return sorted(item.cell for item in t.AggregateItem.query(WAVE))


def test_writes_that_do_not_overlap_keep_one_item_per_cell(emulated: None) -> None:
    tx_conflicts.install(duration=0.0)
    for _ in range(5):
        assert add({"sponsored#no": {"f:completed": 1}, "language#en": {"f:completed": 1}}) == 1
    assert stored_cells() == ["language#en", "sponsored#no"]
    assert container.store().read_cells(WAVE, "sponsored") == {"no": {"f:completed": 5}}


def test_a_counter_update_that_met_a_conflict_goes_to_a_shard_and_the_read_adds_it(emulated: None) -> None:
    first = threading.Thread(target=add, args=({"sponsored#no": {"f:completed": 1}, "language#en": {"n:q": 2}},))
    first.start()
    deadline = time.monotonic() + 5
    while tx_conflicts.held() == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    # Meets the first on sponsored#no only: its counters go to shards for the retry, and sponsored#no stays hot.
    attempts = add({"sponsored#no": {"f:completed": 1}, "language#fr": {"n:q": 1}})
    first.join()
    assert attempts >= 2
    cells = stored_cells()
    shards = sorted(unshard(c) for c in cells if c != unshard(c))
    assert shards == ["language#fr", "sponsored#no"], cells
    assert {"sponsored#no", "language#en"} <= set(cells) and "language#fr" not in cells
    # The next transaction, with no conflict, writes the hot cell to a shard from its first attempt, and a
    # cold cell to its own item.
    tx_conflicts.install(duration=0.0)
    assert add({"sponsored#no": {"f:completed": 1}, "language#fr": {"n:q": 1}}) == 1
    assert "language#fr" in stored_cells()
    assert len([c for c in stored_cells() if unshard(c) == "sponsored#no"]) in (2, 3)
    store = container.store()
    assert store.read_cells(WAVE, "sponsored") == {"no": {"f:completed": 3}}
    assert store.read_cells(WAVE, "language") == {"en": {"n:q": 2}, "fr": {"n:q": 2}}


def test_unshard_only_strips_a_numeric_shard() -> None:
    assert unshard("sponsored#no!7") == "sponsored#no"
    assert unshard("sponsored#no") == "sponsored#no"
    assert unshard("region#a!b") == "region#a!b"


def _hold(update: Any) -> threading.Thread:
    """A transaction in progress on one item, in the background; returns once the emulator holds it."""
    thread = threading.Thread(target=update)
    thread.start()
    deadline = time.monotonic() + 5
    while tx_conflicts.held() == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    return thread


def test_an_invitation_a_transaction_is_writing_is_not_created_again_and_a_conflicted_write_is_busy(
    emulated: None,
) -> None:
    from dataclasses import replace

    from chalicelib.domain.errors import TemporarilyUnavailable

    store = container.store()
    invitation = next(iter(_one_invitation(store)))

    def update() -> None:
        tx = Tx()
        with tx:
            tx.update(
                "invitation",
                t.InvitationItem(invitation.wave_id, invitation.participant_id),
                actions=[t.InvitationItem.status.set("sent")],
            )

    held = _hold(update)
    # "Send now" while the scheduler writes one of the wave's invitations: it exists, nothing is created.
    assert store.create_invitations([invitation]) == 0
    wave = store.get_wave(invitation.event_id, invitation.wave_id)
    held.join()
    held = _hold(lambda: _hold_wave(wave))
    with pytest.raises(TemporarilyUnavailable):
        store.put_wave(replace(wave, status="open"))  # a single-item write on a held item: busy, not a 500
    held.join()


def _hold_wave(wave: Any) -> None:
    tx = Tx()
    with tx:
        tx.check("wave", t.WaveItem, wave.event_id, wave.wave_id, condition=t.WaveItem.wave_id.exists())


def _one_invitation(store: Any) -> list[Any]:
    from datetime import UTC, datetime

    from chalicelib.domain.model import CloseRule, Invitation, OpenRule, Wave

    now = datetime.now(UTC)
    store.put_wave(
        Wave(
            event_id="ev_shards",
            wave_id=WAVE,
            questionnaire_id="satisfaction",
            questionnaire_version=1,
            opens=OpenRule(after_event_days=1, local_time="09:00"),
            closes=CloseRule(after_open_days=14),
            reminders_after_days=[],
            status="open",
            opened_at=now,
            closes_at=None,
            created_at=now,
        )
    )
    invitation = Invitation(
        wave_id=WAVE,
        participant_id="pt_one",
        event_id="ev_shards",
        cells={"language": "en"},
        language="en",
        timezone="UTC",
        email_key="key-one",
        panel_id="panel-one",
    )
    assert store.create_invitations([invitation]) == 1
    return [invitation]

"""Answering under a burst on DynamoDB's transaction semantics (issue 17), against the local stack as
`EF_EMULATE_TX_CONFLICTS=1 make run` starts it (tests/e2e/conftest.py): 50 participants submitting at once and
8 simultaneous submits of one link, over real HTTP to the threaded `chalice local`, with every transaction
holding its items as long as DynamoDB's would. No 5xx, every answer stored once, the funnel counting each
participant once."""

from __future__ import annotations

import threading
import time
import urllib.parse
from datetime import date, timedelta
from typing import Any

from devstack import tx_conflicts
from tests.support.data import HEADER
from tests.support.live import Live, token_for

PEOPLE = 50
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GROUPS = ("government", "academia", "civil_society", "private_sector", "media")


def answers(i: int) -> bytes:
    fields = {
        "overall": str(1 + i % 5),
        "mutual_learning": str(1 + (i + 1) % 5),
        "understanding": str(1 + (i + 2) % 5),
        "cooperation_measures": str(1 + (i + 3) % 5),
        "comments": f"Comment {i}",
    }
    return urllib.parse.urlencode(fields).encode()


def at_once(calls: list[Any]) -> list[Any]:
    """Run the calls from one thread each, released together."""
    start = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = calls[i]()
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def test_a_burst_of_answers_and_a_link_clicked_eight_times_are_each_stored_once_with_no_5xx(live: Live) -> None:
    assert tx_conflicts.installed() and tx_conflicts.duration() > 0
    ends = date.today() - timedelta(days=1)
    r = live.json(
        "POST",
        "/admin/events",
        {
            "title": "Burst workshop",
            "starts_on": (ends - timedelta(days=1)).isoformat(),
            "ends_on": ends.isoformat(),
            "timezone": "Europe/Zurich",
        },
    )
    event_id = r.json()["event_id"]
    rows = "".join(
        f"burst.{i}@example.org,Person {i},Org {i % 7},{GROUPS[i % 5]},{('FR', 'KE', 'BR', 'IN')[i % 4]},"
        f"{('en', 'fr', 'es')[i % 3]},,{'yes' if i % 6 == 0 else 'no'}\n"
        for i in range(PEOPLE)
    )
    r = live.call(
        "POST", f"/admin/events/{event_id}/participants", (HEADER + rows).encode(), {"Content-Type": "text/csv"}
    )
    assert r.status == 200 and r.json()["imported"] == PEOPLE, r.body
    r = live.json(
        "POST",
        f"/admin/events/{event_id}/waves",
        {
            "questionnaire": "satisfaction",
            "opens": {"after_event_days": 1, "local_time": "09:00"},
            "closes": {"after_open_days": 21},
        },
    )
    wave_id = r.json()["wave_id"]
    before = len(live.emails())
    assert live.call("POST", f"/admin/events/{event_id}/waves/{wave_id}/send").status == 202
    mails = [m for m in live.wait_for_emails(before + PEOPLE, timeout=120)[before:] if "burst." in str(m["To"])]
    assert len(mails) == PEOPLE
    tokens = [token_for(m) for m in mails]
    tx_conflicts.reset_stats()

    # Every participant opens the form, and then all submit at once.
    opened = at_once([lambda t=t: live.call("GET", f"/s/{t}", auth=False) for t in tokens])
    assert [r.status for r in opened] == [200] * PEOPLE
    submitted = at_once(
        [lambda t=t, i=i: live.call("POST", f"/s/{t}", answers(i), FORM, auth=False) for i, t in enumerate(tokens)]
    )
    assert [getattr(r, "status", r) for r in submitted] == [303] * PEOPLE

    # One link, eight clicks at once: the first stores, the others are already done or applied as edits.
    clicked = at_once([lambda: live.call("POST", f"/s/{tokens[0]}", answers(99), FORM, auth=False)] * 8)
    assert [getattr(r, "status", r) for r in clicked] == [303] * 8
    emulated = tx_conflicts.stats()
    assert emulated.transactions > PEOPLE  # the transactions went through the emulator

    summary = live.call("GET", f"/admin/events/{event_id}/summary?wave={wave_id}&by=stakeholder_group").json()
    funnel = summary["funnel"]
    assert (funnel["invited"], funnel["opened"], funnel["completed"]) == (PEOPLE, PEOPLE, PEOPLE)
    # The counters (spread over shards, written by retried transactions) equal a recount of the answers, once
    # the pump has delivered SES's delivery events (a recount reads invitations and counters one after the other).
    deadline = time.monotonic() + 60
    while funnel["delivered"] < PEOPLE and time.monotonic() < deadline:
        time.sleep(1)
        funnel = live.call("GET", f"/admin/events/{event_id}/summary?wave={wave_id}").json()["funnel"]
    assert funnel["delivered"] == PEOPLE
    recount = live.call("POST", f"/admin/events/{event_id}/waves/{wave_id}/recount")
    assert recount.status == 200 and recount.json()["ok"] is True, recount.body

    said: list[str] = []
    live.stack.say = said.append  # the banner `make run` prints, captured
    try:
        live.stack.banner()
    finally:
        del live.stack.say
    assert any("transaction conflicts are emulated" in line for line in said), said

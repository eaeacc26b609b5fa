"""When each participant's invitation and reminders are due, in their own time zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import CloseRule, Event, OpenRule
from chalicelib.domain.schedule import (
    closes_at,
    invitation_due,
    local_instant,
    next_kind,
    opening_reference,
    parse_wave_rules,
    zone,
)

ZURICH = ZoneInfo("Europe/Zurich")
NEW_YORK = ZoneInfo("America/New_York")


def event(ends_on: date, tz: str = "Europe/Zurich") -> Event:
    return Event(event_id="ev_1", title="Workshop", starts_on=ends_on - timedelta(days=1), ends_on=ends_on, timezone=tz)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


DAY_AFTER_AT_9 = OpenRule(after_event_days=1, local_time="09:00")


# Invitation due time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tz, expected",
    [
        ("Asia/Tokyo", utc(2026, 6, 6, 0, 0)),
        ("Europe/Zurich", utc(2026, 6, 6, 7, 0)),
        ("America/New_York", utc(2026, 6, 6, 13, 0)),
    ],
)
def test_given_an_event_ending_5_june_when_invited_the_day_after_at_9_then_it_is_9_local_time(tz, expected):
    due = invitation_due(event(date(2026, 6, 5)), DAY_AFTER_AT_9, tz)
    assert due == expected
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due.astimezone(ZoneInfo(tz)).time() == time(9, 0)


@pytest.mark.parametrize(
    "ends_on, tz, expected",
    [
        # Europe switches to summer time on Sunday 29 March 2026.
        (date(2026, 3, 28), "Europe/Zurich", utc(2026, 3, 29, 7, 0)),
        (date(2026, 3, 27), "Europe/Zurich", utc(2026, 3, 28, 8, 0)),
        # The United States switch on Sunday 8 March 2026.
        (date(2026, 3, 7), "America/New_York", utc(2026, 3, 8, 13, 0)),
        (date(2026, 3, 6), "America/New_York", utc(2026, 3, 7, 14, 0)),
        # And back to winter time on 25 October (Europe) and 1 November (US).
        (date(2026, 10, 24), "Europe/Zurich", utc(2026, 10, 25, 8, 0)),
        (date(2026, 10, 31), "America/New_York", utc(2026, 11, 1, 14, 0)),
    ],
)
def test_given_a_dst_change_when_the_invitation_falls_on_either_side_then_it_stays_at_9_local(ends_on, tz, expected):
    assert invitation_due(event(ends_on, tz), DAY_AFTER_AT_9, tz) == expected


def test_given_a_local_time_in_the_spring_forward_gap_when_scheduled_then_it_moves_forward_without_crashing():
    # 02:30 on 29 March 2026 does not exist in Zurich: clocks jump from 02:00 to 03:00.
    rule = OpenRule(after_event_days=1, local_time="02:30")
    due = invitation_due(event(date(2026, 3, 28)), rule, "Europe/Zurich")
    assert due == utc(2026, 3, 29, 1, 30)
    local = due.astimezone(ZURICH)
    assert local.date() == date(2026, 3, 29) and local.time() == time(3, 30)
    # Later than anything that does exist before the gap.
    assert due > local_instant(date(2026, 3, 29), time(1, 59), ZURICH)


def test_given_a_time_in_the_us_spring_forward_gap_when_scheduled_then_it_lands_after_the_gap():
    due = local_instant(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert due == utc(2026, 3, 8, 7, 30)
    assert due.astimezone(NEW_YORK).time() == time(3, 30)


@pytest.mark.parametrize(
    "wall, expected_local",
    [
        # Lord Howe Island moves its clocks by 30 minutes: 02:00 to 02:30 on Sunday 4 October 2026.
        (time(2, 15), time(2, 45)),
        (time(2, 0), time(2, 30)),
        (time(2, 29), time(2, 59)),
        # Just outside the gap nothing moves.
        (time(1, 59), time(1, 59)),
        (time(2, 30), time(2, 30)),
    ],
)
def test_given_a_time_in_a_30_minute_gap_when_scheduled_then_it_moves_forward_by_30_minutes(wall, expected_local):
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    due = local_instant(date(2026, 10, 4), wall, lord_howe)
    local = due.astimezone(lord_howe)
    assert (local.date(), local.time()) == (date(2026, 10, 4), expected_local)


def test_given_a_time_in_a_30_minute_gap_then_it_is_the_instant_the_wall_clock_would_show_had_it_not_jumped():
    # Before the change Lord Howe is UTC+10:30, so 02:15 "standard time" is 15:45 UTC on 3 October.
    assert local_instant(date(2026, 10, 4), time(2, 15), ZoneInfo("Australia/Lord_Howe")) == utc(2026, 10, 3, 15, 45)


def test_given_an_ambiguous_autumn_time_when_scheduled_twice_then_it_resolves_to_the_same_single_instant():
    # 02:30 on 25 October 2026 happens twice in Zurich (CEST, then CET).
    first = local_instant(date(2026, 10, 25), time(2, 30), ZURICH)
    second = local_instant(date(2026, 10, 25), time(2, 30), ZURICH)
    assert first == second
    assert first in (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))
    local = first.astimezone(ZURICH)
    assert (local.date(), local.time()) == (date(2026, 10, 25), time(2, 30))


def test_given_an_absolute_opening_when_scheduled_then_every_zone_gets_the_same_instant():
    rule = OpenRule(at=utc(2026, 6, 10, 12, 0))
    ev = event(date(2026, 6, 5))
    assert {invitation_due(ev, rule, tz) for tz in ("Asia/Tokyo", "America/New_York", "")} == {rule.at}


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "", "Europe", "../../etc/passwd", "europe/zurich "])
def test_given_an_unknown_participant_zone_when_scheduled_then_the_events_zone_is_used(bad):
    ev = event(date(2026, 6, 5), "Asia/Tokyo")
    assert invitation_due(ev, DAY_AFTER_AT_9, bad) == utc(2026, 6, 6, 0, 0)
    assert zone(bad, "America/New_York") == NEW_YORK


def test_given_a_known_zone_when_looked_up_then_the_fallback_is_not_used():
    assert zone("Asia/Tokyo", "Europe/Zurich") == ZoneInfo("Asia/Tokyo")


def test_given_a_relative_closing_when_computed_then_it_counts_whole_days_from_the_opening_reference():
    ev = event(date(2026, 6, 5), "Europe/Zurich")
    reference = opening_reference(ev, DAY_AFTER_AT_9)
    assert reference == utc(2026, 6, 6, 7, 0)
    assert closes_at(CloseRule(after_open_days=21), reference) == utc(2026, 6, 27, 7, 0)
    assert closes_at(CloseRule(at=utc(2026, 7, 1)), reference) == utc(2026, 7, 1)


# Next email owed ------------------------------------------------------------------------------------


def test_given_nothing_sent_when_asked_then_the_invitation_comes_first_at_its_due_time():
    first = utc(2026, 6, 6, 7, 0)
    assert next_kind(set(), first, [7, 14], ZURICH, utc(2026, 6, 27, 7, 0)) == ("invitation", first)


def test_given_the_invitation_sent_when_asked_then_reminder_1_is_7_days_later_at_the_same_local_time():
    first = utc(2026, 6, 6, 7, 0)
    assert next_kind({"invitation"}, first, [7, 14], ZURICH, utc(2026, 6, 27, 7, 0)) == (
        "reminder-1",
        utc(2026, 6, 13, 7, 0),
    )
    assert next_kind({"invitation", "reminder-1"}, first, [7, 14], ZURICH, utc(2026, 6, 27, 7, 0)) == (
        "reminder-2",
        utc(2026, 6, 20, 7, 0),
    )


@pytest.mark.parametrize(
    "tz, first, expected",
    [
        # Invitation in winter time, reminder in summer time: still 09:00 in Zurich.
        (ZURICH, utc(2026, 3, 25, 8, 0), utc(2026, 4, 1, 7, 0)),
        # Invitation in summer time, reminder in winter time.
        (ZURICH, utc(2026, 10, 21, 7, 0), utc(2026, 10, 28, 8, 0)),
        # New York, across 8 March 2026.
        (NEW_YORK, utc(2026, 3, 4, 14, 0), utc(2026, 3, 11, 13, 0)),
    ],
)
def test_given_a_dst_change_between_invitation_and_reminder_then_the_reminder_keeps_the_wall_clock(tz, first, expected):
    kind, due = next_kind({"invitation"}, first, [7], tz, first + timedelta(days=30))
    assert kind == "reminder-1"
    assert due == expected
    assert due.astimezone(tz).time() == first.astimezone(tz).time() == time(9, 0)


def test_given_a_reminder_due_exactly_at_closing_then_nothing_more_is_owed():
    first = utc(2026, 6, 6, 7, 0)
    assert next_kind({"invitation"}, first, [7], ZURICH, utc(2026, 6, 13, 7, 0)) is None


def test_given_a_reminder_due_after_closing_then_nothing_more_is_owed():
    first = utc(2026, 6, 6, 7, 0)
    assert next_kind({"invitation", "reminder-1"}, first, [7, 14], ZURICH, utc(2026, 6, 18, 0, 0)) is None


def test_given_a_reminder_due_a_minute_before_closing_then_it_is_still_sent():
    first = utc(2026, 6, 6, 7, 0)
    assert next_kind({"invitation"}, first, [7], ZURICH, utc(2026, 6, 13, 7, 1)) == (
        "reminder-1",
        utc(2026, 6, 13, 7, 0),
    )


def test_given_every_reminder_sent_then_nothing_more_is_owed():
    first = utc(2026, 6, 6, 7, 0)
    sent = {"invitation", "reminder-1", "reminder-2"}
    assert next_kind(sent, first, [7, 14], ZURICH, utc(2026, 7, 6)) is None
    assert next_kind({"invitation"}, first, [], ZURICH, utc(2026, 7, 6)) is None


# Wave rules ----------------------------------------------------------------------------------------

RELATIVE = {
    "questionnaire": "satisfaction",
    "opens": {"after_event_days": 1, "local_time": "09:00"},
    "reminders_after_days": [7, 14],
    "closes": {"after_open_days": 21},
}
ABSOLUTE = {
    "questionnaire": "impact",
    "opens": {"at": "2026-09-01T09:00:00Z"},
    "reminders_after_days": [10],
    "closes": {"at": "2026-09-30T17:00:00+02:00"},
}


def test_given_the_relative_contract_form_when_parsed_then_it_gives_the_rules():
    opens, closes, reminders = parse_wave_rules(RELATIVE)
    assert opens == OpenRule(after_event_days=1, local_time="09:00")
    assert closes == CloseRule(after_open_days=21)
    assert reminders == [7, 14]


def test_given_the_absolute_contract_form_when_parsed_then_the_instants_are_in_utc():
    opens, closes, reminders = parse_wave_rules(ABSOLUTE)
    assert opens.at == utc(2026, 9, 1, 9, 0)
    assert closes.at == utc(2026, 9, 30, 15, 0)
    assert reminders == [10]


def test_given_no_local_time_or_reminders_when_parsed_then_9_oclock_and_none_are_assumed():
    opens, _, reminders = parse_wave_rules({"opens": {"after_event_days": 0}, "closes": {"after_open_days": 5}})
    assert opens.local_time == "09:00"
    assert reminders == []


def with_(base: dict, **changes) -> dict:
    body = {**base}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(with_(RELATIVE, opens={"after_event_days": "1"}), id="days as string"),
        pytest.param(with_(RELATIVE, opens={"after_event_days": 1.5}), id="days as float"),
        pytest.param(with_(RELATIVE, opens={"after_event_days": True}), id="days as bool"),
        pytest.param(with_(RELATIVE, opens={"after_event_days": -1}), id="negative days"),
        pytest.param(with_(RELATIVE, opens={"after_event_days": None}), id="no days"),
        pytest.param(with_(RELATIVE, opens={"local_time": "9h"}), id="local time 9h"),
        pytest.param(with_(RELATIVE, opens={"local_time": "25:00"}), id="local time 25:00"),
        pytest.param(with_(RELATIVE, opens={"local_time": "09:60"}), id="local time 09:60"),
        pytest.param(with_(RELATIVE, opens={"local_time": "09:00:00"}), id="local time with seconds"),
        pytest.param(with_(RELATIVE, opens={"local_time": 9}), id="local time as number"),
        pytest.param(with_(RELATIVE, reminders_after_days=[14, 7]), id="reminders decreasing"),
        pytest.param(with_(RELATIVE, reminders_after_days=[7, 7]), id="reminders repeated"),
        pytest.param(with_(RELATIVE, reminders_after_days=[0, 7]), id="reminder on day 0"),
        pytest.param(with_(RELATIVE, reminders_after_days=[True]), id="reminder as bool"),
        pytest.param(with_(RELATIVE, reminders_after_days=["7"]), id="reminder as string"),
        pytest.param(with_(RELATIVE, reminders_after_days=7), id="reminders not a list"),
        pytest.param(with_(RELATIVE, reminders_after_days=[1, 2, 3, 4, 5, 6]), id="six reminders"),
        pytest.param(with_(RELATIVE, reminders_after_days=[7, 21]), id="reminder on closing day"),
        pytest.param(with_(RELATIVE, reminders_after_days=[7, 30]), id="reminder after closing"),
        pytest.param(with_(RELATIVE, closes={"after_open_days": 0}), id="closes after 0 days"),
        pytest.param(with_(RELATIVE, closes={"after_open_days": "21"}), id="closes days as string"),
        pytest.param(with_(RELATIVE, closes="2026-07-01"), id="closes not an object"),
        pytest.param(with_(RELATIVE, opens="tomorrow"), id="opens not an object"),
        pytest.param({k: v for k, v in RELATIVE.items() if k != "opens"}, id="no opens"),
        pytest.param({k: v for k, v in RELATIVE.items() if k != "closes"}, id="no closes"),
        pytest.param(with_(ABSOLUTE, opens={"at": "2026-09-01T09:00:00"}), id="opens at without offset"),
        pytest.param(with_(ABSOLUTE, closes={"at": "2026-09-30T17:00"}), id="closes at without offset"),
        pytest.param(with_(ABSOLUTE, opens={"at": "2026-09-01"}), id="opens at a date"),
        pytest.param(with_(ABSOLUTE, opens={"at": "next monday"}), id="opens at words"),
        pytest.param(with_(ABSOLUTE, opens={"at": 1788000000}), id="opens at epoch number"),
    ],
)
def test_given_a_bad_wave_rule_when_parsed_then_it_is_rejected_with_validation_failed(body):
    with pytest.raises(ValidationFailed):
        parse_wave_rules(body)


def test_given_an_absolute_closing_before_the_absolute_opening_when_parsed_then_it_is_rejected():
    body = with_(
        ABSOLUTE, opens={"at": "2026-09-10T09:00:00Z"}, closes={"at": "2026-09-05T09:00:00Z"}, reminders_after_days=[]
    )
    with pytest.raises(ValidationFailed, match=r"closes\.at must be after opens\.at"):
        parse_wave_rules(body)


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_given_an_opening_instant_at_the_edge_of_the_calendar_when_parsed_then_it_is_rejected_as_bad_input(at):
    with pytest.raises(ValidationFailed, match="outside the supported range of dates"):
        parse_wave_rules({"opens": {"at": at}, "closes": {"after_open_days": 3}})


@pytest.mark.parametrize("local_time", ["+09:00", "1_0:00", "\u0669:\u0660\u0660"])
def test_given_a_local_time_that_is_not_plain_hh_mm_when_parsed_then_it_is_rejected(local_time):
    with pytest.raises(ValidationFailed, match=r"opens\.local_time must be HH:MM"):
        parse_wave_rules(with_(RELATIVE, opens={"local_time": local_time}))


def test_given_an_absolute_closing_equal_to_the_absolute_opening_when_parsed_then_it_is_rejected():
    body = with_(
        ABSOLUTE,
        opens={"at": "2026-09-10T09:00:00Z"},
        closes={"at": "2026-09-10T11:00:00+02:00"},
        reminders_after_days=[],
    )
    with pytest.raises(ValidationFailed, match=r"closes\.at must be after opens\.at"):
        parse_wave_rules(body)


@pytest.mark.parametrize(
    "closes_at, reminders",
    [
        pytest.param("2026-09-11T09:00:00Z", [10], id="closes before the reminder"),
        pytest.param("2026-09-11T09:00:00Z", [1], id="closes exactly when the reminder is due"),
        pytest.param("2026-09-20T09:00:00Z", [3, 10, 11], id="closes before the last of several reminders"),
    ],
)
def test_given_absolute_dates_and_a_reminder_not_before_the_closing_when_parsed_then_it_is_rejected(
    closes_at, reminders
):
    body = with_(
        ABSOLUTE, opens={"at": "2026-09-10T09:00:00Z"}, closes={"at": closes_at}, reminders_after_days=reminders
    )
    with pytest.raises(ValidationFailed, match="every reminder must come before the wave closes"):
        parse_wave_rules(body)


def test_given_absolute_dates_and_a_reminder_a_minute_before_the_closing_when_parsed_then_it_is_accepted():
    body = with_(
        ABSOLUTE,
        opens={"at": "2026-09-10T09:00:00Z"},
        closes={"at": "2026-09-17T09:01:00Z"},
        reminders_after_days=[3, 7],
    )
    opens, closes, reminders = parse_wave_rules(body)
    assert (opens.at, closes.at, reminders) == (utc(2026, 9, 10, 9, 0), utc(2026, 9, 17, 9, 1), [3, 7])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"opens": {"after_event_days": 1}, "closes": {"at": "9999-12-31T23:59:59-01:00"}},
            id="closing after datetime.max",
        ),
        pytest.param(
            {"opens": {"at": "9999-12-31T00:00:00Z"}, "closes": {"after_open_days": 3}},
            id="closing computed past the end of the calendar",
        ),
        pytest.param(
            {
                "opens": {"at": "9999-12-01T00:00:00Z"},
                "closes": {"at": "9999-12-30T00:00:00Z"},
                "reminders_after_days": [10**12],
            },
            id="reminder beyond any timedelta",
        ),
        pytest.param(
            {"opens": {"at": "0001-01-01T00:30:00Z"}, "closes": {"after_open_days": 3}}, id="first day of the calendar"
        ),
    ],
)
def test_given_dates_at_the_edge_of_the_calendar_when_parsed_then_only_validation_failed_is_raised(body):
    with pytest.raises(ValidationFailed):
        parse_wave_rules(body)


@pytest.mark.parametrize("local_time", ["00:00", "07:05", "23:59"])
def test_given_a_plain_hh_mm_local_time_when_parsed_then_it_is_stored_as_given(local_time):
    opens, _, _ = parse_wave_rules(with_(RELATIVE, opens={"local_time": local_time}))
    assert opens.local_time == local_time


@pytest.mark.parametrize(
    "local_time",
    ["9:00", "09:5", " 09:00", "09:00 ", "09:00\n", "24:00", "09.00", "０９:００", "-1:00", "", "09:00Z"],
)
def test_given_a_local_time_in_any_other_shape_when_parsed_then_it_is_rejected(local_time):
    with pytest.raises(ValidationFailed, match=r"opens\.local_time must be HH:MM"):
        parse_wave_rules(with_(RELATIVE, opens={"local_time": local_time}))


def test_given_a_wave_stored_before_hh_mm_was_enforced_when_scheduled_then_its_time_is_still_read():
    rule = OpenRule(after_event_days=1, local_time="9:00")
    assert invitation_due(event(date(2026, 6, 5)), rule, "Europe/Zurich") == utc(2026, 6, 6, 7, 0)


@settings(max_examples=300, deadline=None)
@given(
    opens_at=st.one_of(st.text(max_size=40), st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())),
    closes_at=st.one_of(st.text(max_size=40), st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())),
    reminders=st.lists(st.integers(1, 10**12), max_size=3).map(lambda r: sorted(set(r))),
)
def test_given_any_absolute_dates_when_parsed_then_only_validation_failed_can_be_raised(opens_at, closes_at, reminders):
    body = {"opens": {"at": opens_at}, "closes": {"at": closes_at}, "reminders_after_days": reminders}
    try:
        opens, closes, _ = parse_wave_rules(body)
    except ValidationFailed:
        return
    assert opens.at is not None and closes.at is not None and opens.at < closes.at
    if reminders:
        assert opens.at + timedelta(days=reminders[-1]) < closes.at


@settings(max_examples=300, deadline=None)
@given(local_time=st.text(max_size=8))
def test_given_any_local_time_when_parsed_then_it_is_rejected_or_stored_as_plain_hh_mm(local_time):
    try:
        opens, _, _ = parse_wave_rules(with_(RELATIVE, opens={"local_time": local_time}))
    except ValidationFailed:
        return
    assert opens.local_time == local_time
    assert len(local_time) == 5 and local_time.isascii() and local_time[2] == ":"
    assert 0 <= int(local_time[:2]) <= 23 and 0 <= int(local_time[3:]) <= 59

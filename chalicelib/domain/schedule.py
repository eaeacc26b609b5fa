"""When each participant's email is due: anchored to the event's end and the participant's own time zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import INVITATION, CloseRule, Event, Invitation, OpenRule, Wave, reminder_kind

MAX_REMINDERS = 5
# An invitation that goes out later than this after its planned time anchors its reminders at when it went out.
SCHEDULE_LAG = timedelta(hours=6)


# Exactly two ASCII digits each side: no signs, underscores or non-ASCII digits, which int() would accept.
_TIME_OF_DAY = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
# Converting an instant to any local zone moves it by less than a day; keep that within datetime's range.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def parse_time_of_day(value: Any) -> time:
    """A wall-clock time written exactly HH:MM (00:00 to 23:59)."""
    if not isinstance(value, str):
        raise ValidationFailed("opens.local_time must be a string HH:MM")
    if not _TIME_OF_DAY.fullmatch(value):
        raise ValidationFailed("opens.local_time must be HH:MM, for example 09:00")
    return time(int(value[:2]), int(value[3:]))


def format_time_of_day(value: time) -> str:
    return value.strftime("%H:%M")


def _stored_time_of_day(value: str) -> time:
    """A stored wave's local time; waves saved before HH:MM was enforced may hold e.g. "9:00"."""
    try:
        return parse_time_of_day(value)
    except ValidationFailed:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))


def parse_instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be an ISO 8601 date-time with an offset")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{field} must be an ISO 8601 date-time with an offset") from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field} needs a UTC offset, for example 2026-06-01T09:00:00Z")
    try:
        instant = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        # 0001-01-01T00:00:00+01:00 is before datetime.min in UTC, 9999-12-31T23:59:59-01:00 after datetime.max.
        raise ValidationFailed(f"{field} is outside the supported range of dates") from None
    if not _EARLIEST <= instant <= _LATEST:
        raise ValidationFailed(f"{field} is outside the supported range of dates")
    return instant


def parse_wave_rules(body: Mapping[str, Any]) -> tuple[OpenRule, CloseRule, list[int]]:
    """Validate the opening rule, reminder days and closing rule of a wave request."""
    opens = body.get("opens")
    if not isinstance(opens, dict):
        raise ValidationFailed("opens is required: {after_event_days, local_time} or {at}")
    if "at" in opens:
        open_rule = OpenRule(at=parse_instant(opens["at"], "opens.at"))
    else:
        days = opens.get("after_event_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
            raise ValidationFailed("opens.after_event_days must be an integer from 0 to 3650")
        local = parse_time_of_day(opens.get("local_time", "09:00"))
        open_rule = OpenRule(after_event_days=days, local_time=format_time_of_day(local))
    reminders = body.get("reminders_after_days", [])
    if (
        not isinstance(reminders, list)
        or len(reminders) > MAX_REMINDERS
        or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in reminders)
        or sorted(set(reminders)) != reminders
    ):
        raise ValidationFailed(
            f"reminders_after_days must be increasing whole days (at most {MAX_REMINDERS}), e.g. [7, 14]"
        )
    closes = body.get("closes")
    if not isinstance(closes, dict):
        raise ValidationFailed("closes is required: {after_open_days} or {at}")
    if "at" in closes:
        close_rule = CloseRule(at=parse_instant(closes["at"], "closes.at"))
    else:
        after = closes.get("after_open_days")
        if not isinstance(after, int) or isinstance(after, bool) or not 1 <= after <= 365:
            raise ValidationFailed("closes.after_open_days must be an integer from 1 to 365")
        close_rule = CloseRule(after_open_days=after)
    if reminders and close_rule.after_open_days is not None and reminders[-1] >= close_rule.after_open_days:
        raise ValidationFailed("every reminder must come before the wave closes")
    if open_rule.at is not None:
        # Every date derived from an absolute opening must stay within datetime's range.
        horizon = max([*reminders, close_rule.after_open_days or 0])
        try:
            latest = open_rule.at + timedelta(days=horizon)
        except OverflowError:
            latest = None
        if latest is None or latest > _LATEST:
            raise ValidationFailed("opens.at is too late for the wave's reminders and closing")
    if open_rule.at is not None and close_rule.at is not None:
        if close_rule.at <= open_rule.at:
            raise ValidationFailed("closes.at must be after opens.at")
        # As with after_open_days, a reminder due at or after the closing would never be sent.
        if reminders and open_rule.at + timedelta(days=reminders[-1]) >= close_rule.at:
            raise ValidationFailed("every reminder must come before the wave closes")
    return open_rule, close_rule, reminders


def zone(name: str, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo(fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time.

    A time skipped by a DST change moves forward by the size of the gap (one hour in most zones, 30 minutes
    on Lord Howe Island); a time that happens twice resolves to its first occurrence.
    """
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    # Round-tripping through UTC exposes wall times that do not exist (spring forward).
    back = aware.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != naive:
        # In a gap, fold=0 takes the offset from before the transition and fold=1 the one after (PEP 495).
        before, after = aware.utcoffset(), aware.replace(fold=1).utcoffset()
        assert before is not None and after is not None
        aware = (naive + (after - before)).replace(tzinfo=tz)
    return aware.astimezone(UTC)


def invitation_due(event: Event, rule: OpenRule, tz_name: str) -> datetime:
    """When the invitation is due for a participant in ``tz_name``."""
    if rule.at is not None:
        return rule.at
    assert rule.after_event_days is not None and rule.local_time is not None
    day = event.ends_on + timedelta(days=rule.after_event_days)
    return local_instant(day, _stored_time_of_day(rule.local_time), zone(tz_name, event.timezone))


def opening_reference(event: Event, rule: OpenRule) -> datetime:
    """The wave's nominal opening, in the event's own time zone; the closing date counts from it."""
    return invitation_due(event, rule, event.timezone)


def closes_at(rule: CloseRule, opened: datetime) -> datetime:
    if rule.at is not None:
        return rule.at
    assert rule.after_open_days is not None
    return opened + timedelta(days=rule.after_open_days)


def next_kind(
    sent_kinds: set[str], went_out_at: datetime, reminders: list[int], tz: ZoneInfo, closes: datetime
) -> tuple[str, datetime] | None:
    """The next email this participant is owed and when, or None. Reminders count whole days from when the
    invitation went out (or is planned to) and keep its local time."""
    if INVITATION not in sent_kinds:
        return INVITATION, went_out_at
    local = went_out_at.astimezone(tz)
    for number, days in enumerate(reminders, start=1):
        kind = reminder_kind(number)
        if kind in sent_kinds:
            continue
        due = local_instant(local.date() + timedelta(days=days), local.time(), tz)
        if due >= closes:
            return None
        return kind, due
    return None


@dataclass(frozen=True)
class AfterSending:
    """What the due index holds once ``kind`` is queued: the email owed next and when (None: nothing more),
    and, after the invitation, the instant its reminders count from."""

    next_kind: str | None
    next_due: datetime | None
    anchor: datetime | None


def after_sending(
    invitation: Invitation, kind: str, wave: Wave, now: datetime, *, went_out_at: datetime | None
) -> AfterSending:
    """The reminder rule. Reminders count whole days from when the invitation went out (``went_out_at``,
    recorded when it was queued), at the same local time. An invitation queued within ``SCHEDULE_LAG`` of
    its planned time counts from the planned time, so everyone's reminders keep the wave's local hour; one
    queued much later (a late "send now", an outage) counts from now, so a reminder never follows at once.
    No reminder falls on or after the wave's closing."""
    anchor = None
    if kind == INVITATION:
        planned = invitation.due_at or now
        anchor = planned if now - planned <= SCHEDULE_LAG else now
    first = anchor if anchor is not None else went_out_at
    following = None
    if first is not None and wave.closes_at is not None:
        following = next_kind(
            invitation.sent_kinds | {kind},
            first,
            wave.reminders_after_days,
            zone(invitation.timezone, "UTC"),
            wave.closes_at,
        )
    next_up, next_due = following or (None, None)
    return AfterSending(next_up, next_due, anchor)

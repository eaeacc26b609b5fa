"""When each participant's email is due: anchored to the event's end and the participant's own time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import INVITATION, CloseRule, Event, OpenRule, reminder_kind

UTC = timezone.utc
MAX_REMINDERS = 5


def parse_time_of_day(value: Any) -> time:
    if not isinstance(value, str):
        raise ValidationFailed("opens.local_time must be a string HH:MM")
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValidationFailed("opens.local_time must be HH:MM, for example 09:00") from None


def parse_instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be an ISO 8601 date-time with an offset")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{field} must be an ISO 8601 date-time with an offset") from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field} needs a UTC offset, for example 2026-06-01T09:00:00Z")
    return parsed.astimezone(UTC)


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
        local = opens.get("local_time", "09:00")
        parse_time_of_day(local)
        open_rule = OpenRule(after_event_days=days, local_time=local)
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
    return open_rule, close_rule, reminders


def zone(name: str, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo(fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time; a time skipped by a DST change moves forward."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    # Round-tripping through UTC exposes wall times that do not exist (spring forward).
    back = aware.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != naive:
        aware = (naive + timedelta(hours=1)).replace(tzinfo=tz)
    return aware.astimezone(UTC)


def invitation_due(event: Event, rule: OpenRule, tz_name: str) -> datetime:
    """When the invitation is due for a participant in ``tz_name``."""
    if rule.at is not None:
        return rule.at
    assert rule.after_event_days is not None and rule.local_time is not None
    day = event.ends_on + timedelta(days=rule.after_event_days)
    return local_instant(day, parse_time_of_day(rule.local_time), zone(tz_name, event.timezone))


def opening_reference(event: Event, rule: OpenRule) -> datetime:
    """The wave's nominal opening, in the event's own time zone; the closing date counts from it."""
    return invitation_due(event, rule, event.timezone)


def closes_at(rule: CloseRule, opened: datetime) -> datetime:
    if rule.at is not None:
        return rule.at
    assert rule.after_open_days is not None
    return opened + timedelta(days=rule.after_open_days)


def next_kind(
    sent_kinds: set[str], first_due: datetime, reminders: list[int], tz: ZoneInfo, closes: datetime
) -> tuple[str, datetime] | None:
    """The next email this participant is owed and when, or None. Reminders keep the local time."""
    if INVITATION not in sent_kinds:
        return INVITATION, first_due
    local = first_due.astimezone(tz)
    for number, days in enumerate(reminders, start=1):
        kind = reminder_kind(number)
        if kind in sent_kinds:
            continue
        due = local_instant(local.date() + timedelta(days=days), local.time(), tz)
        if due >= closes:
            return None
        return kind, due
    return None

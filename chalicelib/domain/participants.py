"""Parsing the registration list (CSV) row by row, and merging it with the participants already stored."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import available_timezones

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import LANGUAGES, STAKEHOLDER_GROUPS, Participant
from chalicelib.domain.text import one_line_problem

CSV_HEADER = (
    "email",
    "full_name",
    "organisation",
    "stakeholder_group",
    "country",
    "language",
    "timezone",
    "sponsored",
)
MAX_ROWS = 20000
MAX_FIELD = 300
# Deliberately simple: one @, a dot in the domain, no spaces or angle brackets. SES rejects the rest.
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
# Every field is a single line of text: no C0/C1 controls (tab included), no invisible format characters
# such as bidirectional overrides, no line or paragraph separators.


@dataclass(frozen=True)
class Row:
    number: int
    email: str
    full_name: str
    organisation: str
    stakeholder_group: str
    country: str
    language: str
    timezone: str
    sponsored: bool


@dataclass
class ParsedList:
    rows: list[Row] = field(default_factory=list)
    rejected: list[dict[str, object]] = field(default_factory=list)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_key(secret: str, email: str) -> str:
    """A keyed hash of the address: lets us find and suppress it without storing it twice."""
    return hmac.new(secret.encode(), normalise_email(email).encode(), hashlib.sha256).hexdigest()


def participant_id_for(event_id: str, key: str) -> str:
    """A new participant's ID, derived from the event and the keyed hash of the address: two imports of the
    same list running at once write the same item instead of two people. (Without the pseudonym secret, the
    ID tells nothing about the address.)"""
    return "pt_" + hashlib.sha256(f"{event_id}\x00{key}".encode()).hexdigest()[:16]


def parse_registration_csv(text: str, country_valid: Callable[[str], bool]) -> ParsedList:
    """Validate every row; a rejected row is reported with its reason and never half-imported."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed("the CSV is empty; expected the header " + ",".join(CSV_HEADER)) from None
    except csv.Error as exc:
        raise ValidationFailed(f"the CSV cannot be read: {exc}") from None
    normalised = tuple(h.strip().lower() for h in header)
    if normalised != CSV_HEADER:
        raise ValidationFailed(
            "the CSV header must be exactly: " + ",".join(CSV_HEADER),
            details={"got": list(normalised)},
        )
    parsed = ParsedList()
    seen: dict[str, int] = {}
    zones = available_timezones()
    try:
        # Spreadsheet row numbers: the header is row 1 and each record is one row, even when a quoted
        # field spans several physical lines (reader.line_num would give the record's last line).
        for number, line in enumerate(reader, start=2):
            if not any(cell.strip() for cell in line):
                continue
            if len(parsed.rows) + len(parsed.rejected) >= MAX_ROWS:
                raise ValidationFailed(f"the CSV has more than {MAX_ROWS} rows; split it")
            reason = _row_problem(line, seen, zones, country_valid)
            if reason:
                parsed.rejected.append({"row": number, "reason": reason})
                continue
            cells = [c.strip() for c in line]
            email = normalise_email(cells[0])
            seen[email] = number
            parsed.rows.append(
                Row(
                    number=number,
                    email=email,
                    full_name=cells[1],
                    organisation=cells[2],
                    stakeholder_group=cells[3].lower(),
                    country=cells[4].upper(),
                    language=cells[5].lower(),
                    timezone=cells[6],
                    sponsored=cells[7].lower() == "yes",
                )
            )
    except csv.Error as exc:
        raise ValidationFailed(f"the CSV cannot be read near line {reader.line_num}: {exc}") from None
    return parsed


def _row_problem(
    line: list[str], seen: dict[str, int], zones: set[str], country_valid: Callable[[str], bool]
) -> str | None:
    if len(line) != len(CSV_HEADER):
        return f"expected {len(CSV_HEADER)} fields, found {len(line)}"
    cells = [c.strip() for c in line]
    email, name, _organisation, group, country, language, timezone, sponsored = cells
    if any(len(c) > MAX_FIELD for c in cells):
        return f"a field is longer than {MAX_FIELD} characters"
    for column, cell in zip(CSV_HEADER, cells, strict=True):
        if (problem := one_line_problem(cell)) is not None:
            return f"{column} must be one line of text: it holds {problem}"
    if not _EMAIL.match(email) or len(email) > 254:
        return "invalid email address"
    if normalise_email(email) in seen:
        return f"email repeats row {seen[normalise_email(email)]}"
    if not name:
        return "full_name is empty"
    if group.lower() not in STAKEHOLDER_GROUPS:
        return f"unknown stakeholder_group {group!r}; expected one of {', '.join(STAKEHOLDER_GROUPS)}"
    if not country_valid(country):
        return f"unknown country {country!r}; expected an ISO 3166-1 alpha-2 code"
    if language.lower() not in LANGUAGES:
        return f"unsupported language {language!r}; expected one of {', '.join(LANGUAGES)}"
    if timezone and timezone not in zones:
        return f"unknown timezone {timezone!r}; expected an IANA name such as Europe/Geneva"
    if sponsored.lower() not in ("yes", "no"):
        return "sponsored must be yes or no"
    return None


@dataclass
class Merge:
    to_write: list[Participant]
    imported: int
    updated: int
    unchanged: int


def merge_participants(
    event_id: str,
    rows: Iterable[Row],
    existing: Iterable[Participant],
    *,
    secret: str,
    now: datetime,
    place: Callable[[str], tuple[str, str]],
) -> Merge:
    """Match rows to stored participants by email: update those, create the rest, skip no-ops."""
    by_key = {p.email_key: p for p in existing}
    to_write: list[Participant] = []
    imported = updated = unchanged = 0
    for row in rows:
        key = email_key(secret, row.email)
        region, income = place(row.country)
        current = by_key.get(key)
        fields = {
            "email": row.email,
            "full_name": row.full_name,
            "organisation": row.organisation,
            "stakeholder_group": row.stakeholder_group,
            "country": row.country,
            "language": row.language,
            "timezone": row.timezone,
            "sponsored": row.sponsored,
            "region": region,
            "income_group": income,
        }
        if current is None:
            participant = Participant(
                event_id=event_id,
                participant_id=participant_id_for(event_id, key),
                email_key=key,
                created_at=now,
                updated_at=now,
                **fields,  # type: ignore[arg-type]
            )
            by_key[key] = participant
            to_write.append(participant)
            imported += 1
            continue
        if all(getattr(current, name) == value for name, value in fields.items()) and not current.erased_at:
            unchanged += 1
            continue
        for name, value in fields.items():
            setattr(current, name, value)
        current.updated_at = now
        current.erased_at = None
        to_write.append(current)
        updated += 1
    return Merge(to_write, imported, updated, unchanged)

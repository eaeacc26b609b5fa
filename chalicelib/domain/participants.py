"""Parsing the registration list (CSV) row by row, and merging it with the participants already stored."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from chalicelib.domain import registration
from chalicelib.domain.model import LANGUAGES, STAKEHOLDER_GROUPS, Participant
from chalicelib.domain.text import one_line_problem

CSV_HEADER = registration.FIELDS  # the contract's exact header: our fields, in their order
MAX_ROWS = registration.MAX_ROWS
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
    detected: dict[str, Any] = field(default_factory=dict)  # the format, the mapping, the ignored columns


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
    """A list already decoded to text (the contract's header or any other): see ``parse_registration``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    table = registration.read_text_table(text.encode("utf-8"))
    table.detected.pop("encoding", None)
    return parse_registration(table, lambda c: c.strip().upper() if country_valid(c) else None)


def parse_registration(
    table: registration.Table,
    country_code: Callable[[str], str | None],
    columns: Mapping[str, str] | None = None,
) -> ParsedList:
    """Validate every row; a rejected row is reported with its number, column and reason, and never
    half-imported. ``columns`` (our field to the file's header name) overrides the automatic match."""
    header = table.header
    mapping = registration.explicit_mapping(header, columns) if columns else registration.guess_mapping(header)
    registration.check_mapping(header, mapping)
    parsed = ParsedList(
        detected={**table.detected, "columns": mapping.view(header), "ignored_columns": mapping.ignored}
    )
    seen: dict[str, int] = {}
    zones = _zones()
    strict_width = table.detected.get("format") != "xlsx"
    for number, line in table.rows:
        problem = _row_problem(line, header, mapping, seen, zones, country_code, strict_width)
        if isinstance(problem, tuple):
            column, reason = problem
            parsed.rejected.append({"row": number, "column": column, "reason": reason})
            continue
        parsed.rows.append(Row(number=number, **problem))
        seen[problem["email"]] = number
    return parsed


@cache
def _zones() -> dict[str, str]:
    return {zone.casefold(): zone for zone in available_timezones()}


def _row_problem(
    line: list[str],
    header: list[str],
    mapping: registration.Mapping_,
    seen: dict[str, int],
    zones: dict[str, str],
    country_code: Callable[[str], str | None],
    strict_width: bool,
) -> tuple[str | None, str] | dict[str, Any]:
    """The row's values, or the column and reason it is rejected for."""
    if len(line) != len(header) and (strict_width or any(c.strip() for c in line[len(header) :])):
        return None, f"expected {len(header)} fields, found {len(line)}"
    cols = mapping.columns

    def cell(name: str) -> str:
        return line[cols[name]].strip() if name in cols and cols[name] < len(line) else ""

    def column(name: str) -> str:
        return header[cols[name]] if name in cols else name

    for name, index in cols.items():
        value = line[index].strip() if index < len(line) else ""
        if len(value) > MAX_FIELD:
            return column(name), f"{column(name)} is longer than {MAX_FIELD} characters"
        if (problem := one_line_problem(value)) is not None:
            return column(name), f"{_label(name)} must be one line of text: it holds {problem}"
    email = cell("email")
    if not _EMAIL.match(email) or len(email) > 254:
        return column("email"), "invalid email address"
    if normalise_email(email) in seen:
        return column("email"), f"email repeats row {seen[normalise_email(email)]}"
    name = cell("full_name") or " ".join(p for p in (cell("first_name"), cell("last_name")) if p)
    if len(name) > MAX_FIELD:
        return column("full_name"), f"full_name is longer than {MAX_FIELD} characters"
    if not name:
        return column("full_name" if "full_name" in cols else "first_name"), "full_name is empty"
    group = registration.stakeholder_group(cell("stakeholder_group"))
    if group is None:
        return column("stakeholder_group"), (
            f"unknown stakeholder_group {cell('stakeholder_group')!r}; expected one of "
            + ", ".join(STAKEHOLDER_GROUPS)
            + " (or their names in English, French or Spanish)"
        )
    country = country_code(cell("country"))
    if country is None:
        return column("country"), (
            f"unknown country {cell('country')!r}; expected an ISO 3166-1 alpha-2 code"
            " (or alpha-3, or the country's name in English, French or Spanish)"
        )
    language = registration.language(cell("language"))
    if language is None or language not in LANGUAGES:
        return column("language"), (
            f"unsupported language {cell('language')!r}; expected one of {', '.join(LANGUAGES)}"
            " (or English, Français, Español)"
        )
    timezone = cell("timezone")
    if timezone:
        found = zones.get(timezone.casefold())
        if found is None:
            return column("timezone"), f"unknown timezone {timezone!r}; expected an IANA name such as Europe/Geneva"
        timezone = found
    sponsored = registration.yes_no(cell("sponsored"))
    if sponsored is None:
        return column("sponsored"), "sponsored must be yes or no (or oui/non, sí/no, true/false, 1/0, x or empty)"
    return {
        "email": normalise_email(email),
        "full_name": name,
        "organisation": cell("organisation"),
        "stakeholder_group": group,
        "country": country,
        "language": language,
        "timezone": timezone,
        "sponsored": sponsored,
    }


def _label(name: str) -> str:
    return "full_name" if name in registration.NAME_PARTS else name


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

"""Figure 9: importing a registration list of 10,000 rows, from CSV and from .xlsx (issue 14).

For each format, a list of ``ROWS`` participants (human column names, labels and country names, as a
registration system exports them; tests/support/registration_files.py writes it) is imported into a fresh
event through ``planning.import_participants``, the request path of the JSON API. The AWS requests of the
whole import are metered (per row). The peak memory of reading and validating the list (decoding, the
workbook's sheet, every row checked: ``planning.read_list``) is measured with tracemalloc on its own,
because moto, in-process, would add the items it stores to any figure taken around the writes.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass, field

from bench.meter import Meter, Window
from bench.stack import moto_stack, utcnow

ROWS = 10_000
GROUPS = ("Government", "Civil society", "Academia", "Media", "Private sector")
COUNTRIES = ("Switzerland", "Côte d'Ivoire", "Sénégal", "México", "Viet Nam", "USA", "Türkiye")
LANGUAGES = ("English", "Français", "Español")
HEADER = ["Email", "First name", "Last name", "Organisation", "Stakeholder group", "Country", "Language",
          "Time zone", "Sponsored"]  # fmt: skip


def rows(count: int) -> list[list[str]]:
    return [
        [
            f"person{n:05d}@example.org", f"Person{n:05d}", f"Lastname {n % 97}", f"Organisation {n % 211}",
            GROUPS[n % len(GROUPS)], COUNTRIES[n % len(COUNTRIES)], LANGUAGES[n % len(LANGUAGES)], "",
            "Yes" if n % 4 == 0 else "No",
        ]
        for n in range(count)
    ]  # fmt: skip


@dataclass
class Format:
    name: str
    file_bytes: int
    rows: int
    imported: int
    rejected: int
    window: Window
    peak_bytes: int  # tracemalloc peak of reading and validating the list

    @property
    def calls_per_row(self) -> float:
        return len(self.window) / self.rows


@dataclass
class ListImport:
    formats: list[Format] = field(default_factory=list)


def files(count: int = ROWS) -> dict[str, bytes]:
    from tests.support.registration_files import text_file, workbook

    body = rows(count)
    return {
        "CSV (Windows-1252, semicolons)": text_file(HEADER, body, encoding="cp1252", delimiter=";"),
        ".xlsx (openpyxl-written)": workbook(HEADER, body),
    }


def run(meter: Meter) -> ListImport:
    from chalicelib.domain import events, planning

    result = ListImport()
    for name, raw in files().items():
        tracemalloc.start()
        parsed = planning.read_list(raw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if parsed.rejected or len(parsed.rows) != ROWS:
            raise RuntimeError(f"{name}: {len(parsed.rows)} rows, {parsed.rejected[:3]}")
        with moto_stack() as stack:
            now = utcnow()
            event = events.create_event(
                stack.store,
                {"title": "List import (benchmark)", "starts_on": "2026-11-02", "ends_on": "2026-11-03",
                 "timezone": "Europe/Zurich"},
                now,
            )  # fmt: skip
            with meter.window() as window:
                report = planning.import_participants(
                    stack.store,
                    event.event_id,
                    raw,
                    secret=stack.settings.pseudonym_secret,
                    panel_secret=stack.settings.panel_secret,
                    now=now,
                )
        result.formats.append(Format(name, len(raw), ROWS, report.imported, len(report.rejected), window, peak))
    return result

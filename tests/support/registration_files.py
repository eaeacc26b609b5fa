"""Registration lists shaped as registration systems and Excel write them: bytes in a given encoding and
separator with Excel-style quoting, and .xlsx workbooks written by openpyxl."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

HUMAN_HEADER = [
    "Email",
    "Full Name",
    "Organisation",
    "Stakeholder group",
    "Country",
    "Language",
    "Time zone",
    "Sponsored",
]
FRENCH_HEADER = ["Courriel", "Prénom", "Nom", "Organisme", "Catégorie", "Pays", "Langue", "Sponsorisé"]
FRENCH_ROWS = [
    ["amelie@example.org", "Amélie", "Dupré", "Société « Générale »; Paris", "Société civile", "Côte d'Ivoire",
     "Français", "Oui"],
    ["jose@example.org", "José", "Núñez", 'ONG "Sur"', "Gouvernement", "Suisse", "Espagnol", "Non"],
    ["li@example.org", "Li", "Wei", "Université de Genève", "Milieu universitaire", "Viet Nam", "Anglais", ""],
]  # fmt: skip
HUMAN_ROWS = [
    ["ada@example.org", "Ada Lovelace", "Analytical, Ltd", "Civil society", "Switzerland", "English", "", "Yes"],
    ["bo@example.org", "Bo Ndiaye", "Presse", "Media", "Côte d'Ivoire", "Français", "Africa/Abidjan", "No"],
    ["cy@example.org", "Cy Ortiz", "Gobierno", "Gobierno", "USA", "Español", "", "sí"],
    ["di@example.org", "Di Yilmaz", "Ankara Uni", "Academia", "Türkiye", "en", "", "x"],
]  # fmt: skip


def text_file(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, encoding: str, delimiter: str, bom: bool = False
) -> bytes:
    """A list as Excel writes it: every field quoted when needed (quotes doubled), CRLF line ends."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    if bom:
        data = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding] + data
    return data


def workbook(
    header: Sequence[Any], rows: Sequence[Sequence[Any]], *, sheet: str = "Registrations", extra_sheets: int = 0
) -> bytes:
    """An .xlsx file written by openpyxl (the list on the first sheet unless other sheets come first)."""
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = sheet
    first.append(list(header))
    for row in rows:
        first.append(list(row))
    for n in range(extra_sheets):
        other = book.create_sheet(f"Notes {n + 1}")
        other.append(["not", "a", "list"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

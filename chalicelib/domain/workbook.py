"""Reading an .xlsx registration list: its central directory is checked before openpyxl opens it, then one
sheet is read in read-only mode, as stored values (a formula is never evaluated: its cached value is read),
every cell as text.

Why the zip is checked first: a small upload can declare gigabytes of XML (a zip bomb), or a shared-strings
part that openpyxl would hold whole in memory. Python's ``zipfile`` stops reading an entry at the size its
central directory declares, so refusing on the declared sizes bounds what openpyxl can ever inflate.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from typing import Any

from chalicelib.domain.errors import TooLarge, UnsupportedFile, ValidationFailed
from chalicelib.domain.registration import MAX_COLUMNS, MAX_ROWS, Table

MAX_ENTRIES = 1000  # a workbook of one sheet has about a dozen parts
MAX_EXPANDED = 200 * 1024 * 1024  # all parts together, inflated: 20,000 rows of XML fit in far less
MAX_SHARED_STRINGS = 50 * 1024 * 1024  # openpyxl keeps this part in memory
MAX_RATIO = 200  # inflated over compressed size, for any part above RATIO_FROM bytes
RATIO_FROM = 10 * 1024 * 1024


def check_archive(raw: bytes) -> zipfile.ZipFile:
    """The workbook's zip, once its central directory shows nothing that expands past a sane size."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UnsupportedFile("the file looks like a workbook but is not a valid .xlsx file") from None
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise TooLarge(f"the workbook has more than {MAX_ENTRIES} parts; it is refused unread")
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > RATIO_FROM and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise TooLarge(
                f"a part of the workbook expands more than {MAX_RATIO} times ({entry.file_size // (1024 * 1024)} MB);"
                " it is refused unread"
            )
        if entry.filename.lower().endswith("sharedstrings.xml") and entry.file_size > MAX_SHARED_STRINGS:
            raise TooLarge(
                f"the workbook's shared strings expand to more than {MAX_SHARED_STRINGS // (1024 * 1024)} MB;"
                " it is refused unread"
            )
    if total > MAX_EXPANDED:
        raise TooLarge(f"the workbook expands to more than {MAX_EXPANDED // (1024 * 1024)} MB; it is refused unread")
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise UnsupportedFile("the file is a zip archive but not an .xlsx workbook")
    return archive


def cell_text(value: Any) -> str:
    """A stored value as the text a person typed: whole numbers without ``.0``, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def read_workbook(raw: bytes, *, sheet: str | None = None) -> Table:
    """The first sheet (or the named one) as a table: the first non-empty row is the header."""
    archive = check_archive(raw)
    import openpyxl  # only a workbook upload pays for importing it

    try:
        book = openpyxl.load_workbook(archive.fp, read_only=True, data_only=True)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file; all mean the same
        raise UnsupportedFile("the workbook cannot be read; save it again as .xlsx") from None
    try:
        names = list(book.sheetnames)
        if sheet is None:
            chosen = names[0] if names else None
        else:
            chosen = next((n for n in names if n.strip().casefold() == sheet.strip().casefold()), None)
        if chosen is None:
            raise ValidationFailed(f"the workbook has no sheet named {sheet!r}", details={"sheets": names})
        worksheet = book[chosen]
        # A stored dimension can claim a million columns: forget it, and read the cells that are there.
        worksheet.reset_dimensions()  # type: ignore[union-attr]
        table: Table | None = None
        try:
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                cells = [cell_text(v).strip() for v in values[:MAX_COLUMNS]]
                if not any(cells):
                    continue
                if table is None:
                    while cells and not cells[-1]:
                        cells.pop()
                    table = Table(
                        header=cells,
                        detected={"format": "xlsx", "sheet": chosen, "sheets": names},
                    )
                    continue
                if len(table.rows) >= MAX_ROWS:
                    raise TooLarge(f"the list has more than {MAX_ROWS} rows; split it")
                width = len(table.header)
                cells = (cells + [""] * width)[:width] if len(cells) < width else cells
                table.rows.append((number, cells))
        except (ValidationFailed, TooLarge):
            raise
        except Exception:  # noqa: BLE001 - a damaged sheet: say so, never a traceback
            raise UnsupportedFile("the workbook's sheet cannot be read; save it again as .xlsx") from None
        if table is None:
            raise ValidationFailed(f"the sheet {chosen!r} is empty; expected a header row")
        return table
    finally:
        book.close()


def template(header: tuple[str, ...], example: list[str]) -> bytes:
    """A blank list to fill in: the contract's header, one example row, every column formatted as text (so
    Excel keeps a leading zero or a code such as ``NA`` as typed)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Participants"
    sheet.append(list(header))
    sheet.append(example)
    for index, name in enumerate(header, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(name) + 4)
        sheet.column_dimensions[letter].number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

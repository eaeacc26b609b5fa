"""CSV exports open safely in any spreadsheet, whatever separator its locale splits on (issue 13, defect 5).

Excel in French and Spanish locales, the organisation's own, splits a "CSV" on semicolons; "Unicode text" splits
on tabs. A comment such as ``a;=HYPERLINK(...)`` must not give a cell that starts with a formula there. Every
field is quoted, and a formula trigger is neutralised wherever a cell could start: at the start of the text, and
after a comma, a semicolon, a tab or a line break (spaces and quotes between them included).
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.domain.reporting import csv_text
from tests.support.spreadsheet import formula_cells


@pytest.mark.parametrize(
    "comment",
    [
        'a;=HYPERLINK("http://evil.example/x","click")',
        "fine;+cmd|' /C calc'!A0",
        "ok, -2+3",
        "tab\t@SUM(1+1)*cmd|' /C calc'!A0",
        "first line\n=1+1",
        'quoted;"=1+1"',
        "spaced;   =1",
    ],
)
def test_a_formula_after_any_separator_never_starts_a_cell(comment: str) -> None:
    out = csv_text(["comments"], [[comment]])
    assert not formula_cells(out), out


def test_every_field_is_quoted_and_reads_back_as_text() -> None:
    out = csv_text(["question", "agree_pct", "comments"], [["overall", 98, "Very useful; thanks"]])
    lines = out.lstrip("\ufeff").split("\r\n")
    assert lines[0] == '"question","agree_pct","comments"'
    assert lines[1] == '"overall","98","Very useful; thanks"'
    assert list(csv.reader(io.StringIO(out.lstrip("\ufeff")))) == [
        ["question", "agree_pct", "comments"],
        ["overall", "98", "Very useful; thanks"],
    ]


@given(st.lists(st.text(max_size=40), min_size=1, max_size=4))
@example(["a;=1", "b,+2", "c\t-3", "d\n@4"])
def test_no_text_in_any_field_can_start_a_formula_cell(row: list[str]) -> None:
    out = csv_text([f"c{i}" for i in range(len(row))], [row])
    assert not formula_cells(out), out
    # The text is kept: read back with the right delimiter, each cell is the original with apostrophes added.
    (read,) = list(csv.reader(io.StringIO(out.lstrip("\ufeff"), newline="")))[1:]
    assert [cell.replace("'", "") for cell in read] == [cell.replace("'", "") for cell in row]

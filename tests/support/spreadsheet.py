"""How a spreadsheet could read an exported CSV: every piece it might take for a cell, whatever separator its
locale splits on (comma, Excel's semicolon in French and Spanish locales, the tab of "Unicode text")."""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@")


def cells_a_spreadsheet_could_see(text: str) -> list[str]:
    """Every piece of ``text`` split on any separator and line break, ignoring the quoting (the worst case: a
    file read with another delimiter than it was written with), with leading spaces and quotes dropped."""
    pieces = []
    for line in text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        for delimiter in (",", ";", "\t"):
            pieces += [piece.lstrip(' "') for piece in line.split(delimiter)]
    return pieces


def formula_cells(text: str) -> list[str]:
    """The pieces a spreadsheet could run as a formula; an exported CSV must have none."""
    return [piece for piece in cells_a_spreadsheet_could_see(text) if piece.startswith(FORMULA_TRIGGERS)]

"""One-line text: what a field may hold when it ends up in an email's subject or headers, a page's title, a table
cell or a spreadsheet row (event titles, venues and themes, participants' names and organisations, questionnaire
titles and question texts).

Refused: every control character (Unicode category Cc: C0, DEL and C1, so also the tab, line feed, carriage
return, vertical tab, form feed and NEL), the line and paragraph separators (Zl, Zp: U+2028, U+2029, which Word
and copied PDFs carry), and the format characters (Cf), among them the bidirectional overrides and isolates
that make a text read differently from what it holds. Two format characters are kept because scripts need them:
the zero-width non-joiner and joiner (U+200C, U+200D), which spell Persian, Arabic and Indic names correctly
and join emoji sequences. Lone surrogates (Cs), which JSON's \\u escapes can carry and no UTF-8 email can, are
refused too. Unassigned code points (Cn) are kept: a character newer than this Python's Unicode database (a
recent emoji, say) is not a control.
"""

from __future__ import annotations

import unicodedata

from chalicelib.domain.errors import ValidationFailed

_KEPT = frozenset({"\u200c", "\u200d"})  # zero-width non-joiner and joiner
_REFUSED = {
    "Cc": "a control character",
    "Zl": "a line break",
    "Zp": "a paragraph break",
    "Cf": "an invisible formatting character",
    "Cs": "a lone surrogate",
}
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x85")  # control characters that break a line (Cc, but named as breaks)


def one_line_problem(value: str) -> str | None:
    """What keeps ``value`` from being one line of text (the first such character, named and numbered), or None."""
    for position, char in enumerate(value, start=1):
        if char in _KEPT:
            continue
        category = unicodedata.category(char)
        if category in _REFUSED:
            what = "a line break" if char in _LINE_BREAKS else _REFUSED[category]
            return f"{what} (U+{ord(char):04X}) at character {position}"
    return None


def require_one_line(name: str, value: str) -> str:
    """``value`` unchanged, or ValidationFailed naming the field and the character."""
    problem = one_line_problem(value)
    if problem is not None:
        raise ValidationFailed(f"{name} must be one line of text: it holds {problem}")
    return value

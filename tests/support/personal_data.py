"""What counts as personal data in output: email addresses, link tokens, and the names and organisations the
test data and the demo seed give people. One compiled pattern, built once per test process.

The names are collected, not listed: every row of the import's shape in the test sources (CSV lines and
tuples: ..., full_name, organisation, stakeholder_group, country, ...), ``full_name=`` / ``organisation=``
keyword arguments, and the demo seed's first names × last names and organisations. Single short words
("Bo", "Org", "CASS") are left out: they would match inside ordinary output. Names that tests derive at run
time from an address (tests/support/data.py ``row()``) are covered by the email pattern.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")

_SEP = r'(?:,|"\s*,\s*")'  # a CSV comma, or the '", "' between two strings of a tuple
_ROW = re.compile(rf'[,"]\s*([^,"{{}}\n\\]+?){_SEP}([^,"{{}}\n\\]+?){_SEP}[a-z_]+{_SEP}[A-Za-z]{{2,3}}(?:,|")')
_KEYWORD = re.compile(r'\b(?:full_name|organisation)\s*=\s*"([^"{}\n]+)"')


def _worth_matching(value: str) -> bool:
    value = value.strip()
    return value[:1].isupper() and (" " in value or len(value) >= 5)


def people_in_test_data() -> set[str]:
    """Names and organisations written into the test sources."""
    found: set[str] = set()
    for path in TESTS.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in _ROW.finditer(text):
            found.update(match.groups())
        found.update(match.group(1) for match in _KEYWORD.finditer(text))
    return {value.strip() for value in found if _worth_matching(value)}


def _names_pattern() -> re.Pattern[str]:
    from devstack import seed

    def either(values: set[str]) -> str:
        return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))

    literal = people_in_test_data() | {org for org in seed.ORGS.values() if _worth_matching(org)}
    seeded = rf"(?:{either(set(seed.FIRST))}) (?:{either(set(seed.LAST))})"  # every name the seed can make
    return re.compile(rf"(?<!\w)(?:{seeded}|{either(literal)})(?!\w)")


NAMES = _names_pattern()


def find(text: str) -> str | None:
    """The first email address, link token or known name in ``text``, or None."""
    for pattern in (EMAIL, TOKEN, NAMES):
        found = pattern.search(text)
        if found:
            return found.group()
    return None

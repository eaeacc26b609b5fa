"""The standard test data: the registration list's header and people, the event and wave the API tests create,
the dashboard's forms as an admin fills them in, and a long generated list.

The people are the organisation's kind of participants (a ministry, a university, a civil-society network, the
press). Every name and organisation here is also in the personal-data pattern (tests/support/personal_data.py),
so no test may log them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

YEAR = date.today().year + 1  # every simulated date is in the future: links never expire under the tests

HEADER = "email,full_name,organisation,stakeholder_group,country,language,timezone,sponsored\n"
PEOPLE = (
    "amina.diallo@example.org,Amina Diallo,Ministry of Labour,government,SN,fr,,yes\n",
    "li.wei@example.org,Li Wei,Tsinghua University,academia,CN,en,Asia/Shanghai,no\n",
    "maria.lopez@example.org,María López,Red de Migrantes,civil_society,MX,es,,yes\n",
    "john.smith@example.org,John Smith,The Daily Planet,media,GB,en,,no\n",
)
# One row refused for each reason an import gives, in the order the report lists them (rows 6 to 10).
REFUSED_ROWS = (
    "not-an-email,Bad Row,Nowhere,government,FR,en,,no\n",
    "x@example.org,Unknown Group,Nowhere,aliens,FR,en,,no\n",
    "y@example.org,Bad Country,Nowhere,government,XX,en,,no\n",
    "z@example.org,Bad Language,Nowhere,government,FR,de,,no\n",
    "li.wei@example.org,Li Wei Again,Tsinghua University,academia,CN,en,,no\n",  # a duplicate address
)


def csv_of(rows: Iterable[str]) -> str:
    """A registration list: the header and the rows."""
    return HEADER + "".join(rows)


CSV = csv_of(PEOPLE + REFUSED_ROWS)  # four people imported, five rows refused
CSV_SHORT = csv_of(PEOPLE + REFUSED_ROWS[:2])  # the dashboard's list: four imported, two refused

GROUPS = ("government", "academia", "civil_society", "media")


def row(email: str, *, country: str = "FR", language: str = "en", tz: str = "", group: str = "government") -> str:
    """One imported row for an address; the name is derived from it (covered by the personal-data email rule)."""
    name = email.split("@")[0].replace(".", " ").title()
    return f"{email},{name},Some Organisation,{group},{country},{language},{tz},no\n"


def big_list(count: int, bad: int = 2) -> str:
    """A long registration list: ``count`` people spread over the groups, countries and languages, then ``bad``
    rows with no valid address."""
    rows = [
        f"person{n:04d}@example.org,Person {n:04d},Org {n % 37},{GROUPS[n % 4]},{('SN', 'CN', 'MX', 'GB')[n % 4]},"
        f"{('fr', 'en', 'es', 'en')[n % 4]},,{'yes' if n % 3 == 0 else 'no'}\n"
        for n in range(count)
    ]
    rows += [f"broken-{n},Bad Row,Nowhere,government,FR,en,,no\n" for n in range(bad)]
    return csv_of(rows)


# The JSON API's standard event and wave.
EVENT: dict[str, Any] = {
    "title": "International Dialogue on Migration 2026",
    "starts_on": "2026-11-02",
    "ends_on": "2026-11-03",
    "timezone": "Europe/Zurich",
    "venue": "Geneva",
    "theme": "Migrants and development",
}
WAVE: dict[str, Any] = {
    "questionnaire": "satisfaction",
    "opens": {"after_event_days": 1, "local_time": "09:00"},
    "reminders_after_days": [7],
    "closes": {"after_open_days": 30},
}
# The scheduling tests' event (dates of their own, see api.event_ending).
TITLE = "Dialogue on Migration and Cities"

# A satisfaction form's answers as the participant's browser posts them.
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ANSWERS = b"overall=5&mutual_learning=5&understanding=4&cooperation_measures=4"

# The new-event form as an admin fills it in.
EVENT_FORM = {
    "title": "Dialogue on Migration",
    "starts_on": "2026-11-02",
    "ends_on": "2026-11-03",
    "timezone": "Europe/Zurich",
    "venue": "Geneva",
    "theme": "",
    "languages": ["en", "fr", "es"],
}
# The wave form as the event page fills it by default (a satisfaction survey the day after, one reminder).
WAVE_FORM = {
    "questionnaire": "satisfaction",
    "opens_kind": "after_event",
    "opens_after_days": "1",
    "opens_local_time": "09:00",
    "reminders": "7",
    "closes_kind": "after_open",
    "closes_after_days": "21",
}

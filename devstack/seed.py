"""The demo: the programme the organisation's note describes, with synthetic participants from 70+ countries.

``seed_demo``: the single 2013 event, its satisfaction wave sent through the normal path and most participants
already answered (one link left open for a visitor). ``seed_programme``: the two 2011 workshops and their
year-end follow-up, the two 2012 workshops with their satisfaction waves answered in the pattern the note
reports (98 / 96 / 85 per cent agreeing with the three statements) and their series follow-up; some people
attended several workshops, so the follow-ups match them into one invitation by the keyed email hash."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

# (country, language) pairs: a realistic spread of the programme's membership.
COUNTRIES = [
    ("US", "en"),
    ("GB", "en"),
    ("CA", "en"),
    ("AU", "en"),
    ("IE", "en"),
    ("NZ", "en"),
    ("IN", "en"),
    ("PK", "en"),
    ("BD", "en"),
    ("LK", "en"),
    ("NP", "en"),
    ("PH", "en"),
    ("ID", "en"),
    ("TH", "en"),
    ("VN", "en"),
    ("CN", "en"),
    ("JP", "en"),
    ("KR", "en"),
    ("MY", "en"),
    ("NG", "en"),
    ("GH", "en"),
    ("KE", "en"),
    ("UG", "en"),
    ("TZ", "en"),
    ("ET", "en"),
    ("ZA", "en"),
    ("ZW", "en"),
    ("ZM", "en"),
    ("EG", "en"),
    ("JO", "en"),
    ("LB", "en"),
    ("TR", "en"),
    ("DE", "en"),
    ("NL", "en"),
    ("SE", "en"),
    ("NO", "en"),
    ("IT", "en"),
    ("PL", "en"),
    ("GR", "en"),
    ("UA", "en"),
    ("GE", "en"),
    ("AM", "en"),
    ("KZ", "en"),
    ("KG", "en"),
    ("AF", "en"),
    ("IQ", "en"),
    ("FJ", "en"),
    ("JM", "en"),
    ("FR", "fr"),
    ("CH", "fr"),
    ("BE", "fr"),
    ("SN", "fr"),
    ("ML", "fr"),
    ("NE", "fr"),
    ("BF", "fr"),
    ("CI", "fr"),
    ("CM", "fr"),
    ("CD", "fr"),
    ("MA", "fr"),
    ("TN", "fr"),
    ("DZ", "fr"),
    ("HT", "fr"),
    ("MG", "fr"),
    ("TD", "fr"),
    ("ES", "es"),
    ("MX", "es"),
    ("GT", "es"),
    ("HN", "es"),
    ("SV", "es"),
    ("CO", "es"),
    ("EC", "es"),
    ("PE", "es"),
    ("BO", "es"),
    ("AR", "es"),
    ("CL", "es"),
    ("PY", "es"),
    ("DO", "es"),
    ("CR", "es"),
]
GROUPS = [
    ("government", 45),
    ("civil_society", 15),
    ("academia", 11),
    ("international_organization", 13),
    ("media", 4),
    ("private_sector", 6),
    ("other", 6),
]
FIRST = [
    "Amina",
    "Li",
    "María",
    "John",
    "Fatou",
    "Ahmed",
    "Sofia",
    "Kwame",
    "Priya",
    "Jean",
    "Olga",
    "Carlos",
    "Aiko",
    "Nadia",
    "Tomás",
    "Grace",
    "Yusuf",
    "Elena",
    "Ibrahim",
    "Chen",
    "Lucía",
    "Omar",
    "Anna",
    "Kofi",
    "Hana",
    "Pierre",
    "Rosa",
    "Samuel",
    "Leila",
    "Mateo",
]
LAST = [
    "Diallo",
    "Wei",
    "López",
    "Smith",
    "Ndiaye",
    "Hassan",
    "Rossi",
    "Mensah",
    "Sharma",
    "Dupont",
    "Ivanova",
    "García",
    "Tanaka",
    "Haddad",
    "Fernández",
    "Okafor",
    "Demir",
    "Popescu",
    "Traoré",
    "Nguyen",
    "Morales",
    "Khan",
    "Nowak",
    "Asante",
    "Kim",
    "Martin",
    "Silva",
    "Mwangi",
    "Rahman",
    "Pérez",
]
ORGS = {
    "government": "Ministry of Foreign Affairs",
    "civil_society": "Migrant Rights Network",
    "academia": "Institute for Migration Studies",
    "international_organization": "Regional Consultative Process",
    "media": "International Press Agency",
    "private_sector": "Chamber of Commerce",
    "other": "Independent",
}
HEADER = "email,full_name,organisation,stakeholder_group,country,language,timezone,sponsored"
SOUTH_SPONSORED = 0.55
_SURVEY = re.compile(r"/s/([A-Za-z0-9_-]{43})")


def registration_csv(count: int = 272, seed: int = 2013) -> str:
    """A synthetic registration list; one address uses SES's bounce simulator."""
    rng = random.Random(seed)
    groups = [g for g, weight in GROUPS for _ in range(weight)]
    rows = [HEADER]
    for index in range(count):
        country, language = COUNTRIES[index % len(COUNTRIES)] if index < len(COUNTRIES) else rng.choice(COUNTRIES)
        group = rng.choice(groups)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}.{index}@demo.example.org".lower()
        email = email.encode("ascii", "ignore").decode()
        if index == count - 1:
            email = "bounce@simulator.amazonses.com"
        sponsored = (
            "yes"
            if country
            not in {
                "US",
                "GB",
                "CA",
                "AU",
                "IE",
                "NZ",
                "JP",
                "KR",
                "DE",
                "NL",
                "SE",
                "NO",
                "IT",
                "FR",
                "CH",
                "BE",
                "ES",
                "PL",
                "GR",
                "CL",
            }
            and rng.random() < SOUTH_SPONSORED
            else "no"
        )
        rows.append(f"{email},{first} {last},{ORGS[group]},{group},{country},{language},,{sponsored}")
    return "\n".join(rows) + "\n"


def answers(rng: random.Random) -> dict[str, list[str]]:
    """One respondent's answers, drawn so the event reads like the note: 98 / 96 / 85 per cent agree."""

    def likert(agree: float) -> str:
        if rng.random() < agree:
            return rng.choice(["4", "5", "5"])
        return rng.choice(["1", "2", "3", "3"])

    form = {
        "overall": [rng.choice(["3", "4", "4", "5", "5", "5"])],
        "mutual_learning": [likert(0.98)],
        "understanding": [likert(0.96)],
        "cooperation_measures": [likert(0.86)],
        "content_relevant": [likert(0.92)],
        "materials": [rng.choice(["3", "4", "5"])],
        "format": [rng.choice(["3", "4", "4", "5"])],
        "information": [rng.choice(["2", "3", "4", "5"])],
    }
    if rng.random() < 0.3:
        form["comments"] = [
            rng.choice(
                [
                    "More time for open discussion between governments and civil society would help.",
                    "Excellent panel on labour migration; please share the presentations.",
                    "Interpretation into Spanish was very helpful.",
                ]
            )
        ]
    return form


def survey_tokens(outbox: Path) -> list[tuple[str, str]]:
    """(recipient, token) for every invitation in the outbox."""
    found = []
    for path in sorted(outbox.glob("*.eml")):
        parsed = message_from_string(path.read_text(encoding="utf-8"), policy=default_policy)
        body = parsed.get_body(preferencelist=("plain",))
        match = _SURVEY.search(body.get_content() if body else "")
        if match:
            found.append((str(parsed["To"]), match.group(1)))
    return found


@dataclass
class Demo:
    event_id: str
    wave_id: str
    open_link_token: str | None
    participants: int
    answered: int


@dataclass(frozen=True)
class Workshop:
    """One event of the note's programme, with the slice of the people pool who attended it."""

    year: int
    title: str
    theme: str
    starts_on: str
    ends_on: str
    people: range  # indices into the pool: overlapping ranges are people who attended both
    satisfaction: bool  # an end-of-event satisfaction wave, answered in the note's pattern


# The note (paragraphs 3, 4, 17 and footnote 9): two workshops in 2011 (their attendance is not given), two in
# 2012 (272 and nearly 250 participants from more than 70 countries), then the single 2013 event (seed_demo).
# Contiguous ranges over a pool whose countries cycle through COUNTRIES give every event 70+ countries.
PROGRAMME = (
    Workshop(
        2011,
        "Climate change, environmental degradation and migration",
        "Climate change and migration",
        "2011-03-29",
        "2011-03-30",
        range(0, 180),
        False,
    ),
    Workshop(
        2011,
        "Economic cycles, demographic change and migration",
        "Economic cycles and migration",
        "2011-07-12",
        "2011-07-13",
        range(140, 300),  # 40 people of the first 2011 workshop
        False,
    ),
    Workshop(
        2012,
        "Moving to safety: Migration consequences of complex crises",
        "Managing migration in crisis situations",
        "2012-04-24",
        "2012-04-25",
        range(260, 532),  # 272; 40 of them also came in 2011
        True,
    ),
    Workshop(
        2012,
        "Protecting migrants during times of crisis: Immediate responses and sustainable strategies",
        "Managing migration in crisis situations",
        "2012-09-13",
        "2012-09-14",
        range(472, 720),  # 248; 60 of them also attended the April workshop
        True,
    ),
)
# The note's satisfaction figures for 2012: 98 / 96 / "over 85" per cent agreeing.
PATTERN = {"mutual_learning": 0.98, "understanding": 0.96, "cooperation_measures": 0.86}
SATISFACTION_SHARE = 0.8  # of the participants answered their end-of-event survey
FOLLOW_UP_SHARE = {2011: 0.7, 2012: 0.55}  # answered the year-end follow-up (2012's is still open)


@dataclass
class Programme:
    """What seed_programme made: the events by year and the series follow-up of each year."""

    events: dict[int, list[str]]
    follow_ups: dict[int, str]
    registrations: int
    people: int
    answered: dict[str, int]


def pool_row(index: int) -> str:
    """One synthetic person of the programme's pool, the same row (so the same address) in every event."""
    rng = random.Random(index * 7919 + 2011)
    groups = [g for g, weight in GROUPS for _ in range(weight)]
    country, language = COUNTRIES[index % len(COUNTRIES)]
    group = rng.choice(groups)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first}.{last}.p{index}@demo.example.org".lower().encode("ascii", "ignore").decode()
    sponsored = "yes" if rng.random() < SOUTH_SPONSORED / 2 else "no"
    return f"{email},{first} {last},{ORGS[group]},{group},{country},{language},,{sponsored}"


def workshop_csv(workshop: Workshop) -> str:
    return "\n".join([HEADER, *(pool_row(i) for i in workshop.people)]) + "\n"


def satisfaction_forms(rng: random.Random, count: int) -> list[dict[str, list[str]]]:
    """``count`` respondents' answers with the note's shares exactly: of ``count``, round(98 %) agree that the
    workshop furthered mutual learning, round(96 %) understanding, round(86 %) cooperation measures."""
    forms = [answers(rng) for _ in range(count)]
    for question, share in PATTERN.items():
        agreeing = set(rng.sample(range(count), round(share * count)))
        for n, form in enumerate(forms):
            form[question] = [rng.choice(["4", "5", "5"]) if n in agreeing else rng.choice(["1", "2", "3", "3"])]
    return forms


def impact_form(rng: random.Random, question_ids: list[str]) -> dict[str, list[str]]:
    """One answer to the impact follow-up: relevant and applied, shared with colleagues by almost all."""

    def likert(agree: float) -> str:
        return rng.choice(["4", "5"]) if rng.random() < agree else rng.choice(["2", "3"])

    form: dict[str, list[str]] = {}
    applied = rng.random() < 0.85
    for qid in question_ids:
        base = qid.split("@", 1)[0]
        if base == "content_relevant":
            form[qid] = [likert(0.9)]
        elif base == "applied_in_work":
            form[qid] = ["yes" if applied else "no"]
        elif base == "applied_how" and applied:
            form[qid] = rng.sample(["policy_discussion", "research", "best_practices", "training"], rng.randint(1, 3))
        elif base in ("informed_policy_or_research", "best_practices"):
            form[qid] = [likert(0.8)]
        elif base == "shared_with_colleagues":
            form[qid] = ["yes" if rng.random() < 0.95 else "no"]
        elif base == "kept_contacts":
            form[qid] = ["yes" if rng.random() < 0.7 else "no"]
        elif base == "recommend":
            form[qid] = [str(rng.choice([6, 7, 8, 8, 9, 9, 10, 10]))]
    return form


class Outbox:
    """The invitations that reached the outbox since the last call (so each wave's tokens, in turn)."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.seen: set[str] = {p.name for p in outbox.glob("*.eml")}  # mail of earlier waves

    def new_tokens(self) -> list[tuple[str, str]]:
        fresh = [p for p in sorted(self.outbox.glob("*.eml")) if p.name not in self.seen]
        self.seen.update(p.name for p in fresh)
        found = []
        for path in fresh:
            parsed = message_from_string(path.read_text(encoding="utf-8"), policy=default_policy)
            body = parsed.get_body(preferencelist=("plain",))
            match = _SURVEY.search(body.get_content() if body else "")
            if match:
                found.append((str(parsed["To"]), match.group(1)))
        return found


def open_now_rules(now: datetime) -> dict[str, Any]:
    """The seeded waves open now and close in 60 days, at absolute instants: their events lie years back, and a
    relative rule (days after the event) would make a wave already closed, so it could not be sent."""
    return {
        "opens": {"at": now.isoformat()},
        "reminders_after_days": [14],
        "closes": {"at": (now + timedelta(days=60)).isoformat()},
    }


def seed_programme(
    store: Any,
    pump: Any,
    queue: Any,
    *,
    pseudonym_secret: str,
    panel_secret: str,
    new_tokens: Any,
    limit: int = 2000,
    programme: tuple[Workshop, ...] = PROGRAMME,
) -> Programme:
    """The note's 2011 and 2012 workshops: participants (some in several workshops, matched by the keyed email
    hash), 2012's end-of-event satisfaction waves answered in the note's pattern, and each year's series
    follow-up (the impact questionnaire) sent once per person and answered; all through the normal use cases.
    ``new_tokens()`` gives (recipient, token) for the invitations sent since its last call."""
    from chalicelib.domain import answering, events, planning, series, waves

    now = datetime.now(UTC)
    rng = random.Random(2012)
    ids: dict[int, list[str]] = {}
    answered: dict[str, int] = {}
    for workshop in programme:
        event = events.create_event(
            store,
            {
                "title": workshop.title,
                "theme": workshop.theme,
                "venue": "Geneva",
                "starts_on": workshop.starts_on,
                "ends_on": workshop.ends_on,
                "timezone": "Europe/Zurich",
                "languages": ["en", "fr", "es"],
            },
            now,
        )
        ids.setdefault(workshop.year, []).append(event.event_id)
        planning.import_participants(
            store,
            event.event_id,
            workshop_csv(workshop),
            secret=pseudonym_secret,
            panel_secret=panel_secret,
            now=now,
        )
        if not workshop.satisfaction:
            continue
        wave = waves.create_wave(
            store,
            event.event_id,
            {"questionnaire": "satisfaction", **open_now_rules(now)},
            panel_secret=panel_secret,
            now=now,
        )
        waves.rename_wave(store, event.event_id, wave.wave_id, {"name": "End-of-event satisfaction"})
        waves.send_now(store, event.event_id, wave.wave_id, panel_secret=panel_secret, now=now)
        pump.settle()
        sent = new_tokens()
        chosen = rng.sample(sent, round(SATISFACTION_SHARE * len(sent)))
        for (_, token), form in zip(chosen, satisfaction_forms(rng, len(chosen)), strict=True):
            answering.submit(store, token, form, now=datetime.now(UTC))
        answered[wave.wave_id] = len(chosen)
    follow_ups: dict[int, str] = {}
    for year in sorted(ids):
        wave, _ = series.create_series_wave(
            store,
            {"year": year, "questionnaire": "impact", **open_now_rules(now)},
            panel_secret=panel_secret,
            now=now,
        )
        # A series wave has no rename use case of its own; its name is set as the store keeps it.
        wave.name = f"{year} year-end follow-up"
        store.put_wave(wave)
        series.send_series_now(store, queue, wave.wave_id, panel_secret=panel_secret, now=now, limit=limit)
        pump.settle()
        sent = new_tokens()
        chosen = rng.sample(sent, round(FOLLOW_UP_SHARE[year] * len(sent)))
        for _, token in chosen:
            survey = answering.open_survey(store, token, now=datetime.now(UTC))
            form = impact_form(rng, [q.id for q in survey.questionnaire.questions])
            answering.submit(store, token, form, now=datetime.now(UTC))
        follow_ups[year] = wave.wave_id
        answered[wave.wave_id] = len(chosen)
    registrations = sum(len(w.people) for w in programme)
    people = len({i for w in programme for i in w.people})
    return Programme(ids, follow_ups, registrations, people, answered)


def seed_demo(
    store: Any,
    pump: Any,
    *,
    pseudonym_secret: str,
    panel_secret: str,
    outbox: Path,
    count: int = 272,
    answer_share: float = 0.8,
) -> Demo:
    from chalicelib.domain import answering, events, planning, waves

    now = datetime.now(UTC)
    event = events.create_event(
        store,
        {
            "title": "International Dialogue on Migration: Migrants and development",
            "theme": "Migrants and development",
            "venue": "Geneva, International Conference Centre",
            "starts_on": "2013-06-18",  # the note, paragraph 10: the single IDM event of 2013
            "ends_on": "2013-06-19",
            "timezone": "Europe/Zurich",
            "languages": ["en", "fr", "es"],
        },
        now,
    )
    planning.import_participants(
        store, event.event_id, registration_csv(count), secret=pseudonym_secret, panel_secret=panel_secret, now=now
    )
    wave = waves.create_wave(
        store,
        event.event_id,
        {"questionnaire": "satisfaction", **open_now_rules(now)},
        panel_secret=panel_secret,
        now=now,
    )
    waves.rename_wave(store, event.event_id, wave.wave_id, {"name": "End-of-event satisfaction"})
    waves.send_now(store, event.event_id, wave.wave_id, panel_secret=panel_secret, now=now)
    pump.settle()
    rng = random.Random(7)
    answered = 0
    open_link = None
    for recipient, token in survey_tokens(outbox):
        if "simulator" in recipient:
            continue
        if rng.random() < answer_share:
            answering.open_survey(store, token, now=datetime.now(UTC))
            answering.submit(store, token, answers(rng), now=datetime.now(UTC))
            answered += 1
        elif open_link is None:
            open_link = token
    pump.settle()
    return Demo(event.event_id, wave.wave_id, open_link, count, answered)

"""`make run`'s programme (devstack/seed.py), seeded through the normal path in-process with moto and the local
pump: the note's events per year, a person of both workshops of a year matched into one follow-up invitation,
2012's satisfaction figures at the note's 98 / 96 / 85 per cent, and the follow-ups answered per event.

The programme here is the real one with fewer people (each year's two workshops sharing some) so the test
stays quick; the real one's sizes are checked on its definition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.seed import COUNTRIES, PROGRAMME, Outbox, Workshop, pool_row, seed_programme
from tests.support.api import auth, body

SMALL_PEOPLE = (range(0, 10), range(7, 17), range(17, 67), range(57, 107))  # 3 and 10 people in both


def smaller(workshop: Workshop, people: range) -> Workshop:
    return Workshop(
        workshop.year,
        workshop.title,
        workshop.theme,
        workshop.starts_on,
        workshop.ends_on,
        people,
        workshop.satisfaction,
    )


def shared(a: Workshop, b: Workshop) -> int:
    return len(set(a.people) & set(b.people))


def test_the_programme_is_the_notes_two_2011_workshops_then_272_and_nearly_250_people_from_70_countries_in_2012():
    years = [w.year for w in PROGRAMME]
    assert years == [2011, 2011, 2012, 2012]
    april, september = PROGRAMME[2], PROGRAMME[3]
    assert (len(april.people), len(september.people)) == (272, 248)
    for workshop in PROGRAMME:
        countries = {pool_row(i).split(",")[4] for i in workshop.people}
        assert len(countries) >= 70, workshop.title
    assert shared(PROGRAMME[0], PROGRAMME[1]) == 40 and shared(april, september) == 60
    assert len(COUNTRIES) > 70
    # The same person is the same row, so the same address (and keyed email hash), in every event.
    assert pool_row(150) == pool_row(150) and pool_row(150) != pool_row(151)


def test_given_the_seeded_programme_then_each_year_has_its_events_one_follow_up_per_person_and_the_notes_figures(
    client: Any, tokens: dict[str, str], stack: Any, tmp_path: Path
) -> None:
    from chalicelib import container
    from devstack.pump import Pump

    outbox = tmp_path / "outbox"
    outbox.mkdir()
    pump = Pump(endpoint_url=None, outputs=stack.outputs, outbox=outbox, ses_messages=stack.ses_messages)
    small = tuple(smaller(w, people) for w, people in zip(PROGRAMME, SMALL_PEOPLE, strict=True))
    settings = container.settings()
    made = seed_programme(
        container.store(),
        pump,
        container.send_queue(),
        pseudonym_secret=settings.pseudonym_secret,
        panel_secret=settings.panel_secret,
        new_tokens=Outbox(outbox).new_tokens,
        programme=small,
    )
    admin = auth(tokens["admin"])

    assert {year: len(ids) for year, ids in made.events.items()} == {2011: 2, 2012: 2}
    for year, ids in made.events.items():
        for event_id in ids:
            event = body(client.http.get(f"/admin/events/{event_id}", headers=admin))
            assert event["starts_on"].startswith(str(year))

    # One invitation per person across a year's two workshops: the people of both are matched into one.
    for year, (first, second) in ((2011, small[:2]), (2012, small[2:])):
        wave_id = made.follow_ups[year]
        wave = body(client.http.get(f"/admin/series-waves/{wave_id}", headers=admin))
        assert wave["event_ids"] == made.events[year]
        assert wave["recipients"] == len(set(first.people) | set(second.people))
        assert shared(first, second) > 0
        by_event = body(client.http.get(f"/admin/series-waves/{wave_id}/summary?by=event", headers=admin))
        assert by_event["respondents"] == made.answered[wave_id] > 0
        relevant = next(q for q in by_event["questions"] if q["id"] == "content_relevant")
        assert relevant["n"] > by_event["respondents"]  # the people of both workshops answered it for each
    addresses = [path.read_text(encoding="utf-8") for path in outbox.glob("*.eml")]
    assert len(addresses) == sum(len(w.people) for w in small if w.satisfaction) + sum(
        body(client.http.get(f"/admin/series-waves/{made.follow_ups[y]}", headers=admin))["recipients"]
        for y in (2011, 2012)
    )

    # 2012's end-of-event satisfaction waves read as the note: 98, 96 and over 85 per cent agreeing.
    for event_id in made.events[2012]:
        summary = body(client.http.get(f"/admin/events/{event_id}/summary", headers=admin))
        share = {
            q["id"]: q["agree"] / q["n"]
            for q in summary["questions"]
            if q["id"] in ("mutual_learning", "understanding", "cooperation_measures")
        }
        assert abs(share["mutual_learning"] - 0.98) < 0.02, share
        assert abs(share["understanding"] - 0.96) < 0.02, share
        assert 0.85 <= share["cooperation_measures"] < 0.88, share
    assert made.registrations == sum(len(w.people) for w in small)

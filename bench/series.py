"""A series wave over 10 events, 3,000 distinct people, 20 % of them in two or more events: the AWS calls to
plan it (``series.create_series_wave``), per invitation sent (the scheduler's dispatch, then the sender on a
sample of queued jobs), and for its summary at two response volumes (flat: the summary reads counters only).

Part of ``make bench`` (figure 11 of RESULTS.md); ``python -m bench.series`` prints the figures alone.
Participants are written with ``put_participants`` (no import), so only the series wave's own work
is metered.
"""

from __future__ import annotations

import contextlib
import io
import random
import sys
from dataclasses import dataclass
from datetime import timedelta

from bench.meter import Meter, Window
from bench.stack import moto_stack, survey_tokens, utcnow

EVENTS = 10
PEOPLE = 3_000
SHARE_IN_SEVERAL = 0.20
SENT_SAMPLE = 50  # queued jobs handed to the sender, metered
VOLUMES = (20, 200)  # responses when the summary is read


@dataclass
class SeriesBench:
    records: int
    recipients: int
    plan: Window
    dispatch: Window
    dispatched: int
    send: Window
    sent: int
    summaries: dict[int, tuple[Window, Window]]  # responses -> (by=event, by=language)


def _people(rng: random.Random) -> list[list[int]]:
    """For each person, the events they attended: 80 % one, the others two or three."""
    out = []
    for _ in range(PEOPLE):
        several = rng.random() < SHARE_IN_SEVERAL
        count = rng.choice((2, 2, 3)) if several else 1
        out.append(sorted(rng.sample(range(EVENTS), count)))
    return out


def run(meter: Meter) -> SeriesBench:
    from chalicelib import container
    from chalicelib.domain import answering, events, series
    from chalicelib.domain.model import Participant
    from chalicelib.domain.participants import email_key
    from chalicelib.jobs.handlers import send_records
    from devstack.seed import answers

    rng = random.Random(15)
    with moto_stack() as stack:
        store, settings = stack.store, stack.settings
        now = utcnow()
        ids = []
        for n in range(EVENTS):
            ends = (now - timedelta(days=200 - 15 * n)).date()
            event = events.create_event(
                store,
                {
                    "title": f"Workshop {n + 1} (benchmark)",
                    "starts_on": (ends - timedelta(days=1)).isoformat(),
                    "ends_on": ends.isoformat(),
                    "timezone": "Europe/Zurich",
                    "languages": ["en", "fr", "es"],
                },
                now,
            )
            ids.append(event.event_id)
        records = []
        for person, attended in enumerate(_people(rng)):
            address = f"person{person:05d}@bench.example.org"
            for e in attended:
                records.append(
                    Participant(
                        event_id=ids[e],
                        participant_id=f"pt_{person:05d}{e:02d}",
                        email=address,
                        full_name=f"Person {person}",
                        organisation="Org",
                        stakeholder_group=("government", "academia", "civil_society", "media")[person % 4],
                        country="FR",
                        language=("en", "fr", "es")[person % 3],
                        timezone="Europe/Paris",
                        sponsored=False,
                        email_key=email_key(settings.pseudonym_secret, address),
                        region="Europe & Central Asia",
                        income_group="High income",
                        created_at=now,
                        updated_at=now,
                    )
                )
        for start in range(0, len(records), 500):
            store.put_participants(records[start : start + 500])

        body = {
            "event_ids": ids,
            "questionnaire": "satisfaction",
            "opens": {"after_event_days": 30, "local_time": "09:00"},
            "reminders_after_days": [7],
            "closes": {"after_open_days": 30},
        }
        with meter.window() as plan:
            wave, recipients = series.create_series_wave(store, body, panel_secret=settings.panel_secret, now=now)
        if recipients != PEOPLE:
            raise RuntimeError(f"expected {PEOPLE} recipients, planned {recipients}")
        with meter.window() as dispatch:
            result = series.send_series_now(
                store,
                container.send_queue(),
                wave.wave_id,
                panel_secret=settings.panel_secret,
                now=now,
                limit=PEOPLE + 10,
            )
        bodies = stack.queue_bodies()
        with meter.window() as send:
            outcomes = send_records(bodies[:SENT_SAMPLE])
        if outcomes != {"sent": SENT_SAMPLE}:
            raise RuntimeError(f"send_records: {outcomes}")
        send_records(bodies[SENT_SAMPLE : max(VOLUMES)])
        tokens = survey_tokens(stack.ses_messages())
        summaries: dict[int, tuple[Window, Window]] = {}
        answered = 0
        k = settings.suppression_k
        for volume in VOLUMES:
            for token in tokens[answered:volume]:
                answering.submit(store, token, answers(rng), now=utcnow())
            answered = volume
            with meter.window() as by_event:
                got = series.series_summary(store, wave.wave_id, by="event", k=k)
            with meter.window() as by_language:
                series.series_summary(store, wave.wave_id, by="language", k=k)
            if got["respondents"] != volume:
                raise RuntimeError(f"summary counts {got['respondents']} respondents, expected {volume}")
            summaries[volume] = (by_event, by_language)
    return SeriesBench(len(records), recipients, plan, dispatch, int(result["queued"]), send, SENT_SAMPLE, summaries)


def console(result: SeriesBench) -> str:
    lines = [
        f"Series wave over {EVENTS} events: {PEOPLE:,} distinct people ({result.records:,} registrations, "
        f"{SHARE_IN_SEVERAL:.0%} in two or more events), {result.recipients:,} invitations planned",
        f"- plan (create_series_wave): {result.plan.describe()}",
        f"- send now, dispatch of {result.dispatched:,} invitations: {result.dispatch.describe()}; "
        f"{len(result.dispatch) / max(result.dispatched, 1):.2f} calls per invitation",
        f"- sender, {result.sent} invitations: {result.send.describe()}; "
        f"{len(result.send) / result.sent:.2f} calls per invitation",
    ]
    for volume, (by_event, by_language) in result.summaries.items():
        lines.append(
            f"- summary at {volume} responses: by=event {by_event.describe()}; by=language {by_language.describe()}"
        )
    return "\n".join(lines)


def main() -> int:
    from bench.stack import prepare_process
    from devstack import moto_speedups

    prepare_process()
    moto_speedups.install()
    meter = Meter().install()
    with contextlib.redirect_stdout(io.StringIO()):
        result = run(meter)
    print(console(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Figure 7: the programme summary (``GET /admin/programme``) over 50 events, at two response volumes.

Fifty events start in the same year, one a week, each with one satisfaction wave (``events.create_event``
and ``waves.create_wave``, no registrations). For every wave a ``summary_reads.Population`` of its own
draws respondents and counts their counters exactly as figure 3 does (answers from
``devstack.seed.answers``, counters from ``aggregate_deltas`` + funnel, spread over the participant's
cells); only the aggregate items are written (BatchWriteItem, as the counters' ADD updates leave them),
no raw responses. Every event's first seven drawn participants are one per stakeholder group, so each
wave has its seven stakeholder-group cells at both volumes and the item count cannot hide a growth.

The waves first reach ``VOLUMES[0]`` respondents each, then ``VOLUMES[1]`` (the same waves, their
aggregate items overwritten with the running totals). At each volume one
``reports.programme(store, year, "mutual_learning", k=5)`` is metered; every wave's ``n`` must equal the
stored counters.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bench import capacity
from bench.meter import Meter, Window
from bench.stack import moto_stack, utcnow
from bench.summary_reads import Population, _write_aggregates

EVENTS = 50
VOLUMES = (30, 300)  # respondents per event
INDICATOR = "mutual_learning"
QUESTION = "mutual_learning"  # the satisfaction question that carries the indicator
K = 5
BY = "stakeholder_group"  # the dimension reports.programme reads
SEED = 5_000
PROJECTED = 100_000  # respondents per event: the stakeholder-group items are also sized with counts scaled to this


@dataclass
class CoveringPopulation(Population):
    """A ``Population`` whose first participants cover every stakeholder group once, in order."""

    covered: int = 0

    def _cells(self) -> dict[str, str]:
        cells = super()._cells()
        groups = sorted(set(self.groups))
        if self.covered < len(groups):
            cells[BY] = groups[self.covered]
            self.covered += 1
        return cells


@dataclass
class Volume:
    respondents: int  # per event
    window: Window  # the whole reports.programme() call
    waves: int  # rows the programme returned
    n_total: int  # sum of the rows' n
    n_matches: bool  # every row's n equals the stored counters of its wave
    suppressed: int  # rows suppressed (n < k)
    stored_aggregates: int  # aggregate items in the table, every dimension of every wave
    read_item_bytes: list[int]  # computed size of each stakeholder-group item programme reads
    wave_read_bytes: list[int]  # per wave: the computed bytes of its aggregate Query (summed items)
    seed_seconds: float  # informational
    seconds: float  # moto wall time of the call, informational

    def queries(self, table: str) -> Window:
        return Window([c for c in self.window.only("Query") if c.table == table])


@dataclass
class Programme:
    events: int
    year: int
    groups: int  # stakeholder groups (cells per wave)
    tables: dict[str, str] = field(default_factory=dict)  # logical name -> table name
    volumes: list[Volume] = field(default_factory=list)
    # (respondents per event, computed RCU EC of the 50 aggregate Queries, largest item) with counts scaled up
    projected: tuple[int, float, int] = (0, 0.0, 0)

    def computed_aggregate_units(self, volume: Volume) -> float:
        """The aggregate Queries' RCU from the sizes written (cross-checks the metered figure)."""
        return sum(capacity.read_units(b, consistent=False) for b in volume.wave_read_bytes)


def _create_events(stack: Any, year: int, now: Any) -> list[tuple[str, str]]:
    from chalicelib.domain import events, waves

    created = []
    for index in range(EVENTS):
        starts = date(year, 1, 5) + timedelta(weeks=index)
        event = events.create_event(
            stack.store,
            {
                "title": f"Programme event {index + 1:02d} (benchmark)",
                "starts_on": starts.isoformat(),
                "ends_on": (starts + timedelta(days=1)).isoformat(),
                "timezone": "Europe/Zurich",
                "languages": ["en", "fr", "es"],
            },
            now,
        )
        wave = waves.create_wave(
            stack.store,
            event.event_id,
            {
                "questionnaire": "satisfaction",
                "opens": {"after_event_days": 1, "local_time": "09:00"},
                "reminders_after_days": [7],
                "closes": {"after_open_days": 30},
            },
            panel_secret=stack.settings.panel_secret,
            now=now,
        )
        created.append((event.event_id, wave.wave_id))
    return created


def _read_sizes(items: list[dict[str, Any]]) -> list[int]:
    """Sizes of the items ``reports.programme`` reads for one wave (its stakeholder-group cells)."""
    return [capacity.item_size(i) for i in items if i["cell"]["S"].startswith(f"{BY}#")]


def _expected_n(population: Population) -> int:
    prefix = f"{BY}#"
    return sum(v.get(f"n:{QUESTION}", 0) for cell, v in population.counters.items() if cell.startswith(prefix))


def run(meter: Meter, volumes: tuple[int, ...] = VOLUMES) -> Programme:
    from chalicelib.domain import reports

    with moto_stack() as stack:
        now = utcnow()
        year = now.year - 1  # every event over, every wave created "now"
        waves = _create_events(stack, year, now)
        populations = [
            CoveringPopulation(now=now, panel_secret=stack.settings.panel_secret, rng=random.Random(SEED + i))
            for i in range(len(waves))
        ]
        result = Programme(
            events=len(waves),
            year=year,
            groups=len(set(populations[0].groups)),
            tables={name: stack.settings.table(name) for name in ("events", "waves", "aggregates")},
        )
        for target in volumes:
            started = time.perf_counter()
            read_sizes: list[int] = []
            wave_bytes: list[int] = []
            written = 0
            for (_, wave_id), population in zip(waves, populations, strict=True):
                for _ in population.respondents(target - population.size):
                    pass  # counters only: the raw responses are not written
                items = population.aggregate_items(wave_id)
                _write_aggregates(items)
                written += len(items)
                sizes = _read_sizes(items)
                read_sizes += sizes
                wave_bytes.append(sum(sizes))
            seed_seconds = time.perf_counter() - started
            stored = stack.table_count("aggregates")
            if stored != written:
                raise RuntimeError(f"wrote {written} aggregate items, stored {stored}")

            started = time.perf_counter()
            with meter.window() as window:
                out = reports.programme(stack.store, year, INDICATOR, k=K)
            seconds = time.perf_counter() - started
            rows = {row["wave_id"]: row for row in out["waves"]}
            expected = {wave_id: _expected_n(p) for (_, wave_id), p in zip(waves, populations, strict=True)}
            result.volumes.append(
                Volume(
                    respondents=target,
                    window=window,
                    waves=len(out["waves"]),
                    n_total=sum(row["n"] for row in out["waves"]),
                    n_matches=set(rows) == set(expected) and all(rows[w]["n"] == n for w, n in expected.items()),
                    suppressed=sum(1 for row in out["waves"] if row["suppressed"]),
                    stored_aggregates=stored,
                    read_item_bytes=read_sizes,
                    wave_read_bytes=wave_bytes,
                    seed_seconds=seed_seconds,
                    seconds=seconds,
                )
            )
        scaled = [
            _read_sizes(p.aggregate_items(wave_id, scale=PROJECTED / p.size))
            for (_, wave_id), p in zip(waves, populations, strict=True)
        ]
        result.projected = (
            PROJECTED,
            sum(capacity.read_units(sum(sizes), consistent=False) for sizes in scaled),
            max(max(sizes) for sizes in scaled),
        )
    return result

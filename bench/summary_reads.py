"""Figure 3: what one summary reads at 300, 2,500 and 25,000 responses, against a naive recount.

One wave grows through the checkpoints. For each new respondent the bench draws participant cells
(stakeholder group, region, income group, sponsored, language) with the demo's weights, and answers to
the satisfaction questionnaire with ``devstack.seed.answers``, validated by ``check_answers``. From the
same answers it computes the counters exactly as the submit path does (``aggregate_deltas`` plus
``f:completed``, spread over the participant's cells), adds a funnel (invited, delivered, bounced,
opened) including 25 % non-respondents, and writes:

- the responses, as the ``ResponseItem`` rows ``store_response`` writes, with PynamoDB ``batch_write``;
- the aggregate items (``wave_id`` + ``<dimension>#<value>``, numeric ``f:``/``n:``/``a:`` attributes)
  with BatchWriteItem, overwritten with the running totals at each checkpoint.

Stored counts are checked against moto's backend. Then one ``reports.summarize(by=stakeholder_group)``
and the naive baseline (``store.list_responses``: every response of the wave, Query page after page,
aggregated in Python) are metered; the recount must equal the stored counters.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench import capacity
from bench.meter import Meter, Window
from bench.stack import create_event_and_wave, moto_stack, utcnow

CHECKPOINTS = (300, 2_500, 25_000)
PROJECTED = 1_000_000  # the largest aggregate item is also sized with counts scaled to this many responses
SUMMARY_BY = "stakeholder_group"
NON_RESPONSE_SHARE = 0.25  # non-respondents per respondent: a response rate of 80 %
PAGE_LIMIT = 1_048_576  # DynamoDB stops a Query page after 1 MB of items
# moto's Query re-reads and sorts the whole table for every page, so the naive path slows down faster
# than linearly: it is measured only while the previous checkpoint's CPU seconds per item, times this
# growth factor, say it fits the budget (CPU time, so that the choice does not depend on what else
# the machine runs); otherwise its requests and RCU are computed from the sizes written.
BASELINE_BUDGET_SECONDS = 120.0
BASELINE_GROWTH = 1.5
SEED = 25_000


@dataclass
class Baseline:
    """The naive path: Query every response of the wave and aggregate in Python."""

    measured: bool
    requests: int
    items: int
    response_bytes: int  # compact JSON of the responses (0 when computed)
    item_bytes: int
    read_units: float
    seconds: float = 0.0  # moto wall time, informational only
    cpu_seconds: float = 0.0
    recount_matches: bool | None = None
    window: Window | None = None  # the metered calls, when measured


@dataclass
class Checkpoint:
    responses: int
    summary: Window  # the whole summarize() call
    aggregate_query: Window  # its Query of the aggregates table
    aggregate_item_bytes: list[int]  # every aggregate item of the wave, all dimensions
    summary_items_bytes: int  # computed size of the items summarize's Query returns
    computed_baseline: Baseline
    baseline: Baseline | None
    response_item_bytes: int  # mean size of one response item
    stored_responses: int
    stored_aggregates: int
    seed_seconds: float
    baseline_estimate_seconds: float = 0.0  # CPU seconds the naive path was expected to take in moto
    projected: tuple[int, int] = (0, 0)  # (responses, largest aggregate item) with every count scaled up

    @property
    def min_aggregate_bytes(self) -> int:
        return min(self.aggregate_item_bytes)

    @property
    def max_aggregate_bytes(self) -> int:
        return max(self.aggregate_item_bytes)

    @property
    def counter_update_wcu(self) -> int:
        return capacity.write_units(self.max_aggregate_bytes)

    @property
    def ratio(self) -> float:
        baseline = self.baseline or self.computed_baseline
        return baseline.read_units / self.aggregate_query.read_units


@dataclass
class Population:
    """Respondents drawn like the demo event's, and the counters their answers add up to."""

    now: datetime
    panel_secret: str
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    size: int = 0

    def __post_init__(self) -> None:
        from chalicelib.domain import catalogue, countries
        from devstack import seed

        self.questionnaire = catalogue.builtin("satisfaction")
        self.places = [(countries.lookup(code), language) for code, language in seed.COUNTRIES]
        self.groups = [group for group, weight in seed.GROUPS for _ in range(weight)]
        self.sponsored_share = seed.SOUTH_SPONSORED

    def _cells(self) -> dict[str, str]:
        country, language = self.rng.choice(self.places)
        assert country is not None
        sponsored = country.global_group == "south" and self.rng.random() < self.sponsored_share
        return {
            "stakeholder_group": self.rng.choice(self.groups),
            "region": country.region,
            "income_group": country.income_group,
            "sponsored": "yes" if sponsored else "no",
            "language": language,
        }

    def _count(self, cells: Mapping[str, str], deltas: Mapping[str, int]) -> None:
        from chalicelib.domain.cells import spread

        for cell, values in spread(cells, deltas).items():
            bucket = self.counters.setdefault(cell, {})
            for name, delta in values.items():
                bucket[name] = bucket.get(name, 0) + delta

    def _non_respondent(self) -> None:
        delivered = self.rng.random() < 0.97
        deltas = {"f:invited": 1, "f:delivered" if delivered else "f:bounced": 1}
        if delivered and self.rng.random() < 0.4:
            deltas["f:opened"] = 1
        self._count(self._cells(), deltas)

    def respondents(self, count: int) -> Iterator[tuple[str, dict[str, str], dict[str, Any], datetime, str]]:
        """``count`` new respondents (id, cells, answers, time, panel id); their counters are added as drawn."""
        from chalicelib.domain.questionnaires import aggregate_deltas, check_answers
        from chalicelib.domain.tokens import panel_id
        from devstack.seed import answers

        for _ in range(count):
            cells = self._cells()
            check = check_answers(self.questionnaire, answers(self.rng))
            if not check.ok:
                raise RuntimeError(f"generated answers fail validation: {check.errors}")
            funnel = {"f:invited": 1, "f:delivered": 1, "f:opened": 1, "f:completed": 1}
            self._count(cells, {**aggregate_deltas(self.questionnaire, check.answers), **funnel})
            while self.rng.random() < NON_RESPONSE_SHARE / (1 + NON_RESPONSE_SHARE):
                self._non_respondent()
            participant_id = f"pt_{self.rng.getrandbits(64):016x}"
            submitted = self.now - timedelta(minutes=self.rng.randrange(60 * 24 * 20))
            self.size += 1
            yield participant_id, cells, check.answers, submitted, panel_id(self.panel_secret, participant_id)

    def aggregate_items(self, wave_id: str, scale: float = 1.0) -> list[dict[str, Any]]:
        """The aggregate items, in DynamoDB's wire form, exactly as the store's ADD updates leave them
        (``scale`` multiplies every count, to size the items of a larger wave)."""
        return [
            {
                "wave_id": {"S": wave_id},
                "cell": {"S": cell},
                **{name: {"N": str(round(value * scale))} for name, value in sorted(values.items()) if value},
            }
            for cell, values in sorted(self.counters.items())
        ]


def _write_responses(population: Population, event_id: str, wave_id: str, count: int) -> list[int]:
    """Batch-write ``count`` responses; returns each written item's computed size."""
    from chalicelib.adapters import tables as t

    sizes: list[int] = []
    with t.ResponseItem.batch_write() as batch:
        for participant_id, cells, answers, submitted, panel in population.respondents(count):
            item = t.ResponseItem(
                wave_id,
                participant_id,
                event_id=event_id,
                panel_id=panel,
                answers=answers,
                cells=cells,
                language=cells["language"],
                version=1,
                submitted_at=submitted,
                updated_at=submitted,
            )
            sizes.append(capacity.item_size(item.serialize()))
            batch.save(item)
    return sizes


def _write_aggregates(items: list[dict[str, Any]]) -> None:
    from chalicelib.adapters import tables as t

    conn = t.AggregateItem._get_connection()
    for start in range(0, len(items), 25):
        reply = conn.batch_write_item(put_items=items[start : start + 25])
        if reply.get("UnprocessedItems"):
            raise RuntimeError("BatchWriteItem left unprocessed aggregate items")


def computed_baseline(sizes: list[int]) -> Baseline:
    """The naive Query's pages and RCU from the sizes of the items written (DynamoDB's 1 MB page rule)."""
    pages: list[int] = []
    current = 0
    for size in sizes:
        if current and current + size > PAGE_LIMIT:
            pages.append(current)
            current = 0
        current += size
    pages.append(current)
    units = sum(capacity.read_units(page, consistent=False) for page in pages)
    return Baseline(False, len(pages), len(sizes), 0, sum(sizes), units)


def _recount(store: Any, wave_id: str, questionnaire: Any) -> dict[str, dict[str, int]]:
    """The naive summary: every response of the wave, aggregated in Python (by stakeholder group)."""
    from chalicelib.domain.cells import cell_key
    from chalicelib.domain.questionnaires import aggregate_deltas

    out: dict[str, dict[str, int]] = {}
    for response in store.list_responses(wave_id):
        bucket = out.setdefault(cell_key(SUMMARY_BY, response.cells[SUMMARY_BY]), {})
        for name, delta in {**aggregate_deltas(questionnaire, response.answers), "f:completed": 1}.items():
            bucket[name] = bucket.get(name, 0) + delta
    return out


def _matches(recount: Mapping[str, Mapping[str, int]], counters: Mapping[str, Mapping[str, int]]) -> bool:
    """The stored counters of the summary's dimension equal the recount (answers and completions)."""
    prefix = f"{SUMMARY_BY}#"
    stored = {
        cell: {k: v for k, v in values.items() if v and (k[:2] in ("n:", "a:") or k == "f:completed")}
        for cell, values in counters.items()
        if cell.startswith(prefix)
    }
    return stored == {cell: {k: v for k, v in values.items() if v} for cell, values in recount.items()}


def run(meter: Meter, checkpoints: tuple[int, ...] = CHECKPOINTS) -> list[Checkpoint]:
    from chalicelib.domain import reports

    results: list[Checkpoint] = []
    with moto_stack() as stack:
        now = utcnow()
        wave = create_event_and_wave(stack, 0, now=now)
        population = Population(now=now, panel_secret=stack.settings.panel_secret)
        sizes: list[int] = []
        seconds_per_item: float | None = None
        for target in checkpoints:
            started = time.perf_counter()
            sizes += _write_responses(population, wave.event_id, wave.wave_id, target - population.size)
            aggregates = population.aggregate_items(wave.wave_id)
            _write_aggregates(aggregates)
            seed_seconds = time.perf_counter() - started
            stored, stored_aggregates = stack.table_count("responses"), stack.table_count("aggregates")
            if stored != target or stored_aggregates != len(aggregates):
                raise RuntimeError(
                    f"wrote {target} responses and {len(aggregates)} aggregates, "
                    f"stored {stored} and {stored_aggregates} (cf. PynamoDB #1257)"
                )

            with meter.window() as summary:
                result = reports.summarize(stack.store, wave.event_id, wave.wave_id, SUMMARY_BY, k=5)
            if result["respondents"] != target:
                raise RuntimeError(f"summary counts {result['respondents']} respondents, expected {target}")
            aggregate_query = Window(
                [c for c in summary.only("Query") if c.table == stack.settings.table("aggregates")]
            )
            summary_items = [i for i in aggregates if i["cell"]["S"].startswith(f"{SUMMARY_BY}#")]

            baseline: Baseline | None = None
            estimate = seconds_per_item * target * BASELINE_GROWTH if seconds_per_item is not None else 0.0
            if estimate <= BASELINE_BUDGET_SECONDS:
                started, cpu = time.perf_counter(), time.process_time()
                with meter.window() as naive:
                    recount = _recount(stack.store, wave.wave_id, population.questionnaire)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                seconds_per_item = cpu / target
                baseline = Baseline(
                    measured=True,
                    requests=len(naive),
                    items=naive.items,
                    response_bytes=naive.response_bytes,
                    item_bytes=naive.item_bytes,
                    read_units=naive.read_units,
                    seconds=elapsed,
                    cpu_seconds=cpu,
                    recount_matches=_matches(recount, population.counters),
                    window=naive,
                )
            results.append(
                Checkpoint(
                    responses=target,
                    summary=summary,
                    aggregate_query=aggregate_query,
                    aggregate_item_bytes=[capacity.item_size(i) for i in aggregates],
                    summary_items_bytes=sum(capacity.item_size(i) for i in summary_items),
                    computed_baseline=computed_baseline(sizes),
                    baseline=baseline,
                    response_item_bytes=round(sum(sizes) / len(sizes)),
                    stored_responses=stored,
                    stored_aggregates=stored_aggregates,
                    seed_seconds=seed_seconds,
                    baseline_estimate_seconds=estimate,
                )
            )
        scaled = population.aggregate_items(wave.wave_id, scale=PROJECTED / population.size)
        results[-1].projected = (PROJECTED, max(capacity.item_size(i) for i in scaled))
    return results

"""Compile a wave's impact summary from its aggregate counters, with small-cell suppression."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.model import DIMENSIONS, EXTRA_STAGES, FUNNEL_STAGES
from chalicelib.domain.modes import by_mode
from chalicelib.domain.questionnaires import AGREE_VALUES, NUMERIC_TYPES, Question, Questionnaire
from chalicelib.domain.stats import mean_of, net_promoter_score, percent, wilson_interval

Counters = Mapping[str, int]


def funnel_key(stage: str) -> str:
    return f"f:{stage}"


def add_counters(items: Iterable[Counters]) -> dict[str, int]:
    total: dict[str, int] = {}
    for item in items:
        for key, value in item.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def funnel(counters: Counters) -> dict[str, Any]:
    """Funnel counts; the response rate is completed / delivered, as the README defines. ``by_mode``: the
    answers by response mode (open-link answers are in it but not in ``completed``)."""
    stages = FUNNEL_STAGES + EXTRA_STAGES
    out: dict[str, Any] = {stage: int(counters.get(funnel_key(stage), 0)) for stage in stages}
    out["response_rate"] = percent(out["completed"], out["delivered"])
    out["by_mode"] = by_mode(counters)
    return out


def distribution(question: Question, counters: Counters) -> dict[str, int]:
    return {v: int(counters.get(f"a:{question.id}:{v}", 0)) for v in question.allowed_values()}


@dataclass(frozen=True)
class Proportion:
    n: int
    agree: int

    @property
    def pct(self) -> float | None:
        return percent(self.agree, self.n)

    @property
    def ci95(self) -> list[float] | None:
        return list(wilson_interval(self.agree, self.n)) if self.n else None


def proportion(question: Question, counters: Counters) -> Proportion | None:
    """Agreement (top two boxes for Likert, yes for yes/no); None for questions without one."""
    agree_values = AGREE_VALUES.get(question.type)
    if agree_values is None:
        return None
    n = int(counters.get(f"n:{question.id}", 0))
    agree = sum(int(counters.get(f"a:{question.id}:{v}", 0)) for v in agree_values)
    return Proportion(n, agree)


def suppressed_cells(sizes: Mapping[str, int], k: int) -> set[str]:
    """Cells to hide: every cell with 0 < n < k, plus complementary cells so none can be recovered.

    A single hidden cell could be rebuilt as total minus the shown cells, so while exactly one
    non-empty cell is hidden, the smallest other non-empty cell is hidden too.
    """
    hidden = {cell for cell, n in sizes.items() if 0 < n < k}
    if len(hidden) == 1:
        candidates = sorted((n, cell) for cell, n in sizes.items() if n > 0 and cell not in hidden)
        if candidates:
            hidden.add(candidates[0][1])
    return hidden


def question_summary(question: Question, overall: Counters, groups: Mapping[str, Counters], k: int) -> dict[str, Any]:
    n = int(overall.get(f"n:{question.id}", 0))
    entry: dict[str, Any] = {
        "id": question.id,
        "indicator": question.indicator,
        "type": question.type,
        "n": n,
    }
    if 0 < n < k:
        entry.update(suppressed=True, distribution={}, agree=None, agree_pct=None, ci95=None, mean=None, groups={})
        return entry
    if question.closed:
        entry["distribution"] = distribution(question, overall)
    else:
        entry["distribution"] = {}
    prop = proportion(question, overall)
    # The raw count, so that report sentences need not rebuild it from the rounded percentage.
    entry["agree"] = prop.agree if prop else None
    entry["agree_pct"] = prop.pct if prop else None
    entry["ci95"] = prop.ci95 if prop else None
    entry["mean"] = mean_of(entry["distribution"]) if question.type in NUMERIC_TYPES else None
    if question.type == "nps":
        entry["nps"] = net_promoter_score(entry["distribution"])
    if question.closed:
        sizes = {cell: int(c.get(f"n:{question.id}", 0)) for cell, c in groups.items()}
        hidden = suppressed_cells(sizes, k)
        shown: dict[str, Any] = {}
        for cell, counters in sorted(groups.items()):
            if cell in hidden:
                shown[cell] = {"suppressed": True}
                continue
            gp = proportion(question, counters)
            shown[cell] = {
                "n": sizes[cell],
                "agree": gp.agree if gp else None,
                "agree_pct": gp.pct if gp else None,
                "ci95": gp.ci95 if gp else None,
            }
            if question.type in NUMERIC_TYPES:
                shown[cell]["mean"] = mean_of(distribution(question, counters))
        entry["groups"] = shown
    else:
        # Free text never appears in group breakdowns.
        entry["groups"] = {}
    return entry


def build_summary(
    *,
    event_id: str,
    wave_id: str,
    questionnaire: Questionnaire,
    cells: Mapping[str, Counters],
    by: str,
    k: int,
) -> dict[str, Any]:
    """The summary in the public contract's shape; ``cells`` maps each value of ``by`` to its counters."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    overall = add_counters(cells.values())
    funnel_counts = funnel(overall)
    questions = [question_summary(q, overall, cells, k) for q in questionnaire.questions]
    return {
        "event_id": event_id,
        "wave_id": wave_id,
        "questionnaire": questionnaire.key,
        "by": by,
        "funnel": funnel_counts,
        "respondents": funnel_counts["completed"],
        "questions": questions,
        "suppression_threshold": k,
    }

"""Report use cases: the impact summary, the HTML report's data, the CSV exports, the recount, the programme
view across events and the panel between two waves. The pure pieces they compose live in ``summary``,
``reporting`` and ``sentences``."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import catalogue
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import DIMENSIONS, LANGUAGES, Wave
from chalicelib.domain.modes import mode_breakdown
from chalicelib.domain.naming import slug, wave_name
from chalicelib.domain.ports import Store
from chalicelib.domain.sentences import report_sentences
from chalicelib.domain.summary import build_summary
from chalicelib.domain.waves import latest_wave, waves_in_order


def read_breakdown(store: Store, wave_id: str, dimension: str) -> dict[str, dict[str, int]]:
    """The counters of one dimension, by value: one Query; ``mode`` two, since only responses have a mode
    and email is what the other modes leave of a complete dimension (language)."""
    if dimension == "mode":
        return mode_breakdown(store.read_cells(wave_id, "language"), store.read_cells(wave_id, "mode"))
    return store.read_cells(wave_id, dimension)


def summarize(store: Store, event_id: str, wave_id: str | None, by: str | None, *, k: int) -> dict[str, Any]:
    """The impact summary of one wave: one Query of its aggregate counters, whatever the response count."""
    dimension = by or "stakeholder_group"
    if dimension not in DIMENSIONS:
        raise ValidationFailed(f"by must be one of {', '.join(DIMENSIONS)}")
    event = store.get_event(event_id)
    wave = latest_wave(store, event_id) if wave_id is None else store.get_wave(event_id, wave_id)
    questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
    cells = read_breakdown(store, wave.wave_id, dimension)
    summary = build_summary(
        event_id=event_id, wave_id=wave.wave_id, questionnaire=questionnaire, cells=cells, by=dimension, k=k
    )
    summary["event_title"] = event.title
    summary["wave_name"] = wave_name(event, wave, questionnaire)
    summary["sentences"] = report_sentences(questionnaire, summary["questions"], k=k)
    return summary


def _wave_and_questionnaire(store: Store, event_id: str, wave_id: str | None) -> tuple[Wave, Any]:
    wave = latest_wave(store, event_id) if wave_id is None else store.get_wave(event_id, wave_id)
    return wave, catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)


def recount_wave(store: Store, event_id: str, wave_id: str) -> dict[str, Any]:
    """Rebuild every counter from the raw responses and invitations and report any mismatch."""
    from chalicelib.domain.reporting import compare_counters, recount

    store.get_event(event_id)
    wave, questionnaire = _wave_and_questionnaire(store, event_id, wave_id)
    rebuilt = recount(questionnaire, store.list_responses(wave.wave_id), store.list_invitations(wave.wave_id))
    stored: dict[str, dict[str, int]] = {}
    for dimension in DIMENSIONS:
        for value, counters in store.read_cells(wave.wave_id, dimension).items():
            stored[f"{dimension}#{value}"] = dict(counters)
    mismatches = compare_counters(stored, rebuilt)
    return {"wave_id": wave.wave_id, "cells": len(rebuilt), "mismatches": mismatches, "ok": not mismatches}


def export_csv(store: Store, event_id: str, wave_id: str | None, kind: str, *, k: int) -> tuple[str, str]:
    """(filename, CSV text) for ``kind`` aggregates or responses, suppression applied."""
    from chalicelib.domain.reporting import aggregates_csv, responses_csv, summaries_for_export

    event = store.get_event(event_id)
    wave, questionnaire = _wave_and_questionnaire(store, event_id, wave_id)
    # Named as people read it, in ASCII only, so that the Content-Disposition header is safe everywhere.
    base = slug(f"{event.title[:40]} {wave_name(event, wave, questionnaire)}", limit=90)
    if kind == "aggregates":
        cells = {dim: read_breakdown(store, wave.wave_id, dim) for dim in DIMENSIONS}
        summaries = summaries_for_export(event_id, wave.wave_id, questionnaire, cells, k)
        return f"{base}-aggregates.csv", aggregates_csv(summaries, questionnaire)
    if kind == "responses":
        return f"{base}-responses.csv", responses_csv(questionnaire, store.list_responses(wave.wave_id), k)
    raise ValidationFailed("kind must be aggregates or responses")


def report_data(
    store: Store, event_id: str, wave_id: str | None, by: str | None, *, k: int, with_texts: bool = True
) -> dict[str, Any]:
    """Everything the HTML report shows: the summary, the other waves side by side, and (``with_texts``) the
    free text, whose read is the only one that grows with the responses."""
    from chalicelib.domain.reporting import redact

    summary = summarize(store, event_id, wave_id, by, k=k)
    wave, questionnaire = _wave_and_questionnaire(store, event_id, summary["wave_id"])
    comparison = []
    event = store.get_event(event_id)
    for other in waves_in_order(store, event_id):
        other_q = catalogue.resolve(store, other.questionnaire_id, other.questionnaire_version)
        cells = store.read_cells(other.wave_id, "stakeholder_group")
        other_summary = build_summary(
            event_id=event_id, wave_id=other.wave_id, questionnaire=other_q, cells=cells, by="stakeholder_group", k=k
        )
        comparison.append(
            {
                "wave_id": other.wave_id,
                "name": {lang: wave_name(event, other, other_q, lang) for lang in LANGUAGES},
                "questionnaire": other.questionnaire_id,
                "respondents": other_summary["respondents"],
                "indicators": {
                    q["indicator"]: q
                    for q in other_summary["questions"]
                    if q["indicator"] and q.get("agree_pct") is not None
                },
            }
        )
    texts: dict[str, list[str]] = {}
    if with_texts and summary["respondents"] >= k:
        for response in store.list_responses(wave.wave_id):
            for q in questionnaire.questions:
                value = response.answers.get(q.id)
                if q.type == "text" and isinstance(value, str) and value.strip():
                    texts.setdefault(q.id, []).append(redact(value))
    return {
        "summary": summary,
        "questionnaire": questionnaire,
        "wave": wave,
        "comparison": comparison,
        "texts": texts,
        "event": event,
        "wave_title": {lang: wave_name(event, wave, questionnaire, lang) for lang in LANGUAGES},
    }


def programme(
    store: Store,
    year: int,
    indicator: str,
    *,
    k: int,
    compare_year: int | None = None,
    only_events: frozenset[str] | None = None,
) -> dict[str, Any]:
    """One indicator across every event and wave of a year (and another year): one Query per wave. With
    ``only_events``, just those events (a scoped user's; an empty set is none)."""

    def year_rows(y: int) -> list[dict[str, Any]]:
        rows = []
        for event in store.events_in_year(y):
            if only_events is not None and event.event_id not in only_events:
                continue  # a user scoped to some events sees only those
            for wave in store.list_waves(event.event_id):
                if wave.event_ids:
                    continue  # a series wave is one row of its own (``series_rows``), not one per event
                questionnaire = catalogue.resolve(store, wave.questionnaire_id, wave.questionnaire_version)
                question = next((q for q in questionnaire.questions if q.indicator == indicator), None)
                if question is None:
                    continue
                cells = store.read_cells(wave.wave_id, "stakeholder_group")
                summary = build_summary(
                    event_id=event.event_id,
                    wave_id=wave.wave_id,
                    questionnaire=questionnaire,
                    cells=cells,
                    by="stakeholder_group",
                    k=k,
                )
                entry = next(q for q in summary["questions"] if q["id"] == question.id)
                rows.append(
                    {
                        "event_id": event.event_id,
                        "title": event.title,
                        "starts_on": event.starts_on.isoformat(),
                        "wave_id": wave.wave_id,
                        "wave_name": wave_name(event, wave, questionnaire),
                        "questionnaire": wave.questionnaire_id,
                        "n": entry["n"],
                        "agree_pct": entry.get("agree_pct"),
                        "ci95": entry.get("ci95"),
                        "suppressed": bool(entry.get("suppressed")),
                    }
                )
        return rows

    out: dict[str, Any] = {"indicator": indicator, "year": year, "waves": year_rows(year), "suppression_threshold": k}
    if compare_year is not None:
        out["compare_year"] = compare_year
        out["compare_waves"] = year_rows(compare_year)
    return out


def panel(store: Store, event_id: str, first_wave: str | None, second_wave: str | None, *, k: int) -> dict[str, Any]:
    """Attrition between two waves of an event, linked by the pseudonymous panel ID."""
    from chalicelib.domain.reporting import panel_comparison

    if not first_wave or not second_wave or first_wave == second_wave:
        raise ValidationFailed("from and to must name two different waves of the event")
    store.get_event(event_id)
    wave_a, questionnaire_a = _wave_and_questionnaire(store, event_id, first_wave)
    wave_b, _ = _wave_and_questionnaire(store, event_id, second_wave)
    result = panel_comparison(
        questionnaire_a, store.list_responses(wave_a.wave_id), store.list_responses(wave_b.wave_id), k
    )
    return {"event_id": event_id, "from": wave_a.wave_id, "to": wave_b.wave_id, **result}

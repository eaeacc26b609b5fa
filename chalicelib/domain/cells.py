"""Aggregate cells: the counters of a wave live in one item per ``<dimension>#<value>``, and every write
moves the counters of the participant's cell in each reporting dimension."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.domain.model import DIMENSIONS, SERIES_DIMENSION

CellDeltas = dict[str, dict[str, int]]


def cell_key(dimension: str, value: str) -> str:
    return f"{dimension}#{value}"


def spread(cells: Mapping[str, str], deltas: Mapping[str, int], sign: int = 1) -> CellDeltas:
    """The same deltas (times ``sign``) applied to this participant's cell in every reporting dimension. In a
    series wave the ``event`` cell holds every event the person attended (``|``-separated): they count in each."""
    if not any(PER_EVENT in key for key in deltas):
        out = {cell_key(d, cells[d]): {k: sign * v for k, v in deltas.items()} for d in DIMENSIONS if d in cells}
        for value in series_events(cells):
            out[cell_key(SERIES_DIMENSION, value)] = {k: sign * v for k, v in deltas.items()}
        return out
    pooled = _fold(deltas, None)
    out = {cell_key(d, cells[d]): {k: sign * v for k, v in pooled.items()} for d in DIMENSIONS if d in cells}
    for value in series_events(cells):
        out[cell_key(SERIES_DIMENSION, value)] = {k: sign * v for k, v in _fold(deltas, value).items()}
    return out


PER_EVENT = "@"  # questionnaires.PER_EVENT_SEPARATOR: ``n:<question>@<event>``, ``a:<question>@<event>:<value>``


def _fold(deltas: Mapping[str, int], event_id: str | None) -> dict[str, int]:
    """Per-event counters counted under their question: all of them (``event_id`` None: the pooled cells), or
    only those about ``event_id`` (its ``event`` cell)."""
    out: dict[str, int] = {}
    for key, value in deltas.items():
        kind, sep, rest = key.partition(":")
        if sep and PER_EVENT in rest:
            question, _, tail = rest.partition(PER_EVENT)
            about, colon, answer = tail.partition(":")
            if event_id is not None and about != event_id:
                continue
            key = f"{kind}:{question}{colon}{answer}"
        out[key] = out.get(key, 0) + value
    return out


def series_events(cells: Mapping[str, str]) -> list[str]:
    """The events of a series wave's invitee, from their cells (none for an event wave)."""
    return [v for v in cells.get(SERIES_DIMENSION, "").split("|") if v]


def merge(*parts: Mapping[str, Mapping[str, int]]) -> CellDeltas:
    """Sum cell deltas; counters that cancel out, and cells left with none, are dropped."""
    out: CellDeltas = {}
    for part in parts:
        for cell, deltas in part.items():
            bucket = out.setdefault(cell, {})
            for key, value in deltas.items():
                bucket[key] = bucket.get(key, 0) + value
    return {cell: {k: v for k, v in d.items() if v} for cell, d in out.items() if any(d.values())}

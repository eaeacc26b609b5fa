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
    out = {cell_key(d, cells[d]): {k: sign * v for k, v in deltas.items()} for d in DIMENSIONS if d in cells}
    for value in series_events(cells):
        out[cell_key(SERIES_DIMENSION, value)] = {k: sign * v for k, v in deltas.items()}
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

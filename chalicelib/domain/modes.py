"""How an answer reached us: its response mode.

``email`` (the personal link of the invitation email), ``qr`` (a personal QR card handed out at the event),
``open`` (the anonymous open link of a closing slide) or ``paper`` (a paper form keyed in by staff).

A response records its mode in its cells (``cells["mode"]``), so that ``mode`` is a breakdown dimension
like the others (one counter item per mode, ``mode#qr``) and every write moves it through ``cells.spread``.
Every cell of every dimension also counts the non-email modes (``m:qr``, ``m:open``, ``m:paper``), so that
the funnel's ``by_mode`` comes from the counters a summary reads anyway. Email is what is left: responses
stored before modes existed have no mode and count as email.

Open-link answers are anonymous and not one per person: they count in the questions' answers but not in
the funnel's ``completed`` (nor its response rate); ``by_mode["open"]`` counts them apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.domain.model import STAKEHOLDER_GROUPS

EMAIL, QR, OPEN, PAPER = "email", "qr", "open", "paper"
MODES = (EMAIL, QR, OPEN, PAPER)
MODE_NAMES = {EMAIL: "Email link", QR: "Personal QR", OPEN: "Open link", PAPER: "Paper"}
DEFAULT_MODE = EMAIL


def mode_of(cells: Mapping[str, str]) -> str:
    """A response's mode; one stored before modes existed was answered through its email link."""
    return cells.get("mode") or DEFAULT_MODE


def with_mode(cells: Mapping[str, str], mode: str) -> dict[str, str]:
    """The cells a response of this mode is counted in: the person's cells and its mode."""
    if mode not in MODES:
        raise ValueError(f"unknown response mode {mode!r}")
    return {**cells, "mode": mode}


def completion(mode: str, *, anonymous: bool = False) -> dict[str, int]:
    """The counters a first answer of this mode adds, beside its answers' counters (to every cell). An
    anonymous answer (every open-link one, a paper form of nobody in particular) is not a participant's
    completion: it counts under its mode only, and ``m:anonymous_paper`` says which paper forms those are."""
    if mode not in MODES:
        raise ValueError(f"unknown response mode {mode!r}")
    counts = {} if mode == OPEN or anonymous else {"f:completed": 1}
    if mode != EMAIL:
        counts[f"m:{mode}"] = 1
    if anonymous and mode == PAPER:
        counts["m:anonymous_paper"] = 1
    return counts


ANONYMOUS = "anonymous"  # ``cells["respondent"]`` of an answer that is nobody's in particular


def is_anonymous(cells: Mapping[str, str]) -> bool:
    return cells.get("respondent") == ANONYMOUS or mode_of(cells) == OPEN


def anonymous_cells(group: str | None, language: str) -> dict[str, str]:
    """The cells of an answer that belongs to no participant: the stakeholder group it gives, if the
    questionnaire asks it, its language, and "unknown" for what only a registration says."""
    return {
        "stakeholder_group": group if group in STAKEHOLDER_GROUPS else "unknown",
        "region": "unknown",
        "income_group": "unknown",
        "sponsored": "unknown",
        "language": language,
        "respondent": ANONYMOUS,
    }


def by_mode(counters: Mapping[str, int]) -> dict[str, int]:
    """Answers by mode, from the counters of one dimension added up: email is the completed rest."""
    counts = {mode: int(counters.get(f"m:{mode}", 0)) for mode in MODES if mode != EMAIL}
    linked_paper = counts[PAPER] - int(counters.get("m:anonymous_paper", 0))
    email = int(counters.get("f:completed", 0)) - counts[QR] - linked_paper
    return {EMAIL: max(0, email), **counts}


def mode_breakdown(
    base: Mapping[str, Mapping[str, int]], modes: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """The cells of ``by=mode``: each non-email mode's own cell, and email as everything else of a complete
    dimension (``base``: every invitation and every response counts once in it), so that the funnel's
    counts and the answers of responses stored before modes existed land under email."""
    total: dict[str, int] = {}
    for counters in base.values():
        for key, value in counters.items():
            total[key] = total.get(key, 0) + int(value)
    out: dict[str, dict[str, int]] = {}
    for mode, counters in modes.items():
        if mode == EMAIL:
            continue
        out[mode] = {k: int(v) for k, v in counters.items()}
        for key, value in counters.items():
            total[key] = total.get(key, 0) - int(value)
    email = {k: v for k, v in total.items() if v}
    if email:
        out[EMAIL] = email
    return dict(sorted(out.items()))

"""Recount, exports and text redaction: everything that reads raw responses rather than the counters.

The summary itself never reads responses; these do, on demand, and each applies small-cell suppression
before anything leaves the system.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chalicelib.domain.cells import merge, spread
from chalicelib.domain.model import INVITATION, Invitation, Response
from chalicelib.domain.modes import completion, is_anonymous
from chalicelib.domain.questionnaires import Questionnaire, aggregate_deltas
from chalicelib.domain.summary import build_summary

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Seven or more digits, allowing the usual separators: phone numbers, not years or percentages.
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{5,}\d(?![\w])")
# Where a spreadsheet could start a cell in this text: at its start, or after a comma, a semicolon (Excel's
# separator in French and Spanish locales), a tab or a line break, whatever delimiter it reads the file with;
# spaces and quotes between them and a formula trigger do not stop it.
_CELL_START = re.compile(r'(^|[,;\t\r\n])([ "]*)(?=[=+\-@])')


def redact(text: str) -> str:
    """Free text with email addresses and phone numbers blanked out."""
    text = _EMAIL.sub("[email removed]", text)
    return _PHONE.sub(lambda m: "[phone removed]" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)


def scrub(text: str, personal: Iterable[str]) -> str:
    """Free text with a person's own details removed (their name and its parts, their address and its local
    part, their organisation): erasure applies it to that person's own answers. Whole words only, any case;
    strings shorter than three characters are left (they would remove too much)."""
    for found in sorted({p.strip() for p in personal if len(p.strip()) >= 3}, key=len, reverse=True):
        text = re.sub(r"(?<!\w)" + re.escape(found) + r"(?!\w)", "[removed]", text, flags=re.IGNORECASE)
    return text


def personal_strings(full_name: str, email: str, organisation: str) -> list[str]:
    """What ``scrub`` removes for one person."""
    return [full_name, *re.split(r"[\s\-]+", full_name), email, email.split("@", 1)[0], organisation]


def neutralise(cell: object) -> str:
    """A CSV cell that spreadsheet software will not run as a formula, whatever separator it splits on: an
    apostrophe (Excel's text marker) before every formula trigger (= + - @) that could start a cell, and before
    a leading tab or carriage return."""
    text = "" if cell is None else str(cell)
    if text.startswith(("\t", "\r")):
        text = "'" + text
    return _CELL_START.sub(lambda m: m.group(1) + m.group(2) + "'", text)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """UTF-8 CSV with a byte-order mark, so that Excel opens it as UTF-8; every field quoted (a separator inside
    one stays inside it, in a comma or a semicolon locale) and every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
    return "\ufeff" + out.getvalue()


# Recount ---------------------------------------------------------------------------------------------


def recount(
    questionnaire: Questionnaire, responses: Iterable[Response], invitations: Iterable[Invitation]
) -> dict[str, dict[str, int]]:
    """Every counter the aggregates should hold, rebuilt from the raw responses and invitations."""
    parts = [
        spread(
            response.cells,
            {
                **aggregate_deltas(questionnaire, response.answers),
                **completion(response.mode, anonymous=is_anonymous(response.cells)),
            },
        )
        for response in responses
    ]
    for inv in invitations:
        funnel = {
            "f:invited": int(INVITATION in inv.sent_kinds),
            "f:delivered": int(inv.delivered_at is not None),
            "f:bounced": int(inv.bounced_at is not None),
            "f:opened": int(inv.opened_at is not None),
        }
        parts.append(spread(inv.cells, funnel))
    return merge(*parts)


def compare_counters(
    stored: Mapping[str, Mapping[str, int]],
    recounted: Mapping[str, Mapping[str, int]],
) -> list[dict[str, Any]]:
    """Mismatches between the maintained aggregates and a recount. Only counters a recount can rebuild
    are compared (answers, modes, completed, invited, delivered, bounced, opened)."""
    comparable = ("a:", "n:", "m:", "f:completed", "f:invited", "f:delivered", "f:bounced", "f:opened")
    mismatches = []
    for cell in sorted(set(stored) | set(recounted)):
        left, right = stored.get(cell, {}), recounted.get(cell, {})
        for key in sorted(set(left) | set(right)):
            if not key.startswith(comparable):
                continue
            if int(left.get(key, 0)) != int(right.get(key, 0)):
                mismatches.append(
                    {"cell": cell, "counter": key, "stored": int(left.get(key, 0)), "recount": int(right.get(key, 0))}
                )
    return mismatches


# Exports ----------------------------------------------------------------------------------------------


def aggregates_csv(summaries: Mapping[str, Mapping[str, Any]], questionnaire: Questionnaire) -> str:
    """One row per question and breakdown cell, across every dimension; suppressed cells say so."""
    header = [
        "dimension",
        "group",
        "question",
        "indicator",
        "type",
        "n",
        "agree",
        "agree_pct",
        "ci95_low",
        "ci95_high",
        "mean",
        "suppressed",
    ]
    rows: list[list[object]] = []
    first = next(iter(summaries.values()))
    for q in first["questions"]:
        suppressed = bool(q.get("suppressed"))
        ci = q.get("ci95") or [None, None]
        rows.append(
            [
                "all",
                "all",
                q["id"],
                q["indicator"] or "",
                q["type"],
                q["n"],
                "" if suppressed else _blank(q.get("agree")),
                _blank(q.get("agree_pct")),
                _blank(ci[0]),
                _blank(ci[1]),
                _blank(q.get("mean")),
                "yes" if suppressed else "no",
            ]
        )
    for dimension, summary in summaries.items():
        for q in summary["questions"]:
            for group, cell in sorted((q.get("groups") or {}).items()):
                if cell.get("suppressed"):
                    rows.append(
                        [dimension, group, q["id"], q["indicator"] or "", q["type"], "", "", "", "", "", "", "yes"]
                    )
                    continue
                ci = cell.get("ci95") or [None, None]
                rows.append(
                    [
                        dimension,
                        group,
                        q["id"],
                        q["indicator"] or "",
                        q["type"],
                        cell.get("n"),
                        _blank(cell.get("agree")),
                        _blank(cell.get("agree_pct")),
                        _blank(ci[0]),
                        _blank(ci[1]),
                        _blank(cell.get("mean")),
                        "no",
                    ]
                )
    return csv_text(header, rows)


def _blank(value: object) -> object:
    return "" if value is None else value


QUASI_IDENTIFIERS = ("region", "stakeholder_group", "language", "income_group", "sponsored")


def generalise(rows: list[dict[str, str]], k: int) -> list[dict[str, str]]:
    """k-anonymity by suppression: while a combination of attributes is shared by fewer than k rows, hide
    the most identifying attribute (first in ``QUASI_IDENTIFIERS``) of those rows, and look again."""
    for attribute in QUASI_IDENTIFIERS:
        combos = Counter(tuple(r[a] for a in QUASI_IDENTIFIERS) for r in rows)
        rare = [r for r in rows if combos[tuple(r[a] for a in QUASI_IDENTIFIERS)] < k]
        if not rare:
            break
        for r in rare:
            r[attribute] = "suppressed"
    hidden = tuple("suppressed" for _ in QUASI_IDENTIFIERS)

    def key(r: dict[str, str]) -> tuple[str, ...]:
        return tuple(r[a] for a in QUASI_IDENTIFIERS)

    combos = Counter(key(r) for r in rows)
    for r in rows:
        if combos[key(r)] < k:
            for a in QUASI_IDENTIFIERS:
                r[a] = "suppressed"
    # The fully hidden rows must be at least k too, or their attributes follow from the totals: hide the
    # smallest remaining combinations with them until they are (complementary suppression).
    combos = Counter(key(r) for r in rows)
    while 0 < combos.get(hidden, 0) < k and len(combos) > 1:
        smallest = min((c for c in combos if c != hidden), key=lambda c: (combos[c], c))
        for r in rows:
            if key(r) == smallest:
                for a in QUASI_IDENTIFIERS:
                    r[a] = "suppressed"
        combos = Counter(key(r) for r in rows)
    return rows


def responses_csv(questionnaire: Questionnaire, responses: Iterable[Response], k: int, *, linked: bool = False) -> str:
    """Pseudonymised responses: panel ID, breakdown attributes (generalised to k-anonymity), answers.
    No name, email, participant ID or token; free text has addresses and phone numbers removed. ``linked`` (a
    series wave): also the person's panel ID in each event of the series they attended (``event_panel_ids``),
    which links their series answers to their answers in each event's own waves."""
    rows: list[dict[str, str]] = []
    for r in sorted(responses, key=lambda x: x.panel_id):
        row = {a: str(r.cells.get(a, "")) for a in QUASI_IDENTIFIERS}
        row["panel_id"] = r.panel_id
        row["language_answered"] = r.language
        if linked:
            row["event_panel_ids"] = r.cells.get("panels", "")
        for q in questionnaire.questions:
            value = r.answers.get(q.id)
            if isinstance(value, list):
                row[q.id] = ";".join(value)
            elif q.type == "text" and value:
                row[q.id] = redact(str(value))
            else:
                row[q.id] = "" if value is None else str(value)
        rows.append(row)
    if len(rows) < k:
        rows = []  # too few respondents to export anything at all
    generalise(rows, k)
    header = ["panel_id", *QUASI_IDENTIFIERS, "language_answered", *(q.id for q in questionnaire.questions)]
    if linked:
        header.insert(1, "event_panel_ids")
    return csv_text(header, ([row[h] for h in header] for row in rows))


def summaries_for_export(
    event_id: str, wave_id: str, questionnaire: Questionnaire, cells_by_dimension: Mapping[str, Any], k: int
) -> dict[str, dict[str, Any]]:
    return {
        dim: build_summary(event_id=event_id, wave_id=wave_id, questionnaire=questionnaire, cells=cells, by=dim, k=k)
        for dim, cells in cells_by_dimension.items()
    }


# Waves linked through the pseudonymous panel ID -------------------------------------------------------


def panel_comparison(
    first: Questionnaire, first_responses: Iterable[Response], second_responses: Iterable[Response], k: int
) -> dict[str, Any]:
    """Who answered both waves, and whether they differ on wave 1 from those who dropped out.

    Linked only by panel ID (an HMAC of the participant), never by identity. Each comparison cell with
    fewer than k people is suppressed.
    """
    from chalicelib.domain.questionnaires import AGREE_VALUES
    from chalicelib.domain.stats import percent, wilson_interval

    firsts = {r.panel_id: r for r in first_responses}
    seconds = {r.panel_id for r in second_responses}
    both = [r for pid, r in firsts.items() if pid in seconds]
    dropped = [r for pid, r in firsts.items() if pid not in seconds]

    def agreement(group: list[Response], question_id: str, agree_values: tuple[str, ...]) -> dict[str, Any]:
        answered = [r for r in group if r.answers.get(question_id) not in (None, "", [])]
        if len(answered) < k:
            return {"suppressed": True}
        agree = sum(1 for r in answered if r.answers.get(question_id) in agree_values)
        return {
            "n": len(answered),
            "agree": agree,
            "agree_pct": percent(agree, len(answered)),
            "ci95": list(wilson_interval(agree, len(answered))),
        }

    indicators = []
    for q in first.questions:
        values = AGREE_VALUES.get(q.type)
        if values is None or not q.indicator:
            continue
        indicators.append(
            {
                "id": q.id,
                "indicator": q.indicator,
                "answered_both": agreement(both, q.id, values),
                "answered_first_only": agreement(dropped, q.id, values),
            }
        )
    return {
        "first_wave_respondents": len(firsts),
        "second_wave_respondents": len(seconds),
        "answered_both": len(both),
        "answered_first_only": len(dropped),
        "answered_second_only": len(seconds - set(firsts)),
        "retention_pct": percent(len(both), len(firsts)),
        "indicators": indicators,
        "suppression_threshold": k,
    }

"""Charts drawn as SVG on the server: diverging stacked bars for Likert statements, horizontal bars with 95 %
intervals for yes/no and choice questions, the NPS distribution with its score, and the programme's trend of one
indicator across events (a dot with its interval whiskers, one row per wave, oldest first).

Every chart fits any width without scrolling: the SVG has ``width="100%"`` and no ``viewBox``, so its
horizontal positions are percentages of whatever width it gets while its text keeps a readable size in pixels.
Each bar's label sits above it on its own lines, wrapped here at a width that fits a 320 px screen, so nothing
is ever cut. Readable without colour: the two sides of a diverging bar (and detractors, passives and promoters)
carry different hatching as well as different fills, the legend repeats both, and every chart has a ``<title>``
and a ``<desc>`` stating every figure. Markup is built from escaped strings only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from chalicelib.domain.stats import wilson_interval

# Label lines are wrapped at this many characters: about 260 px of 12 px sans-serif, inside 320 px.
WRAP = 40
LINE = 16  # px per text line
BAR = 22  # px, the height of one bar
GAP = 12  # px between rows
WHISKER = 6  # px from a bar's lower edge to its interval's whisker, drawn below it so no text is crossed
# Colour-blind-safe diverging palette (ColorBrewer RdBu, 5 classes) with enough contrast for text.
FILL = {"1": "#b2182b", "2": "#ef8a62", "3": "#e0e0e0", "4": "#67a9cf", "5": "#2166ac"}
TEXT = {"1": "#ffffff", "2": "#1b1b1b", "3": "#1b1b1b", "4": "#1b1b1b", "5": "#ffffff"}
INK = "#1b1b1b"
MUTED = "#4a4a4a"
BAR_FILL = "#2166ac"
TRACK = "#f0f0f0"
NPS_FILL = {"detractor": "#b2182b", "passive": "#bdbdbd", "promoter": "#2166ac"}
# Segment percentages narrower than this share of the whole width are hidden on narrow screens (the label
# line, the desc and the table still give them).
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_STYLE = (
    "<style>.chart text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}"
    "@media (max-width:36rem){.chart .narrow-hide{display:none}}</style>"
)


def wrap(text: str, width: int = WRAP) -> list[str]:
    """A label's lines: never longer than ``width`` unless one word is (then that word stands alone). Lines
    break at ordinary spaces only, so a no-break space keeps "95 % CI 76–86 %" together."""
    lines: list[str] = []
    for word in _SPACES.split(text.strip()):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        elif word:
            lines.append(word)
    return lines or [""]


def _pct(value: float) -> str:
    return f"{value:.2f}%"


def _fmt(value: float) -> str:
    return f"{round(value)}"


NBSP = "\u00a0"  # keeps "95 % CI 76–86 %" and "82 %" on one line when a label wraps


def _interval(ci: Sequence[float] | None) -> str:
    return f"95{NBSP}%{NBSP}CI{NBSP}{_fmt(ci[0])}–{_fmt(ci[1])}{NBSP}%" if ci else ""


def _open(chart_id: str, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" height="{height}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" class="chart" id="{chart_id}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
        _STYLE,
    ]


def _hatch(chart_id: str, name: str, angle: int, colour: str = "#ffffff") -> str:
    return (
        f'<pattern id="{chart_id}-{name}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate({angle})"><line x1="0" y1="0" x2="0" y2="6" stroke="{colour}" '
        'stroke-width="1.5" stroke-opacity="0.7"/></pattern>'
    )


def _text(
    x: str, y: float, text: str, *, size: int = 12, fill: str = INK, anchor: str = "start", extra: str = ""
) -> str:
    return (
        f'<text x="{x}" y="{y:.0f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}"{extra}>'
        f"{escape(text)}</text>"
    )


def _label_lines(lines: Sequence[str], y: float, *, bold: bool = True) -> tuple[list[str], float]:
    weight = ' font-weight="600"' if bold else ""
    out = [_text("0", y + LINE * (i + 1) - 4, line, extra=weight) for i, line in enumerate(lines)]
    return out, y + LINE * len(lines)


def _facts(text: str, y: float) -> tuple[list[str], float]:
    """The smaller grey line(s) under a label: n, the per cent and the interval, wrapped like the label."""
    lines = wrap(text, WRAP + 6)
    out = [_text("0", y + LINE * (i + 1) - 4, line, size=11, fill=MUTED) for i, line in enumerate(lines)]
    return out, y + LINE * len(lines) + 2


def _lin(pct: float) -> float:
    """A point of a 0..100 % axis as per cent of the width, 3 % kept free at the right for a whisker's tick."""
    return pct * 0.97


def _whisker(x1: float, x2: float, y: float) -> str:
    """A 95 % interval drawn from ``x1`` to ``x2`` (per cent of the width) at height ``y``, with end ticks."""
    return (
        f'<g stroke="{INK}" stroke-width="1.5"><line x1="{_pct(x1)}" y1="{y:.0f}" x2="{_pct(x2)}" y2="{y:.0f}"/>'
        f'<line x1="{_pct(x1)}" y1="{y - 5:.0f}" x2="{_pct(x1)}" y2="{y + 5:.0f}"/>'
        f'<line x1="{_pct(x2)}" y1="{y - 5:.0f}" x2="{_pct(x2)}" y2="{y + 5:.0f}"/></g>'
    )


def _swatch(chart_id: str, y: float, fill: str, pattern: str | None, label: str) -> list[str]:
    out = [f'<rect x="0" y="{y:.0f}" width="14" height="14" fill="{fill}" stroke="{INK}" stroke-width="0.5"/>']
    if pattern:
        out.append(f'<rect x="0" y="{y:.0f}" width="14" height="14" fill="url(#{chart_id}-{pattern})"/>')
    out.append(f'<text x="20" y="{y + 12:.0f}" font-size="12" fill="{INK}">{escape(label)}</text>')
    return out


@dataclass(frozen=True)
class LikertRow:
    label: str
    distribution: Mapping[str, int]

    @property
    def n(self) -> int:
        return sum(int(self.distribution.get(v, 0)) for v in "12345")

    def share(self, value: str) -> float:
        return 100 * int(self.distribution.get(value, 0)) / self.n if self.n else 0.0

    @property
    def agree(self) -> int:
        return int(self.distribution.get("4", 0)) + int(self.distribution.get("5", 0))

    @property
    def mean(self) -> float | None:
        total = sum(int(v) * int(self.distribution.get(v, 0)) for v in "12345")
        return total / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson_interval(self.agree, self.n) if self.n else None


def _segments(row: LikertRow) -> list[tuple[str, float, float]]:
    """(value, x start in per cent of the scale, width in per cent): disagree left of centre, agree right,
    neutral straddling it. The scale runs from -100 to +100 per cent around the centre."""
    neutral = row.share("3")
    left = row.share("1") + row.share("2") + neutral / 2
    x = -left
    out = []
    for value in "12345":
        width = row.share(value)
        out.append((value, x, width))
        x += width
    return out


def _at(scale_pct: float) -> float:
    """A point of the -100..+100 scale as per cent of the drawing's width (the zero line is the middle)."""
    return 50 + scale_pct * 0.47  # 3 % of the width kept free at each end for a whisker's tick


def likert_svg(
    rows: Sequence[LikertRow], *, title: str, labels: Mapping[str, str], chart_id: str, show_mean: bool = False
) -> str:
    """One chart, one bar per row; ``labels`` maps "1".."5" to the scale's words in the report language.

    Above each bar: the statement, then n, the per cent agreeing and its 95 % interval; the interval is also
    drawn as a whisker where the agreeing part of the bar ends. Below: the axis and the legend."""
    body: list[str] = []
    y = 0.0
    agree_word = labels.get("agree_total", "agree")
    for row in rows:
        lines, y = _label_lines(wrap(row.label), y)
        body += lines
        ci = row.ci95
        agree_pct = 100 * row.agree / row.n if row.n else 0.0
        mean = row.mean
        facts = f"n={row.n}" + (f" · {labels.get('mean', 'mean')} {mean:.2f}" if show_mean and mean else "")
        facts += f" · {_fmt(agree_pct)}{NBSP}% {agree_word}" + (f" ({_interval(ci)})" if ci else "")
        lines, y = _facts(facts, y)
        body += lines
        for value, start, width in _segments(row):
            if width <= 0:
                continue
            x, w = _at(start), width * 0.47
            body.append(f'<rect x="{_pct(x)}" y="{y:.0f}" width="{_pct(w)}" height="{BAR}" fill="{FILL[value]}"/>')
            if value in "12":
                body.append(
                    f'<rect x="{_pct(x)}" y="{y:.0f}" width="{_pct(w)}" height="{BAR}" fill="url(#{chart_id}-dis)"/>'
                )
            if value in "45":
                body.append(
                    f'<rect x="{_pct(x)}" y="{y:.0f}" width="{_pct(w)}" height="{BAR}" fill="url(#{chart_id}-agr)"/>'
                )
            if width >= 8:
                hide = "" if width >= 16 else ' class="narrow-hide"'
                body.append(
                    _text(
                        _pct(x + w / 2),
                        y + BAR / 2 + 4,
                        f"{round(width)}%",
                        size=11,
                        fill=TEXT[value],
                        anchor="middle",
                        extra=hide,
                    )
                )
        if ci:
            neutral_half = row.share("3") / 2
            body.append(_whisker(_at(neutral_half + ci[0]), _at(neutral_half + ci[1]), y + BAR + WHISKER))
        y += BAR + WHISKER + GAP
    top = 0.0
    bottom = y - GAP + 4
    body.append(
        f'<line x1="50%" y1="{top:.0f}" x2="50%" y2="{bottom:.0f}" stroke="{INK}" stroke-width="1" '
        'stroke-dasharray="3 2"/>'
    )
    y = bottom + 14
    for tick, anchor in ((-100, "start"), (-50, "middle"), (0, "middle"), (50, "middle"), (100, "end")):
        body.append(_text(_pct(_at(tick)), y, f"{abs(tick)}%", size=11, fill=MUTED, anchor=anchor))
    y += 12
    for value in "12345":
        pattern = "dis" if value in "12" else "agr" if value in "45" else None
        body += _swatch(chart_id, y, FILL[value], pattern, labels.get(value, value))
        y += 20
    defs = "<defs>" + _hatch(chart_id, "dis", 45) + _hatch(chart_id, "agr", -45) + "</defs>"
    return "".join([*_open(chart_id, int(y + 4), title, _describe(rows, labels)), defs, *body, "</svg>"])


def _describe(rows: Sequence[LikertRow], labels: Mapping[str, str]) -> str:
    described = []
    for row in rows:
        shares = ", ".join(f"{labels.get(v, v)} {round(row.share(v))}%" for v in "12345")
        ci = row.ci95
        described.append(f"{row.label}: {shares} (n={row.n}{'; ' + _interval(ci) if ci else ''})")
    return "; ".join(described)


@dataclass(frozen=True)
class Bar:
    """One bar: ``count`` of ``n`` (yes of those who answered, or one option of a choice question)."""

    label: str
    count: int
    n: int

    @property
    def pct(self) -> float:
        return 100 * self.count / self.n if self.n else 0.0

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson_interval(self.count, self.n) if self.n else None


def bars_svg(bars: Sequence[Bar], *, title: str, chart_id: str, note: str = "") -> str:
    """Horizontal bars from 0 to 100 %, each with its label above, its per cent, n and its interval whisker."""
    body: list[str] = []
    y = 0.0
    for bar in bars:
        lines, y = _label_lines(wrap(bar.label), y)
        body += lines
        ci = bar.ci95
        facts = f"{_fmt(bar.pct)}{NBSP}% · n={bar.n}" + (f" · {_interval(ci)}" if ci else "")
        lines, y = _facts(facts, y)
        body += lines
        body.append(f'<rect x="0" y="{y:.0f}" width="97%" height="{BAR}" fill="{TRACK}"/>')
        if bar.pct > 0:
            body.append(f'<rect x="0" y="{y:.0f}" width="{_pct(_lin(bar.pct))}" height="{BAR}" fill="{BAR_FILL}"/>')
            body.append(
                f'<rect x="0" y="{y:.0f}" width="{_pct(_lin(bar.pct))}" height="{BAR}" fill="url(#{chart_id}-agr)"/>'
            )
        if ci:
            body.append(_whisker(_lin(ci[0]), _lin(ci[1]), y + BAR + WHISKER))
        y += BAR + WHISKER + GAP
    for tick, anchor in ((0, "start"), (50, "middle"), (100, "end")):
        body.append(_text(_pct(_lin(tick)), y + 2, f"{tick}%", size=11, fill=MUTED, anchor=anchor))
    y += 8
    if note:
        for line in wrap(note, 48):
            y += LINE
            body.append(_text("0", y, line, size=11, fill=MUTED))
    desc = "; ".join(f"{b.label}: {_fmt(b.pct)} % (n={b.n}{'; ' + _interval(b.ci95) if b.ci95 else ''})" for b in bars)
    defs = "<defs>" + _hatch(chart_id, "agr", -45) + "</defs>"
    return "".join([*_open(chart_id, int(y + 8), title, desc), defs, *body, "</svg>"])


def nps_group(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def nps_svg(
    distribution: Mapping[str, int], *, title: str, chart_id: str, labels: Mapping[str, str], score: float | None
) -> str:
    """The 0..10 distribution as columns (detractors, passives, promoters told apart by fill and hatching),
    the score and n above, and a legend. ``labels`` names "detractor", "passive", "promoter" and "score"."""
    counts = [int(distribution.get(str(v), 0)) for v in range(11)]
    n = sum(counts)
    shares = [100 * c / n if n else 0.0 for c in counts]
    tallest = max(shares) if n else 0.0
    body: list[str] = []
    score_text = f"{labels.get('score', 'Net Promoter Score')}: " + (f"{score:+.0f}" if score is not None else "–")
    body.append(_text("0", 14, f"{score_text} · n={n}", size=13, extra=' font-weight="600"'))
    top, height = 34.0, 120.0
    col = 100 / 11
    for v, share in enumerate(shares):
        h = height * share / tallest if tallest else 0.0
        x = v * col + col * 0.12
        w = col * 0.76
        group = nps_group(v)
        y = top + height - h
        if h > 0:
            body.append(
                f'<rect x="{_pct(x)}" y="{y:.1f}" width="{_pct(w)}" height="{h:.1f}" fill="{NPS_FILL[group]}"/>'
            )
            pattern = {"detractor": "dis", "promoter": "agr"}.get(group)
            if pattern:
                body.append(
                    f'<rect x="{_pct(x)}" y="{y:.1f}" width="{_pct(w)}" height="{h:.1f}" '
                    f'fill="url(#{chart_id}-{pattern})"/>'
                )
        body.append(_text(_pct(x + w / 2), y - 3, f"{round(share)}", size=10, fill=MUTED, anchor="middle"))
        body.append(_text(_pct(x + w / 2), top + height + 14, str(v), size=11, anchor="middle"))
    body.append(
        f'<line x1="0" y1="{top + height:.0f}" x2="100%" y2="{top + height:.0f}" stroke="{INK}" stroke-width="1"/>'
    )
    y = top + height + 22
    lines, y = _facts(labels.get("axis", "Score (0–10); per cent of respondents above each"), y)
    body += lines
    y += 6
    for group, pattern in (("detractor", "dis"), ("passive", None), ("promoter", "agr")):
        body += _swatch(chart_id, y, NPS_FILL[group], pattern, labels.get(group, group))
        y += 20
    desc = f"{score_text}, n={n}. " + ", ".join(f"{v}: {counts[v]} ({round(shares[v])} %)" for v in range(11))
    defs = "<defs>" + _hatch(chart_id, "dis", 45) + _hatch(chart_id, "agr", -45) + "</defs>"
    return "".join([*_open(chart_id, int(y + 4), title, desc), defs, *body, "</svg>"])


@dataclass(frozen=True)
class TrendPoint:
    """One wave in the programme's trend: where and when, and its per cent agreeing with the interval."""

    label: str
    n: int
    pct: float | None
    ci95: Sequence[float] | None


def trend_svg(points: Sequence[TrendPoint], *, title: str, chart_id: str, suppressed_word: str = "suppressed") -> str:
    """One row per wave, oldest first: a dot at its per cent agreeing on a 0..100 % axis with its interval's
    whiskers, and a line joining the dots so the trend reads down the page."""
    body: list[str] = []
    dots: list[str] = []
    y = 0.0
    centres: list[tuple[float, float]] = []
    for point in points:
        lines, y = _label_lines(wrap(point.label), y)
        body += lines
        if point.pct is None:
            why = suppressed_word if point.n else "no answers yet"
            body.append(_text("0", y + LINE - 4, f"n={point.n} · {why}", size=11, fill=MUTED))
            y += LINE + GAP
            continue
        facts = f"{_fmt(point.pct)}{NBSP}% · n={point.n}" + (f" · {_interval(point.ci95)}" if point.ci95 else "")
        lines, y = _facts(facts, y)
        body += lines
        mid = y + BAR / 2
        body.append(f'<rect x="0" y="{y:.0f}" width="97%" height="{BAR}" fill="{TRACK}"/>')
        for tick in (25, 50, 75):
            at = _pct(_lin(tick))
            body.append(
                f'<line x1="{at}" y1="{y:.0f}" x2="{at}" y2="{y + BAR:.0f}" stroke="#ffffff" stroke-width="1"/>'
            )
        if point.ci95:
            body.append(_whisker(_lin(point.ci95[0]), _lin(point.ci95[1]), mid))
        centres.append((point.pct, mid))
        dots.append(
            f'<circle cx="{_pct(_lin(point.pct))}" cy="{mid:.0f}" r="6" fill="{BAR_FILL}" '
            'stroke="#ffffff" stroke-width="1.5"/>'
        )
        y += BAR + GAP
    joins = [
        f'<line x1="{_pct(_lin(a[0]))}" y1="{a[1]:.0f}" x2="{_pct(_lin(b[0]))}" y2="{b[1]:.0f}" stroke="{BAR_FILL}" '
        'stroke-width="1.5" stroke-dasharray="4 3"/>'
        for a, b in pairwise(centres)
    ]
    for tick, anchor in ((0, "start"), (25, "middle"), (50, "middle"), (75, "middle"), (100, "end")):
        body.append(_text(_pct(_lin(tick)), y + 2, f"{tick}%", size=11, fill=MUTED, anchor=anchor))
    y += 8
    desc = "; ".join(
        f"{p.label}: "
        + (
            (suppressed_word if p.n else "no answers yet")
            if p.pct is None
            else f"{_fmt(p.pct)} % (n={p.n}{'; ' + _interval(p.ci95) if p.ci95 else ''})"
        )
        for p in points
    )
    return "".join([*_open(chart_id, int(y + 8), title, desc), *body, *joins, *dots, "</svg>"])

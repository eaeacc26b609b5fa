"""Diverging stacked bars for Likert questions, drawn as SVG on the server.

Readable without colour: every segment carries its percentage as text when wide enough, the two sides
use different hatching as well as different colours, and each chart has a ``<title>``, a ``<desc>``
stating every figure, and a data table beside it in the report. Markup is built from escaped strings only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
ROW = 34
LABEL_W = 0  # labels sit above each bar, so long statements wrap in HTML, not in SVG
BAR_W = 600
MARGIN = 20
# Colour-blind-safe diverging palette (ColorBrewer RdBu, 5 classes) with enough contrast for text.
FILL = {"1": "#b2182b", "2": "#ef8a62", "3": "#e0e0e0", "4": "#67a9cf", "5": "#2166ac"}
TEXT = {"1": "#ffffff", "2": "#1b1b1b", "3": "#1b1b1b", "4": "#1b1b1b", "5": "#ffffff"}


@dataclass(frozen=True)
class LikertRow:
    label: str
    distribution: Mapping[str, int]

    @property
    def n(self) -> int:
        return sum(int(self.distribution.get(v, 0)) for v in "12345")

    def share(self, value: str) -> float:
        return 100 * int(self.distribution.get(value, 0)) / self.n if self.n else 0.0


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


def likert_svg(rows: Sequence[LikertRow], *, title: str, labels: Mapping[str, str], chart_id: str) -> str:
    """One chart, one bar per row; ``labels`` maps "1".."5" to the scale's words in the report language."""
    height = MARGIN * 2 + ROW * len(rows) + 28
    centre = MARGIN + BAR_W / 2
    scale = BAR_W / 200  # pixels per percentage point on each side
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" class="chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(_describe(rows, labels))}</desc>',
        "<defs>"
        f'<pattern id="{chart_id}-dis" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" '
        'stroke-width="1.5" stroke-opacity="0.6"/></pattern>'
        "</defs>",
    ]
    for index, row in enumerate(rows):
        y = MARGIN + index * ROW
        for value, start, width in _segments(row):
            if width <= 0:
                continue
            x = centre + start * scale
            w = width * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW - 10}" fill="{FILL[value]}"/>')
            if value in "12":
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW - 10}" fill="url(#{chart_id}-dis)"/>'
                )
            if w >= 30:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + (ROW - 10) / 2 + 4:.1f}" text-anchor="middle" '
                    f'font-size="12" fill="{TEXT[value]}">{round(width)}%</text>'
                )
        parts.append(
            f'<text x="{MARGIN + BAR_W + 4}" y="{y + (ROW - 10) / 2 + 4:.1f}" font-size="11" '
            f'fill="#4a4a4a">n={row.n}</text>'
        )
    axis_y = MARGIN + ROW * len(rows)
    parts.append(
        f'<line x1="{centre}" y1="{MARGIN - 4}" x2="{centre}" y2="{axis_y}" stroke="#1b1b1b" stroke-width="1"/>'
    )
    legend_y = axis_y + 18
    x = MARGIN
    for value in "12345":
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{FILL[value]}"/>')
        if value in "12":
            parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="url(#{chart_id}-dis)"/>')
        label = escape(labels.get(value, value))
        parts.append(f'<text x="{x + 16}" y="{legend_y}" font-size="11" fill="#1b1b1b">{label}</text>')
        x += 16 + 7 * len(labels.get(value, value)) + 14
    parts.append("</svg>")
    return "".join(parts)


def _describe(rows: Sequence[LikertRow], labels: Mapping[str, str]) -> str:
    described = []
    for row in rows:
        shares = ", ".join(f"{labels.get(v, v)} {round(row.share(v))}%" for v in "12345")
        described.append(f"{row.label}: {shares} (n={row.n})")
    return "; ".join(described)

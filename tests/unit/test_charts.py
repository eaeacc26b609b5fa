"""The report's SVG charts: every bar carries its question, n and interval; nothing is drawn outside the
drawing; the neutral answer straddles the zero line."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.charts import (
    WRAP,
    Bar,
    LikertRow,
    TrendPoint,
    bars_svg,
    likert_svg,
    nps_svg,
    trend_svg,
    wrap,
)
from chalicelib.domain.stats import wilson_interval

NS = "{http://www.w3.org/2000/svg}"
LABELS = {
    "1": "Strongly disagree",
    "2": "Disagree",
    "3": "Neither agree nor disagree",
    "4": "Agree",
    "5": "Strongly agree",
}
LONG = "The workshop served to identify measures of international cooperation and effective policies."


def texts(svg: str) -> list[str]:
    """Every text of the drawing; none is longer than fits 320 px (so the drawing never cuts one)."""
    found = [(t.text or "").replace("\u00a0", " ") for t in ET.fromstring(svg).iter(f"{NS}text")]
    assert all(len(line) <= WRAP + 6 for line in found), [line for line in found if len(line) > WRAP + 6]
    return found


def percents(svg: str) -> list[float]:
    """Every horizontal position and width in the drawing, in per cent of its width."""
    return [float(v) for v in re.findall(r'\b(?:x|x1|x2|cx|width)="(-?[\d.]+)%"', svg)]


def test_each_likert_bar_has_its_whole_question_n_and_interval_above_it() -> None:
    svg = likert_svg(
        [LikertRow(LONG, {"1": 10, "2": 12, "3": 22, "4": 132, "5": 47})],
        title="Agreement",
        labels=LABELS,
        chart_id="c",
    )
    shown = texts(svg)
    assert " ".join(line for line in shown if line in wrap(LONG)) == " ".join(LONG.split())
    low, high = wilson_interval(179, 223)
    assert f"n=223 · 80 % agree (95 % CI {round(low)}–{round(high)} %)" in " ".join(shown)
    root = ET.fromstring(svg)
    assert root.get("width") == "100%" and root.get("viewBox") is None  # text keeps its size at 320 px
    assert root.find(f"{NS}title").text == "Agreement"
    assert "Strongly agree 21%" in root.find(f"{NS}desc").text
    for word in LABELS.values():
        assert word in shown  # the legend


def test_the_neutral_answer_straddles_the_zero_line() -> None:
    svg = likert_svg([LikertRow("Only neutral", {"3": 10})], title="t", labels=LABELS, chart_id="c")
    rect = next(
        r for r in ET.fromstring(svg).iter(f"{NS}rect") if r.get("fill") == "#e0e0e0" and r.get("height") != "14"
    )
    x, width = float(rect.get("x", "").rstrip("%")), float(rect.get("width", "").rstrip("%"))
    assert abs((x + width / 2) - 50) < 0.01


@given(
    st.lists(
        st.dictionaries(st.sampled_from("12345"), st.integers(min_value=0, max_value=500), min_size=1),
        min_size=1,
        max_size=6,
    )
)
def test_nothing_is_drawn_outside_the_drawing(distributions: list[dict[str, int]]) -> None:
    svg = likert_svg(
        [LikertRow(f"Q{i}", d) for i, d in enumerate(distributions)], title="t", labels=LABELS, chart_id="c"
    )
    assert all(0 <= p <= 100 for p in percents(svg))
    bars = bars_svg(
        [Bar(f"Q{i}", d.get("1", 0), sum(d.values())) for i, d in enumerate(distributions)], title="t", chart_id="b"
    )
    assert all(0 <= p <= 100 for p in percents(bars))


@given(st.text(alphabet=st.sampled_from("abcdefghij  éà"), max_size=300))
def test_wrapping_keeps_every_word_and_no_line_is_too_long(text: str) -> None:
    lines = wrap(text)
    assert " ".join(lines).split() == text.split()
    assert all(len(line) <= WRAP or " " not in line for line in lines)


def test_yes_no_bars_show_the_per_cent_n_and_the_interval_as_a_whisker() -> None:
    svg = bars_svg([Bar("Have you applied what you learnt?", 64, 100)], title="Yes", chart_id="y")
    assert "64 % · n=100 · 95 % CI 54–73 %" in texts(svg)
    low, high = wilson_interval(64, 100)
    assert f'x1="{low * 0.97:.2f}%"' in svg and f'x2="{high * 0.97:.2f}%"' in svg


def test_nps_shows_its_score_n_and_every_score_from_0_to_10() -> None:
    svg = nps_svg(
        {"0": 1, "6": 2, "8": 3, "9": 2, "10": 2},
        title="Recommend",
        chart_id="n",
        labels={
            "score": "Net Promoter Score",
            "detractor": "Detractors",
            "passive": "Passives",
            "promoter": "Promoters",
        },
        score=10.0,
    )
    shown = texts(svg)
    assert "Net Promoter Score: +10 · n=10" in shown
    assert all(str(v) in shown for v in range(11))
    assert {"Detractors", "Passives", "Promoters"} <= set(shown)


def test_the_trend_names_each_wave_and_says_when_one_is_suppressed() -> None:
    svg = trend_svg(
        [
            TrendPoint("Workshop A, 2025-12-03", 40, 70.0, [55.0, 82.0]),
            TrendPoint("Workshop B, 2026-12-03", 3, None, None),
        ],
        title="Trend",
        chart_id="t",
    )
    shown = texts(svg)
    assert "Workshop A, 2025-12-03" in shown and "70 % · n=40 · 95 % CI 55–82 %" in shown
    assert "n=3 · suppressed" in shown
    assert len(list(ET.fromstring(svg).iter(f"{NS}circle"))) == 1


@given(st.text(max_size=80))
def test_a_css_string_never_ends_its_string_its_rule_or_its_style_element(text: str) -> None:
    from chalicelib.adapters.renderer import css_string

    made = str(css_string(text))
    inner = made[1:-1]
    assert made.startswith('"') and made.endswith('"')
    assert not any(c in inner for c in "\"'<>&{}\n\r")
    assert "</" not in made

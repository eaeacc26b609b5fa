"""Confidence intervals, NPS, means and percentages as printed in the impact report."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.stats import mean_of, net_promoter_score, percent, wilson_interval

Z = 1.959963984540054


def reference_wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score interval, written independently from the closed form (Newcombe 1998, method 3)."""
    p = k / n
    a = 2 * n * p + Z**2
    b = Z * math.sqrt(Z**2 + 4 * n * p * (1 - p))
    c = 2 * (n + Z**2)
    return (100 * (a - b) / c, 100 * (a + b) / c)


# Values from standard tables (and Newcombe 1998, table II), in per cent.
PUBLISHED = [
    (0, 1, 0.0, 79.3),
    (1, 1, 20.7, 100.0),
    (0, 9, 0.0, 29.9),
    (9, 9, 70.1, 100.0),
    (0, 30, 0.0, 11.4),
    (30, 30, 88.6, 100.0),
    (0, 250, 0.0, 1.5),
    (250, 250, 98.5, 100.0),
    (125, 250, 43.8, 56.2),
    (15, 30, 33.2, 66.8),
    (81, 263, 25.53, 36.62),  # Newcombe 1998: 0.2553-0.3662
    (15, 148, 6.24, 16.05),  # Newcombe 1998: 0.0624-0.1605
    (0, 20, 0.0, 16.11),  # Newcombe 1998: 0-0.1611
    (1, 29, 0.61, 17.18),  # Newcombe 1998: 0.0061-0.1718
]


@pytest.mark.parametrize("k, n, low, high", PUBLISHED)
def test_given_a_published_proportion_when_the_interval_is_computed_then_it_matches_the_table(k, n, low, high):
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=0.1)
    assert got_high == pytest.approx(high, abs=0.1)


@pytest.mark.parametrize("n", [1, 9, 30, 250])
@pytest.mark.parametrize("share", ["none", "half", "all"])
def test_given_n_and_a_share_when_the_interval_is_computed_then_it_matches_an_independent_formula(n, share):
    k = {"none": 0, "half": round(n / 2), "all": n}[share]
    low, high = wilson_interval(k, n)
    ref_low, ref_high = reference_wilson(k, n)
    assert low == pytest.approx(ref_low, abs=0.1)
    assert high == pytest.approx(ref_high, abs=0.1)
    assert 0.0 <= low <= 100 * k / n <= high <= 100.0


def test_given_no_successes_or_all_successes_then_the_outer_bound_is_exactly_0_or_100():
    for n in (1, 7, 30, 250, 10_000):
        assert wilson_interval(0, n)[0] == 0.0
        assert wilson_interval(n, n)[1] == 100.0


def test_given_no_respondents_then_the_interval_is_the_whole_range():
    assert wilson_interval(0, 0) == (0.0, 100.0)


@pytest.mark.parametrize("k, n", [(-1, 10), (11, 10)])
def test_given_more_successes_than_respondents_then_it_refuses(k, n):
    with pytest.raises(ValueError, match="successes must be between 0 and n"):
        wilson_interval(k, n)


def test_given_mirror_image_proportions_then_the_intervals_mirror():
    for k, n in [(3, 17), (40, 250), (1, 9)]:
        low, high = wilson_interval(k, n)
        mirror_low, mirror_high = wilson_interval(n - k, n)
        assert low == pytest.approx(100 - mirror_high, abs=0.11)
        assert high == pytest.approx(100 - mirror_low, abs=0.11)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 5000), data=st.data())
def test_given_any_proportion_then_the_interval_is_ordered_contains_it_and_matches_the_reference(n, data):
    k = data.draw(st.integers(0, n))
    low, high = wilson_interval(k, n)
    ref_low, ref_high = reference_wilson(k, n)
    assert 0.0 <= low <= high <= 100.0
    assert low <= 100 * k / n + 0.05 and 100 * k / n - 0.05 <= high
    assert low == pytest.approx(max(0.0, ref_low), abs=0.051)
    assert high == pytest.approx(min(100.0, ref_high), abs=0.051)


def test_given_a_larger_sample_with_the_same_share_then_the_interval_is_narrower():
    widths = [wilson_interval(n // 2, n) for n in (10, 40, 160, 640)]
    spans = [high - low for low, high in widths]
    assert spans == sorted(spans, reverse=True) and len(set(spans)) == 4


# Net promoter score --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "distribution, expected",
    [
        ({"10": 5, "9": 3, "8": 2, "5": 2, "0": 1}, 38.5),  # 8 promoters, 3 detractors of 13
        ({"9": 1, "10": 1}, 100.0),
        ({str(v): 1 for v in range(7)}, -100.0),
        ({"7": 4, "8": 6}, 0.0),  # passives only
        ({"6": 1, "7": 1, "9": 1, "10": 1}, 25.0),  # 6 is a detractor, 7 and 8 are passive
        ({"10": 1, "6": 1}, 0.0),
    ],
)
def test_given_an_nps_distribution_then_the_score_is_promoters_minus_detractors(distribution, expected):
    assert net_promoter_score(distribution) == expected


def test_given_no_nps_answers_then_there_is_no_score():
    assert net_promoter_score({}) is None
    assert net_promoter_score({str(v): 0 for v in range(11)}) is None


# Means and percentages -----------------------------------------------------------------------------


def test_given_a_rating_distribution_then_the_mean_is_weighted_by_counts_to_two_decimals():
    assert mean_of({"1": 1, "2": 0, "3": 0, "4": 0, "5": 2}) == 3.67
    assert mean_of({"5": 10}) == 5.0
    assert mean_of({"1": 1, "2": 1}) == 1.5


def test_given_no_answers_then_there_is_no_mean():
    assert mean_of({}) is None
    assert mean_of({"1": 0, "5": 0}) is None


@pytest.mark.parametrize(
    "part, whole, expected",
    [(1, 3, 33.3), (2, 3, 66.7), (0, 5, 0.0), (5, 5, 100.0), (18, 33, 54.5), (1, 8, 12.5), (0, 0, None)],
)
def test_given_a_part_and_a_whole_then_the_percentage_has_one_decimal(part, whole, expected):
    assert percent(part, whole) == expected

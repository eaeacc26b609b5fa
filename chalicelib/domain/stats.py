"""Small, exact statistics for survey proportions."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion, as percentages (0-100). n=0 gives (0, 100)."""
    if n <= 0:
        return (0.0, 100.0)
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # At p=0 or p=1 the exact bound is 0 or 1; floating error must not move it.
    if successes == 0:
        low = 0.0
    if successes == n:
        high = 1.0
    return (round(low * 100, 1), round(high * 100, 1))


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def mean_of(distribution: dict[str, int]) -> float | None:
    """Mean of a numeric distribution {"1": count, ...}; None when empty."""
    total = sum(distribution.values())
    if not total:
        return None
    return round(sum(int(value) * count for value, count in distribution.items()) / total, 2)


def net_promoter_score(distribution: dict[str, int]) -> float | None:
    """NPS: per cent promoters (9-10) minus per cent detractors (0-6), from -100 to 100."""
    total = sum(distribution.values())
    if not total:
        return None
    promoters = sum(c for v, c in distribution.items() if int(v) >= 9)
    detractors = sum(c for v, c in distribution.items() if int(v) <= 6)
    return round(100 * (promoters - detractors) / total, 1)

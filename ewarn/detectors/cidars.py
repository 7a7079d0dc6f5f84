"""CIDARS moving-percentile method, China CDC's national temporal model since 2008
(shared/early-warning.md §CIDARS; Zhonghua Liu Xing Bing Xue Za Zhi 2011;32(5)).

S(d) is the count of the last ``window`` days. Its baseline is the same ``window``-day block in each
of the previous ``years`` years together with ``blocks_each_side`` adjacent blocks on each side
(3 × 5 = 15 values by default). The primary texts leave the percentile's interpolation and the
comparison open; we use linear interpolation between order statistics (numpy's "linear", R's
``quantile`` type 7, Excel's PERCENTILE.INC) and a strict ``>``.
"""

from __future__ import annotations

import numpy as np

from ewarn.detectors.base import Detection
from ewarn.detectors.common import as_series, first_index, positive_float, positive_int, unjudged


def cidars_min_history(*, period: int = 365, window: int = 7, years: int = 3, blocks_each_side: int = 2) -> int:
    """Days of series needed before the first judged day, that day included: the oldest block."""
    return years * period + blocks_each_side * window + window


def _window_sums(series: np.ndarray, window: int) -> np.ndarray:
    """S(d) for every d (NaN before a full window, or when a day of the window is missing)."""
    sums = np.full(series.size, np.nan)
    if series.size < window:
        return sums
    missing = np.isnan(series)
    total = np.concatenate(([0.0], np.cumsum(np.where(missing, 0.0, series))))
    gaps = np.concatenate(([0], np.cumsum(missing)))
    complete = (gaps[window:] - gaps[:-window]) == 0
    sums[window - 1 :] = np.where(complete, total[window:] - total[:-window], np.nan)
    return sums


def cidars(
    counts: np.ndarray,
    *,
    period: int = 365,
    window: int = 7,
    years: int = 3,
    blocks_each_side: int = 2,
    percentile: float = 80,
    min_count: float = 1,
    start: int = 0,
) -> Detection:
    """CIDARS moving percentile: alarm if S(d) > P-th percentile of the baseline and S(d) >= min_count.

    ``period`` is the days per year (52 for weekly counts, then ``window=1``). Baseline blocks end at
    d − i·period + j·window for i = 1..years, j = −blocks_each_side..blocks_each_side; a block with a
    missing day is left out, and a day is judged when its whole history exists and at least one
    block remains. statistic = S(d), expected = the baseline median, threshold = the percentile
    (linear interpolation); the alarm also needs S(d) >= ``min_count`` so single cases do not signal.
    """
    series = as_series(counts)
    period = positive_int("period", period)
    window = positive_int("window", window)
    years = positive_int("years", years)
    blocks_each_side = positive_int("blocks_each_side", blocks_each_side, 0)
    percentile = positive_float("percentile", percentile, allow_zero=True)
    if percentile > 100:
        raise ValueError(f"percentile must be within 0..100, not {percentile}")
    min_count = positive_float("min_count", min_count, allow_zero=True)
    if period < (blocks_each_side + 1) * window:
        raise ValueError("period too short: last year's blocks would overlap the current window")

    result = unjudged(series.size)
    history = cidars_min_history(period=period, window=window, years=years, blocks_each_side=blocks_each_side)
    first = max(first_index(start, series.size), history - 1)
    if first >= series.size:
        return result
    sums = _window_sums(series[first - history + 1 :], window)
    # offsets of each baseline block's last day from d, oldest first
    shifts = np.array(
        [i * period - j * window for i in range(years, 0, -1) for j in range(-blocks_each_side, blocks_each_side + 1)]
    )
    days = np.arange(first, series.size)
    local = days - (first - history + 1)
    current = sums[local]
    baseline = sums[local[:, None] - shifts[None, :]]
    judged = ~np.isnan(current) & ~np.all(np.isnan(baseline), axis=1)
    if not judged.any():
        return result
    baseline, current, days = baseline[judged], current[judged], days[judged]
    threshold = np.nanpercentile(baseline, percentile, axis=1, method="linear")
    result.statistic[days] = current
    result.expected[days] = np.nanmedian(baseline, axis=1)
    result.threshold[days] = threshold
    result.alarm[days] = (current > threshold) & (current >= min_count)
    return result

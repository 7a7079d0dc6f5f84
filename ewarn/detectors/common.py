"""What the temporal detectors share: checking the input series and the ``start`` index, and the
"not judged" arrays every day begins with (issue #9).

Missing days are NaN. Every detector leaves a missing day unjudged (its own verdict needs the day's
count) and keeps it out of the baselines of other days; each detector's docstring says what it
does with a gap inside a window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ewarn.detectors.base import Detection


def as_series(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    """The counts as a fresh 1-D float array; NaN marks a missing day, negatives are refused."""
    series = np.array(counts, dtype=float)
    if series.ndim != 1:
        raise ValueError("counts must be a one-dimensional series")
    present = series[~np.isnan(series)]
    if not np.all(np.isfinite(present)) or np.any(present < 0):
        raise ValueError("counts must be finite, non-negative numbers (NaN for a missing day)")
    return series


def first_index(start: int, n: int) -> int:
    """``start`` as a position in a series of length ``n``; negative counts from the end, as in
    Python indexing, so the daily job can ask for ``start=-1`` (the last day)."""
    if not isinstance(start, int | np.integer) or isinstance(start, bool):
        raise ValueError("start must be an integer")
    position = int(start) + n if start < 0 else int(start)
    if not 0 <= position <= n:
        raise ValueError(f"start {start} is outside a series of {n} days")
    return position


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """A parameter that must be an integer of at least ``minimum`` (policy values arrive as JSON)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return int(value)


def positive_float(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A parameter that must be a positive (or non-negative) finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, not {value!r}")
    number = float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, not {value!r}")
    return number


def unjudged(n: int) -> Detection:
    """A detection with no day judged yet; detectors fill in the days they can judge."""
    return Detection(
        statistic=np.full(n, np.nan),
        expected=np.full(n, np.nan),
        threshold=np.full(n, np.nan),
        alarm=np.zeros(n, dtype=bool),
    )

"""The Farrington outbreak detector (Farrington et al., JRSS A 1996) and its improved form (Noufaily
et al., Stat Med 2013;32:1206–1222), as R's ``surveillance::farringtonFlexible`` configures them
(shared/early-warning.md §Farrington).

For each judged period t a quasi-Poisson GLM with a linear trend is fitted to the history:

- reference periods are t − i·freq ± w for i = 1..b (fixed offsets, like R's ``sts`` without
  dates; for daily data t − 365·i ignores leap days);
- with ``no_periods`` > 1 the rest of the history back to the oldest window is used too, each gap
  between windows cut into ``no_periods − 1`` blocks that get a factor level of their own (the
  windows share the last level, which is the one predicted), and the last
  ``past_periods_not_included`` periods before t are left out;
- φ = max(1, Pearson χ²/df); the model is refitted with weights that shrink past outbreaks
  (Anscombe residuals above ``weights_threshold``);
- the trend stays only if b >= 3, its p-value is below ``p_threshold_trend`` and the prediction does
  not exceed the largest count used;
- the threshold U is the (1 − alpha) quantile of a negative binomial with mean μ̂0 and dispersion φ
  ("nbPlugin", Noufaily), or the 2/3-power normal approximation of Farrington 1996 ("delta").
Alarm if y_t > U (strict), unless fewer than ``limit54[0]`` cases arrived in the last ``limit54[1]``
periods, today included (Farrington 1996 §3.8; R applies it in both variants by default).

``alpha`` is one-sided, as in ``farringtonFlexible``. R's older ``algo.farrington`` reads its alpha
as two-sided: its alpha = 0.05 is alpha = 0.025 here.

Where this differs from ``farringtonFlexible`` (each has a test in ewarn/tests/test_reference_r.py):
- after reweighting, farringtonFlexible overwrites the model's working weights with the outbreak
  weights (``model$weights <- omega``), so its later ``summary()`` calls compute a wrong dispersion,
  which then feeds the trend's p-value and Var(η̂0) (the φ it means to give ``predict.glm`` sits in
  ``newdata``, where it is ignored). We use the refitted model's own Pearson dispersion for the
  p-value and the floored φ for Var(η̂0), as Farrington 1996 and R's ``algo.farrington`` do, and
  match ``algo.farrington`` exactly. The Noufaily settings are unaffected (a p-value threshold of 1
  keeps any trend and "nbPlugin" does not use Var(η̂0)); the "delta" and "muan" bounds are;
- on days silenced by ``limit54`` we still report U and μ̂0 (R reports NA) and do not alarm;
- statistic is the exceedance score (y − μ̂0)/(U − μ̂0) for every method; R computes the "nbPlugin"
  score on the log scale, (y − log μ̂0)/(U − log μ̂0). Both exceed 1 exactly when y > U.

A model that converges neither with nor without trend (R's glm.fit criterion; e.g. a history of
zeros) leaves the day unjudged, as R gives NA there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats

from ewarn.detectors.base import Detection
from ewarn.detectors.common import as_series, first_index, positive_float, positive_int, unjudged
from ewarn.detectors.glm import Design, QuasiPoissonFit, fit_quasi_poisson

THRESHOLD_METHODS = ("nbPlugin", "delta", "muan")
POWER_TRANSFORMS = {"2/3": 2 / 3, "1/2": 1 / 2, "none": 1.0}
CHUNK_DAYS = 128  # days fitted together; bounds memory on long daily series

# Farrington 1996 as farringtonFlexible spells it (pass as parameters; alpha stays one-sided)
ORIGINAL_SETTINGS = {
    "no_periods": 1,
    "weights_threshold": 1.0,
    "past_periods_not_included": None,
    "threshold_method": "delta",
    "p_threshold_trend": 0.05,
}


def farrington_min_history(*, freq: int = 52, b: int = 5) -> int:
    """Periods of series needed, the judged one included: the oldest reference period t − b·freq
    must exist (a window reaching before the series' start is used with the days it has)."""
    return freq * b + 1


@dataclass(frozen=True)
class _Layout:
    """The rows of one day's GLM, as distances from the judged period; the same for every day."""

    offsets: np.ndarray  # (n,) ints < 0
    with_trend: Design  # (n, 1 + levels): trend in years, then one column per level
    without_trend: Design  # (n, levels)


@lru_cache(maxsize=32)
def _layout(freq: int, b: int, w: int, no_periods: int, past: int) -> _Layout:
    """Rows and factor levels as R's ``blocks()`` lays them out for a series without dates."""
    span = freq * b + w
    level = np.zeros(span + 1, dtype=int)  # index span is the judged period

    def assign(first: int, last: int, value: int) -> None:
        level[span + first : span + last + 1] = value

    assign(-w, 0, no_periods)
    for i in range(1, b + 1):
        reference, newer = -freq * i, -freq * (i - 1)
        assign(reference - w, reference + w, no_periods)
        if no_periods > 1:
            gap = newer - w - 1 - (reference + w)
            size, rest = divmod(gap, no_periods - 1)
            position = reference + w + 1
            for block in range(1, no_periods):
                length = size + (block <= rest)
                assign(position, position + length - 1, block)
                position += length
    level[span - past :] = 0
    rows = np.flatnonzero(level)
    levels = level[rows]
    indicators = (levels[:, None] == np.unique(levels)[None, :]).astype(float)
    offsets = rows - span
    trend = (offsets / freq)[:, None]
    return _Layout(offsets, Design(np.hstack([trend, indicators])), Design(indicators))


def _fit(
    design: Design, y: np.ndarray, prior: np.ndarray, offset: np.ndarray, weights_threshold: float | None
) -> tuple[QuasiPoissonFit, np.ndarray, np.ndarray]:
    """R's ``algo.farrington.fitGLM.flexible`` without its fallback: fit, then (if reweighting)
    refit with weights γ·s⁻² for Anscombe residuals s above the threshold, γ keeping their mean 1.

    Returns the final fit, its φ (floored at 1) and whether the first fit converged."""
    first = fit_quasi_poisson(design, y, prior, offset)
    if weights_threshold is None:
        return first, np.maximum(first.dispersion, 1.0), first.converged
    phi = np.maximum(first.dispersion, 1.0)
    present = prior > 0
    counts = np.where(present, y, 0.0)
    mu = first.fitted
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        residual = 1.5 * (counts ** (2 / 3) * mu ** (-1 / 6) - np.sqrt(mu))
        residual /= np.sqrt(phi[:, None] * (1.0 - first.hat_values(design)))
        down = present & (residual > weights_threshold)
        inverse = np.where(down, residual**-2.0, 1.0)
        gamma = present.sum(axis=1) / np.sum(np.where(present, inverse, 0.0), axis=1)
    omega = np.where(present, gamma[:, None] * inverse, 0.0)
    second = fit_quasi_poisson(design, y, np.nan_to_num(omega), offset)
    return second, np.maximum(second.dispersion, 1.0), first.converged & second.valid


def _predict(fit: QuasiPoissonFit, x0: np.ndarray, offset0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """η̂0 and xᵀ(XᵀWX)⁻¹x (the unscaled variance of η̂0) at the judged period."""
    eta = fit.coefficients @ x0 + offset0
    return eta, np.einsum("q,dqr,r->d", x0, fit.cov_unscaled, x0)


def _nb_quantile(q: float, mean: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """The q-quantile of a count with this mean and variance φ·mean: negative binomial with size
    mean/(φ − 1) and prob 1/φ, Poisson when φ = 1 (R's ``qnbinom`` / ``qpois``)."""
    result = np.full(mean.shape, np.nan)
    finite = np.isfinite(mean) & np.isfinite(phi)
    over = finite & (phi > 1)
    flat = finite & ~over
    result[over] = stats.nbinom.ppf(q, mean[over] / (phi[over] - 1.0), 1.0 / phi[over])
    result[flat] = stats.poisson.ppf(q, mean[flat])
    return result


def _upper_bound(
    eta0: np.ndarray, var_eta: np.ndarray, phi: np.ndarray, *, alpha: float, method: str, power: float
) -> np.ndarray:
    """U from the fitted mean and dispersion (threshold methods of farringtonFlexible)."""
    z = special.ndtri(1.0 - alpha)
    mu0 = np.exp(eta0)
    if method == "nbPlugin":
        return _nb_quantile(1.0 - alpha, mu0, phi)
    if method == "muan":
        return _nb_quantile(1.0 - alpha, np.exp(eta0 + z * np.sqrt(var_eta)), phi)
    tau = phi + mu0 * var_eta  # φ + Var(μ̂0)/μ̂0 with Var(μ̂0) = μ̂0²·Var(η̂0)
    se = np.sqrt(power**2 * mu0 ** (2 * power - 1) * tau)  # SD of y^power by the delta method
    return (mu0**power + z * se) ** (1 / power)


def _check(
    *,
    freq,
    b,
    w,
    no_periods,
    past_periods_not_included,
    weights_threshold,
    alpha,
    threshold_method,
    p_threshold_trend,
    trend,
    reweight,
    limit54,
    powertrans,
) -> dict:
    """Parameters as the algorithm uses them; a clear ValueError for a bad policy value."""
    freq, b = positive_int("freq", freq, 2), positive_int("b", b)
    w, no_periods = positive_int("w", w, 0), positive_int("no_periods", no_periods)
    past = (
        w
        if past_periods_not_included is None
        else positive_int("past_periods_not_included", past_periods_not_included, 0)
    )
    if freq <= 2 * w:
        raise ValueError(f"w={w} windows overlap with freq={freq}")
    if no_periods > 1 and freq - 2 * w - 1 < no_periods - 1:
        raise ValueError(f"no_periods={no_periods} is more blocks than the {freq - 2 * w - 1} periods between windows")
    alpha = positive_float("alpha", alpha)
    if alpha >= 0.5:
        raise ValueError(f"alpha is a one-sided tail probability below 0.5, not {alpha}")
    if threshold_method not in THRESHOLD_METHODS:
        raise ValueError(f"threshold_method must be one of {', '.join(THRESHOLD_METHODS)}, not {threshold_method!r}")
    if powertrans not in POWER_TRANSFORMS:
        raise ValueError(f"powertrans must be one of {', '.join(POWER_TRANSFORMS)}, not {powertrans!r}")
    p_threshold_trend = positive_float("p_threshold_trend", p_threshold_trend, allow_zero=True)
    for name, flag in (("trend", trend), ("reweight", reweight)):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"{name} must be true or false, not {flag!r}")
    if limit54 is not None:
        if not isinstance(limit54, Sequence) or len(limit54) != 2:
            raise ValueError("limit54 must be (cases, periods) or None")
        limit54 = (
            positive_float("limit54 cases", limit54[0], allow_zero=True),
            positive_int("limit54 periods", limit54[1]),
        )
    return {
        "freq": freq,
        "b": b,
        "w": w,
        "no_periods": no_periods,
        "past": past,
        "weights_threshold": positive_float("weights_threshold", weights_threshold) if reweight else None,
        "alpha": alpha,
        "method": threshold_method,
        "p_threshold_trend": p_threshold_trend,
        "trend": bool(trend),
        "limit54": limit54,
        "power": POWER_TRANSFORMS[powertrans],
    }


def _judge(
    series: np.ndarray, log_population: np.ndarray | None, days: np.ndarray, p: dict
) -> tuple[np.ndarray, np.ndarray]:
    """μ̂0 and U for a batch of days; NaN where the model cannot be fitted (R gives NA there)."""
    layout = _layout(p["freq"], p["b"], p["w"], p["no_periods"], p["past"])
    index = days[:, None] + layout.offsets[None, :]
    inside = index >= 0
    y = np.where(inside, series[np.where(inside, index, 0)], np.nan)
    prior = (~np.isnan(y)).astype(float)
    if log_population is None:
        offset, offset0 = np.zeros_like(y), np.zeros(days.size)
    else:
        offset = np.where(prior > 0, log_population[np.where(inside, index, 0)], 0.0)
        offset0 = log_population[days]
    n_levels = layout.without_trend.matrix.shape[1]
    largest = np.nanmax(np.where(prior > 0, y, -np.inf), axis=1)

    eta0, var_eta, phi = (np.full(days.size, np.nan) for _ in range(3))
    refit = np.ones(days.size, dtype=bool)
    if p["trend"]:
        fit, phi_t, ok = _fit(layout.with_trend, y, prior, offset, p["weights_threshold"])
        x0 = np.zeros(n_levels + 1)
        x0[-1] = 1.0
        eta_t, var_t = _predict(fit, x0, offset0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_value = fit.coefficients[:, 0] / np.sqrt(fit.dispersion * fit.cov_unscaled[:, 0, 0])
            p_value = 2.0 * special.stdtr(fit.df_residual, -np.abs(t_value))
        keep = ok & (p["b"] >= 3) & (p_value < p["p_threshold_trend"]) & (np.exp(eta_t) <= largest)
        eta0[keep], var_eta[keep], phi[keep] = eta_t[keep], var_t[keep], phi_t[keep]
        refit = ~keep
    if refit.any():
        sub = np.flatnonzero(refit)
        fit, phi_f, ok = _fit(layout.without_trend, y[sub], prior[sub], offset[sub], p["weights_threshold"])
        x0 = np.zeros(n_levels)
        x0[-1] = 1.0
        eta_f, var_f = _predict(fit, x0, offset0[sub])
        good = sub[ok]
        eta0[good], var_eta[good], phi[good] = eta_f[ok], var_f[ok], phi_f[ok]
    var_eta *= phi
    with np.errstate(over="ignore", invalid="ignore"):  # an infinite mean gives no bound, as in R
        upper = _upper_bound(eta0, var_eta, phi, alpha=p["alpha"], method=p["method"], power=p["power"])
    return np.exp(eta0), upper


def farrington_flexible(
    counts: np.ndarray,
    *,
    freq: int = 52,
    b: int = 5,
    w: int = 3,
    no_periods: int = 10,
    past_periods_not_included: int | None = 26,
    weights_threshold: float = 2.58,
    alpha: float = 0.01,
    threshold_method: str = "nbPlugin",
    p_threshold_trend: float = 1.0,
    trend: bool = True,
    reweight: bool = True,
    limit54: Sequence[float] | None = (5, 4),
    powertrans: str = "2/3",
    population: np.ndarray | None = None,
    start: int = 0,
) -> Detection:
    """Improved Farrington (Noufaily 2013) by default; alarm if y_t > U (strict).

    Defaults are farringtonFlexible's Noufaily configuration with b = 5 and a one-sided alpha of
    0.01; ``ORIGINAL_SETTINGS`` gives Farrington 1996 (``past_periods_not_included=None`` means
    ``w``, R's default). ``freq`` is the periods per year (365 for daily counts); ``population``
    adds a log-population offset. statistic = (y − μ̂0)/(U − μ̂0), expected = μ̂0, threshold = U.
    Days whose model converges neither with nor without trend are not judged, as in R.
    """
    series = as_series(counts)
    params = _check(
        freq=freq,
        b=b,
        w=w,
        no_periods=no_periods,
        past_periods_not_included=past_periods_not_included,
        weights_threshold=weights_threshold,
        alpha=alpha,
        threshold_method=threshold_method,
        p_threshold_trend=p_threshold_trend,
        trend=trend,
        reweight=reweight,
        limit54=limit54,
        powertrans=powertrans,
    )
    log_population = None
    if population is not None:
        population = np.asarray(population, dtype=float)
        if population.shape != series.shape or not np.all(population > 0):
            raise ValueError("population must be positive and as long as counts")
        log_population = np.log(population)

    result = unjudged(series.size)
    # cases up to and including each period, for limit54's "last periods" sums
    cumulative = np.concatenate(([0.0], np.cumsum(np.nan_to_num(series))))
    first = max(first_index(start, series.size), farrington_min_history(freq=params["freq"], b=params["b"]) - 1)
    days = np.arange(first, series.size)
    days = days[~np.isnan(series[days])]
    for chunk in np.array_split(days, max(1, -(-days.size // CHUNK_DAYS))):
        if chunk.size == 0:
            continue
        expected, upper = _judge(series, log_population, chunk, params)
        judged = ~np.isnan(upper)
        chunk, upper, expected = chunk[judged], upper[judged], expected[judged]
        observed = series[chunk]
        with np.errstate(divide="ignore", invalid="ignore"):
            result.statistic[chunk] = (observed - expected) / (upper - expected)
        result.expected[chunk] = expected
        result.threshold[chunk] = upper
        alarm = observed > upper
        if params["limit54"] is not None:
            cases, periods = params["limit54"]
            alarm &= cumulative[chunk + 1] - cumulative[np.maximum(chunk + 1 - periods, 0)] >= cases
        result.alarm[chunk] = alarm
    return result

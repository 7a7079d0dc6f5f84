"""Simulated surveillance series with known outbreaks, after Noufaily et al. (Stat Med 2013;32:1206–1222).

Baseline counts are negative binomial with mean
μ(t) = exp(θ + βt + Σ_{j=1..m} (γ1 cos(2πjt/P) + γ2 sin(2πjt/P))), t = 1, 2, … and variance φμ
(Poisson when φ = 1). Each series carries four past outbreaks in the five years before the
evaluation period and one current outbreak starting in it; an outbreak starting at t0 has
Poisson(k · √(φ μ(t0))) cases (k times the baseline SD at its start), each case at t0 + ⌊X⌋ with
X ~ log-normal(0, 0.5) (at most 20 periods later).

What is ours, not the paper's (shared/early-warning.md asks to say so):

* The 42 scenarios are 7 parameter groups (θ, β, γ1, γ2, φ) × trend (β or 0) × seasonality
  (m = 0, 1, 2). The group values are those public replications of the study use for its Table 1;
  they were not checked against the paper itself, and the numbering is ours.
* k: past outbreaks draw k uniformly from 2..10, the current one from 1..10 (parameters).
* Past outbreaks start uniformly in the five years before the evaluation period, ending early
  enough that none reaches it; the current one starts uniformly in the evaluation period and is
  cut at the series' end.
* The daily design is the same with period P = 365: five years of history and 90 evaluation days,
  β scaled by 52/365 so that the trend per year is the weekly one, θ and the outbreak rule kept in
  the series' own unit (a day), so an outbreak spreads over a few days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_SPREAD = 20  # periods after its start within which an outbreak's cases fall


@dataclass(frozen=True)
class Scenario:
    """One baseline: the parameters of μ(t) and the dispersion φ."""

    number: int
    theta: float
    beta: float
    gamma1: float
    gamma2: float
    m: int
    phi: float

    def mean(self, t: np.ndarray, period: int, trend_scale: float = 1.0) -> np.ndarray:
        """μ(t) for periods ``t`` (1-based) of a year of ``period`` periods."""
        season = sum(
            self.gamma1 * np.cos(2 * np.pi * j * t / period) + self.gamma2 * np.sin(2 * np.pi * j * t / period)
            for j in range(1, self.m + 1)
        )
        return np.exp(self.theta + self.beta * trend_scale * t + season)


# θ, β, γ1, γ2, φ of the seven groups (see the module docstring on where they come from).
_GROUPS = (
    (0.1, 0.0025, 0.6, 0.6, 1.5),
    (-2.0, 0.005, 0.1, 0.3, 2.0),
    (1.5, 0.003, 0.2, -0.4, 1.0),
    (0.5, 0.002, 0.5, 0.5, 5.0),
    (2.5, 0.001, 1.0, 0.1, 3.0),
    (3.75, 0.001, 0.1, -0.1, 1.1),
    (5.0, 0.0001, 0.05, 0.01, 1.2),
)

SCENARIOS: dict[int, Scenario] = {
    number: Scenario(number, theta, beta if trend else 0.0, gamma1 if m else 0.0, gamma2 if m else 0.0, m, phi)
    for number, (theta, beta, gamma1, gamma2, phi, trend, m) in enumerate(
        ((*group, trend, m) for group in _GROUPS for trend in (False, True) for m in (0, 1, 2)), start=1
    )
}


@dataclass(frozen=True)
class Design:
    """How long a series is and where its evaluation period lies, in its own periods."""

    frequency: str
    period: int  # periods per year
    length: int
    evaluation: int  # the last ``evaluation`` periods are judged
    trend_scale: float  # multiplies β, so the yearly trend matches the weekly design

    @property
    def evaluation_start(self) -> int:
        return self.length - self.evaluation

    @property
    def past_window(self) -> tuple[int, int]:
        """Where past outbreaks may start: the five years before evaluation, none reaching it."""
        return max(0, self.evaluation_start - 5 * self.period), self.evaluation_start - MAX_SPREAD


DESIGNS: dict[str, Design] = {
    "weekly": Design("weekly", period=52, length=624, evaluation=49, trend_scale=1.0),
    "daily": Design("daily", period=365, length=5 * 365 + 90, evaluation=90, trend_scale=52 / 365),
}


@dataclass(frozen=True)
class SimulatedSet:
    """``replicates`` series of one scenario, with every outbreak case kept apart from the baseline.

    Arrays are [replicates, length] unless noted; indices are 0-based (period t = index + 1).
    """

    scenario: Scenario
    design: Design
    mean: np.ndarray  # [length] μ(t)
    baseline: np.ndarray
    past: np.ndarray  # cases of the past outbreaks
    current: np.ndarray  # cases of the current outbreak
    past_starts: np.ndarray  # [replicates, outbreaks]
    past_sizes: np.ndarray  # [replicates, outbreaks]
    current_start: np.ndarray  # [replicates]
    current_size: np.ndarray  # [replicates] cases drawn (some may fall after the series' end)
    current_k: np.ndarray  # [replicates]

    @property
    def counts(self) -> np.ndarray:
        return self.baseline + self.past + self.current

    @property
    def evaluation_start(self) -> int:
        return self.design.evaluation_start


def draw_baseline(mean: np.ndarray, phi: float, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Negative-binomial counts with mean ``mean`` and variance φ·mean: size μ/(φ−1), p = 1/φ."""
    if phi <= 1:
        return rng.poisson(mean, (replicates, mean.size))
    return rng.negative_binomial(mean / (phi - 1), 1 / phi, (replicates, mean.size))


def add_outbreaks(starts: np.ndarray, sizes: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """[replicates, length] cases of outbreaks starting at ``starts`` [replicates, n] with ``sizes``
    cases each, spread by ⌊log-normal(0, 0.5)⌋ periods; cases after the series' end are dropped."""
    replicates = starts.shape[0]
    row = np.repeat(np.arange(replicates)[:, None], starts.shape[1], axis=1).ravel()
    case_row = np.repeat(row, sizes.ravel())
    offset = np.minimum(np.floor(rng.lognormal(0.0, 0.5, case_row.size)), MAX_SPREAD).astype(np.int64)
    when = np.repeat(starts.ravel(), sizes.ravel()) + offset
    inside = when < length
    cells = case_row[inside] * length + when[inside]
    return np.bincount(cells, minlength=replicates * length).reshape(replicates, length)


def simulate_noufaily(
    scenario: int | Scenario,
    *,
    replicates: int,
    seed: int | np.random.SeedSequence | None,
    frequency: str = "weekly",
    past_outbreaks: int = 4,
    past_k: Sequence[int] = tuple(range(2, 11)),
    current_k: Sequence[int] = tuple(range(1, 11)),
) -> SimulatedSet:
    """``replicates`` series of ``scenario`` (a number of SCENARIOS or a Scenario) with their outbreaks.

    Deterministic for a given seed; ``frequency`` is "weekly" (624 weeks, weeks 576–624 judged) or
    "daily" (DESIGNS). Vectorised over replicates: one draw per array, no loop over series.
    """
    scenario = SCENARIOS[scenario] if isinstance(scenario, int) else scenario
    design = DESIGNS[frequency]
    rng = np.random.default_rng(seed)
    t = np.arange(1, design.length + 1)
    mean = scenario.mean(t, design.period, design.trend_scale)
    sd = np.sqrt(scenario.phi * mean)
    baseline = draw_baseline(mean, scenario.phi, replicates, rng)

    low, high = design.past_window
    past_starts = rng.integers(low, high, (replicates, past_outbreaks))
    past_sizes = rng.poisson(rng.choice(np.asarray(past_k), past_starts.shape) * sd[past_starts])
    current_start = rng.integers(design.evaluation_start, design.length, replicates)
    k = rng.choice(np.asarray(current_k), replicates)
    current_size = rng.poisson(k * sd[current_start])
    return SimulatedSet(
        scenario=scenario,
        design=design,
        mean=mean,
        baseline=baseline,
        past=add_outbreaks(past_starts, past_sizes, design.length, rng),
        current=add_outbreaks(current_start[:, None], current_size[:, None], design.length, rng),
        past_starts=past_starts,
        past_sizes=past_sizes,
        current_start=current_start,
        current_size=current_size,
        current_k=k,
    )

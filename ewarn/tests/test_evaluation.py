"""The evaluation harness (ewarn.evaluation): the simulator's distributions, where outbreaks land, the
metrics on a hand-made example, and the report's table and plot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ewarn.detectors.base import Detection
from ewarn.evaluation import DESIGNS, SCENARIOS, Tally, evaluate, score, simulate_noufaily
from ewarn.evaluation.simulation import MAX_SPREAD, Scenario


def normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def above_limit(name, counts, params, start):
    """A stand-in detector: alarm on every judged period whose count exceeds ``limit``."""
    alarm = np.zeros(counts.size, dtype=bool)
    alarm[start:] = counts[start:] > params["limit"]
    threshold = np.full(counts.size, np.nan)
    threshold[start:] = params["limit"]
    return Detection(statistic=counts.copy(), expected=threshold.copy(), threshold=threshold, alarm=alarm)


def test_the_42_scenarios_cover_levels_trends_seasons_and_dispersions():
    scenarios = list(SCENARIOS.values())
    assert len(scenarios) == 42
    assert len({(s.theta, s.beta, s.gamma1, s.gamma2, s.m, s.phi) for s in scenarios}) == 42
    assert sorted({s.m for s in scenarios}) == [0, 1, 2]
    assert sum(s.beta != 0 for s in scenarios) == 21
    assert {s.phi for s in scenarios} >= {1.0, 1.5, 2.0, 3.0, 5.0}
    assert all(s.gamma1 == s.gamma2 == 0 for s in scenarios if s.m == 0)


@pytest.mark.parametrize("phi", [1.0, 1.5, 5.0])
def test_baseline_has_the_requested_mean_and_variance(phi):
    seasonal = Scenario(0, theta=1.0, beta=0.002, gamma1=0.6, gamma2=0.3, m=2, phi=phi)
    simulated = simulate_noufaily(seasonal, replicates=1500, seed=1)
    t = np.arange(1, 625)
    assert np.allclose(simulated.mean, seasonal.mean(t, 52))
    mean = simulated.baseline.mean(axis=0)
    variance = simulated.baseline.var(axis=0, ddof=1)
    # Pooled over the 624 weeks: the ratio of observed to requested moments is 1 within sampling error.
    assert np.mean(mean / simulated.mean) == pytest.approx(1.0, abs=0.01)
    assert np.mean(variance / (phi * simulated.mean)) == pytest.approx(1.0, abs=0.02)
    # And week by week the mean follows the season: correlation with μ(t) near 1.
    assert np.corrcoef(mean, simulated.mean)[0, 1] > 0.99


def test_daily_design_keeps_the_yearly_trend_and_the_period():
    scenario = SCENARIOS[4]  # θ = 0.1 with trend, no season
    assert scenario.beta > 0 and scenario.m == 0
    daily = DESIGNS["daily"]
    five_years_daily = scenario.mean(np.array([1.0, 1 + 5 * 365]), daily.period, daily.trend_scale)
    five_years_weekly = scenario.mean(np.array([1.0, 1 + 5 * 52]), 52)
    assert five_years_daily[1] / five_years_daily[0] == pytest.approx(five_years_weekly[1] / five_years_weekly[0])
    seasonal = SCENARIOS[3]  # m = 2
    yearly = seasonal.mean(np.arange(1, 800, dtype=float), 365)
    assert yearly[:365] == pytest.approx(yearly[365:730])


def test_outbreaks_land_where_reported():
    simulated = simulate_noufaily(SCENARIOS[13], replicates=200, seed=3)  # θ = 1.5, φ = 1
    start = simulated.evaluation_start
    low, high = simulated.design.past_window
    assert start == 575 and (low, high) == (315, 555)  # weeks 576–624 judged; past ones in the 5 years before
    assert ((simulated.past_starts >= low) & (simulated.past_starts < high)).all()
    assert ((simulated.current_start >= start) & (simulated.current_start < 624)).all()
    for r in range(200):
        past_weeks = np.flatnonzero(simulated.past[r])
        reach = [(s, s + MAX_SPREAD) for s in simulated.past_starts[r]]
        assert all(any(a <= w <= b for a, b in reach) for w in past_weeks)
        assert simulated.past[r].sum() == simulated.past_sizes[r].sum()  # none reaches the evaluation period
        assert simulated.past[r, start:].sum() == 0
        current_weeks = np.flatnonzero(simulated.current[r])
        assert (current_weeks >= simulated.current_start[r]).all()
        assert (current_weeks <= simulated.current_start[r] + MAX_SPREAD).all()
        assert simulated.current[r].sum() <= simulated.current_size[r]  # cut at the series' end
    assert (simulated.counts == simulated.baseline + simulated.past + simulated.current).all()


def test_outbreak_sizes_and_spread_follow_the_design():
    flat = Scenario(0, theta=2.0, beta=0.0, gamma1=0.0, gamma2=0.0, m=0, phi=3.0)
    simulated = simulate_noufaily(flat, replicates=4000, seed=5, current_k=(4,))
    sd = math.sqrt(3.0 * math.exp(2.0))
    assert (simulated.current_k == 4).all()
    # Poisson(k · SD): mean and variance both 4 · SD.
    assert simulated.current_size.mean() == pytest.approx(4 * sd, rel=0.02)
    assert simulated.current_size.var() == pytest.approx(4 * sd, rel=0.08)
    # Past outbreaks draw k from 2..10: mean size 6 · SD.
    assert simulated.past_sizes.mean() == pytest.approx(6 * sd, rel=0.02)
    # Spread: ⌊log-normal(0, 0.5)⌋ periods after the start (current outbreaks not cut at the end).
    whole = simulated.current_start + MAX_SPREAD < 624
    offsets = np.concatenate(
        [
            np.repeat(np.arange(MAX_SPREAD + 1), row[s : s + MAX_SPREAD + 1])
            for row, s in zip(simulated.current[whole], simulated.current_start[whole], strict=True)
        ]
    )
    share = np.bincount(offsets, minlength=3)[:3] / offsets.size
    expected = [0.5, normal_cdf(math.log(2) / 0.5) - 0.5, normal_cdf(math.log(3) / 0.5) - normal_cdf(math.log(2) / 0.5)]
    assert share == pytest.approx(expected, abs=0.02)


def test_same_seed_same_series():
    one = simulate_noufaily(7, replicates=3, seed=42, frequency="daily")
    two = simulate_noufaily(7, replicates=3, seed=42, frequency="daily")
    assert (one.counts == two.counts).all()
    assert one.counts.shape == (3, 5 * 365 + 90)


def test_metrics_on_a_hand_made_example():
    # Three series over five periods; outbreak periods marked with cases.
    outbreak = np.array(
        [
            [0, 2, 3, 0, 0],  # outbreak in periods 1-2
            [0, 0, 0, 0, 1],  # outbreak in period 4 only
            [0, 0, 0, 0, 0],  # no outbreak
        ]
    )
    alarm = np.array(
        [
            [1, 0, 1, 0, 0],  # a false alarm at 0, detects at period 2: delay 1
            [0, 0, 0, 0, 0],  # misses
            [0, 1, 0, 0, 1],  # two false alarms
        ],
        dtype=bool,
    )
    tally = score(alarm, outbreak)
    assert tally.series == 3
    assert tally.quiet_periods == 12 and tally.false_alarms == 3
    assert tally.false_positive_rate == pytest.approx(3 / 12)
    assert tally.specificity == pytest.approx(9 / 12)
    assert tally.outbreaks == 2 and tally.detected == 1
    assert tally.probability_of_detection == pytest.approx(0.5)
    assert tally.outbreak_periods == 3 and tally.alarmed_outbreak_periods == 1
    assert tally.sensitivity == pytest.approx(1 / 3)
    assert tally.delays == [1]
    assert tally.median_delay == 1.0
    both = tally + score(alarm[:1], outbreak[:1])
    assert both.series == 4 and both.delays == [1, 1] and both.detected == 2
    assert math.isnan(Tally().probability_of_detection) and math.isnan(Tally().median_delay)


def test_evaluate_scores_what_the_detector_alarms_in_the_evaluation_period():
    report = evaluate(
        {"above": {"limit": 6}},
        scenarios=(13,),
        replicates=5,
        seed=9,
        frequency="weekly",
        scan_replicates=0,
        workers=1,
        runner=above_limit,
    )
    (row,) = report.rows
    simulated = simulate_noufaily(13, replicates=5, seed=np.random.SeedSequence(9, spawn_key=(0, 13)))
    judged = simulated.counts[:, 575:]
    expected = score(judged > 6, simulated.current[:, 575:])
    assert row.tally == expected
    assert row.series == 5 and row.frequency == "weekly"


def test_the_agreement_row_alarms_when_enough_detectors_agree():
    """The daily job's ewarn_min_detectors rule, scored on the same series as its detectors."""
    report = evaluate(
        {"low": {"limit": 4}, "high": {"limit": 8}},
        scenarios=(13,),
        replicates=5,
        seed=9,
        frequency="weekly",
        scan_replicates=0,
        workers=1,
        runner=above_limit,
        agreement=(["low", "high"], 2),
    )
    rows = {row.detector: row.tally for row in report.rows}
    simulated = simulate_noufaily(13, replicates=5, seed=np.random.SeedSequence(9, spawn_key=(0, 13)))
    judged = simulated.counts[:, 575:]
    assert rows["agreement"] == score(judged > 8, simulated.current[:, 575:])  # both agree only above 8
    assert rows["agreement"] == rows["high"]


def test_quick_evaluation_of_the_registered_detectors_with_table_and_plot(tmp_path):
    report = evaluate(quick=True, scenarios=(9, 40), replicates=2, scan_replicates=2, workers=1)
    rows = {(row.frequency, row.detector) for row in report.rows}
    assert rows == {
        *(
            (f, d)
            for f in ("weekly", "daily")
            for d in ("cidars", "ears_c1", "ears_c2", "ears_c3", "cusum", "farrington")
        ),
        ("spatial", "scan"),
    }
    for row in report.rows:
        assert 0 <= row.false_positive_rate <= 1 and row.series > 0
    table = report.table()
    assert "EARS C1" in table and "60.1 / 97.0 / 1.12" in table and "92.7 / 95.0 / 2.1" in table
    assert "0.7–59.9" in table and "43.3–88.7" in table
    path = report.save_plot(tmp_path / "evaluation.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plain = json.loads(json.dumps(report.as_dict()))
    assert plain["frequency"] == "both" and len(plain["rows"]) == len(report.rows)
    ears = next(r for r in plain["rows"] if r["detector"] == "ears_c1" and r["frequency"] == "daily")
    assert ears["published"]["sensitivity"] == 60.1 and 0 <= ears["sensitivity"] <= 1


def test_weekly_only_leaves_out_the_daily_scan():
    report = evaluate(scenarios=(40,), replicates=1, frequency="weekly", workers=1)
    assert {row.frequency for row in report.rows} == {"weekly"}
    assert report.frequency == "weekly"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="frequency"):
        evaluate(frequency="monthly")
    with pytest.raises(ValueError, match="scenario"):
        evaluate(scenarios=(43,))

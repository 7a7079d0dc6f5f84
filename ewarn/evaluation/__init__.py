"""Evaluation harness of the early-warning detectors (issue #9): simulated series with known
outbreaks (Noufaily et al. 2013 design), detection metrics, and a report with the published
figures beside ours. ``linli ewarn evaluate`` calls :func:`evaluate`."""

from ewarn.evaluation.harness import QUICK_REPLICATES, QUICK_SCENARIOS, evaluate
from ewarn.evaluation.metrics import Tally, score
from ewarn.evaluation.report import PUBLISHED, EvaluationReport, EvaluationRow
from ewarn.evaluation.simulation import DESIGNS, SCENARIOS, Scenario, SimulatedSet, simulate_noufaily
from ewarn.evaluation.spatial import evaluate_scan

__all__ = [
    "DESIGNS",
    "PUBLISHED",
    "QUICK_REPLICATES",
    "QUICK_SCENARIOS",
    "SCENARIOS",
    "EvaluationReport",
    "EvaluationRow",
    "Scenario",
    "SimulatedSet",
    "Tally",
    "evaluate",
    "evaluate_scan",
    "score",
    "simulate_noufaily",
]

"""Benchmark: dispatch planning (issue #8) — PyVRP and OR-Tools against the greedy baseline.

    .venv/bin/python benchmarks/bench_dispatch.py [--transfers 500] [--vehicles 60] [--destinations 40]
        [--seconds 10] [--factor 10] [--seed 0] [--no-long] [--json-out FILE]

No database: the pure planning functions (dispatch.planning) on a seeded synthetic instance
(dispatch.synth.problem): ``--transfers`` people waiting in a Wuhan-sized box (lat 30.4–30.8,
lon 114.0–114.6), categories in the proportions of dispatch.synth.CATEGORY_SHARES (close contacts
55 %, confirmed 20 % of which a fifth severe or critical, fever 12 %, suspected 8 %, asymptomatic
5 %), waiting 0–60 minutes; ``--vehicles`` ambulances, negative-pressure ambulances and buses at 13
district bases; ``--destinations`` facilities of four kinds with a few free beds each, so some fill
and a few people get no destination.

For each solver: the plan time (target ≤ 30 s) with ``--seconds`` of search, total vehicle-km, the
longest wait (waiting since → planned pick-up), violations of the rules (dispatch.planning.check_plan,
must be 0); the greedy baseline (nearest free bed, nearest available vehicle, one person a ride) in
the same run (target: ≥ 15 % fewer vehicle-km and a shorter longest wait); and each solver given
``--factor`` × the time, the gap of the default run to that result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_s, print_table, write_json

from dispatch import planning, synth
from dispatch.planning import PlanParams


def _row(name: str, plan: planning.Plan, greedy: planning.Plan | None) -> dict:
    summary = plan.summary()
    summary["violations"] = len(planning.check_plan(plan))
    if greedy is not None and greedy.km:
        summary["km_vs_greedy_pct"] = round(100 * (plan.km - greedy.km) / greedy.km, 1)
        summary["wait_vs_greedy_min"] = round((plan.longest_wait_s - greedy.longest_wait_s) / 60, 1)
    summary["name"] = name
    return summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transfers", type=int, default=500)
    p.add_argument("--vehicles", type=int, default=60)
    p.add_argument("--destinations", type=int, default=40)
    p.add_argument("--seconds", type=float, default=10.0, help="solver time (policy dispatch_plan_seconds)")
    p.add_argument("--factor", type=float, default=10.0, help="the long runs get this many times the time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-long", action="store_true", help="skip the long runs")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args()

    params = PlanParams(seconds=args.seconds, seed=args.seed)
    problem = synth.problem(args.transfers, args.vehicles, args.destinations, seed=args.seed, params=params)
    free_beds = sum(d.beds_free for d in problem.destinations)
    print(
        f"instance: {len(problem.transfers)} transfers, {len(problem.vehicles)} vehicles, "
        f"{len(problem.destinations)} destinations ({free_beds} free beds), seed {args.seed}, "
        f"{args.seconds:g} s per plan"
    )
    greedy = planning.plan_greedy(problem)
    rows = [_row("greedy", greedy, None)]
    plans = {}
    for method in ("pyvrp", "ortools"):
        plans[method] = planning.plan(problem, method)
        rows.append(_row(method, plans[method], greedy))
    if not args.no_long:
        for method in ("pyvrp", "ortools"):
            long = planning.plan(problem, method, args.seconds * args.factor)
            row = _row(f"{method} ×{args.factor:g}", long, greedy)
            row["default_gap_pct"] = round(100 * (plans[method].km - long.km) / long.km, 1) if long.km else None
            rows.append(row)

    print_table(
        [
            "plan",
            "seconds",
            "vehicle-km",
            "vs greedy",
            "longest wait (min)",
            "served",
            "trips",
            "appended",
            "no dest.",
            "violations",
            "default vs ×N",
        ],
        [
            [
                r["name"],
                fmt_s(r["seconds"]),
                f"{r['km']:,.1f}",
                f"{r['km_vs_greedy_pct']:+.1f} %" if "km_vs_greedy_pct" in r else "",
                f"{r['longest_wait_min']:.1f}",
                r["served"],
                r["trips"],
                r["appended"],
                r["no_destination"],
                r["violations"],
                f"{r['default_gap_pct']:+.1f} %" if r.get("default_gap_pct") is not None else "",
            ]
            for r in rows
        ],
    )
    ok_time = all(r["seconds"] <= 30 for r in rows if r["name"] in ("pyvrp", "ortools"))
    ok_rules = all(r["violations"] == 0 for r in rows)
    ok_km = all(r["km_vs_greedy_pct"] <= -15 for r in rows if r["name"] in ("pyvrp", "ortools"))
    ok_wait = all(r["wait_vs_greedy_min"] < 0 for r in rows if r["name"] in ("pyvrp", "ortools"))
    print(
        f"targets: plan ≤ 30 s {'met' if ok_time else 'MISSED'}; 0 violations {'met' if ok_rules else 'MISSED'}; "
        f"≥ 15 % fewer km than greedy {'met' if ok_km else 'MISSED'}; "
        f"shorter longest wait {'met' if ok_wait else 'MISSED'}"
    )
    write_json(
        args.json_out,
        {
            "instance": {
                "transfers": len(problem.transfers),
                "vehicles": len(problem.vehicles),
                "destinations": len(problem.destinations),
                "free_beds": free_beds,
                "seed": args.seed,
                "seconds": args.seconds,
                "factor": args.factor,
            },
            "results": rows,
            "targets": {"time": ok_time, "violations": ok_rules, "km": ok_km, "wait": ok_wait},
            "default_method": planning.DEFAULT_METHOD,
        },
    )


if __name__ == "__main__":
    main()

"""`linli ewarn …`: the early-warning system from the command line (issue #9).

recount [--from D] [--to D] [--signal S …]   rebuild the daily signal counts from the records
run [--date D]                               judge a day (default: yesterday and any missed day)
alerts [--status S] [--json]                 list alerts
evaluate [--quick] [--frequency F] …         simulate outbreaks and measure every detector
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.management.arguments import day
from ewarn.choices import AlertStatus, Signal


class Command(BaseCommand):
    help = "Early warning: recount signals, run the detectors, list alerts, evaluate the detectors."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        recount = actions.add_parser("recount", help="rebuild the daily signal counts from the records")
        recount.add_argument("--from", dest="first", type=day, help="first day (default: 30 days ago)")
        recount.add_argument("--to", dest="last", type=day, help="last day (default: today)")
        recount.add_argument("--signal", action="append", choices=Signal.values, help="only this signal (repeatable)")
        run = actions.add_parser("run", help="judge a day: detectors, scan, alerts and their tasks")
        run.add_argument("--date", type=day, help="the day to judge (default: yesterday and any day missed)")
        alerts = actions.add_parser("alerts", help="list alerts")
        alerts.add_argument("--status", choices=AlertStatus.values)
        alerts.add_argument("--json", action="store_true")
        evaluate = actions.add_parser("evaluate", help="simulated outbreaks: each detector's figures")
        evaluate.add_argument("--quick", action="store_true", help="a small simulation (seconds), for a smoke test")
        evaluate.add_argument("--frequency", choices=("daily", "weekly", "both"), default="both")
        evaluate.add_argument("--replicates", type=int, help="simulated series per scenario")
        evaluate.add_argument("--seed", type=int, default=2013)
        evaluate.add_argument(
            "--policy", action="store_true", help="the policy's parameters for the detectors it configures"
        )
        evaluate.add_argument("--plot", type=Path, help="PNG to save (default: LINLI_HOME/ewarn-evaluation.png)")
        evaluate.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, "_" + action)(options)

    def _recount(self, options) -> None:
        from ewarn.signals import recount

        last = options["last"] or timezone.localdate()
        first = options["first"] or last - dt.timedelta(days=29)
        if first > last:
            raise CommandError("--from is after --to")
        started = time.perf_counter()
        rows = recount(first, last, options["signal"] or Signal.values)
        self.stdout.write(
            f"{rows} community-day counts from {first} to {last} in {time.perf_counter() - started:.1f} s"
        )

    def _run(self, options) -> None:
        from ewarn.services import days_to_judge, do_run_day

        days = [options["date"]] if options["date"] else days_to_judge(timezone.localdate())
        for judged in days:
            run = do_run_day(judged)
            self.stdout.write(
                f"{run.day}: {run.series} series, {run.alarms} alarms ({run.clusters} clusters), "
                f"{run.alerts_opened} new alerts, {run.seconds:.1f} s"
            )

    def _alerts(self, options) -> None:
        from ewarn.models import Alert

        alerts = Alert.objects.select_related("area", "task").order_by("-last_day", "-id")
        if options["status"]:
            alerts = alerts.filter(status=options["status"])
        rows = [
            {
                "id": a.pk,
                "signal": a.signal,
                "kind": a.kind,
                "area": a.area.name,
                "first_day": a.first_day.isoformat(),
                "last_day": a.last_day.isoformat(),
                "observed": a.observed,
                "expected": round(a.expected, 2),
                "p_value": a.p_value,
                "detectors": a.detectors,
                "status": a.status,
                "task": a.task_id,
            }
            for a in alerts[:200]
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for r in rows:
            self.stdout.write(
                f"#{r['id']:<5} {r['last_day']} {r['signal']:<14} {r['kind']:<9} {r['area'][:16]:<16} "
                f"{r['observed']:>7g} vs {r['expected']:>7.1f}  {','.join(r['detectors']):<28} {r['status']}"
            )

    def _evaluate(self, options) -> None:
        from ewarn.evaluation import evaluate

        started = time.perf_counter()
        frequencies = ("weekly", "daily") if options["frequency"] == "both" else (options["frequency"],)
        detectors = _as_configured() if options["policy"] else None
        agreement = _agreement() if options["policy"] else None
        reports = []
        for frequency in frequencies:
            kwargs = {
                "seed": options["seed"],
                "frequency": frequency,
                "quick": options["quick"],
                "detectors": detectors,
                "agreement": agreement,
            }
            if options["replicates"]:
                kwargs["replicates"] = options["replicates"]
            reports.append(evaluate(**kwargs))
        if options["json"]:
            self.stdout.write(json.dumps([r.as_dict() for r in reports], ensure_ascii=False))
        else:
            for report in reports:
                self.stdout.write(report.table())
                self.stdout.write("")
        plot = options["plot"] or Path(settings.LINLI_HOME) / "ewarn-evaluation.png"
        for report in reports:
            target = plot if len(reports) == 1 else plot.with_name(f"{plot.stem}-{report.frequency}{plot.suffix}")
            report.save_plot(target)
            if not options["json"]:
                self.stdout.write(f"plot: {target}")
        if not options["json"]:
            self.stdout.write(f"{time.perf_counter() - started:.1f} s")


# the simulated design sets these (weekly or daily); a policy's daily values would contradict it
DESIGN_PARAMETERS = ("freq", "period", "window")


def _as_configured() -> dict[str, dict]:
    """Every detector, with the policy's parameters for those it configures (defaults otherwise)."""
    from core.policy import policy
    from ewarn.detectors.temporal import DETECTORS

    configured = policy().ewarn_detectors
    return {
        name: {k: v for k, v in (configured.get(name) or {}).items() if k not in DESIGN_PARAMETERS}
        for name in DETECTORS
    }


def _agreement() -> tuple[list[str], int]:
    """The daily job's rule: an area's rise is an alert when this many of the configured agree."""
    from core.policy import policy

    current = policy()
    return list(current.ewarn_detectors), int(current.ewarn_min_detectors)

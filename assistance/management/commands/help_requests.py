"""`linli help_requests counts`: the resident-services figures of a division (by its code) or of the
whole city, for a period of local days, as a table or JSON (the same as /help/counts/)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistance.counts import default_period, help_figures
from core.management.arguments import day
from core.moments import local_bounds
from geo.models import Division


class Command(BaseCommand):
    help = "Resident-services figures: counts [--area DIVISION_CODE] [--from D] [--to D] [--json]."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        counts = actions.add_parser("counts", help="requests, closings, deliveries, escorts, satisfaction")
        counts.add_argument("--area", default="", help="division code (default: the whole city)")
        counts.add_argument("--from", dest="start", type=day, help="first day (default: 6 days before --to)")
        counts.add_argument("--to", dest="end", type=day, help="last day (default: today)")
        counts.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, area: str, start, end, json: bool, **options) -> None:
        level = node_id = None
        if area:
            division = Division.objects.filter(code=area).first()
            if division is None:
                raise CommandError(f"no division with code {area}")
            if division.level != "city":
                level, node_id = division.level, division.pk
        start, end = default_period(start, end)
        if start > end:
            raise CommandError("--from is after --to")
        figures = help_figures(None, level, node_id, *local_bounds(start, end)).as_dict()
        if json:
            self.stdout.write(_dumps({"area": area or None, "from": start, "to": end, **figures}))
            return
        self.stdout.write(f"{area or 'city'} {start} … {end}")
        for key in (
            "asked_total",
            "closed_total",
            "in_time_share",
            "hours_to_close_median",
            "deliveries_total",
            "escorts",
            "rating_mean",
            "satisfied_share",
            "open_now",
            "overdue_now",
            "waiting_verification",
        ):
            self.stdout.write(f"  {key:<22} {figures[key] if figures[key] is not None else '—'}")
        self.stdout.write("  asked by category     " + ", ".join(f"{k} {v}" for k, v in figures["asked"].items()))
        self.stdout.write("  deliveries            " + ", ".join(f"{k} {v}" for k, v in figures["deliveries"].items()))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, indent=1)

"""`linli care visits-due [--open-tasks]`: key-group visits due and overdue by community, and
optionally open the overdue visits' tasks now (as the daily job care.overdue_visits does)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Min
from django.utils import timezone

from care.visits import DUE_SOON_DAYS, day_number, do_open_overdue_visits, schedule
from core.management.arguments import day
from geo.models import Division


class Command(BaseCommand):
    help = "Key-group care: visits due and overdue by community (visits-due [--open-tasks])."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        due = actions.add_parser("visits-due", help="count visits due and overdue by community")
        due.add_argument("--open-tasks", action="store_true", help="open a care_visit task for each overdue visit")
        due.add_argument("--today", type=day, help="count as of this day (default: today)")
        due.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, "_" + action.replace("-", "_"))(options)

    def _visits_due(self, options) -> None:
        today = options["today"] or timezone.localdate()
        now = day_number(today)
        counts: dict[int | None, dict[str, int]] = {}
        # one row per resident (a GROUP BY in the database), tallied by community here
        for node, due_day in schedule().annotate(node=Min("community_id")).values_list("node", "due_day"):
            row = counts.setdefault(node, {"residents": 0, "due_soon": 0, "overdue": 0})
            row["residents"] += 1
            if due_day < now:
                row["overdue"] += 1
            elif due_day <= now + DUE_SOON_DAYS:
                row["due_soon"] += 1
        names = dict(Division.objects.filter(pk__in=[k for k in counts if k]).values_list("pk", "name"))
        opened = do_open_overdue_visits(today) if options["open_tasks"] else None
        rows = sorted(
            ({"community": names.get(k, "-"), "community_id": k, **v} for k, v in counts.items()),
            key=lambda r: (-r["overdue"], r["community"]),
        )
        if options["json"]:
            result = {"day": today.isoformat(), "rows": rows, "opened": opened}
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(f"{'community':<24}{'on ledgers':>12}{'due soon':>10}{'overdue':>9}")
        for row in rows:
            self.stdout.write(
                f"{row['community'][:22]:<24}{row['residents']:>12}{row['due_soon']:>10}{row['overdue']:>9}"
            )
        total = {k: sum(r[k] for r in rows) for k in ("residents", "due_soon", "overdue")}
        self.stdout.write(f"{'total':<24}{total['residents']:>12}{total['due_soon']:>10}{total['overdue']:>9}")
        if opened is not None:
            self.stdout.write(f"{opened} care_visit tasks opened")

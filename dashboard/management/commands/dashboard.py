"""`linli dashboard refresh [--date D] [--backfill N]`: recount the command centre's figures now
(the job dashboard.refresh does it every five minutes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from core.management.arguments import day


class Command(BaseCommand):
    help = "Command centre: recount the figures (refresh [--date D] [--backfill N])."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        refresh = actions.add_parser("refresh", help="recount a day's figures for every area")
        refresh.add_argument("--date", type=day, help="the day (default today; a past day recounts its flows)")
        refresh.add_argument("--backfill", type=int, default=0, help="also the flows of the N days before")

    def handle(self, *args, action: str, date, backfill: int, **options) -> None:
        from dashboard.refresh import backfill as recount_days

        for done in recount_days(max(0, backfill), date):
            self.stdout.write(f"{done.day}: {done.rows} figures in {done.seconds:.2f} s")

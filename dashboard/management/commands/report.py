"""`linli report daily …`: the daily report (日报) of a city, district, street or community as an
Excel workbook or a PDF, from the figures the last refresh counted (dashboard.report)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.management.arguments import day
from dashboard.report import CONTENT_TYPES, render
from dashboard.report_pdf import ReportFontError
from geo.models import Division

LEVELS = ("city", "district", "street", "community")


class Command(BaseCommand):
    help = "Write a report from the command centre's figures: daily."

    def add_arguments(self, parser: CommandParser) -> None:
        reports = parser.add_subparsers(dest="report", required=True)
        daily = reports.add_parser("daily", help="the daily report (日报) of one area, as xlsx or pdf")
        daily.add_argument("--level", required=True, choices=LEVELS)
        daily.add_argument("--code", required=True, help="the division's code")
        # parsed in handle: a CommandError raised by an argparse type escapes `linli` as a traceback
        daily.add_argument("--date", type=day, help="YYYY-MM-DD (default: today)")
        daily.add_argument("--format", dest="fmt", default="xlsx", choices=list(CONTENT_TYPES))
        daily.add_argument("--out", type=Path, help="file to write (default: 日报-<code>-<date>.<format> here)")

    def handle(self, *args, report: str, **options) -> None:
        on = options["date"] or timezone.localdate()
        area = Division.objects.filter(code=options["code"]).first()
        if area is None:
            raise CommandError(f"no division {options['code']}")
        if area.level != options["level"]:
            raise CommandError(f"{area.code} ({area.name}) is a {area.level}, not a {options['level']}")
        try:
            content, _type, filename = render(area, on, options["fmt"])
        except ReportFontError as exc:
            raise CommandError(str(exc)) from exc
        out = options["out"] or Path(filename)
        out.write_bytes(content)
        self.stdout.write(str(out))

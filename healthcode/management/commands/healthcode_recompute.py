"""``linli healthcode_recompute [--as-of T] [--json]``: the code batch now (also a job)."""

from __future__ import annotations

import json as jsonlib
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.moments import parse_moment
from healthcode.services import recompute


class Command(BaseCommand):
    help = "Issue codes to residents without one and bring every colour in line with the rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", dest="as_of", help="as of this time (ISO 8601; default now)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, as_of: str | None, json: bool, **options) -> None:
        try:
            moment = parse_moment(as_of)
        except ValueError as error:
            raise CommandError(str(error)) from error
        started = time.perf_counter()
        summary = recompute(None, now=moment).as_dict() | {"seconds": round(time.perf_counter() - started, 2)}
        self.stdout.write(jsonlib.dumps(summary) if json else " ".join(f"{k}={v}" for k, v in summary.items()))

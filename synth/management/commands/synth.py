"""``linli synth --out DIR [--residents N] [--seed S] [--json]``: write a synthetic city as contract CSVs.

The files (contracts.md: divisions, compounds, buildings, residents, venues, social_registry) can be
imported in that order with ``linli import KIND FILE``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from synth.city import generate_city
from synth.writer import write_city


class Command(BaseCommand):
    help = "Generate a synthetic Wuhan-like city and write it as one CSV file per contract kind."
    requires_system_checks: ClassVar[list[str]] = []  # writes files only; no database or model needed

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="directory to write (created if missing)")
        parser.add_argument("--residents", type=int, default=20000, help="number of residents (default 20000)")
        parser.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")

    def handle(
        self, *args: object, out: Path, residents: int, seed: int, json: bool = False, **options: object
    ) -> None:
        if residents < 1:
            raise CommandError(_("--residents must be at least 1"))
        if seed < 0:
            raise CommandError(_("--seed must not be negative"))
        started = time.perf_counter()
        city = generate_city(residents, seed)
        generated = time.perf_counter()
        paths = write_city(city, out)
        finished = time.perf_counter()
        counts = city.counts()
        summary = {
            "out": str(out.resolve()),
            "residents": residents,
            "seed": seed,
            "as_of": city.as_of.isoformat(),
            "files": {kind: {"path": str(path), "rows": counts[kind]} for kind, path in paths.items()},
            "levels": {level: counts[level] for level in ("districts", "streets", "communities", "grids")},
            "households": counts["households"],
            "seconds": {
                "generate": round(generated - started, 3),
                "write": round(finished - generated, 3),
                "total": round(finished - started, 3),
            },
        }
        if json:
            self.stdout.write(_dumps(summary))
            return
        self.stdout.write(
            _("Synthetic city (seed %(seed)s, as of %(as_of)s) written to %(out)s in %(seconds).1f s")
            % {"seed": seed, "as_of": summary["as_of"], "out": summary["out"], "seconds": summary["seconds"]["total"]}
        )
        for kind, info in summary["files"].items():
            self.stdout.write(f"  {kind + '.csv':<22}{info['rows']:>12,}")
        self.stdout.write(
            _(
                "  %(districts)s districts, %(streets)s streets, %(communities)s communities, %(grids)s grids, "
                "%(households)s households"
            )
            % {**summary["levels"], "households": f"{summary['households']:,}"}
        )


def _dumps(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False)

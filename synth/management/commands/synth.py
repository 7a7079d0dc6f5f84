"""``linli synth --out DIR [--residents N] [--seed S] [--json]``: write a synthetic city as contract CSVs.

The files (contracts.md: divisions, compounds, buildings, residents, venues, social_registry) can be
imported in that order with ``linli import KIND FILE``.

Agency feeds from the same city go into the same directory (synth.feeds), with ``feed_truth.csv``:

  --feed-rows N   a linkage evaluation set: N noisy rows of clinic_visits, case_reports, lab_results
                  and travel over the 14 days up to --feed-date
  --feeds         one realistic day (--feed-date, default 2020-02-05) of the same four feeds
                  for the whole city, with a few deliberately hard cases

Given both, each file holds both sets (their keys differ: ``LK-…`` for the linkage set).

Venue scans and a seeded outbreak (synth.mobility, synth.outbreak):

  --scans         ``scans.csv``: everybody's venue and gate scans for --scan-days days (default 14)
                  from --scan-start (default 2020-01-22)
  --outbreak N    N index infections spread over those scans (implies --scans): ``case_reports.csv``
                  for the cases diagnosed in the period (``OB-…``; merged into the feeds' file when
                  feeds are written too) and ``outbreak_truth.csv``; the scans stop at isolation

Transport (synth.transport, issue #8):

  --transport     ``facilities.csv`` (import kind ``facilities``), ``vehicles.csv`` and
                  ``transfer_requests.csv`` (--transfers N people waiting for a ride, default 500)
                  within the city's own compounds

The restart (issue #12), with --recovery:

  --recovery      schools and enterprises with their opening history (``units.csv``, ``unit_status.csv``,
                  ``staff_back.csv``), relief applications and the banks' decisions
                  (``relief_applications.csv``, ``loan_decisions.csv`` …), front-line workers with 30 days
                  of duty and their training (``workers.csv``, ``duty_roster.csv``,
                  ``training_completions.csv``) and the old-compound renovation programme
                  (``renovation_projects.csv``, ``renovation_targets.csv``, ``renovation_works.csv``)

Early-warning signals (synth.signals, issue #9):

  --signals       ``pharmacy_sales.csv`` and ``school_absence.csv``: --signal-days days (default 1,155,
                  three years and two months) ending --signal-end (default yesterday), with an outbreak
                  seeded around one school's community over the last six days (``signals_truth.json``)

A testing campaign (synth.campaign):

  --campaign      one day (--campaign-date, default 2020-05-22) of pooled sampling: sites, tube members
                  (``pool_members.csv``), the tubes' results and the positive tubes' re-swabs
                  (``lab_results_pools.csv``, ``lab_results_recall.csv``) and the truth; with
                  --campaign-bad-rows also the rows an importer must survive
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import ClassVar

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from synth.campaign import CAMPAIGN_DAY, COVERAGE, POOL_SIZE, POSITIVES, PREVALENCE, generate_campaign, write_campaign
from synth.city import generate_city
from synth.feeds import FEED_DATE, feed_day, merge_feeds, noisy_feeds, write_feeds
from synth.mobility import SCAN_DAYS, SCAN_START, SCANS, generate_scans, write_scans
from synth.outbreak import OUTBREAK_TRUTH, merge_case_reports, outbreak_tables, seed_outbreak
from synth.signals import SIGNAL_DAYS, generate_signal_history
from synth.transport import TRANSFERS, generate_transport
from synth.writer import write_city, write_tables


def _date(value: str | dt.date, error: str) -> dt.date:
    """The date an option gives (a ``date`` when called from code), or ``error`` as a CommandError."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as problem:
        raise CommandError(error) from problem


class Command(BaseCommand):
    help = "Generate a synthetic Wuhan-like city and write it as one CSV file per contract kind."
    requires_system_checks: ClassVar[list[str]] = []  # writes files only; no database or model needed

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="directory to write (created if missing)")
        parser.add_argument("--residents", type=int, default=20000, help="number of residents (default 20000)")
        parser.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
        parser.add_argument(
            "--feed-rows",
            type=int,
            default=0,
            help="also write a linkage evaluation set of N noisy feed rows with feed_truth.csv (default 0)",
        )
        parser.add_argument(
            "--feeds", action="store_true", help="also write one day of agency feeds for the city with feed_truth.csv"
        )
        parser.add_argument(
            "--feed-date", type=str, default=FEED_DATE.isoformat(), help="day of the feeds (default 2020-02-05)"
        )
        parser.add_argument("--scans", action="store_true", help="also write scans.csv: venue and gate scans")
        parser.add_argument("--scan-days", type=int, default=SCAN_DAYS, help="days of scans (default 14)")
        parser.add_argument(
            "--scan-start",
            type=str,
            default=SCAN_START.isoformat(),
            help="first day of scans (default 2020-01-22)",
        )
        parser.add_argument(
            "--outbreak",
            type=int,
            default=0,
            help="seed N index infections in the scans; writes case_reports.csv and outbreak_truth.csv (default 0)",
        )
        parser.add_argument(
            "--campaign",
            action="store_true",
            help="also write one day of a pooled testing campaign: sites, pool_members, lab results and truth",
        )
        parser.add_argument(
            "--campaign-date",
            type=str,
            default=CAMPAIGN_DAY.isoformat(),
            help="day of the campaign (default 2020-05-22)",
        )
        parser.add_argument("--pool-size", type=int, default=POOL_SIZE, help="people per tube (default 10)")
        parser.add_argument(
            "--transport", action="store_true", help="also write facilities, vehicles and a day of transfer requests"
        )
        parser.add_argument(
            "--signals", action="store_true", help="also write years of pharmacy sales and school absences"
        )
        parser.add_argument("--signal-days", type=int, default=SIGNAL_DAYS, help="days of signal history")
        parser.add_argument("--signal-end", type=str, default="", help="last day of the signals (default yesterday)")
        parser.add_argument(
            "--recovery",
            action="store_true",
            help="also write units, relief applications, staff rosters and the renovation programme",
        )
        parser.add_argument("--transfers", type=int, default=TRANSFERS, help="transfer requests (default 500)")
        parser.add_argument(
            "--coverage", type=float, default=COVERAGE, help="share of residents sampled, 0 to 1 (default 0.9)"
        )
        parser.add_argument(
            "--prevalence",
            type=float,
            default=PREVALENCE,
            help="share of the sampled who are infected, 0 to 1 (default 0.0001)",
        )
        parser.add_argument(
            "--campaign-positives",
            type=int,
            default=POSITIVES,
            help="at least this many of the sampled are infected (default 2)",
        )
        parser.add_argument(
            "--campaign-bad-rows",
            action="store_true",
            help="also write the campaign's bad rows (a tube scanned twice, an overfilled tube …) and their truth",
        )

    def handle(
        self,
        *args: object,
        out: Path,
        residents: int,
        seed: int,
        json: bool = False,
        feed_rows: int = 0,
        feeds: bool = False,
        feed_date: str | dt.date = FEED_DATE,
        scans: bool = False,
        scan_days: int = SCAN_DAYS,
        scan_start: str | dt.date = SCAN_START,
        outbreak: int = 0,
        campaign: bool = False,
        campaign_date: str | dt.date = CAMPAIGN_DAY,
        pool_size: int = POOL_SIZE,
        coverage: float = COVERAGE,
        prevalence: float = PREVALENCE,
        campaign_positives: int = POSITIVES,
        campaign_bad_rows: bool = False,
        transport: bool = False,
        transfers: int = TRANSFERS,
        signals: bool = False,
        signal_days: int = SIGNAL_DAYS,
        signal_end: str | dt.date = "",
        recovery: bool = False,
        **options: object,
    ) -> None:
        if residents < 1:
            raise CommandError(_("--residents must be at least 1"))
        if seed < 0:
            raise CommandError(_("--seed must not be negative"))
        if feed_rows < 0:
            raise CommandError(_("--feed-rows must not be negative"))
        if scan_days < 1:
            raise CommandError(_("--scan-days must be at least 1"))
        if outbreak < 0:
            raise CommandError(_("--outbreak must not be negative"))
        if pool_size < 1:
            raise CommandError(_("--pool-size must be at least 1"))
        if not 0 <= coverage <= 1:
            raise CommandError(_("--coverage must be between 0 and 1"))
        if not 0 <= prevalence <= 1:
            raise CommandError(_("--prevalence must be between 0 and 1"))
        if campaign_positives < 0:
            raise CommandError(_("--campaign-positives must not be negative"))
        if transfers < 0:
            raise CommandError(_("--transfers must not be negative"))
        day = _date(feed_date, _("--feed-date must be a date like 2020-02-05"))
        first_scan_day = _date(scan_start, _("--scan-start must be a date like 2020-01-22"))
        campaign_day = _date(campaign_date, _("--campaign-date must be a date like 2020-05-22"))
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
        spread = None
        if scans or outbreak:
            clock = time.perf_counter()
            scan_set = generate_scans(city, start=first_scan_day, days=scan_days, seed=seed)
            if outbreak:
                spread = seed_outbreak(city, scan_set, n_index=outbreak, seed=seed)
                scan_set = spread.scans
            generated_scans = time.perf_counter()
            scan_path = write_scans(scan_set, out)
            done = time.perf_counter()
            summary["scans"] = {
                "start": first_scan_day.isoformat(),
                "days": scan_days,
                "path": str(scan_path),
                "rows": scan_set.rows,
                "stays": scan_set.stays,
            }
            summary["seconds"]["scans"] = round(generated_scans - clock, 3)
            summary["seconds"]["scans_write"] = round(done - generated_scans, 3)
            del scan_set
        if feed_rows or feeds:
            clock = time.perf_counter()
            sets = []
            if feed_rows:
                sets.append(noisy_feeds(city, feed_rows, seed, day))
            if feeds:
                sets.append(feed_day(city, day, seed))
            tables = merge_feeds(*sets)
            if spread is not None:
                tables = merge_case_reports(tables, spread)
            feed_paths = write_feeds(tables, out)
            summary["feed_date"] = day.isoformat()
            summary["feed_rows"] = feed_rows
            summary["feed_day"] = feeds
            summary["feed_files"] = {
                name: {"path": str(path), "rows": tables[name].num_rows} for name, path in feed_paths.items()
            }
            summary["seconds"]["feeds"] = round(time.perf_counter() - clock, 3)
        if spread is not None:
            extra = outbreak_tables(spread)
            if "feed_files" in summary:
                extra = {OUTBREAK_TRUTH: extra[OUTBREAK_TRUTH]}
            paths = write_tables(extra, out)
            counts = spread.counts()
            summary["outbreak"] = {
                "index_cases": outbreak,
                "infections": counts["infections"],
                "settings": {name: counts[name] for name in ("index", "household", "venue")},
                "asymptomatic": counts["asymptomatic"],
                "case_reports": counts["case_reports"],
                "files": {name: {"path": str(path), "rows": extra[name].num_rows} for name, path in paths.items()},
            }
        if transport:
            clock = time.perf_counter()
            transport_tables = generate_transport(city, seed, transfers)
            transport_paths = write_tables(transport_tables, out)
            summary["transport"] = {
                name: {"path": str(path), "rows": transport_tables[name].num_rows}
                for name, path in transport_paths.items()
            }
            summary["seconds"]["transport"] = round(time.perf_counter() - clock, 3)
        if recovery:
            clock = time.perf_counter()
            summary["recovery"] = {name: str(path) for name, path in write_recovery(city, seed, out).items()}
            summary["seconds"]["recovery"] = round(time.perf_counter() - clock, 3)
        if signals:
            clock = time.perf_counter()
            end = _date(signal_end or _yesterday(), _("--signal-end must be a date like 2026-11-28"))
            try:
                history = generate_signal_history(city, end=end, seed=seed, days=signal_days)
            except ValueError as error:
                raise CommandError(str(error)) from error
            signal_paths = write_tables(history.tables(), out)
            truth = {
                "outbreak_communities": history.outbreak_communities,
                "first_day": history.outbreak_first_day.isoformat(),
                "last_day": history.outbreak_last_day.isoformat(),
            }
            (out / "signals_truth.json").write_text(_dumps(truth))
            summary["signals"] = {
                **truth,
                "files": {
                    name: {"path": str(path), "rows": history.tables()[name].num_rows}
                    for name, path in signal_paths.items()
                },
            }
            summary["seconds"]["signals"] = round(time.perf_counter() - clock, 3)
        if campaign:
            clock = time.perf_counter()
            try:
                drawn = generate_campaign(
                    city,
                    seed=seed,
                    day=campaign_day,
                    pool_size=pool_size,
                    coverage=coverage,
                    prevalence=prevalence,
                    positives=campaign_positives,
                    bad_rows=campaign_bad_rows,
                )
            except ValueError as error:  # bad rows in a city too small for them
                raise CommandError(str(error)) from error
            generated_campaign = time.perf_counter()
            campaign_paths = write_campaign(drawn, out)
            summary["campaign"] = {
                **drawn.summary,
                "files": {
                    name: {"path": str(path), "rows": drawn.tables[name].num_rows}
                    for name, path in campaign_paths.items()
                    if name in drawn.tables
                },
                "documents": {name: str(path) for name, path in campaign_paths.items() if name not in drawn.tables},
            }
            summary["seconds"]["campaign"] = round(generated_campaign - clock, 3)
            summary["seconds"]["campaign_write"] = round(time.perf_counter() - generated_campaign, 3)
        summary["seconds"]["total"] = round(time.perf_counter() - started, 3)
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
        if "scans" in summary:
            info = summary["scans"]
            self.stdout.write(
                _("Scans for %(days)s days from %(start)s: %(rows)s scans, %(stays)s stays")
                % {
                    "days": info["days"],
                    "start": info["start"],
                    "rows": f"{info['rows']:,}",
                    "stays": f"{info['stays']:,}",
                }
            )
            self.stdout.write(f"  {SCANS + '.csv':<22}{info['rows']:>12,}")
        if "feed_files" in summary:
            self.stdout.write(_("Agency feeds for %(date)s:") % {"date": summary["feed_date"]})
            for name, info in summary["feed_files"].items():
                self.stdout.write(f"  {name + '.csv':<22}{info['rows']:>12,}")
        if "outbreak" in summary:
            info = summary["outbreak"]
            self.stdout.write(
                _(
                    "Outbreak from %(index)s index cases: %(infections)s infections (%(household)s household, "
                    "%(venue)s venue), %(reports)s cases diagnosed in the period"
                )
                % {
                    "index": info["index_cases"],
                    "infections": info["infections"],
                    "household": info["settings"]["household"],
                    "venue": info["settings"]["venue"],
                    "reports": info["case_reports"],
                }
            )
            for name, file in info["files"].items():
                self.stdout.write(f"  {name + '.csv':<22}{file['rows']:>12,}")
        if "recovery" in summary:
            self.stdout.write(_("The restart: units, relief, workforce and renovation:"))
            for name in summary["recovery"]:
                self.stdout.write(f"  {name + '.csv'}")
        if "campaign" in summary:
            info = summary["campaign"]
            self.stdout.write(
                _(
                    "Testing campaign on %(day)s: %(sampled)s of %(residents)s residents sampled at %(sites)s sites "
                    "into %(tubes)s tubes of up to %(pool_size)s; %(positive_pools)s positive tubes, %(infected)s "
                    "infected, %(invalid_tubes)s invalid tubes, %(over_12h)s tube results after more than 12 hours"
                )
                % {
                    **info,
                    "sampled": f"{info['sampled']:,}",
                    "residents": f"{info['residents']:,}",
                    "tubes": f"{info['tubes']:,}",
                }
            )
            for name, file in info["files"].items():
                self.stdout.write(f"  {name + '.csv':<22}{file['rows']:>12,}")


def write_recovery(city, seed: int, out: Path) -> dict[str, Path]:
    """The four recovery apps' files for this city (each app generates its own)."""
    from relief.synth import relief_for
    from renovation import synth as renovation_synth
    from reopening.synth import for_city as units_for
    from reopening.synth import write_units
    from workforce.synth import generate as workforce_for

    paths = write_units(units_for(city, seed), out)
    paths |= write_tables(relief_for(city, seed).tables(), out)
    paths |= workforce_for(city, seed=seed, end=_yesterday()).write(out)
    paths |= renovation_synth.write(renovation_synth.for_city(city, seed), out)
    return paths


def _yesterday() -> dt.date:
    from django.utils import timezone

    return timezone.localdate() - dt.timedelta(days=1)


def _dumps(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False)

"""`linli campaign …`: plan a testing campaign, load its sites, assign slots, publish notices, and
read its coverage and lab figures from the command line (member lists and lab results come in
through `linli import pool_members|lab_results FILE`)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns import coverage, services
from campaigns.models import Campaign
from core.management.arguments import day
from geo.models import Division


class Command(BaseCommand):
    help = "Plan and follow a testing campaign: plan, sites, assign, publish, status, recount, door-to-door."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        plan = actions.add_parser("plan", help="create a campaign over a division and count its residents")
        plan.add_argument("code")
        plan.add_argument("--name", required=True)
        plan.add_argument("--area", required=True, help="division code (city, district, street, community or grid)")
        plan.add_argument("--start", required=True, type=day)
        plan.add_argument("--end", type=day, help="last day (default: the first day)")
        plan.add_argument("--pool-size", type=int, choices=(1, 5, 10), help="default: policy campaign_pool_size")
        plan.add_argument("--notice", default="", help="the notice residents see")
        sites = actions.add_parser("sites", help="load sampling sites from CSV and assign compounds to them")
        sites.add_argument("code")
        sites.add_argument("file", type=Path)
        publish = actions.add_parser("publish", help="publish the notice and the slots to residents")
        publish.add_argument("code")
        status = actions.add_parser("status", help="coverage by level and lab figures")
        status.add_argument("code")
        status.add_argument("--level", default="district", choices=list(coverage.LEVEL_COLUMNS))
        status.add_argument("--json", action="store_true")
        recount = actions.add_parser("recount", help="rebuild the counts from the participants; print differences")
        recount.add_argument("code")
        sweep = actions.add_parser("door-to-door", help="open door-to-door tasks for buildings with people to sample")
        sweep.add_argument("code")
        sweep.add_argument("--grid", help="only this grid (code)")

    def handle(self, *args, action: str, **options) -> None:
        if action == "plan":
            self._plan(options)
            return
        try:
            campaign = Campaign.objects.get(code=options["code"])
        except Campaign.DoesNotExist as exc:
            raise CommandError(f"no campaign {options['code']}") from exc
        getattr(self, "_" + action.replace("-", "_"))(campaign, options)

    def _plan(self, options) -> None:
        area = Division.objects.filter(code=options["area"]).first()
        if area is None:
            raise CommandError(f"no division {options['area']}")
        try:
            campaign = services.do_plan(
                code=options["code"],
                name=options["name"],
                scope=area,
                starts_on=options["start"],
                ends_on=options["end"] or options["start"],
                pool_size=options["pool_size"],
                notice=options["notice"],
            )
        except services.CampaignError as exc:
            raise CommandError(str(exc)) from exc
        totals = coverage.total(campaign)
        self.stdout.write(
            f"campaign {campaign.code}: {area.name}, {campaign.starts_on}–{campaign.ends_on}, "
            f"{campaign.pool_size} per tube, {totals.target} residents, {totals.exempt} exempt"
        )

    def _sites(self, campaign: Campaign, options) -> None:
        result = services.import_sites(options["file"].read_text(encoding="utf-8-sig"))
        if result.errors:
            raise CommandError("sites refused:\n" + "\n".join(result.errors))
        slots = services.assign_slots(campaign)
        self.stdout.write(f"sites: {result.created} new, {result.updated} updated; {slots} compounds assigned")

    def _publish(self, campaign: Campaign, options) -> None:
        try:
            residents = services.do_publish_notices(campaign)
        except services.CampaignError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"notices published to {residents} residents")

    def _status(self, campaign: Campaign, options) -> None:
        rows = coverage.rollup(campaign, options["level"])
        totals = coverage.total(campaign)
        lab = services.lab_figures(campaign)
        if options["json"]:
            fields = ("target", "exempt", "tested", "negative", "held", "positive", "resample", "untested", "awaiting")
            self.stdout.write(
                json.dumps(
                    {
                        "campaign": campaign.code,
                        "total": {f: getattr(totals, f) for f in fields},
                        "rows": [{"name": r.name, **{f: getattr(r, f) for f in fields}} for r in rows],
                        "lab": lab.__dict__,
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
            return
        self.stdout.write(f"{'area':<24}{'residents':>10}{'sampled':>10}{'cover':>8}{'to do':>8}{'held':>6}{'pos':>5}")
        for row in [*rows, totals]:
            share = f"{row.coverage:.1%}" if row.coverage is not None else "-"
            self.stdout.write(
                f"{row.name[:22]:<24}{row.target:>10}{row.tested:>10}{share:>8}{row.untested:>8}"
                f"{row.held:>6}{row.positive:>5}"
            )
        turnaround = f"{lab.mean_turnaround_hours:.1f} h" if lab.mean_turnaround_hours is not None else "-"
        self.stdout.write(
            f"tubes {lab.tubes}: {lab.waiting} at the lab, {lab.positive} positive, {lab.invalid} invalid, "
            f"{lab.overfilled} overfilled, {lab.results_without_members} results without a member list; "
            f"mean turnaround {turnaround}, {lab.over_target} over {lab.target_hours:g} h"
        )

    def _recount(self, campaign: Campaign, options) -> None:
        before = coverage.stored_counts(campaign)
        coverage.recount(campaign)
        after = coverage.stored_counts(campaign)
        differing = coverage.differing_buildings(before, after)
        self.stdout.write(f"{len(after)} buildings recounted; {differing} differed from the kept counts")

    def _door_to_door(self, campaign: Campaign, options) -> None:
        within = {}
        if options["grid"]:
            grid = Division.objects.filter(code=options["grid"], level="grid").first()
            if grid is None:
                raise CommandError(f"no grid {options['grid']}")
            within = {"grid_id": grid.pk}
        opened = services.do_door_to_door(campaign, **within)
        self.stdout.write(f"{opened} door-to-door tasks opened")

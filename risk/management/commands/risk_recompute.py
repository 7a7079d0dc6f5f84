"""``linli risk_recompute [--as-of ISO]``: rate every risk area now (or at a given moment), as a recorded job."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.jobs import run_job_now
from core.models import Job
from core.moments import parse_moment


class Command(BaseCommand):
    help = "Recompute every risk area (domain.md §5) and print the areas per level and the changes."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", dest="as_of", default="", help="ISO 8601 moment to rate at (naive: Asia/Shanghai); now"
        )

    def handle(self, *args, as_of: str, **options):
        try:
            moment = parse_moment(as_of)
        except ValueError as exc:
            raise CommandError(_("Not an ISO 8601 moment: %(value)s") % {"value": as_of}) from exc
        # recorded as a Job row like the periodic run, but executed here and now
        result = run_job_now(Job.objects.create(name="risk.recompute", arguments={"as_of": moment.isoformat()}).pk)
        self.stdout.write(json.dumps(result, ensure_ascii=False))

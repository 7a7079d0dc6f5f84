"""``linli demo [--no-serve]``: migrate, generate and import a demo city, create demo staff, serve."""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from huey.contrib.djhuey import HUEY

from assistance.demo import set_up as set_up_help
from beds.demo import set_up as set_up_beds
from care.demo import set_up as set_up_care
from core.jobs import start_demo_ticker
from dashboard.refresh import backfill as count_dashboard
from dispatch.demo import set_up as set_up_dispatch
from ewarn.demo import set_up as set_up_ewarn
from people.models import Resident
from relief.demo import set_up as set_up_relief
from renovation.demo import set_up as set_up_renovation
from reopening.demo import set_up as set_up_reopening
from supplies.demo import set_up as set_up_supplies
from synth.demo import (
    create_demo_staff,
    import_city,
    logins_path,
    set_up_campaign,
    set_up_gates,
    staff_every_node,
)
from workforce.demo import set_up as set_up_workforce

DASHBOARD_DAYS = 30  # the command centre's trends start with a month of figures


class Command(BaseCommand):
    help = "Set up the embedded demo city (about 20,000 residents) and serve it on 127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="set up only, do not start the server")
        parser.add_argument("--residents", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=2020)
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address to serve on")

    def _staff(self):
        logins = create_demo_staff(logins_path())
        staffed = staff_every_node()
        if staffed:
            self.stdout.write(
                _(
                    "%(n)s more staff accounts answer for the other districts, streets, communities "
                    "and grids (no password until an administrator sets one)."
                )
                % {"n": staffed}
            )
        return logins

    def handle(self, *args, no_serve: bool, residents: int, seed: int, addr: str, **options):
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        fresh = not Resident.objects.exists()
        if not fresh:
            self.stdout.write(_("The demo city is already loaded; keeping it."))
        else:
            self.stdout.write(_("Generating and importing a city of %(n)s residents…") % {"n": f"{residents:,}"})
            HUEY.immediate = True  # confirmed cases start their containments as the feeds arrive
            import_city(residents, seed, log=self.stdout.write, before_feeds=self._staff)
            set_up_gates(log=self.stdout.write)
            set_up_campaign(residents, seed, log=self.stdout.write)
            set_up_help(seed, log=self.stdout.write)
            set_up_care()
            set_up_beds(log=self.stdout.write)
            set_up_supplies(log=self.stdout.write)
            set_up_dispatch(log=self.stdout.write)
            set_up_ewarn(residents, seed, log=self.stdout.write)
            set_up_reopening(log=self.stdout.write)
            set_up_relief(log=self.stdout.write)
            set_up_workforce(log=self.stdout.write)
            set_up_renovation(log=self.stdout.write)
        # the command centre opens on current figures (then the job recounts every five minutes)
        counted = count_dashboard(DASHBOARD_DAYS if fresh else 0)
        self.stdout.write(f"  dashboard        {counted[-1].rows:>9,} figures today")
        logins = self._staff()
        self.stdout.write(
            _("Ready in %(s).1f s. Demo logins (also in %(file)s):")
            % {"s": time.perf_counter() - started, "file": logins_path()}
        )
        for login in logins:
            self.stdout.write(f"  {login.username:<10} {login.password:<14} {login.role} — {login.node}")
        if not no_serve:
            start_demo_ticker()
            self.stdout.write(_("Serving on http://%(addr)s/ (Ctrl-C stops)") % {"addr": addr})
            self.stdout.write(
                _("Gate app: http://%(addr)s/gate/ · resident pages: http://%(addr)s/me/ (sign-in codes appear here)")
                % {"addr": addr}
            )
            call_command("runserver", addr, use_reloader=False)

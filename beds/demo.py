"""Facilities and beds on the demo city: each district's facilities loaded through the ``facilities``
import, a morning's bed reports through ``bed_status`` (one facility nearly full, one whose counts
are a day old), and a few of the demo's confirmed and suspected people admitted (two more with a
bed reserved, on their way), so the board, the facility pages and dispatch have something to show.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
from django.db import transaction
from django.utils import timezone

from beds.models import Facility, Stay
from beds.services import BedError, do_admit, do_reserve_bed
from beds.synth import facilities_for
from core.imports.runner import run_import

SEED = 2020
ADMIT = 8  # demo people admitted
RESERVE = 2  # and more with a bed reserved, not arrived yet
WAITING_STATES = ("identified", "notified", "transferred")


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _bed_status_rows(now: dt.datetime, rng: np.random.Generator) -> list[dict]:
    rows = []
    local = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    for i, f in enumerate(Facility.objects.order_by("code")):
        share = 0.95 if i == 0 else float(rng.uniform(0.3, 0.85))
        as_of = local - dt.timedelta(hours=30 if i == 1 else 2)
        rows.append(
            {
                "facility_code": f.code,
                "as_of": as_of.strftime("%Y-%m-%d %H:%M:%S"),
                "beds_approved": f.beds_approved,
                "beds_open": f.beds_open,
                "beds_occupied": int(f.beds_open * share),
            }
        )
    return rows


def _place_people(log) -> tuple[int, int]:
    """Admit (then reserve for) the demo's waiting confirmed and suspected people, each at a
    facility of their district taking their category with a free bed, else anywhere in the city."""
    from cases.models import PersonStatus
    from cases.services import TransitionRefused

    waiting = (
        PersonStatus.objects.filter(category__in=("confirmed", "suspected"), state__in=WAITING_STATES)
        .exclude(person__in=Stay.objects.filter(status__in=("reserved", "admitted")).values("person_id"))
        .select_related("person")
        .order_by("category", "id")[: ADMIT + RESERVE]
    )
    admitted = reserved = 0
    facilities = list(Facility.objects.filter(active=True).order_by("kind", "code"))
    for status in waiting:
        person = status.person
        fits = [f for f in facilities if f.accepts(status.category)]
        fits.sort(key=lambda f: (f.district_id != person.district_id, f.code))
        for facility in fits:
            try:
                with transaction.atomic():  # a refused admission leaves no reservation behind
                    stay = do_reserve_bed(facility, person, status.category, reference="demo")
                    if admitted < ADMIT:
                        stay = do_admit(stay, None)
            except (BedError, TransitionRefused):
                continue
            if stay.status == "admitted":
                admitted += 1
            else:
                reserved += 1
            break
    return admitted, reserved


def set_up(log=print) -> dict:
    """Returns what it made: facilities, bed reports, people admitted and beds reserved."""
    from geo.models import Compound, Division

    rng = np.random.default_rng(SEED)
    divisions = list(Division.objects.filter(level="district").values("code", "name", "level"))
    compounds = [
        {"grid_code": c["grid__code"], "lat": c["lat"], "lon": c["lon"]}
        for c in Compound.objects.filter(lat__isnull=False).values("grid__code", "lat", "lon")
    ]
    rows = facilities_for(divisions, rng, compounds)
    if not rows:
        log("  facilities       no districts: nothing to place")
        return {"facilities": 0, "bed_reports": 0, "admitted": 0, "reserved": 0}
    batch = run_import("facilities", _csv(rows), filename="facilities.csv", source="import")
    log(f"  facilities       {batch.rows:>9,} rows  {batch.inserted:>9,} new  {batch.rejected_total:>5} rejected")
    statuses = _bed_status_rows(timezone.now(), rng)
    reports = run_import("bed_status", _csv(statuses), filename="bed_status.csv", source="import")
    log(f"  bed_status       {reports.rows:>9,} rows  {reports.inserted:>9,} new  {reports.rejected_total:>5} rejected")
    admitted, reserved = _place_people(log)
    log(f"  beds             {admitted} people admitted, {reserved} beds reserved for transfers on their way")
    return {"facilities": batch.rows, "bed_reports": reports.inserted, "admitted": admitted, "reserved": reserved}

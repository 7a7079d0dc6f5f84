"""The demo's transport: a fleet with crews per district, the waiting people queued, one plan
published (crew drive tasks and grid hand-over tasks exist afterwards)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Avg

from beds.choices import DEFAULT_CATEGORIES, FacilityKind
from beds.models import Facility
from beds.services import do_report_counts
from core.choices import StaffRole
from dispatch import synth
from dispatch.models import CATEGORY_SEPARATOR, Vehicle
from dispatch.services import do_plan, sync_transfers
from geo.models import Compound, Division
from geo.services import do_assign

DEMO_PLAN_SECONDS = 5.0


def _districts() -> list[dict]:
    """Each district with the mean position of its compounds (its vehicles' base)."""
    centres = {
        row["grid__district_id"]: row
        for row in Compound.objects.filter(lat__isnull=False)
        .values("grid__district_id")
        .annotate(lat=Avg("lat"), lon=Avg("lon"))
    }
    out = []
    for district in Division.objects.filter(level="district").order_by("code"):
        centre = centres.get(district.pk)
        if centre:
            out.append({"id": district.pk, "code": district.code, "lat": centre["lat"], "lon": centre["lon"]})
    return out


def _demo_facilities(districts: list[dict], rng: np.random.Generator, log: Callable[..., None]) -> None:
    """A few facilities of every kind when the bed register is still empty."""
    kinds = [
        FacilityKind.DESIGNATED_HOSPITAL,
        FacilityKind.SHELTER_HOSPITAL,
        FacilityKind.CENTRAL_ISOLATION,
        FacilityKind.QUARANTINE_HOTEL,
    ]
    beds = {"designated_hospital": 40, "shelter_hospital": 200, "central_isolation": 60, "quarantine_hotel": 120}
    for i, kind in enumerate(kinds * 2):
        district = districts[i % len(districts)]
        facility = Facility.objects.create(
            code=f"DEMO-{i + 1:02d}",
            name=f"{FacilityKind(kind).label} {i + 1}",
            kind=kind,
            categories=CATEGORY_SEPARATOR.join(DEFAULT_CATEGORIES[kind]),
            district_id=district["id"],
            lat=float(district["lat"]) + float(rng.normal(0, 0.02)),
            lon=float(district["lon"]) + float(rng.normal(0, 0.02)),
        )
        do_report_counts(facility, approved=beds[kind], open_=beds[kind], occupied=beds[kind] // 2)
    log("  facilities               8 (for transport: the city had none)")


def set_up(log: Callable[..., None] = print, seed: int = 8) -> dict:
    """Vehicles with crew accounts (crew-<code>, a cadre assignment in the vehicle's district), the
    waiting people as transfers, one plan published. Re-running adds no second fleet."""
    rng = np.random.default_rng(seed)
    districts = _districts()
    if not districts:
        log("  dispatch         no districts with compounds: skipped")
        return {}
    if not Facility.objects.exists():
        _demo_facilities(districts, rng, log)
    if not Vehicle.objects.exists():
        users = get_user_model()
        nodes = {d.pk: d for d in Division.objects.filter(pk__in=[d["id"] for d in districts])}
        for row in synth.vehicles_for(districts, rng):
            crew, created = users.objects.get_or_create(username=f"crew-{row['code'].lower()}")
            if created:
                crew.set_unusable_password()
                crew.save(update_fields=["password"])
                do_assign(crew, nodes[row["district"]], StaffRole.CADRE)
            Vehicle.objects.create(
                code=row["code"],
                kind=row["kind"],
                seats=row["seats"],
                base_lat=row["lat"],
                base_lon=row["lon"],
                district=nodes[row["district"]],
                categories=CATEGORY_SEPARATOR.join(row["categories"]),
                crew=crew,
            )
        log(f"  vehicles         {Vehicle.objects.count():>9,} with crews")
    synced = sync_transfers()
    record = do_plan(seconds=DEMO_PLAN_SECONDS, sync=False)
    log(
        f"  dispatch         {synced['queued']:>9,} transfers queued; plan {record.pk}: {record.transfers} planned, "
        f"{record.no_destination} without a destination, {record.km:,.0f} km"
    )
    return {"queued": synced["queued"], "plan": record.pk, **record.summary}

"""The workforce on the demo city: rosters for every grid (workforce.synth) imported through the real
import kinds — workers, the last 30 days of duty up to yesterday, training completions — a
``counsellor`` login if the demo has none, and a rotation plan proposed from today for the street
of the ``street`` demo login (the busiest street of the busiest district), which keeps every grid
staffed and gives everyone rest within the limit. A second call changes nothing."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow as pa
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.choices import StaffRole
from core.imports.runner import run_import
from core.roles import grant_role
from geo.models import Division
from workforce.choices import PlanStatus
from workforce.models import RotationPlan
from workforce.services import do_propose_plan
from workforce.synth import generate_workforce

SEED = 2020
DAYS = 30


def _divisions() -> pa.Table:
    rows = list(Division.objects.order_by("code").values("code", "level"))
    return pa.table({"code": [r["code"] for r in rows], "level": [r["level"] for r in rows]})


def demo_street() -> Division | None:
    """The street of the ``street`` demo login, else the street with the most workers."""
    user = get_user_model().objects.filter(username="street").first()
    if user is not None:
        found = user.assignments.filter(division__level="street").select_related("division").first()
        if found is not None:
            return found.division
    from synth.demo import _busiest

    streets = Division.objects.filter(level="street")
    return _busiest("street") if streets.exists() else None


def _ensure_counsellor() -> bool:
    user_model = get_user_model()
    if user_model.objects.filter(username="counsellor").exists():
        return False
    user = user_model.objects.create_user("counsellor", first_name="心理咨询师")
    user.set_unusable_password()  # create_demo_staff gives the demo's one a password
    user.save()
    grant_role(user, StaffRole.COUNSELLOR)
    return True


def set_up(log=print) -> dict:
    """Returns what it made: rows inserted per kind, the plan proposed (or None) and its shortfall."""
    today = timezone.localdate()
    tables = generate_workforce(_divisions(), seed=SEED, end=today - dt.timedelta(days=1), days=DAYS)
    made: dict = {}
    with tempfile.TemporaryDirectory(prefix="linli-workforce-") as tmp:
        for kind, path in tables.write(Path(tmp)).items():
            batch = run_import(kind, path.read_bytes(), filename=path.name, source="import", max_bytes=0)
            made[kind] = batch.inserted
            log(f"  {kind:<16} {batch.rows:>9,} rows  {batch.inserted:>9,} new  {batch.rejected_total:>5} rejected")
    made["counsellor_created"] = _ensure_counsellor()
    street = demo_street()
    made["plan"] = None
    if (
        street is not None
        and not RotationPlan.objects.filter(
            area=street, starts_on=today, status__in=(PlanStatus.PROPOSED, PlanStatus.ACCEPTED)
        ).exists()
    ):
        plan = do_propose_plan(street, today)
        made["plan"] = plan.pk
        made["short"] = plan.shortfall
        log(
            f"  rotation plan    {street.name}: {plan.workers} workers, {plan.grids} grids, {plan.days} days, "
            f"{plan.shortfall} person-days short, solved in {plan.solve_seconds:.2f} s"
        )
    return made

"""The demo's early warning (issue #9, item 6): three years of pharmacy sales and school roll
calls up to yesterday, imported through the real import path, with an outbreak seeded in the
busiest district over the last days; then the daily run judges the last week, so the demo opens
with a real alert and its verification task."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from django.utils import timezone

from core.imports.runner import run_import
from ewarn.services import days_to_judge, do_run_day
from geo.models import Division
from people.models import NodeCount
from synth.city import generate_city
from synth.signals import generate_signal_history
from synth.writer import write_tables


def _busiest_district() -> str | None:
    row = NodeCount.objects.filter(level="district").order_by("-residents").values_list("node_id", flat=True).first()
    return Division.objects.filter(pk=row).values_list("code", flat=True).first() if row else None


def set_up(residents: int, seed: int, log=print) -> dict:
    today = timezone.localdate()
    history = generate_signal_history(
        generate_city(residents, seed), end=today - dt.timedelta(days=1), seed=seed, district=_busiest_district()
    )
    with tempfile.TemporaryDirectory(prefix="linli-ewarn-") as tmp:
        for kind, path in write_tables(history.tables(), Path(tmp)).items():
            batch = run_import(kind, path.read_bytes(), filename=path.name, source="import", max_bytes=0)
            log(f"  {kind:<16} {batch.rows:>9,} rows  {batch.inserted:>9,} new  {batch.rejected_total:>5} rejected")
    runs = [do_run_day(day) for day in days_to_judge(today)]
    opened = sum(r.alerts_opened for r in runs)
    log(f"  early warning: {len(runs)} days judged, {sum(r.alarms for r in runs)} alarms, {opened} alerts")
    return {"outbreak": history.outbreak_communities, "alerts": opened}

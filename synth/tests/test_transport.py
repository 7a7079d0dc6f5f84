"""`linli synth --transport`: facilities the import takes whole, vehicles and transfer requests within
the city's compounds."""

from __future__ import annotations

import csv
import json
from io import StringIO

import pytest
from django.core.management import call_command

from core.imports.runner import run_import

CITY_KINDS = ("divisions", "compounds", "buildings")


@pytest.mark.django_db
def test_transport_files_import_and_lie_in_the_city(tmp_path):
    out = StringIO()
    call_command(
        "synth", "--out", str(tmp_path), "--residents", "3000", "--transport", "--transfers", "80", "--json", stdout=out
    )
    summary = json.loads(out.getvalue())["transport"]
    assert summary["transfer_requests"]["rows"] == 80 and summary["vehicles"]["rows"] > 0
    for kind in CITY_KINDS:
        assert run_import(kind, (tmp_path / f"{kind}.csv").read_bytes(), filename=f"{kind}.csv").status == "done"
    batch = run_import("facilities", (tmp_path / "facilities.csv").read_bytes(), filename="facilities.csv")
    assert batch.status == "done" and batch.rejected_total == 0 and batch.inserted == summary["facilities"]["rows"]
    with (tmp_path / "compounds.csv").open(encoding="utf-8") as f:
        compounds = [(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f) if r["lat"]]
    lat = [c[0] for c in compounds]
    lon = [c[1] for c in compounds]
    with (tmp_path / "transfer_requests.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            assert min(lat) <= float(row["lat"]) <= max(lat) and min(lon) <= float(row["lon"]) <= max(lon)
            assert int(row["waiting_since_s"]) <= 0

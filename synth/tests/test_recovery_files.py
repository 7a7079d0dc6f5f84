"""``linli synth --recovery`` writes the restart's files (issue #12, item 5), and they import."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from core.imports.runner import run_import

RECOVERY_FILES = {
    "units",
    "unit_status",
    "staff_back",
    "relief_banks",
    "relief_products",
    "relief_funds",
    "relief_applications",
    "loan_decisions",
    "workers",
    "duty_roster",
    "training_completions",
    "renovation_projects",
    "renovation_targets",
    "renovation_works",
}


@pytest.mark.django_db
def test_recovery_files_are_written_and_the_register_kinds_import(tmp_path):
    out = StringIO()
    call_command(
        "synth", "--out", str(tmp_path), "--residents", "1500", "--seed", "4", "--recovery", "--json", stdout=out
    )
    summary = json.loads(out.getvalue())
    assert set(summary["recovery"]) == RECOVERY_FILES
    for name in RECOVERY_FILES:
        assert (tmp_path / f"{name}.csv").stat().st_size > 0, name
    for kind in ("divisions", "compounds", "buildings", "venues", "units", "workers", "duty_roster"):
        path = tmp_path / f"{kind}.csv"
        batch = run_import(kind, path.read_bytes(), filename=path.name, max_bytes=0)
        assert batch.inserted > 0 and not batch.rejected, (kind, batch.rejected)

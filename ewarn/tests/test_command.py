"""`linli ewarn …` and `linli synth --signals` as an operator runs them."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command

from core.imports.runner import run_import
from ewarn.models import Alert, DetectionRun
from ewarn.tests.support import DAY, sales_history

pytestmark = pytest.mark.django_db


def _call(*args: str) -> str:
    out = StringIO()
    call_command("ewarn", *args, stdout=out)
    return out.getvalue()


def test_evaluate_prints_the_table_beside_the_published_figures_and_saves_plots(tmp_path):
    out = _call("evaluate", "--quick", "--plot", str(tmp_path / "eval.png"))
    for detector in ("CIDARS moving percentile", "EARS C1", "EARS C3", "Poisson CUSUM", "Improved Farrington"):
        assert detector in out
    assert "60.1 / 97.0 / 1.12" in out and "92.7 / 95.0 / 2.1" in out  # Hutwagner 2005; CIDARS HFMD
    for frequency in ("weekly", "daily"):
        assert (tmp_path / f"eval-{frequency}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_as_configured_uses_the_policy_s_parameters(tmp_path):
    report = json.loads(_call("evaluate", "--quick", "--policy", "--frequency", "daily", "--json"))
    settings = report[0]["settings"]
    assert settings["detectors"]["cidars"]["percentile"] == 90  # the policy's, not the default 80


def test_run_judges_a_day_and_alerts_lists_what_it_found(city, epidemiologist, quick_scan):
    sales_history({DAY: 150})
    out = _call("run", "--date", DAY.isoformat())
    assert out.startswith(f"{DAY}: ") and "1 new alerts" in out
    assert DetectionRun.objects.get().day == DAY
    listed = json.loads(_call("alerts", "--json"))
    assert [a["area"] for a in listed] == [Alert.objects.get().area.name]


def test_recount_rebuilds_the_days_asked(city):
    sales_history()
    out = _call("recount", "--from", "2026-11-01", "--to", "2026-11-10", "--signal", "antipyretic")
    assert out.startswith("20 community-day counts from 2026-11-01 to 2026-11-10")


def test_synth_signals_writes_files_the_importers_take(tmp_path):
    out = StringIO()
    call_command(
        "synth",
        "--out",
        str(tmp_path),
        "--residents",
        "3000",
        "--seed",
        "3",
        "--signals",
        "--signal-days",
        "60",
        "--signal-end",
        "2026-11-27",
        "--json",
        stdout=out,
    )
    summary = json.loads(out.getvalue())["signals"]
    assert summary["last_day"] == "2026-11-27"
    assert summary["first_day"] == (dt.date(2026, 11, 27) - dt.timedelta(days=5)).isoformat()
    truth = json.loads((tmp_path / "signals_truth.json").read_text())
    assert truth["outbreak_communities"] == summary["outbreak_communities"]
    rows = summary["files"]["pharmacy_sales"]["rows"]
    assert rows > 0 and rows % (60 * 3) == 0  # one pharmacy per community, three classes, every day
    call_command("synth", "--out", str(tmp_path), "--residents", "3000", "--seed", "3", stdout=StringIO())
    for kind in ("divisions", "compounds", "buildings", "venues", "pharmacy_sales", "school_absence"):
        batch = run_import(kind, (tmp_path / f"{kind}.csv").read_bytes(), filename=f"{kind}.csv", max_bytes=0)
        assert batch.rejected_total == 0, (kind, batch.summary()["rejected"])
    sent = summary["files"]["school_absence"]["rows"]  # a small city may have no school: a header only
    assert batch.inserted == sent and rows > 0

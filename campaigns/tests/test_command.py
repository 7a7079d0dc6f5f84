"""`linli campaign …` on the small city: plan, sites, publish, status, recount, door-to-door."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign, Slot
from core.imports.runner import run_import
from tasks.models import Task
from tests_support.city import to_csv

SITES = (
    "site_code,name,lat,lon,grid_code,capacity_per_hour,opens,closes\n"
    "S1,一号采样点,30.60,114.30,420102001001001,60,08:00,20:00\n"
    "S2,二号采样点,30.61,114.31,420106001001001,60,08:00,20:00\n"
)


def run(*args: str) -> str:
    out = StringIO()
    call_command("campaign", *args, stdout=out)
    return out.getvalue()


def test_a_campaign_from_the_command_line(city, tmp_path):
    assert "40 residents" in run(
        "plan", "may", "--name", "五月筛查", "--area", "420100000000", "--start", "2020-05-22", "--pool-size", "5"
    )
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES, encoding="utf-8")
    assert "2 new" in run("sites", "may", str(sites))
    assert Slot.objects.filter(campaign__code="may").count() == len(city.compounds)
    assert "40 residents" in run("publish", "may")
    people = sorted(city.residents)[:5]
    run_import(
        "pool_members",
        to_csv([{"pool_id": "T1", "id_number": p, "sampled_at": "2020-05-22T09:00:00+08:00"} for p in people]),
        filename="m.csv",
    )
    status = json.loads(run("status", "may", "--level", "grid", "--json"))
    assert status["total"]["tested"] == 5 and status["total"]["untested"] == 35
    assert len(status["rows"]) == 4 and status["lab"]["waiting"] == 1
    assert "0 differed" in run("recount", "may")
    assert "door-to-door tasks opened" in run("door-to-door", "may", "--grid", "420102001001001")
    assert Task.objects.filter(task_type="door_to_door").count() == 2  # the grid's two buildings
    assert Campaign.objects.get(code="may").notices_published_at is not None


def test_bad_sites_are_refused_whole_with_every_line(city, tmp_path):
    run("plan", "may", "--name", "x", "--area", "420100000000", "--start", "2020-05-22")
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES + "S3,三号,30.6,114.3,999,0,08:00,07:00\nS4,short\n", encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        run("sites", "may", str(sites))
    assert "Line 4" in str(refused.value) and "Line 5" in str(refused.value)
    with pytest.raises(CommandError):
        run("plan", "bad", "--name", "x", "--area", "nowhere", "--start", "2020-05-22")

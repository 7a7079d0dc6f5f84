"""The demo's workforce, and issue #12 item 3's done-when through HTTP as the street user: a rotation
plan for the street keeps every grid staffed every day and nobody over the limit; then it is accepted."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.utils import timezone

from core.choices import StaffRole
from tests_support.clients import token_client
from workforce import demo
from workforce.models import Completion, DutyDay, RotationPlan, Worker
from workforce.synth import generate_workforce


def test_synth_is_deterministic_and_matches_the_import_kinds(city):
    tables = demo._divisions()
    end = timezone.localdate()
    a = generate_workforce(tables, seed=7, end=end)
    b = generate_workforce(tables, seed=7, end=end)
    assert all(a.tables()[k].equals(b.tables()[k]) for k in a.tables())
    assert a.workers.num_rows >= 2 * 4  # 4 grids, 2–4 workers each
    assert set(a.workers.column_names) == {"worker_code", "name", "kind", "grid_code", "phone", "organisation", "since"}
    assert set(a.duty_roster.column_names) == {"worker_code", "date", "grid_code", "hours"}
    assert generate_workforce(tables, seed=8, end=end).workers.column("name") != a.workers.column("name")


def test_demo_set_up_and_the_done_when(city):
    street = city.staff("street", StaffRole.STREET, city.divisions["420102001000"])
    lines: list[str] = []
    made = demo.set_up(log=lines.append)
    assert made["workers"] == Worker.objects.count() > 0
    assert made["duty_roster"] == DutyDay.objects.count() > 0
    assert made["training_completions"] == Completion.objects.count() > 0
    assert made["counsellor_created"] is True and made["short"] == 0
    assert get_user_model().objects.get(username="counsellor").has_perm("workforce.counsel")
    demo_plan = RotationPlan.objects.get(pk=made["plan"])
    assert demo_plan.area.code == "420102001000"
    # long streaks as in 2020: someone in the street had worked the whole month
    assert max(demo_plan.plan_days.values_list("run", flat=True)) <= 6

    again = demo.set_up(log=lines.append)
    assert again == {
        "workers": 0,
        "duty_roster": 0,
        "training_completions": 0,
        "counsellor_created": False,
        "plan": None,
    }

    client = token_client(street)
    today = timezone.localdate()
    proposed = client.post(
        "/api/workforce/plans",
        json.dumps({"area_id": city.divisions["420102001000"].pk, "starts_on": today.isoformat()}),
        content_type="application/json",
    )
    assert proposed.status_code == 201, proposed.content
    plan = proposed.json()
    assert plan["staffed_every_day"] and plan["shortfall"] == 0 and plan["shortfalls"] == []
    assert all(min(g["on_duty"]) >= g["minimum"] for g in plan["grid_days"])
    assert plan["longest_run"] <= 6 and plan["max_consecutive_days"] == 6
    for w in plan["worker_days"]:
        assert all(run <= 6 for run in w["runs"]) and w["rest_days"] >= 1
    accepted = client.post(f"/api/workforce/plans/{plan['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"

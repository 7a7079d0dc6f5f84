"""`linli care visits-due [--open-tasks]`, the daily job, and the demo set-up."""

from __future__ import annotations

import datetime as dt
import io
import json

from django.core.management import call_command
from django.utils import timezone

from care.choices import OrderStatus
from care.demo import set_up
from care.models import CareVisit, GroupOrder, HouseholdDelivery
from care.tests.support import members_since
from core.jobs import PERIODIC, enqueue
from tasks.choices import TaskType
from tasks.models import Task


def run(*args) -> str:
    out = io.StringIO()
    call_command("care", *args, stdout=out)
    return out.getvalue()


def test_visits_due_counts_by_community_and_opens_tasks(city):
    members_since(10)  # elderly (weekly) overdue, the chronic-only due in 4 days
    text = run("visits-due")
    assert "江岸社区" in text and "武昌社区" in text
    assert text.splitlines()[-1].split() == ["total", "24", "0", "8"]
    soon = json.loads(run("visits-due", "--json", "--today", (timezone.localdate() + dt.timedelta(days=1)).isoformat()))
    by_community = {r["community"]: (r["due_soon"], r["overdue"]) for r in soon["rows"]}
    assert by_community == {"江岸社区": (8, 4), "武昌社区": (8, 4)}
    assert soon["opened"] is None
    assert run("visits-due", "--open-tasks").splitlines()[-1] == "8 care_visit tasks opened"
    assert "0 care_visit tasks opened" in run("visits-due", "--open-tasks")


def test_the_daily_job_is_registered_and_opens_nothing_twice(city):
    assert (1440, "care.overdue_visits") in PERIODIC
    members_since(30)
    assert enqueue("care.overdue_visits").result == {"opened": 24}
    assert enqueue("care.overdue_visits").result == {"opened": 0}


def test_demo_set_up(city):
    from gates.choices import ClosureRule
    from gates.services import do_close

    now = timezone.now()
    compound = city.compounds["420106001001002-01"]
    do_close(
        compound, rule=ClosureRule.IN_ONLY, starts_at=now, ends_at=now + dt.timedelta(days=14), reason="确诊", user=None
    )
    result = set_up()
    assert result["visits"] == 24 == CareVisit.objects.count()
    assert result["overdue_tasks"] == 8 == Task.objects.filter(task_type=TaskType.CARE_VISIT).count()
    order = GroupOrder.objects.get(pk=result["order"])
    assert order.building.compound_id == compound.pk and order.closure.compound_id == compound.pk
    assert order.status == OrderStatus.DELIVERING and result["households"] == 3
    assert HouseholdDelivery.objects.filter(order=order).count() == 1
    assert Task.objects.filter(task_type=TaskType.DELIVER, subject_building=order.building).count() == 1

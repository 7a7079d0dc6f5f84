"""The demo reserve lists: every tier, movements that add up, and a shortfall alert."""

from __future__ import annotations

from django.db.models import F, Sum

from beds.models import Facility
from supplies import demo
from supplies.choices import DepotTier
from supplies.models import Depot, Movement, Stock
from tasks.choices import TaskType
from tasks.flow import OPEN
from tasks.models import Task


def test_demo_reserves_show_a_shortfall_alert(city):
    Facility.objects.create(
        code="H001",
        name="金银潭医院",
        kind="designated_hospital",
        categories="confirmed",
        district=city.divisions["420102000000"],
    )
    lines = []
    made = demo.set_up(log=lines.append)
    assert made["depots"] == 1 + 2 + 1 + 2 and made["shortfalls"] >= 1
    assert set(Depot.objects.values_list("tier", flat=True)) == set(DepotTier.values)
    for stock in Stock.objects.annotate(total=Sum("movements__change")):
        assert stock.total == stock.quantity
    short = Stock.objects.filter(quantity__lt=F("minimum"))
    open_tasks = Task.objects.filter(task_type=TaskType.RESTOCK, status__in=OPEN)
    assert set(short.values_list("shortfall_task_id", flat=True)) == set(open_tasks.values_list("pk", flat=True))
    assert Movement.objects.filter(kind="transfer_in", stock__depot__tier=DepotTier.HOSPITAL).exists()
    assert demo.set_up(log=lines.append) == {"depots": 0}
    assert "below minimum" in lines[0]


def test_demo_without_facilities(city):
    made = demo.set_up(log=lambda _line: None)
    assert made["depots"] == 5 and made["shortfalls"] >= 1

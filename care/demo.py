"""Key-group care on the demo city: a few visits (some long ago, so their next visit is overdue and
tasks open for the grid workers), and a group order in a building under closed management with a
few households' lines and one confirmed delivery."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from care.choices import VISITED_GROUPS, DeliveryOutcome, Need, OrderKind, VisitKind, Wellbeing
from care.services import (
    ItemSpec,
    do_close_ordering,
    do_confirm_deliveries,
    do_open_order,
    do_set_household_lines,
    do_start_delivery,
)
from care.visits import do_open_overdue_visits, do_record_visit
from people.models import KeyGroupMembership, Resident

VISITS = 24
ORDER_HOUSEHOLDS = 5
DEMO_ITEMS = (
    ItemSpec("蔬菜包 / vegetable box", "5 kg", Decimal("30.00")),
    ItemSpec("大米 / rice", "10 kg", Decimal("55.00")),
    ItemSpec("鸡蛋 / eggs", "30", Decimal("25.00")),
)


def set_up(now: dt.datetime | None = None) -> dict:
    """Returns what it made: visits, overdue tasks opened, the order's id and its households."""
    now = now or timezone.now()
    people = list(
        Resident.objects.filter(
            pk__in=KeyGroupMembership.objects.filter(group__in=VISITED_GROUPS).values("resident_id"),
            merged_into__isnull=True,
        ).order_by("id")[:VISITS]
    )
    for i, person in enumerate(people):
        # every third visit three weeks ago: overdue for every group (weekly or fortnightly)
        days_ago = 21 if i % 3 == 0 else 1 + i % 5
        needs = [Need.MEDICINE] if i % 4 == 1 else [Need.GROCERIES, Need.MENTAL_HEALTH] if i % 4 == 3 else []
        do_record_visit(
            person,
            by=None,
            kind=(VisitKind.HOME, VisitKind.PHONE, VisitKind.VIDEO)[i % 3],
            wellbeing=Wellbeing.NEEDS_HELP if needs else Wellbeing.WELL,
            needs=needs,
            visited_at=now - dt.timedelta(days=days_ago, hours=i % 7),
        )
    opened = do_open_overdue_visits(timezone.localdate(now))
    return {"visits": len(people), "overdue_tasks": opened, **_group_order(now)}


def _group_order(now: dt.datetime) -> dict:
    from gates.models import Closure
    from geo.models import Building, Household

    closure = Closure.objects.filter(lifted_at__isnull=True, ends_at__gt=now).order_by("id").first()
    if closure is None:
        return {"order": None, "households": 0}
    building = (
        Building.objects.filter(compound_id=closure.compound_id)
        .filter(pk__in=Household.objects.filter(residents__isnull=False).values("building_id"))
        .order_by("code")
        .first()
    )
    if building is None:
        return {"order": None, "households": 0}
    order = do_open_order(
        building,
        title="封闭期间生活物资团购 / supplies while closed",
        kind=OrderKind.FOOD,
        supplier="中百仓储 / Zhongbai",
        closes_at=now + dt.timedelta(hours=12),
        items=DEMO_ITEMS,
        closure=closure,
        user=None,
    )
    items = list(order.items.order_by("id").values_list("pk", flat=True))
    lived_in = Household.objects.filter(building=building, residents__isnull=False).distinct()
    households = list(lived_in.order_by("id")[:ORDER_HOUSEHOLDS])
    for i, household in enumerate(households):
        resident = household.residents.order_by("id").first()
        do_set_household_lines(order, household, {items[0]: 1, items[i % 3]: 1 + i % 2}, resident=resident)
    do_close_ordering(order, None)
    do_start_delivery(order, None)
    do_confirm_deliveries(order, [households[0].pk], None, outcome=DeliveryOutcome.DELIVERED)
    return {"order": order.pk, "households": len(households)}

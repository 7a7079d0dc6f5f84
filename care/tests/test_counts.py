"""delivery_counts, which the command centre calls: group-order households delivered and the gates'
daily packages (food), by kind, under a place filter, optionally per node, in a time window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from care.services import (
    ItemSpec,
    delivery_counts,
    do_close_ordering,
    do_confirm_deliveries,
    do_set_household_lines,
    do_start_delivery,
)
from care.tests.support import open_order
from gates.choices import ClosureRule
from gates.services import do_close, do_open_supply_round, do_record_deliveries
from geo.models import Household


def deliver(order, households, outcome="delivered", user=None):
    item = order.items.first()
    for household in households:
        do_set_household_lines(order, household, {item.pk: 1}, user=user)
    do_close_ordering(order, user)
    do_start_delivery(order, user)
    do_confirm_deliveries(order, [h.pk for h in households[:-1]], user)
    do_confirm_deliveries(order, [households[-1].pk], user, outcome=outcome)


@pytest.fixture
def served(city, worker):
    """江岸 (420102): a food order (two delivered, one refused) and a medicine order (one delivered)
    in building 01-01; 武昌 (420106): the gates' vegetable packages in building 01-01 (two delivered,
    one nobody home) and one of them also had a food order delivered."""
    jiangan, wuchang = city.buildings["420102001001001-01-01"], city.buildings["420106001001001-01-01"]
    here = list(Household.objects.filter(building=jiangan).order_by("room"))
    there = list(Household.objects.filter(building=wuchang).order_by("room"))
    deliver(open_order(jiangan, worker), here, outcome="refused")
    deliver(open_order(jiangan, worker, kind="medicine", items=[ItemSpec("药", "盒", Decimal(9))]), here[:1])
    now = timezone.now()
    closure = do_close(
        wuchang.compound,
        rule=ClosureRule.IN_ONLY,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=14),
        reason="确诊",
        user=None,
    )
    package = do_open_supply_round(
        closure, wuchang, day=timezone.localdate(), item="蔬菜包", unit_price=Decimal(10), user=None
    )
    do_record_deliveries(package, [h.pk for h in there[:2]], None)
    do_record_deliveries(package, [there[2].pk], None, delivered=False, note="nobody home")
    deliver(open_order(wuchang, None), there[:1])  # the same household's food again: counted once
    return jiangan, wuchang


def window(hours: int = 1) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.now()
    return now - dt.timedelta(hours=hours), now + dt.timedelta(hours=hours)


def test_the_whole_city_by_kind(served):
    assert delivery_counts({}, *window()) == {None: {"food": 4, "medicine": 1, "other": 0}}


def test_filters_and_group_by(served, city):
    jiangan, wuchang = served
    assert delivery_counts({"community_id": jiangan.community_id}, *window()) == {
        None: {"food": 2, "medicine": 1, "other": 0}
    }
    assert delivery_counts({"building_id": wuchang.pk}, *window()) == {None: {"food": 2, "medicine": 0, "other": 0}}
    assert delivery_counts({}, *window(), group_by="district_id") == {
        jiangan.district_id: {"food": 2, "medicine": 1, "other": 0},
        wuchang.district_id: {"food": 2, "medicine": 0, "other": 0},
    }
    grid = city.grid("420102", 2)
    assert delivery_counts({"grid_id": grid.pk}, *window()) == {None: {"food": 0, "medicine": 0, "other": 0}}
    assert delivery_counts({"grid_id": grid.pk}, *window(), group_by="grid_id") == {}


def test_the_window_is_half_open(served):
    now = timezone.now()
    assert delivery_counts({}, now - dt.timedelta(days=2), now - dt.timedelta(days=1))[None]["food"] == 0
    assert delivery_counts({}, now + dt.timedelta(minutes=5), now + dt.timedelta(days=1))[None]["food"] == 0


def test_one_query(served, django_assert_num_queries):
    with django_assert_num_queries(1):
        delivery_counts({"district_id": served[0].district_id}, *window(), group_by="grid_id")


def test_unknown_columns_are_refused(city):
    with pytest.raises(ValueError):
        delivery_counts({"name": 1}, *window())
    with pytest.raises(ValueError):
        delivery_counts({}, *window(), group_by="household_id")

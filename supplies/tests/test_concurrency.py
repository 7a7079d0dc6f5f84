"""Two issues racing for the same stock on PostgreSQL: the row lock serialises them, so one is
refused rather than both passing the check and driving the stock negative (issue #8 bad input)."""

from __future__ import annotations

import pytest
from django.db import connection

from supplies.choices import MovementKind
from supplies.models import Movement, Stock
from supplies.services import StockError, do_record_movement, do_set_level, do_transfer
from tests_support.concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_racing_issues_never_go_negative(reserves):
    stock = do_set_level(reserves.community, reserves.n95, 0)
    do_record_movement(stock, MovementKind.RECEIPT, 100)
    issue = lambda: do_record_movement(Stock.objects.get(pk=stock.pk), MovementKind.ISSUE, 60)  # noqa: E731
    assert race(issue, issue, refused=StockError) == ["ok", "refused"]
    stock.refresh_from_db()
    assert stock.quantity == 40 and Movement.objects.filter(stock=stock).count() == 2


def test_crossing_transfers_do_not_deadlock(reserves):
    for depot in (reserves.district, reserves.community):
        do_record_movement(do_set_level(depot, reserves.n95, 0), MovementKind.RECEIPT, 50)
    there = lambda: do_transfer(reserves.district, reserves.community, reserves.n95, 10)  # noqa: E731
    back = lambda: do_transfer(reserves.community, reserves.district, reserves.n95, 20)  # noqa: E731
    assert race(there, back, there, back, refused=StockError) == ["ok"] * 4
    quantities = sorted(Stock.objects.filter(item=reserves.n95).values_list("quantity", flat=True))
    assert quantities == [30, 70]

"""Movements and the stock history; negative stock refused with nothing written; transfers both
halves or neither."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, transaction

from core.models import ChangeLog
from supplies import services
from supplies.choices import MovementKind
from supplies.models import Movement, Stock
from supplies.services import StockError, do_record_movement, do_set_level, do_transfer


def test_receipt_issue_count_make_the_history(reserves, worker):
    stock = do_set_level(reserves.community, reserves.n95, 0, worker)
    do_record_movement(stock, MovementKind.RECEIPT, 500, worker, reference="入库-1")
    do_record_movement(stock, MovementKind.ISSUE, 120, worker, note="网格员")
    do_record_movement(stock, MovementKind.ADJUSTMENT, 375, worker, reference="盘点")
    stock.refresh_from_db()
    assert stock.quantity == 375
    history = list(Movement.objects.filter(stock=stock).order_by("id").values_list("kind", "change", "balance"))
    assert history == [("receipt", 500, 500), ("issue", -120, 380), ("adjustment", -5, 375)]
    assert sum(change for _kind, change, _balance in history) == stock.quantity
    assert Movement.objects.filter(stock=stock, user=worker).count() == 3
    # the minimum level set is in the generic change log
    assert ChangeLog.objects.filter(model="supplies.stock", object_id=stock.pk).exists()


def test_bad_quantities_are_refused(reserves):
    stock = do_set_level(reserves.community, reserves.n95, 0)
    for kind, quantity in ((MovementKind.RECEIPT, 0), (MovementKind.ISSUE, -3), (MovementKind.ADJUSTMENT, -1)):
        with pytest.raises(StockError):
            do_record_movement(stock, kind, quantity)
    with pytest.raises(StockError):
        do_record_movement(stock, MovementKind.TRANSFER_IN, 5)
    assert not Movement.objects.exists()


def test_negative_stock_is_refused_and_nothing_is_written(reserves, worker):
    stock = do_set_level(reserves.community, reserves.n95, 0)
    do_record_movement(stock, MovementKind.RECEIPT, 50, worker)
    with pytest.raises(StockError, match="negative"):
        do_record_movement(stock, MovementKind.ISSUE, 51, worker)
    stock.refresh_from_db()
    assert stock.quantity == 50
    assert Movement.objects.filter(stock=stock).count() == 1


def test_the_database_refuses_negative_stock_too(reserves):
    stock = do_set_level(reserves.community, reserves.n95, 0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(quantity=-1)


def test_transfer_moves_both_halves(reserves, district_staff):
    source = do_set_level(reserves.district, reserves.n95, 0)
    do_record_movement(source, MovementKind.RECEIPT, 1000)
    transfer = do_transfer(reserves.district, reserves.community, reserves.n95, 300, district_staff, reference="调拨-1")
    source.refresh_from_db()
    target = Stock.objects.get(depot=reserves.community, item=reserves.n95)
    assert (source.quantity, target.quantity) == (700, 300)
    assert (transfer.out.change, transfer.into.change) == (-300, 300)
    assert transfer.out.counterpart_id == transfer.into.pk and transfer.into.counterpart_id == transfer.out.pk
    assert {transfer.out.reference, transfer.into.reference} == {"调拨-1"}


def test_transfer_beyond_stock_writes_nothing_on_either_side(reserves):
    source = do_set_level(reserves.district, reserves.n95, 0)
    do_record_movement(source, MovementKind.RECEIPT, 10)
    with pytest.raises(StockError, match="negative"):
        do_transfer(reserves.district, reserves.community, reserves.n95, 11)
    source.refresh_from_db()
    assert source.quantity == 10
    assert not Stock.objects.filter(depot=reserves.community).exists()
    assert Movement.objects.count() == 1
    with pytest.raises(StockError):
        do_transfer(reserves.district, reserves.district, reserves.n95, 1)
    with pytest.raises(StockError):
        do_transfer(reserves.community, reserves.district, reserves.n95, 1)  # keeps none


def test_a_failure_after_the_first_half_rolls_back_the_whole_transfer(reserves):
    source = do_set_level(reserves.district, reserves.n95, 0)
    do_record_movement(source, MovementKind.RECEIPT, 100)
    real_write = services._write

    def failing_write(stock, kind, *args, **kwargs):
        if kind == MovementKind.TRANSFER_IN:
            raise RuntimeError("disk full")
        return real_write(stock, kind, *args, **kwargs)

    with mock.patch.object(services, "_write", failing_write), pytest.raises(RuntimeError):
        do_transfer(reserves.district, reserves.community, reserves.n95, 40)
    source.refresh_from_db()
    assert source.quantity == 100
    assert Movement.objects.count() == 1
    assert not Stock.objects.filter(depot=reserves.community).exists()


def test_transfers_lock_in_id_order(reserves):
    """Both directions lock the lower stock id first (no deadlock between crossing transfers)."""
    a = do_set_level(reserves.district, reserves.n95, 0)
    b = do_set_level(reserves.community, reserves.n95, 0)
    do_record_movement(a, MovementKind.RECEIPT, 10)
    do_record_movement(b, MovementKind.RECEIPT, 10)
    seen = []
    real_locked = services._locked

    def spy(ids):
        rows = real_locked(ids)
        seen.append(list(rows))
        return rows

    with mock.patch.object(services, "_locked", spy):
        do_transfer(reserves.district, reserves.community, reserves.n95, 1)
        do_transfer(reserves.community, reserves.district, reserves.n95, 1)
    assert seen == [sorted([a.pk, b.pk])] * 2

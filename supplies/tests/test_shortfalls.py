"""Shortfall alerts: one restock task per episode, about the depot's area or hospital; the daily
re-check opens none twice and completes what was restocked."""

from __future__ import annotations

from core.jobs import enqueue
from supplies.choices import MovementKind
from supplies.models import Stock
from supplies.services import do_recheck_shortfalls, do_record_movement, do_set_level, do_transfer
from tasks.choices import TaskStatus, TaskType
from tasks.flow import OPEN
from tasks.models import Task


def restock_tasks():
    return Task.objects.filter(task_type=TaskType.RESTOCK)


def test_a_shortfall_opens_exactly_one_task_and_a_restock_completes_it(reserves, worker):
    stock = do_set_level(reserves.community, reserves.n95, 0, worker)
    do_record_movement(stock, MovementKind.RECEIPT, 150, worker)
    do_set_level(reserves.community, reserves.n95, 100, worker)
    assert not restock_tasks().exists()

    do_record_movement(stock, MovementKind.ISSUE, 80, worker)  # 70 < 100
    task = restock_tasks().get()
    assert task.subject_division_id == reserves.community.division_id
    assert task.community_id == reserves.community.division_id
    assert task.dedupe_key == f"restock:{stock.pk}:1" and task.status in OPEN
    assert "N95" in task.title

    do_record_movement(stock, MovementKind.ISSUE, 10, worker)  # still short: no second task
    assert do_recheck_shortfalls() == {"opened": 0, "completed": 0}
    assert restock_tasks().count() == 1

    do_record_movement(stock, MovementKind.RECEIPT, 40, worker)  # 100: back at the minimum
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED and "100" in task.feedback

    do_record_movement(stock, MovementKind.ISSUE, 1, worker)  # a new episode
    assert restock_tasks().filter(status__in=OPEN).get().dedupe_key == f"restock:{stock.pk}:2"
    assert restock_tasks().count() == 2


def test_raising_the_minimum_opens_and_lowering_it_completes(reserves):
    stock = do_set_level(reserves.district, reserves.suits, 0)
    do_record_movement(stock, MovementKind.RECEIPT, 20)
    do_set_level(reserves.district, reserves.suits, 50)
    task = restock_tasks().get()
    assert task.subject_division_id == reserves.district.division_id and task.district_id is not None
    do_set_level(reserves.district, reserves.suits, 20)
    task.refresh_from_db()
    assert task.status not in OPEN


def test_hospital_and_city_shortfalls_are_about_the_hospital_and_the_city(reserves):
    do_set_level(reserves.hospital, reserves.suits, 10)
    do_set_level(reserves.city, reserves.suits, 10)
    hospital_task = restock_tasks().get(subject_facility=reserves.hospital.facility)
    assert hospital_task.district_id == reserves.hospital.facility.district_id
    assert restock_tasks().filter(subject_division=reserves.city.division).count() == 1


def test_a_transfer_that_empties_a_depot_alerts_it_and_relieves_the_other(reserves):
    giver = do_set_level(reserves.district, reserves.n95, 100)
    taker = do_set_level(reserves.community, reserves.n95, 50)
    assert restock_tasks().filter(status__in=OPEN).count() == 2
    do_record_movement(giver, MovementKind.RECEIPT, 150)
    do_transfer(reserves.district, reserves.community, reserves.n95, 60)
    open_keys = set(restock_tasks().filter(status__in=OPEN).values_list("dedupe_key", flat=True))
    assert open_keys == {f"restock:{giver.pk}:2"}  # 90 < 100 again; the community has 60 ≥ 50
    assert restock_tasks().get(dedupe_key=f"restock:{taker.pk}:1").status not in OPEN


def test_the_daily_job_opens_once_and_completes(reserves):
    stock = do_set_level(reserves.community, reserves.n95, 0)
    do_record_movement(stock, MovementKind.RECEIPT, 20)
    do_set_level(reserves.community, reserves.n95, 10)
    other = do_set_level(reserves.other_community, reserves.n95, 0)
    do_record_movement(other, MovementKind.RECEIPT, 30)
    do_set_level(reserves.other_community, reserves.n95, 10)
    assert not restock_tasks().exists()
    # changed behind the actions' back (a fix in the database): only the daily check sees it
    Stock.objects.filter(pk__in=[stock.pk, other.pk]).update(quantity=5)
    job = enqueue("supplies.recheck_shortfalls")
    assert job.result == {"opened": 2, "completed": 0}
    assert enqueue("supplies.recheck_shortfalls").result == {"opened": 0, "completed": 0}
    # a task closed by hand while the stock is still short: the next check opens a new episode
    task = restock_tasks().get(dedupe_key=f"restock:{other.pk}:1")
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.CANCELLED)
    assert do_recheck_shortfalls() == {"opened": 1, "completed": 0}
    Stock.objects.filter(pk=stock.pk).update(quantity=10)
    assert do_recheck_shortfalls() == {"opened": 0, "completed": 1}
    assert restock_tasks().get(dedupe_key=f"restock:{stock.pk}:1").status not in OPEN
    assert restock_tasks().filter(status__in=OPEN).count() == 1

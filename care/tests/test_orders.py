"""Group orders end to end through the pages: staff open an order, residents of the building order
on their phones, staff close it (the supplier's totals), start delivery (a deliver task), volunteers
tick households off the delivery list until the order is done and the task completed; and the
refusals (closed, another building, out of jurisdiction, bad quantities)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from care.choices import DeliveryOutcome, OrderStatus
from care.flow import OrderTransitionError
from care.models import GroupOrder, GroupOrderEvent, HouseholdDelivery, HouseholdOrderLine
from care.services import (
    OrderError,
    do_cancel_order,
    do_close_ordering,
    do_confirm_deliveries,
    do_set_household_lines,
    do_start_delivery,
    item_totals,
)
from care.tests.support import browser, open_order, resident_browser
from core.models import ReadLog
from geo.models import Household
from people.models import Resident
from tasks.choices import TaskStatus, TaskType
from tasks.models import Task


def households_of(building) -> list[Household]:
    return list(Household.objects.filter(building=building).order_by("room"))


def someone_in(household) -> Resident:
    return household.residents.order_by("id").first()


def test_group_order_end_to_end_through_the_pages(city, building, worker, volunteer):
    staff = browser(worker)
    closes = (timezone.localtime() + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = staff.post(
        "/care/orders/new/",
        {
            "building": building.code,
            "title": "封控期间生活物资",
            "kind": "food",
            "supplier": "中百仓储",
            "closes_at": closes,
            "items": "大米, 10 kg, 55\n鸡蛋，30枚，25.5\n",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    order = GroupOrder.objects.get()
    assert response.url == f"/care/orders/{order.pk}/"
    assert (order.building_id, order.community_id, order.status) == (building.pk, building.community_id, "open")
    rice, eggs = order.items.order_by("id")

    h101, h102, h201 = households_of(building)
    first, second = resident_browser(someone_in(h101)), resident_browser(someone_in(h201))
    page = first.get("/me/care/")
    assert page.status_code == 200 and "封控期间生活物资" in page.content.decode()
    mine = f"/me/care/orders/{order.pk}/"
    assert first.post(mine, {f"item_{rice.pk}": "2", f"item_{eggs.pk}": "1"}).status_code == 302
    assert second.post(mine, {f"item_{rice.pk}": "1", f"item_{eggs.pk}": ""}).status_code == 302
    # changing one's mind: the household's lines are replaced, not added to
    assert first.post(mine, {f"item_{rice.pk}": "3", f"item_{eggs.pk}": "1"}).status_code == 302
    assert HouseholdOrderLine.objects.get(household=h101, item=rice).quantity == 3
    assert not HouseholdOrderLine.objects.filter(household=h201, item=eggs).exists()

    assert staff.post(f"/care/orders/{order.pk}/transition/", {"to": "ordered"}).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ORDERED
    detail = staff.get(f"/care/orders/{order.pk}/").content.decode()
    assert "Totals for the supplier" in detail
    assert {t["name"]: (t["quantity"], t["amount"]) for t in item_totals(order)} == {
        "大米": (4, Decimal("220.00")),
        "鸡蛋": (1, Decimal("25.50")),
    }
    late = first.post(f"/me/care/orders/{order.pk}/", {f"item_{rice.pk}": "9", f"item_{eggs.pk}": "9"}, follow=True)
    assert "takes no more orders" in late.content.decode()
    assert HouseholdOrderLine.objects.get(household=h101, item=rice).quantity == 3

    assert staff.post(f"/care/orders/{order.pk}/transition/", {"to": "delivering"}).status_code == 302
    order.refresh_from_db()
    task = Task.objects.get(task_type=TaskType.DELIVER)
    assert order.task_id == task.pk and task.subject_building_id == building.pk
    assert task.assignee_id == volunteer.pk  # the building's answerable person

    lists = browser(volunteer)
    sheet = lists.get(f"/care/orders/{order.pk}/deliveries/")
    html = sheet.content.decode()
    assert sheet.status_code == 200 and "大米 × 3" in html and "@media print" in html
    member = h101.residents.exclude(phone="").order_by("birth_date", "id").first()
    assert member.masked_phone in html and member.phone not in html
    assert ReadLog.objects.filter(user=volunteer, model="people.resident", object_id=member.pk).exists()
    xlsx = lists.get(f"/care/orders/{order.pk}/deliveries/", {"format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[1][:5] == ("Unit", "Room", "Phone", "大米 (10 kg)", "鸡蛋 (30枚)")
    assert rows[2][:5] == ("1", "101", member.masked_phone, 3, 1) and rows[-1][3:5] == (4, 1)

    url = f"/care/orders/{order.pk}/deliveries/"
    assert lists.post(url, {"household": [h101.pk], "outcome": "delivered"}).status_code == 302
    assert lists.post(url, {"household": [h101.pk], "outcome": "refused"}).status_code == 302  # idempotent
    assert HouseholdDelivery.objects.get(household=h101).outcome == DeliveryOutcome.DELIVERED
    assert lists.post(url, {"household": [h102.pk], "outcome": "delivered"}).status_code == 302  # ordered nothing
    assert HouseholdDelivery.objects.count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERING
    assert lists.post(url, {"household": [h201.pk], "outcome": "nobody_home", "note": "敲门无人"}).status_code == 302
    order.refresh_from_db()
    task.refresh_from_db()
    assert order.status == OrderStatus.DONE
    assert task.status == TaskStatus.CLOSED and task.feedback == "1 of 2 households delivered"
    assert list(GroupOrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == [
        "open",
        "ordered",
        "delivering",
        "done",
    ]


def test_residents_are_refused_for_another_building_and_bad_quantities(city, building, worker):
    order = open_order(building, worker)
    rice, _eggs = order.items.order_by("id")
    elsewhere = Resident.objects.exclude(building=building).order_by("id").first()
    stranger = resident_browser(elsewhere)
    refused = stranger.get(f"/me/care/orders/{order.pk}/")
    assert refused.status_code == 403 and "another building" in refused.content.decode()
    assert stranger.post(f"/me/care/orders/{order.pk}/", {f"item_{rice.pk}": "1"}).status_code == 403
    assert "团购" not in stranger.get("/me/care/").content.decode()
    me = resident_browser(someone_in(households_of(building)[0]))
    for bad in ("-1", "100", "1.5", "9999999999"):
        assert me.post(f"/me/care/orders/{order.pk}/", {f"item_{rice.pk}": bad}).status_code == 400
    assert not HouseholdOrderLine.objects.exists()
    GroupOrder.objects.filter(pk=order.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=1))
    closed = me.post(f"/me/care/orders/{order.pk}/", {f"item_{rice.pk}": "1"}, follow=True)
    assert "takes no more orders" in closed.content.decode() and not HouseholdOrderLine.objects.exists()
    assert me.get(f"/me/care/orders/{order.pk}/").status_code == 200


def test_services_refuse_what_does_not_apply(city, building, worker):
    order = open_order(building, worker)
    rice, _eggs = order.items.order_by("id")
    here, other = households_of(building)[0], Household.objects.exclude(building=building).first()
    with pytest.raises(OrderError):
        do_set_household_lines(order, other, {rice.pk: 1}, user=worker)
    with pytest.raises(OrderError):
        do_set_household_lines(order, here, {rice.pk: -2}, user=worker)
    with pytest.raises(OrderError):
        do_set_household_lines(order, here, {rice.pk: 10**6}, user=worker)
    with pytest.raises(OrderError):
        do_set_household_lines(order, here, {rice.pk + 1000: 1}, user=worker)
    with pytest.raises(OrderError):
        do_close_ordering(order, worker)  # nobody ordered
    with pytest.raises(OrderError):
        do_confirm_deliveries(order, [here.pk], worker)  # not delivering yet
    do_set_household_lines(order, here, {rice.pk: 2}, user=worker)
    with pytest.raises(OrderTransitionError):
        do_start_delivery(order, worker)  # open → delivering skips ordered
    do_cancel_order(order, worker)
    with pytest.raises(OrderTransitionError):
        do_close_ordering(order, worker)
    assert GroupOrder.objects.get().status == OrderStatus.CANCELLED


def test_medicine_orders_are_tracked_the_same_way(city, building, worker):
    from care.services import ItemSpec

    order = open_order(building, worker, kind="medicine", items=[ItemSpec("二甲双胍", "盒", Decimal("18"))])
    (pills,) = order.items.all()
    chronic = Resident.objects.filter(building=building, key_groups__group="chronic").first()
    do_set_household_lines(order, chronic.household, {pills.pk: 2}, resident=chronic)
    do_close_ordering(order, worker)
    do_start_delivery(order, worker)
    assert do_confirm_deliveries(order, [chronic.household_id], worker) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.DONE and order.kind == "medicine"


def test_staff_pages_are_scoped_and_need_the_permission(city, building, worker, volunteer, outsider):
    order = open_order(building, worker)
    other = browser(outsider)
    for url in (f"/care/orders/{order.pk}/", f"/care/orders/{order.pk}/deliveries/"):
        assert other.get(url).status_code == 404
    assert other.post(f"/care/orders/{order.pk}/transition/", {"to": "cancelled"}).status_code == 404
    assert "团购" not in other.get("/care/orders/").content.decode()
    mine = browser(worker)
    assert "团购" in mine.get("/care/orders/").content.decode()
    # the volunteer sees the order and its delivery list but may not run it
    helper = browser(volunteer)
    assert helper.get(f"/care/orders/{order.pk}/").status_code == 200
    assert helper.post(f"/care/orders/{order.pk}/transition/", {"to": "cancelled"}).status_code == 403
    assert helper.get("/care/orders/new/").status_code == 403
    refused = mine.post(
        "/care/orders/new/",
        {
            "building": city.buildings["420106001001001-01-01"].code,
            "title": "x",
            "kind": "food",
            "closes_at": (timezone.localtime() + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "items": "米, 袋, 10",
        },
    )
    assert refused.status_code == 200 and "No building with this code in your jurisdiction" in refused.content.decode()
    bad_items = mine.post(
        "/care/orders/new/",
        {
            "building": building.code,
            "title": "x",
            "kind": "food",
            "closes_at": (timezone.localtime() + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "items": "米, 袋, cheap",
        },
    )
    assert "Line 1" in bad_items.content.decode()
    assert GroupOrder.objects.count() == 1


def test_an_order_in_a_closed_compound_is_tied_to_its_closure(city, building, worker):
    from care.services import closure_over
    from gates.choices import ClosureRule
    from gates.services import do_close

    now = timezone.now()
    closure = do_close(
        building.compound,
        rule=ClosureRule.IN_ONLY,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=14),
        reason="确诊病例",
        user=None,
    )
    assert closure_over(building) == closure
    assert closure_over(city.buildings["420106001001001-01-01"]) is None

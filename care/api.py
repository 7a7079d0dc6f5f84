"""The care API (issue #7 items 3 and 4): visits due and recording a visit; group orders (list,
open, lines on a household's behalf, status moves, delivery outcomes).

Auth is global (linli.api). Everything is read through core.scoping, so what is outside the caller's
jurisdiction answers 404 like what is missing; changes need ``care.manage_care``, except delivery
outcomes, which anyone with the building in their jurisdiction may record (as on the delivery list).
People come masked and are read-logged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from care import services
from care.choices import VISITED_GROUPS, DeliveryOutcome, OrderStatus
from care.flow import OrderTransitionError
from care.models import GroupOrder
from care.visits import VisitError, as_due, do_record_visit, due_rows
from core.audit import log_reads
from core.choices import ReadAction
from core.paging import RowId, window
from core.scoping import get_scoped_or_404, restrict
from geo.models import Building, Household
from people.models import Resident
from people.services import parse_node

router = Router(tags=["care"])
MANAGE = "care.manage_care"
MAX_LIMIT = 500


def _require_manage(request) -> None:
    if not request.user.has_perm(MANAGE):
        raise HttpError(403, "care.manage_care needed")


# --- visits ----------------------------------------------------------------------------------------


class DueQuery(Schema):
    group: str | None = None
    node: str | None = None  # community:12
    overdue: bool = False
    limit: int = 100
    offset: int = 0


class DueOut(Schema):
    resident_id: int
    name: str
    id_number: str  # masked
    phone: str  # masked
    grid_id: int | None
    building_id: int | None
    last_visit_at: dt.datetime | None
    due_on: dt.date
    interval_days: int
    days_overdue: int


class DuePageOut(Schema):
    count: int
    results: list[DueOut]


@router.get("/visits/due", response=DuePageOut, summary="Visits due within 3 days or overdue, most overdue first")
def visits_due(request, query: Query[DueQuery]):
    if query.group is not None and query.group not in VISITED_GROUPS:
        raise HttpError(400, f"group must be one of {', '.join(VISITED_GROUPS)}")
    rows = due_rows(request.user, group=query.group, node=parse_node(query.node), overdue_only=query.overdue)
    page = list(rows[window(query.offset, query.limit, MAX_LIMIT)])
    people = {p.pk: p for p in restrict(request.user, Resident.objects.filter(pk__in=[r["resident_id"] for r in page]))}
    results = []
    for row in page:
        person = people.get(row["resident_id"])
        if person is None:
            continue
        due = as_due(row)
        results.append(
            {
                "resident_id": person.pk,
                "name": person.name,
                "id_number": person.masked_id_number,
                "phone": person.masked_phone,
                "grid_id": person.grid_id,
                "building_id": person.building_id,
                "last_visit_at": due.last_visit_at,
                "due_on": due.due_on,
                "interval_days": due.interval,
                "days_overdue": due.days_overdue,
            }
        )
    log_reads(request.user, ReadAction.API_VIEW, Resident, [r["resident_id"] for r in results])
    return {"count": rows.count(), "results": results}


class VisitIn(Schema):
    resident_id: int
    kind: str = "home"
    wellbeing: str
    needs: list[str] = []
    note: str = ""
    visited_at: dt.datetime | None = None


class VisitOut(Schema):
    id: int
    resident_id: int
    visited_at: dt.datetime
    kind: str
    wellbeing: str
    needs: list[str]
    note: str
    task_id: int | None


@router.post("/visits", response={201: VisitOut}, summary="Record a visit (closes the open care_visit task)")
def visit_create(request, payload: VisitIn):
    _require_manage(request)
    resident = get_scoped_or_404(request.user, Resident.objects.all(), pk=payload.resident_id)
    try:
        visit = do_record_visit(
            resident,
            by=request.user,
            kind=payload.kind,
            wellbeing=payload.wellbeing,
            needs=payload.needs,
            note=payload.note,
            visited_at=payload.visited_at,
        )
    except VisitError as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, {
        "id": visit.pk,
        "resident_id": resident.pk,
        "visited_at": visit.visited_at,
        "kind": visit.kind,
        "wellbeing": visit.wellbeing,
        "needs": [n for n in visit.needs.split(";") if n],
        "note": visit.note,
        "task_id": visit.task_id,
    }


# --- group orders ----------------------------------------------------------------------------------


class ItemIn(Schema):
    name: str
    unit: str = ""
    unit_price: Decimal


class OrderIn(Schema):
    building_id: int
    title: str
    kind: str = "food"
    supplier: str = ""
    closes_at: dt.datetime
    items: list[ItemIn]


class ItemOut(Schema):
    id: int
    name: str
    unit: str
    unit_price: Decimal
    quantity: int
    households: int


class OrderOut(Schema):
    id: int
    title: str
    kind: str
    status: str
    building_id: int
    compound_id: int | None
    community_id: int | None
    closure_id: int | None
    supplier: str
    closes_at: dt.datetime
    task_id: int | None
    households: int


class OrderDetailOut(OrderOut):
    items: list[ItemOut]
    delivered: int
    not_delivered: int


class OrderQuery(Schema):
    status: str | None = None
    limit: int = 100
    offset: int = 0


def _order_out(order: GroupOrder, households: int) -> dict:
    return {
        **{
            f: getattr(order, f)
            for f in ("id", "title", "kind", "status", "building_id", "compound_id", "community_id", "closure_id")
        },
        "supplier": order.supplier,
        "closes_at": order.closes_at,
        "task_id": order.task_id,
        "households": households,
    }


def _detail(order: GroupOrder) -> dict:
    totals = services.item_totals(order)
    outcomes = dict(order.deliveries.values_list("outcome").annotate(n=Count("pk")).order_by())
    delivered = outcomes.pop(DeliveryOutcome.DELIVERED, 0)
    households = order.lines.values("household_id").distinct().count()
    return {
        **_order_out(order, households),
        "items": [
            {
                "id": t["pk"],
                **{k: t[k] for k in ("name", "unit", "unit_price", "quantity", "households")},
            }
            for t in totals
        ],
        "delivered": delivered,
        "not_delivered": sum(outcomes.values()),
    }


def _order(request, pk: int) -> GroupOrder:
    return get_scoped_or_404(request.user, GroupOrder.objects.select_related("building"), pk=pk)


@router.get("/orders", response=list[OrderOut], summary="Group orders in your jurisdiction, newest first")
def order_list(request, query: Query[OrderQuery]):
    orders = restrict(request.user, GroupOrder.objects.all())
    if query.status is not None:
        if query.status not in OrderStatus.values:
            raise HttpError(400, f"status must be one of {', '.join(OrderStatus.values)}")
        orders = orders.filter(status=query.status)
    orders = orders.annotate(households=Count("lines__household_id", distinct=True)).order_by("-created_at", "-id")
    return [_order_out(o, o.households) for o in orders[window(query.offset, query.limit, MAX_LIMIT)]]


@router.post("/orders", response={201: OrderDetailOut}, summary="Open a group order for a building")
def order_create(request, payload: OrderIn):
    _require_manage(request)
    building = get_scoped_or_404(request.user, Building.objects.all(), pk=payload.building_id)
    try:
        order = services.do_open_order(
            building,
            title=payload.title,
            kind=payload.kind,
            supplier=payload.supplier,
            closes_at=payload.closes_at,
            items=[services.ItemSpec(i.name, i.unit, i.unit_price) for i in payload.items],
            closure=services.closure_over(building),
            user=request.user,
        )
    except services.OrderError as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, _detail(order)


@router.get("/orders/{order_id}", response=OrderDetailOut, summary="A group order with the totals per item")
def order_detail(request, order_id: int):
    return _detail(_order(request, order_id))


class LinesIn(Schema):
    household_id: int
    quantities: dict[int, int]  # item id → quantity (0 takes the item off)


@router.post("/orders/{order_id}/lines", response=OrderDetailOut, summary="Set a household's quantities (staff)")
def order_lines(request, order_id: int, payload: LinesIn):
    _require_manage(request)
    order = _order(request, order_id)
    household = get_scoped_or_404(request.user, Household.objects.all(), pk=payload.household_id)
    try:
        services.do_set_household_lines(order, household, payload.quantities, user=request.user)
    except services.OrderError as exc:
        raise HttpError(400, str(exc)) from exc
    return _detail(order)


class OrderTransitionIn(Schema):
    to: str  # ordered, delivering, cancelled
    note: str = ""


_MOVES = {
    OrderStatus.ORDERED: lambda order, user, note: services.do_close_ordering(order, user),
    OrderStatus.DELIVERING: lambda order, user, note: services.do_start_delivery(order, user),
    OrderStatus.CANCELLED: services.do_cancel_order,
}


@router.post("/orders/{order_id}/transition", response=OrderDetailOut, summary="Close ordering, deliver, cancel")
def order_transition(request, order_id: int, payload: OrderTransitionIn):
    _require_manage(request)
    order = _order(request, order_id)
    move = _MOVES.get(payload.to)
    if move is None:
        raise HttpError(400, f"to must be one of {', '.join(_MOVES)}")
    try:
        move(order, request.user, payload.note)
    except (services.OrderError, OrderTransitionError) as exc:
        raise HttpError(409, str(exc)) from exc
    return _detail(order)


class DeliveriesIn(Schema):
    household_ids: list[RowId]
    outcome: str = "delivered"
    note: str = ""


class DeliveriesOut(Schema):
    recorded: int
    status: str


@router.post("/orders/{order_id}/deliveries", response=DeliveriesOut, summary="Record households' delivery outcome")
def order_deliveries(request, order_id: int, payload: DeliveriesIn):
    """Idempotent: households already recorded, or without lines, are left as they are."""
    order = _order(request, order_id)
    try:
        recorded = services.do_confirm_deliveries(
            order, payload.household_ids, request.user, outcome=payload.outcome, note=payload.note[:200]
        )
    except services.OrderError as exc:
        raise HttpError(409, str(exc)) from exc
    return {"recorded": recorded, "status": order.status}

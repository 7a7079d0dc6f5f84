"""Group orders (团购) for the households of a building (issue #7 item 4), and the delivery counts
the command centre reads.

A group order moves open → ordered → delivering → done (or cancelled) through care.flow's table; a
move locks the order row and writes a GroupOrderEvent. Residents add their household's quantities
while it is open and before ``closes_at``; closing it gives the supplier's totals; starting delivery
opens one ``deliver`` task for the building; each household's outcome is recorded once, and the
last one finishes the order and completes the task. The fixed daily packages of closed buildings
stay in gates (SupplyRound); :func:`delivery_counts` counts both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from care.choices import DeliveryOutcome, OrderKind, OrderStatus
from care.flow import OrderTransitionError, allowed
from care.models import GroupOrder, GroupOrderEvent, GroupOrderItem, HouseholdDelivery, HouseholdOrderLine
from gates.models import Closure
from people.models import PLACE_COLUMNS

S = OrderStatus
MAX_QUANTITY = 99  # per item and household: a group order feeds a household, it does not stock a shop
MAX_ITEMS = 50

__all__ = [
    "MAX_QUANTITY",
    "ItemSpec",
    "OrderError",
    "OrderTransitionError",
    "closure_over",
    "delivery_counts",
    "do_cancel_order",
    "do_close_ordering",
    "do_confirm_deliveries",
    "do_open_order",
    "do_set_household_lines",
    "do_start_delivery",
    "do_transition_order",
    "household_lines",
    "item_totals",
]


class OrderError(ValueError):
    """An order action refused as given (closed for orders, another building, bad quantity …)."""


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


@dataclass(frozen=True)
class ItemSpec:
    name: str
    unit: str
    unit_price: Decimal


def closure_over(building) -> Closure | None:
    """The closed management in force over the building, if any: a new order is tied to it."""
    now = timezone.now()
    return (
        Closure.objects.filter(compound_id=building.compound_id, lifted_at__isnull=True, starts_at__lte=now)
        .filter(Q(building__isnull=True) | Q(building=building), ends_at__gt=now)
        .order_by("-starts_at")
        .first()
    )


def do_open_order(
    building,
    *,
    title: str,
    kind: str,
    closes_at: dt.datetime,
    items: Iterable[ItemSpec],
    user,
    supplier: str = "",
    closure=None,
) -> GroupOrder:
    """Open a group order for ``building`` with its items; residents may order until ``closes_at``."""
    items = list(items)
    if not title.strip():
        raise OrderError(_("Give the order a title."))
    if kind not in OrderKind.values:
        raise OrderError(_("Unknown kind of order."))
    if closes_at <= timezone.now():
        raise OrderError(_("Orders must close in the future."))
    if not items:
        raise OrderError(_("List at least one item."))
    if len(items) > MAX_ITEMS:
        raise OrderError(_("At most %(n)d items.") % {"n": MAX_ITEMS})
    if len({(i.name.strip(), i.unit.strip()) for i in items}) != len(items):
        raise OrderError(_("An item is listed twice."))
    if any(i.unit_price < 0 or not i.name.strip() for i in items):
        raise OrderError(_("Every item needs a name and a price that is not negative."))
    if closure is not None and closure.compound_id != building.compound_id:
        raise OrderError(_("The building is not in this compound."))
    order = GroupOrder(
        building=building,
        compound_id=building.compound_id,
        **{column: getattr(building, column) for column in ("grid_id", "community_id", "street_id", "district_id")},
        closure=closure,
        title=title.strip()[:120],
        supplier=supplier.strip()[:120],
        kind=kind,
        closes_at=closes_at,
        created_by=_user(user),
    )
    with transaction.atomic():
        order.save()
        GroupOrderItem.objects.bulk_create(
            GroupOrderItem(order=order, name=i.name.strip()[:120], unit=i.unit.strip()[:30], unit_price=i.unit_price)
            for i in items
        )
        GroupOrderEvent.objects.create(order=order, user=_user(user), to_status=S.OPEN)
    return order


def do_set_household_lines(
    order: GroupOrder,
    household,
    quantities: Mapping[int, int],
    *,
    resident=None,
    user=None,
) -> int:
    """Set ``household``'s quantities (item id → quantity; 0 takes the item off) while the order
    takes orders. The household must live in the order's building; a resident orders for their own
    household only. Returns how many items the household now has on the order."""
    if household.building_id != order.building_id:
        raise OrderError(_("This group order is for another building."))
    if resident is not None and resident.household_id != household.pk:
        raise OrderError(_("You can order for your own household only."))
    items = set(order.items.values_list("pk", flat=True))
    if set(quantities) - items:
        raise OrderError(_("An item is not on this order."))
    for quantity in quantities.values():
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= MAX_QUANTITY:
            raise OrderError(_("Quantities are whole numbers from 0 to %(max)d.") % {"max": MAX_QUANTITY})
    now = timezone.now()
    with transaction.atomic():
        locked = GroupOrder.objects.select_for_update().get(pk=order.pk)  # no change while it is being closed
        if not locked.is_taking_orders(now):
            raise OrderError(_("This group order no longer takes orders."))
        existing = HouseholdOrderLine.objects.filter(order=locked, household=household)
        existing.filter(item_id__in=[i for i, q in quantities.items() if q == 0]).delete()
        for item_id, quantity in quantities.items():
            if quantity:
                HouseholdOrderLine.objects.update_or_create(
                    item_id=item_id,
                    household=household,
                    defaults={
                        "order": locked,
                        "quantity": quantity,
                        "ordered_at": now,
                        "ordered_by_resident": resident,
                        "ordered_by_user": _user(user),
                    },
                )
        return existing.count()


def do_transition_order(order: GroupOrder, to_status: str, user, note: str = "") -> GroupOrder:
    """Move ``order`` to ``to_status``: lock the row, check care.flow.TRANSITIONS, save, write the
    event. Returns the order, with the caller's instance refreshed."""
    with transaction.atomic():
        locked = GroupOrder.objects.select_for_update().get(pk=order.pk)
        if not allowed(locked.status, to_status):
            raise OrderTransitionError(
                _("A group order cannot go from %(from)s to %(to)s.")
                % {"from": S(locked.status).label, "to": S(to_status).label}
            )
        now = timezone.now()
        GroupOrderEvent.objects.create(
            order=locked, at=now, user=_user(user), from_status=locked.status, to_status=to_status, note=note[:300]
        )
        locked.status, locked.status_changed_at = to_status, now
        locked.save()
    for field in ("status", "status_changed_at", "updated_at"):
        setattr(order, field, getattr(locked, field))
    return order


def do_close_ordering(order: GroupOrder, user) -> GroupOrder:
    """Stop taking orders (→ ordered): the totals per item go to the supplier."""
    if not HouseholdOrderLine.objects.filter(order=order).exists():
        raise OrderError(_("Nobody has ordered anything: cancel the order instead."))
    return do_transition_order(order, S.ORDERED, user)


def do_start_delivery(order: GroupOrder, user) -> GroupOrder:
    """The goods arrived (→ delivering): one ``deliver`` task for the building's answerable person."""
    from tasks.services import do_open_task

    with transaction.atomic():
        do_transition_order(order, S.DELIVERING, user)
        households = HouseholdOrderLine.objects.filter(order=order).values("household_id").distinct().count()
        order.task = do_open_task(
            "deliver",
            subject=order.building,
            title=_("Deliver %(title)s to %(n)d households of %(building)s")
            % {"title": order.title, "n": households, "building": order.building.name},
            detail=order.supplier,
            source=f"care.order:{order.pk}",
            dedupe_key=f"care.order:{order.pk}:deliver",
            opened_by=user,
        )
        order.save(update_fields=["task", "updated_at"])
    return order


def do_cancel_order(order: GroupOrder, user, note: str = "") -> GroupOrder:
    return do_transition_order(order, S.CANCELLED, user, note)


def do_confirm_deliveries(
    order: GroupOrder, household_ids: Iterable[int], user, *, outcome: str = DeliveryOutcome.DELIVERED, note: str = ""
) -> int:
    """Record the outcome for households of the order that have lines and none yet (idempotent: a
    second tick changes nothing). When every such household has an outcome the order is done and
    its deliver task completed. Returns how many households were recorded now."""
    from tasks.services import do_complete_many

    if outcome not in DeliveryOutcome.values:
        raise OrderError(_("Unknown delivery outcome."))
    wanted = {int(pk) for pk in household_ids}
    with transaction.atomic():
        locked = GroupOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status != S.DELIVERING:
            raise OrderError(_("Deliveries are recorded while the order is being delivered."))
        ordered = set(HouseholdOrderLine.objects.filter(order=locked).values_list("household_id", flat=True))
        done = set(HouseholdDelivery.objects.filter(order=locked).values_list("household_id", flat=True))
        now = timezone.now()
        new = sorted((wanted & ordered) - done)
        HouseholdDelivery.objects.bulk_create(
            HouseholdDelivery(
                order=locked, household_id=pk, outcome=outcome, recorded_at=now, recorded_by=_user(user), note=note
            )
            for pk in new
        )
        if ordered <= done | set(new):
            do_transition_order(locked, S.DONE, user)
            if locked.task_id:
                missed = HouseholdDelivery.objects.filter(order=locked).exclude(outcome=DeliveryOutcome.DELIVERED)
                summary = _("%(n)d of %(total)d households delivered") % {
                    "n": len(ordered) - missed.count(),
                    "total": len(ordered),
                }
                do_complete_many({locked.task_id: summary})
            order.status = locked.status
    return len(new)


# --- what the pages show ---------------------------------------------------------------------------


def item_totals(order: GroupOrder) -> list[dict]:
    """Per item: the quantity all households ordered and its amount (the supplier's list)."""
    rows = (
        order.items.annotate(quantity=Sum("lines__quantity"), households=Count("lines__household_id"))
        .values("pk", "name", "unit", "unit_price", "quantity", "households")
        .order_by("pk")
    )
    out = []
    for row in rows:
        quantity = row["quantity"] or 0
        out.append({**row, "quantity": quantity, "amount": quantity * row["unit_price"]})
    return out


@dataclass
class HouseholdLines:
    """One household's share of an order, for the delivery list."""

    household_id: int
    unit: str
    room: str
    lines: list[tuple[str, str, int]]  # item, unit, quantity
    amount: Decimal
    delivery: HouseholdDelivery | None = None
    phone: str = ""  # a member's phone, masked
    contact_id: int | None = None  # that member (read-logged by the page showing the phone)


def household_lines(order: GroupOrder) -> list[HouseholdLines]:
    """Every household with lines, by unit and room, with its items, outcome and one masked phone
    of a member: three queries, whatever the number of households."""
    from people.identity import mask_phone
    from people.models import Resident

    lines = (
        HouseholdOrderLine.objects.filter(order=order)
        .select_related("household", "item")
        .order_by("household__unit", "household__room", "household_id", "item_id")
    )
    rows: dict[int, HouseholdLines] = {}
    for line in lines:
        row = rows.get(line.household_id)
        if row is None:
            row = rows[line.household_id] = HouseholdLines(
                line.household_id, line.household.unit, line.household.room, [], Decimal(0)
            )
        row.lines.append((line.item.name, line.item.unit, line.quantity))
        row.amount += line.quantity * line.item.unit_price
    for delivery in HouseholdDelivery.objects.filter(order=order).select_related("recorded_by"):
        if delivery.household_id in rows:
            rows[delivery.household_id].delivery = delivery
    members = (
        Resident.objects.filter(household_id__in=list(rows), merged_into__isnull=True)
        .exclude(phone="")
        .order_by("household_id", "birth_date", "id")
        .values_list("household_id", "id", "phone")
    )
    for household_id, resident_id, phone in members:
        row = rows[household_id]
        if row.contact_id is None:
            row.contact_id, row.phone = resident_id, mask_phone(phone)
    return list(rows.values())


# --- counts for the command centre ---------------------------------------------------------------


def delivery_counts(
    filters: dict[str, int], start: dt.datetime, end: dt.datetime, group_by: str | None = None
) -> dict[int | None, dict[str, int]]:
    """Households confirmed delivered with ``start <= delivered at < end``, by kind (food, medicine,
    other): group-order deliveries and the gates' daily packages (SupplyDelivery, delivered, counted
    as food), under the place ``filters`` (e.g. ``{"community_id": 5}``; empty: the whole city).

    A household counts once per kind (and node) however many deliveries it got in the window. With
    ``group_by`` (a place column) the keys are that column's node ids, and only nodes with a
    delivery appear; without it the single key is None. One aggregate query."""
    unknown = set(filters) - set(PLACE_COLUMNS)
    if unknown:
        raise ValueError(f"unknown place columns: {', '.join(sorted(unknown))}")
    if group_by is not None and group_by not in PLACE_COLUMNS:
        raise ValueError(f"group_by must be one of {', '.join(PLACE_COLUMNS)}")

    def node(alias: str) -> str:
        return f"{alias}.{group_by}" if group_by else "NULL"

    def where(alias: str) -> str:
        return "".join(f" AND {alias}.{column} = %s" for column in filters)

    values = [int(v) for v in filters.values()]
    start, end = (connection.ops.adapt_datetimefield_value(moment) for moment in (start, end))
    sql = (
        "SELECT kind, node, COUNT(DISTINCT household_id) FROM ("
        f" SELECT o.kind AS kind, {node('o')} AS node, d.household_id AS household_id"
        f" FROM {HouseholdDelivery._meta.db_table} d JOIN {GroupOrder._meta.db_table} o ON o.id = d.order_id"
        f" WHERE d.outcome = %s AND d.recorded_at >= %s AND d.recorded_at < %s{where('o')}"
        " UNION ALL"
        f" SELECT %s AS kind, {node('r')} AS node, s.household_id AS household_id"
        " FROM gates_supplydelivery s JOIN gates_supplyround r ON r.id = s.supply_round_id"
        f" WHERE s.delivered = %s AND s.at >= %s AND s.at < %s{where('r')}"
        ") served GROUP BY kind, node"
    )
    params = [DeliveryOutcome.DELIVERED.value, start, end, *values, OrderKind.FOOD.value, True, start, end, *values]
    counts: dict[int | None, dict[str, int]] = {} if group_by else {None: dict.fromkeys(OrderKind.values, 0)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, key, n in cursor.fetchall():
            counts.setdefault(key, dict.fromkeys(OrderKind.values, 0))[kind] += n
    return counts


def open_orders_of(building_id: int) -> QuerySet:
    """The orders of a building a resident sees: those still ahead, the newest first."""
    from care.flow import ACTIVE

    return GroupOrder.objects.filter(building_id=building_id, status__in=ACTIVE).order_by("closes_at", "id")

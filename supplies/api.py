"""The supplies API (issue #8 item 4): depots with their stock and shortfalls, recording a
movement, a transfer between depots, a depot's ledger as JSON.

Auth is global (linli.api). Depots are read through core.scoping, so one outside the caller's
jurisdiction answers 404 like a missing one; recording needs ``supplies.manage_supplies``. A
movement refused (more out than in stock) answers 400 with the reason and writes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from core.paging import window
from core.scoping import get_scoped_or_404
from supplies.choices import SINGLE_KINDS
from supplies.models import Depot, Item, Movement, Stock
from supplies.services import StockError, depots_in_scope, do_record_movement, do_transfer

router = Router(tags=["supplies"])
MANAGE = "supplies.manage_supplies"
MAX_LIMIT = 500


def _require_manage(request) -> None:
    if not request.user.has_perm(MANAGE):
        raise HttpError(403, "supplies.manage_supplies needed")


class StockOut(Schema):
    id: int
    item_id: int
    item_code: str
    item_name: str
    unit: str
    category: str
    quantity: int
    minimum: int
    shortfall: int
    restock_task_id: int | None


class DepotOut(Schema):
    id: int
    name: str
    tier: str
    division_id: int | None
    facility_id: int | None
    district_id: int | None
    shortfalls: int
    stock: list[StockOut]


class DepotPageOut(Schema):
    count: int
    results: list[DepotOut]


class DepotQuery(Schema):
    shortfall: bool = False  # only depots with an item below its minimum
    tier: str | None = None
    limit: int = 100
    offset: int = 0


def _stock_out(s: Stock) -> dict:
    return {
        "id": s.pk,
        "item_id": s.item_id,
        "item_code": s.item.code,
        "item_name": s.item.name,
        "unit": s.item.unit,
        "category": s.item.category,
        "quantity": s.quantity,
        "minimum": s.minimum,
        "shortfall": s.shortfall,
        "restock_task_id": s.shortfall_task_id,
    }


def _depot_out(d: Depot, stocks: list[Stock]) -> dict:
    return {
        "id": d.pk,
        "name": d.name,
        "tier": d.tier,
        "division_id": d.division_id,
        "facility_id": d.facility_id,
        "district_id": d.district_id,
        "shortfalls": sum(1 for s in stocks if s.is_short),
        "stock": [_stock_out(s) for s in stocks],
    }


_STOCKS = Prefetch("stocks", queryset=Stock.objects.select_related("item").order_by("item__category", "item__code"))


@router.get("/depots", response=DepotPageOut, summary="Depots in my jurisdiction with stock, shortfalls first")
def depot_list(request, query: Query[DepotQuery]):
    depots = depots_in_scope(request.user)
    if query.shortfall:
        depots = depots.filter(shortfalls__gt=0)
    if query.tier:
        depots = depots.filter(tier=query.tier)
    page = list(depots.prefetch_related(_STOCKS)[window(query.offset, query.limit, MAX_LIMIT)])
    return {"count": depots.count(), "results": [_depot_out(d, list(d.stocks.all())) for d in page]}


@router.get("/depots/{depot_id}", response=DepotOut, summary="One depot with its stock")
def depot_detail(request, depot_id: int):
    depot = get_scoped_or_404(request.user, Depot.objects.prefetch_related(_STOCKS), pk=depot_id)
    return _depot_out(depot, list(depot.stocks.all()))


class MovementOut(Schema):
    id: int
    stock_id: int
    depot_id: int
    item_code: str
    kind: str
    change: int
    balance: int
    at: dt.datetime
    reference: str
    note: str
    user: str | None
    counterpart_depot_id: int | None


def _movement_out(m: Movement) -> dict:
    return {
        "id": m.pk,
        "stock_id": m.stock_id,
        "depot_id": m.stock.depot_id,
        "item_code": m.stock.item.code,
        "kind": m.kind,
        "change": m.change,
        "balance": m.balance,
        "at": m.at,
        "reference": m.reference,
        "note": m.note,
        "user": m.user.username if m.user_id else None,
        "counterpart_depot_id": m.counterpart.stock.depot_id if m.counterpart_id else None,
    }


class LedgerOut(Schema):
    depot: DepotOut
    count: int
    movements: list[MovementOut]


class LedgerQuery(Schema):
    since: dt.datetime | None = None
    limit: int = 200
    offset: int = 0


@router.get("/depots/{depot_id}/ledger", response=LedgerOut, summary="A depot's stock and movements, newest first")
def depot_ledger(request, depot_id: int, query: Query[LedgerQuery]):
    depot = get_scoped_or_404(request.user, Depot.objects.prefetch_related(_STOCKS), pk=depot_id)
    movements = Movement.objects.filter(stock__depot=depot).select_related("stock__item", "user", "counterpart__stock")
    if query.since is not None:
        movements = movements.filter(at__gte=query.since)
    page = movements.order_by("-at", "-id")[window(query.offset, query.limit, MAX_LIMIT)]
    return {
        "depot": _depot_out(depot, list(depot.stocks.all())),
        "count": movements.count(),
        "movements": [_movement_out(m) for m in page],
    }


class MovementIn(Schema):
    depot_id: int
    item_code: str
    kind: str  # receipt, issue or adjustment (quantity = what was counted)
    quantity: int
    at: dt.datetime | None = None
    reference: str = ""
    note: str = ""


@router.post("/movements", response={201: MovementOut}, summary="Record a receipt, an issue or a count")
def movement_create(request, payload: MovementIn):
    _require_manage(request)
    if payload.kind not in SINGLE_KINDS:
        raise HttpError(400, f"kind must be one of {', '.join(SINGLE_KINDS)}; transfers go to /transfers")
    depot = get_scoped_or_404(request.user, Depot.objects.all(), pk=payload.depot_id)
    stock = Stock.objects.filter(depot=depot, item__code=payload.item_code).select_related("depot", "item").first()
    if stock is None:
        raise HttpError(404, "this depot keeps no such item")
    try:
        movement = do_record_movement(
            stock,
            payload.kind,
            payload.quantity,
            request.user,
            at=payload.at,
            reference=payload.reference,
            note=payload.note,
        )
    except StockError as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, _movement_out(movement)


class TransferIn(Schema):
    from_depot_id: int
    to_depot_id: int
    item_code: str
    quantity: int
    at: dt.datetime | None = None
    reference: str = ""
    note: str = ""


class StockTransferOut(Schema):
    out: MovementOut
    into: MovementOut


@router.post(
    "/transfers", response={201: StockTransferOut}, summary="Transfer stock between two depots (both or neither)"
)
def transfer_create(request, payload: TransferIn):
    _require_manage(request)
    source = get_scoped_or_404(request.user, Depot.objects.all(), pk=payload.from_depot_id)
    target = get_scoped_or_404(request.user, Depot.objects.filter(active=True), pk=payload.to_depot_id)
    item = Item.objects.filter(code=payload.item_code).first()
    if item is None:
        raise HttpError(404, "no such item")
    try:
        transfer = do_transfer(
            source,
            target,
            item,
            payload.quantity,
            request.user,
            at=payload.at,
            reference=payload.reference,
            note=payload.note,
        )
    except StockError as exc:
        raise HttpError(400, str(exc)) from exc
    return 201, {"out": _movement_out(transfer.out), "into": _movement_out(transfer.into)}

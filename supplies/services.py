"""Supply actions: set a reserve level, record receipts, issues, count adjustments and transfers,
and keep one restock task per shortfall episode (issue #8 item 4).

Every movement runs in one transaction with its stock row locked (``select_for_update``); a transfer
locks both rows in id order, so two transfers crossing between the same depots cannot deadlock. An
issue or transfer of more than is in stock raises :class:`StockError` before anything is written
(issue #8 bad input: negative stock). After each movement the stock's shortfall is checked in the
same transaction: below its minimum opens a RESTOCK task (one per episode, through the task's
deduplication key), back at or above it completes the task. :func:`do_recheck_shortfalls` is the
daily set-based sweep of the same rule. Actions do not check permissions; views and the API do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from core.scoping import restrict
from supplies.choices import TIER_LEVEL, TIER_ORDER, DepotTier, MovementKind
from supplies.models import Depot, Item, Movement, Stock
from tasks.choices import TaskType
from tasks.flow import OPEN
from tasks.models import Task
from tasks.routing import level_of
from tasks.services import do_complete, do_complete_many, do_open_task

MAX_QUANTITY = 10_000_000
RESTOCK_SOURCE = "supplies.shortfall"


class StockError(ValueError):
    """A movement that cannot be recorded (more out than in stock, a bad quantity); nothing was written."""


def _user(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


# --- depots and levels -----------------------------------------------------------------------------


def do_create_depot(tier: str, name: str, *, division=None, facility=None) -> Depot:
    """A depot at an area (city, district, community) or a hospital, its place filled in."""
    if tier not in DepotTier.values:
        raise ValueError(f"unknown tier {tier!r}")
    if tier == DepotTier.HOSPITAL:
        if facility is None:
            raise ValueError("a hospital depot needs a facility")
        division = None
    elif division is None or division.level != TIER_LEVEL[tier]:
        raise ValueError(f"a {tier} depot needs a {TIER_LEVEL[tier]} division")
    depot = Depot(tier=tier, name=name[:120], division=division, facility=facility)
    depot.fill_place()
    depot.save()
    return depot


def do_set_level(depot: Depot, item: Item, minimum: int, by=None) -> Stock:
    """Put ``item`` on the depot's reserve list (or change its minimum level); a new minimum above
    the stock opens the restock task at once, one at or below it completes an open one."""
    if minimum < 0 or minimum > MAX_QUANTITY:
        raise StockError(_("A minimum level is between 0 and %(max)d.") % {"max": MAX_QUANTITY})
    with transaction.atomic():
        stock, _created = Stock.objects.get_or_create(depot=depot, item=item)
        stock = Stock.objects.select_for_update(of=("self",)).select_related("depot", "item").get(pk=stock.pk)
        stock.minimum = minimum
        stock.updated_at = timezone.now()
        stock.save(update_fields=["minimum", "updated_at"])
        _check_shortfall(stock, by)
    return stock


def depots_in_scope(user) -> QuerySet[Depot]:
    """The active depots the user may see, each with its item count and shortfalls, shortfalls first."""
    tier_rank = Case(
        *[When(tier=tier, then=Value(rank)) for rank, tier in enumerate(TIER_ORDER)], output_field=IntegerField()
    )
    return (
        restrict(user, Depot.objects.filter(active=True))
        .select_related("division", "facility", "district")
        .annotate(
            items=Count("stocks"),
            shortfalls=Count("stocks", filter=Q(stocks__quantity__lt=F("stocks__minimum"))),
            tier_rank=tier_rank,
        )
        .order_by("-shortfalls", "tier_rank", "name", "pk")
    )


# --- movements -------------------------------------------------------------------------------------


def _positive(quantity: int) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise StockError(_("A quantity is a whole number above zero."))
    if quantity > MAX_QUANTITY:
        raise StockError(_("A quantity is at most %(max)d.") % {"max": MAX_QUANTITY})
    return quantity


def _refuse_negative(stock: Stock, quantity: int) -> None:
    if quantity > stock.quantity:
        raise StockError(
            _(
                "Refused: %(quantity)d %(unit)s of %(item)s asked for, but %(depot)s holds only %(held)d "
                "(stock cannot go negative). Nothing was recorded."
            )
            % {
                "quantity": quantity,
                "unit": stock.item.unit,
                "item": stock.item.name,
                "depot": stock.depot.name,
                "held": stock.quantity,
            }
        )


def _locked(stock_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock the stock rows in id order (the one fixed order every path uses: no deadlocks)."""
    ids = sorted(set(stock_ids))
    rows = Stock.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {s.pk: s for s in rows.select_related("depot", "item", "depot__division", "depot__facility")}


def _write(
    stock: Stock, kind: str, change: int, by, *, at: dt.datetime | None, reference: str, note: str, now: dt.datetime
) -> Movement:
    stock.quantity += change
    stock.updated_at = now
    stock.save(update_fields=["quantity", "updated_at"])
    return Movement.objects.create(
        stock=stock,
        kind=kind,
        change=change,
        balance=stock.quantity,
        at=at or now,
        recorded_at=now,
        user=_user(by),
        reference=reference[:64],
        note=note[:300],
    )


def do_record_movement(
    stock: Stock,
    kind: str,
    quantity: int,
    by=None,
    *,
    at: dt.datetime | None = None,
    reference: str = "",
    note: str = "",
) -> Movement:
    """A receipt (+quantity), an issue (-quantity, refused beyond the stock) or a count adjustment
    (``quantity`` is what was counted, 0 allowed; the movement is the difference) on one stock."""
    if kind == MovementKind.ADJUSTMENT:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= MAX_QUANTITY:
            raise StockError(_("A counted quantity is a whole number from 0 to %(max)d.") % {"max": MAX_QUANTITY})
    elif kind in (MovementKind.RECEIPT, MovementKind.ISSUE):
        _positive(quantity)
    else:
        raise StockError(_("Transfers are recorded as transfers, between two depots."))
    if at is not None and at > timezone.now() + dt.timedelta(minutes=5):
        raise StockError(_("A movement cannot be dated in the future."))
    now = timezone.now()
    with transaction.atomic():
        locked = _locked([stock.pk])[stock.pk]
        if kind == MovementKind.ISSUE:
            _refuse_negative(locked, quantity)
            change = -quantity
        elif kind == MovementKind.RECEIPT:
            change = quantity
        else:
            change = quantity - locked.quantity
        movement = _write(locked, kind, change, by, at=at, reference=reference, note=note, now=now)
        _check_shortfall(locked, by)
    stock.quantity, stock.updated_at = locked.quantity, locked.updated_at
    stock.shortfall_task_id, stock.shortfall_episodes = locked.shortfall_task_id, locked.shortfall_episodes
    return movement


@dataclass(frozen=True)
class Transfer:
    out: Movement
    into: Movement


def do_transfer(
    source: Depot,
    target: Depot,
    item: Item,
    quantity: int,
    by=None,
    *,
    at: dt.datetime | None = None,
    reference: str = "",
    note: str = "",
) -> Transfer:
    """Move ``quantity`` of ``item`` from one depot to another, both halves or neither: the pair of
    movements points at each other. The target gets the item on its list (minimum 0) if it lacks it.
    Refused beyond the source's stock."""
    _positive(quantity)
    if source.pk == target.pk:
        raise StockError(_("A transfer goes between two different depots."))
    if at is not None and at > timezone.now() + dt.timedelta(minutes=5):
        raise StockError(_("A movement cannot be dated in the future."))
    source_stock = Stock.objects.filter(depot=source, item=item).first()
    if source_stock is None:
        raise StockError(
            _("%(depot)s keeps no %(item)s; nothing was recorded.") % {"depot": source.name, "item": item.name}
        )
    now = timezone.now()
    with transaction.atomic():
        target_stock, _created = Stock.objects.get_or_create(depot=target, item=item)
        rows = _locked([source_stock.pk, target_stock.pk])
        out_stock, in_stock = rows[source_stock.pk], rows[target_stock.pk]
        _refuse_negative(out_stock, quantity)
        reference = reference or f"T{now:%Y%m%d%H%M%S}"
        out = _write(
            out_stock, MovementKind.TRANSFER_OUT, -quantity, by, at=at, reference=reference, note=note, now=now
        )
        into = _write(in_stock, MovementKind.TRANSFER_IN, quantity, by, at=at, reference=reference, note=note, now=now)
        into.counterpart = out
        into.save(update_fields=["counterpart"])
        out.counterpart = into
        out.save(update_fields=["counterpart"])
        _check_shortfall(out_stock, by)
        _check_shortfall(in_stock, by)
    return Transfer(out=out, into=into)


# --- shortfalls ------------------------------------------------------------------------------------


def _restock_texts(stock: Stock) -> tuple[str, str]:
    values = {
        "item": stock.item.name,
        "depot": stock.depot.name,
        "quantity": stock.quantity,
        "minimum": stock.minimum,
        "unit": stock.item.unit,
    }
    title = _("Restock %(item)s at %(depot)s") % values
    detail = _("%(quantity)d %(unit)s in stock, below the minimum level of %(minimum)d %(unit)s.") % values
    return title, detail


def _restocked_feedback(quantity: int, minimum: int, unit: str) -> str:
    return _("Restocked: %(quantity)d %(unit)s in stock, minimum %(minimum)d.") % {
        "quantity": quantity,
        "minimum": minimum,
        "unit": unit,
    }


def _open_restock(stock: Stock, by) -> Task:
    """Open the restock task of a new shortfall episode (the stock row is locked by the caller)."""
    title, detail = _restock_texts(stock)
    episode = stock.shortfall_episodes + 1
    task = do_open_task(
        TaskType.RESTOCK,
        subject=stock.depot.subject,
        title=title,
        detail=detail,
        source=RESTOCK_SOURCE,
        dedupe_key=f"restock:{stock.pk}:{episode}",
        opened_by=_user(by),
    )
    stock.shortfall_task, stock.shortfall_episodes = task, episode
    stock.save(update_fields=["shortfall_task", "shortfall_episodes"])
    return task


def _close_restock(stock: Stock, by) -> None:
    task = stock.shortfall_task
    feedback = _restocked_feedback(stock.quantity, stock.minimum, stock.item.unit)
    user = _user(by)
    if user is not None and (task.assignee_id is not None or level_of(user, task) is not None):
        do_complete(task, user, feedback)
    else:
        # nobody to act as (a job), or nobody answerable took it: the system closes it
        do_complete_many({task.pk: feedback})


def _check_shortfall(stock: Stock, by) -> None:
    """The shortfall rule on one locked stock: below minimum and no open task → open one; at or
    above minimum with an open task → complete it with feedback."""
    task = stock.shortfall_task
    has_open = task is not None and task.status in OPEN
    if stock.quantity < stock.minimum and not has_open:
        _open_restock(stock, by)
    elif stock.quantity >= stock.minimum and has_open:
        _close_restock(stock, by)


def short_stocks() -> QuerySet[Stock]:
    """Every stock below its minimum level."""
    return Stock.objects.filter(quantity__lt=F("minimum"), depot__active=True)


def do_recheck_shortfalls() -> dict[str, int]:
    """The daily sweep of the shortfall rule over every stock: open the restock task of each
    shortfall that has none open (a lowered count, a raised minimum, a task closed by hand while
    still short), complete the open tasks of stocks back at their minimum. A re-run changes nothing.

    Finding both sets is one query each. tasks.services.do_open_many only takes resident and
    building subjects, not areas or facilities, so the (few) new shortfalls are opened in a short
    loop through do_open_task, each under its stock's row lock; completing is set-based
    (do_complete_many)."""
    unalerted = short_stocks().filter(Q(shortfall_task__isnull=True) | ~Q(shortfall_task__status__in=OPEN))
    opened = 0
    for stock_id in unalerted.values_list("pk", flat=True):
        with transaction.atomic():
            stock = _locked([stock_id])[stock_id]
            task = stock.shortfall_task
            if stock.quantity < stock.minimum and (task is None or task.status not in OPEN):
                _open_restock(stock, None)
                opened += 1
    recovered = Stock.objects.filter(quantity__gte=F("minimum"), shortfall_task__status__in=OPEN).values_list(
        "shortfall_task_id", "quantity", "minimum", "item__unit"
    )
    completed = do_complete_many(
        {task_id: _restocked_feedback(quantity, minimum, unit) for task_id, quantity, minimum, unit in recovered}
    )
    return {"opened": opened, "completed": completed}

"""Resident pages (phone first) of group orders: the orders of my building, and my household's
quantities while an order is open. Residents see only their own household's lines, so no read log
is written here (the read log audits staff), as in residents.views."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from care import services
from care.forms import QuantitiesForm
from care.models import GroupOrder, HouseholdOrderLine
from residents.auth import resident_required


def _mine(request: HttpRequest, order_ids) -> dict[int, dict[int, int]]:
    """My household's quantities per order and item."""
    out: dict[int, dict[int, int]] = {}
    household_id = request.resident.household_id
    if household_id is None:
        return out
    for order_id, item_id, quantity in HouseholdOrderLine.objects.filter(
        order_id__in=list(order_ids), household_id=household_id
    ).values_list("order_id", "item_id", "quantity"):
        out.setdefault(order_id, {})[item_id] = quantity
    return out


@never_cache
@resident_required
def my_orders(request: HttpRequest) -> HttpResponse:
    household = request.resident.household
    orders = list(services.open_orders_of(household.building_id).prefetch_related("items")) if household else []
    mine = _mine(request, [o.pk for o in orders])
    now = timezone.now()
    return render(
        request,
        "care/me_orders.html",
        {
            "household": household,
            "orders": [(o, o.is_taking_orders(now), sum(mine.get(o.pk, {}).values())) for o in orders],
        },
    )


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "care/me_refused.html", {"message": message}, status=status)


@never_cache
@resident_required
@require_http_methods(["GET", "POST"])
def my_order(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(GroupOrder.objects.select_related("building"), pk=pk)
    household = request.resident.household
    if household is None or household.building_id != order.building_id:
        return _refused(request, _("This group order is for another building."), 403)
    items = list(order.items.all())
    current = _mine(request, [order.pk]).get(order.pk, {})
    form = QuantitiesForm(request.POST or None, items=items, current=current)
    taking = order.is_taking_orders()
    if request.method == "POST":
        if not taking:
            messages.error(
                request,
                _("This group order closed at %(at)s: it takes no more orders.")
                % {"at": timezone.localtime(order.closes_at).strftime("%m-%d %H:%M")},
            )
            return redirect("care_me:order", pk=order.pk)
        if form.is_valid():
            try:
                services.do_set_household_lines(order, household, form.quantities(), resident=request.resident)
            except services.OrderError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Your order is saved. You can change it until orders close."))
                return redirect("care_me:order", pk=order.pk)
    lines = [(item, current.get(item.pk, 0)) for item in items]
    return render(
        request,
        "care/me_order.html",
        {
            "order": order,
            "form": form,
            "taking": taking,
            "lines": lines,
            "amount": sum(item.unit_price * q for item, q in lines),
        },
        status=400 if form.errors else 200,
    )

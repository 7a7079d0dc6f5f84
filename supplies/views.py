"""Staff pages of the supply reserves: the depots in my jurisdiction (shortfalls first), one depot's
stock with forms for receipts, issues, counts, transfers and reserve levels, one stock's history,
and the depot's XLSX ledger.

Depots and stocks are read through core.scoping (out of scope answers 404, like a missing one);
recording anything needs ``supplies.manage_supplies``. The forms parse; supplies.services acts.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.scoping import get_scoped_or_404
from supplies.choices import MovementKind
from supplies.exports import ledger_workbook
from supplies.forms import LevelForm, MovementForm, TransferForm
from supplies.models import Depot, Movement, Stock
from supplies.services import StockError, depots_in_scope, do_record_movement, do_set_level, do_transfer

MANAGE = "supplies.manage_supplies"
PAGE_SIZE = 100
HISTORY_SIZE = 50


@login_required
def depot_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(depots_in_scope(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "supplies/depots.html", {"page": page})


def _render_detail(request: HttpRequest, depot: Depot, forms: dict, status: int = 200) -> HttpResponse:
    stocks = list(
        Stock.objects.filter(depot=depot)
        .select_related("item", "shortfall_task")
        .order_by("item__category", "item__code")
    )
    recent = (
        Movement.objects.filter(stock__depot=depot)
        .select_related("stock__item", "user", "counterpart__stock__depot")
        .order_by("-at", "-id")[:HISTORY_SIZE]
    )
    context = {
        "depot": depot,
        "stocks": stocks,
        "shortfalls": sum(1 for s in stocks if s.is_short),
        "recent": recent,
        "can_manage": request.user.has_perm(MANAGE),
        "K": MovementKind,
    }
    if context["can_manage"]:
        context |= {
            "movement_form": forms.get("movement") or MovementForm(depot=depot),
            "transfer_form": forms.get("transfer") or TransferForm(depot=depot, user=request.user),
            "level_form": forms.get("level") or LevelForm(),
        }
    return render(request, "supplies/depot.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def depot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The stock table and, for managers, the forms; a POST carries ``action`` = movement,
    transfer or level."""
    depot = get_scoped_or_404(request.user, Depot.objects.select_related("division", "facility"), pk=pk)
    if request.method == "GET":
        return _render_detail(request, depot, {})
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    action = request.POST.get("action")
    if action == "movement":
        form = MovementForm(request.POST, depot=depot)
    elif action == "transfer":
        form = TransferForm(request.POST, depot=depot, user=request.user)
    elif action == "level":
        form = LevelForm(request.POST)
    else:
        return HttpResponse(status=400)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "movement":
                stock = Stock.objects.get(depot=depot, item=data["item"])
                do_record_movement(
                    stock,
                    data["kind"],
                    data["quantity"],
                    request.user,
                    at=data["at"],
                    reference=data["reference"],
                    note=data["note"],
                )
            elif action == "transfer":
                do_transfer(
                    depot,
                    data["target"],
                    data["item"],
                    data["quantity"],
                    request.user,
                    at=data["at"],
                    reference=data["reference"],
                    note=data["note"],
                )
            else:
                do_set_level(depot, data["item"], data["minimum"], request.user)
        except StockError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Recorded."))
            return redirect("supplies:depot", pk=depot.pk)
    return _render_detail(request, depot, {action: form}, status=400)


@login_required
def stock_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every movement of one item at one depot, newest first, with the balance after each."""
    stock = get_scoped_or_404(request.user, Stock.objects.select_related("depot", "item", "shortfall_task"), pk=pk)
    movements = (
        Movement.objects.filter(stock=stock).select_related("user", "counterpart__stock__depot").order_by("-at", "-id")
    )
    page = Paginator(movements, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "supplies/stock.html", {"stock": stock, "depot": stock.depot, "page": page})


@login_required
def depot_ledger(request: HttpRequest, pk: int) -> HttpResponse:
    depot = get_scoped_or_404(request.user, Depot.objects.all(), pk=pk)
    response = HttpResponse(
        ledger_workbook(depot), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    filename = f"supplies-{depot.pk}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

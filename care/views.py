"""Staff pages of key-group care: the visits due and overdue, recording a visit, and group orders
(open, close, deliver) with the volunteers' delivery list.

Everything is read through core.scoping (out of scope answers 404, like a missing record); people
appear masked and every list or record of people shown is read-logged. Recording visits and running
orders need ``care.manage_care``; ticking off deliveries is for anyone with the building in their
jurisdiction (the volunteer or cadre at the door), as with the gates' supply rounds.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from care import services
from care.choices import VISITED_GROUPS, DeliveryOutcome, OrderStatus
from care.exports import delivery_workbook
from care.flow import OrderTransitionError
from care.forms import GroupOrderForm, VisitForm
from care.models import GroupOrder, HouseholdDelivery
from care.visits import VisitError, as_due, do_record_visit, due_rows, schedule
from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404, restrict
from people.choices import KeyGroup
from people.models import KeyGroupMembership, Resident
from people.services import parse_node
from tasks.choices import TaskType
from tasks.flow import OPEN
from tasks.models import Task

MANAGE = "care.manage_care"
PAGE_SIZE = 50


def _require_manage(user) -> None:
    if not user.has_perm(MANAGE):
        raise PermissionDenied


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- visits ----------------------------------------------------------------------------------------


def _groups_of(resident_ids: list[int]) -> dict[int, list[str]]:
    labels = dict(KeyGroup.choices)
    groups: dict[int, list[str]] = {}
    rows = (
        KeyGroupMembership.objects.filter(resident_id__in=resident_ids, group__in=VISITED_GROUPS)
        .values_list("resident_id", "group")
        .distinct()
        .order_by("resident_id", "group")
    )
    for resident_id, group in rows:
        groups.setdefault(resident_id, []).append(str(labels[group]))
    return groups


@login_required
def visit_list(request: HttpRequest) -> HttpResponse:
    """Visits due within a few days or overdue, most overdue first, in the user's jurisdiction."""
    group = request.GET.get("group", "")
    group = group if group in VISITED_GROUPS else ""
    node = parse_node(request.GET.get("node"))
    overdue_only = request.GET.get("show") == "overdue"
    today = timezone.localdate()
    rows = due_rows(request.user, today=today, group=group or None, node=node, overdue_only=overdue_only)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    ids = [row["resident_id"] for row in page.object_list]
    people = restrict(request.user, Resident.objects.filter(pk__in=ids)).select_related(
        "compound", "building", "household"
    )
    found = {p.pk: p for p in people}
    groups = _groups_of(ids)
    tasks = dict(
        Task.objects.filter(resident_id__in=ids, task_type=TaskType.CARE_VISIT, status__in=OPEN).values_list(
            "resident_id", "pk"
        )
    )
    shown = [
        (found[pk], as_due(row, today), groups.get(pk, []), tasks.get(pk))
        for row in page.object_list
        if (pk := row["resident_id"]) in found
    ]
    log_reads(request.user, ReadAction.LIST, Resident, [person.pk for person, *_rest in shown])
    return render(
        request,
        "care/visits.html",
        {
            "page": page,
            "rows": shown,
            "group": group,
            "groups": [(g, KeyGroup(g).label) for g in VISITED_GROUPS],
            "node": request.GET.get("node", ""),
            "show": "overdue" if overdue_only else "",
            "query": _query_without_page(request),
            "can_manage": request.user.has_perm(MANAGE),
            "section": "visits",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request: HttpRequest, resident_id: int) -> HttpResponse:
    _require_manage(request.user)
    resident = get_scoped_or_404(
        request.user, Resident.objects.select_related("compound", "building", "household"), pk=resident_id
    )
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_record_visit(
                resident,
                by=request.user,
                kind=data["kind"],
                wellbeing=data["wellbeing"],
                needs=data["needs"],
                note=data["note"],
                visited_at=data["visited_at"],
            )
        except VisitError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Visit to %(name)s recorded.") % {"name": resident.name})
            return redirect("care:visits")
    log_reads(request.user, ReadAction.VIEW, Resident, [resident.pk])
    row = schedule().filter(resident_id=resident.pk).order_by("resident_id").first()
    return render(
        request,
        "care/visit_form.html",
        {
            "r": resident,
            "form": form,
            "due": as_due(row) if row else None,
            "groups": _groups_of([resident.pk]).get(resident.pk, []),
            "recent": list(resident.care_visits.select_related("visited_by")[:5]),
            "section": "visits",
        },
    )


# --- group orders ----------------------------------------------------------------------------------


def _order(request: HttpRequest, pk: int) -> GroupOrder:
    return get_scoped_or_404(
        request.user, GroupOrder.objects.select_related("building", "compound", "closure", "task"), pk=pk
    )


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    orders = restrict(request.user, GroupOrder.objects.all())
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    orders = orders.select_related("building", "compound").annotate(
        households=Count("lines__household_id", distinct=True)
    )
    page = Paginator(orders.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "care/orders.html",
        {
            "page": page,
            "status": status,
            "statuses": OrderStatus.choices,
            "query": _query_without_page(request),
            "can_manage": request.user.has_perm(MANAGE),
            "section": "orders",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    _require_manage(request.user)
    initial = {"building": request.GET.get("building", "")}
    form = GroupOrderForm(request.POST or None, user=request.user, initial=None if request.POST else initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.do_open_order(
                data["building"],
                title=data["title"],
                kind=data["kind"],
                supplier=data["supplier"],
                closes_at=data["closes_at"],
                items=data["items"],
                closure=form.closure(),
                user=request.user,
            )
        except services.OrderError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Group order opened: residents of the building can order now."))
            return redirect("care:order", pk=order.pk)
    return render(request, "care/order_form.html", {"form": form, "section": "orders"})


def _delivery_counts(order: GroupOrder) -> dict[str, int]:
    counts = HouseholdDelivery.objects.filter(order=order).aggregate(
        delivered=Count("pk", filter=Q(outcome=DeliveryOutcome.DELIVERED)),
        not_delivered=Count("pk", filter=~Q(outcome=DeliveryOutcome.DELIVERED)),
    )
    counts["households"] = order.lines.values("household_id").distinct().count()
    counts["waiting"] = counts["households"] - counts["delivered"] - counts["not_delivered"]
    return counts


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An order's items with the totals for the supplier, its progress and its history."""
    order = _order(request, pk)
    totals = services.item_totals(order)
    return render(
        request,
        "care/order.html",
        {
            "order": order,
            "totals": totals,
            "amount": sum(row["amount"] for row in totals),
            "counts": _delivery_counts(order),
            "events": list(order.events.select_related("user")),
            "can_manage": request.user.has_perm(MANAGE),
            "taking_orders": order.is_taking_orders(),
            "S": OrderStatus,
            "section": "orders",
        },
    )


_MOVES = {
    OrderStatus.ORDERED: services.do_close_ordering,
    OrderStatus.DELIVERING: services.do_start_delivery,
    OrderStatus.CANCELLED: services.do_cancel_order,
}


@login_required
@require_POST
def order_transition(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manage(request.user)
    order = _order(request, pk)
    move = _MOVES.get(request.POST.get("to", ""))
    if move is None:
        messages.error(request, _("Unknown step."))
    else:
        try:
            move(order, request.user)
        except (services.OrderError, OrderTransitionError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The order is now: %(status)s.") % {"status": OrderStatus(order.status).label})
    return redirect("care:order", pk=order.pk)


@login_required
@require_http_methods(["GET", "POST"])
def order_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    """The volunteers' delivery list: every household with lines, its items, a member's masked
    phone, a tick box; printable, and as XLSX. Ticking records the outcome once per household."""
    order = _order(request, pk)
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("household") if v.isdigit()]
        outcome = request.POST.get("outcome", DeliveryOutcome.DELIVERED)
        if not ids:
            messages.error(request, _("Tick the households first."))
        else:
            try:
                n = services.do_confirm_deliveries(
                    order, ids, request.user, outcome=outcome, note=request.POST.get("note", "")[:200]
                )
            except services.OrderError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("%(n)d households recorded.") % {"n": n})
        return redirect("care:order-deliveries", pk=order.pk)
    rows = services.household_lines(order)
    download = request.GET.get("format") == "xlsx"
    action = ReadAction.EXPORT if download else ReadAction.LIST
    log_reads(request.user, action, Resident, [row.contact_id for row in rows if row.contact_id])
    if download:
        response = HttpResponse(
            delivery_workbook(order, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="delivery-list-{order.pk}.xlsx"'
        return response
    return render(
        request,
        "care/deliveries.html",
        {
            "order": order,
            "rows": rows,
            "totals": services.item_totals(order),
            "counts": _delivery_counts(order),
            "outcomes": DeliveryOutcome.choices,
            "recording": order.status == OrderStatus.DELIVERING,
            "printed_at": timezone.localtime(),
            "section": "orders",
        },
    )

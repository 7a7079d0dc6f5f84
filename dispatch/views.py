"""Staff pages of transport dispatch: pending transfers and the last plan, vehicles, one vehicle
(disinfected), one transfer (picked up, delivered).

Everything is read through core.scoping (transfers by the person's place, vehicles by district; out
of scope answers 404). Planning and vehicle changes need ``dispatch.run_dispatch``; a vehicle's crew
may also mark its own pick-ups, deliveries and disinfection.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from beds.services import BedError
from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404, restrict
from dispatch import services
from dispatch.choices import OPEN_STATUSES
from dispatch.models import DispatchPlan, Transfer, Vehicle
from people.models import Resident

MANAGE = "dispatch.run_dispatch"
LIST_LIMIT = 200


def _may_drive(user, vehicle: Vehicle | None) -> bool:
    return user.has_perm(MANAGE) or (vehicle is not None and vehicle.crew_id == user.pk)


def visible_transfers(user, queryset=None):
    """Transfers in the user's jurisdiction, plus those on a vehicle the user crews (a crew drives
    city-wide and needs the address of whoever it picks up)."""
    queryset = Transfer.objects.all() if queryset is None else queryset
    return restrict(user, queryset) | queryset.filter(vehicle__crew_id=user.pk)


def get_transfer_or_404(user, pk: int, queryset=None) -> Transfer:
    queryset = Transfer.objects.all() if queryset is None else queryset
    try:
        return visible_transfers(user, queryset).get(pk=pk)
    except Transfer.DoesNotExist as exc:
        raise Http404("transfer") from exc


def plan_for(user, record: DispatchPlan | None) -> dict | None:
    """The plan as the user may see it: routes of the vehicles in their jurisdiction only, with the
    longest wait and kilometres of those."""
    if record is None:
        return None
    visible = set(restrict(user, Vehicle.objects.all()).values_list("code", flat=True))
    routes = [r for r in record.routes if r["vehicle"] in visible]
    return {"record": record, "routes": routes, "km": round(sum(r["km"] for r in routes), 1)}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Pending transfers (longest waiting first), the last plan, the vehicles."""
    transfers = list(
        visible_transfers(request.user, Transfer.objects.filter(status__in=OPEN_STATUSES))
        .select_related("person", "destination", "vehicle", "compound")
        .order_by("waiting_since", "id")[:LIST_LIMIT]
    )
    log_reads(request.user, ReadAction.LIST, Resident, [t.person_id for t in transfers])
    vehicles = restrict(request.user, Vehicle.objects.select_related("district", "crew"))
    return render(
        request,
        "dispatch/home.html",
        {
            "transfers": transfers,
            "plan": plan_for(request.user, DispatchPlan.objects.first()),
            "vehicles": vehicles,
            "can_manage": request.user.has_perm(MANAGE),
        },
    )


@login_required
@require_POST
def plan_now(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    try:
        record = services.do_plan(request.user)
    except services.DispatchError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Planned %(n)d transfers; %(none)d without a destination.")
            % {"n": record.transfers, "none": record.no_destination},
        )
    return redirect("dispatch:home")


@login_required
def vehicle_detail(request: HttpRequest, code: str) -> HttpResponse:
    vehicle = get_scoped_or_404(request.user, Vehicle.objects.select_related("district", "crew"), code=code)
    transfers = list(
        visible_transfers(request.user, vehicle.transfers.filter(status__in=OPEN_STATUSES))
        .select_related("person", "destination")
        .order_by("planned_pickup_at", "id")
    )
    log_reads(request.user, ReadAction.LIST, Resident, [t.person_id for t in transfers])
    return render(
        request,
        "dispatch/vehicle.html",
        {"vehicle": vehicle, "transfers": transfers, "can_drive": _may_drive(request.user, vehicle)},
    )


@login_required
@require_POST
def vehicle_disinfected(request: HttpRequest, code: str) -> HttpResponse:
    vehicle = get_scoped_or_404(request.user, Vehicle.objects.all(), code=code)
    if not _may_drive(request.user, vehicle):
        raise PermissionDenied
    services.do_record_disinfection(vehicle, request.user)
    messages.success(request, _("Disinfection of %(vehicle)s recorded.") % {"vehicle": vehicle.code})
    return redirect("dispatch:vehicle", code=vehicle.code)


@login_required
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = get_transfer_or_404(
        request.user, pk, Transfer.objects.select_related("person", "destination", "vehicle", "compound", "stay")
    )
    log_reads(request.user, ReadAction.VIEW, Resident, [transfer.person_id])
    return render(
        request,
        "dispatch/transfer.html",
        {"t": transfer, "can_drive": _may_drive(request.user, transfer.vehicle)},
    )


@login_required
@require_POST
def transfer_move(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    """Picked up or delivered (the crew, or dispatch staff)."""
    transfer = get_transfer_or_404(request.user, pk, Transfer.objects.select_related("vehicle"))
    if not _may_drive(request.user, transfer.vehicle):
        raise PermissionDenied
    action = {"picked-up": services.do_mark_picked_up, "delivered": services.do_mark_delivered}.get(move)
    if action is None:
        raise PermissionDenied
    try:
        action(transfer, request.user)
    except (services.DispatchError, BedError) as exc:
        messages.error(request, str(exc))
    return redirect("dispatch:transfer", pk=transfer.pk)

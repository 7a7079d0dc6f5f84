"""Staff pages of facilities and beds: the city board, a facility's counts with their history and
its current stays, the facility's own count report, admissions and discharges.

Facilities are read through core.scoping (district staff see their district's, city staff every
one; out of scope answers 404 like a missing facility). People at a facility appear masked and
every list of them is read-logged. Reporting counts needs ``beds.report_beds``; admitting and
discharging ``beds.admit_patients``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from beds import selectors, services
from beds.choices import AdmissionStatus, BedSource, FacilityKind
from beds.forms import CountsForm, DischargeForm, WalkInForm
from beds.models import Facility, Stay
from cases.choices import Basis, Category
from cases.services import BasisRefused, TransitionRefused, resolve_basis_case
from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404
from people.models import Resident

REPORT = "beds.report_beds"
ADMIT = "beds.admit_patients"
HISTORY_PAGE_SIZE = 25
CURRENT = (AdmissionStatus.RESERVED, AdmissionStatus.ADMITTED)


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied


def _facility(request: HttpRequest, code: str) -> Facility:
    return get_scoped_or_404(request.user, Facility.objects.select_related("district"), code=code)


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """Free beds by category and district, and every facility's fill level and freshness."""
    kind = request.GET.get("kind", "")
    category = request.GET.get("category", "")
    facilities = selectors.facilities_for(request.user, Facility.objects.select_related("district"))
    if kind in FacilityKind.values:
        facilities = facilities.filter(kind=kind)
    if category in Category.values:
        facilities = selectors.with_wrapped_categories(facilities).filter(selectors.takes(category))
    now = timezone.now()
    labels = dict(Category.choices)
    listed = []
    for f in facilities.order_by("district__code", "kind", "code"):
        f.category_labels = [labels.get(c, c) for c in f.category_list]
        listed.append((f, f.is_stale(now)))
    return render(
        request,
        "beds/board.html",
        {
            "board": selectors.board(request.user),
            "facilities": listed,
            "kind": kind,
            "kinds": FacilityKind.choices,
            "category": category,
            "category_choices": Category.choices,
        },
    )


def _current_stays(request: HttpRequest, facility: Facility) -> list[Stay]:
    stays = list(
        Stay.objects.filter(facility=facility, status__in=CURRENT)
        .select_related("person")
        .order_by("status", "reserved_at", "id")
    )
    labels = dict(Category.choices)
    for stay in stays:
        stay.category_label = labels.get(stay.category, stay.category)
    log_reads(request.user, ReadAction.LIST, Resident, [s.person_id for s in stays])
    return stays


@login_required
@require_http_methods(["GET", "POST"])
def facility_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The facility's counts, its history (newest first), its current stays and, for its staff,
    the count report and walk-in admission forms."""
    facility = _facility(request, code)
    form = CountsForm(
        request.POST or None,
        initial={
            "beds_approved": facility.beds_approved,
            "beds_open": facility.beds_open,
            "beds_occupied": facility.beds_occupied,
        },
    )
    if request.method == "POST":
        _require(request.user, REPORT)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.do_report_counts(
                    facility,
                    approved=data["beds_approved"],
                    open_=data["beds_open"],
                    occupied=data["beds_occupied"],
                    source=BedSource.FACILITY,
                    user=request.user,
                    note=data["note"],
                )
            except services.BedError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Bed counts of %(name)s recorded.") % {"name": facility.name})
                return redirect("beds:facility", code=facility.code)
    history = Paginator(facility.reports.select_related("user").order_by("-at", "-id"), HISTORY_PAGE_SIZE)
    labels = dict(Category.choices)
    return render(
        request,
        "beds/facility.html",
        {
            "f": facility,
            "form": form,
            "walk_in": WalkInForm(facility=facility),
            "discharge_form": DischargeForm(),
            "page": history.get_page(request.GET.get("page")),
            "stays": _current_stays(request, facility),
            "categories": [labels.get(c, c) for c in facility.category_list],
            "stale": facility.is_stale(),
            "can_report": request.user.has_perm(REPORT),
            "can_admit": request.user.has_perm(ADMIT),
        },
    )


@login_required
@require_POST
def walk_in(request: HttpRequest, code: str) -> HttpResponse:
    facility = _facility(request, code)
    _require(request.user, ADMIT)
    form = WalkInForm(request.POST, facility=facility)
    if form.is_valid():
        person, data = form.cleaned_data["id_number"], form.cleaned_data
        try:
            case = None
            if data["basis"] == Basis.CONTACT_OF_CASE and data["case_id_number"]:
                case = resolve_basis_case(data["case_id_number"])
                log_reads(request.user, ReadAction.VIEW, Resident, [case.pk])
            services.do_admit_direct(
                facility,
                person,
                data["category"],
                request.user,
                basis=data["basis"],
                note=data["note"],
                basis_case=case,
            )
        except (services.BedError, TransitionRefused, BasisRefused) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(name)s admitted.") % {"name": person.masked_name})
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("beds:facility", code=facility.code)


def _stay(request: HttpRequest, pk: int) -> Stay:
    """A stay at a facility in the user's jurisdiction (404 otherwise, like a missing one)."""
    stay = get_object_or_404(Stay.objects.select_related("person", "facility"), pk=pk)
    _facility(request, stay.facility.code)
    return stay


@login_required
@require_POST
def stay_admit(request: HttpRequest, pk: int) -> HttpResponse:
    stay = _stay(request, pk)
    _require(request.user, ADMIT)
    try:
        services.do_admit(stay, request.user)
    except (services.BedError, TransitionRefused) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(name)s admitted.") % {"name": stay.person.masked_name})
    return redirect("beds:facility", code=stay.facility.code)


@login_required
@require_POST
def stay_discharge(request: HttpRequest, pk: int) -> HttpResponse:
    stay = _stay(request, pk)
    _require(request.user, ADMIT)
    form = DischargeForm(request.POST)
    released = form.is_valid() and form.cleaned_data["released"]
    try:
        services.do_discharge(stay, request.user, released=released)
    except (services.BedError, TransitionRefused) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(name)s discharged.") % {"name": stay.person.masked_name})
    return redirect("beds:facility", code=stay.facility.code)


@login_required
@require_POST
def stay_release(request: HttpRequest, pk: int) -> HttpResponse:
    """A reserved bed no longer needed: back to free."""
    stay = _stay(request, pk)
    _require(request.user, ADMIT)
    services.do_release_bed(stay, note=_("Released by %(user)s") % {"user": request.user.get_username()})
    messages.success(request, _("Reserved bed released."))
    return redirect("beds:facility", code=stay.facility.code)

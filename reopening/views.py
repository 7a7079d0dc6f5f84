"""Pages of reopening: the units (filters), a unit (history, applications, staff back, contacts),
an application (checklist, evidence upload, submit), its inspection (verdicts, decision), the
resumption rates (table and daily chart), and the outbreak reviews.

Units and applications are read through reopening.selectors (staff by jurisdiction, contacts by
their own units): out of scope answers 404 like a missing one. Acting needs
``reopening.apply_reopening`` (apply, evidence, staff back) or ``reopening.inspect_reopening``
(verdicts, decisions, reviews); without it, 403. The forms parse; reopening.services acts.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from geo.models import Division
from geo.services import active_assignments
from reopening import forms
from reopening.choices import ACTIVE_APPLICATION, UNDER_REVIEW, ApplicationStatus, RateLevel, ReviewDecision, UnitStatus
from reopening.models import Evidence, ReopeningApplication, StaffReport, Unit
from reopening.rates import Series, resumption_series
from reopening.selectors import visible_applications, visible_reviews, visible_units
from reopening.services import (
    ReopeningError,
    do_add_contact,
    do_add_evidence,
    do_decide,
    do_decide_review,
    do_record_verdict,
    do_remove_evidence,
    do_report_staff,
    do_start_application,
    do_submit,
    do_update_draft,
    do_withdraw,
)

APPLY = "reopening.apply_reopening"
INSPECT = "reopening.inspect_reopening"
MANAGE = "reopening.manage_units"
PAGE_SIZE = 50
CHART_DAYS = 30
FILTER_COLUMNS = {"district": "district_id"}


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _unit(request: HttpRequest, pk: int) -> Unit:
    units = visible_units(request.user).select_related("compound", "venue", "district", "street")
    return get_object_or_404(units, pk=pk)


def _application(request: HttpRequest, pk: int) -> ReopeningApplication:
    return get_object_or_404(visible_applications(request.user).select_related("unit", "task"), pk=pk)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The units I may see, with counts by status and filters."""
    units = visible_units(request.user)
    districts = Division.objects.filter(pk__in=units.values("district_id")).order_by("code")
    form = forms.UnitFilterForm(request.GET or None, districts=districts)
    shown = units.select_related("district", "street")
    if form.is_valid():
        data = form.cleaned_data
        for field in ("district", "kind", "sector", "status"):
            if data[field]:
                shown = shown.filter(**{FILTER_COLUMNS.get(field, field): data[field]})
    counts = dict(shown.order_by().values_list("status").annotate(n=Count("id")))
    page = Paginator(shown.order_by("district__code", "kind", "code"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reopening/units.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "cards": [(UnitStatus(s), counts.get(s, 0)) for s in UnitStatus.values],
            "total": sum(counts.values()),
            "pending_reviews": visible_reviews(request.user).filter(decision=ReviewDecision.PENDING).count(),
        },
    )


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request, pk)
    return render(
        request,
        "reopening/unit.html",
        {
            "unit": unit,
            "history": unit.history.select_related("by").order_by("-at", "-id")[:100],
            "applications": unit.applications.order_by("-created_at"),
            "reports": StaffReport.objects.filter(unit=unit).order_by("-day")[:14],
            "contacts": unit.contacts.select_related("user"),
            # the grid's 包保 chain: who the inspection and review tasks go to (tasks.routing)
            "answerable": active_assignments()
            .filter(is_answerable=True, division_id__in=[unit.grid_id, unit.community_id, unit.street_id])
            .select_related("user", "division")
            .order_by("division__code"),
            "reviews": unit.reviews.order_by("-created_at")[:10],
            "can_apply": request.user.has_perm(APPLY)
            and unit.status in (UnitStatus.CLOSED, UnitStatus.SUSPENDED)
            and not unit.applications.filter(status__in=ACTIVE_APPLICATION).exists(),
            "can_report": request.user.has_perm(APPLY),
            "can_manage": request.user.has_perm(MANAGE),
            "staff_form": forms.StaffReportForm(),
            "contact_form": forms.ContactForm(),
        },
    )


@login_required
@require_POST
def unit_apply(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request, pk)
    _require(request, APPLY)
    try:
        application = do_start_application(unit, request.user)
    except ReopeningError as exc:
        messages.error(request, str(exc))
        return redirect("reopening:unit", pk=unit.pk)
    return redirect("reopening:application", pk=application.pk)


@login_required
@require_POST
def unit_staff(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request, pk)
    _require(request, APPLY)
    form = forms.StaffReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the day and the number of staff back."))
        return redirect("reopening:unit", pk=unit.pk)
    try:
        do_report_staff(unit, form.cleaned_data["day"], form.cleaned_data["staff_back"], request.user)
    except ReopeningError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Recorded."))
    return redirect("reopening:unit", pk=unit.pk)


@login_required
@require_POST
def unit_contact(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request, pk)
    _require(request, MANAGE)
    form = forms.ContactForm(request.POST)
    user = None
    if form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"], is_active=True).first()
    if user is None:
        messages.error(request, _("No such user."))
    else:
        do_add_contact(unit, user, request.user)
        messages.success(request, _("Contact added."))
    return redirect("reopening:unit", pk=unit.pk)


def _entries(application: ReopeningApplication) -> list:
    return list(application.entries.prefetch_related("evidence").order_by("-required", "position"))


def _render_application(request: HttpRequest, application: ReopeningApplication, status: int = 200) -> HttpResponse:
    draft = application.status == ApplicationStatus.DRAFT and request.user.has_perm(APPLY)
    return render(
        request,
        "reopening/application.html",
        {
            "application": application,
            "unit": application.unit,
            "entries": _entries(application),
            "draft": draft,
            "plan_form": forms.PlanForm(initial={"planned_on": application.planned_on, "note": application.note}),
            "can_withdraw": application.is_active and request.user.has_perm(APPLY),
            "can_inspect": request.user.has_perm(INSPECT) and application.status in UNDER_REVIEW,
            "events": application.events.select_related("user"),
        },
        status=status,
    )


@login_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The applicant's page: the checklist with evidence, and on a draft the forms to fill it."""
    application = _application(request, pk)
    if request.method != "POST":
        return _render_application(request, application)
    _require(request, APPLY)
    if application.status != ApplicationStatus.DRAFT:
        messages.error(request, _("Only a draft can be changed."))
        return _render_application(request, application, 400)
    action = request.POST.get("action")
    try:
        if action == "evidence":
            form = forms.EvidenceForm(request.POST, request.FILES)
            if not form.is_valid():
                raise ReopeningError(_("Choose a file to upload."), "no_file")
            upload = form.cleaned_data["file"]
            do_add_evidence(application, form.cleaned_data["item"], upload.read(), upload.name, request.user)
        elif action == "remove":
            evidence = get_object_or_404(Evidence, pk=request.POST.get("evidence"), entry__application=application)
            do_remove_evidence(evidence, request.user)
        elif action == "plan":
            form = forms.PlanForm(request.POST)
            if not form.is_valid():
                raise ReopeningError(_("Give a valid date."), "bad_planned_date")
            do_update_draft(application, request.user, form.cleaned_data["planned_on"], form.cleaned_data["note"])
        elif action == "submit":
            do_submit(application, request.user)
            messages.success(request, _("Submitted; the street will inspect."))
        else:
            return HttpResponse(status=400)
    except ReopeningError as exc:
        messages.error(request, str(exc))
        application.refresh_from_db()
        return _render_application(request, application, 400)
    return redirect("reopening:application", pk=application.pk)


@login_required
@require_POST
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = _application(request, pk)
    _require(request, APPLY)
    try:
        do_withdraw(application, request.user, request.POST.get("reason", ""))
    except ReopeningError as exc:
        messages.error(request, str(exc))
    return redirect("reopening:application", pk=application.pk)


@login_required
def inspection(request: HttpRequest, pk: int) -> HttpResponse:
    """The inspector's page: evidence per item, a verdict each, then the decision."""
    application = _application(request, pk)
    _require(request, INSPECT)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "verdict":
                form = forms.VerdictForm(request.POST)
                if not form.is_valid():
                    raise ReopeningError(_("Choose a verdict."), "bad_verdict")
                data = form.cleaned_data
                do_record_verdict(application, data["item"], data["verdict"], data["reason"], request.user)
            elif action == "decide":
                form = forms.DecisionForm(request.POST)
                if not form.is_valid():
                    raise ReopeningError(_("Choose a decision."), "bad_decision")
                approve = form.cleaned_data["decision"] == "approve"
                do_decide(application, approve, form.cleaned_data["reason"], request.user)
                messages.success(request, _("Approved: the unit is open.") if approve else _("Rejected."))
            else:
                return HttpResponse(status=400)
        except ReopeningError as exc:
            messages.error(request, str(exc))
            status = 400
        else:
            return redirect("reopening:inspect", pk=application.pk)
        application.refresh_from_db()
    return render(
        request,
        "reopening/inspect.html",
        {
            "application": application,
            "unit": application.unit,
            "entries": [e for e in _entries(application) if e.required],
            "open": application.status in UNDER_REVIEW,
            "verdicts": forms.VerdictForm.base_fields["verdict"].choices,
            "decision_form": forms.DecisionForm(),
        },
        status=status,
    )


@login_required
def evidence_file(request: HttpRequest, pk: int) -> FileResponse:
    """One evidence file, for whoever may see its application; PDFs download, photos show."""
    evidence = Evidence.objects.filter(pk=pk, entry__application__in=visible_applications(request.user)).first()
    if evidence is None:
        raise Http404
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    disposition = "attachment" if evidence.content_type == "application/pdf" else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="evidence-{evidence.pk}.{evidence.file.name[-3:]}"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def chart_data(series: Series) -> dict:
    """The daily series as the chart draws it: one line of open share per group, and the total."""
    total_units, total_open = series.units.sum(axis=0), series.open.sum(axis=0)
    total_staff, total_back = series.staff.sum(axis=0), series.staff_back.sum(axis=0)
    return {
        "days": [d.isoformat() for d in series.days],
        "groups": [
            {"name": label, "open": Series.share(series.open[g], series.units[g])}
            for g, label in enumerate(series.labels)
        ],
        "total_open": Series.share(total_open, total_units),
        "total_staff": Series.share(total_back, total_staff),
    }


@login_required
def rates(request: HttpRequest) -> HttpResponse:
    """Resumption rates on a day by district, street or sector, and their last 30 days."""
    form = forms.RatesForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    level = data.get("level") or RateLevel.DISTRICT
    kind = data.get("kind") or None
    day = data.get("day") or timezone.localdate()
    series = resumption_series(
        level, day - dt.timedelta(days=CHART_DAYS - 1), day, units=visible_units(request.user), kind=kind
    )
    rows = series.rates_on(len(series.days) - 1)
    totals = {
        "units": sum(r.units for r in rows),
        "open": sum(r.open for r in rows),
        "staff": sum(r.staff for r in rows),
        "staff_back": sum(r.staff_back for r in rows),
    }
    return render(
        request,
        "reopening/rates.html",
        {
            "form": form,
            "rows": rows,
            "day": day,
            "totals": totals,
            "chart": chart_data(series),
            "strings": {"total": _("All units: open"), "staff": _("All units: staff back")},
        },
    )


@login_required
def reviews(request: HttpRequest) -> HttpResponse:
    shown = visible_reviews(request.user).select_related("unit", "task", "decided_by")
    pending = shown.filter(decision=ReviewDecision.PENDING)
    return render(
        request,
        "reopening/reviews.html",
        {
            "pending": pending.order_by("created_at"),
            "decided": shown.filter(~Q(decision=ReviewDecision.PENDING)).order_by("-decided_at")[:50],
            "can_decide": request.user.has_perm(INSPECT),
            "form": forms.ReviewDecisionForm(),
        },
    )


@login_required
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(visible_reviews(request.user), pk=pk)
    _require(request, INSPECT)
    form = forms.ReviewDecisionForm(request.POST)
    try:
        if not form.is_valid():
            raise ReopeningError(_("Choose a decision and give the reason."), "reason_required")
        do_decide_review(review, form.cleaned_data["decision"] == "suspend", form.cleaned_data["reason"], request.user)
    except ReopeningError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Decided."))
    return redirect("reopening:reviews")

"""Staff pages of the renovation programme: progress against the yearly targets (the landing
page), candidate compounds, the projects, one project with its works, budget and consultations and
the forms of its steps, and a consultation's minutes.

Everything is read through core.scoping (out of scope answers 404, like missing); seeing the
programme needs ``renovation.view_project``, acting ``renovation.manage_renovation``. The forms
parse; renovation.services acts and refuses with the reason, shown on the page (status 400).
"""

from __future__ import annotations

from functools import reduce
from operator import add

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.policy import policy
from core.scoping import get_scoped_or_404, restrict
from geo.models import Compound, Division
from renovation import forms as f
from renovation.choices import ACTIVE, STATUS_COLOURS, ProjectStatus
from renovation.models import BUDGET_FIELDS, Consultation, Programme, Project, Work
from renovation.progress import LEVELS, behind, current_programme, default_year, monthly, progress
from renovation.services import (
    RenovationError,
    do_add_work,
    do_cancel,
    do_finish,
    do_plan,
    do_record_consultation,
    do_record_spending,
    do_select,
    do_set_work_status,
    do_start,
)

VIEW = "renovation.view_project"
MANAGE = "renovation.manage_renovation"
PAGE_SIZE = 100


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied


def _programme(request: HttpRequest) -> Programme | None:
    code = request.GET.get("programme")
    if code:
        return Programme.objects.filter(code=code).first() or current_programme()
    return current_programme()


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Progress of a programme year by district (or street) against the targets, month by month,
    and the projects behind the late areas."""
    _require(request.user, VIEW)
    programme = _programme(request)
    if programme is None:
        return render(request, "renovation/home.html", {"programme": None})
    year = _int(request.GET.get("year"), default_year(programme))
    if year not in programme.years:
        year = default_year(programme)
    level = request.GET.get("level") if request.GET.get("level") in LEVELS else "district"
    result = progress(year, level, user=request.user, programme=programme)
    district = None
    if request.GET.get("district"):
        district = get_scoped_or_404(
            request.user, Division.objects.filter(level="district"), pk=_int(request.GET["district"], 0)
        )
    series = monthly(year, user=request.user, programme=programme, district=district)
    targets = result.total if district is None else next((r for r in result.rows if r.area_id == district.pk), None)
    chart = {
        "months": [f"{year}-{m:02d}" for m in range(1, 13)],
        **series,
        "target_start": targets.target_start if targets else None,
        "target_finish": targets.target_finish if targets else None,
    }
    strings = {
        "started": _("Started (cumulative)"),
        "finished": _("Finished (cumulative)"),
        "target_start": _("Target: start"),
        "target_finish": _("Target: finish"),
    }
    context = {
        "programme": programme,
        "programmes": Programme.objects.all(),
        "year": year,
        "level": level,
        "progress": result,
        "behind": behind(result, user=request.user),
        "chart": chart,
        "strings": strings,
        "chart_district": district,
    }
    return render(request, "renovation/home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def candidates(request: HttpRequest) -> HttpResponse:
    """Old compounds (built before the policy's year) in no active project, filterable by district;
    a manager selects one into the programme."""
    _require(request.user, VIEW)
    programme = _programme(request)
    before = int(policy().renovation_built_before)
    if request.method == "POST":
        _require(request.user, MANAGE)
        if programme is None:
            raise Http404("programme")
        compound = get_scoped_or_404(request.user, Compound.objects.all(), pk=_int(request.POST.get("compound"), 0))
        form = f.SelectForm(request.POST, years=programme.years)
        if form.is_valid():
            try:
                project = do_select(
                    programme,
                    compound,
                    form.cleaned_data["year"],
                    on=form.cleaned_data["on"],
                    by=request.user,
                    note=form.cleaned_data["note"],
                )
            except RenovationError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("%(compound)s selected.") % {"compound": compound.name})
                return redirect("renovation:project", pk=project.pk)
        else:
            messages.error(request, _("Give a programme year and a date."))
        return redirect(f"{reverse('renovation:candidates')}?{request.GET.urlencode()}")
    active = Project.objects.filter(compound=OuterRef("pk"), status__in=ACTIVE)
    compounds = (
        restrict(request.user, Compound.objects.filter(built_year__lt=before))
        .filter(~Exists(active))
        .select_related("district", "street", "community")
        .order_by("district__code", "built_year", "code")
    )
    district = request.GET.get("district")
    if district:
        compounds = compounds.filter(district_id=_int(district, 0))
    page = Paginator(compounds, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "renovation/candidates.html",
        {
            "programme": programme,
            "page": page,
            "before": before,
            "districts": restrict(request.user, Division.objects.filter(level="district")).order_by("code")
            | Division.objects.filter(pk__in=restrict(request.user, Compound.objects.all()).values("district_id")),
            "district": _int(district, 0),
            "can_manage": request.user.has_perm(MANAGE) and programme is not None,
            "select_form": f.SelectForm(years=programme.years) if programme else None,
        },
    )


@login_required
def projects(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW)
    qs = restrict(request.user, Project.objects.all()).select_related("compound", "district", "programme")
    status, year, district = request.GET.get("status"), request.GET.get("year"), request.GET.get("district")
    if status in ProjectStatus.values:
        qs = qs.filter(status=status)
    if year:
        qs = qs.filter(year=_int(year, 0))
    if district:
        qs = qs.filter(district_id=_int(district, 0))
    if request.GET.get("over_budget"):
        qs = qs.filter(Q(spent__gt=_budget_expression()))
    page = Paginator(qs.order_by("district__code", "year", "compound__code"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "renovation/projects.html",
        {"page": page, "statuses": ProjectStatus.choices, "status": status, "query": request.GET.urlencode()},
    )


def _budget_expression():
    return reduce(add, (F(name) for name in BUDGET_FIELDS.values()))


ACTIONS = {
    "plan": f.PlanForm,
    "consult": f.ConsultationForm,
    "start": f.StartForm,
    "finish": f.FinishForm,
    "cancel": f.CancelForm,
    "work": f.WorkForm,
    "work_status": f.WorkStatusForm,
    "spending": f.SpendingForm,
}


def _act(request: HttpRequest, project: Project, action: str, data: dict) -> None:
    """Run one step's action from its form's cleaned data."""
    by = request.user
    if action == "plan":
        do_plan(project, on=data["on"], budget=_budgets(data), by=by, note=data["note"])
    elif action == "consult":
        do_record_consultation(
            project,
            held_on=data["held_on"],
            kind=data["kind"],
            households=data["households"],
            participating=data["participating"],
            in_favour=data["in_favour"],
            against=data["against"],
            minutes=data.get("minutes"),
            note=data["note"],
            by=by,
        )
    elif action == "start":
        do_start(project, on=data["on"], by=by, note=data["note"])
    elif action == "finish":
        do_finish(project, inspected_on=data["inspected_on"], on=data["on"], by=by, note=data["note"])
    elif action == "cancel":
        do_cancel(project, reason=data["reason"], on=data["on"], by=by)
    elif action == "work":
        do_add_work(
            project,
            kind=data["kind"],
            quantity=data["quantity"],
            unit=data["unit"],
            cost=data["cost"],
            description=data["description"],
            by=by,
        )
    elif action == "work_status":
        work = Work.objects.filter(project=project, pk=data["work"]).first()
        if work is None:
            raise Http404("work")
        do_set_work_status(work, data["status"], on=data["on"], by=by)
    else:
        do_record_spending(project, data["spent"], by=by)


def _budgets(data: dict) -> dict:
    return {k.removeprefix("budget_"): v for k, v in data.items() if k.startswith("budget_") and v is not None}


def _render_project(request: HttpRequest, project: Project, bound: dict, status: int = 200) -> HttpResponse:
    can_manage = request.user.has_perm(MANAGE)
    forms = {}
    if can_manage:
        initial = {field: getattr(project, field) for field in BUDGET_FIELDS.values()}
        forms = {
            name: bound.get(name) or (form_class(initial=initial) if name == "plan" else form_class())
            for name, form_class in ACTIONS.items()
            if name != "work_status"
        }
    context = {
        "project": project,
        "steps": project.steps.select_related("user"),
        "works": project.works.all(),
        "consultations": project.consultations.select_related("recorded_by"),
        "rules": policy().renovation_consent,
        "can_manage": can_manage,
        "forms": forms,
        "work_statuses": f.WorkStatusForm.base_fields["status"].choices,
        "colours": STATUS_COLOURS,
        "S": ProjectStatus,
    }
    return render(request, "renovation/project.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, VIEW)
    project = get_scoped_or_404(
        request.user, Project.objects.select_related("compound", "programme", "district", "street", "community"), pk=pk
    )
    if request.method == "GET":
        return _render_project(request, project, {})
    _require(request.user, MANAGE)
    action = request.POST.get("action", "")
    form_class = ACTIONS.get(action)
    if form_class is None:
        return HttpResponse(status=400)
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            _act(request, project, action, form.cleaned_data)
        except RenovationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Recorded."))
            return redirect("renovation:project", pk=project.pk)
    project.refresh_from_db()
    if action == "work_status":
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return _render_project(request, project, {action: form}, status=400)


@login_required
def minutes(request: HttpRequest, pk: int) -> FileResponse:
    """A consultation's minutes file, to those who may see the project."""
    _require(request.user, VIEW)
    consultation = get_scoped_or_404(request.user, Consultation.objects.all(), pk=pk)
    if not consultation.minutes or not default_storage.exists(consultation.minutes):
        raise Http404("minutes")
    name = consultation.minutes.rsplit("/", 1)[-1]
    return FileResponse(default_storage.open(consultation.minutes), as_attachment=True, filename=name)

"""Staff pages of the workforce: the overview (days on duty by area, workers over the limits), the
workers and one worker, rotation plans (propose, the grid × day table, accept or discard), training
completion rates, and confidential support requests.

Workers and plans are read through core.scoping (out of scope answers 404, like a missing one);
reading rosters needs ``workforce.view_roster``, planning ``workforce.plan_rotation``. A support
request opens only for its requester and its counsellor (workforce.services.visible_support); for
anyone else it answers 404, whatever their role.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.audit import log_reads
from core.choices import ReadAction
from core.policy import policy
from core.scoping import get_scoped_or_404, restrict
from geo.choices import DivisionLevel
from geo.models import Division
from people.identity import mask_phone
from workforce.choices import OPEN_SUPPORT, PlanStatus, SupportStatus, TransitionRefused
from workforce.forms import LeaveForm, ProposePlanForm, ScheduleForm, SupportForm
from workforce.models import Completion, DutyDay, RosterDay, RotationPlan, Worker
from workforce.selectors import plan_tables, training_rates
from workforce.services import (
    PlanError,
    SupportError,
    do_accept_plan,
    do_accept_support,
    do_ask_support,
    do_close_support,
    do_discard_plan,
    do_propose_plan,
    do_record_leave,
    do_schedule_support,
    visible_support,
)
from workforce.stats import by_area, duty_of, latest_day

VIEW = "workforce.view_roster"
PLAN = "workforce.plan_rotation"
COUNSEL = "workforce.counsel"
PAGE_SIZE = 100
AREA_LEVELS = ("district", "street", "community", "grid")


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def workers_in_scope(user):
    return restrict(user, Worker.objects.filter(active=True))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Days on duty by area for roster readers; everyone finds the way to confidential support here."""
    context: dict = {"can_view": request.user.has_perm(VIEW), "can_plan": request.user.has_perm(PLAN)}
    if context["can_view"]:
        level = request.GET.get("level") if request.GET.get("level") in AREA_LEVELS else "community"
        workers = workers_in_scope(request.user)
        as_of = latest_day(workers) or timezone.localdate()
        figures = by_area(workers, level, as_of)
        names = Division.objects.in_bulk(list(figures))
        rows = sorted(
            ((names[k], v) for k, v in figures.items() if k in names),
            key=lambda pair: (-(pair[1].over_days + pair[1].over_hours), pair[0].code),
        )
        context |= {
            "level": level,
            "levels": [(value, DivisionLevel(value).label) for value in AREA_LEVELS],
            "as_of": as_of,
            "rows": rows,
            "total": sum(v.workers for v in figures.values()),
            "over_days": sum(v.over_days for v in figures.values()),
            "over_hours": sum(v.over_hours for v in figures.values()),
            "rules": policy(),
            "plans": restrict(request.user, RotationPlan.objects.select_related("area"))[:10],
        }
    context["my_requests"] = visible_support(request.user).filter(status__in=OPEN_SUPPORT).count()
    return render(request, "workforce/home.html", context)


@login_required
def worker_list(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    workers = workers_in_scope(request.user).select_related("grid", "community")
    area = None
    if request.GET.get("area", "").isdigit():
        area = get_scoped_or_404(request.user, Division.objects.all(), pk=int(request.GET["area"]))
        workers = workers.filter(**({"grid": area} if area.level == "grid" else {f"{area.level}_id": area.pk}))
    as_of = latest_day(workers) or timezone.localdate()
    over_only = request.GET.get("over") == "1"
    if over_only:
        # the flag needs every worker's figures: computed set-based, then paged
        duty = [d for d in duty_of(list(workers.order_by("grid__code", "code")), as_of) if d.over]
        page = Paginator(duty, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        page = Paginator(workers.order_by("grid__code", "code"), PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = duty_of(list(page.object_list), as_of)
    for d in page.object_list:
        d.phone = mask_phone(d.worker.phone)
    log_reads(request.user, ReadAction.LIST, Worker, [d.worker.pk for d in page.object_list])
    return render(
        request,
        "workforce/workers.html",
        {"page": page, "area": area, "as_of": as_of, "over_only": over_only, "rules": policy()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def worker_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW)
    worker = get_scoped_or_404(request.user, Worker.objects.select_related("grid", "community", "street"), pk=pk)
    form = LeaveForm()
    if request.method == "POST":
        _require(request, PLAN)
        form = LeaveForm(request.POST)
        if form.is_valid():
            try:
                do_record_leave(worker, **form.cleaned_data)
            except PlanError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Leave recorded."))
                return redirect("workforce:worker", pk=worker.pk)
    as_of = latest_day(Worker.objects.filter(pk=worker.pk)) or timezone.localdate()
    log_reads(request.user, ReadAction.VIEW, Worker, [worker.pk])
    context = {
        "worker": worker,
        "phone": mask_phone(worker.phone),
        "duty": duty_of([worker], as_of)[0],
        "as_of": as_of,
        "days": DutyDay.objects.filter(worker=worker).select_related("grid").order_by("-day")[:42],
        "roster": RosterDay.objects.filter(worker=worker, day__gte=timezone.localdate()).order_by("day")[:42],
        "posts": worker.posts.select_related("grid").all(),
        "leaves": worker.leaves.order_by("-starts_on")[:20],
        "completions": Completion.objects.filter(worker=worker).select_related("course").order_by("course__code"),
        "can_plan": request.user.has_perm(PLAN),
        "form": form,
        "rules": policy(),
    }
    return render(request, "workforce/worker.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def plan_list(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    can_plan = request.user.has_perm(PLAN)
    form = ProposePlanForm(user=request.user) if can_plan else None
    if request.method == "POST":
        _require(request, PLAN)
        form = ProposePlanForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = do_propose_plan(data["area"], data["starts_on"], data["days"], by=request.user)
            except PlanError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("workforce:plan", pk=plan.pk)
    plans = restrict(request.user, RotationPlan.objects.select_related("area", "created_by"))
    page = Paginator(plans, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "workforce/plans.html",
        {"page": page, "form": form, "can_plan": can_plan},
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW)
    plan = get_scoped_or_404(request.user, RotationPlan.objects.select_related("area"), pk=pk)
    if request.method == "POST":
        _require(request, PLAN)
        action = request.POST.get("action")
        try:
            if action == "accept":
                do_accept_plan(plan, request.user)
                messages.success(request, _("Plan accepted: its days are now the roster."))
            elif action == "discard":
                do_discard_plan(plan, request.user, request.POST.get("note", ""))
                messages.success(request, _("Plan discarded."))
            else:
                return HttpResponse(status=400)
        except TransitionRefused as exc:
            messages.error(request, str(exc))
            return redirect("workforce:plan", pk=plan.pk)
        return redirect("workforce:plan", pk=plan.pk)
    tables = plan_tables(plan)
    context = {
        "plan": plan,
        "tables": tables,
        "can_decide": request.user.has_perm(PLAN) and plan.status == PlanStatus.PROPOSED,
        "events": plan.events.select_related("user").all(),
    }
    return render(request, "workforce/plan.html", context)


@login_required
def training(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW)
    level = request.GET.get("level") if request.GET.get("level") in ("street", "community") else "community"
    courses, rows = training_rates(workers_in_scope(request.user), level)
    table = [(row, [(row.completed.get(c.pk, 0), row.rate(c.pk)) for c in courses]) for row in rows]
    return render(request, "workforce/training.html", {"courses": courses, "table": table, "level": level})


# --- confidential support --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def support(request: HttpRequest) -> HttpResponse:
    """File a request, see one's own; a counsellor also sees the requests assigned to them."""
    form = SupportForm()
    if request.method == "POST":
        form = SupportForm(request.POST)
        if form.is_valid():
            try:
                made = do_ask_support(request.user, **form.cleaned_data)
            except SupportError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Your request was sent to a counsellor. Only they and you can see it."))
                return redirect("workforce:support-detail", pk=made.pk)
    mine = visible_support(request.user).filter(requester=request.user)
    assigned = visible_support(request.user).filter(counsellor=request.user).select_related("requester")
    return render(
        request,
        "workforce/support.html",
        {"form": form, "mine": mine, "assigned": assigned},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def support_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = visible_support(request.user).select_related("requester", "counsellor").filter(pk=pk).first()
    if found is None:
        raise Http404("support request")
    is_counsellor = found.counsellor_id == request.user.pk
    schedule_form = ScheduleForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                do_accept_support(found, request.user)
            elif action == "schedule":
                schedule_form = ScheduleForm(request.POST)
                if not schedule_form.is_valid():
                    raise SupportError(_("Give a time for the talk."))
                do_schedule_support(found, request.user, schedule_form.cleaned_data["at"])
            elif action == "close":
                do_close_support(found, request.user)
            else:
                return HttpResponse(status=400)
        except (SupportError, TransitionRefused) as exc:
            messages.error(request, str(exc))
        return redirect("workforce:support-detail", pk=found.pk)
    return render(
        request,
        "workforce/support_detail.html",
        {"req": found, "is_counsellor": is_counsellor, "schedule_form": schedule_form, "S": SupportStatus},
    )

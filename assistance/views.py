"""Staff pages of help requests (/help/): the list of one's jurisdiction, a request with its task
and the actions on it (start, done, verify, place, reject), taking a call, the counts, and photos.
Thin: parse, call an assistance.services action, render. People appear masked; every page that
shows a resident's request writes the read log."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from assistance import counts as help_counts
from assistance.choices import HelpCategory, HelpChannel, HelpStage
from assistance.forms import PlaceForm, RejectForm, ResolveForm, TakeCallForm, VerifyForm
from assistance.models import HelpRequest
from assistance.services import (
    Ask,
    HelpRequestError,
    do_ask,
    do_handle,
    do_place,
    do_reject,
    do_resolve,
    do_verify,
    open_q,
    progress,
    visible_to,
)
from core.audit import log_reads
from core.choices import ReadAction
from core.middleware import client_ip
from core.moments import local_bounds
from core.scoping import get_scoped_or_404, restrict
from geo.models import Compound, Division
from people.models import Resident
from people.services import parse_node
from residents import auth as resident_auth
from tasks.choices import TaskStatus
from tasks.flow import ACTIVE
from tasks.services import can_manage

PAGE_SIZE = 50
TAKE_PERMISSION = "assistance.take_help_request"


def _scoped(user):
    return visible_to(user)


def _get(request: HttpRequest, pk: int) -> HelpRequest:
    item = _scoped(request.user).select_related("task", "task__assignee").filter(pk=pk).first()
    if item is None:
        raise Http404
    return item


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    """Requests in my jurisdiction, newest first; filters by stage, category, open/closed and node."""
    qs = _scoped(request.user).select_related("task", "task__assignee", "resident", "community", "compound")
    stage, category, state = request.GET.get("stage", ""), request.GET.get("category", ""), request.GET.get("state", "")
    if stage in HelpStage.values:
        qs = qs.filter(stage=stage)
    if category in HelpCategory.values:
        qs = qs.filter(category=category)
    if state == "open":
        qs = qs.filter(open_q())
    elif state == "closed":
        qs = qs.exclude(open_q())
    elif state == "overdue":
        qs = qs.filter(task__status__in=ACTIVE, task__due_at__lt=timezone.now())
    node = parse_node(request.GET.get("node"))
    if node:
        qs = qs.filter(**{help_counts.NODE_COLUMN[node[0]]: node[1]})
    page = Paginator(qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page.object_list:
        item.progress_key, item.progress_label = progress(item)
    log_reads(request.user, ReadAction.LIST, Resident, [i.resident_id for i in page.object_list if i.resident_id])
    waiting = _scoped(request.user).filter(stage__in=(HelpStage.VERIFYING, HelpStage.UNPLACED)).count()
    return render(
        request,
        "assistance/list.html",
        {
            "page": page,
            "stages": HelpStage.choices,
            "categories": HelpCategory.choices,
            "filters": {"stage": stage, "category": category, "state": state, "node": request.GET.get("node", "")},
            "waiting": waiting,
            "can_take": request.user.has_perm(TAKE_PERMISSION),
        },
    )


def _is_handler(user, item: HelpRequest) -> bool:
    return item.task is not None and (item.task.assignee_id == user.pk or can_manage(user))


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _get(request, pk)
    if item.resident_id:
        log_reads(request.user, ReadAction.VIEW, Resident, [item.resident_id])
    item.progress_key, item.progress_label = progress(item)
    task = item.task
    candidates = []
    may_verify = request.user.has_perm(TAKE_PERMISSION) and item.stage == HelpStage.VERIFYING
    if may_verify:
        candidates = list(
            restrict(request.user, Resident.objects.filter(merged_into__isnull=True))
            .filter(Q(phone=item.phone) | Q(compound_id=item.compound_id, name=item.contact_name))
            .select_related("building")[:20]
        )
        log_reads(request.user, ReadAction.SEARCH, Resident, [r.pk for r in candidates])
    return render(
        request,
        "assistance/detail.html",
        {
            "item": item,
            "task": task,
            "events": list(task.events.select_related("user", "assignee")) if task else [],
            "is_handler": _is_handler(request.user, item),
            "can_start": _is_handler(request.user, item) and task.status == TaskStatus.DISPATCHED,
            "can_resolve": _is_handler(request.user, item)
            and task.status in (TaskStatus.DISPATCHED, TaskStatus.HANDLING, TaskStatus.FED_BACK),
            "may_verify": may_verify,
            "may_place": request.user.has_perm(TAKE_PERMISSION) and item.stage == HelpStage.UNPLACED,
            "may_reject": request.user.has_perm(TAKE_PERMISSION) and item.stage != HelpStage.REJECTED,
            "candidates": candidates,
            "resolve_form": ResolveForm(),
            "place_form": PlaceForm(),
            "reject_form": RejectForm(),
        },
    )


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:
    item = _get(request, pk)
    try:
        action(item)
    except HelpRequestError as exc:
        messages.error(request, str(exc))
    except ValueError as exc:  # a move the task flow refuses (tasks.flow.TransitionError)
        messages.error(request, str(exc))
    return redirect("assistance:detail", pk=item.pk)


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    def action(item: HelpRequest) -> None:
        if not _is_handler(request.user, item):
            raise PermissionDenied
        do_handle(item, request.user)

    return _act(request, pk, action)


@login_required
@require_POST
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    def action(item: HelpRequest) -> None:
        if not _is_handler(request.user, item):
            raise PermissionDenied
        form = ResolveForm(request.POST)
        if not form.is_valid():
            raise HelpRequestError(_("Say what was done."), "feedback_required")
        do_resolve(item, request.user, form.cleaned_data["feedback"])
        messages.success(request, _("Done and closed. The resident can now rate it."))

    return _act(request, pk, action)


def _require_take(request: HttpRequest) -> None:
    if not request.user.has_perm(TAKE_PERMISSION):
        raise PermissionDenied


@login_required
@require_POST
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    _require_take(request)

    def action(item: HelpRequest) -> None:
        form = VerifyForm(request.POST)
        if not form.is_valid():
            raise HelpRequestError(_("Choose the resident who asked."), "resident_required")
        resident = get_scoped_or_404(request.user, Resident.objects.all(), pk=form.cleaned_data["resident"])
        do_verify(item, request.user, resident)
        messages.success(request, _("Verified and sent to the person answerable for the building."))

    return _act(request, pk, action)


@login_required
@require_POST
def place(request: HttpRequest, pk: int) -> HttpResponse:
    _require_take(request)

    def action(item: HelpRequest) -> None:
        form = PlaceForm(request.POST)
        code = form.data.get("compound_code", "").strip()
        compound = restrict(request.user, Compound.objects.all()).filter(code=code).first()
        if compound is None:
            raise HelpRequestError(_("No compound with that code in your jurisdiction."), "bad_compound")
        do_place(item, request.user, compound)

    return _act(request, pk, action)


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    _require_take(request)
    return _act(request, pk, lambda item: do_reject(item, request.user, request.POST.get("reason", "")))


@login_required
@require_http_methods(["GET", "POST"])
def take_call(request: HttpRequest) -> HttpResponse:
    """A request made by phone or at the door, written down by staff for the caller."""
    _require_take(request)
    form = TakeCallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = do_ask(
                Ask(
                    category=data["category"],
                    text=data["text"],
                    phone=data["phone"],
                    channel=HelpChannel.STAFF,
                    contact_name=data["contact_name"],
                    address=data["address"],
                    ip=client_ip(request),
                    taken_by=request.user,
                )
            )
        except HelpRequestError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Request %(ref)s recorded.") % {"ref": item.reference})
            return redirect("assistance:detail", pk=item.pk)
    return render(request, "assistance/take_call.html", {"form": form})


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    week_ago = today - dt.timedelta(days=help_counts.PERIOD_DAYS - 1)
    try:
        start = dt.date.fromisoformat(request.GET.get("from") or week_ago.isoformat())
        end = dt.date.fromisoformat(request.GET.get("to") or today.isoformat())
    except ValueError:
        start, end = week_ago, today
    return (start, end) if start <= end else (end, start)


def node_in_scope(user, node: tuple[str, int] | None) -> object | None:
    """The Division, Compound or Building named by ``node`` when the user may see it; 404 else."""
    if node is None:
        return None
    from geo.models import Building

    model = {"compound": Compound, "building": Building}.get(node[0], Division)
    return get_scoped_or_404(user, model.objects.all(), pk=node[1])


@login_required
def counts(request: HttpRequest) -> HttpResponse:
    """Resident-services figures for a node and period, with the node's children."""
    node = parse_node(request.GET.get("node"))
    obj = node_in_scope(request.user, node)
    start, end = _period(request)
    figures = help_counts.help_figures(
        request.user, node[0] if node else None, node[1] if node else None, *local_bounds(start, end)
    )
    child_level = {None: "district", "district": "street", "street": "community", "community": "grid"}.get(
        node[0] if node else None
    )
    names = {}
    if child_level:
        ids = [c["node_id"] for c in figures.children]
        names = dict(Division.objects.filter(pk__in=ids).values_list("id", "name"))
    for child in figures.children:
        child["name"] = names.get(child["node_id"], child["node_id"])
        child["node"] = f"{child_level}:{child['node_id']}" if child_level else ""
    return render(
        request,
        "assistance/counts.html",
        {
            "figures": figures,
            "node": obj,
            "node_param": request.GET.get("node", ""),
            "start": start,
            "end": end,
            "categories": HelpCategory.choices,
            "asked_rows": [
                (label, figures.asked.get(v, 0), figures.closed.get(v, 0)) for v, label in HelpCategory.choices
            ],
        },
    )


def photo(request: HttpRequest, pk: int) -> HttpResponse:
    """A request's photo, for staff in whose jurisdiction it is and for the resident who sent it."""
    item = HelpRequest.objects.filter(pk=pk).first()
    if item is None or not item.photo:
        raise Http404
    resident = resident_auth.current_resident(request)
    allowed = resident is not None and item.resident_id == resident.pk
    if not allowed and request.user.is_authenticated:
        allowed = visible_to(request.user).filter(pk=pk).exists()
        if allowed and item.resident_id:
            log_reads(request.user, ReadAction.VIEW, Resident, [item.resident_id])
    if not allowed:
        raise Http404
    response = FileResponse(item.photo.open("rb"), content_type=item.photo_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response

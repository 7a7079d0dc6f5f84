"""Task pages: my inbox with bulk actions, a task with its flow buttons and history, SLA by level,
and the notification inbox. Thin: parse, call a tasks.services action, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404
from people.models import Resident
from tasks import services
from tasks.choices import TaskEvaluation, TaskStatus, TaskType
from tasks.filters import TaskFilter, my_open_tasks, resolve_assignee, sla_table, staff_in_scope
from tasks.filters import task_queryset as scoped_tasks
from tasks.flow import ACTIVE, TransitionError
from tasks.models import Notification, Task

# the button of each move, by target status (sending back is fed back → handling)
MOVE_LABELS = {
    TaskStatus.REGISTERED: gettext_lazy("Register"),
    TaskStatus.HANDLING: gettext_lazy("Start handling"),
    TaskStatus.FED_BACK: gettext_lazy("Feed back"),
    TaskStatus.CLOSED: gettext_lazy("Verify and close"),
    TaskStatus.EVALUATED: gettext_lazy("Evaluate"),
    TaskStatus.CANCELLED: gettext_lazy("Cancel the task"),
}
SEND_BACK_LABEL = gettext_lazy("Send back to the handler")
PAGE_SIZE = 50
MINE_SHOWN = 20
BULK_ACTIONS = ("assign", "reassign", "close")


def _log_resident_reads(user, tasks) -> None:
    """Tasks about residents show the person: the read log records it (style.md, reads are logged)."""
    ids = {t.resident_id for t in tasks if t.resident_id}
    if ids:
        log_reads(user, ReadAction.LIST, Resident, sorted(ids))


@login_required
def inbox(request):
    """Tasks assigned to me, then the open tasks of my jurisdiction (filters, bulk actions, pages)."""
    f = TaskFilter.from_params(request.GET)
    now = timezone.now()
    mine = list(f.apply(my_open_tasks(request.user), request.user, now)[:MINE_SHOWN])
    others = f.apply(scoped_tasks(request.user), request.user, now).order_by("due_at", "id")
    if f.assignee != "me":
        others = others.exclude(assignee=request.user)
    page = Paginator(others, PAGE_SIZE).get_page(request.GET.get("page"))
    _log_resident_reads(request.user, [*mine, *page.object_list])
    query = request.GET.copy()
    query.pop("page", None)
    manager = services.can_manage(request.user)
    return render(
        request,
        "tasks/inbox.html",
        {
            "mine": mine,
            "page": page,
            "f": f,
            "query": query.urlencode(),
            "types": TaskType.choices,
            "statuses": [
                ("open", _("Open")),
                ("active", _("Waiting for the assignee")),
                ("all", _("All")),
                *TaskStatus.choices,
            ],
            "manager": manager,
            "staff": staff_in_scope(request.user) if manager else [],
            "now": now,
        },
    )


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@login_required
@require_POST
def bulk(request):
    if not services.can_manage(request.user):
        raise PermissionDenied
    action = request.POST.get("action", "")
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    note = request.POST.get("note", "").strip()
    if action not in BULK_ACTIONS or not ids:
        messages.error(request, _("Choose tasks and an action."))
        return _back(request, "tasks:inbox")
    if action == "close":
        result = services.do_bulk_close(ids, request.user, note)
    else:
        assignee = resolve_assignee(request.POST.get("assignee"))
        if assignee is None:
            messages.error(request, _("Say who should take the tasks."))
            return _back(request, "tasks:inbox")
        do = services.do_bulk_assign if action == "assign" else services.do_bulk_reassign
        result = do(ids, assignee, request.user, note)
    messages.success(
        request, _("%(done)d tasks changed, %(skipped)d skipped.") % {"done": result.done, "skipped": result.skipped}
    )
    return _back(request, "tasks:inbox")


def _get_task(request, pk: int) -> Task:
    return get_scoped_or_404(request.user, scoped_tasks(request.user), pk=pk)


@login_required
def task_detail(request, pk: int):
    task = _get_task(request, pk)
    if task.resident_id:
        log_reads(request.user, ReadAction.VIEW, Resident, [task.resident_id])
    events = list(task.events.select_related("user", "assignee").order_by("at", "id"))
    manager = services.can_manage(request.user)
    return render(
        request,
        "tasks/detail.html",
        {
            "task": task,
            "events": events,
            "moves": [
                (
                    s,
                    SEND_BACK_LABEL
                    if task.status == TaskStatus.FED_BACK and s == TaskStatus.HANDLING
                    else MOVE_LABELS[s],
                )
                for s in services.moves_for(request.user, task)
            ],
            "can_assign": manager and task.status in ACTIVE,
            "staff": staff_in_scope(request.user) if manager and task.status in ACTIVE else [],
            "evaluations": TaskEvaluation.choices,
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def task_act(request, pk: int):
    """One flow button: move the task to ``to`` if the table and the user's role allow it."""
    task = _get_task(request, pk)
    to = request.POST.get("to", "")
    if to not in services.moves_for(request.user, task):
        raise PermissionDenied
    note = request.POST.get("note", "").strip()
    try:
        if to == TaskStatus.FED_BACK:
            services.do_feed_back(task, request.user, request.POST.get("feedback", ""), note)
        elif to == TaskStatus.CLOSED:
            services.do_close(task, request.user, note)
        elif to == TaskStatus.EVALUATED:
            services.do_evaluate(task, request.user, request.POST.get("evaluation", ""), note)
        elif to == TaskStatus.CANCELLED:
            services.do_cancel(task, request.user, note)
        elif to == TaskStatus.HANDLING and task.status == TaskStatus.FED_BACK:
            services.do_send_back(task, request.user, note)
        else:
            services.do_transition(task, to, request.user, note)
    except TransitionError as exc:
        messages.error(request, _("Not done: %(reason)s") % {"reason": exc})
    return redirect("tasks:detail", pk=task.pk)


@login_required
@require_POST
def task_assign(request, pk: int):
    if not services.can_manage(request.user):
        raise PermissionDenied
    task = _get_task(request, pk)
    assignee = resolve_assignee(request.POST.get("assignee"))
    if assignee is None:
        messages.error(request, _("Say who should take the task."))
    else:
        try:
            services.do_assign(task, assignee, request.user, request.POST.get("note", "").strip())
        except TransitionError as exc:
            messages.error(request, _("Not done: %(reason)s") % {"reason": exc})
    return redirect("tasks:detail", pk=task.pk)


@login_required
@require_POST
def task_comment(request, pk: int):
    task = _get_task(request, pk)
    note = request.POST.get("note", "").strip()
    if note:
        services.do_comment(task, request.user, note)
    return redirect("tasks:detail", pk=task.pk)


@login_required
def sla(request):
    """Open, overdue, closed in 7 days and average hours to close, per division of each level."""
    return render(request, "tasks/sla.html", {"sections": sla_table(request.user)})


@login_required
def notifications(request):
    qs = Notification.objects.filter(user=request.user).select_related("task").order_by("-created_at", "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
    return render(request, "tasks/notifications.html", {"page": page, "unread": unread})


@login_required
@require_POST
def notifications_read(request):
    """Mark the chosen notifications (or all) of the user as read."""
    qs = Notification.objects.filter(user=request.user, read_at__isnull=True)
    if request.POST.get("all") != "1":
        qs = qs.filter(pk__in=[int(i) for i in request.POST.getlist("ids") if i.isdigit()])
    qs.update(read_at=timezone.now())
    return _back(request, "tasks:notifications")

"""Tracing pages: the command centre's list of containments with their 24-hour clocks, the board of
one containment (steps, owners, time left, contacts with reasons, venues), the investigators'
additions and removals, and the transmission-chain graph with its exports."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404, restrict
from people.identity import mask_id_number
from people.models import Resident
from tracing import board as boards
from tracing import chains
from tracing.models import Containment, ContainmentState, Degree
from tracing.services import NotACase, do_contain, do_decide_contact

SECONDARY_SHOWN = 500  # a workplace case has thousands; the page shows the first, the count says all


def _can_act(user) -> bool:
    return user.has_perm("tracing.change_containment")


def _containment_to_act_on(request, pk: int) -> Containment:
    """A containment in the user's jurisdiction that the user may act on (404 / 403 otherwise)."""
    containment = get_scoped_or_404(request.user, Containment.objects.select_related("case"), pk=pk)
    if not _can_act(request.user):
        raise PermissionDenied
    return containment


@login_required
def containment_list(request):
    qs = restrict(request.user, Containment.objects.all()).select_related("case", "grid", "community")
    state = request.GET.get("state", ContainmentState.OPEN)
    if state in ContainmentState.values:
        qs = qs.filter(state=state)
    qs = qs.order_by("due_at")
    now = timezone.now()
    page = Paginator(qs, 40).get_page(request.GET.get("page"))
    rows = [boards.board(c, now) for c in page.object_list]
    if request.GET.get("at_risk") == "1":
        rows = [b for b in rows if b.at_risk]
    log_reads(request.user, ReadAction.LIST, Resident, [c.case_id for c in page.object_list])
    return render(
        request,
        "tracing/list.html",
        {
            "page": page,
            "boards": rows,
            "state": state,
            "states": ContainmentState.choices,
            "summary": boards.summary(restrict(request.user, Containment.objects.all())),
            "at_risk": sum(b.at_risk for b in rows),
        },
    )


@login_required
def containment_detail(request, pk: int):
    containment = get_scoped_or_404(request.user, Containment.objects.select_related("case"), pk=pk)
    log_reads(request.user, ReadAction.VIEW, Resident, [containment.case_id])
    contacts = containment.contacts.select_related("person", "via")
    close = list(contacts.filter(degree=Degree.CLOSE))
    secondary = list(contacts.filter(degree=Degree.SECONDARY)[:SECONDARY_SHOWN])
    shown = [c.person_id for c in close + secondary if c.person_id]
    log_reads(request.user, ReadAction.LIST, Resident, shown)
    tasks = boards.containment_tasks(containment).select_related("assignee", "resident", "venue").order_by("due_at")
    return render(
        request,
        "tracing/detail.html",
        {
            "c": containment,
            "board": boards.board(containment),
            "close": close,
            "secondary": secondary,
            "secondary_total": containment.secondary_count,
            "venues": containment.venues.select_related("venue"),
            "tasks": tasks[:300],
            "decisions": containment.case.contact_decisions.all(),
            "can_act": _can_act(request.user),
            "masked_case": containment.case.masked_id_number,
        },
    )


@login_required
@require_POST
def containment_retrace(request, pk: int):
    containment = _containment_to_act_on(request, pk)
    try:
        do_contain(containment.case, user=request.user)
    except NotACase as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Traced again with the latest scans and decisions."))
    return redirect("tracing:detail", pk=pk)


@login_required
@require_POST
def contact_decide(request, pk: int):
    """An investigator adds or removes a contact (with a reason); re-traced at once."""
    containment = _containment_to_act_on(request, pk)
    id_number = request.POST.get("id_number", "").strip().upper()
    reason = request.POST.get("reason", "").strip()
    degree = Degree.SECONDARY if request.POST.get("degree") == "2" else Degree.CLOSE
    add = request.POST.get("action") == "add"
    exposed_at = parse_datetime(request.POST.get("exposed_at", "") or "")
    if exposed_at is not None and timezone.is_naive(exposed_at):
        exposed_at = timezone.make_aware(exposed_at)
    if not id_number or not reason:
        messages.error(request, _("An identity number and a reason are required."))
        return redirect("tracing:detail", pk=pk)
    do_decide_contact(
        containment.case, id_number, add=add, reason=reason, user=request.user, degree=degree, exposed_at=exposed_at
    )
    do_contain(containment.case, user=request.user)
    messages.success(
        request,
        (_("Added %(id)s by hand.") if add else _("Removed %(id)s; it stays removed on re-trace."))
        % {"id": mask_id_number(id_number)},
    )
    return redirect("tracing:detail", pk=pk)


@login_required
def chain(request, pk: int | None = None):
    """The chain of one containment (with linked ones), or of every containment the user can see."""
    if pk is None:
        containments = restrict(request.user, Containment.objects.all())
        title = _("Transmission chains")
    else:
        containment = get_scoped_or_404(request.user, Containment.objects.select_related("case"), pk=pk)
        containments = restrict(request.user, chains.containments_for_case_chain(containment))
        title = _("Transmission chain of %(name)s") % {"name": containment.case.name}
    secondary = request.GET.get("secondary", "0") == "1"  # thousands of them: asked for, not by default
    graph = chains.chain_graph(containments.distinct(), include_secondary=secondary)
    fmt = request.GET.get("format")
    if fmt:
        log_reads(request.user, ReadAction.EXPORT, Resident, graph.person_ids())
    if fmt == "json":
        return HttpResponse(json.dumps(chains.as_json(graph), ensure_ascii=False), content_type="application/json")
    if fmt == "csv":
        response = HttpResponse(chains.as_csv(graph), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="chains.csv"'
        return response
    if fmt == "graphml":
        response = HttpResponse(chains.as_graphml(graph), content_type="application/xml")
        response["Content-Disposition"] = 'attachment; filename="chains.graphml"'
        return response
    log_reads(request.user, ReadAction.LIST, Resident, graph.person_ids())
    nodes = list(graph.nodes.values())
    shown = nodes[:600]
    keys = {n.key for n in shown}
    width = max((n.x for n in shown), default=0) + 200
    height = max((n.y for n in shown), default=0) + 40
    positions = {n.key: n for n in shown}
    lines = [
        (positions[e.source], positions[e.target], e) for e in graph.edges if e.source in keys and e.target in keys
    ]
    return render(
        request,
        "tracing/chain.html",
        {
            "title": title,
            "nodes": shown,
            "lines": lines,
            "hidden": len(nodes) - len(shown),
            "width": width,
            "height": height,
            "edges": graph.edges[:300],
            "edge_total": len(graph.edges),
            "secondary": secondary,
        },
    )

"""Four-category pages: lists per category for any node, a person's status and history with the
staff transitions the table allows, the conflict queue and the follow-ups due."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from cases.choices import TRANSITIONS, Basis, CaseState, Category, EventOutcome, PlacementKind, SourceKind, basis_label
from cases.models import CategoryConflict, CategoryEvent, ConflictStatus, FollowUp, FollowUpStatus, PersonStatus
from cases.selectors import category_counts, statuses
from cases.services import (
    BasisRefused,
    TransitionRefused,
    do_identify,
    do_record_follow_up,
    do_resolve_conflict,
    do_transition,
    resolve_basis_case,
    staff_bases,
)
from core.audit import log_reads, log_reads_of_queryset
from core.choices import ReadAction
from core.scoping import get_scoped_or_404, restrict
from people.models import Resident
from people.services import parse_node

AUDIT_PERMISSION = "core.view_audit"


def _can_decide(user) -> bool:
    return user.has_perm("cases.change_personstatus")


@login_required
def case_list(request):
    node = parse_node(request.GET.get("node"))
    level, node_id = node if node else (None, None)
    category = request.GET.get("category", "")
    qs = statuses(request.user, level, node_id, active_only=request.GET.get("all") != "1")
    if category in Category.values:
        qs = qs.filter(category=category)
    if request.GET.get("state") in CaseState.values:
        qs = qs.filter(state=request.GET["state"])
    if request.GET.get("outside") == "1":
        qs = qs.filter(grid__isnull=True)
    qs = qs.select_related("person", "grid", "compound").order_by("-since")
    if request.GET.get("format") == "xlsx":
        return _export(request, qs)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    log_reads(request.user, ReadAction.LIST, Resident, [s.person_id for s in page.object_list])
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/list.html",
        {
            "page": page,
            "counts": category_counts(request.user, level, node_id),
            "category": category,
            "categories": Category.choices,
            "states": CaseState.choices,
            "query": query.urlencode(),
            "node": request.GET.get("node", ""),
        },
    )


def _export(request, qs) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Four categories"))
    sheet.append(
        [
            pgettext("person", "Name"),
            _("Identity number"),
            _("Category"),
            _("State"),
            _("Since"),
            _("Placement"),
            _("Grid"),
            _("Compound"),
        ]
    )
    for s in qs.iterator(chunk_size=2000):
        sheet.append(
            [
                s.person.name,
                s.person.masked_id_number,
                s.get_category_display(),
                s.get_state_display(),
                timezone.localtime(s.since).strftime("%Y-%m-%d %H:%M"),
                s.placement_name or s.get_placement_kind_display(),
                s.grid.name if s.grid else "",
                s.compound.name if s.compound else "",
            ]
        )
    log_reads_of_queryset(request.user, ReadAction.EXPORT, Resident.objects.filter(pk__in=qs.values("person_id")))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="four-categories-{timezone.localdate()}.xlsx"'
    return response


@login_required
def person_detail(request, pk: int):
    person = get_scoped_or_404(request.user, Resident.objects.select_related("grid", "compound"), pk=pk)
    status = PersonStatus.objects.filter(person=person).first()
    log_reads(request.user, ReadAction.VIEW, Resident, [person.pk])
    return render(
        request,
        "cases/person.html",
        {
            "person": person,
            "status": status,
            "events": CategoryEvent.objects.filter(person=person)
            .select_related("user", "basis_case")
            .order_by("-at", "-id"),
            "follow_ups": FollowUp.objects.filter(person=person).order_by("due_at")[:60],
            "moves": sorted(TRANSITIONS.get(status.state, ())) if status else [],
            "state_labels": dict(CaseState.choices),
            "placements": PlacementKind.choices,
            "can_decide": _can_decide(request.user),
            "categories": Category.choices,
            "bases": _basis_choices(),
        },
    )


def _basis_choices() -> list[tuple[str, str, str]]:
    """The policy's bases as (key, label, the categories it may justify) for the decision form."""
    labels = dict(Category.choices)
    return [
        (key, basis_label(key), " / ".join(str(labels.get(c, c)) for c in categories))
        for key, categories in staff_bases().items()
        if categories
    ]


@login_required
@require_POST
def person_identify(request, pk: int):
    """A staff decision putting a person into a category (e.g. the CDC confirming a case): purpose-
    bound (issue #11) — a legal basis from the policy's list, a note, and for a contact the recorded
    case it names, all kept on the history; confirmation starts the containment as a feed's report
    would (cases.services.do_identify). Refused, nothing changes."""
    if not _can_decide(request.user):
        raise PermissionDenied
    person = get_scoped_or_404(request.user, Resident.objects.all(), pk=pk)
    category, note = request.POST.get("category", ""), request.POST.get("note", "").strip()
    basis, case_number = request.POST.get("basis", ""), request.POST.get("case_id_number", "").strip()
    if category not in Category.values:
        messages.error(request, _("Choose a category."))
        return redirect("cases:person", pk=person.pk)
    try:
        case = resolve_basis_case(case_number) if case_number and basis == Basis.CONTACT_OF_CASE else None
        if case is not None:
            log_reads(request.user, ReadAction.VIEW, Resident, [case.pk])
        event = do_identify(person, category, request.user, note, basis=basis, basis_case=case)
    except BasisRefused as exc:
        messages.error(request, str(exc))
    else:
        if event.outcome == EventOutcome.APPLIED:
            messages.success(request, _("Recorded: %(category)s.") % {"category": event.get_category_display()})
        else:
            messages.warning(request, event.get_outcome_display())
    return redirect("cases:person", pk=person.pk)


@login_required
@require_POST
def person_transition(request, pk: int):
    if not _can_decide(request.user):
        raise PermissionDenied
    person = get_scoped_or_404(request.user, Resident.objects.all(), pk=pk)
    details = {k: request.POST.get(k, "") for k in ("placement_kind", "placement_name") if request.POST.get(k)}
    try:
        do_transition(person, request.POST.get("to_state", ""), request.user, request.POST.get("note", ""), **details)
    except TransitionRefused as exc:
        messages.error(request, str(exc))
    return redirect("cases:person", pk=person.pk)


@login_required
def decisions(request):
    """The category decisions (identifications) with their legal basis, note, who and when: the
    append-only CategoryEvent log, for auditors (issue #11). Staff decisions by default; any source
    on request. Read-logged like every list of people."""
    if not request.user.has_perm(AUDIT_PERMISSION):
        raise PermissionDenied
    qs = restrict(request.user, CategoryEvent.objects.filter(to_state=CaseState.IDENTIFIED))
    source = request.GET.get("source", SourceKind.STAFF)
    if source in SourceKind.values:
        qs = qs.filter(source_kind=source)
    if request.GET.get("basis") in Basis.values:
        qs = qs.filter(basis=request.GET["basis"])
    if request.GET.get("user"):
        qs = qs.filter(user__username=request.GET["user"])
    if request.GET.get("person", "").isdigit() and len(request.GET["person"]) < 19:
        qs = qs.filter(person_id=int(request.GET["person"]))
    qs = qs.select_related("person", "user", "basis_case").order_by("-recorded_at", "-id")
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    shown = {e.person_id for e in page.object_list} | {e.basis_case_id for e in page.object_list if e.basis_case_id}
    log_reads(request.user, ReadAction.LIST, Resident, sorted(shown))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/decisions.html",
        {
            "page": page,
            "source": source,
            "sources": SourceKind.choices,
            "bases": Basis.choices,
            "query": query.urlencode(),
        },
    )


@login_required
def conflicts(request):
    qs = restrict(request.user, CategoryConflict.objects.filter(status=ConflictStatus.OPEN)).select_related(
        "person", "event"
    )
    return render(request, "cases/conflicts.html", {"conflicts": qs[:200], "can_decide": _can_decide(request.user)})


@login_required
@require_POST
def conflict_decide(request, pk: int):
    if not _can_decide(request.user):
        raise PermissionDenied
    conflict = get_scoped_or_404(request.user, CategoryConflict.objects.all(), pk=pk)
    do_resolve_conflict(conflict, request.POST.get("decision") == "accept", request.user, request.POST.get("note", ""))
    return redirect("cases:conflicts")


@login_required
def follow_ups(request):
    qs = restrict(
        request.user,
        FollowUp.objects.filter(status=FollowUpStatus.DUE, due_at__lte=timezone.now() + timezone.timedelta(hours=12)),
    )
    qs = qs.select_related("person").order_by("due_at")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "cases/follow_ups.html", {"page": page, "now": timezone.now()})


@login_required
@require_POST
def follow_up_record(request, pk: int):
    follow_up = get_scoped_or_404(request.user, FollowUp.objects.select_related("person"), pk=pk)
    raw = request.POST.get("temperature", "").strip()
    try:
        temperature = float(raw) if raw else None
    except ValueError:
        messages.error(request, _("The temperature must be a number."))
        return redirect("cases:follow-ups")
    do_record_follow_up(follow_up, temperature, request.POST.get("symptoms", ""), request.user)
    messages.success(request, _("Recorded."))
    return redirect(request.POST.get("next") or "cases:follow-ups")

"""Person search, resident profile (with audited reveal of identity), key-group ledgers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.audit import log_reads
from core.choices import ReadAction
from core.models import ChangeLog
from core.panels import person_panels
from core.scoping import get_scoped_or_404, restrict
from people.choices import KeyGroup, ResidenceType
from people.exports import ledger_workbook
from people.models import Resident
from people.services import (
    LedgerFilter,
    group_counts,
    ledger_columns,
    ledger_count,
    ledger_queryset,
    parse_node,
    search_queryset,
)

SEARCH_LIMIT = 50


@login_required
def search(request):
    text = request.GET.get("q", "").strip()
    results, method, more = [], "", False
    if text:
        method, qs = search_queryset(request.user, text)
        results = list(qs.select_related("compound", "building", "household")[: SEARCH_LIMIT + 1])
        more = len(results) > SEARCH_LIMIT
        results = results[:SEARCH_LIMIT]
        log_reads(request.user, ReadAction.SEARCH, Resident, [r.pk for r in results])
    return render(request, "people/search.html", {"q": text, "results": results, "method": method, "more": more})


def _profile(request, pk: int, reveal: bool):
    resident = get_scoped_or_404(
        request.user,
        Resident.objects.select_related("household", "building", "compound", "grid", "community", "street", "district"),
        pk=pk,
    )
    log_reads(request.user, ReadAction.FULL_IDENTITY if reveal else ReadAction.VIEW, Resident, [resident.pk])
    housemates = (
        list(Resident.objects.filter(household_id=resident.household_id).exclude(pk=resident.pk).order_by("birth_date"))
        if resident.household_id
        else []
    )
    return render(
        request,
        "people/resident.html",
        {
            "r": resident,
            "reveal": reveal,
            "age": resident.age_on(timezone.localdate()),
            "housemates": housemates,
            "key_groups": list(resident.key_groups.all().order_by("group", "source")),
            "history": list(ChangeLog.objects.filter(model="people.resident", object_id=resident.pk)[:50]),
            "can_reveal": request.user.has_perm("people.view_full_identity"),
            "panels": person_panels(request, resident),
        },
    )


@login_required
def resident_detail(request, pk: int):
    return _profile(request, pk, reveal=False)


@login_required
@require_POST
def resident_reveal(request, pk: int):
    """Show the full identity and phone numbers once; the reveal is read-logged as such."""
    if not request.user.has_perm("people.view_full_identity"):
        raise PermissionDenied
    return _profile(request, pk, reveal=True)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
def ledgers(request):
    node = parse_node(request.GET.get("node"))
    counts = group_counts(request.user, node)
    groups = [(value, label, counts.get(value, 0)) for value, label in KeyGroup.choices]
    return render(request, "people/ledgers.html", {"groups": groups, "node": request.GET.get("node", "")})


@login_required
def ledger(request, group: str):
    if group not in KeyGroup.values:
        from django.http import Http404

        raise Http404(group)
    f = LedgerFilter(
        group=group,
        node=parse_node(request.GET.get("node")),
        sex=request.GET.get("sex", ""),
        age_min=_int(request.GET.get("age_min")),
        age_max=_int(request.GET.get("age_max")),
        residence_type=request.GET.get("residence_type", "")
        if request.GET.get("residence_type") in ResidenceType.values
        else "",
    )
    qs = ledger_queryset(request.user, f)
    label = str(KeyGroup(group).label)
    extra = ledger_columns(group)
    if request.GET.get("format") == "xlsx":
        content = ledger_workbook(request.user, qs, label, extra=extra)
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="ledger-{group}-{stamp}.xlsx"'
        return response
    paginator = Paginator(qs, 50)
    known = ledger_count(request.user, f)
    if known is not None:
        paginator.count = known  # Paginator.count is a cached property: give it the cheap count
    page = paginator.get_page(request.GET.get("page"))
    log_reads(request.user, ReadAction.LIST, Resident, [r.pk for r in page.object_list])
    query = request.GET.copy()
    query.pop("page", None)
    today = timezone.localdate()
    return render(
        request,
        "people/ledger.html",
        {
            "group": group,
            "label": label,
            "page": page,
            "f": f,
            "rows": [(r, r.age_on(today), [cell for c in extra for cell in c.cells(r)]) for r in page.object_list],
            "extra_headers": [header for c in extra for header in c.headers()],
            "query": query.urlencode(),
            "residence_types": ResidenceType.choices,
            "node": request.GET.get("node", ""),
        },
    )


@login_required
def review_queue(request):
    """Possible matches waiting for a person: the new record beside each candidate, with the evidence."""
    from people.linkage import explain
    from people.models import LinkCandidate, LinkCandidateStatus

    if not request.user.has_perm("people.merge_persons"):
        raise PermissionDenied
    open_candidates = restrict(request.user, LinkCandidate.objects.filter(status=LinkCandidateStatus.OPEN))
    page = Paginator(
        open_candidates.select_related("new_person", "resident", "resident__compound", "resident__building").order_by(
            "new_person_id", "-probability"
        ),
        40,
    ).get_page(request.GET.get("page"))
    groups: dict[int, dict] = {}
    for candidate in page.object_list:
        group = groups.setdefault(candidate.new_person_id, {"person": candidate.new_person, "candidates": []})
        group["candidates"].append((candidate, explain(candidate.evidence)))
    log_reads(
        request.user,
        ReadAction.LIST,
        Resident,
        {c.resident_id for c in page.object_list} | {c.new_person_id for c in page.object_list},
    )
    return render(request, "people/review.html", {"groups": list(groups.values()), "page": page})


@login_required
@require_POST
def review_decide(request, pk: int):
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.translation import gettext as _

    from people.merge import do_merge, do_reject_candidate
    from people.models import LinkCandidate, LinkCandidateStatus

    if not request.user.has_perm("people.merge_persons"):
        raise PermissionDenied
    candidate = get_scoped_or_404(request.user, LinkCandidate.objects.filter(status=LinkCandidateStatus.OPEN), pk=pk)
    if request.POST.get("decision") == "same":
        do_merge(candidate.new_person, candidate.resident, request.user, reason=request.POST.get("note", ""))
        messages.success(request, _("Merged into %(name)s.") % {"name": candidate.resident.name})
    else:
        do_reject_candidate(candidate, request.user)
        messages.success(request, _("Kept apart."))
    return redirect("people:review")


@login_required
@require_POST
def merge_undo(request, pk: int):
    from django.shortcuts import get_object_or_404, redirect

    from people.merge import do_split
    from people.models import PersonMerge

    if not request.user.has_perm("people.merge_persons"):
        raise PermissionDenied
    merge = get_object_or_404(PersonMerge, pk=pk)
    get_scoped_or_404(request.user, Resident.objects.all(), pk=merge.target_id)
    do_split(merge, request.user)
    return redirect("people:resident", pk=merge.target_id)

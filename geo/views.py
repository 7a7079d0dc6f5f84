"""Drill-down pages: city → district → street → community → grid → compound → building → household."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from core.audit import log_reads_of_queryset
from core.choices import ReadAction
from core.panels import node_panels
from core.scoping import get_scoped_or_404, jurisdiction_of, restrict
from geo.models import Building, Compound, Division, Household
from geo.services import answerable_chain
from people.models import NodeCount, Resident

KEY_GROUP_FIELDS = ("elderly_alone", "chronic", "pregnant", "disabled", "low_income", "child", "special_care")


def counts_for(level: str, ids) -> dict[int, NodeCount]:
    return {c.node_id: c for c in NodeCount.objects.filter(level=level, node_id__in=list(ids))}


def _rows(nodes, level: str) -> list[tuple]:
    counts = counts_for(level, [n.pk for n in nodes])
    return [(n, counts.get(n.pk)) for n in nodes]


@login_required
def home(request):
    """The user's jurisdiction: the whole city, or the nodes they are assigned to."""
    jurisdiction = jurisdiction_of(request.user)
    if jurisdiction.everything:
        city = Division.objects.filter(level="city").first()
        if city is not None:
            return redirect("geo:division", pk=city.pk)
    divisions = Division.objects.filter(pk__in=jurisdiction.division_ids).order_by("code")
    compounds = Compound.objects.filter(pk__in=jurisdiction.nodes.get("compound", ()))
    buildings = Building.objects.filter(pk__in=jurisdiction.nodes.get("building", ())).select_related("compound")
    division_rows = []
    for level in ("district", "street", "community", "grid"):
        division_rows += _rows([d for d in divisions if d.level == level], level)
    return render(
        request,
        "geo/home.html",
        {
            "division_rows": division_rows,
            "compound_rows": _rows(list(compounds), "compound"),
            "building_rows": _rows(list(buildings), "building"),
            "nothing": jurisdiction.is_empty(),
        },
    )


def _crumbs(user, node) -> list[tuple[Division, bool]]:
    """Ancestors of a node, each with whether the user may open it."""
    ancestors = node.ancestors() if isinstance(node, Division) else []
    visible = set(
        restrict(user, Division.objects.filter(pk__in=[a.pk for a in ancestors])).values_list("pk", flat=True)
    )
    return [(a, a.pk in visible) for a in ancestors]


@login_required
def division_detail(request, pk: int):
    division = get_scoped_or_404(request.user, Division.objects.select_related("parent"), pk=pk)
    totals = NodeCount.objects.filter(level=division.level, node_id=division.pk).first()
    if division.level == "grid":
        children = _rows(list(restrict(request.user, Compound.objects.filter(grid=division))), "compound")
        child_kind = "compound"
    else:
        kids = restrict(request.user, Division.objects.filter(parent=division)).order_by("code")
        children = _rows(list(kids), kids.first().level if kids.exists() else "district")
        child_kind = "division"
    ancestors = division.ancestors()
    return render(
        request,
        "geo/division.html",
        {
            "node": division,
            "totals": totals,
            "children": children,
            "child_kind": child_kind,
            "crumbs": _crumbs(request.user, division),
            "panels": node_panels(request, division.level, division),
            "ancestors": ancestors,
            "group_fields": KEY_GROUP_FIELDS,
        },
    )


@login_required
def compound_detail(request, pk: int):
    compound = get_scoped_or_404(request.user, Compound.objects.select_related("grid"), pk=pk)
    buildings = restrict(request.user, Building.objects.filter(compound=compound)).order_by("code")
    return render(
        request,
        "geo/compound.html",
        {
            "node": compound,
            "totals": NodeCount.objects.filter(level="compound", node_id=compound.pk).first(),
            "children": _rows(list(buildings), "building"),
            "panels": node_panels(request, "compound", compound),
            "crumbs": [*_crumbs(request.user, compound.grid), (compound.grid, True)],
            "group_fields": KEY_GROUP_FIELDS,
        },
    )


@login_required
def building_detail(request, pk: int):
    building = get_scoped_or_404(
        request.user, Building.objects.select_related("compound", "grid", "community", "street", "district"), pk=pk
    )
    households = list(Household.objects.filter(building=building).order_by("unit", "room"))
    shown = restrict(request.user, Resident.objects.filter(building=building))
    residents = list(shown.order_by("household_id", "birth_date"))
    by_household: dict[int, list[Resident]] = {}
    for r in residents:
        by_household.setdefault(r.household_id, []).append(r)
    log_reads_of_queryset(request.user, ReadAction.LIST, shown)  # one INSERT … SELECT for the whole list
    resident_url = reverse("people:resident", args=[0]).removesuffix("0/")  # one reverse, not one per row
    grid = building.grid
    return render(
        request,
        "geo/building.html",
        {
            "node": building,
            "households": [(h, by_household.get(h.pk, [])) for h in households],
            "chain": answerable_chain(building),
            "resident_url": resident_url,
            "panels": node_panels(request, "building", building),
            "crumbs": ([*_crumbs(request.user, grid), (grid, True)] if grid else []),
            "compound": building.compound,
            "totals": NodeCount.objects.filter(level="building", node_id=building.pk).first(),
            "group_fields": KEY_GROUP_FIELDS,
        },
    )

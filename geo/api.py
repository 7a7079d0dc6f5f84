"""Grid API: divisions with their counts and children, compounds, buildings and who answers for them."""

from __future__ import annotations

from ninja import Router, Schema

from core.scoping import get_scoped_or_404, restrict
from geo.models import Building, Compound, Division, Household
from geo.services import answerable_chain
from geo.views import counts_for

router = Router(tags=["geo"])


class CountsOut(Schema):
    residents: int = 0
    households: int = 0
    elderly_alone: int = 0
    chronic: int = 0
    pregnant: int = 0
    disabled: int = 0
    low_income: int = 0
    child: int = 0
    special_care: int = 0


class NodeOut(Schema):
    id: int
    code: str
    name: str
    level: str
    counts: CountsOut


class DivisionOut(NodeOut):
    parent_id: int | None
    children: list[NodeOut]


class ChainOut(Schema):
    level: str
    node: str
    answerable: list[str]


class BuildingOut(NodeOut):
    compound_id: int
    households: list[dict]
    chain: list[ChainOut]


def _node(obj, level: str, counts) -> dict:
    c = counts.get(obj.pk)
    return {
        "id": obj.pk,
        "code": obj.code,
        "name": obj.name,
        "level": level,
        "counts": {f: getattr(c, f) for f in CountsOut.model_fields} if c else {},
    }


@router.get("/divisions", response=list[NodeOut])
def list_divisions(request, level: str | None = None, parent: int | None = None):
    qs = restrict(request.user, Division.objects.all()).order_by("code")
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent_id=parent)
    rows = list(qs[:5000])
    counts = {}
    for lvl in {d.level for d in rows}:
        counts.update(counts_for(lvl, [d.pk for d in rows if d.level == lvl]))
    return [_node(d, d.level, counts) for d in rows]


@router.get("/divisions/{division_id}", response=DivisionOut)
def get_division(request, division_id: int):
    d = get_scoped_or_404(request.user, Division.objects.all(), pk=division_id)
    own = counts_for(d.level, [d.pk])
    if d.level == "grid":
        kids, kid_level = list(restrict(request.user, Compound.objects.filter(grid=d))), "compound"
    else:
        kids = list(restrict(request.user, Division.objects.filter(parent=d)).order_by("code"))
        kid_level = kids[0].level if kids else "district"
    kid_counts = counts_for(kid_level, [k.pk for k in kids])
    node = _node(d, d.level, own)
    return {**node, "parent_id": d.parent_id, "children": [_node(k, kid_level, kid_counts) for k in kids]}


@router.get("/compounds/{compound_id}", response=DivisionOut)
def get_compound(request, compound_id: int):
    c = get_scoped_or_404(request.user, Compound.objects.all(), pk=compound_id)
    kids = list(restrict(request.user, Building.objects.filter(compound=c)).order_by("code"))
    kid_counts = counts_for("building", [k.pk for k in kids])
    node = _node(c, "compound", counts_for("compound", [c.pk]))
    return {**node, "parent_id": c.grid_id, "children": [_node(k, "building", kid_counts) for k in kids]}


@router.get("/buildings/{building_id}", response=BuildingOut)
def get_building(request, building_id: int):
    b = get_scoped_or_404(request.user, Building.objects.select_related("compound"), pk=building_id)
    households = [
        {"id": h.pk, "unit": h.unit, "room": h.room}
        for h in Household.objects.filter(building=b).order_by("unit", "room")
    ]
    chain = [
        {
            "level": link.level,
            "node": link.node.name,
            "answerable": [a.user.get_full_name() or a.user.username for a in link.assignments],
        }
        for link in answerable_chain(b)
    ]
    node = _node(b, "building", counts_for("building", [b.pk]))
    return {**node, "compound_id": b.compound_id, "households": households, "chain": chain}

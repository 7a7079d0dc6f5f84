"""Operations on the grid: assigning staff to nodes (包保) and answering who is answerable."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.roles import grant_role
from geo.choices import DivisionLevel
from geo.models import Assignment, Building, Compound, Division

NODE_LEVEL_LABELS = {**dict(DivisionLevel.choices), "compound": _("Compound"), "building": _("Building")}


@dataclass
class ChainLink:
    """One level of the 包保 chain: the node and the people answerable for it."""

    level: str
    node: Division | Compound | Building
    assignments: list[Assignment]

    @property
    def level_label(self) -> str:
        return str(NODE_LEVEL_LABELS.get(self.level, self.level))


def do_assign(user, node: Division | Compound | Building, role: str, *, answerable: bool = True) -> Assignment:
    """Attach ``user`` to ``node`` in ``role``; the role's permissions come with it."""
    field = {Division: "division", Compound: "compound", Building: "building"}[type(node)]
    with transaction.atomic():
        assignment = Assignment.objects.create(user=user, role=role, is_answerable=answerable, **{field: node})
        grant_role(user, role)
    return assignment


def active_assignments():
    today = timezone.localdate()
    return Assignment.objects.filter(starts_on__lte=today).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))


def answerable_chain(building: Building) -> list[ChainLink]:
    """Who answers for this building, and who above them, from the building up to the city.

    One query for the nodes' assignments; the chain is ordered building → city.
    """
    compound = building.compound
    divisions = [d for d in (building.grid, building.community, building.street, building.district) if d]
    city = Division.objects.filter(level="city").first()
    if city is not None:
        divisions.append(city)
    rows = (
        active_assignments()
        .filter(is_answerable=True)
        .filter(Q(building=building) | Q(compound=compound) | Q(division__in=divisions))
        .select_related("user")
        .order_by("role", "user__username")
    )
    by_node: dict[tuple[str, int], list[Assignment]] = {}
    for a in rows:
        key = (
            ("building", a.building_id)
            if a.building_id
            else (("compound", a.compound_id) if a.compound_id else ("division", a.division_id))
        )
        by_node.setdefault(key, []).append(a)
    chain = [
        ChainLink("building", building, by_node.get(("building", building.pk), [])),
        ChainLink("compound", compound, by_node.get(("compound", compound.pk), [])),
    ]
    chain += [ChainLink(d.level, d, by_node.get(("division", d.pk), [])) for d in divisions]
    return chain

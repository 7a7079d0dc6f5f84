"""Jurisdiction scoping: the one mechanism that restricts every query of personal data.

A user's jurisdiction is the set of nodes of their active assignments (geo.Assignment). A model
opts in by declaring ``scope_fields``: which of its columns hold the id of a district, street,
community, grid, compound or building it belongs to (``"division"`` matches any assigned division
directly). ``restrict(user, queryset)`` keeps the rows under any node of the jurisdiction; views and
API handlers fetch single objects through ``get_scoped_or_404`` so that out-of-scope answers 404,
exactly like a missing object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone

NODE_KINDS = ("district", "street", "community", "grid", "compound", "building")
SEE_EVERYTHING_PERMISSION = "core.see_whole_city"


@dataclass(frozen=True)
class Jurisdiction:
    everything: bool = False
    nodes: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def division_ids(self) -> frozenset[int]:
        return frozenset().union(*(self.nodes.get(k, frozenset()) for k in ("district", "street", "community", "grid")))

    def is_empty(self) -> bool:
        return not self.everything and not any(self.nodes.values())

    def q_for(self, model: type[Model]) -> Q:
        """The filter that keeps rows of ``model`` inside this jurisdiction."""
        scope_fields: dict[str, str] = getattr(model, "scope_fields", None) or {}
        if not scope_fields:
            raise TypeError(f"{model.__name__} declares no scope_fields and cannot be scoped")
        q = Q(pk__in=[])
        for kind, column in scope_fields.items():
            ids = self.division_ids if kind == "division" else self.nodes.get(kind)
            if ids:
                q |= Q(**{f"{column}__in": sorted(ids)})
        return q


def jurisdiction_of(user) -> Jurisdiction:
    """The user's jurisdiction, cached on the user object for the length of a request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Jurisdiction()
    cached = getattr(user, "_linli_jurisdiction", None)
    if cached is not None:
        return cached
    if user.is_superuser or user.has_perm(SEE_EVERYTHING_PERMISSION):
        result = Jurisdiction(everything=True)
    else:
        result = _from_assignments(user)
    user._linli_jurisdiction = result
    return result


def _from_assignments(user) -> Jurisdiction:
    assignment_model = apps.get_model("geo", "Assignment")
    today = timezone.localdate()
    rows = (
        assignment_model.objects.filter(user=user, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .values_list("division_id", "division__level", "compound_id", "building_id")
    )
    nodes: dict[str, set[int]] = {kind: set() for kind in NODE_KINDS}
    for division_id, level, compound_id, building_id in rows:
        if division_id is not None:
            if level == "city":
                return Jurisdiction(everything=True)
            nodes[level].add(division_id)
        elif compound_id is not None:
            nodes["compound"].add(compound_id)
        else:
            nodes["building"].add(building_id)
    return Jurisdiction(nodes={k: frozenset(v) for k, v in nodes.items() if v})


def restrict(user, queryset: QuerySet) -> QuerySet:
    """``queryset`` narrowed to the user's jurisdiction; empty for anonymous or unassigned users."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return queryset
    if jurisdiction.is_empty():
        return queryset.none()
    return queryset.filter(jurisdiction.q_for(queryset.model))


def get_scoped_or_404(user, queryset: QuerySet, **lookup) -> Model:
    """One object inside the user's jurisdiction; 404 alike for missing and out of scope."""
    try:
        return restrict(user, queryset).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(str(queryset.model._meta.verbose_name)) from exc

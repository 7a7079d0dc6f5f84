"""Reading the four-category register: counts by node and category, lists for a jurisdiction."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from cases.choices import CLOSED_STATES, Category
from cases.models import PersonStatus
from core.scoping import restrict
from people.services import NODE_FIELDS


def statuses(user, level: str | None = None, node_id: int | None = None, *, active_only: bool = True) -> QuerySet:
    qs = restrict(user, PersonStatus.objects.all())
    if level in NODE_FIELDS and node_id:
        qs = qs.filter(**{NODE_FIELDS[level]: node_id})
    if active_only:
        qs = qs.exclude(state__in=CLOSED_STATES)
    return qs


def category_counts(user, level: str | None = None, node_id: int | None = None) -> dict[str, int]:
    """Open people per category under a node (one aggregate query)."""
    rows = statuses(user, level, node_id).values("category").annotate(n=Count("id")).order_by()
    counts = {c.value: 0 for c in Category}
    counts.update({row["category"]: row["n"] for row in rows})
    return counts

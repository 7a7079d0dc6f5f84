"""Reads of facilities and beds: the city board of free beds by category and district.

The board is one aggregate query over the facilities in the reader's jurisdiction, grouped by
district. A facility counts in the column of every category it takes, so a free bed at a facility
taking two categories appears in both columns (the page says so): the columns answer "where could a
person of this category go", not "how many beds are there". Only facilities taking patients
(``active``) have free beds; open, occupied and reserved count every facility.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Concat, Greatest

from beds.models import CATEGORY_SEPARATOR, Facility
from cases.choices import Category
from core.scoping import restrict

TOTALS = ("beds_open", "beds_occupied", "beds_reserved")


@dataclass
class BoardRow:
    """One district (or the city total) of the board."""

    district_id: int | None
    code: str
    name: str
    facilities: int = 0
    free: dict[str, int] = field(default_factory=dict)  # category -> free beds
    beds_open: int = 0
    beds_occupied: int = 0
    beds_reserved: int = 0

    @property
    def free_cells(self) -> list[int]:
        return [self.free.get(c, 0) for c in Category.values]


@dataclass
class Board:
    categories: list[tuple[str, str]]
    rows: list[BoardRow]
    total: BoardRow


def facilities_for(user, qs: QuerySet | None = None) -> QuerySet:
    """Facilities in ``user``'s jurisdiction (district staff: their district; city staff: all)."""
    return restrict(user, qs if qs is not None else Facility.objects.all())


def takes(category: str) -> Q:
    """Facilities whose category list holds ``category`` (matched between separators, so
    ``close_contact`` never matches inside another name)."""
    return Q(_wrapped_categories__contains=f"{CATEGORY_SEPARATOR}{category}{CATEGORY_SEPARATOR}")


def with_wrapped_categories(qs: QuerySet) -> QuerySet:
    return qs.annotate(_wrapped_categories=Concat(Value(CATEGORY_SEPARATOR), "categories", Value(CATEGORY_SEPARATOR)))


def board(user) -> Board:
    """Free beds per category and open/occupied/reserved per district, and the city total."""
    free = Greatest(F("beds_open") - F("beds_occupied") - F("beds_reserved"), Value(0))
    sums = {
        f"free_{c}": Coalesce(Sum(free, filter=takes(c) & Q(active=True), output_field=IntegerField()), 0)
        for c in Category.values
    }
    sums |= {name: Coalesce(Sum(name), 0) for name in TOTALS}
    rows_qs = (
        with_wrapped_categories(facilities_for(user))
        .values("district_id", "district__code", "district__name")
        .annotate(n=Count("id"), **sums)
        .order_by("district__code")
    )
    total = BoardRow(district_id=None, code="", name="", free=dict.fromkeys(Category.values, 0))
    rows = []
    for values in rows_qs:
        row = BoardRow(
            district_id=values["district_id"],
            code=values["district__code"] or "",
            name=values["district__name"] or "",
            facilities=values["n"],
            free={c: values[f"free_{c}"] for c in Category.values},
            **{name: values[name] for name in TOTALS},
        )
        rows.append(row)
        total.facilities += row.facilities
        for c in Category.values:
            total.free[c] += row.free[c]
        for name in TOTALS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return Board(categories=list(Category.choices), rows=rows, total=total)

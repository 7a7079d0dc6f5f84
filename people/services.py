"""Finding residents: person search and key-group ledgers, always inside the user's jurisdiction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from core.scoping import restrict
from people.identity import normalise_id_number
from people.models import KeyGroupMembership, Resident

_ID_LIKE = re.compile(r"^\d{17}[\dXx]$")
_PHONE_LIKE = re.compile(r"^1\d{10}$")
NODE_FIELDS = {
    "district": "district_id",
    "street": "street_id",
    "community": "community_id",
    "grid": "grid_id",
    "compound": "compound_id",
    "building": "building_id",
}


def search_queryset(user, text: str) -> tuple[str, QuerySet]:
    """How the text was read (id_number, phone, name) and the matching residents in scope.

    Every branch is an indexed lookup: exact identity number, exact phone, or a name range
    (``name >= q AND name < q + U+FFFF``), which uses the name index on both databases.
    """
    text = text.strip()
    base = restrict(user, Resident.objects.all())
    if _ID_LIKE.match(text.replace(" ", "")):
        # no ORDER BY: with Meta.ordering a fresh PostgreSQL table was walked by primary key (312 ms)
        return "id_number", base.filter(id_number=normalise_id_number(text)).order_by()
    digits = re.sub(r"[\s-]", "", text)
    if _PHONE_LIKE.match(digits):
        return "phone", base.filter(phone=digits).order_by()
    return "name", base.filter(name__gte=text, name__lt=text + "\uffff").order_by("name", "id")


def parse_node(value: str | None) -> tuple[str, int] | None:
    """``community:12`` → ("community", 12); None for anything else (the city: no narrowing)."""
    if not value or ":" not in value:
        return None
    level, _, raw_id = value.partition(":")
    if level not in NODE_FIELDS or not raw_id.isdigit():
        return None
    return level, int(raw_id)


@dataclass
class LedgerFilter:
    group: str
    node: tuple[str, int] | None = None
    sex: str = ""
    age_min: int | None = None
    age_max: int | None = None
    residence_type: str = ""


def ledger_queryset(user, f: LedgerFilter, today: dt.date | None = None) -> QuerySet:
    """Residents on one key-group ledger, in scope, narrowed by node, sex, age and residence type."""
    today = today or timezone.localdate()
    qs = restrict(user, Resident.objects.filter(pk__in=ledger_members(user, f).values("resident_id")))
    if f.sex in {"M", "F"}:
        qs = qs.filter(sex=f.sex)
    if f.residence_type:
        qs = qs.filter(residence_type=f.residence_type)
    if f.age_min is not None:  # born on or before today minus age_min years
        qs = qs.filter(birth_date__lte=_years_ago(today, f.age_min))
    if f.age_max is not None:  # younger than age_max + 1
        qs = qs.filter(birth_date__gt=_years_ago(today, f.age_max + 1))
    for columns in ledger_columns(f.group):
        qs = columns.annotate(qs)
    return qs.select_related("compound", "building", "household").order_by(
        "grid_id", "building_id", "household_id", "id"
    )


@dataclass(frozen=True)
class LedgerColumns:
    """Columns a domain app adds to some key-group ledgers (page and XLSX) without people importing
    it (arrows point toward people, never back; compare core.panels). ``annotate`` adds what the
    cells need to the residents' query set-based (subqueries, no query per row); ``cells`` reads
    them off one annotated resident."""

    groups: frozenset[str]
    headers: Callable[[], list[str]]
    annotate: Callable[[QuerySet], QuerySet]
    cells: Callable[[Resident], list]


LEDGER_COLUMNS: list[LedgerColumns] = []


def add_ledger_columns(columns: LedgerColumns) -> None:
    if columns not in LEDGER_COLUMNS:
        LEDGER_COLUMNS.append(columns)


def ledger_columns(group: str) -> list[LedgerColumns]:
    return [c for c in LEDGER_COLUMNS if group in c.groups]


def ledger_members(user, f: LedgerFilter) -> QuerySet:
    """The ledger's memberships in scope and under the node: memberships carry their resident's
    place, so the subquery is narrowed before it meets the residents table."""
    members = restrict(user, KeyGroupMembership.objects.filter(group=f.group))
    if f.node:
        members = members.filter(**{NODE_FIELDS[f.node[0]]: f.node[1]})
    return members


def ledger_count(user, f: LedgerFilter) -> int | None:
    """The ledger's size from the memberships alone, when no filter needs the residents table;
    a COUNT over residents IN (…) scanned a million rows on PostgreSQL (0.5 s)."""
    if f.sex or f.residence_type or f.age_min is not None or f.age_max is not None:
        return None
    return ledger_members(user, f).values("resident_id").distinct().count()


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def group_counts(user, node: tuple[str, int] | None) -> dict[str, int]:
    """Residents per key group (distinct), in scope."""
    from django.db.models import Count

    members = restrict(user, KeyGroupMembership.objects.all())
    if node:
        members = members.filter(**{NODE_FIELDS[node[0]]: node[1]})
    return dict(members.values_list("group").annotate(n=Count("resident_id", distinct=True)).order_by())

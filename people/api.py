"""Resident API: search, profile, ledgers — scoped, masked by default, read-logged."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema
from ninja.errors import HttpError

from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404
from people.choices import KeyGroup
from people.models import Resident
from people.services import LedgerFilter, ledger_queryset, parse_node, search_queryset

router = Router(tags=["people"])


class ResidentOut(Schema):
    id: int
    name: str
    id_number: str
    sex: str
    birth_date: dt.date | None
    phone: str
    residence_type: str
    tags: list[str]
    household_id: int | None
    building_id: int | None
    compound_id: int | None
    grid_id: int | None
    community_id: int | None
    street_id: int | None
    district_id: int | None


class ResidentPageOut(Schema):
    count: int | None
    results: list[ResidentOut]


def _out(r: Resident, full: bool) -> dict:
    return {
        "id": r.pk,
        "name": r.name,
        "id_number": r.id_number if full else r.masked_id_number,
        "sex": r.sex,
        "birth_date": r.birth_date,
        "phone": r.phone if full else r.masked_phone,
        "residence_type": r.residence_type,
        "tags": [t for t in r.tags.split(";") if t],
        "household_id": r.household_id,
        "building_id": r.building_id,
        "compound_id": r.compound_id,
        "grid_id": r.grid_id,
        "community_id": r.community_id,
        "street_id": r.street_id,
        "district_id": r.district_id,
    }


def _full(request, full: bool) -> bool:
    if full and not request.user.has_perm("people.view_full_identity"):
        raise HttpError(403, "view_full_identity permission required")
    return full


@router.get("/residents", response=ResidentPageOut)
def search_residents(request, q: str, limit: int = 50, full: bool = False):
    """Search by name (prefix), identity number or phone (exact), within the caller's jurisdiction."""
    full = _full(request, full)
    _, qs = search_queryset(request.user, q)
    rows = list(qs[: max(1, min(limit, 200))])
    log_reads(request.user, ReadAction.FULL_IDENTITY if full else ReadAction.SEARCH, Resident, [r.pk for r in rows])
    return {"count": None, "results": [_out(r, full) for r in rows]}


@router.get("/residents/{resident_id}", response=ResidentOut)
def get_resident(request, resident_id: int, full: bool = False):
    full = _full(request, full)
    r = get_scoped_or_404(request.user, Resident.objects.all(), pk=resident_id)
    log_reads(request.user, ReadAction.FULL_IDENTITY if full else ReadAction.API_VIEW, Resident, [r.pk])
    return _out(r, full)


@router.get("/ledgers/{group}", response=ResidentPageOut)
def ledger(
    request,
    group: str,
    node: str | None = None,
    sex: str = "",
    age_min: int | None = None,
    age_max: int | None = None,
    offset: int = 0,
    limit: int = 100,
):
    if group not in KeyGroup.values:
        raise HttpError(404, "unknown key group")
    qs = ledger_queryset(
        request.user, LedgerFilter(group=group, node=parse_node(node), sex=sex, age_min=age_min, age_max=age_max)
    )
    rows = list(qs[offset : offset + max(1, min(limit, 1000))])
    log_reads(request.user, ReadAction.LIST, Resident, [r.pk for r in rows])
    return {"count": qs.count(), "results": [_out(r, False) for r in rows]}

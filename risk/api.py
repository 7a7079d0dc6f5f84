"""Risk-area API: the areas of the caller's jurisdiction (filtered by risk level and level of node),
and one area with its history. Auth is global (linli.api); out-of-scope areas answer 404."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema
from ninja.errors import HttpError

from core.paging import window
from core.scoping import get_scoped_or_404
from risk import selectors
from risk.choices import NodeLevel, RiskLevel
from risk.models import RiskArea, RiskLevelChange

router = Router(tags=["risk"])
MAX_LIMIT = 500


class AreaOut(Schema):
    id: int
    node_level: str
    node_id: int
    node_name: str
    level: str
    since: dt.datetime
    last_case_at: dt.datetime | None
    cases_in_window: int
    cumulative_cases: int
    reason: str
    rule: str
    manual_level: str
    manual_at: dt.datetime | None
    district_id: int | None
    street_id: int | None
    community_id: int | None
    grid_id: int | None
    compound_id: int | None  # the compound the area lies in (for building and compound areas)


class RiskChangeOut(Schema):
    at: dt.datetime
    from_level: str
    to_level: str
    reason: str
    source: str
    by: str | None
    policy_version: int | None


class AreaDetailOut(AreaOut):
    history: list[RiskChangeOut]


class RiskAreaPageOut(Schema):
    count: int
    results: list[AreaOut]


def _out(area: RiskArea) -> dict:
    return {
        **{
            name: getattr(area, name)
            for name in (
                "id",
                "node_level",
                "node_id",
                "level",
                "since",
                "last_case_at",
                "cases_in_window",
                "cumulative_cases",
                "reason",
                "rule",
                "manual_level",
                "manual_at",
                "district_id",
                "street_id",
                "community_id",
                "grid_id",
            )
        },
        "node_name": selectors.node_name(area),
        "compound_id": area.in_compound_id,
    }


def _change(change: RiskLevelChange) -> dict:
    return {
        "at": change.at,
        "from_level": change.from_level,
        "to_level": change.to_level,
        "reason": change.reason,
        "source": change.source,
        "by": (change.by.get_full_name() or change.by.username) if change.by_id else None,
        "policy_version": change.policy_version,
    }


@router.get("/areas", response=RiskAreaPageOut)
def list_areas(
    request, level: str = "", node_level: str = "", district: int | None = None, offset: int = 0, limit: int = 100
):
    """Rated areas in the caller's jurisdiction, highest level first. ``level``: low, medium, high;
    ``node_level``: building, compound, community, district."""
    if level and level not in RiskLevel.values:
        raise HttpError(400, f"unknown level {level!r}")
    if node_level and node_level not in NodeLevel.values:
        raise HttpError(400, f"unknown node_level {node_level!r}")
    qs = selectors.areas(request.user, level=level, node_level=node_level, district=district)
    offset = max(0, offset)
    rows = list(selectors.ordered(selectors.with_nodes(qs))[window(offset, limit, MAX_LIMIT)])
    return {"count": qs.count(), "results": [_out(a) for a in rows]}


@router.get("/areas/{area_id}", response=AreaDetailOut)
def get_area(request, area_id: int):
    area = get_scoped_or_404(request.user, selectors.with_nodes(RiskArea.objects.all()), pk=area_id)
    history = area.changes.select_related("by").order_by("at", "id")
    return {**_out(area), "history": [_change(c) for c in history]}

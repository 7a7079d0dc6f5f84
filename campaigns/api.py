"""The campaigns API: live sampling sites, tubes, coverage (issue #6 items 2 and 4).

Devices at a site authenticate with a bearer token (core.api_auth, as gate phones do); the sampler's
page uses its own session views (campaigns.views_site), which call the same functions. Who may use
a site: staff with ``campaigns.run_campaign``, or whose jurisdiction includes the site's grid
(campaigns.views_site.may_sample_at); a site or tube the caller may not use answers 404 like an
unknown one, as gates do. A swab is idempotent: sending it again answers ``duplicate``.

Routes are matched in order: ``sites/…`` and ``tubes/…`` come before ``{campaign_code}/coverage``,
so a campaign coded ``sites`` or ``tubes`` has no coverage URL here.
"""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from campaigns import coverage
from campaigns.views import visible_campaigns
from campaigns.views_site import close_tube, site_info, site_or_404, swab, swab_problem, tube_info, tube_or_404

router = Router(tags=["campaigns"])


class CampaignOut(Schema):
    code: str
    name: str
    status: str
    starts_on: dt.date
    ends_on: dt.date
    pool_size: int


class TubeOut(Schema):
    code: str
    status: str
    status_label: str
    members: int
    capacity: int
    closed: bool
    site: str
    sampled_on: dt.date | None


class SiteOut(Schema):
    code: str
    name: str
    address: str
    grid: str | None
    opens: dt.time
    closes: dt.time
    capacity_per_hour: int
    campaigns: list[CampaignOut]  # running today over the site's place, the one a swab joins first
    pool_size: int
    open_tubes: list[TubeOut]


class SwabIn(Schema):
    tube: str | None = None
    token: str | None = None
    id_number: str | None = None


class SwabOut(Schema):
    outcome: str  # recorded, duplicate, rejected
    tube: str
    members: int
    capacity: int
    closed: bool
    reason: str
    message: str
    person: str  # masked name


class CoverageRow(Schema):
    key: int | None
    name: str
    target: int
    exempt: int
    tested: int
    negative: int
    held: int
    positive: int
    resample: int
    awaiting: int
    untested: int
    coverage: float | None


class CoverageOut(Schema):
    campaign: str
    level: str
    rows: list[CoverageRow]
    total: CoverageRow


class CoverageQuery(Schema):
    level: str = "grid"
    within_level: str | None = None
    within: int | None = None


@router.get("/sites/{code}", response=SiteOut, summary="A sampling site: today's campaigns, pool size, open tubes")
def campaign_site(request, code: str):
    return site_info(site_or_404(request.user, code))


@router.post(
    "/sites/{code}/swabs",
    response={200: SwabOut, 400: dict},
    summary="Record one swab (idempotent: a repeat answers 'duplicate')",
)
def campaign_swab(request, code: str, payload: SwabIn):
    site = site_or_404(request.user, code)
    tube, token, id_number = ((value or "").strip() for value in (payload.tube, payload.token, payload.id_number))
    problem = swab_problem(tube, token, id_number)
    if problem:
        return 400, {"detail": problem}
    return swab(site, tube=tube, token=token, id_number=id_number, user=request.user)


@router.get("/tubes/{code}", response=TubeOut, summary="A tube's status and fill (no personal data)")
def campaign_tube(request, code: str):
    return tube_info(tube_or_404(request.user, code))


@router.post("/tubes/{code}/close", response=TubeOut, summary="Close a tube before it is full")
def campaign_close_tube(request, code: str):
    return close_tube(tube_or_404(request.user, code), user=request.user)


def _row(counts: coverage.Counts) -> dict:
    return {
        "key": counts.key,
        "name": counts.name,
        **{field: getattr(counts, field) for field in coverage.FIELDS},
        "awaiting": counts.awaiting,
        "untested": counts.untested,
        "coverage": counts.coverage,
    }


@router.get("/{campaign_code}/coverage", response=CoverageOut, summary="Coverage by area, inside your jurisdiction")
def campaign_coverage(request, campaign_code: str, query: Query[CoverageQuery]):
    """Rows per ``level`` (district … building), optionally inside one area
    (``within_level=community&within=<id>``); only the buildings of the caller's jurisdiction count."""
    # the campaign pages' rule: a campaign outside the caller's jurisdiction answers 404
    campaign = get_object_or_404(visible_campaigns(request.user), code=campaign_code)
    levels = coverage.LEVEL_COLUMNS
    if query.level not in levels:
        raise HttpError(400, f"level must be one of {', '.join(levels)}")
    within: dict[str, int] = {}
    if query.within_level is not None or query.within is not None:
        if query.within_level not in levels or query.within is None:
            raise HttpError(400, f"within_level (one of {', '.join(levels)}) and within (an id) go together")
        within[levels[query.within_level]] = query.within
    rows = coverage.rollup(campaign, query.level, request.user, **within)
    return {
        "campaign": campaign.code,
        "level": query.level,
        "rows": [_row(row) for row in rows],
        "total": _row(coverage.total(campaign, request.user, **within)),
    }

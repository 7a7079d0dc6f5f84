"""What the dashboard page and its live feed show, from the pre-aggregated figures: one payload
builder for both, so the page and the feed cannot disagree."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db.models import Avg, Count
from django.urls import reverse
from django.utils import timezone

from core.scoping import jurisdiction_of, restrict
from dashboard.figures import CHILD_LEVEL, children_figures, figures_for, history, last_refresh
from dashboard.indicators import INDICATORS, SECTIONS
from geo.models import Compound, Division
from tracing.models import Containment

TREND_DAYS = 30
TREND = ("new_confirmed", "new_asymptomatic", "new_suspected", "new_fever")
CENTROID_SECONDS = 600  # places do not move; a new compound shows within ten minutes
LATE_SHOWN = 10
TOP_LEVELS = ("city", "district", "street", "community")


def default_area(user) -> Division | None:
    """The area a user's dashboard opens on: the city for city-wide staff, else the highest
    division of their jurisdiction at community level or above (None below that)."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return Division.objects.filter(level="city").first()
    for level in ("district", "street", "community"):
        ids = sorted(jurisdiction.nodes.get(level, ()))
        if ids:
            return Division.objects.filter(pk=ids[0]).first()
    return None


def _centroids(area: Division) -> dict[int, tuple[float, float]]:
    """Each child area's place (the mean of its compounds' coordinates), cached: a full pass over
    the compounds is not a page view's work."""
    child = CHILD_LEVEL.get(area.level)
    if child is None:
        return {}
    key = f"dashboard:centroids:{area.pk}"
    found = cache.get(key)
    if found is None:
        rows = (
            Compound.objects.filter(**{f"{area.level}_id": area.pk} if area.level != "city" else {})
            .filter(lat__isnull=False, lon__isnull=False)
            .values(f"{child}_id")
            .annotate(lat=Avg("lat"), lon=Avg("lon"), n=Count("id"))
        )
        found = {r[f"{child}_id"]: (round(r["lat"], 6), round(r["lon"], 6)) for r in rows if r[f"{child}_id"]}
        cache.set(key, found, CENTROID_SECONDS)
    return found


def _compound_points(area: Division) -> list[dict]:
    """A community's compounds, with their risk colour (risk.models.RiskArea), for the map."""
    from risk.models import RiskArea

    levels = dict(
        RiskArea.objects.filter(node_level="compound", community_id=area.pk).values_list("compound_id", "level")
    )
    rank = {"high": 2, "medium": 1}
    return [
        {
            "id": c.pk,
            "name": c.name,
            "lat": c.lat,
            "lon": c.lon,
            "values": {"risk_level": rank.get(levels.get(c.pk), 0)},
        }
        for c in Compound.objects.filter(community_id=area.pk, lat__isnull=False, lon__isnull=False).order_by("code")
    ]


def payload(user, area: Division, day: dt.date) -> dict:
    """Everything the dashboard shows for ``area`` on ``day``, as JSON-able data."""
    own = figures_for(area, day)
    children = children_figures(area, day)
    visible = set(restrict(user, Division.objects.filter(pk__in=list(children))).values_list("pk", flat=True))
    names = dict(Division.objects.filter(pk__in=list(children)).values_list("pk", "name"))
    centres = _centroids(area)
    child_rows = [
        {
            "id": pk,
            "name": names.get(pk, ""),
            "url": reverse("dashboard:home") + f"?area={pk}&day={day.isoformat()}" if pk in visible else None,
            "lat": centres.get(pk, (None, None))[0],
            "lon": centres.get(pk, (None, None))[1],
            "values": values,
        }
        for pk, values in sorted(children.items(), key=lambda item: names.get(item[0], ""))
    ]
    refreshed = last_refresh(day)
    return {
        "area": {"id": area.pk, "name": area.name, "code": area.code, "level": area.level},
        "day": day.isoformat(),
        "refreshed_at": refreshed.at.isoformat() if refreshed else None,
        "figures": own,
        "children": child_rows,
        "compounds": _compound_points(area) if area.level == "community" else [],
        "trend": {
            "first_day": (day - dt.timedelta(days=TREND_DAYS - 1)).isoformat(),
            **history(area, TREND, day, TREND_DAYS),
        },
        "labels": {code: str(i.label) for code, i in INDICATORS.items()},
        "sections": {code: str(label) for code, label in SECTIONS.items()},
    }


def crumbs(user, area: Division) -> list[Division]:
    """The area's ancestors the user may open on the dashboard (two queries)."""
    ancestors = area.ancestors()
    visible = set(
        restrict(user, Division.objects.filter(pk__in=[a.pk for a in ancestors])).values_list("pk", flat=True)
    )
    return [a for a in ancestors if a.pk in visible]


def late_containments(user, area: Division) -> list[Containment]:
    """The open containments past their 24 hours in the area, most overdue first (an indexed,
    limited read: containments are few and (state, due_at) is indexed)."""
    field = f"{area.level}_id"
    containments = restrict(user, Containment.objects.filter(state="open", due_at__lt=timezone.now()))
    if area.level != "city":
        containments = containments.filter(**{field: area.pk})
    return list(containments.select_related("case", "community").order_by("due_at")[:LATE_SHOWN])

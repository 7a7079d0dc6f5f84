"""What the alert pages and the API show: an alert's series beside its expected values and
thresholds, and its communities on a map (issue #9, item 3)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db.models import Avg

from ewarn.choices import Signal
from ewarn.models import Alert
from ewarn.signals import read_series
from geo.models import Compound, Division


def _days(first: str, n: int) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]


def chart(alert: Alert) -> dict:
    """The evidence as chart data: days, observed, and per detector its expected and threshold."""
    evidence = alert.evidence or {}
    observed = evidence.get("observed", [])
    if not observed:
        return {"days": [], "observed": [], "detectors": {}}
    return {
        "days": _days(evidence["first_day"], len(observed)),
        "observed": observed,
        "detectors": evidence.get("detectors", {}),
        "cluster_days": evidence.get("cluster_days"),
        "primary": (evidence.get("primary") or {}).get("detector"),
    }


def map_points(alert: Alert) -> list[dict]:
    """The communities of the alert's district (and any cluster member outside it) at the mean of
    their compounds' coordinates, members flagged, with their counts in the cluster."""
    members = set(alert.communities.values_list("pk", flat=True))
    if alert.level == "community" and not members:
        members = {alert.area_id}
    nearby = Division.objects.filter(level="community")
    if alert.district_id:
        nearby = nearby.filter(district_id=alert.district_id) | Division.objects.filter(pk__in=members)
    centres = {
        row["community_id"]: (row["lat"], row["lon"])
        for row in Compound.objects.filter(community__in=nearby, lat__isnull=False, lon__isnull=False)
        .values("community_id")
        .annotate(lat=Avg("lat"), lon=Avg("lon"))
    }
    counts = (alert.evidence or {}).get("by_community", {})
    points = []
    for community in nearby.order_by("code"):
        if community.pk not in centres:
            continue
        lat, lon = centres[community.pk]
        figures = counts.get(str(community.pk), {})
        points.append(
            {
                "id": community.pk,
                "name": community.name,
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "member": community.pk in members,
                "observed": figures.get("observed"),
            }
        )
    return points


def series_of(signal: str, area: Division, last: dt.date, days: int = 365) -> dict:
    """One area's daily counts of ``signal`` for ``days`` days up to ``last`` (a series browser)."""
    first = last - dt.timedelta(days=days - 1)
    series = read_series(Signal(signal), area.level, first, last, np.array([area.pk], dtype=np.int64))
    values = series.counts[0]
    return {
        "days": _days(first.isoformat(), days),
        "observed": [None if np.isnan(v) else float(v) for v in values],
        "detectors": {},
    }

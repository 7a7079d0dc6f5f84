"""Reading risk areas for a user: scoped lists, counts, the node's own rating, and the map's points."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _

from core.scoping import restrict
from geo.models import Compound
from risk.choices import FINE_LEVELS, LEVEL_COLOURS, LEVEL_RANK, UNRATED_COLOUR, NodeLevel, RiskLevel
from risk.models import RiskArea

# which column of an area holds each kind of node above it (parse_node's levels): its scope columns
NODE_FILTER = RiskArea.scope_fields
RANK_ORDER = Case(
    When(level=RiskLevel.HIGH, then=Value(0)),
    When(level=RiskLevel.MEDIUM, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def areas(
    user,
    *,
    level: str = "",
    node_level: str = "",
    district: int | None = None,
    node: tuple[str, int] | None = None,
) -> QuerySet:
    """Areas in the user's jurisdiction, filtered; unknown filter values are ignored."""
    qs = restrict(user, RiskArea.objects.all())
    if level in RiskLevel.values:
        qs = qs.filter(level=level)
    if node_level in NodeLevel.values:
        qs = qs.filter(node_level=node_level)
    if district:
        qs = qs.filter(district_id=district)
    if node is not None and node[0] in NODE_FILTER:
        qs = qs.filter(**{NODE_FILTER[node[0]]: node[1]})
    return qs


def with_nodes(qs: QuerySet) -> QuerySet:
    return qs.select_related("building", "building__compound", "compound", "division", "district")


def ordered(qs: QuerySet) -> QuerySet:
    """Highest level first, then the most recent change."""
    return qs.annotate(rank=RANK_ORDER).order_by("rank", "-since", "id")


def node_name(area: RiskArea) -> str:
    if area.building_id:
        return str(area.building)
    return area.node.name


@dataclass(frozen=True)
class MapPoint:
    x: str
    y: str
    r: int
    colour: str
    title: str
    url: str


WIDTH, HEIGHT, PAD = 800, 480, 16


def map_points(user, fine_areas: QuerySet, district: int | None = None) -> list[MapPoint]:
    """Every compound of the jurisdiction with coordinates, coloured by the highest level of the
    compound's area or of its buildings' areas (``fine_areas``); unrated compounds are grey.
    Projected equirectangularly (longitude scaled by the cosine of the mean latitude) into the
    SVG's box: no tiles, no external library."""
    compounds = restrict(user, Compound.objects.filter(lat__isnull=False, lon__isnull=False))
    if district:
        compounds = compounds.filter(district_id=district)
    rows = list(compounds.values_list("id", "name", "lat", "lon"))
    if not rows:
        return []
    best: dict[int, tuple[str, int]] = {}
    fine = fine_areas.filter(node_level__in=FINE_LEVELS).order_by()
    for compound_id, level, area_id in fine.values_list("in_compound_id", "level", "id"):
        if compound_id not in best or LEVEL_RANK[level] > LEVEL_RANK[best[compound_id][0]]:
            best[compound_id] = (level, area_id)
    lat_min, lat_max = min(r[2] for r in rows), max(r[2] for r in rows)
    lon_min, lon_max = min(r[3] for r in rows), max(r[3] for r in rows)
    k = math.cos(math.radians((lat_min + lat_max) / 2))
    span_x, span_y = max((lon_max - lon_min) * k, 1e-3), max(lat_max - lat_min, 1e-3)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)
    # centre the drawing (a single point, or a line of points, lands in the middle)
    off_x = (WIDTH - (lon_max - lon_min) * k * scale) / 2
    off_y = (HEIGHT - (lat_max - lat_min) * scale) / 2
    area_url = reverse("risk:area", args=[0]).removesuffix("0/")
    compound_url = reverse("geo:compound", args=[0]).removesuffix("0/")
    labels = dict(RiskLevel.choices)
    points = []
    for compound_id, name, lat, lon in rows:
        x = off_x + (lon - lon_min) * k * scale
        y = off_y + (lat_max - lat) * scale
        if compound_id in best:
            level, area_id = best[compound_id]
            point = MapPoint(
                f"{x:.1f}",
                f"{y:.1f}",
                4 + LEVEL_RANK[level],
                LEVEL_COLOURS[level],
                f"{name}: {labels[level]}",
                f"{area_url}{area_id}/",
            )
        else:
            point = MapPoint(
                f"{x:.1f}", f"{y:.1f}", 3, UNRATED_COLOUR, f"{name}: {_('no case')}", f"{compound_url}{compound_id}/"
            )
        points.append(point)
    # draw the higher levels last, on top
    return sorted(points, key=lambda p: p.r)

"""The risk panel on every drill-down page: the node's own level and the rated areas below it.

One query per page (the drill-down pages have query budgets, geo/tests/test_drilldown.py)."""

from __future__ import annotations

from django.db.models import Count, Max, Q
from django.template.loader import render_to_string

from risk.choices import FINE_LEVELS, LEVEL_COLOURS, NodeLevel, RiskLevel
from risk.selectors import NODE_FILTER, areas

OWN_AREA = {"district": "division", "community": "division", "compound": "compound", "building": "building"}


def risk_panel(request, level: str, node) -> str:
    own = Q(**{OWN_AREA[level]: node.pk}) if level in OWN_AREA else Q(pk__in=[])
    if level == "building":  # a building also lies in its compound's area (the default fine level)
        below, enclosing = Q(pk__in=[]), Q(compound_id=node.compound_id)
    else:
        below = Q(node_level__in=FINE_LEVELS)
        if level in NODE_FILTER:
            below &= Q(**{NODE_FILTER[level]: node.pk}) & ~own
        enclosing = Q(pk__in=[])
    rows = (
        areas(request.user)
        .filter(own | below | enclosing)
        .values("level")
        .annotate(
            n=Count("id", filter=below),
            own_id=Max("id", filter=own),
            own_since=Max("since", filter=own),
            enclosing_id=Max("id", filter=enclosing),
        )
        .order_by()
    )
    counts = dict.fromkeys(RiskLevel.values, 0)
    mine = around = None
    for row in rows:
        counts[row["level"]] = row["n"]
        if row["own_id"]:
            mine = (row["own_id"], RiskLevel(row["level"]).label, LEVEL_COLOURS[row["level"]], row["own_since"])
        if row["enclosing_id"]:
            around = (row["enclosing_id"], RiskLevel(row["level"]).label, LEVEL_COLOURS[row["level"]])
    return render_to_string(
        "risk/_panel.html",
        {
            "own": mine,
            "rated_kind": level in OWN_AREA,
            "enclosing": around,
            "enclosing_label": NodeLevel.COMPOUND.label,
            "rows": []
            if level == "building"
            else [(v, label, counts[v], LEVEL_COLOURS[v]) for v, label in RiskLevel.choices],
            "node_param": f"{level}:{node.pk}" if level in NODE_FILTER else "",
            "low_colour": LEVEL_COLOURS[RiskLevel.LOW],
        },
        request=request,
    )

"""Risk-area pages: the list with counts by level and a map, an area's history, a level set by hand,
and a recompute on demand. Every area is read through core.scoping (out of scope answers 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.jobs import enqueue
from core.scoping import get_scoped_or_404
from geo.models import Division
from people.services import parse_node
from risk import selectors
from risk.choices import LEVEL_COLOURS, UNRATED_COLOUR, NodeLevel, RiskLevel
from risk.models import RiskArea
from risk.services import do_set_level, level_counts

SET_PERMISSION = "risk.set_risk_level"


def _can_set(user) -> bool:
    return user.has_perm(SET_PERMISSION)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
def area_list(request):
    level = request.GET.get("level", "")
    node_level = request.GET.get("node_level", "")
    district = _int(request.GET.get("district"))
    node = parse_node(request.GET.get("node"))
    around = selectors.areas(request.user, node_level=node_level, district=district, node=node)
    shown = selectors.areas(request.user, level=level, node_level=node_level, district=district, node=node)
    page = Paginator(selectors.ordered(selectors.with_nodes(shown)), 50).get_page(request.GET.get("page"))
    for area in page.object_list:
        area.name = selectors.node_name(area)
    counts = level_counts(around)
    legend = [(value, label, counts[value], LEVEL_COLOURS[value]) for value, label in reversed(RiskLevel.choices)]
    visible_districts = selectors.areas(request.user).values("district_id")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "risk/list.html",
        {
            "page": page,
            "legend": legend,
            "level": level,
            "node_level": node_level,
            "district": district,
            "node": request.GET.get("node", "") if node else "",
            "levels": RiskLevel.choices,
            "node_levels": NodeLevel.choices,
            "districts": Division.objects.filter(Q(level="district") & Q(pk__in=visible_districts)).order_by("code"),
            "points": selectors.map_points(request.user, shown, district),
            "map_width": selectors.WIDTH,
            "map_height": selectors.HEIGHT,
            "unrated_colour": UNRATED_COLOUR,
            "can_recompute": _can_set(request.user),
            "query": query.urlencode(),
        },
    )


@login_required
def area_detail(request, pk: int):
    area = get_scoped_or_404(request.user, selectors.with_nodes(RiskArea.objects.select_related("manual_by")), pk=pk)
    return render(
        request,
        "risk/area.html",
        {
            "area": area,
            "name": selectors.node_name(area),
            "history": area.changes.select_related("by").order_by("-at", "-id"),
            "levels": RiskLevel.choices,
            "can_set": _can_set(request.user),
        },
    )


@login_required
@require_POST
def area_set_level(request, pk: int):
    if not _can_set(request.user):
        raise PermissionDenied
    area = get_scoped_or_404(request.user, RiskArea.objects.all(), pk=pk)
    try:
        do_set_level(area, request.POST.get("level", ""), request.user, request.POST.get("reason", ""))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Level set."))
    return redirect("risk:area", pk=area.pk)


@login_required
@require_POST
def recompute(request):
    if not _can_set(request.user):
        raise PermissionDenied
    record = enqueue("risk.recompute", user=request.user)
    if record.result:
        messages.success(
            request,
            _("Recomputed: %(high)s high, %(medium)s medium, %(low)s low; %(changes)s changes.") % record.result,
        )
    else:
        messages.success(request, _("Recompute queued."))
    return redirect("risk:list")

"""The command centre (issue #10): the dashboard of an area and day, its live feed, and the daily
report's download. Figures come from dashboard.figures (pre-aggregated); the area must be in the
user's jurisdiction (404 otherwise, like a missing one)."""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.scoping import get_scoped_or_404
from dashboard import report, selectors
from dashboard.figures import last_refresh
from dashboard.indicators import INDICATORS
from geo.models import Division
from geo.views import home as jurisdiction_home
from tasks.choices import TaskLevel

LIVE_SECONDS = 60  # how often the page asks whether the figures were refreshed (setting LINLI_DASHBOARD_LIVE_SECONDS)


MAP_INDICATORS = (
    "risk_level",
    "now_confirmed",
    "new_confirmed",
    "now_close_contact",
    "containments_late",
    "tests_positive",
    "help_overdue",
    "tasks_overdue",
    "alerts_open",
    "residents",
)


def _area_and_day(request: HttpRequest, default: Division | None = None) -> tuple[Division, dt.date]:
    area_id = request.GET.get("area", "")
    if area_id.isdigit():
        area = get_scoped_or_404(request.user, Division.objects.filter(level__in=selectors.TOP_LEVELS), pk=int(area_id))
    else:
        area = default or selectors.default_area(request.user)
        if area is None:
            raise Http404(_("The dashboard covers communities and the levels above."))
    try:
        day = dt.date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else timezone.localdate()
    except ValueError as exc:
        raise Http404(_("Not a day: %(day)s") % {"day": request.GET["day"]}) from exc
    return area, day


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    default = None if "area" in request.GET else selectors.default_area(request.user)
    if "area" not in request.GET and default is None:
        return jurisdiction_home(request)  # a grid worker or a cadre: their own lists
    area, day = _area_and_day(request, default)
    data = selectors.payload(request.user, area, day)
    indicator = request.GET.get("indicator", "risk_level")
    return render(
        request,
        "dashboard/home.html",
        {
            "area": area,
            "day": day,
            "today": timezone.localdate(),
            "data": data,
            "crumbs": selectors.crumbs(request.user, area),
            "indicator": indicator if indicator in INDICATORS else "risk_level",
            "map_indicators": [(code, INDICATORS[code].label) for code in MAP_INDICATORS],
            "late": selectors.late_containments(request.user, area),
            "refreshed": last_refresh(day),
            "sla": [
                (label, f"overdue_at_{level}", data["figures"][f"overdue_at_{level}"])
                for level, label in TaskLevel.choices
            ],
            "now": timezone.now(),
            "live_seconds": getattr(settings, "LINLI_DASHBOARD_LIVE_SECONDS", LIVE_SECONDS),
        },
    )


@login_required
@require_GET
def data(request: HttpRequest) -> JsonResponse:
    """The live feed: the page polls it and redraws when the figures were refreshed."""
    area, day = _area_and_day(request)
    response = JsonResponse(selectors.payload(request.user, area, day))
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_GET
def daily_report(request: HttpRequest) -> HttpResponse:
    """The area's daily report (日报) as XLSX or PDF, from the same figures as the page."""
    area, day = _area_and_day(request)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "pdf"):
        raise Http404(_("Unknown format"))
    body, content_type, filename = report.render(area, day, fmt, user=request.user)
    return FileResponse(io.BytesIO(body), as_attachment=True, filename=filename, content_type=content_type)

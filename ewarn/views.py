"""Staff pages of the early-warning system: the alerts in one's jurisdiction, an alert's evidence
(its series against expected values and thresholds, its communities on a map) with the verify and
dismiss decisions, and a browser of any area's daily signal counts.

Alerts hold counts, not people, so no read log is written; deciding needs ``ewarn.verify_alert``
and the alert in one's jurisdiction (out of scope answers 404 like a missing alert).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.scoping import get_scoped_or_404, jurisdiction_of
from ewarn import selectors, services
from ewarn.choices import AlertKind, AlertStatus, Signal
from ewarn.forms import DismissForm, VerifyForm
from ewarn.models import Alert, DetectionRun
from geo.models import Division

PAGE_SIZE = 30


def _alert(request: HttpRequest, pk: int) -> Alert:
    return get_scoped_or_404(request.user, services.visible_alerts(request.user), pk=pk)


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", AlertStatus.OPEN)
    signal = request.GET.get("signal", "")
    kind = request.GET.get("kind", "")
    alerts = services.visible_alerts(request.user)
    if status in AlertStatus.values:
        alerts = alerts.filter(status=status)
    if signal in Signal.values:
        alerts = alerts.filter(signal=signal)
    if kind in AlertKind.values:
        alerts = alerts.filter(kind=kind)
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "ewarn/list.html",
        {
            "page": page,
            "status": status,
            "signal": signal,
            "kind": kind,
            "statuses": AlertStatus.choices,
            "signals": Signal.choices,
            "kinds": AlertKind.choices,
            "last_run": DetectionRun.objects.first(),
            "now": timezone.now(),
        },
    )


@login_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(request, pk)
    return render(
        request,
        "ewarn/alert.html",
        {
            "alert": alert,
            "chart": selectors.chart(alert),
            "points": selectors.map_points(alert),
            "communities": alert.communities.order_by("code"),
            "can_decide": services.can_decide(request.user, alert) and alert.status == AlertStatus.OPEN,
            "verify_form": VerifyForm(),
            "dismiss_form": DismissForm(),
            "strings": _chart_strings(),
        },
    )


def _chart_strings() -> dict[str, str]:
    return {
        "observed": _("Observed"),
        "expected": _("Expected"),
        "threshold": _("Threshold"),
        "alarm": _("Alarm"),
        "cluster": _("In the cluster"),
        "other": _("Other communities"),
    }


def _decision(request: HttpRequest, pk: int, form_class, decide) -> HttpResponse:
    alert = _alert(request, pk)
    if not services.can_decide(request.user, alert):
        raise PermissionDenied
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("ewarn:alert", pk=pk)
    try:
        decide(alert, form.cleaned_data)
    except services.DecisionError as exc:
        messages.error(request, str(exc))
    return redirect("ewarn:alert", pk=pk)


@login_required
@require_POST
def alert_verify(request: HttpRequest, pk: int) -> HttpResponse:
    def decide(alert: Alert, data: dict) -> None:
        services.do_verify(alert, request.user, data["note"], investigate=data["investigate"])
        messages.success(request, _("Alert verified."))

    return _decision(request, pk, VerifyForm, decide)


@login_required
@require_POST
def alert_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    def decide(alert: Alert, data: dict) -> None:
        services.do_dismiss(alert, request.user, data["reason"], data["note"])
        messages.success(request, _("Alert dismissed."))

    return _decision(request, pk, DismissForm, decide)


@login_required
def signal_browser(request: HttpRequest) -> HttpResponse:
    """A year of one signal in one area of the user's jurisdiction (the city for city-wide staff)."""
    jurisdiction = jurisdiction_of(request.user)
    choices = Division.objects.filter(level__in=("city", "district", "street", "community"))
    if not jurisdiction.everything:
        choices = choices.filter(jurisdiction.q_for(Division))
    choices = choices.order_by("code")
    signal = request.GET.get("signal") if request.GET.get("signal") in Signal.values else Signal.FEVER_CLINIC
    area = choices.filter(pk=request.GET.get("area") or 0).first() if request.GET.get("area", "").isdigit() else None
    area = area or choices.first()
    last = timezone.localdate() - dt.timedelta(days=1)
    return render(
        request,
        "ewarn/signals.html",
        {
            "signal": signal,
            "signals": Signal.choices,
            "area": area,
            "areas": choices[:500],
            "chart": selectors.series_of(signal, area, last) if area else None,
            "strings": _chart_strings(),
        },
    )

"""The early-warning API (issue #9): alerts with their evidence, the verify and dismiss decisions,
and any area's daily signal counts.

Auth is global (linli.api). Alerts are read through core.scoping (out of scope answers 404 like a
missing alert); deciding needs ``ewarn.verify_alert``.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from core.scoping import get_scoped_or_404
from ewarn import selectors, services
from ewarn.choices import AlertKind, AlertStatus, DismissReason, Signal
from ewarn.models import Alert
from geo.models import Division

router = Router(tags=["ewarn"])
MAX_LIST = 500
MAX_SERIES_DAYS = 5 * 366


class AlertOut(Schema):
    id: int
    signal: Signal
    kind: AlertKind
    area_code: str
    area_name: str
    level: str
    first_day: dt.date
    last_day: dt.date
    detectors: list[str]
    observed: float
    expected: float
    threshold: float | None
    p_value: float | None
    communities: list[str]
    status: AlertStatus
    dismiss_reason: str
    note: str
    task_id: int | None
    task_due_at: dt.datetime | None
    investigation_id: int | None


class AlertDetailOut(AlertOut):
    chart: dict
    points: list[dict]


def _out(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "signal": alert.signal,
        "kind": alert.kind,
        "area_code": alert.area.code,
        "area_name": alert.area.name,
        "level": alert.level,
        "first_day": alert.first_day,
        "last_day": alert.last_day,
        "detectors": alert.detectors,
        "observed": alert.observed,
        "expected": alert.expected,
        "threshold": alert.threshold,
        "p_value": alert.p_value,
        "communities": [c.code for c in alert.communities.all()],
        "status": alert.status,
        "dismiss_reason": alert.dismiss_reason,
        "note": alert.note,
        "task_id": alert.task_id,
        "task_due_at": alert.task.due_at if alert.task_id else None,
        "investigation_id": alert.investigation_id,
    }


class AlertFilter(Schema):
    status: AlertStatus | None = None
    signal: Signal | None = None
    kind: AlertKind | None = None
    since: dt.date | None = None


@router.get("/alerts", response=list[AlertOut])
def list_alerts(request, filters: Query[AlertFilter]):
    """Alerts in the caller's jurisdiction, newest first (at most 500)."""
    alerts = services.visible_alerts(request.user).prefetch_related("communities")
    if filters.status:
        alerts = alerts.filter(status=filters.status)
    if filters.signal:
        alerts = alerts.filter(signal=filters.signal)
    if filters.kind:
        alerts = alerts.filter(kind=filters.kind)
    if filters.since:
        alerts = alerts.filter(last_day__gte=filters.since)
    return [_out(a) for a in alerts[:MAX_LIST]]


def _alert(request, alert_id: int) -> Alert:
    return get_scoped_or_404(request.user, services.visible_alerts(request.user), pk=alert_id)


@router.get("/alerts/{alert_id}", response=AlertDetailOut)
def get_alert(request, alert_id: int):
    alert = _alert(request, alert_id)
    return {**_out(alert), "chart": selectors.chart(alert), "points": selectors.map_points(alert)}


class VerifyIn(Schema):
    note: str = ""
    investigate: bool = False


class DismissIn(Schema):
    reason: DismissReason
    note: str = ""


def _decide(request, alert_id: int, decide) -> dict:
    alert = _alert(request, alert_id)
    if not services.can_decide(request.user, alert):
        raise HttpError(403, "ewarn.verify_alert needed")
    try:
        decide(alert)
    except services.DecisionError as exc:
        raise HttpError(409, str(exc)) from exc
    return _out(alert)


@router.post("/alerts/{alert_id}/verify", response=AlertOut)
def verify_alert(request, alert_id: int, body: VerifyIn):
    return _decide(request, alert_id, lambda a: services.do_verify(a, request.user, body.note, body.investigate))


@router.post("/alerts/{alert_id}/dismiss", response=AlertOut)
def dismiss_alert(request, alert_id: int, body: DismissIn):
    return _decide(request, alert_id, lambda a: services.do_dismiss(a, request.user, body.reason, body.note))


class SeriesFilter(Schema):
    signal: Signal
    area: str
    until: dt.date | None = None
    days: int = 365


class SeriesOut(Schema):
    signal: Signal
    area_code: str
    days: list[dt.date]
    counts: list[float | None]


@router.get("/series", response=SeriesOut)
def series(request, filters: Query[SeriesFilter]):
    """Daily counts of one signal in one area (code) of the caller's jurisdiction; null before the
    signal was collected."""
    if not 1 <= filters.days <= MAX_SERIES_DAYS:
        raise HttpError(422, f"days must be 1–{MAX_SERIES_DAYS}")
    area = get_scoped_or_404(
        request.user, Division.objects.filter(level__in=("city", "district", "street", "community")), code=filters.area
    )
    until = filters.until or timezone.localdate()
    data = selectors.series_of(filters.signal, area, until, filters.days)
    return {"signal": filters.signal, "area_code": area.code, "days": data["days"], "counts": data["observed"]}

"""Alerts from the daily findings, their verification tasks, and the epidemiologist's decisions
(issue #9, item 3).

An alarm joins the alert of its episode when one exists (the same signal and kind in the same area,
or for clusters any shared community, with its last alarm within ``ewarn_episode_gap_days``), so an
outbreak that keeps alarming for a week is one alert with one task, not seven. A new alert opens a
``verify_signal`` task due in 24 hours for the district's CDC epidemiologist (the city's when the
district has none; the district's answerable person when neither exists).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.choices import StaffRole
from core.policy import policy
from core.scoping import restrict
from ewarn.choices import AlertKind, AlertStatus, DismissReason, Signal
from ewarn.detection import Finding, run_day
from ewarn.models import Alert, DetectionRun
from geo.models import Division
from geo.services import active_assignments
from tasks.choices import TaskLevel, TaskType
from tasks.services import do_complete, do_open_task

CATCH_UP_DAYS = 7  # a job that was down judges the days it missed, up to a week back


def epidemiologist_for(district_id: int | None):
    """The CDC epidemiologist assigned to the district, else one assigned to the city, else None."""
    assignments = active_assignments().filter(role=StaffRole.CDC_EPIDEMIOLOGIST, user__is_active=True)
    places = ([Q(division_id=district_id)] if district_id else []) + [Q(division__level="city")]
    for where in places:
        found = assignments.filter(where).select_related("user").order_by("starts_on", "id").first()
        if found is not None:
            return found.user
    return None


def _place(alert: Alert, area: Division) -> None:
    alert.area, alert.level = area, area.level
    alert.district_id, alert.street_id, alert.community_id = area.district_id, area.street_id, area.community_id
    if area.level in ("district", "street", "community"):
        setattr(alert, f"{area.level}_id", area.pk)


def _episode(finding: Finding, gap_days: int) -> Alert | None:
    recent = Alert.objects.filter(
        signal=finding.signal, kind=finding.kind, last_day__gte=finding.day - dt.timedelta(days=gap_days)
    ).filter(first_day__lte=finding.day)
    if finding.kind == AlertKind.CLUSTER:
        recent = recent.filter(communities__in=finding.communities).distinct()
    else:
        recent = recent.filter(area_id=finding.area_id)
    return recent.order_by("-last_day", "-id").first()


def _describe(alert: Alert) -> tuple[str, str]:
    signal = Signal(alert.signal).label
    if alert.kind == AlertKind.CLUSTER:
        title = _("Verify a cluster of %(signal)s around %(area)s") % {"signal": signal, "area": alert.area.name}
    else:
        title = _("Verify a rise in %(signal)s in %(area)s") % {"signal": signal, "area": alert.area.name}
    detail = _("%(observed)s observed against %(expected)s expected on %(day)s (detectors: %(detectors)s).") % {
        "observed": f"{alert.observed:g}",
        "expected": f"{alert.expected:.1f}",
        "day": alert.last_day.isoformat(),
        "detectors": ", ".join(alert.detectors),
    }
    return title, detail


def raise_alerts(findings: Iterable[Finding]) -> tuple[list[Alert], int]:
    """Open or extend the alert of each finding; returns (alerts opened, alerts extended)."""
    gap = int(policy().ewarn_episode_gap_days)
    opened, extended = [], 0
    for finding in findings:
        with transaction.atomic():
            alert = _episode(finding, gap)
            if alert is not None:
                _extend(alert, finding)
                extended += 1
                continue
            area = Division.objects.get(pk=finding.area_id)
            alert = Alert(
                signal=finding.signal,
                kind=finding.kind,
                first_day=finding.day,
                last_day=finding.day,
                detectors=finding.detectors,
                observed=finding.observed,
                expected=finding.expected,
                threshold=finding.threshold,
                p_value=finding.p_value,
                evidence=finding.evidence,
            )
            _place(alert, area)
            alert.save()
            alert.communities.set(finding.communities or ([area.pk] if area.level == "community" else []))
            title, detail = _describe(alert)
            alert.task = do_open_task(
                TaskType.VERIFY_SIGNAL,
                subject=area,
                title=title,
                detail=detail,
                source=f"ewarn alert {alert.pk}",
                dedupe_key=f"ewarn:verify:{alert.pk}",
                owner_level=TaskLevel.DISTRICT,
                assignee=epidemiologist_for(area.district_id or (area.pk if area.level == "district" else None)),
            )
            alert.save(update_fields=["task"])
            opened.append(alert)
    return opened, extended


def _extend(alert: Alert, finding: Finding) -> None:
    """A later alarm of the same episode: the alert's figures move to the newest day while it is
    open; a decided alert only records that the episode went on (it was already judged)."""
    alert.last_day = max(alert.last_day, finding.day)
    alert.detectors = sorted(set(alert.detectors) | set(finding.detectors))
    fields = ["last_day", "detectors", "updated_at"]
    if alert.status == AlertStatus.OPEN and finding.day >= alert.last_day:
        alert.observed, alert.expected = finding.observed, finding.expected
        alert.threshold, alert.p_value, alert.evidence = finding.threshold, finding.p_value, finding.evidence
        fields += ["observed", "expected", "threshold", "p_value", "evidence"]
    alert.updated_at = timezone.now()
    alert.save(update_fields=fields)
    if finding.communities:
        alert.communities.add(*finding.communities)


def do_run_day(day: dt.date) -> DetectionRun:
    """Judge ``day``, raise its alerts, and record the run."""
    started_at, started = timezone.now(), time.perf_counter()
    result = run_day(day)
    opened, extended = raise_alerts(result.findings)
    return DetectionRun.objects.create(
        day=day,
        started_at=started_at,
        seconds=time.perf_counter() - started,
        series=result.series,
        alarms=result.alarms,
        clusters=sum(1 for f in result.findings if f.kind == AlertKind.CLUSTER),
        alerts_opened=len(opened),
        detail={"seconds": {k: round(v, 3) for k, v in result.seconds.items()}, "extended": extended},
    )


def days_to_judge(today: dt.date) -> list[dt.date]:
    """Yesterday (the last complete day), and any day before it the job missed, up to a week back."""
    yesterday = today - dt.timedelta(days=1)
    last = DetectionRun.objects.filter(day__lte=yesterday).order_by("-day").values_list("day", flat=True).first()
    start = yesterday - dt.timedelta(days=CATCH_UP_DAYS - 1)
    if last is not None:
        start = max(start, last + dt.timedelta(days=1))
    return [start + dt.timedelta(days=i) for i in range((yesterday - start).days + 1)]


# --- decisions ---------------------------------------------------------------------------------------


class DecisionError(ValueError):
    """An alert decision that cannot be taken (already decided, or a reason missing)."""


def _decide(alert: Alert, by, status: str, note: str, reason: str = "") -> None:
    if alert.status != AlertStatus.OPEN:
        raise DecisionError(_("This alert was already decided: %(status)s.") % {"status": alert.get_status_display()})
    alert.status, alert.decided_by, alert.decided_at = status, by, timezone.now()
    alert.dismiss_reason, alert.note = reason, note.strip()
    alert.save(update_fields=["status", "decided_by", "decided_at", "dismiss_reason", "note", "updated_at"])


def do_verify(alert: Alert, by, note: str = "", investigate: bool = False) -> Alert:
    """Confirm the alert as a real rise; optionally open an investigation of its area for the same
    epidemiologist's team (domain.md §4: investigation within 24 h)."""
    with transaction.atomic():
        _decide(alert, by, AlertStatus.VERIFIED, note)
        if alert.task_id:
            do_complete(alert.task, by, _("Verified: %(note)s") % {"note": note.strip() or "—"})
        if investigate:
            alert.investigation = do_open_task(
                TaskType.INVESTIGATE,
                subject=alert.area,
                title=_("Investigate %(signal)s in %(area)s")
                % {"signal": alert.get_signal_display(), "area": alert.area.name},
                detail=note.strip(),
                source=f"ewarn alert {alert.pk}",
                dedupe_key=f"ewarn:investigate:{alert.pk}",
                opened_by=by,
                owner_level=TaskLevel.DISTRICT,
                assignee=epidemiologist_for(alert.district_id),
            )
            alert.save(update_fields=["investigation"])
    return alert


def do_dismiss(alert: Alert, by, reason: str, note: str = "") -> Alert:
    """Judge the alert not an outbreak, with the reason (kept to tune the detectors)."""
    if reason not in DismissReason.values:
        raise DecisionError(_("Choose why the alert is dismissed."))
    if reason == DismissReason.OTHER and not note.strip():
        raise DecisionError(_("Say why, when the reason is 'other'."))
    with transaction.atomic():
        _decide(alert, by, AlertStatus.DISMISSED, note, reason)
        if alert.task_id:
            do_complete(alert.task, by, _("Dismissed: %(reason)s") % {"reason": DismissReason(reason).label})
    return alert


def visible_alerts(user) -> QuerySet[Alert]:
    """Alerts in the user's jurisdiction (a district's staff see its street and community alerts)."""
    return restrict(user, Alert.objects.select_related("area", "task", "task__assignee"))


def can_decide(user, alert: Alert) -> bool:
    return user.has_perm("ewarn.verify_alert") and visible_alerts(user).filter(pk=alert.pk).exists()


__all__ = [
    "DecisionError",
    "can_decide",
    "days_to_judge",
    "do_dismiss",
    "do_run_day",
    "do_verify",
    "epidemiologist_for",
    "raise_alerts",
    "visible_alerts",
]

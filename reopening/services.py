"""Reopening actions: applications (draft, evidence, submit, verdicts, decision, withdrawal), the
unit's status moves, staff-back reports, contacts and the outbreak reviews.

Every action runs in a transaction, locks the rows it moves (``select_for_update``), checks the move
against the tables in reopening.choices and writes its history (UnitStatusChange for units,
ApplicationEvent for applications). Actions do not check permissions; views and the API do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import warnings
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from core.choices import StaffRole
from core.policy import policy
from core.roles import grant_role
from reopening.choices import (
    ACTIVE_APPLICATION,
    APPLICATION_TRANSITIONS,
    UNDER_REVIEW,
    UNIT_TRANSITIONS,
    ApplicationStatus,
    ChecklistItem,
    EvidenceType,
    ReviewDecision,
    StatusSource,
    UnitStatus,
    Verdict,
)
from reopening.models import (
    ApplicationEvent,
    ChecklistEntry,
    Evidence,
    ReopeningApplication,
    ReviewSweep,
    StaffReport,
    Unit,
    UnitContact,
    UnitReview,
    UnitStatusChange,
)
from reopening.policy import CHECKLISTS, EVIDENCE_LIMITS

log = logging.getLogger(__name__)
MAX_IMAGE_PIXELS = 40_000_000
FIRST_SWEEP_LOOKBACK = dt.timedelta(days=14)  # domain.md §5: 14 days without a new case is "low"


class ReopeningError(ValueError):
    """An action refused, with a sentence for the user and a code for tests and the API."""

    def __init__(self, message: str, code: str, items: Iterable[str] = ()):
        super().__init__(message)
        self.code = code
        self.items = list(items)


def _uid(user) -> int | None:
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def item_labels(items: Iterable[str]) -> str:
    labels = dict(ChecklistItem.choices)
    return ", ".join(str(labels.get(i, i)) for i in items)


def checklist_for(kind: str, at: dt.datetime | None = None) -> tuple[list[str], int | None]:
    """The items the policy in force at ``at`` requires of a kind of unit, and the edition's number."""
    current = policy(at)
    return list(getattr(current, CHECKLISTS)[kind]), current.version


# --- the unit's status ---------------------------------------------------------------------------


def _move_unit(
    unit: Unit,
    to_status: str,
    by,
    reason: str,
    source: str,
    application: ReopeningApplication | None = None,
) -> UnitStatusChange:
    """Move a locked unit along UNIT_TRANSITIONS and keep the move in its history."""
    if to_status not in UNIT_TRANSITIONS.get(unit.status, frozenset()):
        raise ReopeningError(
            _("A %(from)s unit cannot become %(to)s.")
            % {"from": UnitStatus(unit.status).label, "to": UnitStatus(to_status).label},
            "unit_move_not_allowed",
        )
    now = timezone.now()
    change = UnitStatusChange.objects.create(
        unit=unit,
        at=now,
        from_status=unit.status,
        to_status=to_status,
        reason=reason[:300],
        by_id=_uid(by),
        source=source,
        application=application,
    )
    unit.status, unit.status_since, unit.updated_at = to_status, now, now
    unit.save(update_fields=["status", "status_since", "updated_at"])
    return change


def do_add_contact(unit: Unit, user, by=None) -> UnitContact:
    """Name ``user`` a contact of ``unit``; the unit_contact role comes with it."""
    with transaction.atomic():
        contact, _created = UnitContact.objects.get_or_create(unit=unit, user=user)
        grant_role(user, StaffRole.UNIT_CONTACT)
    return contact


# --- applications --------------------------------------------------------------------------------


def _event(application: ReopeningApplication, by, from_status: str = "", to_status: str = "", **fields) -> None:
    ApplicationEvent.objects.create(
        application=application, user_id=_uid(by), from_status=from_status, to_status=to_status, **fields
    )


def _move_application(application: ReopeningApplication, to_status: str, by, note: str = "") -> None:
    if to_status not in APPLICATION_TRANSITIONS[application.status]:
        raise ReopeningError(
            _("A %(from)s application cannot become %(to)s.")
            % {"from": ApplicationStatus(application.status).label, "to": ApplicationStatus(to_status).label},
            "application_move_not_allowed",
        )
    _event(application, by, application.status, to_status, note=note)
    application.status = to_status


def _locked(application: ReopeningApplication) -> ReopeningApplication:
    return ReopeningApplication.objects.select_for_update(of=("self",)).select_related("unit").get(pk=application.pk)


def do_start_application(unit: Unit, by, planned_on: dt.date | None = None, note: str = "") -> ReopeningApplication:
    """A draft for a closed or suspended unit, its checklist taken from the policy in force now
    (submission brings it up to date with the edition then in force)."""
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)
        if unit.status not in (UnitStatus.CLOSED, UnitStatus.SUSPENDED):
            raise ReopeningError(
                _("Only a closed or suspended unit can apply to reopen; this one is %(status)s.")
                % {"status": UnitStatus(unit.status).label},
                "unit_not_closed",
            )
        if unit.applications.filter(status__in=ACTIVE_APPLICATION).exists():
            raise ReopeningError(_("This unit already has an application in progress."), "application_in_progress")
        items, _version = checklist_for(unit.kind)
        application = ReopeningApplication.objects.create(
            unit=unit, planned_on=planned_on, note=note, created_by_id=_uid(by)
        )
        ChecklistEntry.objects.bulk_create(
            [ChecklistEntry(application=application, item=item, position=i) for i, item in enumerate(items)]
        )
        _event(application, by, "", ApplicationStatus.DRAFT)
    return application


def do_update_draft(application: ReopeningApplication, by, planned_on: dt.date | None, note: str) -> None:
    with transaction.atomic():
        locked = _locked(application)
        if locked.status != ApplicationStatus.DRAFT:
            raise ReopeningError(_("Only a draft can be changed."), "not_a_draft")
        locked.planned_on, locked.note = planned_on, note.strip()
        locked.save()
    application.planned_on, application.note = locked.planned_on, locked.note


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return EvidenceType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return EvidenceType.PNG
    if head.startswith(b"%PDF-"):
        return EvidenceType.PDF
    return None


def clean_evidence(data: bytes) -> tuple[bytes, str]:
    """A JPEG or PNG photo, or a PDF, within the policy's size limit. Photos are decoded and written
    again by the server, so camera metadata (the GPS position, the phone's serial) is dropped and a
    file that only pretends to be an image is refused."""
    limit = int(getattr(policy(), EVIDENCE_LIMITS)["max_megabytes"]) * 1024 * 1024
    if not data:
        raise ReopeningError(_("The file is empty."), "empty_file")
    if len(data) > limit:
        raise ReopeningError(_("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}, "file_too_large")
    kind = _sniff(data[:16])
    if kind is None:
        raise ReopeningError(_("Send a JPEG or PNG photo or a PDF document."), "bad_file_type")
    if kind == EvidenceType.PDF:
        if b"%%EOF" not in data[-1024:]:
            raise ReopeningError(_("The PDF document is incomplete."), "bad_file")
        return data, kind
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.width * probe.height > MAX_IMAGE_PIXELS:
                    raise ReopeningError(_("The photo has too many pixels."), "bad_file")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image = ImageOps.exif_transpose(image)
                if kind == EvidenceType.JPEG and image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                out = io.BytesIO()
                image.save(out, format="JPEG" if kind == EvidenceType.JPEG else "PNG")
    except ReopeningError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        log.info("reopening evidence refused: %s", exc)
        raise ReopeningError(_("The photo could not be read. Send another one."), "bad_file") from exc
    return out.getvalue(), kind


def do_add_evidence(application: ReopeningApplication, item: str, data: bytes, name: str, by) -> Evidence:
    """Attach a file to one item of a draft."""
    cleaned, kind = clean_evidence(data)
    digest = hashlib.sha256(cleaned).hexdigest()
    with transaction.atomic():
        locked = _locked(application)
        if locked.status != ApplicationStatus.DRAFT:
            raise ReopeningError(_("Evidence is added to a draft, before it is submitted."), "not_a_draft")
        entry = locked.entries.filter(item=item).first()
        if entry is None:
            raise ReopeningError(_("This application's checklist has no item %(item)s.") % {"item": item}, "no_item")
        most = int(getattr(policy(), EVIDENCE_LIMITS)["max_files_per_item"])
        if entry.evidence.count() >= most:
            raise ReopeningError(_("At most %(n)s files per item.") % {"n": most}, "too_many_files")
        existing = entry.evidence.filter(sha256=digest).first()
        if existing is not None:
            return existing
        evidence = Evidence(
            entry=entry,
            content_type=kind,
            size=len(cleaned),
            sha256=digest,
            name=(name or "").replace("/", "_").replace("\\", "_")[-120:],
            uploaded_by_id=_uid(by),
        )
        evidence.file.save("evidence", ContentFile(cleaned), save=False)
        try:
            evidence.save()
        except Exception:
            evidence.file.delete(save=False)
            raise
    return evidence


def do_remove_evidence(evidence: Evidence, by) -> None:
    with transaction.atomic():
        locked = _locked(evidence.entry.application)
        if locked.status != ApplicationStatus.DRAFT:
            raise ReopeningError(_("Evidence is removed from a draft only."), "not_a_draft")
        evidence.delete()
        transaction.on_commit(lambda: evidence.file.delete(save=False))


def _sync_checklist(application: ReopeningApplication, items: list[str]) -> None:
    """Bring a draft's entries to the policy's list: new items added, dropped ones kept, not required."""
    entries = {e.item: e for e in application.entries.all()}
    for position, item in enumerate(items):
        entry = entries.get(item)
        if entry is None:
            ChecklistEntry.objects.create(application=application, item=item, position=position)
        elif not entry.required or entry.position != position:
            entry.required, entry.position = True, position
            entry.save(update_fields=["required", "position"])
    ChecklistEntry.objects.filter(application=application).exclude(item__in=items).update(required=False)


def do_submit(application: ReopeningApplication, by) -> ReopeningApplication:
    """Submit a draft: the checklist of the policy edition in force now is kept with it (a later
    edition does not change it); every required item needs evidence (refused naming the items
    without); the unit becomes applying and an inspection task goes to the street's 包保."""
    today = timezone.localdate()
    with transaction.atomic():
        locked = _locked(application)
        if locked.status != ApplicationStatus.DRAFT:
            raise ReopeningError(_("Only a draft can be submitted."), "not_a_draft")
        items, version = checklist_for(locked.unit.kind)
        _sync_checklist(locked, items)
        lacking = list(
            locked.entries.filter(required=True)
            .annotate(files=Count("evidence"))
            .filter(files=0)
            .order_by("position")
            .values_list("item", flat=True)
        )
        bad_date = locked.planned_on is None or locked.planned_on < today
        if not lacking and not bad_date:
            _submit(locked, items, version, by)
    # refused: the checklist brought up to date above is kept, so the applicant sees what is new
    if lacking:
        raise ReopeningError(
            _("Evidence is missing for: %(items)s.") % {"items": item_labels(lacking)}, "missing_evidence", lacking
        )
    if bad_date:
        raise ReopeningError(_("Give a planned reopening date from today on."), "bad_planned_date")
    application.status = locked.status
    return locked


def _submit(locked: ReopeningApplication, items: list[str], version: int | None, by) -> None:
    from tasks.services import do_open_task

    unit = Unit.objects.select_for_update(of=("self",)).select_related("venue", "compound").get(pk=locked.unit_id)
    locked.unit_status_before = unit.status
    note = _("application #%(n)s submitted") % {"n": locked.pk}
    _move_unit(unit, UnitStatus.APPLYING, by, note, StatusSource.APPLICATION, locked)
    _move_application(locked, ApplicationStatus.SUBMITTED, by)
    locked.policy_version, locked.checklist = version, items
    locked.submitted_at, locked.submitted_by_id = timezone.now(), _uid(by)
    locked.task = do_open_task(
        "inspect",
        subject=unit.venue if unit.venue_id else unit.compound,
        title=_("Inspect before reopening: %(unit)s") % {"unit": unit.name},
        detail=_("Checklist: %(items)s. Planned reopening: %(day)s.")
        % {"items": item_labels(items), "day": locked.planned_on.isoformat()},
        source=f"reopening:application:{locked.pk}",
        dedupe_key=f"reopening:inspect:{locked.pk}",
        opened_by=by,
    )
    locked.save()


def do_record_verdict(application: ReopeningApplication, item: str, verdict: str, reason: str, by) -> ChecklistEntry:
    """The inspector's verdict on one item; a rejection needs its reason. The first verdict moves a
    submitted application to inspecting."""
    reason = (reason or "").strip()
    if verdict not in Verdict.values:
        raise ReopeningError(_("Unknown verdict %(v)s.") % {"v": verdict}, "bad_verdict")
    if verdict == Verdict.REJECTED and not reason:
        raise ReopeningError(_("Say why the item is rejected."), "reason_required")
    with transaction.atomic():
        locked = _locked(application)
        if locked.status not in UNDER_REVIEW:
            raise ReopeningError(_("Only a submitted application is inspected."), "not_under_review")
        entry = locked.entries.select_for_update().filter(item=item, required=True).first()
        if entry is None:
            raise ReopeningError(_("Item %(item)s is not on this application's checklist.") % {"item": item}, "no_item")
        if locked.status == ApplicationStatus.SUBMITTED:
            _move_application(locked, ApplicationStatus.INSPECTING, by)
            locked.save()
        entry.verdict, entry.verdict_reason = verdict, reason[:500]
        entry.verdict_by_id, entry.verdict_at = _uid(by), timezone.now()
        entry.save()
        _event(locked, by, item=item, verdict=verdict, note=reason)
    application.status = locked.status
    return entry


def do_decide(application: ReopeningApplication, approve: bool, reason: str, by) -> ReopeningApplication:
    """Approve (only when every required item is approved: the unit opens) or reject (with the
    reasons: the unit goes back to what it was). Either way the inspection task is closed."""
    from tasks.services import do_complete

    reason = (reason or "").strip()
    if not approve and not reason:
        raise ReopeningError(_("A rejection needs its reasons."), "reason_required")
    with transaction.atomic():
        locked = _locked(application)
        if locked.status not in UNDER_REVIEW:
            raise ReopeningError(_("Only a submitted application is decided."), "not_under_review")
        if approve:
            not_approved = list(
                locked.entries.filter(required=True)
                .exclude(verdict=Verdict.APPROVED)
                .order_by("position")
                .values_list("item", flat=True)
            )
            if not_approved:
                raise ReopeningError(
                    _("Not every required item is approved: %(items)s.") % {"items": item_labels(not_approved)},
                    "items_not_approved",
                    not_approved,
                )
        if locked.status == ApplicationStatus.SUBMITTED:
            _move_application(locked, ApplicationStatus.INSPECTING, by)
        target = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
        _move_application(locked, target, by, reason)
        locked.decided_at, locked.decided_by_id, locked.decision_reason = timezone.now(), _uid(by), reason
        locked.save()
        unit = Unit.objects.select_for_update().get(pk=locked.unit_id)
        back = UnitStatus.OPEN if approve else (locked.unit_status_before or UnitStatus.CLOSED)
        note = _("application #%(n)s approved") if approve else _("application #%(n)s rejected")
        _move_unit(
            unit,
            back,
            by,
            (note % {"n": locked.pk} + (f": {reason}" if reason else ""))[:300],
            StatusSource.APPLICATION,
            locked,
        )
        if locked.task_id:
            feedback = _("Approved; the unit is open.") if approve else _("Rejected: %(r)s") % {"r": reason}
            do_complete(locked.task, by, feedback + (f" {reason}" if approve and reason else ""))
    return locked


def do_withdraw(application: ReopeningApplication, by, reason: str = "") -> ReopeningApplication:
    """The unit withdraws its application; a unit applying goes back to what it was."""
    from tasks.services import do_cancel

    with transaction.atomic():
        locked = _locked(application)
        was_submitted = locked.status in UNDER_REVIEW
        _move_application(locked, ApplicationStatus.WITHDRAWN, by, reason)
        locked.save()
        if was_submitted:
            unit = Unit.objects.select_for_update().get(pk=locked.unit_id)
            _move_unit(
                unit,
                locked.unit_status_before or UnitStatus.CLOSED,
                by,
                _("application #%(n)s withdrawn") % {"n": locked.pk},
                StatusSource.APPLICATION,
                locked,
            )
            if locked.task_id and locked.task.is_open:
                do_cancel(locked.task, by, _("application withdrawn"))
    return locked


# --- staff back ----------------------------------------------------------------------------------


def do_report_staff(unit: Unit, day: dt.date, staff_back: int, by, source: str = "web") -> StaffReport:
    """How many staff were back on ``day``: one report per unit and day (a second one corrects it)."""
    if staff_back < 0:
        raise ReopeningError(_("Staff back cannot be negative."), "negative_count")
    if day > timezone.localdate():
        raise ReopeningError(_("A report cannot be for a day still to come."), "future_day")
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)
        if staff_back > unit.staff_count:
            raise ReopeningError(
                _("More staff back (%(back)s) than the unit has (%(staff)s).")
                % {"back": staff_back, "staff": unit.staff_count},
                "staff_back_over_staff",
            )
        report, _created = StaffReport.objects.update_or_create(
            unit=unit,
            day=day,
            defaults={
                "staff_back": staff_back,
                "reported_by_id": _uid(by),
                "reported_at": timezone.now(),
                "source": source,
            },
        )
    return report


# --- outbreak reviews ----------------------------------------------------------------------------


def do_sweep_outbreaks(until: dt.datetime | None = None) -> dict:
    """Confirmed cases identified since the last sweep, living in compounds that host open units:
    one review (and one ``unit_review`` task for the street) per unit and outbreak. Found set-based
    (one grouped query over the cases, one over the units); new cases while a unit's review still
    waits join that review."""
    from cases.choices import CaseState, Category, EventOutcome
    from cases.models import CategoryEvent
    from tasks.services import do_open_task

    until = until or timezone.now()
    with transaction.atomic():
        last = ReviewSweep.objects.select_for_update().order_by("-until", "-id").first()
        since = last.until if last is not None else until - FIRST_SWEEP_LOOKBACK
        # domain.md §3: a confirmed case, newly identified (its first applied identification)
        by_compound = {
            row["compound_id"]: row
            for row in CategoryEvent.objects.filter(
                category=Category.CONFIRMED,
                to_state=CaseState.IDENTIFIED,
                outcome=EventOutcome.APPLIED,
                recorded_at__gt=since,
                recorded_at__lte=until,
                compound_id__isnull=False,
            )
            .values("compound_id")
            .annotate(cases=Count("person_id", distinct=True), first=Min("at"))
        }
        units = list(
            Unit.objects.filter(status=UnitStatus.OPEN, compound_id__in=list(by_compound)).select_related(
                "compound", "venue"
            )
        )
        pending = {r.unit_id: r for r in UnitReview.objects.filter(unit__in=units, decision=ReviewDecision.PENDING)}
        opened = 0
        for unit in units:
            found = by_compound[unit.compound_id]
            review = pending.get(unit.pk)
            if review is not None:
                review.cases += found["cases"]
                review.save(update_fields=["cases", "updated_at"])
                continue
            review = UnitReview.objects.create(unit=unit, cases=found["cases"], first_case_at=found["first"])
            review.task = do_open_task(
                "unit_review",
                subject=unit.venue if unit.venue_id else unit.compound,
                title=_("Review open unit after cases nearby: %(unit)s") % {"unit": unit.name},
                detail=_("%(n)s confirmed case(s) identified in compound %(compound)s, where the unit is.")
                % {"n": found["cases"], "compound": unit.compound.name},
                source=f"reopening:review:{review.pk}",
                dedupe_key=f"reopening:review:{review.pk}",
            )
            review.save(update_fields=["task", "updated_at"])
            opened += 1
        cases = sum(row["cases"] for row in by_compound.values())
        ReviewSweep.objects.create(since=since, until=until, cases=cases, reviews_opened=opened)
    return {"since": since.isoformat(), "until": until.isoformat(), "cases": cases, "reviews_opened": opened}


def do_decide_review(review: UnitReview, suspend: bool, reason: str, by) -> UnitReview:
    """Suspend the unit (it must re-apply to reopen) or keep it open; both need the reason."""
    from tasks.services import do_complete

    reason = (reason or "").strip()
    if not reason:
        raise ReopeningError(_("Give the reason for the decision."), "reason_required")
    with transaction.atomic():
        locked = UnitReview.objects.select_for_update(of=("self",)).select_related("task").get(pk=review.pk)
        if locked.decision != ReviewDecision.PENDING:
            raise ReopeningError(_("This review is decided already."), "already_decided")
        unit = Unit.objects.select_for_update().get(pk=locked.unit_id)
        if suspend:
            if unit.status == UnitStatus.OPEN:
                _move_unit(unit, UnitStatus.SUSPENDED, by, reason, StatusSource.REVIEW)
            locked.decision = ReviewDecision.SUSPENDED
        else:
            locked.decision = ReviewDecision.KEPT_OPEN
        locked.reason, locked.decided_by_id, locked.decided_at = reason, _uid(by), timezone.now()
        locked.save()
        if locked.task_id:
            do_complete(locked.task, by, f"{ReviewDecision(locked.decision).label}: {reason}")
    return locked

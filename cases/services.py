"""Moving people through the four categories: one entry point for feeds, staff and tracing.

domain.md §3. Every report becomes a CategoryEvent with its outcome, so the history shows what
arrived, from where, and what it did. A stronger category overrides a weaker one; a weaker or
duplicate report is noted, never a downgrade; a report older than the current state is noted as
stale; an exclusion that contradicts a confirmed diagnosis waits in the conflict queue for a person.

Putting a person into a category is purpose-bound (issue #11, the Zhengzhou abuse): a staff decision
names its legal basis from the policy's list (``category_change_bases``) with a note, and a "contact
of a case" names a recorded case; a feed's, tracing's or follow-up's report carries its source
reference instead. Anything else is refused (:class:`BasisRefused`) before a row is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import (
    CASE_CATEGORIES,
    CLOSED_STATES,
    DEFAULT_PLACEMENT,
    FEED_BASIS,
    RANK,
    TRANSITIONS,
    Basis,
    CaseState,
    Category,
    EventOutcome,
    SourceKind,
)
from cases.models import CategoryConflict, CategoryEvent, ConflictStatus, FollowUp, FollowUpStatus, PersonStatus
from core.policy import policy
from people.identity import mask_id_number, normalise_id_number
from people.models import PLACE_COLUMNS, Resident

INFECTED = {Category.CONFIRMED, Category.ASYMPTOMATIC}
OBSERVATION_DAYS_KEY = {
    Category.CLOSE_CONTACT: "close_contact_quarantine_days",
    Category.SECONDARY_CONTACT: "secondary_contact_quarantine_days",
    Category.FEVER: "close_contact_quarantine_days",
    Category.SUSPECTED: "close_contact_quarantine_days",
}
# Tasks each newly identified category needs (domain.md §3 placement; §4 investigation within 24 h).
TASKS_ON_IDENTIFICATION = {
    Category.CONFIRMED: ("notify", "transfer", "investigate"),
    Category.ASYMPTOMATIC: ("notify", "transfer", "investigate"),
    Category.SUSPECTED: ("notify", "transfer", "test"),
    Category.FEVER: ("notify", "transfer", "test"),
    Category.CLOSE_CONTACT: ("notify", "transfer", "test"),
    Category.SECONDARY_CONTACT: ("notify",),
}


# Called with the person's status when an infected case (confirmed or asymptomatic) is identified;
# the tracing app adds the start of its containment. Apps append in AppConfig.ready.
ON_INFECTED: list[Callable[[PersonStatus], None]] = []
# Called with the ids of people whose category or state changed (the healthcode app recomputes
# their colour). Apps append in AppConfig.ready.
ON_STATUS_CHANGED: list[Callable[[list[int]], None]] = []


def _status_changed(person_ids: list[int]) -> None:
    if person_ids:
        for hook in ON_STATUS_CHANGED:
            hook(person_ids)


class TransitionRefused(Exception):
    """A staff-requested state change the transition table does not allow."""


class BasisRefused(ValueError):
    """A category decision without a valid legal basis (the message is translated, for the user)."""


@dataclass
class Report:
    """A fact about one person: a category (identification) or a state change, at an event time."""

    person: Resident
    state: str
    at: dt.datetime
    source_kind: str
    category: str | None = None
    source_ref: str = ""
    user: Any = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # onset_date, sampled_at, severity, placement_*
    basis: str = ""  # cases.choices.Basis: chosen by staff, or implied by the source (see check_purpose)
    basis_case: Resident | None = None  # the recorded case a "contact of a case" names


# --- legal basis (issue #11) -----------------------------------------------------------------------


def _is_staff(source_kind: str, user) -> bool:
    """A staff decision: so marked, or a "system" report made by a signed-in user."""
    return source_kind == SourceKind.STAFF or (
        source_kind == SourceKind.SYSTEM and getattr(user, "is_authenticated", False)
    )


def implied_basis(source_kind: str, source_ref: str) -> str:
    """The basis a report with its own source carries (its source reference is the evidence)."""
    if source_kind == SourceKind.TRACING:
        return Basis.CONTACT_OF_CASE
    if source_kind == SourceKind.FOLLOW_UP:
        return Basis.FOLLOW_UP_CHECK
    if source_kind == SourceKind.FEED:
        return FEED_BASIS.get(source_ref.split(":", 1)[0], Basis.AGENCY_REPORT)
    return ""


def staff_bases(at: dt.datetime | None = None) -> dict[str, list[str]]:
    """The bases staff may choose now, with the categories each may justify (policy)."""
    return dict(policy(at).category_change_bases)


def is_recorded_case(person: Resident | None) -> bool:
    """Confirmed, asymptomatic or suspected in the register, and not ruled out (excluded)."""
    if person is None:
        return False
    return (
        PersonStatus.objects.filter(person=person, category__in=CASE_CATEGORIES)
        .exclude(state=CaseState.EXCLUDED)
        .exists()
    )


def _not_a_case(reference: str) -> BasisRefused:
    return BasisRefused(
        _("%(case)s is not a recorded case (confirmed, asymptomatic or suspected, not ruled out).")
        % {"case": reference}
    )


def resolve_basis_case(id_number: str = "", person_id: int | None = None) -> Resident:
    """The recorded case a "contact of a case" names, by full identity number or person id.

    Looked up in the whole city (contacts cross jurisdictions); a number that names nobody is
    refused in the same words as one that names someone who is not a case."""
    people = Resident.objects.filter(merged_into__isnull=True)
    if person_id is not None:
        in_range = 0 < person_id < 2**63  # an id no database column can hold names nobody
        case, reference = (people.filter(pk=person_id).first() if in_range else None), f"#{person_id}"
    else:
        number = normalise_id_number(id_number)
        well_formed = re.fullmatch(r"[0-9A-Z]{1,18}", number) is not None
        case, reference = (people.filter(id_number=number).first() if well_formed else None), mask_id_number(number)
    if not is_recorded_case(case):
        raise _not_a_case(reference)
    return case


def check_purpose(
    person_ids: list[int],
    category: str,
    *,
    source_kind: str,
    source_ref: str,
    user,
    note: str,
    basis: str,
    basis_case: Resident | None,
) -> str:
    """Refuse a category decision without a legal basis; return the basis to record.

    Staff (web page, API, a bulk decision): a basis from the policy's list that may justify the
    category, a note, and for a contact of a case a recorded case other than the person. Feeds,
    tracing and follow-ups: their source reference, and the basis it implies."""
    if not _is_staff(source_kind, user):
        if source_kind == SourceKind.SYSTEM:
            return basis  # set-up by code (no user: the demo, tests); never a request's path
        if not source_ref:
            raise BasisRefused(
                _("A report from %(source)s must carry its source reference.")
                % {"source": SourceKind(source_kind).label}
            )
        return basis or implied_basis(source_kind, source_ref)
    bases = staff_bases()
    if category not in Category.values:
        raise BasisRefused(_("Choose a category."))
    if not basis:
        raise BasisRefused(_("Choose the legal basis of the decision: a category turns the health code red or yellow."))
    if basis not in bases:
        raise BasisRefused(_("%(basis)s is not a legal basis the policy lists.") % {"basis": basis})
    if category not in bases[basis]:
        raise BasisRefused(
            _("%(basis)s cannot justify the category %(category)s.")
            % {"basis": Basis(basis).label, "category": Category(category).label}
        )
    if not note.strip() or "\x00" in note:
        raise BasisRefused(_("Say why: a category changes what the person may do, so the reason is kept."))
    if basis == Basis.CONTACT_OF_CASE:
        if basis_case is None:
            raise BasisRefused(_("Name the recorded case this person is a contact of."))
        if basis_case.pk in person_ids:
            raise BasisRefused(_("A person cannot be a contact of their own case."))
        if not is_recorded_case(basis_case):
            raise _not_a_case(basis_case.masked_id_number)
    elif basis_case is not None:
        raise BasisRefused(_("Only a contact of a case names a case."))
    return basis


def do_apply(report: Report) -> CategoryEvent:
    """Apply one report; returns the event that records what it did. An identification without a
    legal basis (staff) or a source reference (feeds, tracing, follow-ups) raises BasisRefused."""
    if report.category is not None and report.state == CaseState.IDENTIFIED:
        report.basis = check_purpose(
            [report.person.pk],
            report.category,
            source_kind=report.source_kind,
            source_ref=report.source_ref,
            user=report.user,
            note=report.note,
            basis=report.basis,
            basis_case=report.basis_case,
        )
    with transaction.atomic():
        if report.source_ref:
            existing = CategoryEvent.objects.filter(
                source_ref=report.source_ref, category=report.category or "", to_state=report.state
            ).first()
            if existing is not None:  # the same feed row again: idempotent
                return existing
        status = PersonStatus.objects.select_for_update().filter(person=report.person).first()
        outcome, reason = _decide(status, report)
        event = _record(status, report, outcome, reason)
        if outcome == EventOutcome.APPLIED:
            status = _move(status, report)
            _after_move(status, report)
        elif outcome == EventOutcome.CONFLICT:
            conflict = CategoryConflict(
                event=event, person=report.person, current_category=status.category, current_state=status.state
            )
            conflict.copy_place(report.person)
            conflict.save()
            _open_task("review", status, f"conflict:{conflict.pk}", _("Resolve conflicting reports"), reason)
        return event


def _decide(status: PersonStatus | None, report: Report) -> tuple[str, str]:
    """The outcome of a report given the current status, and why."""
    identifying = report.category is not None and report.state == CaseState.IDENTIFIED
    if status is None:
        if identifying:
            return EventOutcome.APPLIED, ""
        return EventOutcome.NOTED, _("No category to change")
    older = report.at < status.since and report.state != CaseState.DIED
    if older and (not identifying or RANK[report.category] <= RANK[status.category]):
        return EventOutcome.STALE, _("Older than the current state")
    if identifying:
        if status.state in CLOSED_STATES:
            return EventOutcome.APPLIED, _("New episode")
        if RANK[report.category] > RANK[status.category]:
            return EventOutcome.APPLIED, ""
        return EventOutcome.NOTED, _("Same or stronger category already stands")
    if report.state == CaseState.EXCLUDED and status.category in INFECTED and status.state not in CLOSED_STATES:
        return EventOutcome.CONFLICT, _("An exclusion contradicts a diagnosed infection")
    if report.category and report.category != status.category:
        return EventOutcome.NOTED, _("Concerns another category than the current one")
    if report.state in TRANSITIONS.get(status.state, set()):
        return EventOutcome.APPLIED, ""
    if report.state == status.state:
        return EventOutcome.NOTED, _("Already in this state")
    return EventOutcome.REFUSED, _("Not an allowed transition from %(state)s") % {
        "state": CaseState(status.state).label
    }


def _record(status: PersonStatus | None, report: Report, outcome: str, reason: str) -> CategoryEvent:
    event = CategoryEvent(
        person=report.person,
        at=report.at,
        category=report.category or (status.category if status else ""),
        from_state=status.state if status else "",
        to_state=report.state,
        outcome=outcome,
        source_kind=report.source_kind,
        source_ref=report.source_ref,
        user=report.user if getattr(report.user, "is_authenticated", False) else None,
        note="; ".join(n for n in (report.note, reason) if n)[:300],
        basis=report.basis,
        basis_case=report.basis_case,
    )
    event.copy_place(report.person)
    event.save()
    return event


def _move(status: PersonStatus | None, report: Report) -> PersonStatus:
    details = report.details
    if status is None:
        status = PersonStatus(person=report.person, episode=1)
    elif report.category and report.state == CaseState.IDENTIFIED:
        if status.state in CLOSED_STATES:
            status.episode += 1
        status.placement_kind, status.placement_name, status.observe_until, status.isolated_at = "", "", None, None
    if report.category and report.state == CaseState.IDENTIFIED:
        status.category = report.category
        status.basis = report.basis
    status.state = report.state
    status.since = report.at
    for key in ("onset_date", "sampled_at", "severity", "placement_kind", "placement_name"):
        if details.get(key):
            setattr(status, key, details[key])
    if report.state == CaseState.PLACED:
        status.isolated_at = status.isolated_at or report.at
        status.placement_kind = status.placement_kind or DEFAULT_PLACEMENT.get(status.category, "")
        days_key = OBSERVATION_DAYS_KEY.get(status.category)
        if days_key and status.category not in INFECTED:
            status.observe_until = report.at + dt.timedelta(days=getattr(policy(report.at), days_key))
    status.copy_place(report.person)
    status.save()
    return status


def _after_move(status: PersonStatus, report: Report) -> None:
    """What follows a move: tasks, containment, follow-ups, and the ON_STATUS_CHANGED hooks."""
    if report.state == CaseState.IDENTIFIED:
        for task_type in TASKS_ON_IDENTIFICATION.get(status.category, ()):
            _open_task(task_type, status, f"{status.episode}:{task_type}", _task_title(task_type, status), "")
        if status.category in INFECTED:
            for hook in ON_INFECTED:
                hook(status)
    elif report.state == CaseState.PLACED and status.observe_until:
        schedule_follow_ups(status)
    elif report.state in CLOSED_STATES:
        FollowUp.objects.filter(person=status.person, status=FollowUpStatus.DUE).delete()
    _status_changed([status.person_id])


def _task_title(task_type: str, status: PersonStatus) -> str:
    titles = {
        "notify": _("Notify %(name)s (%(category)s)"),
        "transfer": _("Transfer %(name)s to %(placement)s"),
        "investigate": _("Epidemiological investigation of %(name)s within 24 h"),
        "test": _("Arrange a test for %(name)s"),
    }
    template = titles.get(task_type, "%(name)s")
    return template % {
        "name": status.person.name,
        "category": status.get_category_display(),
        "placement": DEFAULT_PLACEMENT.get(status.category, "").label if status.category in DEFAULT_PLACEMENT else "",
    }


def _open_task(task_type: str, status: PersonStatus, key: str, title: str, detail: str) -> None:
    from tasks.services import do_open_task

    do_open_task(
        task_type,
        subject=status.person,
        title=title,
        detail=detail,
        source=f"person_status:{status.pk}",
        dedupe_key=f"cases:{status.person_id}:{key}",
    )


def schedule_follow_ups(status: PersonStatus) -> int:
    """Checks at the policy's times per day from placement until observation ends (set-based)."""
    per_day = max(1, int(policy().follow_up_checks_per_day))
    step = dt.timedelta(hours=24 / per_day)
    start = status.isolated_at or timezone.now()
    slots, due = [], start + step
    while due <= status.observe_until:
        slot = FollowUp(person=status.person, due_at=due)
        slot.copy_place(status.person)
        slots.append(slot)
        due += step
    FollowUp.objects.bulk_create(slots, ignore_conflicts=True)
    return len(slots)


def do_transition(person: Resident, to_state: str, user, note: str = "", **details: Any) -> CategoryEvent:
    """A staff decision (notified, transferred, placed with where, released, excluded…)."""
    status = PersonStatus.objects.filter(person=person).first()
    if status is None or to_state not in TRANSITIONS.get(status.state, set()):
        raise TransitionRefused(
            _("%(from)s → %(to)s is not allowed")
            % {
                "from": CaseState(status.state).label if status else "-",
                "to": dict(CaseState.choices).get(to_state, to_state),
            }
        )
    return do_apply(
        Report(
            person=person,
            state=to_state,
            at=timezone.now(),
            source_kind=SourceKind.STAFF,
            category=status.category,
            user=user,
            note=note,
            details=details,
        )
    )


def do_identify(
    person: Resident,
    category: str,
    user,
    note: str = "",
    at: dt.datetime | None = None,
    source_kind: str | None = None,
    source_ref: str = "",
    basis: str = "",
    basis_case: Resident | None = None,
    **details: Any,
) -> CategoryEvent:
    """Put a person into a category (staff decision, tracing, follow-up).

    ``source_kind`` defaults to a staff decision when ``user`` is signed in (which then needs
    ``basis`` and ``note``, see :func:`check_purpose`) and to the system otherwise."""
    if source_kind is None:
        source_kind = SourceKind.STAFF if getattr(user, "is_authenticated", False) else SourceKind.SYSTEM
    return do_apply(
        Report(
            person=person,
            state=CaseState.IDENTIFIED,
            at=at or timezone.now(),
            source_kind=source_kind,
            category=category,
            source_ref=source_ref,
            user=user,
            note=note,
            details=details,
            basis=basis,
            basis_case=basis_case,
        )
    )


@dataclass
class BulkOutcome:
    applied: list[int] = field(default_factory=list)  # person ids now in the category
    noted: list[int] = field(default_factory=list)  # a stronger or equal category stands


def do_identify_many(
    person_ids: list[int],
    category: str,
    *,
    at: dt.datetime,
    source_kind: str,
    source_ref_prefix: str,
    note: str = "",
    user=None,
    basis: str = "",
    basis_case: Resident | None = None,
) -> BulkOutcome:
    """Put many people into a category at once (a containment's hundreds of contacts): the same
    decisions as :func:`do_identify` (a stronger category is never downgraded, a closed episode
    starts a new one), one CategoryEvent each, written set-based; no per-person tasks, because the
    caller opens one list per building. Idempotent per ``source_ref_prefix``. The same legal basis
    as one decision (:func:`check_purpose`): a staff bulk decision without one changes nobody."""
    outcome = BulkOutcome()
    if not person_ids:
        return outcome
    basis = check_purpose(
        list(person_ids),
        category,
        source_kind=source_kind,
        source_ref=source_ref_prefix,
        user=user,
        note=note,
        basis=basis,
        basis_case=basis_case,
    )
    refs = {pid: f"{source_ref_prefix}:{pid}" for pid in person_ids}
    done: set[int] = set()
    statuses: dict[int, PersonStatus] = {}
    people: dict[int, dict] = {}
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        seen = CategoryEvent.objects.filter(
            source_ref__in=[refs[i] for i in chunk], category=category, to_state=CaseState.IDENTIFIED
        ).values_list("person_id", flat=True)
        done.update(seen)
        statuses.update({s.person_id: s for s in PersonStatus.objects.filter(person_id__in=chunk)})
        people.update({r["id"]: r for r in Resident.objects.filter(pk__in=chunk).values("id", *PLACE_COLUMNS)})
    events, new, changed = [], [], []
    for pid in ids:
        if pid in done or pid not in people:
            continue
        status = statuses.get(pid)
        applies = status is None or status.state in CLOSED_STATES or RANK[category] > RANK[status.category]
        place = {c: people[pid][c] for c in PLACE_COLUMNS}
        events.append(
            CategoryEvent(
                person_id=pid,
                at=at,
                category=category,
                from_state=status.state if status else "",
                to_state=CaseState.IDENTIFIED,
                outcome=EventOutcome.APPLIED if applies else EventOutcome.NOTED,
                source_kind=source_kind,
                source_ref=refs[pid],
                user=user if getattr(user, "is_authenticated", False) else None,
                basis=basis,
                basis_case=basis_case,
                note=(
                    note
                    if applies
                    else "; ".join(n for n in (note, _("Same or stronger category already stands")) if n)
                )[:300],
                **place,
            )
        )
        if not applies:
            outcome.noted.append(pid)
            continue
        outcome.applied.append(pid)
        if status is None:
            new.append(
                PersonStatus(
                    person_id=pid, category=category, state=CaseState.IDENTIFIED, since=at, basis=basis, **place
                )
            )
        else:
            if status.state in CLOSED_STATES:
                status.episode += 1
            status.category, status.state, status.since, status.basis = category, CaseState.IDENTIFIED, at, basis
            status.placement_kind, status.placement_name, status.observe_until, status.isolated_at = "", "", None, None
            status.updated_at = timezone.now()
            changed.append(status)
    with transaction.atomic():
        CategoryEvent.objects.bulk_create(events, batch_size=2000, ignore_conflicts=True)
        PersonStatus.objects.bulk_create(new, batch_size=2000)
        PersonStatus.objects.bulk_update(
            changed,
            [
                "category",
                "state",
                "since",
                "basis",
                "episode",
                "placement_kind",
                "placement_name",
                "observe_until",
                "isolated_at",
                "updated_at",
            ],
            batch_size=2000,
        )
        _status_changed(outcome.applied)
    return outcome


def do_resolve_conflict(conflict: CategoryConflict, accept: bool, user, note: str) -> None:
    """Uphold the current state, or accept the contradicting report (applied now, by a person)."""
    with transaction.atomic():
        conflict = CategoryConflict.objects.select_for_update().get(pk=conflict.pk)
        if conflict.status != ConflictStatus.OPEN:
            return
        conflict.status = ConflictStatus.ACCEPTED if accept else ConflictStatus.UPHELD
        conflict.decided_by, conflict.decided_at, conflict.decision_note = user, timezone.now(), note[:300]
        conflict.save()
        if accept:
            status = PersonStatus.objects.select_for_update().get(person=conflict.person)
            report = Report(
                person=conflict.person,
                state=conflict.event.to_state,
                at=timezone.now(),
                source_kind=SourceKind.STAFF,
                category=status.category,
                user=user,
                note=_("Conflict %(id)s accepted: %(note)s") % {"id": conflict.pk, "note": note},
            )
            _record(status, report, EventOutcome.APPLIED, "")
            status = _move(status, report)
            _after_move(status, report)


def do_record_follow_up(follow_up: FollowUp, temperature: float | None, symptoms: str, user) -> FollowUp:
    """Record a check; a fever or a symptom moves the person onto the fever path (issue #3, item 6)."""
    with transaction.atomic():
        follow_up.temperature = temperature
        follow_up.symptoms = symptoms[:200]
        follow_up.status = FollowUpStatus.DONE
        follow_up.done_at = timezone.now()
        follow_up.recorded_by = user if getattr(user, "is_authenticated", False) else None
        follow_up.save()
        feverish = temperature is not None and float(temperature) >= float(policy().fever_threshold_c)
        if feverish or symptoms.strip():
            do_identify(
                follow_up.person,
                Category.FEVER,
                user,
                source_kind=SourceKind.FOLLOW_UP,
                source_ref=f"follow_up:{follow_up.pk}",
                note=_("Follow-up: %(t)s °C %(s)s")
                % {"t": temperature if temperature is not None else "-", "s": symptoms},
            )
    return follow_up

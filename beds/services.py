"""Bed actions: facilities report their counts; a transfer reserves a bed; the person is admitted and
later discharged. Each locks the facility row (``select_for_update``) before it reads the counts, so
two plans racing for the last free bed serialise: the second finds none and gets
:class:`NoBedError`, never an over-full ward. Every change writes a :class:`beds.models.BedReport`.

Admission and discharge move the person's four-category state (cases.services.do_transition:
placed at the facility, then discharged or released), so the bed board and the register agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from beds.choices import AdmissionStatus, BedSource
from beds.models import BedReport, Facility, Stay


class BedError(ValueError):
    """A bed action refused as asked (the message is translated)."""


class NoBedError(BedError):
    """No free bed for the category at the facility (any more)."""


def _log(facility: Facility, source: str, user=None, note: str = "", at: dt.datetime | None = None) -> BedReport:
    now = timezone.now()
    facility.counts_at = at or now
    facility.save(update_fields=["beds_approved", "beds_open", "beds_occupied", "beds_reserved", "counts_at"])
    return BedReport.objects.create(
        facility=facility,
        at=at or now,
        recorded_at=now,
        source=source,
        beds_approved=facility.beds_approved,
        beds_open=facility.beds_open,
        beds_occupied=facility.beds_occupied,
        beds_reserved=facility.beds_reserved,
        user=user if getattr(user, "is_authenticated", False) else None,
        note=note[:300],
    )


def check_counts(approved: int, open_: int, occupied: int) -> None:
    """A facility's own report must make sense: no negative counts, no more open beds than approved,
    no more patients than open beds (a report saying so is refused with the reason)."""
    if min(approved, open_, occupied) < 0:
        raise BedError(_("Bed counts cannot be negative."))
    if occupied > approved:  # the named bad input: said first, in its own words
        raise BedError(
            _("More beds occupied (%(occupied)d) than approved (%(approved)d).")
            % {"occupied": occupied, "approved": approved}
        )
    if open_ > approved:
        raise BedError(
            _("More beds open (%(open)d) than approved (%(approved)d).") % {"open": open_, "approved": approved}
        )
    if occupied > open_:
        raise BedError(
            _("More beds occupied (%(occupied)d) than open (%(open)d).") % {"occupied": occupied, "open": open_}
        )


def do_report_counts(
    facility: Facility,
    *,
    approved: int,
    open_: int,
    occupied: int,
    source: str = BedSource.FACILITY,
    user=None,
    note: str = "",
    at: dt.datetime | None = None,
) -> BedReport:
    """The facility's own counts. Reservations stay as Linli holds them (they are transfers on the
    way, which the facility does not know about yet)."""
    check_counts(approved, open_, occupied)
    with transaction.atomic():
        locked = Facility.objects.select_for_update().get(pk=facility.pk)
        locked.beds_approved, locked.beds_open, locked.beds_occupied = approved, open_, occupied
        report = _log(locked, source, user, note, at)
    facility.refresh_from_db()
    return report


def do_reserve_bed(facility: Facility, person, category: str, *, reference: str = "") -> Stay:
    """Hold a free bed for ``person`` on their way (the facility row locked while it is counted)."""
    with transaction.atomic():
        locked = Facility.objects.select_for_update().get(pk=facility.pk)
        if not locked.accepts(category):
            raise BedError(_("%(facility)s does not take this category.") % {"facility": locked.name})
        if locked.beds_free <= 0:
            raise NoBedError(_("No free bed at %(facility)s.") % {"facility": locked.name})
        if Stay.objects.filter(person=person, status__in=(AdmissionStatus.RESERVED, AdmissionStatus.ADMITTED)).exists():
            raise BedError(_("This person already holds a bed."))
        locked.beds_reserved += 1
        _log(locked, BedSource.RESERVATION, note=reference)
        return Stay.objects.create(
            person=person,
            facility=locked,
            category=category,
            status=AdmissionStatus.RESERVED,
            reserved_at=timezone.now(),
            reference=reference[:64],
        )


def do_reserve_beds(
    facility: Facility, requests: Sequence[tuple[object, str, str]]
) -> tuple[list[Stay | None], list[int], list[int]]:
    """Hold beds at one facility for many people at once (a dispatch plan): one lock of the
    facility row, one history row, the stays written together. ``requests`` are (person, category,
    reference) in priority order; the first ones get the free beds. Returns the stays by request
    (None where refused), the requests refused for want of a bed (the plan chooses again for them)
    and those the facility cannot take at all (wrong category, a bed held already)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Facility.objects.select_for_update().get(pk=facility.pk)
        holding = set(
            Stay.objects.filter(
                person__in=[person for person, _c, _r in requests],
                status__in=(AdmissionStatus.RESERVED, AdmissionStatus.ADMITTED),
            ).values_list("person_id", flat=True)
        )
        free = locked.beds_free
        result: list[Stay | None] = [None] * len(requests)
        no_room: list[int] = []
        unfit: list[int] = []
        new: list[tuple[int, Stay]] = []
        for index, (person, category, reference) in enumerate(requests):
            if not locked.accepts(category) or person.pk in holding:
                unfit.append(index)
            elif len(new) >= free:
                no_room.append(index)
            else:
                stay = Stay(
                    person=person,
                    facility=locked,
                    category=category,
                    status=AdmissionStatus.RESERVED,
                    reserved_at=now,
                    reference=reference[:64],
                )
                new.append((index, stay))
        if new:
            Stay.objects.bulk_create([stay for _i, stay in new])
            locked.beds_reserved += len(new)
            _log(locked, BedSource.RESERVATION, note=_("%(n)d beds for a transport plan") % {"n": len(new)})
        for index, stay in new:
            result[index] = stay
    facility.refresh_from_db()
    return result, no_room, unfit


def do_release_bed(stay: Stay, note: str = "") -> Stay:
    """A reserved bed no longer needed (plan changed, transfer cancelled): back to free."""
    with transaction.atomic():
        locked_stay = Stay.objects.select_for_update().get(pk=stay.pk)
        if locked_stay.status != AdmissionStatus.RESERVED:
            return locked_stay
        facility = Facility.objects.select_for_update().get(pk=locked_stay.facility_id)
        facility.beds_reserved = max(facility.beds_reserved - 1, 0)
        _log(facility, BedSource.RELEASE, note=note)
        locked_stay.status = AdmissionStatus.CANCELLED
        locked_stay.save(update_fields=["status"])
    return locked_stay


def do_admit(stay: Stay, user=None, at: dt.datetime | None = None) -> Stay:
    """The person arrived: the reserved bed becomes occupied, and the register says placed there."""
    from cases.services import do_transition

    at = at or timezone.now()
    with transaction.atomic():
        locked_stay = Stay.objects.select_for_update().select_related("person").get(pk=stay.pk)
        if locked_stay.status != AdmissionStatus.RESERVED:
            raise BedError(_("Only a reserved bed can be taken up."))
        facility = Facility.objects.select_for_update().get(pk=locked_stay.facility_id)
        facility.beds_reserved = max(facility.beds_reserved - 1, 0)
        facility.beds_occupied += 1
        _log(facility, BedSource.ADMISSION, user, note=str(locked_stay.person_id), at=at)
        locked_stay.status, locked_stay.admitted_at = AdmissionStatus.ADMITTED, at
        locked_stay.save(update_fields=["status", "admitted_at"])
        do_transition(
            locked_stay.person,
            "placed",
            user,
            _("Admitted to %(facility)s") % {"facility": facility.name},
            placement_kind=facility.kind if facility.kind != "fever_clinic" else "",
            placement_name=facility.name,
        )
    return locked_stay


def do_admit_direct(
    facility: Facility,
    person,
    category: str,
    user=None,
    at: dt.datetime | None = None,
    *,
    basis: str = "",
    note: str = "",
    basis_case=None,
) -> Stay:
    """A walk-in: the person arrives without a reserved bed (a fever clinic's patient, a transfer
    that came on its own). A bed is reserved and taken up in one transaction, so a refusal at any
    step (no free bed, category not taken, a move the register does not allow, a decision without a
    legal basis) leaves nothing.

    A person not in any category yet, or whose last episode is closed, is first identified in
    ``category`` (the facility's staff decide it on arrival, so a member of staff gives its legal
    basis and note: cases.services.check_purpose); otherwise the register's category stands and the
    admission is one more move in it."""
    from cases.choices import CLOSED_STATES
    from cases.models import PersonStatus
    from cases.services import do_identify

    with transaction.atomic():
        status = PersonStatus.objects.filter(person=person).first()
        if status is None or status.state in CLOSED_STATES:
            staff = getattr(user, "is_authenticated", False)
            arrival = _("Walk-in at %(facility)s") % {"facility": facility.name}
            do_identify(
                person,
                category,
                user,
                # a member of staff's own note is required (an empty one is refused); set-up code
                # without a user keeps the arrival as the note
                f"{note.strip()} ({arrival})" if note.strip() else ("" if staff else arrival),
                basis=basis,
                basis_case=basis_case,
            )
        stay = do_reserve_bed(facility, person, category, reference="walk-in")
        return do_admit(stay, user, at)


def do_discharge(stay: Stay, user=None, at: dt.datetime | None = None, *, released: bool = False) -> Stay:
    """The person leaves: the bed is free again; the register says discharged (or released from
    observation, for contacts)."""
    from cases.services import do_transition

    at = at or timezone.now()
    with transaction.atomic():
        locked_stay = Stay.objects.select_for_update().select_related("person").get(pk=stay.pk)
        if locked_stay.status != AdmissionStatus.ADMITTED:
            raise BedError(_("Only an admitted person can be discharged."))
        facility = Facility.objects.select_for_update().get(pk=locked_stay.facility_id)
        facility.beds_occupied = max(facility.beds_occupied - 1, 0)
        _log(facility, BedSource.DISCHARGE, user, note=str(locked_stay.person_id), at=at)
        locked_stay.status, locked_stay.discharged_at = AdmissionStatus.DISCHARGED, at
        locked_stay.save(update_fields=["status", "discharged_at"])
        do_transition(locked_stay.person, "released" if released else "discharged", user, facility.name)
    return locked_stay

"""Which units and applications a user may see: staff through their jurisdiction (core.scoping),
unit contacts through their own units only (never through an assignment to the grid)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.scoping import jurisdiction_of
from reopening.models import ReopeningApplication, Unit, UnitContact, UnitReview


def visible_units(user) -> QuerySet[Unit]:
    """Units in the user's jurisdiction, plus the units the user is a contact of."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Unit.objects.none()
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return Unit.objects.all()
    condition = Q(pk__in=UnitContact.objects.filter(user=user).values("unit_id"))
    if not jurisdiction.is_empty():
        condition |= jurisdiction.q_for(Unit)
    return Unit.objects.filter(condition)


def is_contact(user, unit: Unit) -> bool:
    return UnitContact.objects.filter(user=user, unit=unit).exists()


def visible_applications(user) -> QuerySet[ReopeningApplication]:
    return ReopeningApplication.objects.filter(unit__in=visible_units(user))


def visible_reviews(user) -> QuerySet[UnitReview]:
    return UnitReview.objects.filter(unit__in=visible_units(user))

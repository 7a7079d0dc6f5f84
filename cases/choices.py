"""The four categories (四类人员), their states and placements: domain.md §3."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic infection")
    SUSPECTED = "suspected", _("Suspected")
    FEVER = "fever", _("Fever")
    CLOSE_CONTACT = "close_contact", _("Close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary contact")


# Which category wins when reports disagree; a weaker report never downgrades a stronger one.
RANK = {
    Category.CONFIRMED: 60,
    Category.ASYMPTOMATIC: 50,
    Category.SUSPECTED: 40,
    Category.FEVER: 30,
    Category.CLOSE_CONTACT: 20,
    Category.SECONDARY_CONTACT: 10,
}
COLOURS = {
    Category.CONFIRMED: "#b91c1c",
    Category.ASYMPTOMATIC: "#c2410c",
    Category.SUSPECTED: "#d97706",
    Category.FEVER: "#ca8a04",
    Category.CLOSE_CONTACT: "#7c3aed",
    Category.SECONDARY_CONTACT: "#2563eb",
}


class CaseState(models.TextChoices):
    IDENTIFIED = "identified", _("Identified")
    NOTIFIED = "notified", _("Notified")
    TRANSFERRED = "transferred", _("Transferred")
    PLACED = "placed", _("Placed")
    RELEASED = "released", _("Released")
    DISCHARGED = "discharged", _("Discharged")
    EXCLUDED = "excluded", _("Excluded")
    DIED = "died", _("Died")


# domain.md §3: identified → notified → transferred → placed → released/discharged, or excluded.
TRANSITIONS: dict[str, set[str]] = {
    CaseState.IDENTIFIED: {
        CaseState.NOTIFIED,
        CaseState.TRANSFERRED,
        CaseState.PLACED,
        CaseState.EXCLUDED,
        CaseState.DIED,
    },
    CaseState.NOTIFIED: {CaseState.TRANSFERRED, CaseState.PLACED, CaseState.EXCLUDED, CaseState.DIED},
    CaseState.TRANSFERRED: {CaseState.PLACED, CaseState.EXCLUDED, CaseState.DIED},
    CaseState.PLACED: {CaseState.RELEASED, CaseState.DISCHARGED, CaseState.EXCLUDED, CaseState.DIED},
    CaseState.RELEASED: set(),
    CaseState.DISCHARGED: set(),
    CaseState.EXCLUDED: set(),
    CaseState.DIED: set(),
}
CLOSED_STATES = {CaseState.RELEASED, CaseState.DISCHARGED, CaseState.EXCLUDED, CaseState.DIED}
UNDER_OBSERVATION = {CaseState.PLACED}


class PlacementKind(models.TextChoices):
    DESIGNATED_HOSPITAL = "designated_hospital", _("Designated hospital")
    SHELTER_HOSPITAL = "shelter_hospital", _("Shelter hospital (方舱)")
    CENTRAL_ISOLATION = "central_isolation", _("Central isolation (single room)")
    QUARANTINE_HOTEL = "quarantine_hotel", _("Central medical observation (hotel)")
    HOME = "home", _("Home observation")


# domain.md §3, placement column: where each category goes by default.
DEFAULT_PLACEMENT = {
    Category.CONFIRMED: PlacementKind.SHELTER_HOSPITAL,  # severe and critical: designated hospital
    Category.ASYMPTOMATIC: PlacementKind.CENTRAL_ISOLATION,
    Category.SUSPECTED: PlacementKind.CENTRAL_ISOLATION,  # home isolation not allowed
    Category.FEVER: PlacementKind.CENTRAL_ISOLATION,  # kept apart from suspected
    Category.CLOSE_CONTACT: PlacementKind.QUARANTINE_HOTEL,
    Category.SECONDARY_CONTACT: PlacementKind.HOME,
}


class EventOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    NOTED = "noted", _("Noted; a stronger category stands")
    STALE = "stale", _("Older than the current state; noted")
    CONFLICT = "conflict", _("Conflicts with the current state; queued for review")
    REFUSED = "refused", _("Not an allowed transition")


class SourceKind(models.TextChoices):
    FEED = "feed", _("Agency feed")
    STAFF = "staff", _("Staff decision")
    TRACING = "tracing", _("Contact tracing")
    FOLLOW_UP = "follow_up", _("Follow-up")
    SYSTEM = "system", _("System")

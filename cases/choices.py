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


class Basis(models.TextChoices):
    """The legal basis of a category decision (issue #11: purpose-bound red and yellow codes).

    Staff choose one of the bases the policy lists (``category_change_bases``: which categories each
    may justify); reports that carry their own source (feeds, tracing, follow-ups) record the basis
    their source implies. A code cannot turn red or yellow through the register without one."""

    LAB_REPORT = "lab_report", _("Laboratory report")
    CLINICAL_DIAGNOSIS = "clinical_diagnosis", _("Clinical diagnosis")
    CONTACT_OF_CASE = "contact_of_case", _("Epidemiological investigation: contact of a recorded case")
    CDC_NOTICE = "cdc_notice", _("Written notice from the CDC")
    FEVER_MEASURED = "fever_measured", _("Temperature measured at or above the fever threshold")
    # implied by a report's own source
    CASE_REPORT = "case_report", _("Case report from a hospital or the CDC")
    CLINIC_REPORT = "clinic_report", _("Report from a fever clinic")
    FOLLOW_UP_CHECK = "follow_up_check", _("Fever or symptoms at an observation check")
    AGENCY_REPORT = "agency_report", _("Report from an agency feed")


# A "contact of a case" must name one of these, recorded and not ruled out (excluded).
CASE_CATEGORIES = (Category.CONFIRMED, Category.ASYMPTOMATIC, Category.SUSPECTED)
# The basis a report with its own source implies, by the prefix of its source reference
# (feeds.importers and campaigns.results write these prefixes).
FEED_BASIS = {
    "case_reports": Basis.CASE_REPORT,
    "lab_results": Basis.LAB_REPORT,
    "tube": Basis.LAB_REPORT,
    "clinic_visits": Basis.CLINIC_REPORT,
}


def basis_label(key: str) -> str:
    """The basis in words (an unknown key as it is)."""
    try:
        return str(Basis(key).label)
    except ValueError:
        return key

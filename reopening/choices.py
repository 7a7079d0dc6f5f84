"""Choices of school and workplace reopening (issue #12 item 1): unit kinds and sectors, the unit's
and the application's statuses (each with a colour) and their allowed moves, checklist items."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    SCHOOL = "school", _("School")
    ENTERPRISE = "enterprise", _("Enterprise")


class Sector(models.TextChoices):
    """Enterprise sectors and school stages in one list: the resumption rates are read by sector."""

    MANUFACTURING = "manufacturing", _("Manufacturing")
    CONSTRUCTION = "construction", _("Construction")
    RETAIL = "retail", _("Retail")
    CATERING = "catering", _("Catering")
    LOGISTICS = "logistics", _("Logistics")
    SERVICES = "services", _("Services")
    FINANCE = "finance", _("Finance")
    OTHER = "other", _("Other")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    PRIMARY = "primary", _("Primary school")
    JUNIOR_SECONDARY = "junior_secondary", _("Junior secondary school")
    SENIOR_SECONDARY = "senior_secondary", _("Senior secondary school")
    VOCATIONAL = "vocational", _("Vocational school")
    HIGHER = "higher", _("Higher education")


SCHOOL_STAGES = (
    Sector.KINDERGARTEN,
    Sector.PRIMARY,
    Sector.JUNIOR_SECONDARY,
    Sector.SENIOR_SECONDARY,
    Sector.VOCATIONAL,
    Sector.HIGHER,
)
SECTORS_BY_KIND: dict[str, tuple[str, ...]] = {
    UnitKind.SCHOOL: tuple(s.value for s in SCHOOL_STAGES),
    UnitKind.ENTERPRISE: tuple(s.value for s in Sector if s not in SCHOOL_STAGES),
}


class UnitStatus(models.TextChoices):
    CLOSED = "closed", _("Closed")
    APPLYING = "applying", _("Applying to reopen")
    OPEN = "open", _("Open")
    SUSPENDED = "suspended", _("Suspended")

    @property
    def colour(self) -> str:
        return UNIT_COLOURS[self.value]


UNIT_COLOURS = {
    UnitStatus.CLOSED: "#64748b",
    UnitStatus.APPLYING: "#b45309",
    UnitStatus.OPEN: "#15803d",
    UnitStatus.SUSPENDED: "#b91c1c",
}

# The one table of a unit's moves inside Linli: an application moves a closed or suspended unit to
# applying; approval opens it, rejection or withdrawal puts it back; an outbreak review suspends it.
UNIT_TRANSITIONS: dict[str, frozenset[str]] = {
    UnitStatus.CLOSED: frozenset({UnitStatus.APPLYING}),
    UnitStatus.APPLYING: frozenset({UnitStatus.OPEN, UnitStatus.CLOSED, UnitStatus.SUSPENDED}),
    UnitStatus.OPEN: frozenset({UnitStatus.SUSPENDED}),
    UnitStatus.SUSPENDED: frozenset({UnitStatus.APPLYING}),
}
# Moves the ``unit_status`` import may record: decisions the education or economy bureau took before
# Linli kept the checklists (their published lists of units reopened, or suspended). Every other
# opening goes through an application and its checklist.
RECORDED_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {(UnitStatus.CLOSED, UnitStatus.OPEN), (UnitStatus.OPEN, UnitStatus.SUSPENDED)}
)


class StatusSource(models.TextChoices):
    """What moved a unit's status (kept on each history row)."""

    APPLICATION = "application", _("Application")
    REVIEW = "review", _("Outbreak review")
    IMPORT = "import", _("Recorded from the authority's list")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    INSPECTING = "inspecting", _("Being inspected")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")

    @property
    def colour(self) -> str:
        return APPLICATION_COLOURS[self.value]


APPLICATION_COLOURS = {
    ApplicationStatus.DRAFT: "#64748b",
    ApplicationStatus.SUBMITTED: "#0369a1",
    ApplicationStatus.INSPECTING: "#b45309",
    ApplicationStatus.APPROVED: "#15803d",
    ApplicationStatus.REJECTED: "#b91c1c",
    ApplicationStatus.WITHDRAWN: "#9ca3af",
}
APPLICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ApplicationStatus.DRAFT: frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN}),
    ApplicationStatus.SUBMITTED: frozenset({ApplicationStatus.INSPECTING, ApplicationStatus.WITHDRAWN}),
    ApplicationStatus.INSPECTING: frozenset(
        {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN}
    ),
    ApplicationStatus.APPROVED: frozenset(),
    ApplicationStatus.REJECTED: frozenset(),
    ApplicationStatus.WITHDRAWN: frozenset(),
}
ACTIVE_APPLICATION = (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED, ApplicationStatus.INSPECTING)
UNDER_REVIEW = (ApplicationStatus.SUBMITTED, ApplicationStatus.INSPECTING)


class Verdict(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")

    @property
    def colour(self) -> str:
        return {"pending": "#64748b", "approved": "#15803d", "rejected": "#b91c1c"}[self.value]


class ChecklistItem(models.TextChoices):
    """Every item a reopening checklist may name; the policy (``reopening_checklists``) picks them."""

    # issue #12, schools: 一校一策 — one plan per school covering these four
    SUPPLIES = "supplies", _("Prevention supplies in stock")
    SCREENING = "screening", _("Health screening of staff and pupils")
    PROCEDURES = "procedures", _("Prevention procedures and emergency plan")
    DISINFECTION = "disinfection", _("Disinfection of premises")
    # enterprises: the State Council joint prevention mechanism's guidance on resuming work (Feb 2020)
    STAFF_HEALTH_LEDGER = "staff_health_ledger", _("Staff health ledger")
    TEMPERATURE_CHECKS = "temperature_checks", _("Temperature checks at the entrance")
    VENTILATION_DISINFECTION = "ventilation_disinfection", _("Ventilation and disinfection of workplaces")
    CANTEEN_STAGGERED = "canteen_staggered", _("Staggered, spaced canteen meals")
    ISOLATION_ROOM = "isolation_room", _("Temporary isolation room")
    EMERGENCY_PLAN = "emergency_plan", _("Emergency plan for a suspected case")


class ReviewDecision(models.TextChoices):
    PENDING = "pending", _("To review")
    KEPT_OPEN = "kept_open", _("Kept open")
    SUSPENDED = "suspended", _("Suspended")

    @property
    def colour(self) -> str:
        return {"pending": "#b45309", "kept_open": "#15803d", "suspended": "#b91c1c"}[self.value]


class EvidenceType(models.TextChoices):
    JPEG = "image/jpeg", _("JPEG photo")
    PNG = "image/png", _("PNG image")
    PDF = "application/pdf", _("PDF document")


class RateLevel(models.TextChoices):
    """How the resumption rates are grouped."""

    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    SECTOR = "sector", _("Sector")

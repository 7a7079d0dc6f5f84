"""Choices of facilities and beds (domain.md §3: where each of the four categories is placed)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FacilityKind(models.TextChoices):
    DESIGNATED_HOSPITAL = "designated_hospital", _("Designated hospital")
    SHELTER_HOSPITAL = "shelter_hospital", _("Shelter hospital (方舱)")
    CENTRAL_ISOLATION = "central_isolation", _("Central isolation (single rooms)")
    QUARANTINE_HOTEL = "quarantine_hotel", _("Quarantine hotel (central medical observation)")
    FEVER_CLINIC = "fever_clinic", _("Fever clinic")


# domain.md §3: who each kind takes by default (a facility's own list may narrow or widen it)
DEFAULT_CATEGORIES = {
    FacilityKind.DESIGNATED_HOSPITAL: ("confirmed", "asymptomatic"),
    FacilityKind.SHELTER_HOSPITAL: ("confirmed", "asymptomatic"),
    FacilityKind.CENTRAL_ISOLATION: ("suspected", "fever"),
    FacilityKind.QUARANTINE_HOTEL: ("close_contact", "secondary_contact"),
    FacilityKind.FEVER_CLINIC: ("fever", "suspected"),
}


class BedSource(models.TextChoices):
    """Where a change of a facility's bed counts came from."""

    FACILITY = "facility", _("Reported by the facility")
    IMPORT = "import", _("File import")
    API = "api", _("API")
    ADMISSION = "admission", _("Admission")
    DISCHARGE = "discharge", _("Discharge")
    RESERVATION = "reservation", _("Reservation for a transfer")
    RELEASE = "release", _("Reservation released")


class AdmissionStatus(models.TextChoices):
    RESERVED = "reserved", _("Bed reserved")
    ADMITTED = "admitted", _("Admitted")
    DISCHARGED = "discharged", _("Discharged")
    CANCELLED = "cancelled", _("Cancelled")

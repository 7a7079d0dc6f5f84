"""Choices of the geo app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DivisionLevel(models.TextChoices):
    """Administrative levels with a statistical code (domain.md §1); order is top-down."""

    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")
    COMMUNITY = "community", _("Community")
    GRID = "grid", _("Grid")


LEVEL_ORDER = [level.value for level in DivisionLevel]
CHILD_LEVEL = dict(zip(LEVEL_ORDER, [*LEVEL_ORDER[1:], None], strict=True))
# digits of the code that identify each level (domain.md §1: 6 county + 3 street + 3 community, +3 grid)
CODE_LENGTH = {"city": 12, "district": 12, "street": 12, "community": 12, "grid": 15}


class VenueKind(models.TextChoices):
    MARKET = "market", _("Market")
    SUPERMARKET = "supermarket", _("Supermarket")
    RESTAURANT = "restaurant", _("Restaurant")
    HOSPITAL = "hospital", _("Hospital")
    PHARMACY = "pharmacy", _("Pharmacy")
    SCHOOL = "school", _("School")
    WORKPLACE = "workplace", _("Workplace")
    TRANSIT = "transit", _("Transit")
    GATE = "gate", _("Gate")
    OTHER = "other", _("Other")


# contracts.md, Presence at a venue: default stay by venue kind, in minutes.
DEFAULT_DWELL_MINUTES = {
    "market": 60,
    "supermarket": 30,
    "restaurant": 60,
    "hospital": 120,
    "pharmacy": 10,
    "school": 480,
    "workplace": 480,
    "transit": 30,
    "other": 30,
    "gate": 0,
}

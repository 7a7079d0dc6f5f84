"""Choices of the supply reserves: the tiers a reserve is kept at, item categories, movement kinds."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DepotTier(models.TextChoices):
    """The tiers of the reserve lists (issue #8 item 4: city, district, hospital, community), top-down."""

    CITY = "city", _("City reserve")
    DISTRICT = "district", _("District reserve")
    HOSPITAL = "hospital", _("Hospital reserve")
    COMMUNITY = "community", _("Community reserve")


TIER_ORDER = [tier.value for tier in DepotTier]
# the division level each area tier sits at (a hospital depot sits at a beds.Facility instead)
TIER_LEVEL = {DepotTier.CITY: "city", DepotTier.DISTRICT: "district", DepotTier.COMMUNITY: "community"}


class ItemCategory(models.TextChoices):
    MASK = "mask", _("Masks")
    PROTECTIVE_SUIT = "protective_suit", _("Protective suits")
    EYE_PROTECTION = "eye_protection", _("Goggles and face shields")
    GLOVES = "gloves", _("Gloves")
    DISINFECTANT = "disinfectant", _("Disinfectant")
    THERMOMETER = "thermometer", _("Thermometers")
    OXYGEN = "oxygen", _("Oxygen equipment")
    TEST_KIT = "test_kit", _("Test kits")
    OTHER = "other", _("Other")


class MovementKind(models.TextChoices):
    """What moved stock: in from outside, out to use, between depots (a pair), or a count."""

    RECEIPT = "receipt", _("Receipt")
    ISSUE = "issue", _("Issue")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    ADJUSTMENT = "adjustment", _("Count adjustment")


# the kinds a person records directly on one depot (transfers go through do_transfer)
SINGLE_KINDS = (MovementKind.RECEIPT, MovementKind.ISSUE, MovementKind.ADJUSTMENT)

"""Risk levels, the rules that rate them and where a level change came from: domain.md §5."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RiskLevel(models.TextChoices):
    # 低/中/高风险 come from the zh-Hans catalogue.
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


LEVEL_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}
LEVEL_COLOURS = {RiskLevel.LOW: "#15803d", RiskLevel.MEDIUM: "#d97706", RiskLevel.HIGH: "#b91c1c"}
UNRATED_COLOUR = "#94a3b8"


class NodeLevel(models.TextChoices):
    """The kind of node an area is drawn at: fine (building, compound) or county-rule (community, district)."""

    BUILDING = "building", _("Building")
    COMPOUND = "compound", _("Compound")
    COMMUNITY = "community", _("Community")
    DISTRICT = "district", _("District")


FINE_LEVELS = (NodeLevel.BUILDING, NodeLevel.COMPOUND)
COUNTY_LEVELS = (NodeLevel.COMMUNITY, NodeLevel.DISTRICT)


class RiskRule(models.TextChoices):
    FINE = "fine", _("9th edition: compound or building (2022)")
    COUNTY = "county", _("2020 county rule (17 Feb 2020)")


class RiskChangeSource(models.TextChoices):
    RECOMPUTE = "recompute", _("Recomputed from cases")
    CASE = "case", _("Raised on a confirmed case")
    MANUAL = "manual", _("Set by hand")

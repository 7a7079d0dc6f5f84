"""Risk areas (domain.md §5): the level each rated node has now, and the full history of its changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import TimeStampedModel, exactly_one_of
from risk.choices import LEVEL_COLOURS, NodeLevel, RiskChangeSource, RiskLevel, RiskRule


def _place(to: str, verbose_name) -> models.ForeignKey:
    """A denormalised ancestor for one-column scoping (core.scoping), kept right by risk.services."""
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        verbose_name=verbose_name,
    )


class RiskArea(TimeStampedModel):
    """One node rated for risk: a building or compound (9th-edition fine rule) or a community or
    district (2020 county rule). A row exists for every node that has had a case (or a manual
    rating); a node without a row has had no case and is low risk.

    Not a ChangeLoggedModel: :class:`RiskLevelChange` is the history of every level change (like
    cases.CategoryEvent), and the recompute updates rows in bulk.
    """

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "in_compound_id",
        "building": "building_id",
    }

    node_level = models.CharField(_("level of node"), max_length=16, choices=NodeLevel.choices, db_index=True)
    building = models.ForeignKey(
        "geo.Building", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("building")
    )
    compound = models.ForeignKey(
        "geo.Compound", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    division = models.ForeignKey(
        "geo.Division",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("community or district"),
    )
    level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, db_index=True)
    since = models.DateTimeField(_("at this level since"))
    last_case_at = models.DateTimeField(_("last case identified"), null=True, blank=True)
    cases_in_window = models.IntegerField(
        _("cases in the window"),
        default=0,
        help_text=_("Cases identified within the last risk_county_window_days days (policy), at every level"),
    )
    cumulative_cases = models.IntegerField(_("cases in all"), default=0)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    rule = models.CharField(_("rule"), max_length=8, choices=RiskRule.choices)
    # A level set by hand holds while no new case arrives, until its own downgrade days pass
    # (risk.rules.manual_hold); these are cleared when the automatic rating governs again.
    manual_level = models.CharField(_("level set by hand"), max_length=8, choices=RiskLevel.choices, blank=True)
    manual_at = models.DateTimeField(_("set by hand at"), null=True, blank=True)
    manual_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manual_reason = models.CharField(_("why set by hand"), max_length=300, blank=True)
    # scope columns: the ancestors of the node (and the node itself for communities and districts)
    district = _place("geo.Division", _("district"))
    street = _place("geo.Division", _("street"))
    community = _place("geo.Division", _("community"))
    grid = _place("geo.Division", _("grid"))
    in_compound = _place("geo.Compound", _("in compound"))

    class Meta:
        verbose_name = _("risk area")
        verbose_name_plural = _("risk areas")
        ordering = ["node_level", "id"]
        permissions = [("set_risk_level", _("Set an area's risk level by hand"))]
        constraints = [
            models.CheckConstraint(
                condition=exactly_one_of("building", "compound", "division"), name="riskarea_exactly_one_node"
            ),
            models.UniqueConstraint(fields=["building"], name="riskarea_one_per_building"),
            models.UniqueConstraint(fields=["compound"], name="riskarea_one_per_compound"),
            models.UniqueConstraint(fields=["division"], name="riskarea_one_per_division"),
        ]

    def __str__(self) -> str:
        return f"{self.node_level} {self.node_id}: {self.level}"

    @property
    def node_id(self) -> int:
        return self.building_id or self.compound_id or self.division_id

    @property
    def node(self):
        return self.building or self.compound or self.division

    @property
    def colour(self) -> str:
        return LEVEL_COLOURS.get(self.level, "#475569")

    @property
    def node_url(self) -> str:
        from django.urls import reverse

        if self.building_id:
            return reverse("geo:building", args=[self.building_id])
        if self.compound_id:
            return reverse("geo:compound", args=[self.compound_id])
        return reverse("geo:division", args=[self.division_id])


class RiskLevelChange(models.Model):
    """One change of an area's level (or a staff decision on it), with why, who and under which policy."""

    area = models.ForeignKey(RiskArea, on_delete=models.CASCADE, related_name="changes", verbose_name=_("area"))
    from_level = models.CharField(
        pgettext_lazy("risk level", "from"),
        max_length=8,
        choices=RiskLevel.choices,
        blank=True,
        help_text=_("Blank: not rated before"),
    )
    to_level = models.CharField(pgettext_lazy("risk level", "to"), max_length=8, choices=RiskLevel.choices)
    at = models.DateTimeField(_("at"), db_index=True)
    reason = models.CharField(_("why"), max_length=300)
    source = models.CharField(_("source"), max_length=12, choices=RiskChangeSource.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Blank for automatic changes"),
    )
    policy_version = models.IntegerField(_("policy version"), null=True, blank=True)

    class Meta:
        verbose_name = _("risk level change")
        verbose_name_plural = _("risk level history")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} area {self.area_id}: {self.from_level or '-'} → {self.to_level}"

    @property
    def colour(self) -> str:
        return LEVEL_COLOURS.get(self.to_level, "#475569")

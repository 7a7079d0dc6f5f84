"""Residents and their key-group memberships (台账)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import ChangeLoggedModel, TimeStampedModel
from people.choices import KeyGroup, KeyGroupSource, ResidenceType, Sex
from people.identity import mask_id_number, mask_phone


class Resident(ChangeLoggedModel):
    """A person registered in the population base, placed in a household."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "building_id",
    }

    id_number = models.CharField(_("identity number"), max_length=18, unique=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=60, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    residence_type = models.CharField(_("residence type"), max_length=16, choices=ResidenceType.choices, blank=True)
    household = models.ForeignKey(
        "geo.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("household"),
    )
    building = models.ForeignKey(
        "geo.Building",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("building"),
    )
    compound = models.ForeignKey(
        "geo.Compound",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("compound"),
    )
    grid = models.ForeignKey(
        "geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("grid")
    )
    community = models.ForeignKey(
        "geo.Division",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("community"),
    )
    street = models.ForeignKey(
        "geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("street")
    )
    district = models.ForeignKey(
        "geo.Division",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("district"),
    )
    tags = models.CharField(_("tags"), max_length=120, blank=True, help_text=_("As last imported, ';'-separated"))
    source_batch = models.ForeignKey(
        "core.ImportBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by import"),
    )

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["id"]
        permissions = [("view_full_identity", _("View full identity numbers and phone numbers"))]

    def __str__(self) -> str:
        return f"{self.name} {self.masked_id_number}"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def tag_list(self) -> list[str]:
        labels = dict(KeyGroup.choices)
        return [str(labels.get(t, t)) for t in self.tags.split(";") if t]

    def age_on(self, day) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def fill_ancestors(self) -> None:
        """Place the resident under the household's building and its ancestors."""
        if self.household_id:
            self.building_id = self.household.building_id
        if self.building_id:
            b = self.building
            self.compound_id, self.grid_id, self.community_id, self.street_id, self.district_id = (
                b.compound_id,
                b.grid_id,
                b.community_id,
                b.street_id,
                b.district_id,
            )


class KeyGroupMembership(TimeStampedModel):
    """A resident's place on a key-group ledger, with where it came from."""

    scope_fields = Resident.scope_fields

    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="key_groups", verbose_name=_("resident")
    )
    group = models.CharField(_("group"), max_length=16, choices=KeyGroup.choices)
    source = models.CharField(_("source"), max_length=16, choices=KeyGroupSource.choices)
    since = models.DateField(_("since"), null=True, blank=True)
    # ancestors copied from the resident, so ledgers filter and count without a join
    building = models.ForeignKey("geo.Building", null=True, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey("geo.Compound", null=True, on_delete=models.CASCADE, related_name="+")
    grid = models.ForeignKey("geo.Division", null=True, on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey("geo.Division", null=True, on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey("geo.Division", null=True, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey("geo.Division", null=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("key-group membership")
        verbose_name_plural = _("key-group memberships")
        constraints = [
            models.UniqueConstraint(fields=["resident", "group", "source"], name="keygroup_unique_per_source")
        ]
        indexes = [models.Index(fields=["group", "community"], name="keygroup_group_community")]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.group} ({self.source})"


class NodeCount(models.Model):
    """Residents, households and key-group counts of one node, for the drill-down (people.rollup)."""

    level = models.CharField(max_length=16)
    node_id = models.BigIntegerField()
    residents = models.IntegerField(default=0)
    households = models.IntegerField(default=0)
    elderly_alone = models.IntegerField(default=0)
    chronic = models.IntegerField(default=0)
    pregnant = models.IntegerField(default=0)
    disabled = models.IntegerField(default=0)
    low_income = models.IntegerField(default=0)
    child = models.IntegerField(default=0)
    special_care = models.IntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "node_id"], name="nodecount_unique_node")]

    def __str__(self) -> str:
        return f"{self.level}#{self.node_id}: {self.residents}"

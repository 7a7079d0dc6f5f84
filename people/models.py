"""Residents and their key-group memberships (台账)."""

from __future__ import annotations

import functools

from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import ChangeLoggedModel, TimeStampedModel
from people.choices import KeyGroup, KeyGroupSource, ResidenceType, Sex
from people.identity import mask_id_number, mask_name, mask_phone


@functools.lru_cache(maxsize=8)
def _group_labels(language: str | None) -> dict[str, str]:
    """Key-group labels in one language, built once (lists render hundreds of residents)."""
    with translation.override(language):
        return {value: str(label) for value, label in KeyGroup.choices}


def _place_column(to: str, verbose_name):
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        verbose_name=verbose_name,
    )


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

    id_number = models.CharField(_("identity number"), max_length=18, unique=True, null=True, blank=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=60, db_index=True)
    name_pinyin = models.CharField(_("name in pinyin"), max_length=120, blank=True)
    registered = models.BooleanField(
        _("in the population register"),
        default=True,
        help_text=_("False for a person first seen in an agency feed and not found in the register"),
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("merged into")
    )
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
    # The place, copied from the household for one-column scoping (core.scoping). These are caches the
    # import and fill_ancestors keep right, so they carry no database constraint: checking six foreign
    # keys per row made a million-row import spend minutes in deferred checks at commit.
    building = _place_column("geo.Building", _("building"))
    compound = _place_column("geo.Compound", _("compound"))
    grid = _place_column("geo.Division", _("grid"))
    community = _place_column("geo.Division", _("community"))
    street = _place_column("geo.Division", _("street"))
    district = _place_column("geo.Division", _("district"))
    tags = models.CharField(_("tags"), max_length=120, blank=True, help_text=_("As last imported, ';'-separated"))
    source_batch = models.ForeignKey(
        "core.ImportBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,  # an audit pointer; import batches are never deleted
        db_index=False,
        verbose_name=_("created by import"),
    )

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["id"]
        permissions = [
            ("view_full_identity", _("View full identity numbers and phone numbers")),
            ("merge_persons", _("Review possible matches, merge and split person records")),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.masked_id_number}"

    def save(self, *args, **kwargs):
        from people.pinyin import name_pinyin

        self.name_pinyin = name_pinyin(self.name)
        super().save(*args, **kwargs)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def tag_list(self) -> list[str]:
        labels = _group_labels(translation.get_language())
        return [labels.get(t, t) for t in self.tags.split(";") if t]

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


def _place(to: str = "geo.Division"):
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )


PLACE_COLUMNS = ("district_id", "street_id", "community_id", "grid_id", "compound_id", "building_id")


class PlacedByPerson(models.Model):
    """Copies a person's place so that lists about people are scoped and counted without a join."""

    scope_fields = Resident.scope_fields

    district = _place()
    street = _place()
    community = _place()
    grid = _place()
    compound = _place("geo.Compound")
    building = _place("geo.Building")

    class Meta:
        abstract = True

    def copy_place(self, person: Resident) -> None:
        for column in PLACE_COLUMNS:
            setattr(self, column, getattr(person, column))


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
    building = _place("geo.Building")
    compound = _place("geo.Compound")
    grid = _place("geo.Division")
    community = _place("geo.Division")
    street = _place("geo.Division")
    district = _place("geo.Division")

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


class LinkCandidateStatus(models.TextChoices):
    OPEN = "open", _("Waiting for review")
    ACCEPTED = "accepted", _("Same person: merged")
    REJECTED = "rejected", _("Different people")


class LinkCandidate(PlacedByPerson):
    """A possible match between a person first seen in a feed and a registered resident, for review.

    The feed's person was kept as an unregistered person so nothing waits on the review; accepting
    merges them into the resident (reversible), rejecting keeps them apart.
    """

    new_person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="link_candidates")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(_("match probability"))
    weight = models.FloatField(_("match weight"))
    evidence = models.JSONField(_("evidence"), default=dict)
    source = models.CharField(_("from"), max_length=120, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=LinkCandidateStatus.choices, default=LinkCandidateStatus.OPEN
    )
    decided_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("possible match")
        verbose_name_plural = _("person review queue")
        ordering = ["-probability"]
        constraints = [models.UniqueConstraint(fields=["new_person", "resident"], name="link_candidate_unique_pair")]

    def __str__(self) -> str:
        return f"{self.new_person_id} ~ {self.resident_id} ({self.probability:.3f})"


class PersonMerge(models.Model):
    """A merge of one person record into another, with what moved, so that it can be undone (split)."""

    source = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    moved = models.JSONField(_("moved rows"), default=dict)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    merged_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    merged_at = models.DateTimeField(default=timezone.now)
    undone_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("person merge")
        verbose_name_plural = _("person merges")
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}"

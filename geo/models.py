"""The grid: divisions (city → grid), compounds, buildings, households, venues, and 包保 assignments.

Every row below the city carries its ancestors (district, street, community, grid, …) as real
foreign keys, so that scoping a query to a jurisdiction is one indexed filter (core.scoping).
They are set in one place: :meth:`Division.fill_ancestors` and the ``fill_ancestors`` of the others,
and in the set-based import SQL (geo.importers).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import StaffRole
from core.models import ChangeLoggedModel, TimeStampedModel, exactly_one_of
from geo.choices import DEFAULT_DWELL_MINUTES, LEVEL_ORDER, DivisionLevel, VenueKind


def ancestor_column(verbose: str, to: str = "geo.Division") -> models.ForeignKey:
    """A denormalised ancestor: a cache kept right by fill_ancestors and the import SQL, so it carries
    no database constraint (checking it per row is what made bulk imports slow at commit)."""
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        verbose_name=verbose,
    )


class Division(ChangeLoggedModel):
    """A city, district, street, community or grid, identified by its statistical code."""

    scope_fields = {"division": "id", "district": "district_id", "street": "street_id", "community": "community_id"}

    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=DivisionLevel.choices, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="division_name_unique_in_parent")]

    def __str__(self) -> str:
        return self.name

    def fill_ancestors(self) -> None:
        parent = self.parent
        self.district_id = self.street_id = self.community_id = None
        if parent is None:
            return
        self.district_id = parent.district_id
        self.street_id = parent.street_id
        self.community_id = parent.community_id
        if parent.level in {"district", "street", "community"}:
            setattr(self, f"{parent.level}_id", parent.pk)

    def ancestors(self) -> list[Division]:
        """City first, down to the parent, in one query through the denormalised ancestors."""
        if self.parent_id is None:
            return []
        ids = {i for i in (self.district_id, self.street_id, self.community_id, self.parent_id) if i}
        nodes = Division.objects.filter(models.Q(pk__in=ids) | models.Q(level=DivisionLevel.CITY))
        return sorted(nodes, key=lambda d: LEVEL_ORDER.index(d.level))


class Compound(ChangeLoggedModel):
    """A residential compound (小区), inside one grid."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "id",
    }

    code = models.CharField(_("compound code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    grid = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="compounds", verbose_name=_("grid"))
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    property_managed = models.BooleanField(_("property management"), null=True, blank=True)
    built_year = models.SmallIntegerField(_("built in"), null=True, blank=True)

    class Meta:
        verbose_name = _("compound")
        verbose_name_plural = _("compounds")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["grid", "name"], name="compound_name_unique_in_grid")]

    def __str__(self) -> str:
        return self.name

    def fill_ancestors(self) -> None:
        self.district_id, self.street_id, self.community_id = (
            self.grid.district_id,
            self.grid.street_id,
            self.grid.community_id,
        )


class Building(ChangeLoggedModel):
    """A building (楼栋) of a compound."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "id",
    }

    code = models.CharField(_("building code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("compound")
    )
    units = models.SmallIntegerField(_("units"), null=True, blank=True)
    floors = models.SmallIntegerField(_("floors"), null=True, blank=True)
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    grid = ancestor_column(_("grid"))

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="building_name_unique_in_compound")]

    def __str__(self) -> str:
        return f"{self.compound.name} {self.name}"

    def fill_ancestors(self) -> None:
        c = self.compound
        self.district_id, self.street_id, self.community_id, self.grid_id = (
            c.district_id,
            c.street_id,
            c.community_id,
            c.grid_id,
        )


class Household(TimeStampedModel):
    """A dwelling: one room of one unit of a building (domain.md §4, 'same household')."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "building_id",
    }

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="households", verbose_name=_("building")
    )
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    room = models.CharField(_("room"), max_length=16, blank=True)
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    grid = ancestor_column(_("grid"))
    compound = ancestor_column(_("compound"), to="geo.Compound")

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["building_id", "unit", "room"]
        constraints = [models.UniqueConstraint(fields=["building", "unit", "room"], name="household_unique_dwelling")]

    def __str__(self) -> str:
        unit = _("unit %(unit)s") % {"unit": self.unit} if self.unit else ""
        return f"{self.building} {unit} {self.room}".strip()


class Venue(ChangeLoggedModel):
    """A place with a place code (场所码) where people scan in: markets, shops, schools, gates, …"""

    scope_fields = {"district": "district_id", "street": "street_id", "community": "community_id", "grid": "grid_id"}

    code = models.CharField(_("venue code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=VenueKind.choices)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    grid = ancestor_column(_("grid"))
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    dwell_minutes = models.SmallIntegerField(_("default stay (minutes)"), null=True, blank=True)

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_dwell_minutes(self) -> int:
        """contracts.md, Presence at a venue: the venue's own figure, else the default by kind."""
        if self.dwell_minutes is not None:
            return self.dwell_minutes
        return DEFAULT_DWELL_MINUTES.get(self.kind, 30)


class Assignment(TimeStampedModel):
    """A staff member answerable for (包保) or working at one node of the hierarchy.

    The node is a division (any level), a compound or a building. A user's assignments are their
    jurisdiction (core.scoping); the primary ones are who answers for the node (geo.services).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("staff")
    )
    role = models.CharField(_("role"), max_length=24, choices=StaffRole.choices)
    division = models.ForeignKey(
        Division,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("division"),
    )
    compound = models.ForeignKey(
        Compound,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("compound"),
    )
    building = models.ForeignKey(
        Building,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("building"),
    )
    is_answerable = models.BooleanField(_("answerable (包保)"), default=True)
    starts_on = models.DateField(_("from"), default=timezone.localdate)
    ends_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.CheckConstraint(
                condition=exactly_one_of("division", "compound", "building"),
                name="assignment_exactly_one_node",
            )
        ]
        indexes = [models.Index(fields=["user", "ends_on"], name="assignment_user_active")]

    def __str__(self) -> str:
        return f"{self.user} → {self.node} ({self.get_role_display()})"

    @property
    def node(self):
        return self.division or self.compound or self.building

    @property
    def node_kind(self) -> str:
        if self.division_id:
            return self.division.level
        return "compound" if self.compound_id else "building"

    def clean(self) -> None:
        if sum(x is not None for x in (self.division_id, self.compound_id, self.building_id)) != 1:
            raise ValidationError(_("An assignment names exactly one division, compound or building."))

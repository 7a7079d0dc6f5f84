"""Medical-supply reserves kept by tier (issue #8 item 4): depots, the item catalogue, each depot's
stock of each item against its minimum level, and every movement (the stock history).

:class:`Stock` is the current balance; it changes only through supplies.services, which write a
:class:`Movement` in the same transaction with the stock row locked, so the history always adds up
to the balance. A depot carries its area's district, street and community (set in
:meth:`Depot.fill_place`), so scoping it to a jurisdiction is one filter (core.scoping).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel
from geo.models import ancestor_column
from supplies.choices import DepotTier, ItemCategory, MovementKind


class Item(ChangeLoggedModel):
    """One line of the reserve list: an item counted in a fixed unit (box of 50, piece, bottle …)."""

    code = models.CharField(_("item code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=24)
    category = models.CharField(_("category"), max_length=24, choices=ItemCategory.choices)

    class Meta:
        verbose_name = _("supply item")
        verbose_name_plural = _("supply items")
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"


class Depot(ChangeLoggedModel):
    """A place a reserve is kept: the city's, a district's or a community's (a geo.Division), or a
    hospital's (a beds.Facility)."""

    # a city depot has no district: only whole-city users see it
    scope_fields = {"district": "district_id", "street": "street_id", "community": "community_id"}

    name = models.CharField(_("name"), max_length=120)
    tier = models.CharField(_("tier"), max_length=16, choices=DepotTier.choices)
    division = models.ForeignKey(
        "geo.Division",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supply_depots",
        verbose_name=_("area"),
    )
    facility = models.ForeignKey(
        "beds.Facility",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supply_depots",
        verbose_name=_("facility"),
    )
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("supply depot")
        verbose_name_plural = _("supply depots")
        ordering = ["tier", "name"]
        constraints = [
            # a hospital depot is at a facility, the others at an area
            models.CheckConstraint(
                condition=(
                    models.Q(tier=DepotTier.HOSPITAL, facility__isnull=False, division__isnull=True)
                    | (~models.Q(tier=DepotTier.HOSPITAL) & models.Q(facility__isnull=True, division__isnull=False))
                ),
                name="depot_area_or_facility",
            ),
        ]
        indexes = [
            models.Index(fields=["district"], name="depot_district"),
            models.Index(fields=["street"], name="depot_street"),
            models.Index(fields=["community"], name="depot_community"),
        ]
        permissions = [("manage_supplies", _("Record receipts, issues and transfers of reserves"))]

    def __str__(self) -> str:
        return self.name

    def fill_place(self) -> None:
        """Copy the area's district, street and community (the one place they are set)."""
        self.district_id = self.street_id = self.community_id = None
        if self.facility_id is not None:
            self.district_id = self.facility.district_id
            return
        area = self.division
        if area is None:
            return
        self.district_id, self.street_id, self.community_id = area.district_id, area.street_id, area.community_id
        if area.level in ("district", "street", "community"):
            setattr(self, f"{area.level}_id", area.pk)

    @property
    def subject(self):
        """What a restock task is about: the hospital, or the area itself."""
        return self.facility if self.facility_id is not None else self.division


class Stock(models.Model):
    """One item at one depot: what is there and the least there should be."""

    scope_fields = {kind: f"depot__{column}" for kind, column in Depot.scope_fields.items()}

    depot = models.ForeignKey(Depot, on_delete=models.CASCADE, related_name="stocks", verbose_name=_("depot"))
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="stocks", verbose_name=_("item"))
    quantity = models.IntegerField(_("quantity"), default=0)
    minimum = models.PositiveIntegerField(_("minimum level"), default=0)
    # the restock task of the latest shortfall episode (open while the shortfall lasts)
    shortfall_task = models.ForeignKey(
        "tasks.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("restock task"),
    )
    shortfall_episodes = models.PositiveIntegerField(_("shortfall episodes"), default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stocks")
        ordering = ["depot", "item"]
        constraints = [
            models.UniqueConstraint(fields=["depot", "item"], name="stock_one_per_depot_item"),
            # issue #8 bad input: negative stock is refused by supplies.services; the database agrees
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="stock_quantity_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.depot_id}/{self.item_id}: {self.quantity}"

    @property
    def shortfall(self) -> int:
        return max(self.minimum - self.quantity, 0)

    @property
    def is_short(self) -> bool:
        return self.quantity < self.minimum


class Movement(models.Model):
    """One change of one stock, with the balance after it: the stock history and the ledger."""

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="movements", verbose_name=_("stock"))
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    change = models.IntegerField(_("change"))  # signed: + in, - out
    balance = models.IntegerField(_("balance after"))
    at = models.DateTimeField(_("date"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True)  # delivery note, order, count sheet
    note = models.CharField(_("note"), max_length=300, blank=True)
    # the other half of a transfer (out ↔ in)
    counterpart = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("other half")
    )

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["stock", "at"], name="movement_stock_at")]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="movement_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.change:+d} → {self.balance}"

"""Key-group care: visits to residents on the care ledgers, and group orders (团购) of food and
medicine for the households of a building, with their per-household lines and delivery outcomes.

There is no per-person schedule table: when a visit is next due is derived from the last visit and
the memberships (care.visits), so nothing has to be kept in step with the ledgers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.choices import (
    ORDER_STATUS_COLOURS,
    WELLBEING_COLOURS,
    DeliveryOutcome,
    Need,
    OrderKind,
    OrderStatus,
    VisitKind,
    Wellbeing,
)
from core.models import ChangeLoggedModel
from geo.models import ancestor_column
from people.models import PlacedByPerson, Resident

NEEDS_SEPARATOR = ";"


class CareVisit(PlacedByPerson):
    """One visit (at home, by phone or video) to a resident on a care ledger: how they were, what
    they need. Recording one closes the resident's open care_visit task."""

    resident = models.ForeignKey(
        "people.Resident", on_delete=models.CASCADE, related_name="care_visits", verbose_name=_("resident")
    )
    visited_at = models.DateTimeField(_("visited at"), default=timezone.now)
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("visited by"),
    )
    kind = models.CharField(_("kind of visit"), max_length=8, choices=VisitKind.choices, default=VisitKind.HOME)
    wellbeing = models.CharField(_("how they were"), max_length=12, choices=Wellbeing.choices)
    # the codes of Need, ';'-separated in choice order (like Resident.tags): shown on the ledgers as is
    needs = models.CharField(_("needs"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("task")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("care visit")
        verbose_name_plural = _("care visits")
        ordering = ["-visited_at", "-id"]
        indexes = [
            # the last visit of a resident (ledgers, schedule)
            models.Index(fields=["resident", "visited_at"], name="carevisit_resident_at"),
            models.Index(fields=["community", "visited_at"], name="carevisit_community_at"),
            models.Index(fields=["grid", "visited_at"], name="carevisit_grid_at"),
        ]
        permissions = [("manage_care", _("Record visits and run group orders"))]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.visited_at:%Y-%m-%d} {self.wellbeing}"

    @property
    def need_list(self) -> list[str]:
        return need_labels(self.needs)

    @property
    def wellbeing_colour(self) -> str:
        return WELLBEING_COLOURS.get(self.wellbeing, "#64748b")


def need_labels(needs: str | None) -> list[str]:
    """The labels of a stored ';'-separated needs value."""
    labels = dict(Need.choices)
    return [str(labels.get(code, code)) for code in (needs or "").split(NEEDS_SEPARATOR) if code]


class GroupOrder(ChangeLoggedModel):
    """A group order (团购) for the households of one building, typically while its compound is
    closed: residents add quantities until ``closes_at``, staff order the totals from the supplier,
    volunteers deliver and tick each household off."""

    scope_fields = Resident.scope_fields  # the same place columns

    building = models.ForeignKey(
        "geo.Building", on_delete=models.PROTECT, related_name="group_orders", verbose_name=_("building")
    )
    compound = ancestor_column(_("compound"), "geo.Compound")
    grid = ancestor_column(_("grid"))
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))
    closure = models.ForeignKey(
        "gates.Closure",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="group_orders",
        verbose_name=_("closed management"),
    )
    title = models.CharField(_("title"), max_length=120)
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=OrderKind.choices, default=OrderKind.FOOD)
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    closes_at = models.DateTimeField(_("orders close at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now)
    task = models.ForeignKey(
        "tasks.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("delivery task"),
    )

    class Meta:
        verbose_name = _("group order")
        verbose_name_plural = _("group orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "closes_at"], name="grouporder_status_closes"),
            models.Index(fields=["community", "status"], name="grouporder_community_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.building_id})"

    @property
    def status_colour(self) -> str:
        return ORDER_STATUS_COLOURS.get(self.status, "#64748b")

    def is_taking_orders(self, now=None) -> bool:
        return self.status == OrderStatus.OPEN and (now or timezone.now()) < self.closes_at


class GroupOrderItem(models.Model):
    """One thing on offer in a group order, with its unit and price."""

    order = models.ForeignKey(GroupOrder, on_delete=models.CASCADE, related_name="items", verbose_name=_("order"))
    name = models.CharField(_("item"), max_length=120)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    unit_price = models.DecimalField(_("price per unit (¥)"), max_digits=8, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("group-order item")
        verbose_name_plural = _("group-order items")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "name", "unit"], name="grouporderitem_unique")]

    def __str__(self) -> str:
        return f"{self.name} / {self.unit}"


class HouseholdOrderLine(models.Model):
    """How much of one item one household ordered (set by a resident of the household or by staff)."""

    order = models.ForeignKey(GroupOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    household = models.ForeignKey(
        "geo.Household", on_delete=models.CASCADE, related_name="+", verbose_name=_("household")
    )
    item = models.ForeignKey(GroupOrderItem, on_delete=models.CASCADE, related_name="lines", verbose_name=_("item"))
    quantity = models.PositiveIntegerField(_("quantity"))
    ordered_at = models.DateTimeField(_("ordered at"), default=timezone.now)
    ordered_by_resident = models.ForeignKey(
        "people.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ordered_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("household order line")
        verbose_name_plural = _("household order lines")
        constraints = [
            models.UniqueConstraint(fields=["item", "household"], name="orderline_once_per_household"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_quantity_positive"),
        ]
        indexes = [models.Index(fields=["order", "household"], name="orderline_order_household")]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.quantity} × {self.item_id}"


class HouseholdDelivery(models.Model):
    """What became of one household's share of a group order: delivered, refused or nobody home.
    Recorded once; the first record stands (ticking twice changes nothing)."""

    order = models.ForeignKey(GroupOrder, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("order"))
    household = models.ForeignKey(
        "geo.Household", on_delete=models.CASCADE, related_name="+", verbose_name=_("household")
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=DeliveryOutcome.choices)
    recorded_at = models.DateTimeField(_("at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("household delivery")
        verbose_name_plural = _("household deliveries")
        constraints = [models.UniqueConstraint(fields=["order", "household"], name="householddelivery_once")]
        # delivery_counts: delivered households in a time window
        indexes = [models.Index(fields=["outcome", "recorded_at"], name="householddelivery_outcome_at")]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.household_id} {self.outcome}"


class GroupOrderEvent(models.Model):
    """The domain event log of a group order: every status change, by whom, when."""

    order = models.ForeignKey(GroupOrder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    from_status = models.CharField(_("from"), max_length=12, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=OrderStatus.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("group-order event")
        verbose_name_plural = _("group-order events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.from_status}→{self.to_status}"

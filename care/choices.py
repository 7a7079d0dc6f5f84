"""Choices of key-group care: visits (kind, how the person was, what they need) and group orders
(kind, the statuses with a colour each, how a delivery went)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from people.choices import KeyGroup

# The ledgers whose residents are visited on a schedule (issue #7 item 3); how often comes from the
# policy's care_visit_days, keyed by these groups.
VISITED_GROUPS = (KeyGroup.ELDERLY_ALONE, KeyGroup.CHRONIC, KeyGroup.PREGNANT, KeyGroup.DISABLED)


class VisitKind(models.TextChoices):
    HOME = "home", _("Home visit")
    PHONE = "phone", _("Phone call")
    VIDEO = "video", _("Video call")


class Wellbeing(models.TextChoices):
    WELL = "well", _("Well")
    NEEDS_HELP = "needs_help", _("Needs help")
    NOT_HOME = "not_home", _("Not at home")
    MOVED = "moved", _("Moved away")

    @property
    def colour(self) -> str:
        return WELLBEING_COLOURS[self.value]


WELLBEING_COLOURS = {
    Wellbeing.WELL: "#15803d",
    Wellbeing.NEEDS_HELP: "#b91c1c",
    Wellbeing.NOT_HOME: "#b45309",
    Wellbeing.MOVED: "#64748b",
}


class Need(models.TextChoices):
    MEDICINE = "medicine", pgettext_lazy("need", "Medicine")
    GROCERIES = "groceries", _("Groceries")
    MEDICAL_CARE = "medical_care", _("Medical care")
    MENTAL_HEALTH = "mental_health", _("Mental-health support")
    REPAIRS = "repairs", _("Repairs")
    OTHER = "other", pgettext_lazy("need", "Other")


class OrderKind(models.TextChoices):
    FOOD = "food", pgettext_lazy("supplies", "Food")
    MEDICINE = "medicine", pgettext_lazy("supplies", "Medicine")
    OTHER = "other", pgettext_lazy("supplies", "Other")


class OrderStatus(models.TextChoices):
    """open → ordered → delivering → done, or cancelled before delivery; moves in care.flow."""

    OPEN = "open", pgettext_lazy("group order", "Open for orders")
    ORDERED = "ordered", pgettext_lazy("group order", "Ordered from the supplier")
    DELIVERING = "delivering", pgettext_lazy("group order", "Delivering")
    DONE = "done", pgettext_lazy("group order", "Done")
    CANCELLED = "cancelled", pgettext_lazy("group order", "Cancelled")

    @property
    def colour(self) -> str:
        return ORDER_STATUS_COLOURS[self.value]


ORDER_STATUS_COLOURS = {
    OrderStatus.OPEN: "#0369a1",
    OrderStatus.ORDERED: "#4338ca",
    OrderStatus.DELIVERING: "#b45309",
    OrderStatus.DONE: "#15803d",
    OrderStatus.CANCELLED: "#9ca3af",
}


class DeliveryOutcome(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    REFUSED = "refused", _("Refused")
    NOBODY_HOME = "nobody_home", _("Nobody home")

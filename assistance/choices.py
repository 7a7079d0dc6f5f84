"""Choices of help requests (微邻里): categories, channels, where a request stands."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HelpCategory(models.TextChoices):
    """What a resident asks for (issue #7 item 1). Deadlines and paging by category are policy
    (``help_deadline_hours``, ``help_page_next_level``)."""

    MEDICINE = "medicine", _("Medicine")
    GROCERIES = "groceries", _("Groceries")
    ESCORT = "escort", _("Escort to hospital")
    ELDERLY_CARE = "elderly_care", _("Elderly care")
    MENTAL_HEALTH = "mental_health", _("Mental-health support")
    REPORT_PROBLEM = "report_problem", _("Report a problem")
    OTHER = "other", pgettext_lazy("help category", "Other")


# what the command centre counts as deliveries and escorts (issue #7 item 6)
DELIVERY_KIND = {HelpCategory.MEDICINE: "medicine", HelpCategory.GROCERIES: "food"}


class HelpChannel(models.TextChoices):
    PORTAL = "portal", _("Resident portal")
    OPEN311 = "open311", _("Open311 client")
    STAFF = "staff", _("Taken by staff (phone, visit)")


class HelpStage(models.TextChoices):
    """Where a request stands before and beside its task; the task's status tells the rest.

    A request from a registered resident is routed at once. One whose phone belongs to nobody on
    the register waits for its community to verify it; one whose place cannot be found at all waits
    for staff who see the whole city to place it. Nothing is ever dropped."""

    ROUTED = "routed", _("Routed")
    VERIFYING = "verifying", _("Waiting for the community to verify")
    UNPLACED = "unplaced", _("Waiting to be placed")
    REJECTED = "rejected", _("Not taken up")


STAGE_COLOURS = {
    HelpStage.ROUTED: "#0369a1",
    HelpStage.VERIFYING: "#b45309",
    HelpStage.UNPLACED: "#b91c1c",
    HelpStage.REJECTED: "#9ca3af",
}


class PhotoType(models.TextChoices):
    JPEG = "image/jpeg", "JPEG"
    PNG = "image/png", "PNG"
    WEBP = "image/webp", "WebP"

"""Choices of transport dispatch: vehicle kinds, transfer statuses (each with a colour), severities."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class VehicleKind(models.TextChoices):
    AMBULANCE = "ambulance", _("Ambulance")
    NEGATIVE_PRESSURE = "negative_pressure", _("Negative-pressure ambulance")
    BUS = "bus", _("Bus")


class TransferStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    PLANNED = "planned", _("Planned")
    PICKED_UP = "picked_up", _("Picked up")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    NO_DESTINATION = "no_destination", _("No destination (queued)")

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self.value]


STATUS_COLOURS = {
    TransferStatus.QUEUED: "#64748b",
    TransferStatus.PLANNED: "#4338ca",
    TransferStatus.PICKED_UP: "#b45309",
    TransferStatus.DELIVERED: "#15803d",
    TransferStatus.CANCELLED: "#9ca3af",
    TransferStatus.NO_DESTINATION: "#b91c1c",
}
# open: a person has at most one of these at a time (Transfer's unique constraint)
OPEN_STATUSES = (
    TransferStatus.QUEUED,
    TransferStatus.PLANNED,
    TransferStatus.PICKED_UP,
    TransferStatus.NO_DESTINATION,
)
# planned again on every run (picked-up transfers stay as they are)
REPLANNED_STATUSES = (TransferStatus.QUEUED, TransferStatus.PLANNED, TransferStatus.NO_DESTINATION)


class Severity(models.TextChoices):
    MILD = "mild", _("Mild")
    SEVERE = "severe", _("Severe")
    CRITICAL = "critical", _("Critical")

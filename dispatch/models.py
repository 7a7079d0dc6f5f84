"""Vehicles with their crews, transfers (a person's ride to a bed) and the plans that route them.

A :class:`Transfer` copies the person's place (people.models.PlacedByPerson) so lists scope without
a join; a person has at most one open transfer. A :class:`DispatchPlan` keeps what a planning run
decided (routes per vehicle with times and kilometres) for the staff page and the API.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.choices import Category
from core.models import ChangeLoggedModel, TimeStampedModel
from dispatch.choices import OPEN_STATUSES, Severity, TransferStatus, VehicleKind
from people.models import PlacedByPerson

CATEGORY_SEPARATOR = ";"


class Vehicle(ChangeLoggedModel):
    """An ambulance or bus, its base, seats, the categories it may carry and its crew (a staff
    account that receives the drive tasks)."""

    scope_fields = {"district": "district_id"}

    code = models.CharField(_("vehicle code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=VehicleKind.choices)
    seats = models.PositiveSmallIntegerField(_("seats"))
    base_lat = models.FloatField(_("base latitude"))
    base_lon = models.FloatField(_("base longitude"))
    district = models.ForeignKey(
        "geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    available = models.BooleanField(_("available"), default=True)
    # cases.Category values it may carry, ';'-separated
    categories = models.CharField(_("categories carried"), max_length=120)
    needs_disinfection = models.BooleanField(_("needs disinfection"), default=False)
    disinfected_at = models.DateTimeField(_("disinfected at"), null=True, blank=True)
    crew = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="vehicles",
        verbose_name=_("crew"),
    )

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["code"]
        permissions = [("run_dispatch", _("Plan transport and manage vehicles"))]

    def __str__(self) -> str:
        return self.code

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.split(CATEGORY_SEPARATOR) if c]


class DispatchPlan(TimeStampedModel):
    """One planning run: method, timings, figures and its routes (``routes``: per vehicle, trips
    with stops, times and kilometres), kept for the staff page and the API."""

    method = models.CharField(_("method"), max_length=16)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    seconds = models.FloatField(_("planning seconds"), default=0)
    km = models.FloatField(_("vehicle-kilometres"), default=0)
    longest_wait_min = models.FloatField(_("longest wait (minutes)"), default=0)
    transfers = models.PositiveIntegerField(_("transfers planned"), default=0)
    no_destination = models.PositiveIntegerField(_("without a destination"), default=0)
    routes = models.JSONField(_("routes"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("dispatch plan")
        verbose_name_plural = _("dispatch plans")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.pk} {self.method} {self.created_at:%Y-%m-%d %H:%M}"


class Transfer(PlacedByPerson, TimeStampedModel):
    """A person's ride from their compound to a bed: queued, planned (bed reserved, vehicle and
    times chosen), picked up, delivered — or waiting with no destination (an alert is open)."""

    person = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="transfers", verbose_name=_("person")
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MILD)
    placement_kind = models.CharField(_("placement"), max_length=24, blank=True)
    pickup_lat = models.FloatField(_("pick-up latitude"), null=True, blank=True)
    pickup_lon = models.FloatField(_("pick-up longitude"), null=True, blank=True)
    waiting_since = models.DateTimeField(_("waiting since"))
    status = models.CharField(
        _("status"), max_length=16, choices=TransferStatus.choices, default=TransferStatus.QUEUED, db_index=True
    )
    destination = models.ForeignKey(
        "beds.Facility",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("destination"),
    )
    stay = models.ForeignKey(
        "beds.Stay", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("bed")
    )
    vehicle = models.ForeignKey(
        Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="transfers", verbose_name=_("vehicle")
    )
    plan = models.ForeignKey(DispatchPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    trip = models.CharField(_("trip"), max_length=64, blank=True)  # "<plan>:<vehicle>:<n>"
    drive_task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    planned_pickup_at = models.DateTimeField(_("planned pick-up"), null=True, blank=True)
    planned_arrival_at = models.DateTimeField(_("planned arrival"), null=True, blank=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["waiting_since", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(status__in=OPEN_STATUSES), name="transfer_one_open_per_person"
            )
        ]
        indexes = [models.Index(fields=["status", "district"], name="transfer_status_district")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.category} {self.status}"

    @property
    def status_colour(self) -> str:
        return TransferStatus(self.status).colour

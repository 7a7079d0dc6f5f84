"""Facilities that take the four categories, their beds (a current snapshot with dated history), and
each person's stay (a reserved bed, admission, discharge).

The snapshot on :class:`Facility` is what planning reads and locks (``select_for_update``): two
plans racing for the last bed serialise on the facility row. Every change of the counts writes a
:class:`BedReport` row, so the board's history and a facility's own reports are one table.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beds.choices import AdmissionStatus, BedSource, FacilityKind
from core.models import ChangeLoggedModel

CATEGORY_SEPARATOR = ";"
NEARLY_FULL = 0.9  # the board colours a facility at 90 % of its open beds occupied
STALE_AFTER = dt.timedelta(hours=24)  # counts older than this are flagged on the board


class Facility(ChangeLoggedModel):
    """A designated hospital, shelter hospital, isolation site, quarantine hotel or fever clinic."""

    scope_fields = {"district": "district_id"}

    code = models.CharField(_("facility code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=24, choices=FacilityKind.choices)
    # cases.Category values this facility may take, ';'-separated
    categories = models.CharField(_("categories taken"), max_length=120)
    district = models.ForeignKey(
        "geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    active = models.BooleanField(_("taking patients"), default=True)
    beds_approved = models.PositiveIntegerField(_("beds approved"), default=0)
    beds_open = models.PositiveIntegerField(_("beds open"), default=0)
    beds_occupied = models.PositiveIntegerField(_("beds occupied"), default=0)
    beds_reserved = models.PositiveIntegerField(_("beds reserved"), default=0)
    counts_at = models.DateTimeField(_("counts as of"), null=True, blank=True)

    class Meta:
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(beds_open__lte=models.F("beds_approved")), name="beds_open_le_approved"
            ),
        ]
        permissions = [
            ("report_beds", _("Report a facility's bed counts")),
            ("admit_patients", _("Admit and discharge people at a facility")),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.split(CATEGORY_SEPARATOR) if c]

    def accepts(self, category: str) -> bool:
        return self.active and category in self.category_list

    @property
    def beds_free(self) -> int:
        """Open beds neither occupied nor held for a transfer on its way."""
        return max(self.beds_open - self.beds_occupied - self.beds_reserved, 0)

    @property
    def fill_ratio(self) -> float | None:
        """Occupied share of the open beds (None when no bed is open)."""
        return self.beds_occupied / self.beds_open if self.beds_open else None

    @property
    def fill_percent(self) -> int | None:
        ratio = self.fill_ratio
        return None if ratio is None else round(ratio * 100)

    @property
    def nearly_full(self) -> bool:
        ratio = self.fill_ratio
        return (ratio is not None and ratio >= NEARLY_FULL) or (not self.beds_open and self.beds_occupied > 0)

    def is_stale(self, now: dt.datetime | None = None) -> bool:
        """No counts yet, or none for a day: the board should not be trusted for this facility."""
        return self.counts_at is None or (now or timezone.now()) - self.counts_at > STALE_AFTER

    @property
    def stale(self) -> bool:
        return self.is_stale()


class BedReport(models.Model):
    """One dated state of a facility's counts, and where it came from."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="reports", verbose_name=_("facility"))
    at = models.DateTimeField(_("as of"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=16, choices=BedSource.choices)
    beds_approved = models.PositiveIntegerField(_("beds approved"))
    beds_open = models.PositiveIntegerField(_("beds open"))
    beds_occupied = models.PositiveIntegerField(_("beds occupied"))
    beds_reserved = models.PositiveIntegerField(_("beds reserved"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("bed report")
        verbose_name_plural = _("bed reports")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["facility", "at"], name="bedreport_facility_at")]
        constraints = [
            # a file's report of a facility at a time is kept once: re-importing it changes nothing
            models.UniqueConstraint(
                fields=["facility", "at"], condition=models.Q(source="import"), name="bedreport_import_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.facility_id} {self.at:%Y-%m-%d %H:%M} {self.beds_occupied}/{self.beds_open}"


class Stay(models.Model):
    """One person's bed at one facility: reserved for a transfer, then admitted, then discharged."""

    person = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="stays")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="stays", verbose_name=_("facility"))
    category = models.CharField(_("category"), max_length=20)
    status = models.CharField(_("status"), max_length=12, choices=AdmissionStatus.choices)
    reserved_at = models.DateTimeField(_("reserved at"), null=True, blank=True)
    admitted_at = models.DateTimeField(_("admitted at"), null=True, blank=True)
    discharged_at = models.DateTimeField(_("discharged at"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=64, blank=True)  # e.g. the dispatch plan's stop

    class Meta:
        verbose_name = _("stay")
        verbose_name_plural = _("stays")
        constraints = [
            # a person holds at most one bed at a time
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status__in=["reserved", "admitted"]),
                name="stay_one_bed_per_person",
            )
        ]
        indexes = [models.Index(fields=["facility", "status"], name="stay_facility_status")]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.facility_id} {self.status}"

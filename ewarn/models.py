"""Early warning (issue #9): the two imported signal sources, the daily counts every detector reads,
the runs of the daily job, and the alerts staff verify.

:class:`SignalCount` is the pre-aggregated table: one row per signal, area and day with a non-zero
count, for communities and every level above them (street, district, city), so a series is one
indexed range read and a dashboard never counts records per page view.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from ewarn.choices import AlertKind, AlertStatus, DismissReason, ProductClass, Signal
from geo.models import ancestor_column

PLACE_SCOPE = {"district": "district_id", "street": "street_id", "community": "community_id"}


class PharmacySale(TimeStampedModel):
    """Units of one product class a pharmacy sold on one day (import kind ``pharmacy_sales``)."""

    scope_fields = PLACE_SCOPE

    pharmacy_code = models.CharField(_("pharmacy code"), max_length=32)
    day = models.DateField(_("day"))
    product_class = models.CharField(_("product class"), max_length=16, choices=ProductClass.choices)
    units = models.PositiveIntegerField(_("units"))
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    batch = models.ForeignKey("core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("pharmacy sales")
        verbose_name_plural = _("pharmacy sales")
        constraints = [
            models.UniqueConstraint(fields=["pharmacy_code", "day", "product_class"], name="pharmacy_sale_once")
        ]
        indexes = [models.Index(fields=["day", "community"], name="pharmacy_sale_day")]

    def __str__(self) -> str:
        return f"{self.pharmacy_code} {self.day} {self.product_class} {self.units}"


class SchoolAbsence(TimeStampedModel):
    """One school's roll call on one day (import kind ``school_absence``); the school is a registered
    venue of kind ``school``, which places it in its grid."""

    scope_fields = PLACE_SCOPE

    school = models.ForeignKey("geo.Venue", on_delete=models.PROTECT, related_name="+", verbose_name=_("school"))
    day = models.DateField(_("day"))
    enrolled = models.PositiveIntegerField(_("enrolled"))
    absent = models.PositiveIntegerField(_("absent"))
    absent_fever = models.PositiveIntegerField(_("absent with fever"))
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    batch = models.ForeignKey("core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("school absence")
        verbose_name_plural = _("school absences")
        constraints = [
            models.UniqueConstraint(fields=["school", "day"], name="school_absence_once"),
            models.CheckConstraint(condition=models.Q(absent__lte=models.F("enrolled")), name="absent_le_enrolled"),
            models.CheckConstraint(
                condition=models.Q(absent_fever__lte=models.F("absent")), name="absent_fever_le_absent"
            ),
        ]
        indexes = [models.Index(fields=["day", "community"], name="school_absence_day")]

    def __str__(self) -> str:
        return f"{self.school_id} {self.day} {self.absent}/{self.enrolled}"


class SignalCount(models.Model):
    """A signal's count in one area on one day; only non-zero counts are stored."""

    signal = models.CharField(_("signal"), max_length=24, choices=Signal.choices)
    level = models.CharField(_("level"), max_length=16)
    division = models.ForeignKey("geo.Division", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        verbose_name = _("signal count")
        verbose_name_plural = _("signal counts")
        constraints = [models.UniqueConstraint(fields=["signal", "division", "day"], name="signal_count_once")]
        indexes = [models.Index(fields=["signal", "level", "day"], name="signal_count_level_day")]

    def __str__(self) -> str:
        return f"{self.signal} {self.division_id} {self.day}: {self.count}"


class DetectionRun(models.Model):
    """One run of the daily detection: what it read, what it found and how long it took."""

    day = models.DateField(_("day judged"), db_index=True)
    started_at = models.DateTimeField(_("started"))
    seconds = models.FloatField(_("seconds"), default=0)
    series = models.PositiveIntegerField(_("series judged"), default=0)
    alarms = models.PositiveIntegerField(_("alarms"), default=0)
    clusters = models.PositiveIntegerField(_("clusters"), default=0)
    alerts_opened = models.PositiveIntegerField(_("alerts opened"), default=0)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("detection run")
        verbose_name_plural = _("detection runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.day} ({self.alarms} alarms)"


class Alert(TimeStampedModel):
    """An aberration in one signal: a rise in one area (temporal detectors) or a space-time cluster of
    communities (the scan). Later alarms of the same episode join it rather than opening another."""

    scope_fields = PLACE_SCOPE

    signal = models.CharField(_("signal"), max_length=24, choices=Signal.choices)
    kind = models.CharField(_("kind"), max_length=12, choices=AlertKind.choices)
    area = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    level = models.CharField(_("level"), max_length=16)
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    communities = models.ManyToManyField(
        "geo.Division", related_name="ewarn_alerts", blank=True, verbose_name=_("communities")
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"), db_index=True)
    detectors = models.JSONField(_("detectors"), default=list)
    observed = models.FloatField(_("observed"))
    expected = models.FloatField(_("expected"))
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict)
    status = models.CharField(_("status"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    task = models.OneToOneField(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="ewarn_alert"
    )
    investigation = models.OneToOneField(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="ewarn_investigated"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    dismiss_reason = models.CharField(_("why dismissed"), max_length=12, choices=DismissReason.choices, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-last_day", "-id"]
        indexes = [models.Index(fields=["signal", "area", "kind", "last_day"], name="alert_episode")]
        permissions = [("verify_alert", _("Verify or dismiss early-warning alerts"))]

    def __str__(self) -> str:
        return f"{self.get_signal_display()} · {self.area} · {self.last_day}"

    @property
    def recurrence_days(self) -> float | None:
        """How often a cluster this unusual arises by chance (1/p, SaTScan's recurrence interval)."""
        return 1 / self.p_value if self.p_value else None

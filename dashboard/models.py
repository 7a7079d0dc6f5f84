"""The command centre's pre-aggregated figures (issue #10): one row per area, day and indicator,
written set-based by the refresh job (dashboard.refresh); pages, the live feed and the daily report
read them and never count records per view."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Figure(models.Model):
    day = models.DateField(_("day"))
    level = models.CharField(_("level"), max_length=16)
    division = models.ForeignKey("geo.Division", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    indicator = models.CharField(_("indicator"), max_length=32)
    value = models.BigIntegerField(_("value"))

    class Meta:
        verbose_name = _("figure")
        verbose_name_plural = _("figures")
        constraints = [models.UniqueConstraint(fields=["division", "day", "indicator"], name="figure_once")]
        indexes = [models.Index(fields=["level", "day", "indicator"], name="figure_level_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.division_id} {self.indicator}={self.value}"


class Refresh(models.Model):
    """One refresh of a day's figures: when, how long, how many rows."""

    day = models.DateField(_("day"), db_index=True)
    at = models.DateTimeField(_("refreshed at"))
    seconds = models.FloatField(_("seconds"))
    rows = models.PositiveIntegerField(_("rows"))

    class Meta:
        verbose_name = _("refresh")
        verbose_name_plural = _("refreshes")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.day} at {self.at:%H:%M:%S}"

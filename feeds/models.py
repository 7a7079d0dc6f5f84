"""Records from hospitals, the CDC, labs and the police, each linked to the person it is about."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from people.models import PlacedByPerson, Resident


class LinkMethod(models.TextChoices):
    ID_NUMBER = "id_number", _("Identity number")
    PROBABILISTIC = "probabilistic", _("Probabilistic match")
    REVIEW = "review", _("Kept apart, waiting for review")
    NEW_PERSON = "new_person", _("New unregistered person")
    MANUAL = "manual", _("Linked by staff")


class FeedRecord(PlacedByPerson, TimeStampedModel):
    """What every feed row keeps: the person it was linked to, how, and the identity as sent."""

    person = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("person")
    )
    link_method = models.CharField(_("linked by"), max_length=16, choices=LinkMethod.choices, blank=True)
    link_probability = models.FloatField(_("match probability"), null=True, blank=True)
    sent_id_number = models.CharField(_("identity number as sent"), max_length=40, blank=True)
    sent_name = models.CharField(_("name as sent"), max_length=60, blank=True)
    sent_sex = models.CharField(_("sex as sent"), max_length=1, blank=True)
    sent_birth_date = models.DateField(_("birth date as sent"), null=True, blank=True)
    sent_phone = models.CharField(_("phone as sent"), max_length=20, blank=True)
    sent_address = models.CharField(_("address as sent"), max_length=200, blank=True)
    batch = models.ForeignKey("core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class ClinicVisit(FeedRecord):
    visit_id = models.CharField(_("visit number"), max_length=64, unique=True)
    hospital_code = models.CharField(_("hospital"), max_length=40)
    visited_at = models.DateTimeField(_("visited at"), db_index=True)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True)
    category = models.CharField(_("category"), max_length=16, blank=True)
    onset_date = models.DateField(_("symptom onset"), null=True, blank=True)

    class Meta:
        verbose_name = _("clinic visit")
        verbose_name_plural = _("clinic visits")

    def __str__(self) -> str:
        return self.visit_id


class CaseReport(FeedRecord):
    case_id = models.CharField(_("case number"), max_length=64, unique=True)
    classification = models.CharField(_("classification"), max_length=16)
    onset_date = models.DateField(_("symptom onset"), null=True, blank=True)
    sampled_at = models.DateTimeField(_("sampled at"), null=True, blank=True)
    diagnosed_at = models.DateTimeField(_("diagnosed at"), null=True, blank=True)
    severity = models.CharField(_("severity"), max_length=16, blank=True)
    hospital_code = models.CharField(_("hospital"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("case report")
        verbose_name_plural = _("case reports")

    def __str__(self) -> str:
        return self.case_id


class LabResult(FeedRecord):
    sample_id = models.CharField(_("sample number"), max_length=64, unique=True)
    pool_id = models.CharField(_("pool number"), max_length=64, blank=True, db_index=True)
    sampled_at = models.DateTimeField(_("sampled at"))
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    lab_code = models.CharField(_("laboratory"), max_length=40, blank=True)
    method = models.CharField(_("method"), max_length=16, blank=True)
    result = models.CharField(_("result"), max_length=16)
    ct_value = models.DecimalField(_("Ct value"), max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("lab result")
        verbose_name_plural = _("lab results")

    def __str__(self) -> str:
        return self.sample_id


class TravelRecord(FeedRecord):
    record_id = models.CharField(_("record number"), max_length=64, unique=True)
    arrived_at = models.DateTimeField(_("arrived at"), db_index=True)
    origin_area_code = models.CharField(_("from (code)"), max_length=12)
    origin_area_name = models.CharField(_("from"), max_length=100, blank=True)
    mode = models.CharField(_("mode"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("travel record")
        verbose_name_plural = _("travel records")

    def __str__(self) -> str:
        return self.record_id


FEED_MODELS = {
    "clinic_visits": ClinicVisit,
    "case_reports": CaseReport,
    "lab_results": LabResult,
    "travel": TravelRecord,
}

"""The signals Linli watches, and the life of an alert (issue #9)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Signal(models.TextChoices):
    """A daily count by community. The first five come from records Linli already holds (feeds,
    the category history, gate checks); the rest from the ``pharmacy_sales`` and ``school_absence``
    imports."""

    FEVER_CLINIC = "fever_clinic", _("Fever-clinic visits")
    FEVER_CASE = "fever_case", _("New fever cases")
    SUSPECTED = "suspected", _("New suspected cases")
    POSITIVE_TEST = "positive_test", _("Positive tests")
    GATE_FEVER = "gate_fever", _("Fever readings at gates")
    ANTIPYRETIC = "antipyretic", _("Antipyretics sold")
    COUGH = "cough", _("Cough medicine sold")
    ANTIVIRAL = "antiviral", _("Antivirals sold")
    SCHOOL_ABSENT = "school_absent", _("Pupils absent")
    SCHOOL_FEVER = "school_fever", _("Pupils absent with fever")


class ProductClass(models.TextChoices):
    """Pharmacy product classes of the ``pharmacy_sales`` import; each is its own signal."""

    ANTIPYRETIC = "antipyretic", _("Antipyretic")
    COUGH = "cough", _("Cough")
    ANTIVIRAL = "antiviral", _("Antiviral")


PRODUCT_SIGNAL = {
    ProductClass.ANTIPYRETIC: Signal.ANTIPYRETIC,
    ProductClass.COUGH: Signal.COUGH,
    ProductClass.ANTIVIRAL: Signal.ANTIVIRAL,
}


class AlertKind(models.TextChoices):
    TEMPORAL = "temporal", _("Rise in one area")
    CLUSTER = "cluster", _("Space-time cluster")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("To verify")
    VERIFIED = "verified", _("Verified")
    DISMISSED = "dismissed", _("Dismissed")


class DismissReason(models.TextChoices):
    """Why an epidemiologist judged an alert not to be an outbreak; kept so detectors can be tuned."""

    DATA_ERROR = "data_error", _("Data error or late batch")
    EXPECTED = "expected", _("Expected rise (season, holiday, promotion, campaign)")
    KNOWN = "known", _("Already known and handled")
    TOO_SMALL = "too_small", _("Too few cases to act on")
    OTHER = "other", _("Other")

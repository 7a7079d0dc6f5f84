"""Choices of the people app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("Registered (户籍)")
    RESIDENT = "resident", _("Resident (常住)")
    MIGRANT = "migrant", _("Migrant (流动)")


class KeyGroup(models.TextChoices):
    """Key groups kept as ledgers (台账); residents' tags and civil-affairs programmes."""

    ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")
    CHRONIC = "chronic", _("Chronic illness")
    PREGNANT = "pregnant", _("Pregnant")
    DISABLED = "disabled", _("Disabled")
    LOW_INCOME = "low_income", _("Low income")
    CHILD = "child", _("Child")
    SPECIAL_CARE = "special_care", _("Special care (优抚)")


RESIDENT_TAGS = ("elderly_alone", "chronic", "pregnant", "disabled", "low_income", "child")
SOCIAL_PROGRAMS = ("elderly_alone", "low_income", "disabled", "special_care")


class KeyGroupSource(models.TextChoices):
    RESIDENTS = "residents", _("Population register")
    SOCIAL_REGISTRY = "social_registry", _("Civil affairs")
    STAFF = "staff", _("Staff")

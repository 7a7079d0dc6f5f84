"""Choices of testing campaigns: domain.md §8 (pooled sampling, hold and recall)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CampaignStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    SAMPLING = "sampling", _("Sampling")
    CLOSED = "closed", pgettext_lazy("campaign", "Closed")


class TubeStatus(models.TextChoices):
    OPEN = "open", _("Open (being filled)")
    CLOSED = "closed", _("Closed, waiting for the lab")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid")


RESULTED = {TubeStatus.NEGATIVE, TubeStatus.POSITIVE, TubeStatus.INVALID}


class ParticipantStatus(models.TextChoices):
    """Where a sampled person stands in a campaign: their latest tube decides, and after a positive
    pool their own re-swab does (domain.md §8)."""

    SAMPLED = "sampled", _("Sampled, result pending")
    NEGATIVE = "negative", _("Negative")
    HELD = "held", _("Held: positive pool, individual re-swab pending")
    POSITIVE = "positive", _("Positive")
    RESAMPLE = "resample", _("To be sampled again")


class ExemptionReason(models.TextChoices):
    BEDRIDDEN = "bedridden", _("Bedridden or immobile (sampled at home)")
    INFANT = "infant", _("Infant")
    UNDER_CARE = "under_care", _("In hospital or central isolation (tested there)")
    AWAY = "away", _("Away from the city")
    OTHER = "other", _("Other")


# Reasons whose people are still sampled, at home, by the grid (a home-sampling task each).
HOME_SAMPLED = {ExemptionReason.BEDRIDDEN}

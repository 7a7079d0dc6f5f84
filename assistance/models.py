"""Help requests (微邻里): a resident's need, kept whole from the moment it is asked.

A request is handled as one task (tasks.Task, type ``help``) for the person answerable for the
requester's building, so its deadline, escalation, feedback, closing and evaluation are the task
engine's (domain.md §9). The request keeps what the resident said, the photo, the rating and where
it came from; the task keeps the work. Requests from unknown phones are kept too, with a
verification task for their community (:class:`assistance.choices.HelpStage`).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assistance.choices import STAGE_COLOURS, HelpCategory, HelpChannel, HelpStage, PhotoType
from people.models import PlacedByPerson

MAX_TEXT_CHARS = 1000


def photo_path(instance: HelpRequest, filename: str) -> str:
    """Photos are named by the server, never by the uploader (no paths or names from outside)."""
    extension = {PhotoType.JPEG: "jpg", PhotoType.PNG: "png", PhotoType.WEBP: "webp"}[instance.photo_type]
    return f"help/{timezone.now():%Y/%m}/{secrets.token_hex(12)}.{extension}"


class HelpRequest(PlacedByPerson):
    """One need of one resident (or of a phone the register does not know yet)."""

    category = models.CharField(_("category"), max_length=16, choices=HelpCategory.choices)
    text = models.TextField(_("what is needed"), max_length=MAX_TEXT_CHARS)
    photo = models.FileField(_("photo"), upload_to=photo_path, blank=True)
    photo_type = models.CharField(_("photo type"), max_length=16, choices=PhotoType.choices, blank=True)
    media_url = models.URLField(_("media link"), blank=True)  # Open311 clients send a link, not a file
    channel = models.CharField(_("channel"), max_length=16, choices=HelpChannel.choices)
    stage = models.CharField(_("stage"), max_length=16, choices=HelpStage.choices)

    phone = models.CharField(_("phone"), max_length=20)
    phone_verified = models.BooleanField(_("phone verified by a code"), default=False)
    contact_name = models.CharField(_("contact name"), max_length=60, blank=True)
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="help_requests",
        verbose_name=_("resident"),
    )
    address = models.CharField(_("address given"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)

    task = models.OneToOneField(
        "tasks.Task",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="help_request",
        verbose_name=_("task"),
    )
    verify_task = models.OneToOneField(
        "tasks.Task",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="help_request_to_verify",
        verbose_name=_("verification task"),
    )
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("taken by"),
        db_index=False,
    )
    ip = models.GenericIPAddressField(_("sent from"), null=True, blank=True)
    client_reference = models.CharField(_("client's reference"), max_length=64, blank=True)  # Open311 device/account

    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rating_comment = models.CharField(_("rating comment"), max_length=300, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("help request")
        verbose_name_plural = _("help requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            # the flood limit: a phone's requests in the last hour / day
            models.Index(fields=["phone", "created_at"], name="help_phone_created"),
            # counts by node and period (the command centre)
            models.Index(fields=["community", "created_at"], name="help_community_created"),
            models.Index(fields=["created_at"], name="help_created"),
            models.Index(fields=["stage"], name="help_stage_waiting", condition=~models.Q(stage="routed")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="help_rating_1_to_5",
            )
        ]
        permissions = [("take_help_request", _("Take help requests on behalf of residents and verify them"))]

    def __str__(self) -> str:
        return f"{self.reference} {self.category}"

    @property
    def reference(self) -> str:
        """The number residents and Open311 clients quote (the row id, zero-padded)."""
        return f"H{self.pk:07d}" if self.pk else ""

    @property
    def stage_colour(self) -> str:
        return STAGE_COLOURS.get(self.stage, "#64748b")

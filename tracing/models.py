"""Containments (one per infected case and episode), their traced contacts, venues, and the
investigators' decisions that survive re-tracing (domain.md §4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel
from geo.models import Venue
from people.models import PlacedByPerson, Resident


class ContainmentState(models.TextChoices):
    OPEN = "open", _("Open")
    SEALED = "sealed", _("Sealed")
    CANCELLED = "cancelled", _("Cancelled")


class Containment(PlacedByPerson, ChangeLoggedModel):
    """Investigating one case and sealing its outbreak point within the policy's hours (24 h)."""

    case = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="containments", verbose_name=_("case"))
    episode = models.PositiveIntegerField(_("episode"), default=1)
    category = models.CharField(_("category"), max_length=20)
    state = models.CharField(
        _("state"), max_length=12, choices=ContainmentState.choices, default=ContainmentState.OPEN, db_index=True
    )
    started_at = models.DateTimeField(_("started"), help_text=_("When the case was confirmed"))
    due_at = models.DateTimeField(_("due"), db_index=True)
    sealed_at = models.DateTimeField(_("sealed"), null=True, blank=True)
    window_start = models.DateTimeField(_("window from"), null=True, blank=True)
    window_end = models.DateTimeField(_("window until"), null=True, blank=True)
    window_rule = models.CharField(_("window rule"), max_length=200, blank=True)
    traced_at = models.DateTimeField(_("traced"), null=True, blank=True)
    traced_as_of = models.DateTimeField(_("traced as of"), null=True, blank=True)
    engine = models.CharField(_("engine"), max_length=16, blank=True)
    store_version = models.PositiveIntegerField(_("presence data version"), default=0)
    close_count = models.PositiveIntegerField(_("close contacts"), default=0)
    secondary_count = models.PositiveIntegerField(_("secondary contacts"), default=0)
    venue_count = models.PositiveIntegerField(_("venues"), default=0)

    class Meta:
        verbose_name = _("containment")
        verbose_name_plural = _("containments")
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["case", "episode"], name="containment_once_per_episode")]

    def __str__(self) -> str:
        return f"containment {self.pk} of {self.case_id}"


class Degree(models.IntegerChoices):
    CLOSE = 1, _("Close contact")
    SECONDARY = 2, _("Secondary contact")


class TracedContact(models.Model):
    """One contact found by the last trace (or added by hand), with the reasons."""

    containment = models.ForeignKey(Containment, on_delete=models.CASCADE, related_name="contacts")
    degree = models.PositiveSmallIntegerField(_("degree"), choices=Degree.choices)
    id_number = models.CharField(_("identity number"), max_length=18, db_index=True)
    person = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="traced_as", verbose_name=_("person")
    )
    via_id_number = models.CharField(_("via"), max_length=18, blank=True)
    via = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_exposure = models.DateTimeField(_("first exposure"))
    reasons = models.JSONField(_("reasons"), default=list)
    manual = models.BooleanField(_("added by hand"), default=False)

    class Meta:
        verbose_name = _("traced contact")
        verbose_name_plural = _("traced contacts")
        ordering = ["degree", "first_exposure", "id_number"]
        constraints = [
            models.UniqueConstraint(fields=["containment", "degree", "id_number"], name="traced_contact_once")
        ]

    def __str__(self) -> str:
        return f"{self.id_number} ({self.degree}) of {self.containment_id}"


class DecisionAction(models.TextChoices):
    ADD = "add", _("Added by hand")
    REMOVE = "remove", _("Removed by hand")


class ContactDecision(ChangeLoggedModel):
    """An investigator adds or removes a contact of a case; re-traces keep the decision."""

    case = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="contact_decisions")
    id_number = models.CharField(_("identity number"), max_length=18)
    degree = models.PositiveSmallIntegerField(_("degree"), choices=Degree.choices, default=Degree.CLOSE)
    action = models.CharField(_("decision"), max_length=8, choices=DecisionAction.choices)
    exposed_at = models.DateTimeField(_("exposed at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), auto_now=True)

    class Meta:
        verbose_name = _("contact decision")
        verbose_name_plural = _("contact decisions")
        constraints = [
            models.UniqueConstraint(fields=["case", "id_number", "degree"], name="contact_decision_once"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.id_number} for {self.case_id}"


class ContainmentVenue(models.Model):
    """A venue the case stayed at inside the window: to be disinfected."""

    containment = models.ForeignKey(Containment, on_delete=models.CASCADE, related_name="venues")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="+")
    first_stay = models.DateTimeField(_("first stay"))
    last_stay = models.DateTimeField(_("last stay"))
    stays = models.PositiveIntegerField(_("stays"), default=1)

    class Meta:
        verbose_name = _("venue to disinfect")
        verbose_name_plural = _("venues to disinfect")
        ordering = ["first_stay"]
        constraints = [models.UniqueConstraint(fields=["containment", "venue"], name="containment_venue_once")]

    def __str__(self) -> str:
        return f"{self.venue_id} in {self.containment_id}"

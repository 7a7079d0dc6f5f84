"""Each person's current category and state, the dated history behind it, conflicts, follow-ups."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.choices import COLOURS, Basis, CaseState, Category, EventOutcome, PlacementKind, SourceKind
from core.models import ChangeLoggedModel
from people.models import PlacedByPerson, Resident


class PersonStatus(PlacedByPerson, ChangeLoggedModel):
    """Where a person stands now in the four categories (one row per person ever categorised)."""

    person = models.OneToOneField(Resident, on_delete=models.CASCADE, related_name="status", verbose_name=_("person"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, db_index=True)
    state = models.CharField(_("state"), max_length=16, choices=CaseState.choices, db_index=True)
    since = models.DateTimeField(_("since"), help_text=_("When the current state began (event time)"))
    episode = models.PositiveIntegerField(_("episode"), default=1)
    placement_kind = models.CharField(_("placement"), max_length=24, choices=PlacementKind.choices, blank=True)
    placement_name = models.CharField(_("placed at"), max_length=120, blank=True)
    observe_until = models.DateTimeField(_("observe until"), null=True, blank=True)
    onset_date = models.DateField(_("symptom onset"), null=True, blank=True)
    sampled_at = models.DateTimeField(_("positive sample taken"), null=True, blank=True)
    isolated_at = models.DateTimeField(_("isolated at"), null=True, blank=True)
    severity = models.CharField(_("severity"), max_length=16, blank=True)
    basis = models.CharField(
        _("legal basis"),
        max_length=32,
        choices=Basis.choices,
        blank=True,
        help_text=_("The basis of the category in force, as its identification recorded it"),
    )

    class Meta:
        verbose_name = _("person's category")
        verbose_name_plural = _("four-category register")
        indexes = [models.Index(fields=["category", "state", "community"], name="status_cat_state_comm")]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.category}/{self.state}"

    @property
    def colour(self) -> str:
        return COLOURS.get(self.category, "#475569")


class CategoryEvent(PlacedByPerson):
    """One dated fact about a person's category, with its source and what it did: append-only.

    An identification also records its legal basis (issue #11): the basis a member of staff chose
    from the policy's list, with their note, and for a contact the recorded case it names; or the
    basis a feed's, tracing's or follow-up's report implies, beside its source reference."""

    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="category_events")
    at = models.DateTimeField(_("event time"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    from_state = models.CharField(_("from"), max_length=16, choices=CaseState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=16, choices=CaseState.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=EventOutcome.choices)
    source_kind = models.CharField(_("source"), max_length=12, choices=SourceKind.choices)
    source_ref = models.CharField(_("reference"), max_length=120, blank=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(_("note"), max_length=300, blank=True)
    basis = models.CharField(_("legal basis"), max_length=32, choices=Basis.choices, blank=True)
    basis_case = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("case named by the basis"),
    )

    class Meta:
        verbose_name = _("category event")
        verbose_name_plural = _("category history")
        ordering = ["person_id", "at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_ref", "category", "to_state"],
                condition=~models.Q(source_ref=""),
                name="category_event_once_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.person_id} {self.category}/{self.to_state} ({self.outcome})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("category events are append-only: record a new event instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("category events are append-only: they are never deleted")


class ConflictStatus(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Current state upheld")
    ACCEPTED = "accepted", _("Incoming report accepted")


class CategoryConflict(PlacedByPerson):
    """A report that contradicts the current state (e.g. 'excluded' after 'confirmed'): a person decides."""

    event = models.OneToOneField(CategoryEvent, on_delete=models.CASCADE, related_name="conflict")
    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    current_category = models.CharField(max_length=20, choices=Category.choices)
    current_state = models.CharField(max_length=16, choices=CaseState.choices)
    status = models.CharField(_("status"), max_length=12, choices=ConflictStatus.choices, default=ConflictStatus.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("category conflict")
        verbose_name_plural = _("category conflicts")

    def __str__(self) -> str:
        return f"conflict {self.pk} on {self.person_id} ({self.status})"


class FollowUpStatus(models.TextChoices):
    DUE = "due", _("Due")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")


class FollowUp(PlacedByPerson, ChangeLoggedModel):
    """One scheduled check (temperature, symptoms) of a person under observation."""

    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="follow_ups")
    due_at = models.DateTimeField(_("due"), db_index=True)
    status = models.CharField(_("status"), max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.DUE)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True)
    symptoms = models.CharField(_("symptoms"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["person", "due_at"], name="follow_up_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.due_at:%Y-%m-%d %H:%M} {self.status}"

"""Schools and enterprises as registered units of the grid, their reopening applications (a
checklist from policy, evidence, an inspector's verdicts and a decision), the dated history of
their status, the staff they report back at work, and the reviews an outbreak nearby raises.

A unit carries its place in the grid (grid, community, street, district) copied from its compound
or venue, so scoping is one indexed filter (core.scoping). Every status change of a unit is a
:class:`UnitStatusChange` row: the resumption rates of any past day are computed from them.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel, TimeStampedModel
from geo.models import ancestor_column
from reopening.choices import (
    ACTIVE_APPLICATION,
    APPLICATION_COLOURS,
    UNIT_COLOURS,
    ApplicationStatus,
    ChecklistItem,
    EvidenceType,
    ReviewDecision,
    Sector,
    StatusSource,
    UnitKind,
    UnitStatus,
    Verdict,
)


class Unit(ChangeLoggedModel):
    """A school or an enterprise registered with the grid, with the people answerable for it."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
    }

    code = models.CharField(_("unit code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=UnitKind.choices)
    sector = models.CharField(_("sector or stage"), max_length=20, choices=Sector.choices)
    staff_count = models.PositiveIntegerField(_("staff"), default=0)
    pupils = models.PositiveIntegerField(_("pupils"), null=True, blank=True)
    compound = models.ForeignKey(
        "geo.Compound", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("compound")
    )
    venue = models.ForeignKey(
        "geo.Venue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("venue")
    )
    grid = ancestor_column(_("grid"))
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))
    status = models.CharField(_("status"), max_length=12, choices=UnitStatus.choices, default=UnitStatus.CLOSED)
    status_since = models.DateTimeField(_("status since"), null=True, blank=True)
    registered_on = models.DateField(_("registered on"), default=timezone.localdate)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["district", "status"], name="unit_district_status"),
            models.Index(fields=["compound", "status"], name="unit_compound_status"),
        ]
        permissions = [
            ("apply_reopening", _("File reopening applications and report staff back")),
            ("inspect_reopening", _("Inspect and decide reopening applications, review open units")),
            ("manage_units", _("Name the contacts of schools and enterprises")),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def status_colour(self) -> str:
        return UNIT_COLOURS.get(self.status, "#64748b")

    def fill_place(self) -> None:
        """Copy the grid, community, street and district from the venue, else the compound."""
        source = self.venue if self.venue_id else self.compound
        self.grid_id = source.grid_id if source is not None else None
        for column in ("community_id", "street_id", "district_id"):
            setattr(self, column, getattr(source, column, None))


class UnitContact(TimeStampedModel):
    """A person of the unit (role unit_contact) who files its applications and reports staff back.
    Contacts see their own units only, never through an assignment to the grid."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("unit"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unit_contacts", verbose_name=_("user")
    )

    class Meta:
        verbose_name = _("unit contact")
        verbose_name_plural = _("unit contacts")
        constraints = [models.UniqueConstraint(fields=["unit", "user"], name="unit_contact_once")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.unit_id}"


class UnitStatusChange(models.Model):
    """One move of a unit's status: the history the resumption rates are computed from."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="history", verbose_name=_("unit"))
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=12, choices=UnitStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=UnitStatus.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    source = models.CharField(_("source"), max_length=12, choices=StatusSource.choices)
    application = models.ForeignKey(
        "ReopeningApplication", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("unit status change")
        verbose_name_plural = _("unit status history")
        ordering = ["unit_id", "at", "id"]
        indexes = [models.Index(fields=["unit", "at"], name="unit_history_at")]
        constraints = [
            # a recorded (imported) change is kept once: re-importing the list changes nothing
            models.UniqueConstraint(
                fields=["unit", "at"], condition=models.Q(source="import"), name="unit_history_import_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.from_status}→{self.to_status} {self.at:%Y-%m-%d}"

    @property
    def to_colour(self) -> str:
        return UNIT_COLOURS.get(self.to_status, "#64748b")


class ReopeningApplication(ChangeLoggedModel):
    """A unit's request to reopen: the checklist of the policy edition in force when it was
    submitted (a later edition does not change it), evidence per item, verdicts and a decision."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="applications", verbose_name=_("unit"))
    status = models.CharField(
        _("status"), max_length=12, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    # the unit's status before it applied, restored on rejection or withdrawal
    unit_status_before = models.CharField(max_length=12, choices=UnitStatus.choices, blank=True)
    planned_on = models.DateField(_("planned reopening date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    policy_version = models.PositiveIntegerField(_("policy edition"), null=True, blank=True)
    checklist = models.JSONField(_("checklist as submitted"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    decision_reason = models.TextField(_("reasons for the decision"), blank=True)
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("task")
    )

    class Meta:
        verbose_name = _("reopening application")
        verbose_name_plural = _("reopening applications")
        ordering = ["-created_at", "-id"]
        constraints = [
            # one application in progress per unit
            models.UniqueConstraint(
                fields=["unit"], condition=models.Q(status__in=ACTIVE_APPLICATION), name="one_active_application"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.unit_id} {self.status}"

    @property
    def status_colour(self) -> str:
        return APPLICATION_COLOURS.get(self.status, "#64748b")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_APPLICATION


class ApplicationEvent(models.Model):
    """The domain event log of one application: status moves and verdicts, who and why."""

    application = models.ForeignKey(ReopeningApplication, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    from_status = models.CharField(max_length=12, choices=ApplicationStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ApplicationStatus.choices, blank=True)
    item = models.CharField(max_length=32, blank=True)
    verdict = models.CharField(max_length=12, choices=Verdict.choices, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.from_status}→{self.to_status} {self.item}"


class ChecklistEntry(models.Model):
    """One checklist item of an application, with the inspector's verdict."""

    application = models.ForeignKey(ReopeningApplication, on_delete=models.CASCADE, related_name="entries")
    item = models.CharField(_("item"), max_length=32)
    position = models.PositiveSmallIntegerField(default=0)
    # False when the policy in force at submission no longer names the item (kept, with its files)
    required = models.BooleanField(_("required"), default=True)
    verdict = models.CharField(_("verdict"), max_length=12, choices=Verdict.choices, default=Verdict.PENDING)
    verdict_reason = models.CharField(_("reason"), max_length=500, blank=True)
    verdict_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    verdict_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("checklist entry")
        verbose_name_plural = _("checklist entries")
        ordering = ["application_id", "-required", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["application", "item"], name="checklist_item_once")]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.item}"

    @property
    def label(self) -> str:
        return str(dict(ChecklistItem.choices).get(self.item, self.item))

    @property
    def verdict_colour(self) -> str:
        return Verdict(self.verdict).colour


def evidence_path(instance: Evidence, filename: str) -> str:
    """Files are named by the server, never by the uploader (no paths or names from outside)."""
    extension = {EvidenceType.JPEG: "jpg", EvidenceType.PNG: "png", EvidenceType.PDF: "pdf"}[instance.content_type]
    return f"reopening/{timezone.now():%Y/%m}/{secrets.token_hex(12)}.{extension}"


class Evidence(models.Model):
    """A photo or a PDF attached to one checklist item."""

    entry = models.ForeignKey(ChecklistEntry, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(_("file"), upload_to=evidence_path)
    content_type = models.CharField(_("type"), max_length=32, choices=EvidenceType.choices)
    size = models.PositiveIntegerField(_("bytes"))
    sha256 = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=120, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["entry_id", "uploaded_at", "id"]
        constraints = [models.UniqueConstraint(fields=["entry", "sha256"], name="evidence_once_per_item")]

    def __str__(self) -> str:
        return self.name or f"evidence {self.pk}"


class StaffReport(models.Model):
    """How many of a unit's staff were back at work on a day (the share of staff back)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="staff_reports", verbose_name=_("unit"))
    day = models.DateField(_("day"))
    staff_back = models.PositiveIntegerField(_("staff back"))
    source = models.CharField(_("source"), max_length=12, default="web")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)

    class Meta:
        verbose_name = _("staff report")
        verbose_name_plural = _("staff reports")
        ordering = ["unit_id", "-day"]
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="staff_report_once_a_day")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day} {self.staff_back}"


class UnitReview(TimeStampedModel):
    """An outbreak in an open unit's compound: the street decides to suspend it or keep it open."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("unit"))
    cases = models.PositiveIntegerField(_("confirmed cases"), default=0)
    first_case_at = models.DateTimeField(_("first case identified"), null=True, blank=True)
    decision = models.CharField(
        _("decision"), max_length=12, choices=ReviewDecision.choices, default=ReviewDecision.PENDING
    )
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("unit review")
        verbose_name_plural = _("unit reviews")
        ordering = ["-created_at", "-id"]
        constraints = [
            # one outbreak review at a time per unit: new cases while it waits join it
            models.UniqueConstraint(fields=["unit"], condition=models.Q(decision="pending"), name="one_pending_review")
        ]

    def __str__(self) -> str:
        return f"review {self.pk} of {self.unit_id}"

    @property
    def decision_colour(self) -> str:
        return ReviewDecision(self.decision).colour


class ReviewSweep(models.Model):
    """One run of the outbreak sweep: the window of case records it read (the next run starts where
    this one ended, so no case is read twice or missed)."""

    ran_at = models.DateTimeField(default=timezone.now)
    since = models.DateTimeField()
    until = models.DateTimeField()
    cases = models.PositiveIntegerField(default=0)
    reviews_opened = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-until", "-id"]

    def __str__(self) -> str:
        return f"sweep {self.since:%Y-%m-%d %H:%M}–{self.until:%H:%M}"

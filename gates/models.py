"""Gates, the checks recorded at them, closed management with its exit approvals, and supply
rounds for closed buildings."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel
from gates.choices import (
    ApprovalStatus,
    CheckRejectReason,
    ClosureRule,
    Decision,
    Direction,
    ExitPurpose,
    Method,
    RefusalReason,
)
from geo.models import ancestor_column
from people.models import PlacedByPerson

SCOPE = {"district": "district_id", "street": "street_id", "community": "community_id", "grid": "grid_id"}


class Gate(ChangeLoggedModel):
    """A checkpoint: a compound's gate (or a building's door) or a venue's entrance. Each gate is a
    venue (kind ``gate``) in the presence store, so its checks feed contact tracing."""

    scope_fields = SCOPE | {"compound": "compound_id"}

    code = models.CharField(_("gate code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    compound = models.ForeignKey(
        "geo.Compound",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="gates",
        verbose_name=_("compound"),
    )
    building = models.ForeignKey(
        "geo.Building",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="gates",
        verbose_name=_("building"),
    )
    venue = models.OneToOneField(
        "geo.Venue", on_delete=models.PROTECT, related_name="gate", verbose_name=_("venue (for tracing)")
    )
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    grid = ancestor_column(_("grid"))
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class GateCheck(PlacedByPerson):
    """One person checked at a gate: the 四必 (identity asked, information recorded, temperature
    taken, mask worn, domain.md §7), the direction, and what the gate decided."""

    client_id = models.UUIDField(_("device record id"), unique=True, default=uuid.uuid4)
    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="checks", verbose_name=_("gate"))
    person = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="gate_checks", verbose_name=_("person")
    )
    at = models.DateTimeField(_("checked at"), db_index=True)
    recorded_at = models.DateTimeField(_("received"), default=timezone.now)
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    method = models.CharField(_("identified by"), max_length=10, choices=Method.choices)
    identity_checked = models.BooleanField(_("identity asked"))
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True)
    mask = models.BooleanField(_("mask worn"))
    colour = models.CharField(_("code colour"), max_length=6, blank=True)
    token_verdict = models.CharField(_("code verdict"), max_length=12, blank=True)
    decision = models.CharField(_("decision"), max_length=6, choices=Decision.choices)
    refusal = models.CharField(_("why refused"), max_length=20, choices=RefusalReason.choices, blank=True)
    fever = models.BooleanField(_("fever"), default=False)
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approval = models.ForeignKey(
        "gates.ExitApproval", null=True, blank=True, on_delete=models.SET_NULL, related_name="used_by"
    )
    offline = models.BooleanField(_("recorded offline"), default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("gate check")
        verbose_name_plural = _("gate checks")
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["person", "at"], name="gatecheck_person_at"),
            models.Index(fields=["gate", "at"], name="gatecheck_gate_at"),
        ]

    def __str__(self) -> str:
        return f"{self.gate_id} {self.person_id} {self.direction} {self.at:%Y-%m-%d %H:%M}"


class GateCheckReject(models.Model):
    """A check the server could not record, kept whole with its reason (nothing is lost)."""

    client_id = models.UUIDField(_("device record id"), null=True, blank=True, db_index=True)
    gate_code = models.CharField(_("gate code"), max_length=32, blank=True)
    payload = models.JSONField(_("as sent"))
    reason = models.CharField(_("reason"), max_length=16, choices=CheckRejectReason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("refused gate record")
        verbose_name_plural = _("refused gate records")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.gate_code} {self.reason}"


class Closure(ChangeLoggedModel):
    """Closed management of a compound or one building (domain.md §7: e.g. 14 days, in only)."""

    scope_fields = SCOPE | {"compound": "compound_id"}

    compound = models.ForeignKey(
        "geo.Compound", on_delete=models.CASCADE, related_name="closures", verbose_name=_("compound")
    )
    building = models.ForeignKey(
        "geo.Building",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="closures",
        verbose_name=_("building (empty: the whole compound)"),
    )
    rule = models.CharField(_("rule"), max_length=10, choices=ClosureRule.choices, default=ClosureRule.IN_ONLY)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=300)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    grid = ancestor_column(_("grid"))

    class Meta:
        verbose_name = _("closed management")
        verbose_name_plural = _("closed management")
        ordering = ["-starts_at"]
        permissions = [("manage_closure", _("Put compounds under closed management and approve exits"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="closure_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        place = f"{self.compound_id}/{self.building_id or '*'}"
        return f"{place} {self.rule} {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"


class ExitApproval(PlacedByPerson):
    """Leave to exit a closed compound (a medical visit, dialysis, …): requested, decided by staff
    through a task, used at the gate."""

    closure = models.ForeignKey(Closure, on_delete=models.CASCADE, related_name="approvals")
    person = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="exit_approvals")
    purpose = models.CharField(_("purpose"), max_length=10, choices=ExitPurpose.choices)
    note = models.CharField(_("details"), max_length=300, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.REQUESTED
    )
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("exit approval")
        verbose_name_plural = _("exit approvals")
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.purpose} {self.status}"


class SupplyRound(models.Model):
    """One day's supply for a closed building (domain.md §7: e.g. the daily ¥10 vegetable package)."""

    scope_fields = SCOPE | {"compound": "compound_id", "building": "building_id"}

    closure = models.ForeignKey(Closure, on_delete=models.CASCADE, related_name="supply_rounds")
    building = models.ForeignKey("geo.Building", on_delete=models.CASCADE, related_name="+", verbose_name=_("building"))
    day = models.DateField(_("day"))
    item = models.CharField(_("item"), max_length=120)
    unit_price = models.DecimalField(_("price per household (¥)"), max_digits=8, decimal_places=2, default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    compound = ancestor_column(_("compound"), "geo.Compound")
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    grid = ancestor_column(_("grid"))

    class Meta:
        verbose_name = _("supply round")
        verbose_name_plural = _("supply rounds")
        ordering = ["-day", "building_id"]
        constraints = [models.UniqueConstraint(fields=["building", "day", "item"], name="supply_round_once_a_day")]

    def __str__(self) -> str:
        return f"{self.building_id} {self.day} {self.item}"


class SupplyDelivery(models.Model):
    """A household's package handed over (or noted as refused / nobody home)."""

    supply_round = models.ForeignKey(SupplyRound, on_delete=models.CASCADE, related_name="deliveries")
    household = models.ForeignKey("geo.Household", on_delete=models.CASCADE, related_name="+")
    delivered = models.BooleanField(_("delivered"), default=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [models.UniqueConstraint(fields=["supply_round", "household"], name="delivery_once_per_round")]

    def __str__(self) -> str:
        return f"{self.supply_round_id}/{self.household_id}"

"""Health codes: each resident's colour with its reasons, its history, signing keys, revocations,
declarations (GB/T 38962 data items), appeals and the verification log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel
from healthcode.choices import AppealStatus, ChangeCause, Colour, Rule, Verdict
from people.models import PlacedByPerson, Resident

PERSON_SCOPE = {level: f"person__{column}" for level, column in Resident.scope_fields.items()}


class HealthCode(models.Model):
    """A resident's current colour and why. ``subject`` is the random pseudonym a token carries:
    it names nobody to whoever reads the QR, and only this table maps it back to the person."""

    scope_fields = PERSON_SCOPE

    person = models.OneToOneField(
        Resident, primary_key=True, on_delete=models.CASCADE, related_name="health_code", verbose_name=_("person")
    )
    subject = models.CharField(_("pseudonymous subject"), max_length=24, unique=True)
    colour = models.CharField(_("colour"), max_length=6, choices=Colour.choices, db_index=True)
    reasons = models.JSONField(_("reasons"), default=list, help_text=_("[{rule, since, detail}] in force"))
    since = models.DateTimeField(_("colour since"))
    computed_at = models.DateTimeField(_("computed at"))
    policy_version = models.IntegerField(_("policy version"), null=True, blank=True)

    class Meta:
        verbose_name = _("health code")
        verbose_name_plural = _("health codes")

    def __str__(self) -> str:
        return f"{self.person_id}: {self.colour}"


class ColourChange(models.Model):
    """One change of a person's colour (history; the first issue is recorded too)."""

    scope_fields = PERSON_SCOPE

    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="colour_changes")
    at = models.DateTimeField(_("at"), db_index=True)
    from_colour = models.CharField(_("from"), max_length=6, choices=Colour.choices, blank=True)
    to_colour = models.CharField(_("to"), max_length=6, choices=Colour.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    cause = models.CharField(_("cause"), max_length=12, choices=ChangeCause.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("colour change")
        verbose_name_plural = _("colour history")
        ordering = ["person_id", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.from_colour}→{self.to_colour} at {self.at:%Y-%m-%d %H:%M}"


class SigningKey(models.Model):
    """An Ed25519 key pair. The private half is stored encrypted with a key derived from the
    server secret; the public half is published so gates can verify offline."""

    kid = models.CharField(_("key id"), max_length=8, unique=True)
    public_key = models.BinaryField(_("public key"))
    private_key_sealed = models.BinaryField(_("private key (encrypted)"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    retired_at = models.DateTimeField(_("stopped signing"), null=True, blank=True)
    verify_until = models.DateTimeField(
        _("verifies until"),
        null=True,
        blank=True,
        help_text=_("Empty while the key signs; then its last token's expiry"),
    )

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid


class Revocation(models.Model):
    """Either one token (``serial``) or every token of a subject issued before ``not_before``
    (written whenever a colour changes, so an old green token cannot pass after a turn to red)."""

    serial = models.CharField(_("token serial"), max_length=12, blank=True, db_index=True)
    subject = models.CharField(_("subject"), max_length=24, blank=True, db_index=True)
    not_before = models.DateTimeField(_("tokens issued before"), null=True, blank=True)
    keep_until = models.DateTimeField(_("listed until"), db_index=True)
    reason = models.CharField(_("reason"), max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("revocation")
        verbose_name_plural = _("revocations")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(serial="") & ~models.Q(subject="") & models.Q(not_before__isnull=False))
                | (~models.Q(serial="") & models.Q(subject="")),
                name="revocation_serial_or_subject",
            )
        ]

    def __str__(self) -> str:
        return self.serial or f"{self.subject}<{self.not_before:%Y-%m-%d %H:%M}"


class Verification(models.Model):
    """The verification log: what was asked and answered, and by whom; no subject and no person,
    because a gate's check is recorded (with its person) by the gates app when it is a passage."""

    at = models.DateTimeField(_("at"), db_index=True)
    verdict = models.CharField(_("verdict"), max_length=12, choices=Verdict.choices)
    colour = models.CharField(_("colour"), max_length=6, choices=Colour.choices, blank=True)
    kid = models.CharField(_("key id"), max_length=8, blank=True)
    serial = models.CharField(_("token serial"), max_length=12, blank=True)
    user_id = models.IntegerField(_("verifier"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verification log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.verdict}"


class HealthDeclaration(PlacedByPerson):
    """GB/T 38962 health declaration: temperature, symptoms, underlying conditions, contact."""

    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="health_declarations")
    at = models.DateTimeField(_("declared at"), default=timezone.now, db_index=True)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    conditions = models.CharField(_("underlying conditions"), max_length=200, blank=True)
    contact_with_case = models.BooleanField(_("contact with a case in the last 14 days"), default=False)
    channel = models.CharField(_("channel"), max_length=12, default="resident")

    class Meta:
        verbose_name = _("health declaration")
        verbose_name_plural = _("health declarations")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.at:%Y-%m-%d %H:%M}"


class TripDeclaration(PlacedByPerson):
    """GB/T 38962 trip declaration: where the person came from and when they arrived."""

    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="trip_declarations")
    declared_at = models.DateTimeField(_("declared at"), default=timezone.now)
    arrived_at = models.DateTimeField(_("arrived at"), db_index=True)
    origin_area_code = models.CharField(_("from (area code)"), max_length=12)
    origin_area_name = models.CharField(_("from"), max_length=100, blank=True)
    mode = models.CharField(_("mode"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("trip declaration")
        verbose_name_plural = _("trip declarations")
        ordering = ["-arrived_at"]

    def __str__(self) -> str:
        return f"{self.person_id} from {self.origin_area_code} {self.arrived_at:%Y-%m-%d}"


class TravelRiskLevel(models.TextChoices):
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class TravelRiskArea(ChangeLoggedModel):
    """A medium- or high-risk area elsewhere, as published by the national list, by area code
    prefix (a 6-digit county code covers its streets). Arrivals from it colour codes."""

    area_code = models.CharField(_("area code (prefix)"), max_length=12, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("risk level"), max_length=8, choices=TravelRiskLevel.choices)
    valid_from = models.DateTimeField(_("from"))
    valid_until = models.DateTimeField(_("until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("risk area elsewhere")
        verbose_name_plural = _("risk areas elsewhere")
        ordering = ["area_code"]

    def __str__(self) -> str:
        return f"{self.area_code} {self.name} ({self.level})"


class Appeal(PlacedByPerson):
    """The GB/T 38963 correction interface: a resident disputes their colour; staff decide."""

    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="code_appeals")
    at = models.DateTimeField(_("filed at"), default=timezone.now)
    colour = models.CharField(_("colour when filed"), max_length=6, choices=Colour.choices)
    reasons = models.JSONField(_("reasons when filed"), default=list)
    statement = models.TextField(_("statement"))
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN)
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision"), max_length=300, blank=True)
    withdrawn_rules = models.JSONField(_("reasons withdrawn"), default=list, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-at"]
        permissions = [("decide_appeal", _("Decide appeals against a health code"))]

    def __str__(self) -> str:
        return f"appeal {self.pk} by {self.person_id} ({self.status})"


class ReasonWithdrawal(models.Model):
    """A corrected appeal withdraws one non-category reason (a faulty thermometer reading, a wrong
    trip record) for a person: facts up to ``up_to`` under that rule no longer count."""

    person = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    rule = models.CharField(_("rule"), max_length=20, choices=Rule.choices)
    up_to = models.DateTimeField(_("facts up to"))
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="withdrawals")

    class Meta:
        verbose_name = _("withdrawn reason")
        verbose_name_plural = _("withdrawn reasons")
        indexes = [models.Index(fields=["person", "rule"], name="withdrawal_person_rule")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.rule} ≤ {self.up_to:%Y-%m-%d %H:%M}"

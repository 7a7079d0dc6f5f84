"""Gate checks (四必) and closed management: domain.md §7."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    IN = "in", _("In")
    OUT = "out", _("Out")
    PASS = "pass", _("Passing")


class Decision(models.TextChoices):
    ALLOW = "allow", _("Let through")
    REFUSE = "refuse", _("Refused")


class Method(models.TextChoices):
    CODE = "code", _("Health code scanned")
    ID_NUMBER = "id_number", _("ID number typed")


class RefusalReason(models.TextChoices):
    IDENTITY_NOT_CHECKED = "identity", _("Identity not asked")
    RED_CODE = "red_code", _("Red code")
    YELLOW_CODE = "yellow_code", _("Yellow code: not allowed in")
    BAD_CODE = "bad_code", _("The code is expired, revoked or not genuine")
    NO_MASK = "no_mask", _("No mask")
    FEVER = "fever", _("Temperature at or above the fever threshold")
    EXIT_NOT_APPROVED = "exit_not_approved", _("Closed management: exit not approved")
    ENTRY_CLOSED = "entry_closed", _("Closed management: no entry")


class ClosureRule(models.TextChoices):
    IN_ONLY = "in_only", _("In only: entries allowed, exits only when approved")
    SEALED = "sealed", _("Sealed: no entry and no exit unless approved")


class ApprovalStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class ExitPurpose(models.TextChoices):
    MEDICAL = "medical", _("Medical visit")
    DIALYSIS = "dialysis", _("Dialysis or regular treatment")
    WORK = "work", _("Essential work")
    FAMILY = "family", _("Family emergency")
    OTHER = "other", _("Other")


class CheckRejectReason(models.TextChoices):
    UNKNOWN_GATE = "unknown_gate", _("Unknown gate")
    BAD_CODE = "bad_code", _("The health code is not genuine (forged, altered or signed by an unknown key)")
    NO_IDENTITY = "no_identity", _("Neither a health code nor an ID number")
    UNKNOWN_PERSON = "unknown_person", _("Nobody with this code or ID number")
    BAD_ID_NUMBER = "bad_id_number", _("The ID number fails its check digit")
    BAD_VALUE = "bad_value", _("A value is out of range or malformed")
    OUT_OF_SCOPE = "out_of_scope", _("The gate is outside your jurisdiction")

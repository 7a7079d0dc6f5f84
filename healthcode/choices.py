"""Colours, the reasons behind them, and what a verifier can say about a token: domain.md §6."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Colour(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


# The order used to pick a person's colour from several reasons: the most severe wins.
SEVERITY = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}
COLOUR_BYTE = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}
BYTE_COLOUR = {value: key for key, value in COLOUR_BYTE.items()}
HEX = {Colour.GREEN: "#15803d", Colour.YELLOW: "#ca8a04", Colour.RED: "#b91c1c"}


class Rule(models.TextChoices):
    """Every reason a code can have; the colour each gives is in policy (healthcode_rules)."""

    CONFIRMED = "confirmed", _("Confirmed case")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic infection")
    SUSPECTED = "suspected", _("Suspected case")
    CENTRAL_ISOLATION = "central_isolation", _("Under central isolation or quarantine")
    CLOSE_CONTACT = "close_contact", _("Close contact under observation")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary contact under observation")
    FEVER = "fever", _("Fever reported by a clinic")
    GATE_FEVER = "gate_fever", _("Temperature at or above the fever threshold at a checkpoint")
    DECLARED_SYMPTOMS = "declared_symptoms", _("Fever or symptoms in the health declaration")
    TRAVEL_HIGH = "travel_high", _("Recent arrival from a high-risk area")
    TRAVEL_MEDIUM = "travel_medium", _("Recent arrival from a medium-risk area")
    TEST_OVERDUE = "test_overdue", _("Required test overdue")
    POOL_HOLD = "pool_hold", _("In a positive pooled tube; individual re-test pending")


# Reasons that rest on the person's category: only a case decision (cases app) can change them,
# never an appeal here, so nobody can turn a code red or green by hand (issue #11: Zhengzhou).
CATEGORY_RULES = frozenset(
    {
        Rule.CONFIRMED,
        Rule.ASYMPTOMATIC,
        Rule.SUSPECTED,
        Rule.CENTRAL_ISOLATION,
        Rule.CLOSE_CONTACT,
        Rule.SECONDARY_CONTACT,
        Rule.FEVER,
    }
)


class Verdict(models.TextChoices):
    VALID = "valid", _("Valid")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")
    FORGED = "forged", _("Forged or altered")
    UNKNOWN_KEY = "unknown_key", _("Signed by an unknown key")
    MALFORMED = "malformed", _("Not a Linli health code")


class ChangeCause(models.TextChoices):
    BATCH = "batch", _("Nightly batch")
    CASE = "case", _("Category change")
    GATE = "gate", _("Checkpoint reading")
    DECLARATION = "declaration", _("Declaration")
    TRAVEL = "travel", _("Travel record")
    APPEAL = "appeal", _("Appeal decision")
    TASK = "task", _("Task")
    TEST = "test", _("Test result")
    FIRST = "first", _("First issue")


class AppealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CORRECTED = "corrected", _("Corrected")
    UPHELD = "upheld", _("Colour upheld")

"""Choices of the task engine: types, the GB/T 30428 statuses (each with a colour), levels, events."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskType(models.TextChoices):
    NOTIFY = "notify", _("Notify")
    TRANSFER = "transfer", _("Transfer")
    INVESTIGATE = "investigate", _("Investigate")
    TEST = "test", _("Test")
    FOLLOW_UP = "follow_up", _("Follow up")
    VERIFY = "verify", _("Verify")
    REVIEW = "review", _("Review")
    RELEASE = "release", _("Release")
    HELP = "help", _("Help request")
    DISINFECT = "disinfect", _("Disinfect")
    REFER = "refer", _("Refer to a fever clinic")
    RECALL = "recall", _("Re-swab after a positive pool")
    HOME_SAMPLE = "home_sample", _("Sample at home")
    DOOR_TO_DOOR = "door_to_door", _("Door-to-door check of the untested")
    CARE_VISIT = "care_visit", _("Key-group visit")
    DELIVER = "deliver", _("Deliver supplies")
    DRIVE = "drive", _("Transport run")
    RESTOCK = "restock", _("Restock a reserve")
    VERIFY_SIGNAL = "verify_signal", _("Verify an early-warning alert")
    INSPECT = "inspect", _("Inspect on site (reopening, renovation)")
    UNIT_REVIEW = "unit_review", _("Review an open unit after an outbreak")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    """domain.md §9 (GB/T 30428): report → register → dispatch → handle → feed back → verify and
    close → evaluate; plus cancelled. Allowed moves are in tasks.flow.TRANSITIONS."""

    REPORTED = "reported", _("Reported")
    REGISTERED = "registered", _("Registered")
    DISPATCHED = "dispatched", _("Dispatched")
    HANDLING = "handling", _("Handling")
    FED_BACK = "fed_back", _("Fed back")
    CLOSED = "closed", _("Verified and closed")
    EVALUATED = "evaluated", _("Evaluated")
    CANCELLED = "cancelled", _("Cancelled")

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self.value]


STATUS_COLOURS = {
    TaskStatus.REPORTED: "#64748b",
    TaskStatus.REGISTERED: "#0369a1",
    TaskStatus.DISPATCHED: "#4338ca",
    TaskStatus.HANDLING: "#b45309",
    TaskStatus.FED_BACK: "#7c3aed",
    TaskStatus.CLOSED: "#15803d",
    TaskStatus.EVALUATED: "#166534",
    TaskStatus.CANCELLED: "#9ca3af",
}


class TaskLevel(models.TextChoices):
    """The node of the 包保 chain a task is assigned at, bottom-up (geo.services.answerable_chain)."""

    BUILDING = "building", _("Building")
    COMPOUND = "compound", _("Compound")
    GRID = "grid", _("Grid")
    COMMUNITY = "community", _("Community")
    STREET = "street", _("Street")
    DISTRICT = "district", _("District")
    CITY = "city", _("City")


# bottom-up: escalation moves a task to the right
CHAIN = [level.value for level in TaskLevel]


class TaskEventAction(models.TextChoices):
    TRANSITION = "transition", _("Status change")
    ASSIGN = "assign", _("Assigned")
    ESCALATE = "escalate", _("Escalated")
    COMMENT = "comment", _("Comment")


class TaskEvaluation(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to you")
    ESCALATED = "escalated", _("Escalated to you")
    TAKEN_OVER = "taken_over", _("Handed to someone else")
    FED_BACK = "fed_back", _("Fed back, to verify")
    SENT_BACK = "sent_back", _("Sent back")
    PAGED = "paged", _("Urgent: paged to the level above")
    INFO = "info", _("Information")

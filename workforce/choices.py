"""Choices of the workforce app: kinds of front-line workers, rotation plan statuses, planned days,
and the confidential support requests (what is wanted, where a request stands). Each status has a
colour; the allowed moves of each workflow live in one table here."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerKind(models.TextChoices):
    """Who works the grid (issue #12 item 3; domain.md §1: staff, cadres and volunteers at any level)."""

    COMMUNITY_WORKER = "community_worker", _("Community worker")
    GRID_WORKER = "grid_worker", _("Grid worker")
    CADRE = "cadre", _("Sent-down cadre (下沉干部)")
    VOLUNTEER = "volunteer", _("Volunteer")


class PlanStatus(models.TextChoices):
    """proposed → accepted (its days become the roster) or discarded."""

    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    DISCARDED = "discarded", _("Discarded")

    @property
    def colour(self) -> str:
        return PLAN_STATUS_COLOURS[self.value]


PLAN_STATUS_COLOURS = {
    PlanStatus.PROPOSED: "#0369a1",
    PlanStatus.ACCEPTED: "#15803d",
    PlanStatus.DISCARDED: "#9ca3af",
}

PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    PlanStatus.PROPOSED: frozenset({PlanStatus.ACCEPTED, PlanStatus.DISCARDED}),
    PlanStatus.ACCEPTED: frozenset(),
    PlanStatus.DISCARDED: frozenset(),
}


class RosterState(models.TextChoices):
    """A worker's planned day: on duty, resting, or on leave (unavailable)."""

    DUTY = "duty", _("On duty")
    REST = "rest", _("Rest")
    LEAVE = "leave", _("Leave")

    @property
    def colour(self) -> str:
        return ROSTER_STATE_COLOURS[self.value]


ROSTER_STATE_COLOURS = {RosterState.DUTY: "#1d4ed8", RosterState.REST: "#15803d", RosterState.LEAVE: "#9ca3af"}


class SupportWant(models.TextChoices):
    """What the person asking for psychological support wants."""

    TALK = "talk", _("A talk with a counsellor")
    CALL_BACK = "call_back", _("A call back")
    URGENT = "urgent", _("Urgent: as soon as possible")


class SupportStatus(models.TextChoices):
    """assigned (to a counsellor) → accepted → scheduled → closed; closing is possible from any open step."""

    ASSIGNED = "assigned", _("Waiting for the counsellor")
    ACCEPTED = "accepted", _("Accepted by the counsellor")
    SCHEDULED = "scheduled", _("Scheduled")
    CLOSED = "closed", _("Closed")

    @property
    def colour(self) -> str:
        return SUPPORT_STATUS_COLOURS[self.value]


SUPPORT_STATUS_COLOURS = {
    SupportStatus.ASSIGNED: "#b45309",
    SupportStatus.ACCEPTED: "#0369a1",
    SupportStatus.SCHEDULED: "#4338ca",
    SupportStatus.CLOSED: "#15803d",
}

SUPPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    SupportStatus.ASSIGNED: frozenset({SupportStatus.ACCEPTED, SupportStatus.SCHEDULED, SupportStatus.CLOSED}),
    SupportStatus.ACCEPTED: frozenset({SupportStatus.SCHEDULED, SupportStatus.CLOSED}),
    SupportStatus.SCHEDULED: frozenset({SupportStatus.SCHEDULED, SupportStatus.CLOSED}),  # may be rescheduled
    SupportStatus.CLOSED: frozenset(),
}
OPEN_SUPPORT = (SupportStatus.ASSIGNED, SupportStatus.ACCEPTED, SupportStatus.SCHEDULED)


class TransitionRefused(ValueError):
    """A status change the workflow's table does not allow; nothing was written."""


def allowed(table: dict[str, frozenset[str]], from_status: str, to_status: str) -> bool:
    return to_status in table.get(from_status, frozenset())

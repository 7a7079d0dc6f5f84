"""Choices of the renovation programme: a project's status (with its colour and the one table of
allowed steps), the kinds of works, funding sources and consultation kinds."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProjectStatus(models.TextChoices):
    SELECTED = "selected", _("Selected")
    PLANNED = "planned", _("Planned")
    STARTED = "started", _("Works started")
    FINISHED = "finished", _("Finished")
    CANCELLED = "cancelled", _("Cancelled")


STATUS_COLOURS = {
    ProjectStatus.SELECTED: "#64748b",
    ProjectStatus.PLANNED: "#2563eb",
    ProjectStatus.STARTED: "#b45309",
    ProjectStatus.FINISHED: "#15803d",
    ProjectStatus.CANCELLED: "#9ca3af",
}

# The one table of allowed steps: selected → planned → started → finished, or cancelled before the
# works are finished. A finished or cancelled project does not move again.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ProjectStatus.SELECTED: (ProjectStatus.PLANNED, ProjectStatus.CANCELLED),
    ProjectStatus.PLANNED: (ProjectStatus.STARTED, ProjectStatus.CANCELLED),
    ProjectStatus.STARTED: (ProjectStatus.FINISHED, ProjectStatus.CANCELLED),
    ProjectStatus.FINISHED: (),
    ProjectStatus.CANCELLED: (),
}
ACTIVE = (ProjectStatus.SELECTED, ProjectStatus.PLANNED, ProjectStatus.STARTED, ProjectStatus.FINISHED)
# the order of the steps, for "reached at least" comparisons (a finished project was also started)
STEP_ORDER = (ProjectStatus.SELECTED, ProjectStatus.PLANNED, ProjectStatus.STARTED, ProjectStatus.FINISHED)


class WorkKind(models.TextChoices):
    """The contents of old-compound renovation (国办发〔2020〕23号: basic, improvement and upgrading works)."""

    PIPES = "pipes", _("Water, drainage, gas and power pipes")
    ROOFS = "roofs", _("Roofs and waterproofing")
    WALLS = "walls", _("Exterior walls and insulation")
    ELEVATOR = "elevator", _("Elevator added (加装电梯)")
    LIGHTING = "lighting", _("Lighting")
    PARKING = "parking", _("Parking and charging")
    ACCESS = "access", _("Barrier-free access")
    FIRE = "fire", _("Fire safety")
    GREENERY = "greenery", _("Greenery and public space")
    OTHER = "other", _("Other")


WORK_UNITS = {
    WorkKind.PIPES: "m",
    WorkKind.ROOFS: "m²",
    WorkKind.WALLS: "m²",
    WorkKind.ELEVATOR: "台",
    WorkKind.LIGHTING: "盏",
    WorkKind.PARKING: "个",
    WorkKind.ACCESS: "处",
    WorkKind.FIRE: "处",
    WorkKind.GREENERY: "m²",
    WorkKind.OTHER: "项",
}


class WorkStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    FINISHED = "finished", _("Finished")
    DROPPED = "dropped", _("Dropped")


WORK_STATUS_COLOURS = {
    WorkStatus.PLANNED: "#2563eb",
    WorkStatus.IN_PROGRESS: "#b45309",
    WorkStatus.FINISHED: "#15803d",
    WorkStatus.DROPPED: "#9ca3af",
}
WORK_DONE = (WorkStatus.FINISHED, WorkStatus.DROPPED)  # a dropped item no longer holds a project back


class FundingSource(models.TextChoices):
    """Where a project's money comes from (国办发〔2020〕23号: governments, residents' own share, enterprises)."""

    CENTRAL = "central", _("Central subsidy")
    PROVINCIAL = "provincial", _("Provincial")
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    RESIDENTS = "residents", _("Residents' own")
    ENTERPRISE = "enterprise", _("Enterprises")


class ConsultationKind(models.TextChoices):
    SURVEY = "survey", _("Opinion survey")
    HEARING = "hearing", _("Hearing")
    NOTICE = "notice", _("Public notice (公示)")
    VOTE = "vote", _("Owners' vote")

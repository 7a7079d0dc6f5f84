"""Tasks: every finding becomes a task a named person does before a deadline (domain.md §9).

A task is about exactly one subject (a resident, household, building, compound or venue) and
carries the subject's place in the grid as real foreign keys (district … building), copied in one
place (:meth:`Task.set_subject`), so that jurisdiction scoping (core.scoping) is one indexed filter.
Status changes follow tasks.flow.TRANSITIONS and each writes a :class:`TaskEvent`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel, exactly_one_of
from tasks.choices import (
    STATUS_COLOURS,
    NotificationKind,
    TaskEvaluation,
    TaskEventAction,
    TaskLevel,
    TaskStatus,
    TaskType,
)
from tasks.flow import ACTIVE, OPEN

SUBJECT_FIELDS = (
    "resident",
    "household",
    "subject_building",
    "subject_compound",
    "venue",
    "subject_division",
    "subject_facility",
)
SCOPE_COLUMNS = ("district", "street", "community", "grid", "compound", "building")


def _scope(to: str, verbose) -> models.ForeignKey:
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=verbose
    )


def _subject(to: str, verbose, *, indexed: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=verbose,
        db_index=indexed,
    )


def _sparse_index(field: str, name: str) -> models.Index:
    """An index of the rows where a mostly-empty foreign key is set: the overdue sweep and bulk
    updates of a million tasks need not maintain an entry for every task without one."""
    return models.Index(fields=[field], name=name, condition=models.Q(**{f"{field}__isnull": False}))


class Task(ChangeLoggedModel):
    """One piece of work for one named person, with a deadline, escalating up the 包保 chain when late."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
        "building": "building_id",
    }

    task_type = models.CharField(_("type"), max_length=16, choices=TaskType.choices)
    title = models.CharField(_("title"), max_length=200)
    detail = models.TextField(_("detail"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.REPORTED)

    # the subject: exactly one of these (CheckConstraint below)
    resident = _subject("people.Resident", _("resident"))
    household = _subject("geo.Household", _("household"), indexed=False)
    subject_building = _subject("geo.Building", _("building"), indexed=False)
    subject_compound = _subject("geo.Compound", _("compound"), indexed=False)
    venue = _subject("geo.Venue", _("venue"), indexed=False)
    # an area itself (a community's or the city's reserve) or a facility (a hospital's stock, its beds)
    subject_division = _subject("geo.Division", _("area"), indexed=False)
    subject_facility = _subject("beds.Facility", _("facility"), indexed=False)

    # where the subject is, copied from it by set_subject (scoping and the escalation chain)
    district = _scope("geo.Division", _("district"))
    street = _scope("geo.Division", _("street"))
    community = _scope("geo.Division", _("community"))
    grid = _scope("geo.Division", _("grid"))
    compound = _scope("geo.Compound", _("compound"))
    building = _scope("geo.Building", _("building"))

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name=_("assignee"),
        db_index=False,  # covered by task_assignee_status
    )
    assigned_level = models.CharField(_("assigned at level"), max_length=16, choices=TaskLevel.choices, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("times escalated"), default=0)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    due_at = models.DateTimeField(_("due at"))
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)  # indexed by task_source
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("opened by"),
        db_index=False,  # task_opened_by (partial)
    )
    evaluation = models.CharField(_("evaluation"), max_length=16, choices=TaskEvaluation.choices, blank=True)
    feedback = models.TextField(_("feedback"), blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=exactly_one_of(*SUBJECT_FIELDS),
                name="task_exactly_one_subject",
            ),
            # re-running the rule that opened a task must not open it twice
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~models.Q(dedupe_key=""), name="task_dedupe_key_unique"
            ),
        ]
        indexes = [
            # the overdue sweep: status IN (active) AND due_at < now
            models.Index(fields=["status", "due_at"], name="task_status_due"),
            # "assigned to me"
            models.Index(fields=["assignee", "status"], name="task_assignee_status"),
            # the tasks a rule opened ("case_report:123"); a Meta index, so PostgreSQL gets no second
            # LIKE index that every update of a million rows would have to maintain too
            models.Index(fields=["source"], name="task_source"),
            _sparse_index("household", "task_household"),
            _sparse_index("subject_building", "task_subject_building"),
            _sparse_index("subject_compound", "task_subject_compound"),
            _sparse_index("venue", "task_venue"),
            _sparse_index("subject_division", "task_subject_division"),
            _sparse_index("subject_facility", "task_subject_facility"),
            _sparse_index("opened_by", "task_opened_by"),
        ]
        permissions = [("manage_task", _("Assign, reassign, verify, close and cancel tasks"))]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    # --- subject ---------------------------------------------------------------------------------

    @property
    def subject(self):
        for name in SUBJECT_FIELDS:
            if getattr(self, f"{name}_id") is not None:
                return getattr(self, name)
        return None

    @property
    def subject_kind(self) -> str:
        for name in SUBJECT_FIELDS:
            if getattr(self, f"{name}_id") is not None:
                return name.removeprefix("subject_")
        return ""

    def set_subject(self, subject) -> None:
        """Point the task at ``subject`` and copy the subject's place in the grid (the one place)."""
        from beds.models import Facility
        from geo.models import Building, Compound, Division, Household, Venue
        from people.models import Resident

        for name in SUBJECT_FIELDS:
            setattr(self, f"{name}_id", None)
        ids = dict.fromkeys(SCOPE_COLUMNS)
        if isinstance(subject, Resident):
            self.resident = subject
            ids |= {col: getattr(subject, f"{col}_id") for col in SCOPE_COLUMNS}
        elif isinstance(subject, Household):
            self.household = subject
            ids |= {col: getattr(subject, f"{col}_id") for col in SCOPE_COLUMNS if col != "building"}
            ids["building"] = subject.building_id
        elif isinstance(subject, Building):
            self.subject_building = subject
            ids |= {col: getattr(subject, f"{col}_id") for col in SCOPE_COLUMNS if col != "building"}
            ids["building"] = subject.pk
        elif isinstance(subject, Compound):
            self.subject_compound = subject
            ids |= {col: getattr(subject, f"{col}_id") for col in ("district", "street", "community", "grid")}
            ids["compound"] = subject.pk
        elif isinstance(subject, Venue):
            self.venue = subject
            ids |= {col: getattr(subject, f"{col}_id") for col in ("district", "street", "community", "grid")}
        elif isinstance(subject, Division):
            self.subject_division = subject
            ids |= {col: getattr(subject, f"{col}_id", None) for col in ("district", "street", "community")}
            if subject.level in ("district", "street", "community", "grid"):
                ids[subject.level] = subject.pk
            if subject.level == "grid":
                ids["community"] = subject.parent_id
        elif isinstance(subject, Facility):
            self.subject_facility = subject
            ids["district"] = subject.district_id
        else:
            raise TypeError(f"a task cannot be about a {type(subject).__name__}")
        for col, value in ids.items():
            setattr(self, f"{col}_id", value)

    # --- time ------------------------------------------------------------------------------------

    @property
    def status_colour(self) -> str:
        return STATUS_COLOURS.get(self.status, "#64748b")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_active(self) -> bool:
        """Waiting for the assignee: the deadline applies."""
        return self.status in ACTIVE

    def is_overdue(self, now=None) -> bool:
        return self.status in ACTIVE and self.due_at < (now or timezone.now())

    @property
    def overdue(self) -> bool:
        return self.is_overdue()


class TaskEvent(models.Model):
    """The domain event log of one task: status changes, assignments, escalations, comments."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events", verbose_name=_("task"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
        db_index=False,
    )
    action = models.CharField(_("action"), max_length=16, choices=TaskEventAction.choices)
    from_status = models.CharField(_("from"), max_length=16, choices=TaskStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=TaskStatus.choices, blank=True)
    # who has the task after this event, and at which level
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assignee"),
        db_index=False,
    )
    level = models.CharField(_("level"), max_length=16, choices=TaskLevel.choices, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        ordering = ["at", "id"]
        indexes = [_sparse_index("user", "taskevent_user")]

    def __str__(self) -> str:
        return f"{self.task_id} {self.action} {self.from_status}→{self.to_status}"

    @property
    def status_colour(self) -> str:
        return STATUS_COLOURS.get(self.to_status, "#64748b")


class Notification(models.Model):
    """One message in a user's in-app inbox (the inbox sender of tasks.notify)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("user"),
        db_index=False,  # covered by notification_user_unread
    )
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("task")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NotificationKind.choices)
    message = models.TextField(_("message"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.message[:40]}"

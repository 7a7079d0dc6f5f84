"""The people who do the work (issue #12 item 3): front-line workers and their posts on the grid, the
days and hours they worked, leave, rotation plans and the roster they become, training courses with
completions, and confidential requests for psychological support.

Workers, duty days and plans carry their place's district, street and community (and grid) so
scoping them to a jurisdiction is one filter (core.scoping). A :class:`SupportRequest` has no place
and no ``scope_fields`` on purpose: nobody's jurisdiction covers it; only its requester and its
counsellor may open it (workforce.support).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel
from geo.models import ancestor_column
from workforce.choices import PlanStatus, RosterState, SupportStatus, SupportWant, WorkerKind

PLACE_SCOPE = {"district": "district_id", "street": "street_id", "community": "community_id", "grid": "grid_id"}


class Worker(ChangeLoggedModel):
    """A person on the front line, posted to one grid (their current :class:`Post`, copied here with
    its ancestors for scoping)."""

    scope_fields = PLACE_SCOPE

    code = models.CharField(_("worker code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=WorkerKind.choices)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    organisation = models.CharField(_("sending organisation"), max_length=120, blank=True)  # cadres: their unit
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="worker",
        verbose_name=_("login"),
    )
    grid = ancestor_column(_("grid"))
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("front-line worker")
        verbose_name_plural = _("front-line workers")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["grid"], name="worker_grid"),
            models.Index(fields=["community"], name="worker_community"),
            models.Index(fields=["street"], name="worker_street"),
            models.Index(fields=["district"], name="worker_district"),
        ]
        permissions = [
            ("view_roster", _("See front-line workers, their duty days and training")),
            ("plan_rotation", _("Propose, accept and discard rotation plans; record leave")),
            ("counsel", _("Take confidential requests for psychological support")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Post(models.Model):
    """A worker's posting to a grid from ``starts_on`` until the day before ``ends_on`` (open: still
    there). The history behind Worker.grid."""

    scope_fields = PLACE_SCOPE

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="posts", verbose_name=_("worker"))
    grid = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="workforce_posts", verbose_name=_("grid")
    )
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until (exclusive)"), null=True, blank=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["worker", "-starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker"], condition=models.Q(ends_on__isnull=True), name="post_one_open_per_worker"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} @ {self.grid_id} from {self.starts_on}"


class DutyDay(models.Model):
    """A day a worker actually worked, on which grid, for how many hours (0 hours: a recorded day off).
    From the ``duty_roster`` import; keyed by worker and day."""

    scope_fields = PLACE_SCOPE

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="duty_days", verbose_name=_("worker"))
    day = models.DateField(_("day"))
    grid = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="workforce_duty_days", verbose_name=_("grid")
    )
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))
    hours = models.DecimalField(_("hours"), max_digits=4, decimal_places=1)
    batch = models.ForeignKey(
        "core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("import")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("duty day")
        verbose_name_plural = _("duty days")
        ordering = ["worker", "day"]
        constraints = [
            models.UniqueConstraint(fields=["worker", "day"], name="dutyday_one_per_worker_day"),
            models.CheckConstraint(condition=models.Q(hours__gte=0, hours__lte=24), name="dutyday_hours_in_a_day"),
        ]
        indexes = [models.Index(fields=["day", "grid"], name="dutyday_day_grid")]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.day}: {self.hours} h"


class Leave(ChangeLoggedModel):
    """Days a worker is not available (sick, family, training away): the planner rests them."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="leaves", verbose_name=_("worker"))
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("leave")
        verbose_name_plural = _("leave")
        ordering = ["worker", "starts_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="leave_order")
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.starts_on}–{self.ends_on}"


class GridStaffing(ChangeLoggedModel):
    """A grid's own minimum staff on duty, overriding the policy's ``grid_min_staff_on_duty``."""

    grid = models.OneToOneField(
        "geo.Division", on_delete=models.CASCADE, related_name="workforce_staffing", verbose_name=_("grid")
    )
    min_staff = models.PositiveSmallIntegerField(_("minimum staff on duty"))

    class Meta:
        verbose_name = _("grid staffing minimum")
        verbose_name_plural = _("grid staffing minimums")

    def __str__(self) -> str:
        return f"{self.grid_id}: {self.min_staff}"


class RotationPlan(ChangeLoggedModel):
    """A proposed rest/duty plan for the workers of a street or community over a horizon of days, with
    the policy values it was made under and what the solver found (shortfalls by grid and day)."""

    scope_fields = {"district": "district_id", "street": "street_id", "community": "community_id"}

    area = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="rotation_plans", verbose_name=_("area")
    )
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))
    starts_on = models.DateField(_("first day"))
    days = models.PositiveSmallIntegerField(_("days"))
    status = models.CharField(_("status"), max_length=12, choices=PlanStatus.choices, default=PlanStatus.PROPOSED)
    max_consecutive_days = models.PositiveSmallIntegerField(_("most consecutive duty days"))
    max_weekly_hours = models.PositiveSmallIntegerField(_("most hours in 7 days"))
    shift_hours = models.DecimalField(_("hours of a planned duty day"), max_digits=4, decimal_places=1)
    workers = models.PositiveIntegerField(_("workers"), default=0)
    grids = models.PositiveIntegerField(_("grids"), default=0)
    shortfall = models.PositiveIntegerField(_("staff short (person-days)"), default=0)
    shortfalls = models.JSONField(_("short grid-days"), default=list, blank=True)  # [{grid, code, name, day, short}]
    solver = models.CharField(_("solver"), max_length=40, blank=True)
    solver_status = models.CharField(_("solver status"), max_length=200, blank=True)
    solve_seconds = models.FloatField(_("solve time (s)"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rotation plan")
        verbose_name_plural = _("rotation plans")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["district"], name="rotplan_district"),
            models.Index(fields=["street"], name="rotplan_street"),
            models.Index(fields=["community"], name="rotplan_community"),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.starts_on} +{self.days}"

    @property
    def ends_on(self):
        import datetime as dt

        return self.starts_on + dt.timedelta(days=self.days - 1)

    @property
    def status_colour(self) -> str:
        return PlanStatus(self.status).colour


class PlanDay(models.Model):
    """One worker's day in a plan: on duty (at their grid), resting, or on leave; with the run of
    consecutive duty days it reaches (the carried-in streak included)."""

    plan = models.ForeignKey(RotationPlan, on_delete=models.CASCADE, related_name="plan_days", verbose_name=_("plan"))
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+", verbose_name=_("worker"))
    grid = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    day = models.DateField(_("day"))
    state = models.CharField(_("state"), max_length=8, choices=RosterState.choices)
    run = models.PositiveSmallIntegerField(_("consecutive duty days"), default=0)

    class Meta:
        verbose_name = _("planned day")
        verbose_name_plural = _("planned days")
        ordering = ["plan", "worker", "day"]
        constraints = [models.UniqueConstraint(fields=["plan", "worker", "day"], name="planday_unique")]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.worker_id} {self.day}: {self.state}"


class RosterDay(models.Model):
    """The roster in force: a worker's planned state on a day, from the last accepted plan covering it."""

    scope_fields = {
        "district": "worker__district_id",
        "street": "worker__street_id",
        "community": "worker__community_id",
    }

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="roster_days", verbose_name=_("worker"))
    day = models.DateField(_("day"))
    grid = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"))
    state = models.CharField(_("state"), max_length=8, choices=RosterState.choices)
    plan = models.ForeignKey(RotationPlan, on_delete=models.CASCADE, related_name="+", verbose_name=_("plan"))

    class Meta:
        verbose_name = _("roster day")
        verbose_name_plural = _("roster days")
        ordering = ["worker", "day"]
        constraints = [models.UniqueConstraint(fields=["worker", "day"], name="rosterday_one_per_worker_day")]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.day}: {self.state}"


class PlanEvent(models.Model):
    """The domain event log of rotation plans: proposed, accepted, discarded — who and when."""

    plan = models.ForeignKey(RotationPlan, on_delete=models.CASCADE, related_name="events", verbose_name=_("plan"))
    action = models.CharField(_("action"), max_length=12, choices=PlanStatus.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("plan event")
        verbose_name_plural = _("plan events")
        ordering = ["plan", "at", "id"]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.action}"


class Course(ChangeLoggedModel):
    """A training course for front-line workers."""

    code = models.CharField(_("course code"), max_length=32, unique=True)
    title = models.CharField(_("title"), max_length=120)
    topic = models.CharField(_("topic"), max_length=120)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, default=0)
    online = models.BooleanField(_("online"), default=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Completion(models.Model):
    """A worker completed a course (``training_completions`` import; keyed by worker and course)."""

    scope_fields = {kind: f"worker__{column}" for kind, column in PLACE_SCOPE.items()}

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="completions", verbose_name=_("worker"))
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="completions", verbose_name=_("course"))
    completed_on = models.DateField(_("completed on"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True, blank=True)
    batch = models.ForeignKey(
        "core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("import")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("course completion")
        verbose_name_plural = _("course completions")
        ordering = ["worker", "course"]
        constraints = [models.UniqueConstraint(fields=["worker", "course"], name="completion_one_per_course")]

    def __str__(self) -> str:
        return f"{self.worker_id}/{self.course_id} {self.completed_on}"


class SupportRequest(models.Model):
    """A confidential request for psychological support, routed to one counsellor.

    Deliberately outside every shared mechanism that would show it to a third person: no
    scope_fields (no jurisdiction covers it), no change logging, no admin page, no task, no read log;
    workforce.support lets only the requester and the assigned counsellor open it."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requester")
    )
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("counsellor")
    )
    want = models.CharField(_("what is wanted"), max_length=12, choices=SupportWant.choices)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    contact = models.CharField(_("how to reach me"), max_length=60, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=SupportStatus.choices, default=SupportStatus.ASSIGNED)
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        ordering = ["-created_at", "-id"]
        default_permissions = ()  # no add/change/view/delete permission a role or the admin could hold
        indexes = [models.Index(fields=["counsellor", "status"], name="support_counsellor_status")]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def status_colour(self) -> str:
        return SupportStatus(self.status).colour

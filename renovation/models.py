"""The old-compound renovation programme (issue #12 item 4): a multi-year programme with yearly
targets by district, one project per selected compound moving selected → planned → started →
finished, its works, budget by source and spending, and the residents' consultations that must
show participation and consent before the works start.

A project carries its compound's grid, community, street and district (denormalised, set in one
place: :meth:`Project.fill_place` and the import SQL) so scoping and the progress counts are one
indexed filter and one GROUP BY. Each step's date is kept on the project (for the counts) and as a
:class:`ProjectStep` row (who, when, from where: the history).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel
from geo.models import ancestor_column
from renovation.choices import (
    ACTIVE,
    STATUS_COLOURS,
    WORK_STATUS_COLOURS,
    ConsultationKind,
    FundingSource,
    ProjectStatus,
    WorkKind,
    WorkStatus,
)

MONEY = {"max_digits": 12, "decimal_places": 2}  # 万元 (10,000 yuan), as programme budgets are kept
BUDGET_FIELDS = {source: f"budget_{source}" for source in FundingSource.values}


def _in_order(earlier: str, later: str) -> Q:
    return (
        Q(**{f"{earlier}__isnull": True}) | Q(**{f"{later}__isnull": True}) | Q(**{f"{later}__gte": models.F(earlier)})
    )


class Programme(ChangeLoggedModel):
    """A multi-year renovation programme of the city (e.g. 2020–2022)."""

    code = models.CharField(_("programme code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    first_year = models.PositiveSmallIntegerField(_("first year"))
    last_year = models.PositiveSmallIntegerField(_("last year"))

    class Meta:
        verbose_name = _("renovation programme")
        verbose_name_plural = _("renovation programmes")
        ordering = ["-first_year", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(last_year__gte=models.F("first_year")), name="programme_years")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.first_year}–{self.last_year})"

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))


class YearTarget(ChangeLoggedModel):
    """How many compounds a district (or, without one, the whole city) should start and finish in
    one programme year, and the year's budget. Wuhan's 2020 figures: 300 started, 265 finished."""

    scope_fields = {"district": "district_id"}

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField(_("year"))
    district = models.ForeignKey(
        "geo.Division", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    to_start = models.PositiveIntegerField(_("compounds to start"))
    to_finish = models.PositiveIntegerField(_("compounds to finish"))
    budget = models.DecimalField(_("budget (10,000 yuan)"), default=Decimal(0), **MONEY)

    class Meta:
        verbose_name = _("yearly target")
        verbose_name_plural = _("yearly targets")
        ordering = ["programme", "year", "district__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "year", "district"], condition=Q(district__isnull=False), name="target_district"
            ),
            models.UniqueConstraint(
                fields=["programme", "year"], condition=Q(district__isnull=True), name="target_city"
            ),
            models.CheckConstraint(condition=Q(budget__gte=0), name="target_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.programme_id} {self.year} {self.district_id or 'city'}: {self.to_start}/{self.to_finish}"


class Project(ChangeLoggedModel):
    """One compound in the programme: its step dates, budget by source and spending to date."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
    }

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="projects")
    compound = models.ForeignKey(
        "geo.Compound", on_delete=models.PROTECT, related_name="renovations", verbose_name=_("compound")
    )
    year = models.PositiveSmallIntegerField(_("programme year"))
    status = models.CharField(_("status"), max_length=12, choices=ProjectStatus.choices, default=ProjectStatus.SELECTED)
    selected_on = models.DateField(_("selected on"))
    planned_on = models.DateField(_("planned on"), null=True, blank=True)
    started_on = models.DateField(_("works started on"), null=True, blank=True)
    inspected_on = models.DateField(_("final inspection on"), null=True, blank=True)
    finished_on = models.DateField(_("finished on"), null=True, blank=True)
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)
    budget_central = models.DecimalField(_("central subsidy"), default=Decimal(0), **MONEY)
    budget_provincial = models.DecimalField(_("provincial"), default=Decimal(0), **MONEY)
    budget_city = models.DecimalField(_("city"), default=Decimal(0), **MONEY)
    budget_district = models.DecimalField(_("district"), default=Decimal(0), **MONEY)
    budget_residents = models.DecimalField(_("residents' own"), default=Decimal(0), **MONEY)
    budget_enterprise = models.DecimalField(_("enterprises"), default=Decimal(0), **MONEY)
    spent = models.DecimalField(_("spent to date"), default=Decimal(0), **MONEY)
    note = models.CharField(_("note"), max_length=300, blank=True)
    grid = ancestor_column(_("grid"))
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))

    class Meta:
        verbose_name = _("renovation project")
        verbose_name_plural = _("renovation projects")
        ordering = ["programme", "year", "compound__code"]
        permissions = [("manage_renovation", _("Select compounds and move renovation projects"))]
        constraints = [
            # one active project per compound (a cancelled one leaves room for another programme's)
            models.UniqueConstraint(fields=["compound"], condition=Q(status__in=ACTIVE), name="project_one_active"),
            models.UniqueConstraint(fields=["programme", "compound"], name="project_once_per_programme"),
            models.CheckConstraint(condition=_in_order("selected_on", "planned_on"), name="project_planned_after"),
            models.CheckConstraint(condition=_in_order("planned_on", "started_on"), name="project_started_after"),
            models.CheckConstraint(condition=_in_order("started_on", "inspected_on"), name="project_inspected_after"),
            models.CheckConstraint(condition=_in_order("started_on", "finished_on"), name="project_finished_after"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="project_spent_not_negative"),
        ]
        indexes = [
            models.Index(fields=["district", "started_on"], name="project_district_started"),
            models.Index(fields=["district", "finished_on"], name="project_district_finished"),
            models.Index(fields=["programme", "year", "status"], name="project_year_status"),
        ]

    def __str__(self) -> str:
        return f"{self.compound} ({self.year})"

    def fill_place(self) -> None:
        c = self.compound
        self.grid_id, self.community_id, self.street_id, self.district_id = (
            c.grid_id,
            c.community_id,
            c.street_id,
            c.district_id,
        )

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self.status]

    @property
    def budget_total(self) -> Decimal:
        return sum((getattr(self, f) for f in BUDGET_FIELDS.values()), Decimal(0))

    @property
    def budget_by_source(self) -> list[tuple[str, Decimal]]:
        return [(FundingSource(s).label, getattr(self, f)) for s, f in BUDGET_FIELDS.items()]

    @property
    def over_budget(self) -> bool:
        """Spending over budget is allowed (works cost what they cost) but flagged on every page."""
        return self.spent > self.budget_total


class ProjectStep(models.Model):
    """One dated step of a project (the history its monthly progress is read from)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(_("status"), max_length=12, choices=ProjectStatus.choices)
    on = models.DateField(_("on"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(_("source"), max_length=16, default="web")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("project step")
        verbose_name_plural = _("project steps")
        ordering = ["on", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "status"], name="step_once_per_status")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.status} {self.on}"


class Work(ChangeLoggedModel):
    """One item of a project's works, with its quantity, cost and status."""

    scope_fields = {
        "district": "project__district_id",
        "street": "project__street_id",
        "community": "project__community_id",
        "grid": "project__grid_id",
        "compound": "project__compound_id",
    }

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="works")
    kind = models.CharField(_("kind"), max_length=12, choices=WorkKind.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=1, default=Decimal(0))
    unit = models.CharField(_("unit"), max_length=8, blank=True)
    cost = models.DecimalField(_("cost (10,000 yuan)"), default=Decimal(0), **MONEY)
    status = models.CharField(_("status"), max_length=12, choices=WorkStatus.choices, default=WorkStatus.PLANNED)
    finished_on = models.DateField(_("finished on"), null=True, blank=True)

    class Meta:
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        ordering = ["project", "kind", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0) & Q(cost__gte=0), name="work_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind}"

    @property
    def colour(self) -> str:
        return WORK_STATUS_COLOURS[self.status]


class Consultation(ChangeLoggedModel):
    """A consultation of the compound's households: counts only (not personal data), and the minutes.

    Participation is participating / households and consent is in favour / participating, both by
    households (PRC Civil Code art. 278 counts owners by area and by number; Linli has no floor
    areas, so it applies the rule to households)."""

    scope_fields = Work.scope_fields

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="consultations")
    held_on = models.DateField(_("held on"))
    kind = models.CharField(_("kind"), max_length=12, choices=ConsultationKind.choices)
    households = models.PositiveIntegerField(_("households in the compound"))
    participating = models.PositiveIntegerField(_("households taking part"))
    in_favour = models.PositiveIntegerField(_("in favour"))
    against = models.PositiveIntegerField(_("against"))
    # the stored file's name (default_storage), kept as text: the change log records it as written
    minutes = models.CharField(_("minutes file"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["project", "-held_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(participating__lte=models.F("households")), name="consult_participants"),
            models.CheckConstraint(
                condition=Q(in_favour__lte=models.F("participating") - models.F("against")), name="consult_votes"
            ),
            models.UniqueConstraint(fields=["project", "held_on", "kind"], name="consult_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind} {self.held_on}"

    @property
    def participation(self) -> float:
        return self.participating / self.households if self.households else 0.0

    @property
    def consent(self) -> float:
        return self.in_favour / self.participating if self.participating else 0.0

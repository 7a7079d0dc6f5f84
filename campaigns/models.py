"""Citywide testing campaigns: plan, sites and slots, tubes and their members, who is covered.

domain.md §8. A campaign covers the residents of one division for some days. People are swabbed into
pooled tubes at sites (or at home); a tube's result clears or holds all its members, and a held
member's own re-swab decides. :class:`Participant` is each sampled person's standing in the campaign
and :class:`Coverage` keeps the counts per building, moved incrementally as samples and results
arrive (campaigns.coverage), so a grid's or the city's coverage is a sum over buildings, never a
recount of people.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.choices import CampaignStatus, ExemptionReason, ParticipantStatus, TubeStatus
from core.models import ChangeLoggedModel, TimeStampedModel
from feeds.models import FeedRecord
from geo.models import ancestor_column
from people.models import PlacedByPerson, Resident

POOL_SIZES = ((1, "1"), (5, "5"), (10, "10"))


class Campaign(ChangeLoggedModel):
    """One round of testing over a division (the city, a district, a street, a community or a grid)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    scope = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("area covered")
    )
    scope_level = models.CharField(_("level of the area"), max_length=16, editable=False)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    pool_size = models.PositiveSmallIntegerField(_("people per tube"), choices=POOL_SIZES)
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.PLANNED
    )
    notice = models.TextField(_("notice to residents"), blank=True)
    notices_published_at = models.DateTimeField(_("notices published at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("testing campaign")
        verbose_name_plural = _("testing campaigns")
        ordering = ["-starts_on", "code"]
        permissions = [("run_campaign", _("Plan and run testing campaigns"))]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="campaign_dates")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.scope_level = self.scope.level
        super().save(*args, **kwargs)


class Site(ChangeLoggedModel):
    """A sampling point (采样点) with its hourly capacity and opening hours."""

    scope_fields = {"district": "district_id", "street": "street_id", "community": "community_id", "grid": "grid_id"}

    code = models.CharField(_("site code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    grid = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"), null=True, blank=True
    )
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    capacity_per_hour = models.PositiveIntegerField(_("people per hour"))
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("sampling site")
        verbose_name_plural = _("sampling sites")
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="site_hours")]

    def __str__(self) -> str:
        return self.name

    def fill_ancestors(self) -> None:
        grid = self.grid
        self.district_id = grid.district_id if grid else None
        self.street_id = grid.street_id if grid else None
        self.community_id = grid.community_id if grid else None


class Slot(TimeStampedModel):
    """When and where a compound's residents are asked to come (the notice they get)."""

    scope_fields = {
        "district": "district_id",
        "street": "street_id",
        "community": "community_id",
        "grid": "grid_id",
        "compound": "compound_id",
    }

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="slots")
    compound = models.ForeignKey("geo.Compound", on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="slots", verbose_name=_("site"))
    day = models.DateField(_("day"))
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    residents = models.PositiveIntegerField(_("residents expected"))
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))
    grid = ancestor_column(_("grid"))

    class Meta:
        verbose_name = _("sampling slot")
        verbose_name_plural = _("sampling slots")
        ordering = ["day", "starts", "site_id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "compound"], name="slot_one_per_compound")]


class Exemption(PlacedByPerson, TimeStampedModel):
    """Someone the campaign does not expect at a site: exempt, or sampled at home by the grid."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="exemptions")
    person = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=ExemptionReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")
        constraints = [models.UniqueConstraint(fields=["campaign", "person"], name="exemption_once")]


class Tube(TimeStampedModel):
    """A sampling tube (混管) and what the lab said about it.

    A result may arrive before the tube's member list (or for a tube nobody sent): the tube is kept
    with its result and ``members = 0`` until the list comes, then the result applies to it.
    """

    code = models.CharField(_("tube number"), max_length=64, unique=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    site_code = models.CharField(_("site code"), max_length=40, blank=True)
    capacity = models.PositiveSmallIntegerField(_("people per tube"), default=10)
    members = models.PositiveIntegerField(_("members"), default=0)
    overfilled = models.BooleanField(_("more members than the pool size"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=TubeStatus.choices, default=TubeStatus.OPEN)
    sampled_on = models.DateField(_("sampled on"), null=True, blank=True)
    first_sampled_at = models.DateTimeField(_("first swab"), null=True, blank=True)
    last_sampled_at = models.DateTimeField(_("last swab"), null=True, blank=True)
    result_sample = models.CharField(_("lab sample number"), max_length=64, blank=True)
    lab_code = models.CharField(_("laboratory"), max_length=40, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    ct_value = models.DecimalField(_("Ct value"), max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("tube")
        verbose_name_plural = _("tubes")
        indexes = [
            models.Index(fields=["status", "campaign"], name="tube_status_campaign"),
            models.Index(fields=["campaign", "sampled_on"], name="tube_campaign_day"),
        ]

    def __str__(self) -> str:
        return self.code


def _unindexed_place(to: str = "geo.Division") -> models.ForeignKey:
    """A copied place column without an index of its own: these tables take millions of rows a day,
    and their lists are read by tube, campaign or person, each indexed, then scoped."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False, db_index=False
    )


class PoolMember(FeedRecord):
    """One swab in one tube: a row of ``pool_members`` (contracts.md), from a file or a live site.

    Written once (campaigns.importers fills every column before the insert) and indexed only as it
    is read: by key, tube, person and day, campaign and day."""

    person = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("person"),
        db_index=False,  # pool_member_person_day
        db_constraint=False,  # set by the import's own join; checked per row at commit it cost more than the load
    )
    batch = models.ForeignKey(
        "core.ImportBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,  # an audit pointer; import batches are never deleted
    )
    district = _unindexed_place()
    street = _unindexed_place()
    community = _unindexed_place()
    grid = _unindexed_place()
    compound = _unindexed_place("geo.Compound")
    building = _unindexed_place("geo.Building")

    pool_id = models.CharField(_("tube number"), max_length=64)
    tube = models.ForeignKey(
        Tube, null=True, blank=True, on_delete=models.SET_NULL, related_name="member_rows", db_constraint=False
    )
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,  # pool_member_campaign_day
    )
    position = models.PositiveSmallIntegerField(_("position in the tube"), null=True, blank=True)
    sampled_at = models.DateTimeField(_("sampled at"), null=True, blank=True)
    sampled_on = models.DateField(_("sampled on"), null=True, blank=True)
    site_code = models.CharField(_("site code"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("tube member")
        verbose_name_plural = _("tube members")
        constraints = [
            models.UniqueConstraint(fields=["pool_id", "sent_id_number", "sent_name"], name="pool_member_once")
        ]
        indexes = [
            models.Index(fields=["person", "sampled_on"], name="pool_member_person_day"),
            models.Index(fields=["campaign", "sampled_on"], name="pool_member_campaign_day"),
        ]

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.position or '-'}"


def _standing() -> models.Case:
    """The ORM twin of campaigns.coverage.standing_sql: the stored decision, else the tube's word."""
    ps, ts = ParticipantStatus, TubeStatus
    return models.Case(
        models.When(~models.Q(status=ps.SAMPLED), then=models.F("status")),
        models.When(tube__status=ts.POSITIVE, tube__members=1, then=models.Value(ps.POSITIVE.value)),
        models.When(tube__status=ts.POSITIVE, then=models.Value(ps.HELD.value)),
        models.When(tube__status=ts.NEGATIVE, tube__overfilled=False, then=models.Value(ps.NEGATIVE.value)),
        models.When(tube__status__in=[ts.NEGATIVE, ts.INVALID], then=models.Value(ps.RESAMPLE.value)),
        default=models.Value(ps.SAMPLED.value),
        output_field=models.CharField(),
    )


class ParticipantQuerySet(models.QuerySet):
    def with_standing(self) -> ParticipantQuerySet:
        return self.annotate(standing=_standing())


class Participant(PlacedByPerson):
    """A sampled person's standing in a campaign, decided by their latest tube and their re-swab.

    Only a person's own decision is stored in ``status`` (``negative`` or ``positive`` after their
    re-swab); while it says ``sampled`` the tube decides, so a tube's result moves its members
    without a write per person. ``Participant.objects.with_standing()`` annotates the standing.
    Only the columns rows are looked up by are indexed (campaign and person, person, tube)."""

    objects = ParticipantQuerySet.as_manager()

    district = _unindexed_place()
    street = _unindexed_place()
    community = _unindexed_place()
    grid = _unindexed_place()
    compound = _unindexed_place("geo.Compound")
    building = _unindexed_place("geo.Building")

    # no database constraints on the keys: they are set by set-based joins, and a million deferred
    # checks at commit cost more than the insert; deleting a campaign still cascades (the ORM's)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="participants",
        db_index=False,  # participant_once
        db_constraint=False,
    )
    person = models.ForeignKey("people.Resident", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    status = models.CharField(_("decision"), max_length=16, choices=ParticipantStatus.choices)
    tube = models.ForeignKey(Tube, null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    sampled_at = models.DateTimeField(_("sampled at"), null=True)
    result_at = models.DateTimeField(_("own result at"), null=True, blank=True)

    @property
    def standing_label(self) -> str:
        return ParticipantStatus(getattr(self, "standing", self.status)).label

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [models.UniqueConstraint(fields=["campaign", "person"], name="participant_once")]
        # no index on status: every batch of results moves millions of rows, and without an indexed
        # column changing (and with room left on each page, migration 0002) PostgreSQL updates them
        # in place (HOT) — four times faster. Held people are found through their positive tubes.


class Coverage(models.Model):
    """Counts for one building in one campaign, kept current by campaigns.coverage."""

    scope_fields = Resident.scope_fields  # the same place columns, district … building

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # coverage_per_building
    )
    building = ancestor_column(_("building"), "geo.Building")
    compound = ancestor_column(_("compound"), "geo.Compound")
    grid = ancestor_column(_("grid"))
    community = ancestor_column(_("community"))
    street = ancestor_column(_("street"))
    district = ancestor_column(_("district"))
    target = models.IntegerField(_("residents"), default=0)
    exempt = models.IntegerField(_("exempt, not sampled"), default=0)
    tested = models.IntegerField(_("sampled"), default=0)
    negative = models.IntegerField(_("negative"), default=0)
    held = models.IntegerField(_("held"), default=0)
    positive = models.IntegerField(_("positive"), default=0)
    resample = models.IntegerField(_("to sample again"), default=0)

    class Meta:
        verbose_name = _("coverage")
        verbose_name_plural = _("coverage")
        constraints = [models.UniqueConstraint(fields=["campaign", "building"], name="coverage_per_building")]
        indexes = [models.Index(fields=["campaign", "grid"], name="coverage_campaign_grid")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.building_id}: {self.tested}/{self.target}"

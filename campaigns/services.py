"""Planning and running a campaign: the plan, sites and slots, exemptions, notices, live sampling,
door-to-door lists, and the figures its dashboard shows.

issue #6 items 1, 2 and 4. Counting is in campaigns.coverage and results in campaigns.results; what
here touches many rows does so set-based (targets, exemptions of people under care, slots in one
bulk insert); single decisions (an exemption, a swab at a live site) are plain functions staff
pages, the API and the command line share.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Avg, Count, Exists, F, Min, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import coverage
from campaigns.choices import HOME_SAMPLED, CampaignStatus, ExemptionReason, ParticipantStatus, TubeStatus
from campaigns.models import Campaign, Exemption, Participant, PoolMember, Site, Slot, Tube
from core.imports.sql import execute
from core.policy import policy
from geo.models import Compound, Division
from people.models import PLACE_COLUMNS, Resident

EARTH_RADIUS_KM = 6371.0


class CampaignError(ValueError):
    """A request the campaign rules refuse, with a sentence for the user."""


# --- planning --------------------------------------------------------------------------------------


@transaction.atomic
def do_plan(
    *,
    code: str,
    name: str,
    scope: Division,
    starts_on: dt.date,
    ends_on: dt.date,
    pool_size: int | None = None,
    notice: str = "",
    user=None,
) -> Campaign:
    """Create a campaign, count its residents per building, and exempt the people already tested
    where they are (in hospital, central isolation or quarantine)."""
    if ends_on < starts_on:
        raise CampaignError(_("The last day is before the first day."))
    size = int(pool_size or policy().campaign_pool_size)
    if size not in (1, 5, 10):
        raise CampaignError(_("A tube takes 1, 5 or 10 people."))
    campaign = Campaign(
        code=code,
        name=name,
        scope=scope,
        starts_on=starts_on,
        ends_on=ends_on,
        pool_size=size,
        notice=notice,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    campaign.save()
    exempt_people_under_care(campaign)
    coverage.refresh_targets(campaign)
    return campaign


def exempt_people_under_care(campaign: Campaign) -> int:
    """People placed in a hospital, shelter hospital, central isolation or a quarantine hotel are
    tested there, not at a site (set-based)."""
    from cases.choices import CLOSED_STATES, CaseState, PlacementKind

    where, params = coverage.scope_condition(campaign)
    closed = ", ".join(f"'{state}'" for state in CLOSED_STATES)
    away = ", ".join(f"'{kind}'" for kind in PlacementKind.values if kind != PlacementKind.HOME)
    now = timezone.now()
    return execute(
        f"INSERT INTO campaigns_exemption (campaign_id, person_id, reason, note, created_at, updated_at, "
        f"{', '.join(PLACE_COLUMNS)}) SELECT %s, r.id, %s, '', %s, %s, {', '.join('r.' + c for c in PLACE_COLUMNS)} "
        "FROM cases_personstatus s JOIN people_resident r ON r.id = s.person_id "
        f"WHERE s.state NOT IN ({closed}) AND s.state = '{CaseState.PLACED.value}' AND s.placement_kind IN ({away}) "
        f"AND {where} AND NOT EXISTS (SELECT 1 FROM campaigns_exemption e WHERE e.campaign_id = %s "
        "AND e.person_id = r.id)",
        [campaign.pk, ExemptionReason.UNDER_CARE.value, now, now, *params, campaign.pk],
    )


def do_start(campaign: Campaign, user=None) -> Campaign:
    if campaign.status != CampaignStatus.PLANNED:
        raise CampaignError(_("Only a planned campaign can start."))
    campaign.status = CampaignStatus.SAMPLING
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def do_close(campaign: Campaign, user=None) -> Campaign:
    if campaign.status == CampaignStatus.CLOSED:
        raise CampaignError(_("The campaign is already closed."))
    campaign.status = CampaignStatus.CLOSED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


@transaction.atomic
def do_exempt(campaign: Campaign, person: Resident, reason: str, note: str = "", user=None) -> Exemption:
    """Exempt one person; a bedridden person is sampled at home instead (a task for their grid)."""
    from tasks.services import do_open_task

    if reason not in ExemptionReason.values:
        raise CampaignError(_("Unknown exemption reason."))
    if campaign.scope_level != "city" and getattr(person, f"{campaign.scope_level}_id") != campaign.scope_id:
        raise CampaignError(_("%(name)s does not live in the campaign's area.") % {"name": person.masked_name})
    exemption = Exemption.objects.filter(campaign=campaign, person=person).first() or Exemption(
        campaign=campaign,
        person=person,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        **{column: getattr(person, column) for column in PLACE_COLUMNS},
    )
    exemption.reason, exemption.note = reason, note[:200]  # a second decision replaces the first
    exemption.save()
    if reason in HOME_SAMPLED and exemption.task_id is None:
        exemption.task = do_open_task(
            "home_sample",
            subject=person,
            title=_("Sample %(name)s at home (%(campaign)s)") % {"name": person.masked_name, "campaign": campaign.name},
            detail=note,
            source=f"campaign:{campaign.pk}",
            dedupe_key=f"campaigns:{campaign.pk}:home:{person.pk}",
            opened_by=user,
        )
        exemption.save(update_fields=["task", "updated_at"])
    coverage.refresh_exempt(campaign)
    return exemption


# --- sites and slots -------------------------------------------------------------------------------

SITE_COLUMNS = ("site_code", "name", "lat", "lon", "grid_code", "capacity_per_hour", "opens", "closes")


@dataclass
class SiteImport:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


@transaction.atomic
def import_sites(text: str) -> SiteImport:
    """Sites from CSV (``site_code,name,lat,lon,grid_code,capacity_per_hour,opens,closes``). The
    file is checked whole first: any bad line refuses it with every problem listed, so a half list
    of sites never goes live."""
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    missing = [c for c in ("site_code", "name", "capacity_per_hour", "opens", "closes") if rows and c not in rows[0]]
    result = SiteImport()
    if not rows:
        result.errors.append(_("The file has no rows."))
        return result
    if missing:
        result.errors.append(_("Missing columns: %(columns)s") % {"columns": ", ".join(missing)})
        return result
    grids = dict(Division.objects.filter(level="grid").values_list("code", "pk"))
    parsed = []
    for line, row in enumerate(rows, start=2):
        if None in row.values() or None in row:  # fewer (or more) fields than the header
            result.errors.append(_("Line %(line)d: the number of fields differs from the header") % {"line": line})
            continue
        try:
            grid_code = (row.get("grid_code") or "").strip()
            if grid_code and grid_code not in grids:
                raise ValueError(_("unknown grid %(code)s") % {"code": grid_code})
            opens = dt.time.fromisoformat(row["opens"].strip())
            closes = dt.time.fromisoformat(row["closes"].strip())
            if closes <= opens:
                raise ValueError(_("closes before it opens"))
            capacity = int(row["capacity_per_hour"])
            if capacity <= 0:
                raise ValueError(_("people per hour must be above 0"))
            parsed.append(
                {
                    "code": row["site_code"].strip(),
                    "name": row["name"].strip()[:100],
                    "lat": float(row["lat"]) if row.get("lat") else None,
                    "lon": float(row["lon"]) if row.get("lon") else None,
                    "grid_id": grids.get(grid_code),
                    "capacity_per_hour": capacity,
                    "opens": opens,
                    "closes": closes,
                }
            )
        except (KeyError, ValueError) as exc:
            result.errors.append(_("Line %(line)d: %(problem)s") % {"line": line, "problem": exc})
    if result.errors:
        return result
    grid_rows = {d.pk: d for d in Division.objects.filter(pk__in={p["grid_id"] for p in parsed if p["grid_id"]})}
    existing = {site.code: site for site in Site.objects.filter(code__in=[p["code"] for p in parsed])}
    for values in parsed:
        site = existing.get(values["code"]) or Site(code=values["code"])
        for key, value in values.items():
            setattr(site, key, value)
        site.grid = grid_rows.get(values["grid_id"])
        site.fill_ancestors()
        if site.pk:
            result.updated += 1
        else:
            result.created += 1
        site.save()
    return result


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass
class _SiteDay:
    site: Site
    day: dt.date
    free_from: dt.datetime


@transaction.atomic
def assign_slots(campaign: Campaign, sites: Iterable[Site] | None = None) -> int:
    """Send every compound to its nearest site that still has room, in back-to-back time slots long
    enough for its residents at the site's hourly capacity, day by day through the campaign; a site
    that is full passes the compound to the next nearest. Replaces earlier slots; returns how many."""
    candidates = list(sites if sites is not None else _sites_for(campaign))
    if not candidates:
        raise CampaignError(_("The campaign has no sampling sites."))
    expected = {
        row.key: row.target - row.exempt for row in coverage.rollup(campaign, "compound") if row.target > row.exempt
    }
    compounds = Compound.objects.filter(pk__in=expected).order_by("grid__code", "code")
    days = [campaign.starts_on + dt.timedelta(days=n) for n in range((campaign.ends_on - campaign.starts_on).days + 1)]
    tz = timezone.get_current_timezone()
    queues = {
        site.pk: [_SiteDay(site, day, dt.datetime.combine(day, site.opens, tz)) for day in days] for site in candidates
    }
    slots = []
    for compound in compounds:
        residents = expected[compound.pk]
        for site in _nearest(compound, candidates):
            placed = _take(queues[site.pk], residents)
            if placed is None:
                continue
            day, start, end = placed
            slots.append(
                Slot(
                    campaign=campaign,
                    compound=compound,
                    site=site,
                    day=day,
                    starts=start,
                    ends=end,
                    residents=residents,
                    district_id=compound.district_id,
                    street_id=compound.street_id,
                    community_id=compound.community_id,
                    grid_id=compound.grid_id,
                )
            )
            break
    Slot.objects.filter(campaign=campaign).delete()
    Slot.objects.bulk_create(slots, batch_size=2000)
    return len(slots)


def _sites_for(campaign: Campaign) -> list[Site]:
    sites = Site.objects.all()
    if campaign.scope_level != "city":
        sites = sites.filter(**{f"{campaign.scope_level}_id": campaign.scope_id})
    return list(sites)


def _nearest(compound: Compound, sites: list[Site]) -> list[Site]:
    if compound.lat is None or compound.lon is None:
        same_grid = [s for s in sites if s.grid_id == compound.grid_id]
        return same_grid + [s for s in sites if s not in same_grid]
    located = [s for s in sites if s.lat is not None and s.lon is not None]
    ordered = sorted(located, key=lambda s: _km(compound.lat, compound.lon, s.lat, s.lon))
    return ordered + [s for s in sites if s not in located]


def _take(queue: list[_SiteDay], residents: int) -> tuple[dt.date, dt.time, dt.time] | None:
    minutes = max(5, math.ceil(residents * 60 / queue[0].site.capacity_per_hour / 5) * 5)
    for site_day in queue:
        closes = dt.datetime.combine(site_day.day, site_day.site.closes, site_day.free_from.tzinfo)
        end = site_day.free_from + dt.timedelta(minutes=minutes)
        if end <= closes:
            start = site_day.free_from
            site_day.free_from = end
            return site_day.day, start.time(), end.time()
    return None


def do_publish_notices(campaign: Campaign, user=None) -> int:
    """Make the notice and each compound's slot visible to its residents (their /me/ page);
    returns how many residents have a slot."""
    if not campaign.slots.exists():
        raise CampaignError(_("Assign sites and times to the compounds first."))
    campaign.notices_published_at = timezone.now()
    if campaign.status == CampaignStatus.PLANNED:
        campaign.status = CampaignStatus.SAMPLING
    campaign.save(update_fields=["notices_published_at", "status", "updated_at"])
    return sum(campaign.slots.values_list("residents", flat=True))


@dataclass
class ResidentNotice:
    campaign: Campaign
    slot: Slot | None
    status: str  # a ParticipantStatus value, "exempt" or "" (not sampled yet)


def notices_for(person: Resident, today: dt.date | None = None) -> list[ResidentNotice]:
    """What a resident is told: each published campaign still running over their compound, with
    their slot and where they stand."""
    today = today or timezone.localdate()
    campaigns = Campaign.objects.filter(notices_published_at__isnull=False, ends_on__gte=today).exclude(
        status=CampaignStatus.CLOSED
    )
    notices = []
    for campaign in campaigns:
        if campaign.scope_level != "city" and getattr(person, f"{campaign.scope_level}_id") != campaign.scope_id:
            continue
        slot = Slot.objects.filter(campaign=campaign, compound_id=person.compound_id).select_related("site").first()
        participant = Participant.objects.filter(campaign=campaign, person=person).with_standing().first()
        if participant is not None:
            status = participant.standing
        elif Exemption.objects.filter(campaign=campaign, person=person).exists():
            status = "exempt"
        else:
            status = ""
        notices.append(ResidentNotice(campaign, slot, status))
    return notices


# --- live sampling ---------------------------------------------------------------------------------


@dataclass
class Swab:
    outcome: str  # "recorded", "duplicate" or "rejected"
    tube: str
    members: int = 0
    capacity: int = 0
    closed: bool = False
    reason: str = ""
    message: str = ""
    person: str = ""  # masked name


def identify(token: str = "", id_number: str = "") -> tuple[Resident | None, str]:
    """The person behind a health-code token (it must verify; any colour may be swabbed) or an
    identity number, and, when nobody, why."""
    token = (token or "").strip()
    if token:
        from healthcode.choices import Verdict
        from healthcode.services import person_for_subject, verify

        result = verify(token, log=False)
        if result.verdict != Verdict.VALID or result.claims is None:
            label = Verdict(result.verdict).label if result.verdict in Verdict.values else result.verdict
            return None, _("This health code cannot be used (%(verdict)s): ask the person to refresh it.") % {
                "verdict": label
            }
        return person_for_subject(result.claims.subject), ""
    id_number = (id_number or "").strip().upper()
    if id_number:
        return Resident.objects.filter(id_number=id_number, merged_into__isnull=True).first(), ""
    return None, ""


def campaigns_at(site: Site, day: dt.date | None = None) -> list[Campaign]:
    """The campaigns running on ``day`` over the site's place, the one a swab joins first (started
    last, as campaigns.pooling assigns them) first."""
    day = day or timezone.localdate()
    running = Campaign.objects.filter(starts_on__lte=day, ends_on__gte=day).order_by("-starts_on", "-pk")
    return [c for c in running if c.scope_level == "city" or getattr(site, f"{c.scope_level}_id") == c.scope_id]


def pool_size_at(site: Site) -> int:
    running = campaigns_at(site)
    return running[0].pool_size if running else int(policy().campaign_pool_size)


@transaction.atomic
def record_swab(*, site: Site, tube_code: str, person: Resident | None, user=None, unusable_code: str = "") -> Swab:
    """One swab at a live site, through the same pool_members import as files (one set of rules,
    refusals kept with the rest); the tube closes when it reaches the campaign's pool size.

    The tube's row is locked for the swab, so two samplers' scans into one tube are numbered in
    turn and cannot overfill it. A resend of a swab already in the tube answers ``duplicate``, even
    after the tube closed (devices resend safely). A tube opened at another site is refused: a
    wrong or reused barcode. ``unusable_code`` is why :func:`identify` found nobody for a token."""
    from core.imports.reasons import reason_sentence
    from core.imports.runner import run_import_rows
    from core.models import ImportRejection

    tube_code = tube_code.strip()
    if not tube_code:
        return Swab("rejected", "", reason="missing_tube", message=_("Scan the tube first."))
    tube = Tube.objects.select_for_update().filter(code=tube_code).first()

    def answer(outcome: str, reason: str = "", message: str = "") -> Swab:
        current = Tube.objects.filter(code=tube_code).first()
        members, capacity = (current.members, current.capacity) if current else (0, pool_size_at(site))
        closed = current is not None and current.status != TubeStatus.OPEN
        return Swab(
            outcome, tube_code, members, capacity, closed, reason, message, person.masked_name if person else ""
        )

    if tube is not None and tube.site_code and tube.site_code != site.code:
        return answer(
            "rejected",
            "tube_other_site",
            _("Tube %(tube)s belongs to another site (%(site)s); take a new tube.")
            % {"tube": tube_code, "site": tube.site_code},
        )
    if person is None and unusable_code:
        return answer("rejected", "bad_code", unusable_code)
    if person is None:
        return answer("rejected", "unknown_person", _("Nobody matches this code or number."))
    if tube is not None and PoolMember.objects.filter(tube=tube, person=person).exists():
        return answer("duplicate", message=_("Already in tube %(tube)s.") % {"tube": tube_code})
    if tube is not None and tube.status != TubeStatus.OPEN:
        return answer(
            "rejected", "tube_closed", _("Tube %(tube)s is already closed; take a new tube.") % {"tube": tube_code}
        )
    row = {
        "pool_id": tube_code,
        "id_number": person.id_number or "",
        "name": "" if person.id_number else person.name,
        "phone": "" if person.id_number else person.phone,
        "sampled_at": timezone.now().isoformat(timespec="seconds"),
        "site_code": site.code,
        "position": str((tube.members if tube else 0) + 1),
    }
    batch = run_import_rows("pool_members", [row], user=user, source="api", label=f"site {site.code}")
    if batch.rejected:
        rejection = ImportRejection.objects.filter(last_batch=batch).first()
        reason = rejection.reason if rejection else next(iter(batch.rejected))
        message = reason_sentence(reason, rejection.column, rejection.detail, kind="pool_members") if rejection else ""
        return answer("rejected", reason, message)
    return answer("recorded")


def do_close_tube(tube: Tube, user=None) -> Tube:
    """The sampler closes a tube before it is full (end of the queue)."""
    if tube.status == TubeStatus.OPEN:
        tube.status = TubeStatus.CLOSED
        tube.save(update_fields=["status", "updated_at"])
    return tube


# --- follow-up of the untested ---------------------------------------------------------------------


def untested_people(campaign: Campaign, user=None, **within: int):
    """Residents of the campaign still to sample (never sampled and not exempt, or whose tube must be
    redone), inside ``within`` (e.g. ``building_id=…``) and the user's jurisdiction."""
    from core.scoping import restrict

    people = Resident.objects.filter(registered=True, merged_into__isnull=True, building__isnull=False, **within)
    if campaign.scope_level != "city":
        people = people.filter(**{f"{campaign.scope_level}_id": campaign.scope_id})
    if user is not None:
        people = restrict(user, people)
    sampled = (
        Participant.objects.filter(campaign=campaign, person_id=OuterRef("pk"))
        .with_standing()
        .exclude(standing=ParticipantStatus.RESAMPLE)
    )
    exempt = Exemption.objects.filter(campaign=campaign, person_id=OuterRef("pk"))
    # NOT EXISTS, not NOT IN: one index probe per resident of the area, not a scan of the campaign
    return people.exclude(Exists(sampled)).exclude(Exists(exempt))


def do_door_to_door(campaign: Campaign, user=None, **within: int) -> int:
    """One door-to-door task (拉网式排查) per building with people still to sample, for its grid
    worker, listing whom to find (up to 50 names and rooms, masked); opened set-based, once per
    building and day. Returns how many were opened."""
    from django.db.models import Window
    from django.db.models.functions import RowNumber

    from people.identity import mask_name
    from tasks.services import NewTask, do_open_many

    rows = [row for row in coverage.rollup(campaign, "building", user, **within) if row.untested > 0]
    if not rows:
        return 0
    listed = (
        untested_people(campaign, user, **within)
        .annotate(n=Window(RowNumber(), partition_by=F("building_id"), order_by=F("id").asc()))
        .filter(n__lte=50)
        .values_list("building_id", "name", "household__unit", "household__room")
    )
    names: dict[int, list[str]] = {}
    for building_id, name, unit, room in listed:
        names.setdefault(building_id, []).append(" ".join(p for p in (mask_name(name), unit or "", room or "") if p))
    today = timezone.localdate().isoformat()
    return do_open_many(
        "door_to_door",
        [
            NewTask(
                row.key,
                _("Door-to-door: %(n)d to sample in %(building)s") % {"n": row.untested, "building": row.name},
                f"campaigns:{campaign.pk}:door:{row.key}:{today}",
                "\n".join(names.get(row.key, [])),
            )
            for row in rows
        ],
        subject="subject_building",
        source=f"campaign:{campaign.pk}",
        opened_by=user,
    )


# --- figures ---------------------------------------------------------------------------------------


@dataclass
class LabFigures:
    tubes: int
    waiting: int  # closed, no result yet
    oldest_waiting_hours: float | None
    resulted: int
    positive: int
    invalid: int
    overfilled: int
    results_without_members: int
    mean_turnaround_hours: float | None
    over_target: int  # results later than the policy's hours after the last swab
    target_hours: float


def lab_figures(campaign: Campaign) -> LabFigures:
    """The lab backlog and turnaround against the 12 h target (domain.md §4)."""
    target_hours = float(policy().campaign_lab_hours)
    tubes = Tube.objects.filter(campaign=campaign)
    counts = tubes.aggregate(
        total=Count("pk"),
        waiting=Count("pk", filter=Q(status=TubeStatus.CLOSED)),
        resulted=Count("pk", filter=Q(status__in=[TubeStatus.NEGATIVE, TubeStatus.POSITIVE, TubeStatus.INVALID])),
        positive=Count("pk", filter=Q(status=TubeStatus.POSITIVE)),
        invalid=Count("pk", filter=Q(status=TubeStatus.INVALID)),
        overfilled=Count("pk", filter=Q(overfilled=True)),
        oldest=Min("last_sampled_at", filter=Q(status=TubeStatus.CLOSED)),
    )
    timed = tubes.filter(reported_at__isnull=False, last_sampled_at__isnull=False).annotate(
        turnaround=F("reported_at") - F("last_sampled_at")
    )
    mean = timed.aggregate(mean=Avg("turnaround"))["mean"]
    over = timed.filter(turnaround__gt=dt.timedelta(hours=target_hours)).count()
    now = timezone.now()
    return LabFigures(
        tubes=counts["total"],
        waiting=counts["waiting"],
        oldest_waiting_hours=(now - counts["oldest"]).total_seconds() / 3600 if counts["oldest"] else None,
        resulted=counts["resulted"],
        positive=counts["positive"],
        invalid=counts["invalid"],
        overfilled=counts["overfilled"],
        results_without_members=Tube.objects.filter(members=0).exclude(status=TubeStatus.OPEN).count(),
        mean_turnaround_hours=mean.total_seconds() / 3600 if mean is not None else None,
        over_target=over,
        target_hours=target_hours,
    )


def daily_figures(campaign: Campaign) -> list[dict]:
    """Swabs, tubes and positive tubes per day of the campaign."""
    swabs = dict(
        PoolMember.objects.filter(campaign=campaign)
        .values("sampled_on")
        .annotate(n=Count("pk"))
        .values_list("sampled_on", "n")
    )
    tubes = {
        row["sampled_on"]: row
        for row in Tube.objects.filter(campaign=campaign)
        .values("sampled_on")
        .annotate(n=Count("pk"), positive=Count("pk", filter=Q(status=TubeStatus.POSITIVE)))
    }
    days = sorted(set(swabs) | {d for d in tubes if d is not None})
    return [
        {
            "day": day,
            "swabs": swabs.get(day, 0),
            "tubes": tubes.get(day, {}).get("n", 0),
            "positive_tubes": tubes.get(day, {}).get("positive", 0),
        }
        for day in days
    ]


def positivity_warning(campaign: Campaign) -> bool:
    """domain.md §8: pooling is for low prevalence; warn when the positive rate passes the policy's."""
    totals = coverage.total(campaign)
    if totals.tested < 1000:
        return False
    return (totals.held + totals.positive) / max(totals.tested, 1) / max(campaign.pool_size, 1) > float(
        policy().campaign_pooling_max_prevalence
    )

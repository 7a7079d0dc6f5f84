"""Staff pages of testing campaigns (issue #6 items 1 and 4, domain.md §8): the campaigns with a
planning form, a campaign's dashboard with its coverage drill-down, sites and slots, exemptions,
tubes, the people still to sample, and the XLSX export of a grid.

A campaign is listed to whoever's jurisdiction it touches; every number on its pages is a sum over
the coverage rows of that jurisdiction (campaigns.coverage), and every list through core.scoping.
Changes need ``campaigns.run_campaign``; those that act on the whole campaign (start, close, sites,
slots, notices) also need a jurisdiction covering the campaign's area, while door-to-door tasks and
exemptions act only inside the user's own. People appear masked and every list of them is
read-logged.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from campaigns import coverage, services
from campaigns.choices import CampaignStatus, ExemptionReason, TubeStatus
from campaigns.exports import grid_workbook, room_of
from campaigns.forms import ExemptionForm, PlanForm, SitesUploadForm
from campaigns.models import Campaign, Coverage, Exemption, Participant, PoolMember, Site, Slot, Tube
from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404, jurisdiction_of, restrict
from geo.models import Building, Compound, Division
from people.identity import mask_id_number, mask_name
from people.models import Resident

RUN = "campaigns.run_campaign"
LEVELS = tuple(coverage.LEVEL_COLUMNS)  # district … building
ORDER = ("city", *LEVELS)
AREA_ROWS_PER_PAGE = 100
CHART_HEIGHT = 120
CHART_STEP = 36


def _can_run(user) -> bool:
    return user.has_perm(RUN)


def _page(request: HttpRequest, items, size: int | None = None, param: str = "page"):
    return Paginator(items, size or settings.LINLI_PAGE_SIZE).get_page(request.GET.get(param))


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _shown(counts: coverage.Counts) -> coverage.Counts:
    """The coverage share as text and as a bar width, for the templates."""
    counts.percent = _percent(counts.coverage)
    counts.bar = round((counts.coverage or 0) * 100)
    return counts


# --- which campaigns, and who may change them -------------------------------------------------------


def visible_campaigns(user) -> QuerySet:
    """Campaigns whose area meets the user's jurisdiction: a building of theirs is counted in it, or
    its area is one of their divisions or lies under one."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return Campaign.objects.all()
    if jurisdiction.is_empty():
        return Campaign.objects.none()
    counted = Exists(restrict(user, Coverage.objects.filter(campaign=OuterRef("pk"))))
    return Campaign.objects.filter(counted | Q(scope__in=restrict(user, Division.objects.all())))


def covers(user, campaign: Campaign) -> bool:
    """Whether the user's jurisdiction holds the campaign's whole area."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return True
    scope = campaign.scope
    return bool({scope.pk, scope.district_id, scope.street_id, scope.community_id} & jurisdiction.division_ids)


def _campaign(request: HttpRequest, code: str) -> Campaign:
    return get_object_or_404(visible_campaigns(request.user).select_related("scope", "created_by"), code=code)


def _require_run(user) -> None:
    if not _can_run(user):
        raise PermissionDenied


def _require_whole(user, campaign: Campaign) -> None:
    """Changes of the whole campaign: the permission and the whole area."""
    if not _can_run(user) or not covers(user, campaign):
        raise PermissionDenied


def _open_or_message(request: HttpRequest, campaign: Campaign) -> bool:
    if campaign.status == CampaignStatus.CLOSED:
        messages.error(request, _("This campaign is closed."))
        return False
    return True


def _context(request: HttpRequest, campaign: Campaign, section: str, **extra) -> dict:
    return {
        "campaign": campaign,
        "section": section,
        "can_run": _can_run(request.user),
        "can_change": _can_run(request.user) and covers(request.user, campaign),
        "is_open": campaign.status != CampaignStatus.CLOSED,
        **extra,
    }


# --- the campaigns ---------------------------------------------------------------------------------


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    """The campaigns the user's jurisdiction meets, newest first, each with its coverage there; and
    the planning form for those who may plan."""
    can_plan = _can_run(request.user)
    if request.method == "POST" and not can_plan:
        raise PermissionDenied
    form = PlanForm(request.POST or None, user=request.user) if can_plan else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.do_plan(
                code=data["code"],
                name=data["name"],
                scope=data["area"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                pool_size=data["pool_size"],
                notice=data["notice"],
                user=request.user,
            )
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
        else:
            n = coverage.total(campaign, request.user).untested
            messages.success(
                request,
                ngettext(
                    "Campaign %(name)s planned: %(n)d resident to sample.",
                    "Campaign %(name)s planned: %(n)d residents to sample.",
                    n,
                )
                % {"name": campaign.name, "n": n},
            )
            return redirect("campaigns:detail", code=campaign.code)
    campaigns = visible_campaigns(request.user).select_related("scope")
    status = request.GET.get("status", "")
    if status in CampaignStatus.values:
        campaigns = campaigns.filter(status=status)
    else:
        status = ""
    page = _page(request, campaigns.order_by("-starts_on", "code"))
    sums = {
        row["campaign_id"]: row
        for row in restrict(request.user, Coverage.objects.filter(campaign__in=[c.pk for c in page.object_list]))
        .values("campaign_id")
        .annotate(**{f: Sum(f) for f in coverage.FIELDS})
        .order_by()
    }
    for campaign in page.object_list:
        row = sums.get(campaign.pk, {})
        sums_here = {f: row.get(f) or 0 for f in coverage.FIELDS}
        campaign.counts = _shown(coverage.Counts(campaign.pk, campaign.name, **sums_here))
    return render(
        request,
        "campaigns/list.html",
        {
            "page": page,
            "form": form,
            "status": status,
            "statuses": CampaignStatus.choices,
            "query": _query_without(request, "page"),
            "section": "list",
        },
    )


# --- the dashboard -----------------------------------------------------------------------------------


def _level(campaign: Campaign, wanted: str) -> str:
    """The level shown: as asked when it lies under the campaign's area, else the first one under it."""
    first = coverage.CHILD_LEVEL[campaign.scope_level]
    if wanted in LEVELS and ORDER.index(wanted) >= ORDER.index(first):
        return wanted
    return first


def _parent_filter(campaign: Campaign, level: str, data) -> tuple[str, int] | None:
    """The nearest area filter (``?grid=7``) above the shown level and under the campaign's area."""
    for name in reversed(LEVELS[:-1]):
        raw = (data.get(name) or "").strip()
        if raw.isdigit() and ORDER.index(campaign.scope_level) < ORDER.index(name) < ORDER.index(level):
            return name, int(raw)
    return None


def _area_node(level: str, pk: int):
    """The division or compound a filter names (names of places are not personal data)."""
    if level == "compound":
        return Compound.objects.select_related("grid").filter(pk=pk).first()
    return Division.objects.filter(pk=pk, level=level).first()


def _crumbs(campaign: Campaign, parent: tuple[str, int] | None) -> list[tuple[str, str]]:
    """Links from the campaign's area down to the filtered one."""
    base = reverse("campaigns:detail", args=[campaign.code])
    crumbs = [(campaign.scope.name, base + "#areas")]
    if parent is None:
        return crumbs
    node = _area_node(*parent)
    if node is None:
        raise Http404
    if parent[0] == "compound":
        chain = [(d.level, d) for d in [*node.grid.ancestors(), node.grid]]
    else:
        chain = [(d.level, d) for d in node.ancestors()]
    chain.append((parent[0], node))
    for level, item in chain:
        if ORDER.index(level) <= ORDER.index(campaign.scope_level):
            continue
        child = coverage.CHILD_LEVEL[level]
        crumbs.append((item.name, f"{base}?level={child}&{level}={item.pk}#areas"))
    return crumbs


def _daily(campaign: Campaign, user, whole: bool) -> list[dict]:
    """Swabs, tubes and positive tubes per day: the service's for the whole campaign, else counted
    over the swabs of the user's jurisdiction and the tubes holding them."""
    if whole:
        days = services.daily_figures(campaign)
    else:
        swabs = restrict(user, PoolMember.objects.filter(campaign=campaign))
        per_day = dict(swabs.values("sampled_on").annotate(n=Count("pk")).values_list("sampled_on", "n").order_by())
        tubes = {
            row["sampled_on"]: row
            for row in Tube.objects.filter(campaign=campaign, pk__in=swabs.values("tube_id"))
            .values("sampled_on")
            .annotate(n=Count("pk"), positive=Count("pk", filter=Q(status=TubeStatus.POSITIVE)))
            .order_by()
        }
        days = [
            {
                "day": day,
                "swabs": per_day.get(day, 0),
                "tubes": tubes.get(day, {}).get("n", 0),
                "positive_tubes": tubes.get(day, {}).get("positive", 0),
            }
            for day in sorted(d for d in set(per_day) | set(tubes) if d is not None)
        ]
    top = max([d["swabs"] for d in days] + [d["tubes"] for d in days] + [1])
    for n, day in enumerate(days):
        day["x"] = n * CHART_STEP + 4
        day["swab_h"] = round(day["swabs"] / top * CHART_HEIGHT, 1)
        day["tube_h"] = round(day["tubes"] / top * CHART_HEIGHT, 1)
        day["swab_y"] = CHART_HEIGHT - day["swab_h"]
        day["tube_y"] = CHART_HEIGHT - day["tube_h"]
    return days


@login_required
def campaign_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The dashboard: totals, days, the lab, and coverage drilled down area by area."""
    campaign = _campaign(request, code)
    user = request.user
    whole = covers(user, campaign)
    level = _level(campaign, request.GET.get("level", ""))
    parent = _parent_filter(campaign, level, request.GET)
    within = {f"{parent[0]}_id": parent[1]} if parent else {}
    crumbs = _crumbs(campaign, parent)
    child = coverage.CHILD_LEVEL.get(level)
    base = reverse("campaigns:detail", args=[campaign.code])
    rows = _page(request, coverage.rollup(campaign, level, user, **within), AREA_ROWS_PER_PAGE)
    for row in rows.object_list:
        _shown(row)
        row.down = f"{base}?level={child}&{level}={row.key}#areas" if child else ""
    days = _daily(campaign, user, whole)
    return render(
        request,
        "campaigns/detail.html",
        _context(
            request,
            campaign,
            "dashboard",
            totals=_shown(coverage.total(campaign, user)),
            area_totals=_shown(coverage.total(campaign, user, **within)),
            level=level,
            level_label=_level_label(level),
            parent=parent,
            crumbs=crumbs,
            rows=rows,
            query=_query_without(request, "page"),
            days=days,
            chart_width=max(len(days), 1) * CHART_STEP + 8,
            chart_height=CHART_HEIGHT,
            lab=services.lab_figures(campaign) if whole else None,
            warning=services.positivity_warning(campaign),
            max_prevalence=_max_prevalence(),
            whole=whole,
        ),
    )


def _level_label(level: str) -> str:
    return {
        "district": _("District"),
        "street": _("Street"),
        "community": _("Community"),
        "grid": _("Grid"),
        "compound": _("Compound"),
        "building": _("Building"),
    }[level]


def _max_prevalence() -> str:
    from core.policy import policy

    return _percent(float(policy().campaign_pooling_max_prevalence))


def _back_to_dashboard(campaign: Campaign, data) -> HttpResponse:
    level = _level(campaign, data.get("level", ""))
    parent = _parent_filter(campaign, level, data)
    query = f"?level={level}" + (f"&{parent[0]}={parent[1]}" if parent else "")
    return redirect(reverse("campaigns:detail", args=[campaign.code]) + query + "#areas")


@login_required
@require_POST
def campaign_start(request: HttpRequest, code: str) -> HttpResponse:
    campaign = _campaign(request, code)
    _require_whole(request.user, campaign)
    if campaign.status != CampaignStatus.PLANNED:
        messages.error(request, _("Only a planned campaign can start."))
    else:
        services.do_start(campaign, request.user)
        messages.success(request, _("Sampling started."))
    return redirect("campaigns:detail", code=campaign.code)


@login_required
@require_POST
def campaign_close(request: HttpRequest, code: str) -> HttpResponse:
    campaign = _campaign(request, code)
    _require_whole(request.user, campaign)
    if _open_or_message(request, campaign):
        services.do_close(campaign, request.user)
        messages.success(request, _("Campaign closed."))
    return redirect("campaigns:detail", code=campaign.code)


@login_required
@require_POST
def door_to_door(request: HttpRequest, code: str) -> HttpResponse:
    """One door-to-door task per building of the shown area (inside the user's jurisdiction) that
    still has people to sample."""
    campaign = _campaign(request, code)
    _require_run(request.user)
    if _open_or_message(request, campaign):
        level = _level(campaign, request.POST.get("level", ""))
        parent = _parent_filter(campaign, level, request.POST)
        within = {f"{parent[0]}_id": parent[1]} if parent else {}
        opened = services.do_door_to_door(campaign, request.user, **within)
        if opened:
            messages.success(
                request,
                ngettext("%(n)d door-to-door task opened.", "%(n)d door-to-door tasks opened.", opened) % {"n": opened},
            )
        else:
            messages.info(request, _("No new door-to-door task: nobody left to sample, or today's tasks are open."))
    return _back_to_dashboard(campaign, request.POST)


# --- sites and slots -----------------------------------------------------------------------------------


def _sites(campaign: Campaign, user) -> QuerySet:
    sites = Site.objects.all()
    if campaign.scope_level != "city":
        sites = sites.filter(**{f"{campaign.scope_level}_id": campaign.scope_id})
    return restrict(user, sites)


@login_required
def sites(request: HttpRequest, code: str) -> HttpResponse:
    campaign = _campaign(request, code)
    return _render_sites(request, campaign)


def _render_sites(request: HttpRequest, campaign: Campaign, upload: SitesUploadForm | None = None) -> HttpResponse:
    user = request.user
    listed = (
        _sites(campaign, user)
        .select_related("grid")
        .annotate(
            slots_here=Count("slots", filter=Q(slots__campaign=campaign)),
            expected=Sum("slots__residents", filter=Q(slots__campaign=campaign)),
        )
        .order_by("code")
    )
    slots = restrict(user, Slot.objects.filter(campaign=campaign)).select_related("compound", "site")
    slot_page = _page(request, slots.order_by("day", "starts", "site__code", "compound__code"))
    return render(
        request,
        "campaigns/sites.html",
        _context(
            request,
            campaign,
            "sites",
            site_page=_page(request, listed, param="sites_page"),
            slot_page=slot_page,
            slot_query=_query_without(request, "page"),
            site_query=_query_without(request, "sites_page"),
            expected=slots.aggregate(n=Sum("residents"))["n"] or 0,
            upload=upload or SitesUploadForm(user=user),
        ),
    )


def _line_number(problem: str) -> int:
    """The line a problem names (its first number), 0 for the whole file."""
    found = re.search(r"\d+", problem)
    return int(found.group()) if found else 0


@login_required
@require_POST
def sites_upload(request: HttpRequest, code: str) -> HttpResponse:
    """A sites CSV, taken whole or refused whole with every problem listed."""
    campaign = _campaign(request, code)
    _require_whole(request.user, campaign)
    form = SitesUploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _render_sites(request, campaign, form)
    with transaction.atomic():
        result = services.import_sites(form.text)
        short = {_line_number(problem) for problem in form.width_problems}  # said better than the service can
        found = [error for error in result.errors if _line_number(error) not in short]
        problems = sorted([*found, *form.problems], key=_line_number)
        if problems:  # the service took a file this page refuses: undo it
            transaction.set_rollback(True)
    if problems:
        for problem in problems:
            form.add_error(None, problem)
        return _render_sites(request, campaign, form)
    loaded = {"created": result.created, "updated": result.updated}
    messages.success(request, _("Sites loaded: %(created)d new, %(updated)d updated.") % loaded)
    return redirect("campaigns:sites", code=campaign.code)


@login_required
@require_POST
def assign(request: HttpRequest, code: str) -> HttpResponse:
    campaign = _campaign(request, code)
    _require_whole(request.user, campaign)
    if _open_or_message(request, campaign):
        try:
            n = services.assign_slots(campaign)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                ngettext("%(n)d compound assigned a site and a time.", "%(n)d compounds assigned a site and a time.", n)
                % {"n": n},
            )
    return redirect("campaigns:sites", code=campaign.code)


@login_required
@require_POST
def publish(request: HttpRequest, code: str) -> HttpResponse:
    campaign = _campaign(request, code)
    _require_whole(request.user, campaign)
    if _open_or_message(request, campaign):
        try:
            n = services.do_publish_notices(campaign, request.user)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                ngettext("Notices published to %(n)d resident.", "Notices published to %(n)d residents.", n) % {"n": n},
            )
    return redirect("campaigns:sites", code=campaign.code)


# --- exemptions ----------------------------------------------------------------------------------------


@login_required
def exemptions(request: HttpRequest, code: str) -> HttpResponse:
    campaign = _campaign(request, code)
    user = request.user
    form = None
    if _can_run(user) and campaign.status != CampaignStatus.CLOSED:
        form = ExemptionForm(request.POST or None, campaign=campaign, user=user)
    if request.method == "POST":
        if form is None:
            if not _can_run(user):
                raise PermissionDenied
            _open_or_message(request, campaign)
            return redirect("campaigns:exemptions", code=campaign.code)
        if form.is_valid():
            data = form.cleaned_data
            try:
                exemption = services.do_exempt(campaign, data["person"], data["reason"], data["note"], user)
            except services.CampaignError as exc:
                form.add_error(None, str(exc))
            else:
                text = _("%(name)s exempt: %(reason)s.") % {
                    "name": data["person"].masked_name,
                    "reason": exemption.get_reason_display(),
                }
                if exemption.task_id:
                    text += " " + _("A home-sampling task is open for the grid.")
                messages.success(request, text)
                return redirect("campaigns:exemptions", code=campaign.code)
    listed = restrict(user, Exemption.objects.filter(campaign=campaign))
    reason = request.GET.get("reason", "")
    if reason in ExemptionReason.values:
        listed = listed.filter(reason=reason)
    else:
        reason = ""
    page = _page(
        request,
        listed.select_related("person", "building", "compound", "task").order_by("-created_at", "-pk"),
    )
    log_reads(user, ReadAction.LIST, Resident, sorted({e.person_id for e in page.object_list}))
    return render(
        request,
        "campaigns/exemptions.html",
        _context(
            request,
            campaign,
            "exemptions",
            page=page,
            form=form,
            reason=reason,
            reasons=ExemptionReason.choices,
            query=_query_without(request, "page"),
        ),
    )


# --- tubes ---------------------------------------------------------------------------------------------

TUBE_FILTERS = (*TubeStatus.values, "overfilled", "no_members")


def _tubes(campaign: Campaign, user, whole: bool) -> QuerySet:
    """The campaign's tubes: all of them for a user holding the whole area, else those holding a swab
    of someone in the user's jurisdiction."""
    tubes = Tube.objects.filter(campaign=campaign)
    if not whole:
        swabs = restrict(user, PoolMember.objects.filter(campaign=campaign))
        tubes = tubes.filter(pk__in=swabs.values("tube_id"))
    return tubes


def _orphan_results() -> QuerySet:
    """Results of tubes nobody has sent a member list for: no campaign can be known for them yet."""
    return Tube.objects.filter(members=0).exclude(status=TubeStatus.OPEN)


@login_required
def tubes(request: HttpRequest, code: str) -> HttpResponse:
    campaign = _campaign(request, code)
    whole = covers(request.user, campaign)
    show = request.GET.get("show", "")
    listed = _tubes(campaign, request.user, whole)
    if show in TubeStatus.values:
        listed = listed.filter(status=show)
    elif show == "overfilled":
        listed = listed.filter(overfilled=True)
    elif show == "no_members":
        orphans = _orphan_results().filter(campaign__isnull=True) if whole else Tube.objects.none()
        listed = listed.filter(members=0).exclude(status=TubeStatus.OPEN) | orphans
    else:
        show = ""
    q = request.GET.get("q", "").strip()
    if q:
        listed = listed.filter(code__icontains=q)
    page = _page(request, listed.order_by(F("last_sampled_at").desc(nulls_last=True), "code"))
    for tube in page.object_list:
        if tube.reported_at and tube.last_sampled_at:
            tube.turnaround = (tube.reported_at - tube.last_sampled_at).total_seconds() / 3600
    return render(
        request,
        "campaigns/tubes.html",
        _context(
            request,
            campaign,
            "tubes",
            page=page,
            show=show,
            q=q,
            filters=[*TubeStatus.choices, ("overfilled", _("Overfilled")), ("no_members", _("Result, no member list"))],
            query=_query_without(request, "page"),
            whole=whole,
        ),
    )


@login_required
def tube_detail(request: HttpRequest, code: str, tube_code: str) -> HttpResponse:
    """A tube and the swabs in it that the user may see (a read of those people, logged)."""
    campaign = _campaign(request, code)
    user = request.user
    whole = covers(user, campaign)
    tube = Tube.objects.select_related("site").filter(code=tube_code).first()
    if tube is None:
        raise Http404
    members = list(
        restrict(user, PoolMember.objects.filter(tube=tube))
        .select_related("person", "person__household", "building")
        .order_by(F("position").asc(nulls_last=True), "sampled_at", "pk")
    )
    mine = tube.campaign_id == campaign.pk or (tube.campaign_id is None and tube.members == 0)
    if not mine or not (whole or members):
        raise Http404
    linked = [m.person_id for m in members if m.person_id]
    standing = {
        p.person_id: p for p in Participant.objects.filter(campaign=campaign, person_id__in=linked).with_standing()
    }
    site_names = dict(Site.objects.filter(code__in={m.site_code for m in members}).values_list("code", "name"))
    for member in members:
        person = member.person
        member.shown_name = person.masked_name if person else mask_name(member.sent_name)
        member.shown_id = person.masked_id_number if person else mask_id_number(member.sent_id_number)
        member.room = room_of(person) if person else ""
        member.site_name = site_names.get(member.site_code, "")
        member.standing = standing.get(member.person_id)
    log_reads(user, ReadAction.LIST, Resident, sorted({m.person_id for m in members if m.person_id}))
    return render(
        request,
        "campaigns/tube.html",
        _context(
            request,
            campaign,
            "tubes",
            tube=tube,
            members=members,
            hidden=max(tube.members - len(members), 0),
            turnaround=(tube.reported_at - tube.last_sampled_at).total_seconds() / 3600
            if tube.reported_at and tube.last_sampled_at
            else None,
        ),
    )


# --- the people still to sample, and the grid export -------------------------------------------------


def _in_area(campaign: Campaign, node, level: str) -> bool:
    """Whether a grid, compound or building lies in the campaign's area."""
    if campaign.scope_level == "city":
        return True
    if campaign.scope_level == level:
        return node.pk == campaign.scope_id
    return getattr(node, f"{campaign.scope_level}_id", None) == campaign.scope_id


def _place(request: HttpRequest, campaign: Campaign) -> tuple[str, object]:
    """The grid, compound or building asked for (``?grid=…``): inside the jurisdiction (else 404)."""
    for level, queryset in (
        ("building", Building.objects.select_related("compound")),
        ("compound", Compound.objects.all()),
        ("grid", Division.objects.filter(level="grid")),
    ):
        raw = request.GET.get(level, "").strip()
        if raw:
            if not raw.isdigit():
                raise Http404
            node = get_scoped_or_404(request.user, queryset, pk=int(raw))
            if not _in_area(campaign, node, level):
                raise Http404
            return level, node
    raise Http404


@login_required
def untested(request: HttpRequest, code: str) -> HttpResponse:
    """The residents of a grid, compound or building still to sample (masked, read-logged)."""
    campaign = _campaign(request, code)
    level, node = _place(request, campaign)
    people = (
        services.untested_people(campaign, request.user, **{f"{level}_id": node.pk})
        .select_related("compound", "building", "household")
        .order_by("compound__code", "building__code", "household__unit", "household__room", "pk")
    )
    page = _page(request, people)
    for person in page.object_list:
        person.room = room_of(person)
    log_reads(request.user, ReadAction.LIST, Resident, [p.pk for p in page.object_list])
    counts = _shown(coverage.total(campaign, request.user, **{f"{level}_id": node.pk}))
    return render(
        request,
        "campaigns/untested.html",
        _context(
            request,
            campaign,
            "dashboard",
            page=page,
            level=level,
            node=node,
            counts=counts,
            query=_query_without(request, "page"),
        ),
    )


@login_required
def export_grid(request: HttpRequest, code: str, grid_id: int) -> HttpResponse:
    campaign = _campaign(request, code)
    grid = get_scoped_or_404(request.user, Division.objects.filter(level="grid"), pk=grid_id)
    if not _in_area(campaign, grid, "grid"):
        raise Http404
    response = HttpResponse(
        grid_workbook(campaign, grid, request.user),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{campaign.code}-{grid.code}-{stamp}.xlsx"'
    return response

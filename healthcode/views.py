"""Staff pages of the health code: the overview of yellow and red codes in a jurisdiction, the
appeals queue with the decision page (GB/T 38963 correction), and the risk areas elsewhere that
colour arrivals. People are read through core.scoping (out of scope answers 404) and every page
that shows them writes the read log."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404, restrict
from healthcode.choices import AppealStatus, ChangeCause, Colour, Rule
from healthcode.forms import AppealDecisionForm, TravelAreaForm
from healthcode.models import Appeal, HealthCode, TravelRiskArea
from healthcode.panels import DECIDE_PERMISSION, colour_tag, shown_reasons
from healthcode.services import code_for, do_decide_appeal, recompute
from people.models import Resident

AREA_PERMISSION = "risk.set_risk_level"
LISTED_COLOURS = (Colour.RED, Colour.YELLOW)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def with_rule(codes: QuerySet, rule: str) -> QuerySet:
    """Codes holding ``rule`` among their reasons: JSON containment where the database has it
    (PostgreSQL), else a match on the stored JSON text (SQLite writes ``"rule": "…"``)."""
    if connection.features.supports_json_field_contains:
        return codes.filter(reasons__contains=[{"rule": rule}])
    return codes.filter(reasons__icontains=json.dumps({"rule": rule})[1:-1])


# --- overview -------------------------------------------------------------------------------------


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Counts by colour in the jurisdiction, then the yellow and red codes with their reasons."""
    codes = restrict(request.user, HealthCode.objects.all())
    totals = codes.aggregate(**{value: Count("pk", filter=Q(colour=value)) for value in Colour.values})
    colour = request.GET.get("colour", "")
    rule = request.GET.get("rule", "")
    listed = codes.filter(colour__in=[colour] if colour in LISTED_COLOURS else LISTED_COLOURS)
    if rule in Rule.values:
        listed = with_rule(listed, rule)
    else:
        rule = ""
    listed = listed.select_related("person").order_by(
        Case(When(colour=Colour.RED, then=Value(0)), default=Value(1), output_field=IntegerField()),
        "-since",
        "person_id",
    )
    page = Paginator(listed, settings.LINLI_PAGE_SIZE).get_page(request.GET.get("page"))
    for code in page.object_list:
        code.tag = colour_tag(code.colour)
        code.shown = shown_reasons(code.reasons)
    log_reads(request.user, ReadAction.LIST, Resident, [code.person_id for code in page.object_list])
    cards = [(value, *colour_tag(value), totals[value]) for value in (Colour.RED, Colour.YELLOW, Colour.GREEN)]
    return render(
        request,
        "healthcode/overview.html",
        {
            "cards": cards,
            "total": sum(totals.values()),
            "page": page,
            "colour": colour if colour in LISTED_COLOURS else "",
            "colours": [(value, Colour(value).label) for value in LISTED_COLOURS],
            "rule": rule,
            "rules": Rule.choices,
            "query": _query_without_page(request),
            "open_appeals": restrict(request.user, Appeal.objects.filter(status=AppealStatus.OPEN)).count(),
        },
    )


# --- appeals --------------------------------------------------------------------------------------


@login_required
def appeal_list(request: HttpRequest) -> HttpResponse:
    """The queue: open appeals first (oldest first), then decided ones, newest decision first."""
    status = request.GET.get("status", "")
    appeals = restrict(request.user, Appeal.objects.all())
    if status in AppealStatus.values:
        appeals = appeals.filter(status=status)
    else:
        status = ""
    appeals = appeals.select_related("person", "person__health_code", "decided_by").order_by(
        Case(When(status=AppealStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()),
        Case(When(status=AppealStatus.OPEN, then="at"), default=None),
        "-decided_at",
        "-id",
    )
    page = Paginator(appeals, settings.LINLI_PAGE_SIZE).get_page(request.GET.get("page"))
    for appeal in page.object_list:
        appeal.filed_tag = colour_tag(appeal.colour)
        current = getattr(appeal.person, "health_code", None)
        appeal.now_tag = colour_tag(current.colour) if current else None
    log_reads(request.user, ReadAction.LIST, Resident, sorted({appeal.person_id for appeal in page.object_list}))
    return render(
        request,
        "healthcode/appeals.html",
        {
            "page": page,
            "status": status,
            "statuses": AppealStatus.choices,
            "query": _query_without_page(request),
        },
    )


@login_required
def appeal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Statement, colour and reasons at filing and now; staff with the permission decide here."""
    appeal = get_scoped_or_404(request.user, Appeal.objects.select_related("person", "decided_by", "task"), pk=pk)
    can_decide = request.user.has_perm(DECIDE_PERMISSION)
    if request.method == "POST" and not can_decide:
        raise PermissionDenied
    code = code_for(appeal.person)
    current = shown_reasons(code.reasons)
    form = None
    if appeal.status == AppealStatus.OPEN and can_decide:
        rules = [reason.rule for reason in current]
        form = AppealDecisionForm(request.POST or None, current_rules=rules)
        if request.method == "POST" and form.is_valid():
            withdraw = form.cleaned_data["withdraw"] if form.cleaned_data["decision"] == AppealStatus.CORRECTED else []
            try:
                do_decide_appeal(appeal, request.user, withdraw=withdraw, note=form.cleaned_data["note"])
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                appeal.refresh_from_db()
                messages.success(
                    request,
                    _("Appeal decided: %(status)s. The code is now %(colour)s.")
                    % {"status": appeal.get_status_display(), "colour": Colour(code_for(appeal.person).colour).label},
                )
                return redirect("healthcode:appeal", pk=appeal.pk)
    elif request.method == "POST":
        messages.error(request, _("This appeal has already been decided."))
        return redirect("healthcode:appeal", pk=appeal.pk)
    log_reads(request.user, ReadAction.VIEW, Resident, [appeal.person_id])
    return render(
        request,
        "healthcode/appeal.html",
        {
            "appeal": appeal,
            "person": appeal.person,
            "filed_tag": colour_tag(appeal.colour),
            "filed_reasons": shown_reasons(appeal.reasons),
            "code": code,
            "now_tag": colour_tag(code.colour),
            "current": current,
            "withdrawn": shown_reasons([{"rule": rule} for rule in appeal.withdrawn_rules]),
            "form": form,
            "chosen": set(form["withdraw"].value() or []) if form is not None else set(),
            "can_decide": can_decide,
        },
    )


# --- risk areas elsewhere -------------------------------------------------------------------------


def _recompute_codes(request: HttpRequest) -> None:
    """Arrivals from an area just added or ended get their colours now, not at the next batch."""
    summary = recompute(None, cause=ChangeCause.TRAVEL, user=request.user)
    messages.info(request, _("Health codes recomputed: %(changed)s changed colour.") % {"changed": summary.changed})


@login_required
def travel_areas(request: HttpRequest) -> HttpResponse:
    """The national list of medium- and high-risk areas as entered here; current ones first."""
    can_change = request.user.has_perm(AREA_PERMISSION)
    form = None
    if can_change:
        form = TravelAreaForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            area = form.save()
            messages.success(request, _("Risk area %(area)s added.") % {"area": f"{area.area_code} {area.name}"})
            _recompute_codes(request)
            return redirect("healthcode:travel-areas")
    elif request.method == "POST":
        raise PermissionDenied
    now = timezone.now()
    show = request.GET.get("show", "")
    areas = TravelRiskArea.objects.all()
    current = Q(valid_from__lte=now) & (Q(valid_until__isnull=True) | Q(valid_until__gt=now))
    if show == "current":
        areas = areas.filter(current)
    areas = areas.annotate(
        state=Case(
            When(current, then=Value(0)),
            When(valid_from__gt=now, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("state", "-valid_from", "area_code")
    page = Paginator(areas, settings.LINLI_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "healthcode/travel_areas.html",
        {
            "page": page,
            "form": form,
            "show": show,
            "can_change": can_change,
            "query": _query_without_page(request),
        },
    )


@login_required
@require_POST
def travel_area_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End an area now (it left the national list): arrivals after now no longer colour codes."""
    if not request.user.has_perm(AREA_PERMISSION):
        raise PermissionDenied
    area = get_object_or_404(TravelRiskArea, pk=pk)
    now = timezone.now()
    if area.valid_until is not None and area.valid_until <= now:
        messages.error(request, _("This area has already ended."))
    else:
        area.valid_until = max(now, area.valid_from)
        area.updated_at = now
        area.save()
        messages.success(request, _("Risk area %(area)s ended.") % {"area": f"{area.area_code} {area.name}"})
        _recompute_codes(request)
    return redirect("healthcode:travel-areas")

"""Staff pages for gates and closed management (domain.md §7): the gates with today's checks, a
gate's recent checks, closed management with its exit approvals, supply rounds with their delivery
lists, and the gate records the server refused.

Every list and object is read through core.scoping (out of scope answers 404, like a missing
object); changes need ``gates.manage_closure``, except what the people on the spot do for the
residents they already see: asking leave to exit for one of them (the decision needs the
permission) and ticking off a supply round's deliveries. People appear masked, and every list of
them is read-logged.
"""

from __future__ import annotations

import datetime as dt
import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404, jurisdiction_of, restrict
from gates import services
from gates.choices import ApprovalStatus, CheckRejectReason, Decision
from gates.forms import ClosureForm, ExitDecisionForm, ExitRequestForm, GateForm, SupplyRoundForm
from gates.models import Closure, ExitApproval, Gate, GateCheck, GateCheckReject, SupplyRound
from geo.models import Compound, Household
from healthcode.choices import Colour
from people.identity import mask_id_number
from people.models import Resident

MANAGE = "gates.manage_closure"
PAGE_SIZE = 50
COMPOUNDS_LISTED = 50


def _can_manage(user) -> bool:
    return user.has_perm(MANAGE)


def _require_manage(user) -> None:
    if not _can_manage(user):
        raise PermissionDenied


def _today_start() -> dt.datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def _page(request: HttpRequest, qs, size: int = PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- gates -----------------------------------------------------------------------------------------


def _today_counts() -> dict[str, Count]:
    """Checks, refusals and fevers, as aggregate expressions over gate checks."""
    return {
        "checks": Count("pk"),
        "refused": Count("pk", filter=Q(decision=Decision.REFUSE)),
        "fevers": Count("pk", filter=Q(fever=True)),
    }


@login_required
def gate_list(request: HttpRequest) -> HttpResponse:
    """The gates in the user's jurisdiction, each with today's checks, refusals and fevers: one
    aggregate query over today's checks of the page's gates (the (gate, at) index), not a join with
    every check a gate ever recorded."""
    start = _today_start()
    gates = restrict(request.user, Gate.objects.all())
    q = request.GET.get("q", "").strip()
    if q:
        gates = gates.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(compound__name__icontains=q))
    page = _page(request, gates.select_related("compound", "building", "grid").order_by("-active", "code"))
    today = GateCheck.objects.filter(at__gte=start)
    counts = {
        row["gate_id"]: row
        for row in today.filter(gate_id__in=[g.pk for g in page.object_list])
        .values("gate_id")
        .annotate(**_today_counts())
        .order_by()
    }
    for gate in page.object_list:
        gate.today = counts.get(gate.pk, {"checks": 0, "refused": 0, "fevers": 0})
    totals = today.filter(gate__in=gates.values("pk")).aggregate(**_today_counts())
    return render(
        request,
        "gates/staff_gates.html",
        {
            "page": page,
            "totals": totals,
            "q": q,
            "query": _query_without_page(request),
            "can_manage": _can_manage(request.user),
            "section": "gates",
        },
    )


def _chosen_compound(request: HttpRequest) -> Compound | None:
    raw = request.GET.get("compound") or request.POST.get("compound") or ""
    if not raw.isdigit():
        return None
    return get_scoped_or_404(request.user, Compound.objects.all(), pk=int(raw))


def _compound_picker(request: HttpRequest, *, title: str, next_url: str) -> HttpResponse:
    """First step of a form about one compound: find it by name or code (a list of links works on a
    phone, where a select of a district's thousand compounds does not)."""
    q = request.GET.get("q", "").strip()
    compounds = restrict(request.user, Compound.objects.all()).select_related("grid", "community")
    if q:
        compounds = compounds.filter(Q(name__icontains=q) | Q(code__icontains=q))
    found = list(compounds.order_by("code")[: COMPOUNDS_LISTED + 1])
    return render(
        request,
        "gates/staff_pick_compound.html",
        {
            "title": title,
            "compounds": found[:COMPOUNDS_LISTED],
            "more": len(found) > COMPOUNDS_LISTED,
            "q": q,
            "next_url": next_url,
            "section": "gates" if next_url == reverse("gates:gate_create") else "closures",
        },
    )


@login_required
def gate_create(request: HttpRequest) -> HttpResponse:
    _require_manage(request.user)
    compound = _chosen_compound(request)
    if compound is None:
        return _compound_picker(request, title=_("New gate"), next_url=reverse("gates:gate_create"))
    form = GateForm(request.POST or None, compound=compound, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        gate = services.ensure_gate(compound, code=data["code"], name=data["name"], building=data["building"])
        messages.success(request, _("Gate %(name)s created.") % {"name": gate.name})
        return redirect("gates:gate", pk=gate.pk)
    return render(
        request,
        "gates/staff_form.html",
        {"form": form, "compound": compound, "title": _("New gate"), "section": "gates", "cancel": "gates:list"},
    )


@login_required
def gate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A gate's checks, newest first; refusals or fevers only on demand."""
    gate = get_scoped_or_404(request.user, Gate.objects.select_related("compound", "building", "venue"), pk=pk)
    checks = gate.checks.select_related("person", "approval", "task").order_by("-at", "-id")
    shown = request.GET.get("show", "")
    if shown == "refused":
        checks = checks.filter(decision=Decision.REFUSE)
    elif shown == "fever":
        checks = checks.filter(fever=True)
    page = _page(request, checks)
    for check in page.object_list:
        check.colour_label = Colour(check.colour).label if check.colour in Colour.values else ""
    log_reads(request.user, ReadAction.LIST, Resident, sorted({c.person_id for c in page.object_list}))
    start = _today_start()
    today = gate.checks.filter(at__gte=start).aggregate(**_today_counts())
    closures = (
        _with_state(Closure.objects.filter(compound_id=gate.compound_id)).filter(state=ACTIVE)
        if gate.compound_id
        else Closure.objects.none()
    )
    return render(
        request,
        "gates/staff_gate.html",
        {
            "gate": gate,
            "page": page,
            "today": today,
            "shown": shown,
            "query": _query_without_page(request),
            "closures": closures.select_related("building"),
            "section": "gates",
        },
    )


# --- closed management -------------------------------------------------------------------------------

ACTIVE, UPCOMING, ENDED = 0, 1, 2


def _with_state(qs: QuerySet, now: dt.datetime | None = None) -> QuerySet:
    """Annotate ``state``: 0 in force, 1 not yet begun, 2 lifted or over (the list's order)."""
    now = now or timezone.now()
    return qs.annotate(
        state=Case(
            When(Q(lifted_at__isnull=False) | Q(ends_at__lte=now), then=Value(ENDED)),
            When(starts_at__gt=now, then=Value(UPCOMING)),
            default=Value(ACTIVE),
            output_field=IntegerField(),
        )
    )


def _days_left(closure: Closure, now: dt.datetime) -> int | None:
    if closure.state == ENDED:
        return None
    return math.ceil((closure.ends_at - now).total_seconds() / 86400)


@login_required
def closure_list(request: HttpRequest) -> HttpResponse:
    """Closed management in the jurisdiction: in force first (soonest to end first), then the ones
    not yet begun, then the lifted and the finished."""
    now = timezone.now()
    closures = _with_state(restrict(request.user, Closure.objects.all()), now)
    wanted = {"active": ACTIVE, "upcoming": UPCOMING, "ended": ENDED}.get(request.GET.get("state", ""))
    counts = dict(closures.order_by().values_list("state").annotate(n=Count("pk")))
    if wanted is not None:
        closures = closures.filter(state=wanted)
    closures = (
        closures.select_related("compound", "building")
        .annotate(pending=Count("approvals", filter=Q(approvals__status=ApprovalStatus.REQUESTED)))
        .order_by(
            "state",
            Case(When(state=ENDED, then=None), default=F("ends_at")).asc(),  # in force: soonest to end first
            F("ends_at").desc(),  # over: the latest first
            "pk",
        )
    )
    page = _page(request, closures)
    for closure in page.object_list:
        closure.days_left = _days_left(closure, now)
    return render(
        request,
        "gates/staff_closures.html",
        {
            "page": page,
            "counts": {
                "active": counts.get(ACTIVE, 0),
                "upcoming": counts.get(UPCOMING, 0),
                "ended": counts.get(ENDED, 0),
            },
            "state": request.GET.get("state", ""),
            "query": _query_without_page(request),
            "can_manage": _can_manage(request.user),
            "ACTIVE": ACTIVE,
            "UPCOMING": UPCOMING,
            "section": "closures",
        },
    )


@login_required
def closure_create(request: HttpRequest) -> HttpResponse:
    _require_manage(request.user)
    compound = _chosen_compound(request)
    if compound is None:
        return _compound_picker(request, title=_("New closed management"), next_url=reverse("gates:closure_create"))
    form = ClosureForm(request.POST or None, compound=compound, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            closure = services.do_close(
                compound,
                rule=data["rule"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
                user=request.user,
                building=data["building"],
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("%(compound)s is under closed management.") % {"compound": compound.name})
            return redirect("gates:closure", pk=closure.pk)
    return render(
        request,
        "gates/staff_form.html",
        {
            "form": form,
            "compound": compound,
            "title": _("New closed management"),
            "section": "closures",
            "cancel": "gates:closures",
        },
    )


def _closure(request: HttpRequest, pk: int) -> Closure:
    return get_scoped_or_404(
        request.user, _with_state(Closure.objects.select_related("compound", "building", "created_by")), pk=pk
    )


@login_required
def closure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    closure = _closure(request, pk)
    return _render_closure(request, closure)


def _render_closure(
    request: HttpRequest,
    closure: Closure,
    exit_form: ExitRequestForm | None = None,
    supply_form: SupplyRoundForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    closure.days_left = _days_left(closure, now)
    approvals = list(
        restrict(request.user, closure.approvals.all())
        .select_related("person", "requested_by", "decided_by", "task")
        .order_by(
            Case(When(status=ApprovalStatus.REQUESTED, then=Value(0)), default=Value(1), output_field=IntegerField()),
            "-valid_from",
        )[:200]
    )
    exit_form = exit_form or ExitRequestForm(closure=closure, user=request.user)
    supply_form = supply_form or SupplyRoundForm(closure=closure, user=request.user)
    log_reads(
        request.user,
        ReadAction.LIST,
        Resident,
        sorted({a.person_id for a in approvals} | {r.pk for r in exit_form.listed}),
    )
    rounds = list(
        closure.supply_rounds.select_related("building")
        .annotate(
            delivered=Count("deliveries", filter=Q(deliveries__delivered=True)),
            not_delivered=Count("deliveries", filter=Q(deliveries__delivered=False)),
        )
        .order_by("-day", "building__code")[:60]
    )
    households = dict(
        Household.objects.filter(building_id__in={r.building_id for r in rounds})
        .values_list("building_id")
        .annotate(n=Count("pk"))
    )
    for supply_round in rounds:
        supply_round.households = households.get(supply_round.building_id, 0)
        supply_round.waiting = max(supply_round.households - supply_round.delivered - supply_round.not_delivered, 0)
    can_manage = _can_manage(request.user)
    return render(
        request,
        "gates/staff_closure.html",
        {
            "closure": closure,
            "approvals": approvals,
            "pending": sum(a.status == ApprovalStatus.REQUESTED for a in approvals),
            "exit_form": exit_form,
            "supply_form": supply_form,
            "rounds": rounds,
            "gates": Gate.objects.filter(compound_id=closure.compound_id).order_by("code"),
            "can_manage": can_manage,
            "in_force": closure.state != ENDED,
            "ACTIVE": ACTIVE,
            "UPCOMING": UPCOMING,
            "section": "closures",
        },
    )


@login_required
@require_POST
def closure_lift(request: HttpRequest, pk: int) -> HttpResponse:
    closure = _closure(request, pk)
    _require_manage(request.user)
    services.do_lift(closure, request.user)
    messages.success(request, _("Closed management lifted."))
    return redirect("gates:closure", pk=closure.pk)


@login_required
@require_POST
def exit_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask leave for one resident to go out: a review task for the community, decided on this page."""
    closure = _closure(request, pk)
    if closure.state == ENDED:
        messages.error(request, _("This closed management is over: nobody needs leave to go out."))
        return redirect("gates:closure", pk=closure.pk)
    form = ExitRequestForm(request.POST, closure=closure, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.do_request_exit(
                closure,
                data["person"],
                purpose=data["purpose"],
                note=data["note"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                user=request.user,
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Exit requested for %(name)s; waiting for a decision.") % {"name": data["person"].masked_name},
            )
            return redirect(reverse("gates:closure", args=[closure.pk]) + "#exits")
    return _render_closure(request, closure, exit_form=form)


@login_required
@require_POST
def exit_decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_scoped_or_404(request.user, ExitApproval.objects.select_related("closure", "person", "task"), pk=pk)
    _require_manage(request.user)
    form = ExitDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Approve or refuse."))
    else:
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.do_decide_exit(approval, request.user, approve=approve, note=form.cleaned_data["note"])
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            message = _("Exit approved for %(name)s.") if approve else _("Exit refused for %(name)s.")
            messages.success(request, message % {"name": approval.person.masked_name})
    return redirect(reverse("gates:closure", args=[approval.closure_id]) + "#exits")


# --- supplies --------------------------------------------------------------------------------------


@login_required
@require_POST
def supply_round_open(request: HttpRequest, pk: int) -> HttpResponse:
    closure = _closure(request, pk)
    _require_manage(request.user)
    if closure.state == ENDED:
        messages.error(request, _("This closed management is over."))
        return redirect("gates:closure", pk=closure.pk)
    form = SupplyRoundForm(request.POST, closure=closure, user=request.user)
    if not form.is_valid():
        return _render_closure(request, closure, supply_form=form)
    data = form.cleaned_data
    try:
        supply_round = services.do_open_supply_round(
            closure,
            data["building"],
            day=data["day"],
            item=data["item"],
            unit_price=data["unit_price"],
            user=request.user,
        )
    except ValueError as exc:
        form.add_error(None, str(exc))
        return _render_closure(request, closure, supply_form=form)
    return redirect("gates:supply_round", pk=supply_round.pk)


@login_required
def supply_round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery list of one round: every household of the building, ticked when served. Ticking
    again changes nothing (services.do_record_deliveries is idempotent)."""
    supply_round = get_scoped_or_404(
        request.user, SupplyRound.objects.select_related("closure", "building", "compound"), pk=pk
    )
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("household") if v.isdigit()]
        delivered = request.POST.get("outcome", "delivered") == "delivered"
        added = services.do_record_deliveries(
            supply_round, ids, request.user, delivered=delivered, note=request.POST.get("note", "")
        )
        if added:
            messages.success(request, _("%(n)s households recorded.") % {"n": added})
        else:
            messages.info(request, _("Nothing new to record."))
        return redirect("gates:supply_round", pk=supply_round.pk)
    households = list(
        restrict(request.user, Household.objects.filter(building_id=supply_round.building_id))
        .annotate(people=Count("residents", filter=Q(residents__merged_into__isnull=True)))
        .order_by("unit", "room", "pk")
    )
    done = {d.household_id: d for d in supply_round.deliveries.select_related("user")}
    rows = [(h, done.get(h.pk)) for h in households]
    delivered = sum(1 for d in done.values() if d.delivered)
    return render(
        request,
        "gates/staff_round.html",
        {
            "round": supply_round,
            "rows": rows,
            "delivered": delivered,
            "not_delivered": len(done) - delivered,
            "waiting": sum(1 for _h, d in rows if d is None),
            "total": len(households),
            "section": "closures",
        },
    )


# --- refused records ----------------------------------------------------------------------------------

PAYLOAD_SHOWN = ("direction", "at", "temperature", "mask", "identity_checked", "offline")


@login_required
def reject_list(request: HttpRequest) -> HttpResponse:
    """Gate records the server could not take, each kept whole with its reason: those sent to the
    user's gates, and the user's own."""
    _require_manage(request.user)
    rejects = GateCheckReject.objects.select_related("user")
    if not jurisdiction_of(request.user).everything:
        codes = restrict(request.user, Gate.objects.all()).values("code")
        rejects = rejects.filter(Q(gate_code__in=codes) | Q(user=request.user))
    reason = request.GET.get("reason", "")
    if reason in CheckRejectReason.values:
        rejects = rejects.filter(reason=reason)
    page = _page(request, rejects.order_by("-received_at", "-pk"))
    for reject in page.object_list:
        payload = reject.payload if isinstance(reject.payload, dict) else {}
        reject.identity = mask_id_number(payload.get("id_number")) if payload.get("id_number") else ""
        reject.with_code = bool(payload.get("token"))
        reject.shown = [(key, payload[key]) for key in PAYLOAD_SHOWN if payload.get(key) not in (None, "")]
    return render(
        request,
        "gates/staff_rejects.html",
        {
            "page": page,
            "reason": reason,
            "reasons": CheckRejectReason.choices,
            "query": _query_without_page(request),
            "section": "rejects",
        },
    )

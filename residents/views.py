"""Resident pages (mobile first): sign-in by phone and SMS code, my health code, health and trip
declarations, appeal. Residents read only their own records, so no read log is written here (the
read log audits staff); sign-ins are logged (residents.auth)."""

from __future__ import annotations

import datetime as dt

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaigns.services import notices_for
from cases.choices import basis_label
from core.middleware import client_ip
from core.policy import policy
from healthcode.choices import HEX, AppealStatus, Colour, Rule
from healthcode.models import Appeal, HealthDeclaration
from healthcode.services import code_for, do_appeal, do_declare_health, do_declare_trip, mint, reason_label
from people.identity import mask_phone
from residents import auth
from residents.forms import AppealForm, CodeForm, HealthDeclarationForm, PhoneForm, TripDeclarationForm
from residents.services import SignInError, request_code, residents_for_phone, verify_code

QR_SCALE = 4
_TRAVEL_RULES = {Rule.TRAVEL_HIGH, Rule.TRAVEL_MEDIUM}


def _after_sign_in(request: HttpRequest) -> str:
    return request.session.pop(auth.SESSION_NEXT, None) or reverse("residents:code")


# --- sign-in -------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: the phone number. The answer is the same whether or not the number is registered."""
    if auth.current_resident(request) is not None:
        return redirect("residents:code")
    target = auth.safe_next(request, request.GET.get("next") or request.POST.get("next"))
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            request_code(phone, ip=client_ip(request))
        except SignInError as exc:
            form.add_error("phone", str(exc))
        else:
            request.session[auth.SESSION_PENDING] = phone
            if target:
                request.session[auth.SESSION_NEXT] = target
            return redirect("residents:login_code")
    return render(request, "residents/login.html", {"form": form, "next": target or ""})


@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code from the SMS; then the resident (a chooser when the phone is shared)."""
    phone = request.session.get(auth.SESSION_PENDING)
    if not phone:
        return redirect("residents:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            verify_code(phone, form.cleaned_data["code"])
        except SignInError as exc:
            form.add_error("code", str(exc))
        else:
            auth.sign_in_phone(request, phone)  # keeps SESSION_NEXT
            people = residents_for_phone(phone)
            if len(people) == 1 and auth.choose_resident(request, people[0]):
                return redirect(_after_sign_in(request))
            if people:
                return redirect("residents:choose")
            auth.sign_out(request)
            messages.error(request, _("No resident is registered with this number. Ask your community to add it."))
            return redirect("residents:login")
    return render(request, "residents/login_code.html", {"form": form, "masked_phone": mask_phone(phone)})


@never_cache
@require_http_methods(["GET", "POST"])
def choose(request: HttpRequest) -> HttpResponse:
    """A family sharing one phone: pick whose code to show (and switch later)."""
    phone = auth.verified_phone(request)
    if phone is None:
        return redirect("residents:login")
    target = auth.safe_next(request, request.GET.get("next"))
    if target:
        request.session[auth.SESSION_NEXT] = target
    people = residents_for_phone(phone)
    if request.method == "POST":
        chosen = next((r for r in people if str(r.pk) == request.POST.get("resident")), None)
        if chosen is not None and auth.choose_resident(request, chosen):
            return redirect(_after_sign_in(request))
        messages.error(request, _("Choose one of the people listed."))
    current = request.session.get(auth.SESSION_RESIDENT)
    return render(request, "residents/choose.html", {"people": people, "current": current})


@never_cache
@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    """Sign-out page (GET asks, POST signs out): leaves any staff sign-in of the browser alone."""
    if request.method == "POST":
        auth.sign_out(request)
        messages.success(request, _("You are signed out."))
        return redirect("residents:login")
    return render(request, "residents/logout.html", {"resident": auth.current_resident(request)})


# --- my code -------------------------------------------------------------------------------------


def _since(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _reasons(code) -> list[dict]:
    rows = []
    for reason in code.reasons:
        rule, detail = reason.get("rule", ""), reason.get("detail", "")
        if rule in _TRAVEL_RULES and detail:
            shown = _("from %(area)s") % {"area": detail}
        elif rule == Rule.DECLARED_SYMPTOMS and detail:
            shown = _("declared %(temperature)s °C") % {"temperature": detail}
        elif reason.get("basis"):
            # issue #11: a category reason names its legal basis, never the member of staff
            shown = _("basis: %(basis)s") % {"basis": basis_label(reason["basis"])}
        else:
            shown = ""  # other details are internal codes (case states, task numbers)
        rows.append({"rule": rule, "label": reason_label(rule), "since": _since(reason.get("since")), "detail": shown})
    return rows


def _refresh_seconds(remaining: int) -> int:
    """Reload before the token expires (a minute early, less for short lifetimes) and at least
    every five minutes, so a changed colour reaches the screen."""
    return max(5, min(300, remaining - max(10, min(60, remaining // 5))))


def _notice_status(status: str) -> str:
    """Where the resident stands in a campaign, in words (campaigns.services.ResidentNotice.status)."""
    labels = {
        "": _("Not sampled yet"),
        "sampled": _("Sampled, result pending"),
        "negative": _("Negative"),
        "held": _("Held: stay home, a grid worker will re-swab you"),
        "positive": _("Positive: stay home, your community will contact you"),
        "resample": _("Your sample must be taken again: please come back to your site"),
        "exempt": _("Exempt: you need not come to the site"),
    }
    return labels.get(status, status)


def _campaign_notices(resident) -> list[dict]:
    """The testing campaigns that ask this resident to come: notice, slot and status."""
    return [
        {
            "campaign": notice.campaign,
            "slot": notice.slot,
            "status": notice.status or "not_sampled",
            "status_label": _notice_status(notice.status),
        }
        for notice in notices_for(resident)
    ]


@never_cache
@auth.resident_required
def my_code(request: HttpRequest) -> HttpResponse:
    """The colour, its reasons and a fresh signed token as a QR code (rendered here as SVG)."""
    resident = request.resident
    code = code_for(resident)
    token, claims = mint(code)
    expires = dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC)
    remaining = max(0, claims.expires_at - int(timezone.now().timestamp()))
    qr = segno.make(token, error="m").svg_inline(scale=QR_SCALE, border=4, light="#fff", svgclass="qr", omitsize=True)
    return render(
        request,
        "residents/code.html",
        {
            "resident": resident,
            "code": code,
            "colour_label": Colour(code.colour).label,
            "colour_hex": HEX[Colour(code.colour)],
            "reasons": _reasons(code),
            "token": token,
            "qr": qr,
            "expires": expires,
            "refresh_seconds": _refresh_seconds(remaining),
            "shared_phone": len(residents_for_phone(resident.phone)) > 1,
            "notices": _campaign_notices(resident),
        },
    )


# --- declarations and appeal ---------------------------------------------------------------------


@never_cache
@auth.resident_required
@require_http_methods(["GET", "POST"])
def declare_health(request: HttpRequest) -> HttpResponse:
    resident = request.resident
    form = HealthDeclarationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        do_declare_health(
            resident,
            temperature=float(data["temperature"]) if data["temperature"] is not None else None,
            symptoms=data["symptoms"],
            conditions=data["conditions"],
            contact_with_case=data["contact_with_case"],
            channel="resident",
        )
        messages.success(request, _("Your health declaration was received."))
        return redirect("residents:code")
    rules = policy()
    return render(
        request,
        "residents/declare_health.html",
        {
            "form": form,
            "last": HealthDeclaration.objects.filter(person=resident).order_by("-at").first(),
            "threshold": rules.fever_threshold_c,
            "hours": rules.healthcode_declaration_hours,
        },
    )


@never_cache
@auth.resident_required
@require_http_methods(["GET", "POST"])
def declare_trip(request: HttpRequest) -> HttpResponse:
    resident = request.resident
    form = TripDeclarationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_declare_trip(
                resident,
                arrived_at=data["arrived_at"],
                origin_area_code=data["origin_area_code"],
                origin_area_name=data["origin_area_name"],
                mode=data["mode"],
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your trip declaration was received."))
            return redirect("residents:code")
    trips = list(resident.trip_declarations.order_by("-arrived_at")[:5])
    return render(request, "residents/declare_trip.html", {"form": form, "trips": trips})


@never_cache
@auth.resident_required
@require_http_methods(["GET", "POST"])
def appeal(request: HttpRequest) -> HttpResponse:
    """Dispute the colour: one open appeal at a time; earlier ones with their decisions."""
    resident = request.resident
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_appeal(resident, form.cleaned_data["statement"])
        except ValueError as exc:
            form.add_error("statement", str(exc))
        else:
            messages.success(request, _("Your appeal was sent. Staff of your community will review it."))
            return redirect("residents:appeal")
    appeals = list(Appeal.objects.filter(person=resident).order_by("-at", "-id"))
    for item in appeals:
        item.reason_labels = [reason_label(r.get("rule", "")) for r in item.reasons]
        item.withdrawn_labels = [reason_label(rule) for rule in item.withdrawn_rules]
    code = code_for(resident)
    return render(
        request,
        "residents/appeal.html",
        {
            "form": form,
            "appeals": appeals,
            "has_open": any(a.status == AppealStatus.OPEN for a in appeals),
            "colour_label": Colour(code.colour).label,
            "colour_hex": HEX[Colour(code.colour)],
            "reasons": _reasons(code),
        },
    )

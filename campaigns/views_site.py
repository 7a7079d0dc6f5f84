"""The sampler's page at a live site (issue #6 item 2), and the rules it shares with the API.

A sampler opens ``/sample/<site>/``, scans (or types) a tube's barcode, then each person's health
code (or ID number): every swab goes to :func:`swab`, the same function the device API
(campaigns/api.py) calls, which runs ``campaigns.services.record_swab``. The page is a shell;
campaigns/static/campaigns/sample.js posts to the session-authenticated JSON views below (CSRF
protected); devices use the bearer-token API.

Who may sample at a site (:func:`may_sample_at`): staff with ``campaigns.run_campaign`` (those who
plan and run campaigns send teams anywhere in the city), and staff whose jurisdiction includes the
site's grid, i.e. an assignment to the grid or to its community, street or district (or the whole
city): core.scoping.jurisdiction_of against the site's ancestor columns, as gates restrict a gate to
the volunteer's jurisdiction. A compound or building assignment does not include a grid. As with
gates, a site the user may not use answers 404 exactly like an unknown one.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from campaigns import services
from campaigns.choices import TubeStatus
from campaigns.models import Site, Tube
from core.policy import policy
from core.scoping import jurisdiction_of, restrict

RUN_CAMPAIGN = "campaigns.run_campaign"


# --- who may sample where ----------------------------------------------------------------------------


def may_sample_at(user, site: Site | None) -> bool:
    """``campaigns.run_campaign``, or a jurisdiction that includes the site's grid."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.has_perm(RUN_CAMPAIGN):
        return True
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return True
    if site is None:
        return False
    return any(
        getattr(site, column) in jurisdiction.nodes.get(kind, frozenset()) for kind, column in Site.scope_fields.items()
    )


def sites_for(user):
    """The sites a user may sample at (the same rule as :func:`may_sample_at`, as a queryset)."""
    sites = Site.objects.select_related("grid")
    if user.is_authenticated and user.is_active and user.has_perm(RUN_CAMPAIGN):
        return sites
    return restrict(user, sites)


def site_or_404(user, code: str) -> Site:
    site = Site.objects.select_related("grid").filter(code=code).first()
    if site is None or not may_sample_at(user, site):
        raise Http404(str(Site._meta.verbose_name))
    return site


def tube_or_404(user, code: str) -> Tube:
    """A tube of a site the user may sample at (a tube of no known site: organisers only)."""
    tube = Tube.objects.select_related("site").filter(code=code.strip()).first()
    if tube is None or not may_sample_at(user, tube.site):
        raise Http404(str(Tube._meta.verbose_name))
    return tube


# --- what the page and the API answer ----------------------------------------------------------------


def tube_info(tube: Tube) -> dict:
    """A tube as a sampler sees it: no personal data."""
    return {
        "code": tube.code,
        "status": tube.status,
        "status_label": str(TubeStatus(tube.status).label),
        "members": tube.members,
        "capacity": tube.capacity,
        "closed": tube.status != TubeStatus.OPEN,
        "site": tube.site_code,
        "sampled_on": tube.sampled_on,
    }


def site_info(site: Site) -> dict:
    campaigns = services.campaigns_at(site)
    open_tubes = Tube.objects.filter(site=site, status=TubeStatus.OPEN).order_by("-last_sampled_at", "code")
    return {
        "code": site.code,
        "name": site.name,
        "address": site.address,
        "grid": site.grid.name if site.grid_id else None,
        "opens": site.opens,
        "closes": site.closes,
        "capacity_per_hour": site.capacity_per_hour,
        "campaigns": [
            {
                "code": c.code,
                "name": c.name,
                "status": c.status,
                "starts_on": c.starts_on,
                "ends_on": c.ends_on,
                "pool_size": c.pool_size,
            }
            for c in campaigns
        ],
        "pool_size": campaigns[0].pool_size if campaigns else int(policy().campaign_pool_size),
        "open_tubes": [tube_info(tube) for tube in open_tubes],
    }


def swab(site: Site, *, tube: str, token: str = "", id_number: str = "", user=None) -> dict:
    """One swab at ``site`` into ``tube`` (``services.record_swab``), as a dict for JSON:
    ``{outcome, tube, members, capacity, closed, reason, message, person}``."""
    person, problem = services.identify(token, id_number)
    return asdict(
        services.record_swab(site=site, tube_code=tube or "", person=person, user=user, unusable_code=problem)
    )


def close_tube(tube: Tube, user=None) -> dict:
    return tube_info(services.do_close_tube(tube, user=user))


# --- pages -------------------------------------------------------------------------------------------


@login_required
def site_list(request: HttpRequest) -> HttpResponse:
    sites = sites_for(request.user).order_by("code")
    return render(request, "campaigns/site_list.html", {"sites": sites})


@login_required
@ensure_csrf_cookie
@never_cache
def site_page(request: HttpRequest, code: str) -> HttpResponse:
    site = site_or_404(request.user, code)
    info = site_info(site)
    app = {
        "site": site.code,
        "pool_size": info["pool_size"],
        "swab_url": reverse("sampling:swab", args=[site.code]),
        "tube_url": reverse("sampling:tube", args=[site.code]),
        "close_url": reverse("sampling:close", args=[site.code]),
        "login_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "scan_url": static("gates/scan.js"),
        "rules_url": static("gates/rules.js"),
        "decoder_url": static("gates/vendor/barcode-detector/barcode-detector.js"),
        "wasm_url": static("gates/vendor/zxing-wasm/zxing_reader.wasm"),
        "code_prefix": _token_prefix(),
    }
    context = {"site": site, "info": info, "app": app, "strings": client_strings()}
    return render(request, "campaigns/site_sample.html", context)


def _token_prefix() -> str:
    from healthcode.tokens import PREFIX

    return PREFIX


def client_strings() -> dict:
    """Every text sample.js shows, translated for this request (``{name}`` marks a value)."""
    return {
        "tube": _("Tube {tube}"),
        "recorded": _("Recorded: {person}"),
        "duplicate": _("Already in this tube: {person}"),
        "full": _("Tube {tube} is full ({members} of {capacity}) and closed. Seal it and take a new tube."),
        "closed": _("Tube {tube} closed with {members} people. Take a new tube."),
        "confirm_close": _("Close tube {tube} with {members} of {capacity} people?"),
        "nothing_to_close": _("Nobody has been swabbed into this tube yet: there is nothing to close."),
        "need_tube": _("Scan or type the tube number first."),
        "sending": _("Recording…"),
        "network": _("No connection: the swab was not recorded. Try again (a repeat is recorded once)."),
        "auth_lost": _("Your login has expired: log in again, then repeat the last swab."),
        "log_in": _("Log in"),
        "server_error": _("The server could not record this swab. Try again."),
        "camera_starting": _("Starting the camera…"),
        "point_tube": _("Point the camera at the tube's barcode."),
        "point_code": _("Point the camera at the health code."),
        "camera_unavailable": _("The camera cannot be used here: take a photo, or type the number."),
        "camera_denied": _("Camera permission was refused: take a photo, or type the number."),
        "not_linli": _("This QR code is not a Linli health code."),
        "no_code_in_photo": _("No code found in the photo."),
        "bad_id_number": _("This ID number is not valid: check the digits and the last character."),
    }


# --- the page's JSON endpoints (session, CSRF) ---------------------------------------------------------


def _json_login_required(view):
    """Like login_required, but a JSON 401 (the page offers to log in again) instead of a redirect."""

    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"detail": _("Your login has expired: log in again.")}, status=401)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _body(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def swab_problem(tube: str, token: str, id_number: str) -> str:
    """Why a swab request cannot be tried at all (the API answers 400 with it)."""
    if not tube:
        return _("Scan the tube first.")
    if not token and not id_number:
        return _("Scan the health code or type the ID number.")
    return ""


@_json_login_required
@require_POST
@never_cache
def site_swab(request: HttpRequest, code: str) -> JsonResponse:
    """POST {tube, token?, id_number?}: one swab, the same answer as the API's."""
    site = site_or_404(request.user, code)
    body = _body(request)
    if body is None:
        return JsonResponse({"detail": _("The request is not JSON.")}, status=400)
    tube, token, id_number = _text(body, "tube"), _text(body, "token"), _text(body, "id_number")
    problem = swab_problem(tube, token, id_number)
    if problem:
        return JsonResponse({"detail": problem}, status=400)
    return JsonResponse(swab(site, tube=tube, token=token, id_number=id_number, user=request.user))


@_json_login_required
@require_GET
@never_cache
def site_tube(request: HttpRequest, code: str) -> JsonResponse:
    """GET ?tube=…: the tube before the first swab (new, open here, or not usable here)."""
    site = site_or_404(request.user, code)
    tube_code = (request.GET.get("tube") or "").strip()
    if not tube_code:
        return JsonResponse({"detail": _("Scan the tube first.")}, status=400)
    tube = Tube.objects.filter(code=tube_code).first()
    if tube is None:
        return JsonResponse(
            {"code": tube_code, "status": "new", "members": 0, "capacity": services.pool_size_at(site), "closed": False}
        )
    info = tube_info(tube)
    if tube.site_code and tube.site_code != site.code:
        info["message"] = _("Tube %(tube)s belongs to another site (%(site)s); take a new tube.") % {
            "tube": tube_code,
            "site": tube.site_code,
        }
    elif info["closed"]:
        info["message"] = _("Tube %(tube)s is already closed; take a new tube.") % {"tube": tube_code}
    return JsonResponse(info)


@_json_login_required
@require_POST
@never_cache
def site_close_tube(request: HttpRequest, code: str) -> JsonResponse:
    """POST {tube}: the sampler closes the tube at the end of a queue."""
    site = site_or_404(request.user, code)
    body = _body(request)
    tube_code = _text(body, "tube") if body is not None else ""
    tube = Tube.objects.filter(code=tube_code, site=site).first() if tube_code else None
    if tube is None:
        message = _("Nobody has been swabbed into this tube yet: there is nothing to close.")
        return JsonResponse({"detail": message}, status=404)
    return JsonResponse(close_tube(tube, user=request.user))

"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): services, requests (list, create,
get), in JSON or XML, so existing civic apps and tooling can file and follow help requests.

Where Linli departs from the specification, and why:
- Listing and reading requests needs an ``api_key`` too (the specification leaves reads open):
  requests here are residents' needs, so a key sees only requests inside its user's jurisdiction
  and the ones it filed itself, and every listing is written to the read log.
- ``phone`` is required when creating: it is how a request reaches the resident's building (and
  how the flood limit counts). A phone the register does not know is accepted and sent to the
  community found from ``lat``/``long`` or ``address_string`` for verification.
- ``address`` and ``lat``/``long`` in answers are the compound's, never the household's.
- Besides ``media_url``, a multipart ``media`` file is accepted (checked like the portal's photos).
"""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from assistance.choices import HelpCategory, HelpChannel
from assistance.models import HelpRequest
from assistance.services import Ask, HelpRequestError, do_ask, is_open, open_q, progress, visible_to
from core.api_auth import TokenAuth
from core.audit import log_reads
from core.choices import ReadAction
from core.middleware import client_ip
from people.models import Resident

MAX_LISTED = 1000
DEFAULT_DAYS = 90
_DESCRIPTIONS = {
    HelpCategory.MEDICINE: gettext_lazy("Buy or bring medicine, including regular medicine of chronic patients"),
    HelpCategory.GROCERIES: gettext_lazy("Buy or bring food and daily necessities"),
    HelpCategory.ESCORT: gettext_lazy("Take a resident to hospital (urgent: the level above is paged at once)"),
    HelpCategory.ELDERLY_CARE: gettext_lazy("Care for an elderly resident: a visit, meals, chores"),
    HelpCategory.MENTAL_HEALTH: gettext_lazy("Someone to talk to; a referral to a counsellor"),
    HelpCategory.REPORT_PROBLEM: gettext_lazy("Report a problem in the compound or building"),
    HelpCategory.OTHER: gettext_lazy("Any other need"),
}


# --- rendering -------------------------------------------------------------------------------------


def _xml(root_tag: str, item_tag: str, items: list[dict]) -> bytes:
    root = ET.Element(root_tag)
    for item in items:
        node = ET.SubElement(root, item_tag)
        for key, value in item.items():
            child = ET.SubElement(node, key)
            if isinstance(value, list):
                for word in value:
                    ET.SubElement(child, "keyword").text = str(word)
            elif value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8")


def _answer(fmt: str, root_tag: str, item_tag: str, items: list[dict], status: int = 200) -> HttpResponse:
    if fmt == "xml":
        return HttpResponse(_xml(root_tag, item_tag, items), content_type="text/xml; charset=utf-8", status=status)
    return JsonResponse(items, safe=False, status=status, json_dumps_params={"ensure_ascii": False})


def _error(fmt: str, status: int, description: str) -> HttpResponse:
    return _answer(fmt, "errors", "error", [{"code": status, "description": description}], status)


def _w3c(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _authenticated(request: HttpRequest):
    """The user of the ``api_key`` (query, form) or of a bearer token; None when neither is valid."""
    key = request.POST.get("api_key") or request.GET.get("api_key")
    if not key:
        header = request.headers.get("Authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return TokenAuth().authenticate(request, key) if key else None


# --- services --------------------------------------------------------------------------------------


def _service(category: HelpCategory) -> dict:
    return {
        "service_code": category.value,
        "service_name": str(category.label),
        "description": str(_DESCRIPTIONS[category]),
        "metadata": False,
        "type": "realtime",
        "keywords": [category.value],
        "group": _("Resident services"),
    }


@require_GET
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    return _answer(fmt, "services", "service", [_service(c) for c in HelpCategory])


@require_GET
def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """No service takes extra attributes (``metadata`` is false for all); the definition is empty."""
    if code not in HelpCategory.values:
        return _error(fmt, 404, _("No such service: %(code)s") % {"code": code})
    if fmt == "xml":
        root = ET.Element("service_definition")
        ET.SubElement(root, "service_code").text = code
        ET.SubElement(root, "attributes")
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8")
        return HttpResponse(body, content_type="text/xml; charset=utf-8")
    return JsonResponse({"service_code": code, "attributes": []})


@require_GET
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    endpoint = request.build_absolute_uri(reverse("open311:services", kwargs={"fmt": "json"})).rsplit("/", 1)[0] + "/"
    body = {
        "changeset": "2026-11-29",
        "contact": _("Your city's command centre"),
        "key_service": _("Ask the command centre for an API key"),
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": endpoint,
                "changeset": "2026-11-29",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    if fmt == "xml":
        root = ET.Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            ET.SubElement(root, key).text = body[key]
        endpoints = ET.SubElement(root, "endpoints")
        item = ET.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type"):
            ET.SubElement(item, key).text = body["endpoints"][0][key]
        formats = ET.SubElement(item, "formats")
        for value in body["endpoints"][0]["formats"]:
            ET.SubElement(formats, "format").text = value
        return HttpResponse(
            b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8"),
            content_type="text/xml; charset=utf-8",
        )
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


# --- requests --------------------------------------------------------------------------------------


def _visible(user):
    return visible_to(user).select_related("task", "compound", "community")


def _as_open311(item: HelpRequest, request: HttpRequest) -> dict:
    compound = item.compound
    media = item.media_url or (
        request.build_absolute_uri(reverse("assistance:photo", args=[item.pk])) if item.photo else None
    )
    updated = max(item.created_at, item.task.updated_at) if item.task_id else item.created_at
    return {
        "service_request_id": item.reference,
        "status": "open" if is_open(item) else "closed",
        "status_notes": progress(item)[1],
        "service_name": str(HelpCategory(item.category).label),
        "service_code": item.category,
        "description": item.text,
        "agency_responsible": item.community.name if item.community_id else None,
        "service_notice": None,
        "requested_datetime": _w3c(item.created_at),
        "updated_datetime": _w3c(updated),
        "expected_datetime": _w3c(item.task.due_at) if item.task_id else None,
        "address": compound.name if compound else None,
        "address_id": None,
        "zipcode": None,
        "lat": compound.lat if compound else None,
        "long": compound.lon if compound else None,
        "media_url": media,
    }


def _parse_id(value: str) -> int | None:
    value = value.strip().upper().removeprefix("H")
    return int(value) if value.isdigit() else None


def _float(value: str | None, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise HelpRequestError(_("%(name)s is not a number.") % {"name": name}, "bad_coordinates") from exc


def _list(request: HttpRequest, fmt: str, user) -> HttpResponse:
    qs = _visible(user)
    ids = request.GET.get("service_request_id", "")
    if ids:
        wanted = [n for n in (_parse_id(v) for v in ids.split(",")) if n is not None]
        qs = qs.filter(pk__in=wanted)
    else:
        codes = [c for c in request.GET.get("service_code", "").split(",") if c]
        if codes:
            qs = qs.filter(category__in=codes)
        start, end = request.GET.get("start_date"), request.GET.get("end_date")
        start_at = parse_datetime(start) if start else None
        end_at = parse_datetime(end) if end else None
        if (start and start_at is None) or (end and end_at is None):
            return _error(fmt, 400, _("Dates are W3C date-times, such as 2020-02-12T08:00:00+08:00."))
        end_at = end_at or timezone.now()
        start_at = start_at or end_at - dt.timedelta(days=DEFAULT_DAYS)
        qs = qs.filter(created_at__gte=start_at, created_at__lte=end_at)
    statuses = {s for s in request.GET.get("status", "").split(",") if s}
    if statuses - {"open", "closed"}:
        return _error(fmt, 400, _("status is open or closed."))
    if statuses == {"open"}:
        qs = qs.filter(open_q())
    elif statuses == {"closed"}:
        qs = qs.exclude(open_q())
    items = list(qs.order_by("-created_at", "-id")[:MAX_LISTED])
    log_reads(user, ReadAction.LIST, Resident, [i.resident_id for i in items if i.resident_id])
    return _answer(fmt, "service_requests", "request", [_as_open311(i, request) for i in items])


def _create(request: HttpRequest, fmt: str, user) -> HttpResponse:
    data = request.POST
    try:
        lat, lon = _float(data.get("lat"), "lat"), _float(data.get("long"), "long")
        if (lat is None) != (lon is None):
            raise HelpRequestError(_("Send both lat and long, or neither."), "bad_coordinates")
        if not data.get("phone"):
            raise HelpRequestError(_("phone is required: it is how a request reaches its grid worker."), "no_phone")
        name = " ".join(p for p in (data.get("first_name", "").strip(), data.get("last_name", "").strip()) if p)
        item = do_ask(
            Ask(
                category=data.get("service_code", ""),
                text=data.get("description", ""),
                phone=data.get("phone", ""),
                channel=HelpChannel.OPEN311,
                photo=request.FILES.get("media"),
                media_url=data.get("media_url", ""),
                contact_name=name,
                address=data.get("address_string", ""),
                lat=lat,
                lon=lon,
                ip=client_ip(request),
                client_reference=data.get("account_id") or data.get("device_id") or "",
                taken_by=user,
            )
        )
    except HelpRequestError as exc:
        status = 429 if exc.code == "rate_limited" else 400
        return _error(fmt, status, str(exc))
    answer = {"service_request_id": item.reference, "service_notice": progress(item)[1], "account_id": None}
    return _answer(fmt, "service_requests", "request", [answer], status=201)


@csrf_exempt  # an API key, not a browser session, authenticates these calls
@require_http_methods(["GET", "POST"])
def requests_(request: HttpRequest, fmt: str) -> HttpResponse:
    user = _authenticated(request)
    if user is None:
        return _error(fmt, 403, _("A valid api_key is required."))
    if request.method == "POST":
        return _create(request, fmt, user)
    return _list(request, fmt, user)


@require_GET
def request_detail(request: HttpRequest, reference: str, fmt: str) -> HttpResponse:
    user = _authenticated(request)
    if user is None:
        return _error(fmt, 403, _("A valid api_key is required."))
    pk = _parse_id(reference)
    item = _visible(user).filter(pk=pk).first() if pk is not None else None
    if item is None:
        return _error(fmt, 404, _("No such request: %(id)s") % {"id": reference})
    if item.resident_id:
        log_reads(user, ReadAction.API_VIEW, Resident, [item.resident_id])
    return _answer(fmt, "service_requests", "request", [_as_open311(item, request)])

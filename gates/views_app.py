"""The gate app (issue #5 item 4): a phone page for volunteers at a compound gate or a venue.

The page is a shell; gates/static/gates/gate.js does the work against the gate API (gates/api.py):
it caches the gate's config (keys, revocations, closures) to verify codes offline, queues checks
in the browser and syncs them (idempotent by client_id). A gate user sees the minimum: the masked
name, the colour and the verdict; never a photo or an ID number (issue #5, Security).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from core.policy import policy
from core.scoping import get_scoped_or_404, restrict
from gates.choices import CheckRejectReason, Decision, Direction, RefusalReason
from gates.models import Gate
from healthcode.choices import Colour, Verdict

# The static files the app needs offline (the service worker precaches them).
SHELL = (
    "linli/linli.css",
    "gates/gate.css",
    "gates/gate.js",
    "gates/verify.js",
    "gates/rules.js",
    "gates/queue.js",
    "gates/scan.js",
    "gates/vendor/noble/ed25519.js",
    "gates/vendor/barcode-detector/barcode-detector.js",
    "gates/vendor/zxing-wasm/zxing_reader.wasm",
)
SERVICE_WORKER = "gates/sw.js"


@login_required
def gate_list(request):
    gates = restrict(request.user, Gate.objects.filter(active=True)).select_related("compound", "building")
    return render(request, "gates/app_list.html", {"gates": gates.order_by("code")})


@login_required
@ensure_csrf_cookie
@never_cache
def gate_app(request, code: str):
    gate = get_scoped_or_404(request.user, Gate.objects.select_related("compound", "building"), code=code, active=True)
    api_root = reverse("api:api-root")
    app = {
        "gate": gate.code,
        "user": request.user.pk,
        "config_url": reverse("api:gate_config", kwargs={"code": gate.code}),
        "lookup_url": f"{api_root}gates/lookup",
        "checks_url": f"{api_root}gates/checks",
        "login_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "fever_threshold_c": float(policy(timezone.now()).fever_threshold_c),
        "decoder_url": static("gates/vendor/barcode-detector/barcode-detector.js"),
        "wasm_url": static("gates/vendor/zxing-wasm/zxing_reader.wasm"),
        "sw_url": reverse("gateapp:sw"),
        "sw_scope": reverse("gateapp:list"),
    }
    context = {"gate": gate, "app": app, "strings": client_strings(), "directions": Direction.choices}
    return render(request, "gates/app.html", context)


def client_strings() -> dict:
    """Every text gate.js shows, translated for this request (``{name}`` marks a value)."""
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "waiting": _("Waiting to sync: {n}"),
        "waiting_one": _("Waiting to sync"),
        "all_synced": _("All records synced"),
        "syncing": _("Syncing…"),
        "parked": _("Could not be sent: {n} (kept on this phone)"),
        "config_age": _("Keys and revocation list updated at {time}"),
        "config_stale": _("Keys and revocation list last updated at {time}: connect to refresh them"),
        "no_config": _("No keys on this phone yet: connect to the network once before working offline."),
        "auth_lost": _("Your login has expired. Log in again to sync; the records stay on this phone."),
        "log_in": _("Log in"),
        "closure_banner": _("Closed management ({building}): {rule}; until {until}. {reason}"),
        "whole_compound": _("whole compound"),
        "closure_person": _("Closed management applies: {rule}"),
        "exit_approved": _("Exit approved"),
        "exit_not_approved": _("No exit approval"),
        "camera_starting": _("Starting the camera…"),
        "point_camera": _("Point the camera at the health code."),
        "camera_unavailable": _("The camera cannot be used here: take a photo of the code, or type the ID number."),
        "camera_denied": _("Camera permission was refused: take a photo of the code, or type the ID number."),
        "not_linli": _("This QR code is not a Linli health code."),
        "no_code_in_photo": _("No QR code found in the photo."),
        "bad_id_number": _("This ID number is not valid: check the digits and the last character."),
        "colours": {value: str(label) for value, label in Colour.choices},
        "colour_unknown": _("Colour unknown"),
        "colour_unknown_offline": _("Colour unknown offline: the server decides when the record syncs."),
        "verdicts": {value: str(label) for value, label in Verdict.choices},
        "by_id_number": _("Checked by ID number"),
        "person_unknown": _("Nobody found with this code or ID number"),
        "looking_up": _("Looking up…"),
        "checked_online": _("Checked with the server"),
        "checked_offline": _("Offline: checked on this phone with the cached keys"),
        "decisions": {value: str(label) for value, label in Decision.choices},
        "refusals": {value: str(label) for value, label in RefusalReason.choices},
        "rejects": {value: str(label) for value, label in CheckRejectReason.choices},
        "directions": {value: str(label) for value, label in Direction.choices},
        "warnings": {
            "colour_unknown": _("Colour unknown offline: ask for the health code if the person has one."),
            "yellow_own_compound": _("Yellow code: only allowed into the compound where the person lives."),
            "closure_building": _("A building here is under closed management: check whether the person lives in it."),
            "approval_unknown": _("An exit approval cannot be checked offline with an ID number."),
            "person_unknown": _("Nobody found with this code or ID number"),
        },
        "fever": _("Refer to a fever clinic"),
        "fever_detail": _("{t} °C is at or above {threshold} °C: accompany the person to a fever clinic."),
        "fever_task": _("A fever-referral task has been opened."),
        "provisional": _("Decided on this phone; the server confirms when the record syncs."),
        "confirmed": _("Confirmed by the server"),
        "duplicate": _("Already recorded"),
        "recorded": _("Recorded"),
        "not_recorded": _("Not recorded"),
        "rejected": _("Not recorded: {reason}"),
        "temperature_range": _("Enter a temperature between 34.0 and 43.0 °C, or leave it empty."),
        "storage_full": _("This phone's storage is full: sync (or free space) before recording more checks."),
    }


def _shell_files() -> list[Path]:
    files = []
    for name in (*SHELL, SERVICE_WORKER):
        found = finders.find(name)
        if found:
            files.append(Path(found))
    return files


@lru_cache(maxsize=8)
def _service_worker_text(stamp: tuple, shell_urls: tuple[str, ...], scope: str) -> str:
    source = Path(finders.find(SERVICE_WORKER)).read_text(encoding="utf-8")
    version = hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]
    head = (
        f"const VERSION = {json.dumps(version)};\n"
        f"const SHELL = {json.dumps(list(shell_urls))};\n"
        f"const SCOPE = {json.dumps(scope)};\n"
    )
    return head + source


def service_worker(request):
    """The service worker, from /gate/ so that it may control the gate pages. Its version follows
    the shell files (size and modification time), so a deployment refreshes the phones' caches."""
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in _shell_files())
    text = _service_worker_text(stamp, tuple(static(name) for name in SHELL), reverse("gateapp:list"))
    response = HttpResponse(text, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("gateapp:list")
    response["Cache-Control"] = "no-cache"
    return response

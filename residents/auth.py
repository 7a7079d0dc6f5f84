"""The resident's signed-in state, kept in the Django session apart from staff sign-in.

After a code is verified the session holds the verified phone; once a resident is chosen (at once
when the phone belongs to one), it holds ``resident_id`` too. Every request checks that the
resident still has that phone, so re-registering a number to someone else ends the old sessions.
Resident keys never touch django.contrib.auth's, so signing out of one leaves the other alone.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from core.middleware import client_ip
from people.identity import mask_phone
from people.models import Resident
from residents.services import residents_for_phone

log = logging.getLogger("linli.residents")

SESSION_RESIDENT = "resident_id"
SESSION_PHONE = "resident_phone"  # verified by a code
SESSION_SINCE = "resident_signed_in_at"  # unix seconds
SESSION_PENDING = "resident_pending_phone"  # a code was sent here, not yet verified
SESSION_NEXT = "resident_next"
MAX_AGE_SECONDS = 7 * 24 * 3600  # sign in again after a week, whatever the session cookie says
_KEYS = (SESSION_RESIDENT, SESSION_PHONE, SESSION_SINCE, SESSION_PENDING, SESSION_NEXT)


def safe_next(request: HttpRequest, target: str | None) -> str | None:
    """Only a path of the resident portal on this site: nothing else may follow a sign-in."""
    prefix = reverse("residents:code")
    if not target or not target.startswith(prefix):
        return None
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return None
    return target


def verified_phone(request: HttpRequest) -> str | None:
    session = request.session
    phone, since = session.get(SESSION_PHONE), session.get(SESSION_SINCE)
    if not phone or not since or time.time() - since > MAX_AGE_SECONDS:
        return None
    return phone


def sign_in_phone(request: HttpRequest, phone: str) -> None:
    """The phone is proven: a new session key (no fixation), the phone, no resident chosen yet.
    Where to go next (SESSION_NEXT) survives."""
    request.session.cycle_key()
    request.session.pop(SESSION_PENDING, None)
    request.session.pop(SESSION_RESIDENT, None)
    request.session[SESSION_PHONE] = phone
    request.session[SESSION_SINCE] = int(time.time())


def choose_resident(request: HttpRequest, resident: Resident) -> bool:
    """Act as ``resident`` if the verified phone belongs to them; log the sign-in."""
    phone = verified_phone(request)
    if phone is None or resident.pk not in {r.pk for r in residents_for_phone(phone)}:
        return False
    request.session[SESSION_RESIDENT] = resident.pk
    log.info("resident %s signed in with %s from %s", resident.pk, mask_phone(phone), client_ip(request))
    return True


def current_resident(request: HttpRequest) -> Resident | None:
    phone, resident_id = verified_phone(request), request.session.get(SESSION_RESIDENT)
    if phone is None or resident_id is None:
        return None
    return Resident.objects.filter(pk=resident_id, phone=phone, merged_into__isnull=True).first()


def sign_out(request: HttpRequest) -> None:
    resident_id = request.session.get(SESSION_RESIDENT)
    for key in _KEYS:
        request.session.pop(key, None)
    request.session.cycle_key()
    if resident_id is not None:
        log.info("resident %s signed out from %s", resident_id, client_ip(request))


def login_url(request: HttpRequest) -> str:
    return f"{reverse('residents:login')}?{urlencode({'next': request.get_full_path()})}"


def resident_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run ``view`` with ``request.resident`` set, or send the visitor to the resident sign-in."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        resident = current_resident(request)
        if resident is None:
            if verified_phone(request) and request.session.get(SESSION_RESIDENT) is None:
                return redirect(f"{reverse('residents:choose')}?{urlencode({'next': request.get_full_path()})}")
            return redirect(login_url(request))
        request.resident = resident
        return view(request, *args, **kwargs)

    return wrapper

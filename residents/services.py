"""Resident sign-in rules: one-time codes by SMS, throttles, and whom a phone may act for.

A code is 6 random digits, valid for 5 minutes, good for one sign-in, and dead after 5 wrong
tries; only its keyed hash is stored and it is compared in constant time. Asking for codes is
throttled per phone (one a minute, five an hour) and per network address (twenty an hour), counted
from the code rows themselves so that the limits hold across processes. Asking for a code answers
the same whether or not the number is registered (nobody learns who lives here from the form), but
an SMS goes out only to a registered number.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from people.identity import is_valid_mobile, mask_phone
from people.models import Resident
from residents.models import OneTimeCode
from residents.sms import SmsError, send_sms

log = logging.getLogger("linli.residents")

CODE_DIGITS = 6
CODE_LIFETIME = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_AFTER = dt.timedelta(seconds=60)
PHONE_WINDOW, PHONE_MAX = dt.timedelta(hours=1), 5
IP_WINDOW, IP_MAX = dt.timedelta(hours=1), 20
KEEP_CODES = dt.timedelta(days=1)  # rows older than the longest window serve no throttle any more

_SEPARATORS = re.compile(r"[\s\-()（）]")
_CODE = re.compile(rf"^\d{{{CODE_DIGITS}}}$")


class SignInError(ValueError):
    """A refusal to show the resident as it is (the message is translated)."""


def normalise_phone(raw: str | None) -> str:
    """Drop separators and the +86 prefix, as the resident import does (core.imports.columns.Phone)."""
    cleaned = _SEPARATORS.sub("", raw or "")
    return re.sub(r"^\+?86(?=1\d{10}$)", "", cleaned)


def clean_phone(raw: str | None) -> str:
    """The normalised mainland mobile number, or :class:`SignInError`: codes go by SMS only."""
    phone = normalise_phone(raw)
    if not is_valid_mobile(phone):
        raise SignInError(_("Enter an 11-digit mainland mobile number."))
    return phone


def _code_hash(phone: str, code: str) -> str:
    """Keyed with the server secret: six digits are too few for a plain hash to hide anything."""
    return salted_hmac("linli.residents.one-time-code", f"{phone}:{code}", algorithm="sha256").hexdigest()


def residents_for_phone(phone: str) -> list[Resident]:
    """Whom a verified phone may act for: every current (not merged) resident registered with it.
    A family sharing one phone gets a chooser; a number moved to someone else stops working."""
    if not phone:
        return []
    return list(Resident.objects.filter(phone=phone, merged_into__isnull=True).order_by("id"))


def _throttle(phone: str, ip: str | None, now: dt.datetime) -> None:
    recent = OneTimeCode.objects.filter(phone=phone, created_at__gt=now - PHONE_WINDOW)
    last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and now - last < RESEND_AFTER:
        seconds = math.ceil((RESEND_AFTER - (now - last)).total_seconds())
        raise SignInError(
            ngettext(
                "A code was sent a moment ago. Wait %(seconds)d second before asking for another.",
                "A code was sent a moment ago. Wait %(seconds)d seconds before asking for another.",
                seconds,
            )
            % {"seconds": seconds}
        )
    if recent.count() >= PHONE_MAX:
        raise SignInError(_("Too many codes were asked for this number. Try again in an hour."))
    if ip and OneTimeCode.objects.filter(ip=ip, created_at__gt=now - IP_WINDOW).count() >= IP_MAX:
        raise SignInError(_("Too many codes were asked from this network. Try again later."))


def request_code(phone: str, ip: str | None = None, now: dt.datetime | None = None) -> OneTimeCode:
    """Make a code for ``phone`` and send it by SMS if the number belongs to a resident.

    Raises :class:`SignInError` for a malformed number, a throttle, or a gateway failure. The new
    code supersedes any earlier one (only the newest unused code is checked)."""
    phone = clean_phone(phone)
    now = now or timezone.now()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        OneTimeCode.objects.filter(created_at__lt=now - KEEP_CODES).delete()
        _throttle(phone, ip, now)
        otp = OneTimeCode.objects.create(
            phone=phone, code_hash=_code_hash(phone, code), ip=ip, created_at=now, expires_at=now + CODE_LIFETIME
        )
    if not residents_for_phone(phone):
        log.info("sign-in code asked for unregistered %s from %s: not sent", mask_phone(phone), ip)
        return otp
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    message = _(
        "Your Linli sign-in code is %(code)s. It is valid for %(minutes)d minutes. Never tell it to anyone."
    ) % {"code": code, "minutes": minutes}
    try:
        send_sms(phone, message)
    except SmsError as exc:
        otp.delete()  # nothing was delivered: do not hold it against the resident's throttle
        raise SignInError(_("The code could not be sent. Try again in a few minutes.")) from exc
    log.info("sign-in code sent to %s from %s", mask_phone(phone), ip)
    return otp


def verify_code(phone: str, code: str, now: dt.datetime | None = None) -> None:
    """Accept the newest unused, unexpired code for ``phone`` once; else :class:`SignInError`.

    Every try counts, right or wrong, and is written before the answer, so concurrent guesses
    cannot exceed :data:`MAX_ATTEMPTS`; after that even the right code is refused."""
    phone = clean_phone(phone)
    code = (code or "").strip()
    now = now or timezone.now()
    with transaction.atomic():
        otp = (
            OneTimeCode.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if otp is None or otp.expires_at <= now:
            raise SignInError(_("This code has expired or was never sent. Ask for a new one."))
        if otp.attempts >= MAX_ATTEMPTS:
            raise SignInError(_("Too many wrong codes. Ask for a new one."))
        otp.attempts += 1
        right = constant_time_compare(otp.code_hash, _code_hash(phone, code)) and bool(_CODE.match(code))
        if right:
            otp.used_at = now
        otp.save(update_fields=["attempts", "used_at"])
    if right:
        return
    left = MAX_ATTEMPTS - otp.attempts
    log.warning("wrong sign-in code for %s (%d tries left)", mask_phone(phone), left)
    if left <= 0:
        raise SignInError(_("Wrong code, and too many wrong codes. Ask for a new one."))
    raise SignInError(
        ngettext("Wrong code. %(left)d try left.", "Wrong code. %(left)d tries left.", left) % {"left": left}
    )

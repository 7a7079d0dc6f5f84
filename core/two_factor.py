"""The optional second factor for staff (issue #11): an authenticator app's time-based one-time codes
(RFC 6238: 6 digits, 30-second steps). GB/T 22239-2019 §8.1.4.1 d asks level-3 systems for two or
more authentication techniques; a staff member turns it on for their own account.

Sign-in with a confirmed device is two steps: the password (core.login, throttled) leaves the user
pending in the session, and only a fresh code signs them in. Wrong codes count as failed sign-ins of
the account, so the same lock applies to guessing codes.
"""

from __future__ import annotations

import base64
import datetime as dt
import io

import pyotp
import segno
from django.db import transaction
from django.utils import timezone

from core.login import record_attempt
from core.models import TotpDevice

ISSUER = "Linli 邻里"
STEP_SECONDS = 30
PENDING_KEY = "two_factor_pending"  # session: {"user": id, "backend": path, "at": iso time}
PENDING_MINUTES = 5


def device_of(user) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user).first()


def is_enabled(user) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def do_start_enrolment(user) -> TotpDevice:
    """A new secret for the user's app, unconfirmed (replacing an unconfirmed earlier one)."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed_at is not None:
            raise ValueError("two-factor sign-in is already on")
        if device is None:
            device = TotpDevice(user=user)
        device.secret = pyotp.random_base32()
        device.created_at = timezone.now()
        device.last_step = 0
        device.save()
    return device


def provisioning_uri(device: TotpDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(name=device.user.get_username(), issuer_name=ISSUER)


def qr_svg_data_uri(device: TotpDevice) -> str:
    """The enrolment QR code as an SVG data URI (allowed by the CSP's img-src data:)."""
    buffer = io.BytesIO()
    segno.make(provisioning_uri(device), error="m").save(buffer, kind="svg", scale=4, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _accepted_step(device: TotpDevice, code: str, at: dt.datetime) -> int | None:
    """The step of ``code`` if it is right now (one step of clock drift either way) and newer than
    the last code used; None otherwise."""
    code = (code or "").strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(device.secret)
    now_step = int(at.timestamp()) // STEP_SECONDS
    for step in (now_step, now_step - 1, now_step + 1):
        if step > device.last_step and totp.at(step * STEP_SECONDS) == code:
            return step
    return None


def do_check_code(user, code: str, *, ip: str | None = None, confirm: bool = False) -> bool:
    """Check a code from the user's app and use it up; a wrong code is a failed sign-in of the account.
    ``confirm`` accepts the unconfirmed device's first code and turns two-factor sign-in on."""
    now = timezone.now()
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None or (device.confirmed_at is None) != confirm:
            return False
        step = _accepted_step(device, code, now)
        if step is None:
            record_attempt(user.get_username(), ip, succeeded=False)
            return False
        device.last_step = step
        if confirm:
            device.confirmed_at = now
        device.save(update_fields=["last_step", "confirmed_at"])
    return True


def do_turn_off(user, code: str, *, ip: str | None = None) -> bool:
    """Remove the device; needs a current code, so a borrowed session cannot drop the second factor."""
    if not do_check_code(user, code, ip=ip):
        return False
    TotpDevice.objects.filter(user=user).delete()
    return True

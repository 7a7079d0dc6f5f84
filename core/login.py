"""Sign-in throttling (issue #11): too many failed passwords lock the account, and too many from one
address lock the address, for the policy's minutes (GB/T 22239-2019 §8.1.4.1 b: limit illegal login
attempts). Every attempt is kept (core.LoginAttempt) as the security log.

The authentication backend applies it, so every password sign-in — the login page, the admin —
goes through it; the login form asks first only to say why it refuses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import LoginAttempt, TotpDevice
from core.policy import policy, recent_policy


@dataclass(frozen=True)
class Lockout:
    until: dt.datetime
    by_address: bool

    @property
    def minutes_left(self) -> int:
        return max(1, int((self.until - timezone.now()).total_seconds() // 60) + 1)


def _normal(username: str | None) -> str:
    return (username or "").strip().lower()[:150]


def _failures_since(start: dt.datetime, **where) -> tuple[int, dt.datetime | None]:
    """Failures after ``start`` and after the last success of the same account or address."""
    attempts = LoginAttempt.objects.filter(at__gte=start, **where)
    last_success = attempts.filter(succeeded=True).aggregate(at=Max("at"))["at"]
    failures = attempts.filter(succeeded=False)
    if last_success is not None:
        failures = failures.filter(at__gt=last_success)
    latest = failures.aggregate(at=Max("at"))["at"]
    return failures.count(), latest


def lockout(username: str | None, ip: str | None) -> Lockout | None:
    """The lock on this account or address now, if any."""
    rules = recent_policy()
    window = dt.timedelta(minutes=float(rules.login_lockout_minutes))
    start = timezone.now() - window
    count, latest = _failures_since(start, username=_normal(username))
    if count >= int(rules.login_max_failures) and latest is not None:
        return Lockout(latest + window, by_address=False)
    if ip:
        count, latest = _failures_since(start, ip=ip)
        if count >= int(rules.login_max_failures_per_address) and latest is not None:
            return Lockout(latest + window, by_address=True)
    return None


def record_attempt(username: str | None, ip: str | None, succeeded: bool) -> None:
    LoginAttempt.objects.create(username=_normal(username), ip=ip or None, succeeded=succeeded)
    if not succeeded:
        from core.metrics import SIGN_IN_FAILURES

        SIGN_IN_FAILURES.inc()


def client_address(request) -> str | None:
    from core.middleware import client_ip

    return None if request is None else client_ip(request)


class ThrottledModelBackend(ModelBackend):
    """Django's password check, refused outright while the account or address is locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get("username")
        if username is None or password is None:
            return None
        ip = client_address(request)
        if lockout(username, ip) is not None:
            raise PermissionDenied("sign-in locked after too many failures")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_attempt(username, ip, succeeded=False)
        elif not TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
            record_attempt(username, ip, succeeded=True)
        # with a second factor the sign-in succeeds only at the code (core.two_factor): a right password
        # must not reset the count of wrong codes
        return user


class StaffLoginForm(AuthenticationForm):
    """The login form, which says when an account or address is locked instead of 'wrong password'."""

    locked: Lockout | None = None

    def clean(self):
        self.locked = lockout(self.data.get("username"), client_address(self.request))
        if self.locked is not None:
            raise forms.ValidationError(
                _("Too many failed sign-ins. Try again in %(minutes)s minutes."),
                code="locked",
                params={"minutes": self.locked.minutes_left},
            )
        return super().clean()


def prune_attempts(now: dt.datetime | None = None) -> int:
    """Delete sign-in attempts older than policy's ``login_attempts_keep_days``: they hold
    addresses and user names, kept as long as the law asks and no longer."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=policy(now).login_attempts_keep_days)
    deleted, _ = LoginAttempt.objects.filter(at__lt=cutoff).delete()
    return deleted

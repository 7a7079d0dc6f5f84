"""Resident sign-in: one-time codes sent by SMS. Only a keyed hash of each code is stored, so a copy
of the database (without the server secret) does not let anyone sign in as a resident."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OneTimeCode(models.Model):
    """One code sent to one phone. The rows double as the throttle ledger (codes per phone and per
    network address in a window), which therefore holds across processes and servers."""

    phone = models.CharField(_("phone"), max_length=20)
    code_hash = models.CharField(_("code hash"), max_length=64)
    ip = models.GenericIPAddressField(_("requested from"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["phone", "created_at"], name="otp_phone_created"),
            models.Index(fields=["ip", "created_at"], name="otp_ip_created"),
        ]

    def __str__(self) -> str:
        from people.identity import mask_phone

        return f"{mask_phone(self.phone)} {self.created_at:%Y-%m-%d %H:%M:%S}"

"""API authentication: bearer tokens (core.ApiToken) for systems, the session for the browser."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from ninja.security import HttpBearer, django_auth

from core.audit import Actor, _actor
from core.choices import ChangeSource
from core.middleware import client_ip
from core.models import ApiToken


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        try:
            record = ApiToken.objects.select_related("user").get(key_hash=ApiToken.hash_key(token))
        except ApiToken.DoesNotExist:
            return None
        now = timezone.now()
        if (record.expires_at and record.expires_at <= now) or not record.user.is_active:
            return None
        if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        request.user = record.user
        # attribute this request's changes and reads to the token's user (the middleware saw nobody)
        _actor.set(
            Actor(
                user_id=record.user.pk,
                source=ChangeSource.API,
                path=request.get_full_path()[:300],
                ip=client_ip(request),
            )
        )
        return record.user


API_AUTH = [TokenAuth(), django_auth]

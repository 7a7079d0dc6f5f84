"""Giving a test user one permission directly (the roles of core.roles give them in production)."""

from __future__ import annotations

from django.contrib.auth.models import Permission


def grant(user, permission: str) -> None:
    """``permission`` is "app_label.codename"; the user's cached permissions are dropped."""
    app_label, codename = permission.split(".", 1)
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    for cached in ("_perm_cache", "_user_perm_cache"):
        if hasattr(user, cached):
            delattr(user, cached)

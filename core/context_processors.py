"""Template context shared by every page."""

from __future__ import annotations

from core.scoping import jurisdiction_of


def linli(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"jurisdiction": jurisdiction_of(user)}

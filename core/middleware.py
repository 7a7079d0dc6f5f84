"""Attribute each request's changes and reads to its user (core.audit)."""

from __future__ import annotations

from core.audit import acting_as
from core.choices import ChangeSource


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        source = ChangeSource.API if request.path.startswith("/api/") else ChangeSource.WEB
        with acting_as(getattr(request, "user", None), source, path=request.get_full_path(), ip=client_ip(request)):
            return self.get_response(request)

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


class ChineseFirstLocaleMiddleware:
    """Chinese first: zh-hans unless the user chose another language (cookie or ?lang=), whatever
    the browser's Accept-Language says. Replaces Django's LocaleMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        supported = {code for code, _name in settings.LANGUAGES}
        chosen = request.GET.get("lang") or request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class SecurityHeadersMiddleware:
    """The headers Django's SecurityMiddleware does not set: a Content-Security-Policy and a
    Permissions-Policy (settings.LINLI_CSP, LINLI_PERMISSIONS_POLICY).

    Pages carry no inline script or event handler (linli/behaviours.js reads data- attributes), so
    scripts may come only from this origin; a view that sets its own policy keeps it."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.csp = settings.LINLI_CSP
        self.permissions = settings.LINLI_PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.csp:
            response.headers.setdefault("Content-Security-Policy", self.csp)
        if self.permissions:
            response.headers.setdefault("Permissions-Policy", self.permissions)
        return response

"""Request-wide middleware: each request's changes and reads attributed to its user (core.audit),
Chinese-first language, security headers, and request ids, metrics and access logs."""

from __future__ import annotations

import logging
import re
import time
import uuid

from core.audit import acting_as
from core.choices import ChangeSource

access_log = logging.getLogger("linli.access")


def client_ip(request) -> str | None:
    """The client's address. Behind a reverse proxy listed in ``LINLI_TRUSTED_PROXIES`` it is the
    last ``X-Forwarded-For`` entry that is not one of those proxies (the nearest untrusted hop): the
    sign-in throttle per address would otherwise count every user as the proxy."""
    from django.conf import settings

    peer = request.META.get("REMOTE_ADDR") or None
    trusted = settings.LINLI_TRUSTED_PROXIES
    if peer not in trusted:
        return peer
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if hop not in trusted:
            return hop[:45]
    return peer


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


class ObservabilityMiddleware:
    """Times every request for the metrics (core.metrics), gives it a request id (``X-Request-ID``,
    kept from a proxy when it sends a sane one) that every log line of the request carries, and
    writes one access-log line per request to ``linli.access`` (on under ``linli serve``)."""

    _REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from core import metrics
        from core.logs import REQUEST

        started = time.perf_counter()
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if self._REQUEST_ID.match(offered) else uuid.uuid4().hex
        context = {"request_id": request_id, "method": request.method}
        token = REQUEST.set(context)
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response.headers.setdefault("X-Request-ID", request_id)
            return response
        finally:
            seconds = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            route = match.route if match is not None and match.route else "unmatched"
            user = getattr(request, "user", None)
            context.update(route=route, status=status, ms=round(seconds * 1000, 1))
            if user is not None and user.is_authenticated:
                context["user_id"] = user.pk
            metrics.HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(route).observe(seconds)
            access_log.info("%s %s %s", request.method, request.get_full_path(), status)
            REQUEST.reset(token)

"""Prometheus metrics: requests, latencies, jobs, sign-in failures; ``GET /metrics`` serves them.

Under ``linli serve`` the server runs several worker processes, each counting on its own;
``linli serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at an empty folder before the workers start,
and a scrape sums every worker's files there (prometheus_client's multiprocess mode). Without it
(the embedded server, tests) the counts are this process's.

Route labels are URL patterns (``api/people/residents/{person_id}``), never paths, so the number of
series stays bounded and no identifier reaches the metrics store.

``/metrics`` answers only to addresses in ``LINLI_METRICS_ALLOW`` (loopback by default) or to a
bearer token equal to ``LINLI_METRICS_TOKEN``; anyone else gets 404.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "linli_http_requests", "HTTP requests answered, by method, route and status", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "linli_http_request_duration_seconds",
    "Time to answer an HTTP request, by route",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
JOBS = Counter("linli_jobs", "Background jobs finished, by job and outcome (done, failed, retried)", ["job", "outcome"])
JOB_DURATION = Histogram(
    "linli_job_duration_seconds",
    "Run time of background jobs",
    ["job"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
SIGN_IN_FAILURES = Counter("linli_sign_in_failures", "Failed staff sign-ins (wrong password or code, or locked)")
IMPORT_ROWS = Counter("linli_import_rows", "Rows of imported files, by kind and outcome", ["kind", "outcome"])


class JobQueueCollector:
    """Jobs by status from the database at scrape time: a queue that stops draining shows here."""

    def describe(self):
        """What it yields, without a query (registering would otherwise call collect at import)."""
        return [self._family()]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("linli_jobs_by_status", "Background jobs recorded, by status", labels=["status"])

    def collect(self):
        from django.db.models import Count

        from core.models import Job

        family = self._family()
        try:
            counts = dict(Job.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        except Exception:  # a scrape during a database outage still returns the request metrics
            return
        for status, count in sorted(counts.items()):
            family.add_metric([status], count)
        yield family


REGISTRY.register(JobQueueCollector())


def _registry() -> CollectorRegistry:
    """Every worker's files summed under ``linli serve``; this process's own registry otherwise."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()  # per scrape, as multiprocess mode asks
    multiprocess.MultiProcessCollector(registry)
    registry.register(JobQueueCollector())
    return registry


def _allowed(request: HttpRequest) -> bool:
    token = settings.LINLI_METRICS_TOKEN
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[len("Bearer ") :].strip(), token):
        return True
    from core.middleware import client_ip

    # behind a trusted proxy this is the client beyond it, so a proxy on loopback opens nothing
    return client_ip(request) in settings.LINLI_METRICS_ALLOW


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)

"""Open311 GeoReport v2 endpoints, mounted at /open311/v2/ (assistance.open311)."""

from django.urls import re_path

from assistance import open311

app_name = "open311"
FMT = r"\.(?P<fmt>json|xml)$"
urlpatterns = [
    re_path(rf"^discovery{FMT}", open311.discovery, name="discovery"),
    re_path(rf"^services{FMT}", open311.services, name="services"),
    re_path(rf"^services/(?P<code>[a-z_]+){FMT}", open311.service_definition, name="service"),
    re_path(rf"^requests{FMT}", open311.requests_, name="requests"),
    re_path(rf"^requests/(?P<reference>[A-Za-z0-9]+){FMT}", open311.request_detail, name="request"),
]

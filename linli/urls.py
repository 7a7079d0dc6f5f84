from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from core.health import healthz, readyz
from core.metrics import metrics_view
from core.views_auth import StaffLoginView, login_code, two_factor_settings
from dashboard.views import home
from linli.api import api

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("login/", StaffLoginView.as_view(), name="login"),
    path("login/code/", login_code, name="login-code"),
    path("account/two-factor/", two_factor_settings, name="two-factor"),
    # the admin signs in through the same two steps, never its own password-only form
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("geo/", include("geo.urls")),
    path("people/", include("people.urls")),
    path("cases/", include("cases.urls")),
    path("tasks/", include("tasks.urls")),
    path("tracing/", include("tracing.urls")),
    path("risk/", include("risk.urls")),
    path("healthcode/", include("healthcode.urls")),
    path("gates/", include("gates.urls")),
    path("gate/", include("gates.urls_app")),
    path("campaigns/", include("campaigns.urls")),
    path("sample/", include("campaigns.urls_site")),
    path("help/", include("assistance.urls")),
    path("care/", include("care.urls")),
    path("beds/", include("beds.urls")),
    path("supplies/", include("supplies.urls")),
    path("dispatch/", include("dispatch.urls")),
    path("ewarn/", include("ewarn.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("reopening/", include("reopening.urls")),
    path("relief/", include("relief.urls")),
    path("workforce/", include("workforce.urls")),
    path("renovation/", include("renovation.urls")),
    path("open311/v2/", include("assistance.urls_open311")),
    path("me/help/", include("assistance.urls_resident")),
    path("me/care/", include("care.urls_resident")),
    path("me/", include("residents.urls")),
    path("", include("core.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

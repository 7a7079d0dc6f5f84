from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core.health import healthz, readyz
from core.login import StaffLoginForm
from dashboard.views import home
from linli.api import api

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(authentication_form=StaffLoginForm), name="login"),
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

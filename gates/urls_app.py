from django.urls import path

from gates import views_app

app_name = "gateapp"
urlpatterns = [
    path("", views_app.gate_list, name="list"),
    path("sw.js", views_app.service_worker, name="sw"),
    path("<str:code>/", views_app.gate_app, name="app"),
]

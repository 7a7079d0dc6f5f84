from django.urls import path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("data.json", views.data, name="data"),
    path("report/", views.daily_report, name="report"),
]

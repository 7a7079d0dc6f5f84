from django.urls import path

from residents import views

app_name = "residents"
urlpatterns = [
    path("", views.my_code, name="code"),
    path("login/", views.login, name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("choose/", views.choose, name="choose"),
    path("logout/", views.logout, name="logout"),
    path("declare/health/", views.declare_health, name="declare_health"),
    path("declare/trip/", views.declare_trip, name="declare_trip"),
    path("appeal/", views.appeal, name="appeal"),
]

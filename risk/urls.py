from django.urls import path

from risk import views

app_name = "risk"
urlpatterns = [
    path("", views.area_list, name="list"),
    path("recompute/", views.recompute, name="recompute"),
    path("<int:pk>/", views.area_detail, name="area"),
    path("<int:pk>/set-level/", views.area_set_level, name="set-level"),
]

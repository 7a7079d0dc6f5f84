from django.urls import path

from beds import views

app_name = "beds"
urlpatterns = [
    path("", views.board, name="board"),
    path("facilities/<str:code>/", views.facility_detail, name="facility"),
    path("facilities/<str:code>/walk-in/", views.walk_in, name="walk-in"),
    path("stays/<int:pk>/admit/", views.stay_admit, name="stay-admit"),
    path("stays/<int:pk>/discharge/", views.stay_discharge, name="stay-discharge"),
    path("stays/<int:pk>/release/", views.stay_release, name="stay-release"),
]

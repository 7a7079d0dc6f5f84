from django.urls import path

from healthcode import views

app_name = "healthcode"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("appeals/", views.appeal_list, name="appeals"),
    path("appeals/<int:pk>/", views.appeal_detail, name="appeal"),
    path("travel-areas/", views.travel_areas, name="travel-areas"),
    path("travel-areas/<int:pk>/end/", views.travel_area_end, name="travel-area-end"),
]

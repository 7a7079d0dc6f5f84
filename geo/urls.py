from django.urls import path

from geo import views

app_name = "geo"
urlpatterns = [
    path("divisions/<int:pk>/", views.division_detail, name="division"),
    path("compounds/<int:pk>/", views.compound_detail, name="compound"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
]

from django.urls import path

from assistance import views_resident

app_name = "help_me"
urlpatterns = [
    path("", views_resident.my_requests, name="list"),
    path("new/", views_resident.ask, name="ask"),
    path("household/", views_resident.household, name="household"),
    path("<int:pk>/", views_resident.detail, name="detail"),
    path("<int:pk>/rate/", views_resident.rate, name="rate"),
    path("<int:pk>/withdraw/", views_resident.withdraw, name="withdraw"),
]

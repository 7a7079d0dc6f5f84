from django.urls import path

from dispatch import views

app_name = "dispatch"
urlpatterns = [
    path("", views.home, name="home"),
    path("plan/", views.plan_now, name="plan"),
    path("vehicles/<str:code>/", views.vehicle_detail, name="vehicle"),
    path("vehicles/<str:code>/disinfected/", views.vehicle_disinfected, name="vehicle-disinfected"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer"),
    path("transfers/<int:pk>/<slug:move>/", views.transfer_move, name="transfer-move"),
]

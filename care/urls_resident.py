from django.urls import path

from care import views_resident

app_name = "care_me"
urlpatterns = [
    path("", views_resident.my_orders, name="orders"),
    path("orders/<int:pk>/", views_resident.my_order, name="order"),
]

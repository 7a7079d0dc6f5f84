from django.urls import path

from care import views

app_name = "care"
urlpatterns = [
    path("visits/", views.visit_list, name="visits"),
    path("visits/new/<int:resident_id>/", views.visit_new, name="visit-new"),
    path("orders/", views.order_list, name="orders"),
    path("orders/new/", views.order_new, name="order-new"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/transition/", views.order_transition, name="order-transition"),
    path("orders/<int:pk>/deliveries/", views.order_deliveries, name="order-deliveries"),
]

from django.urls import path

from workforce import views

app_name = "workforce"
urlpatterns = [
    path("", views.home, name="home"),
    path("workers/", views.worker_list, name="workers"),
    path("workers/<int:pk>/", views.worker_detail, name="worker"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("training/", views.training, name="training"),
    path("support/", views.support, name="support"),
    path("support/<int:pk>/", views.support_detail, name="support-detail"),
]

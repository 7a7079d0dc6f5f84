from django.urls import path

from ewarn import views

app_name = "ewarn"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/verify/", views.alert_verify, name="verify"),
    path("alerts/<int:pk>/dismiss/", views.alert_dismiss, name="dismiss"),
    path("signals/", views.signal_browser, name="signals"),
]
